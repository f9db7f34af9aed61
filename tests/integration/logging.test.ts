import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request, { type Response } from 'supertest';
import { maskPhone } from '../../src/utils/mask';
import { uniquePhone } from '../factories/phone.factory';
import { until } from '../helpers/otp-flow';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

type Entry = Record<string, unknown>;

const BASIC_CREDENTIALS = Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64');

function linesOf(t: TestApp, res: Response): Entry[] {
  return t.logs.entries().filter((e) => e.requestId === res.headers['x-request-id']);
}

describe('Logs of a full request-and-verify flow', () => {
  let t: TestApp;
  const phone = uniquePhone();
  const responses: Response[] = [];
  let code: string;
  let wrong: string;

  beforeAll(async () => {
    // Ten-digit codes: long enough that finding one in the logs cannot be a coincidence.
    t = await createTestApp({ emulator: { codeLength: 10 } });
    responses.push(await request(t.app).post('/api/request-otp').send({ phoneNumber: phone }));
    const verificationId = responses[0]!.body.data.verificationId as string;
    code = t.emulator.lastCodeFor(phone)!;
    wrong = code.startsWith('9') ? '1234567890' : '9876543210';
    responses.push(
      await request(t.app).post('/api/verify-otp').send({ verificationId, phoneNumber: phone, code: wrong }),
    );
    responses.push(await request(t.app).post('/api/verify-otp').send({ verificationId, phoneNumber: phone, code }));
    responses.push(await request(t.app).post('/api/verify-otp').send({ verificationId, phoneNumber: phone, code }));
    responses.push(
      await request(t.app)
        .post('/api/request-otp')
        .set('Content-Type', 'application/json')
        .send(`{"phoneNumber":"${phone}",`),
    );
    responses.push(await request(t.app).get('/api/nowhere'));
    t.emulator.injectFault('start', { kind: 'status', status: 503 });
    responses.push(await request(t.app).post('/api/request-otp').send({ phoneNumber: phone }));
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the flow ran, then it produced the expected answers (so the log assertions below are about a real flow)', () => {
    expect(responses.map((r) => r.status)).toEqual([200, 400, 200, 409, 400, 404, 503]);
    expect(code).toMatch(/^\d{10}$/);
  });

  test('When the flow ran, then no log line contains the code or the wrong guess', () => {
    expect(t.logs.lines.length).toBeGreaterThan(responses.length);
    expect(t.logs.text()).not.toContain(code);
    expect(t.logs.text()).not.toContain(wrong);
  });

  test('When the flow ran, then no log line contains the Sinch secret or the Basic credentials', () => {
    expect(t.logs.text()).not.toContain(SINCH_SECRET);
    expect(t.logs.text()).not.toContain(BASIC_CREDENTIALS);
    expect(t.logs.text()).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  });

  test('When the flow ran, then no log line contains the full phone number, only its masked form', () => {
    expect(t.logs.text()).not.toContain(phone);
    expect(t.logs.text()).not.toContain(phone.slice(1));
    expect(t.logs.text()).not.toContain(encodeURIComponent(phone));
    const started = t.logs.entries().find((e) => e.message === 'verification started');
    expect(started).toMatchObject({ phoneNumber: maskPhone(phone) });
  });

  test('When the flow ran, then every log line is JSON with a level, a timestamp and the request id of its request', () => {
    const ids = new Set(responses.map((r) => r.headers['x-request-id']));
    for (const entry of t.logs.entries()) {
      expect(entry).toMatchObject({
        level: expect.any(String),
        message: expect.any(String),
        timestamp: expect.any(String),
      });
      expect(ids).toContain(entry.requestId);
    }
  });

  test('When the flow ran, then each request has exactly one request-log line with method, route, status and duration', () => {
    const expected = [
      ['POST', '/api/request-otp', 200, 'info'],
      ['POST', '/api/verify-otp', 400, 'info'],
      ['POST', '/api/verify-otp', 200, 'info'],
      ['POST', '/api/verify-otp', 409, 'info'],
      ['POST', expect.any(String), 400, 'info'],
      ['GET', 'unmatched', 404, 'info'],
      ['POST', '/api/request-otp', 503, 'error'],
    ] as const;

    responses.forEach((res, i) => {
      const [method, route, status, level] = expected[i]!;
      const completed = linesOf(t, res).filter((e) => e.message === 'request completed');
      expect(completed).toHaveLength(1);
      expect(completed[0]).toMatchObject({
        level,
        method,
        route,
        status,
        durationMs: expect.any(Number),
        requestId: res.headers['x-request-id'],
      });
      expect(completed[0]!.durationMs).toBeGreaterThanOrEqual(0);
    });
  });

  test('When a request called Sinch, then its request-log line says how long Sinch took', () => {
    const completed = linesOf(t, responses[0]!).find((e) => e.message === 'request completed');

    expect(completed).toMatchObject({ sinchMs: expect.any(Number) });
  });

  test('When a request is refused, then one warn line names the error code, with the request id', () => {
    const refused = linesOf(t, responses[1]!).filter((e) => e.level === 'warn');

    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ errorCode: 'INVALID_CODE', method: 'POST' });
  });

  test("When Sinch failed during a request, then the client's own log line carries that request's id too", () => {
    const lines = linesOf(t, responses[6]!);

    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warn',
          message: 'Sinch answered with a server error',
          operation: 'start',
          httpStatus: 503,
        }),
        expect.objectContaining({ level: 'error', errorCode: 'SMS_PROVIDER_UNAVAILABLE' }),
      ]),
    );
  });
});

describe('Logs when Sinch rejects our credentials', () => {
  let t: TestApp;
  const wrongSecret = Buffer.from('a-secret-sinch-does-not-know').toString('base64');

  beforeAll(async () => {
    t = await createTestApp({ env: { SINCH_APPLICATION_SECRET: wrongSecret } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When Sinch answers 401, then an error line names the misconfigured settings and never the secret', async () => {
    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: uniquePhone() });

    expect(res.status).toBe(502);
    const lines = linesOf(t, res);
    const misconfiguration = lines.find((e) => e.level === 'error' && String(e.message).includes('credentials'));
    expect(misconfiguration).toMatchObject({
      message: expect.stringMatching(/SINCH_APPLICATION_KEY.*SINCH_APPLICATION_SECRET/),
      operation: 'start',
      httpStatus: 401,
    });
    expect(t.logs.text()).not.toContain(wrongSecret);
    expect(t.logs.text()).not.toContain(Buffer.from(`${SINCH_KEY}:${wrongSecret}`).toString('base64'));
  });
});

describe('Logs when the client hangs up before the answer', () => {
  let t: TestApp;
  let server: http.Server;

  beforeAll(async () => {
    t = await createTestApp();
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  test('When the client disconnects while Sinch is slow, then the request still gets exactly one request-log line (499)', async () => {
    t.emulator.injectFault('start', { kind: 'delay', ms: 300 });
    const requestId = 'client-hung-up-1';
    const req = http.request({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      path: '/api/request-otp',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify({ phoneNumber: uniquePhone() }));
    const ours = () => t.logs.entries().filter((e) => e.requestId === requestId);
    await until(() => t.emulator.requests.length > 0, 3000, 'the start at Sinch');

    req.destroy();
    // The handler goes on after the hang-up (the SMS is sent); wait until it is done too.
    await until(() => ours().some((e) => e.message === 'verification started'), 3000, 'the handler done');

    const completed = ours().filter((e) => e.message === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({
      level: 'info',
      method: 'POST',
      route: '/api/request-otp',
      status: 499,
      durationMs: expect.any(Number),
    });
  });
});
