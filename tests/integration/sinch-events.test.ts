import { serverOnlyTest } from '../helpers/database';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { VerificationCallbackWebhooks } from '@sinch/sdk-core';
import { applicationAuthorization, verifyApplicationSignature } from '../../src/clients/sinch/sinch.signer';
import { createSinchEmulator } from '../../src/emulator/sinch-emulator';
import { callbackKey } from '../../src/services/sinch-events.service';
import { uniquePhone } from '../factories/phone.factory';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

const PATH = '/api/sinch/events';
const CONTENT_TYPE = 'application/json; charset=utf-8';

/** Signs like Sinch does: the raw body, the content type as sent, x-timestamp and the callback path. */
function signed(body: string, timestamp: string, secret = SINCH_SECRET, key = SINCH_KEY) {
  return {
    'Content-Type': CONTENT_TYPE,
    'x-timestamp': timestamp,
    Authorization: applicationAuthorization(
      { method: 'POST', path: PATH, contentType: CONTENT_TYPE, timestamp, body },
      key,
      secret,
    ),
  };
}

function post(t: TestApp, body: string, headers: Record<string, string>) {
  let req = request(t.app).post(PATH);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req.send(body);
}

/** The log lines one request wrote with this message. */
function logged(t: TestApp, res: request.Response, message: string) {
  return t.logs.entries().filter((l) => l.requestId === res.headers['x-request-id'] && l.message === message);
}

const RESULT_LOG = 'Sinch result event';
const DELIVERY_LOG = 'Sinch SMS delivery report';
const DUPLICATE_LOG = 'Sinch callback already processed: acknowledged, nothing changed';

/**
 * Concurrency proves the claim is atomic only on a PostgreSQL server: PGlite runs every client on
 * one session, one statement at a time, where a racy claim would pass too.
 */

async function startVerification(t: TestApp) {
  const phone = uniquePhone();
  const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone }).expect(200);
  const row = await t.models.Verification.findByPk(res.body.data.verificationId as string);
  return { phone, verification: row! };
}

describe('POST /api/sinch/events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test('When a signed VerificationResultEvent says SUCCESSFUL, then the verification and the user are verified', async () => {
    const { phone, verification } = await startVerification(t);
    const body = JSON.stringify({
      id: verification.sinchVerificationId,
      event: 'VerificationResultEvent',
      method: 'sms',
      identity: { type: 'number', endpoint: phone },
      status: 'SUCCESSFUL',
      reference: verification.id,
    });

    const res = await post(t, body, signed(body, new Date(t.clock.now()).toISOString()));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    await verification.reload();
    expect(verification.status).toBe('SUCCESSFUL');
    expect(verification.verifiedAt).toBeInstanceOf(Date);
    const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
    expect(user).toMatchObject({ isVerified: true });
    expect(user!.verifiedAt).toBeInstanceOf(Date);
  });

  test('When a result event says FAIL/Expired, then the verification becomes EXPIRED and a later SUCCESSFUL does not undo it', async () => {
    const { phone, verification } = await startVerification(t);
    const at = new Date(t.clock.now()).toISOString();
    const expired = JSON.stringify({
      id: verification.sinchVerificationId,
      event: 'VerificationResultEvent',
      method: 'sms',
      status: 'FAIL',
      reason: 'Expired',
    });
    const late = JSON.stringify({
      id: verification.sinchVerificationId,
      event: 'VerificationResultEvent',
      method: 'sms',
      status: 'SUCCESSFUL',
    });

    await post(t, expired, signed(expired, at)).expect(200);
    await post(t, late, signed(late, at)).expect(200);

    await verification.reload();
    expect(verification.status).toBe('EXPIRED');
    const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
    expect(user!.isVerified).toBe(false);
  });

  test('When a VerificationSmsDeliveredEvent arrives, then the delivery result is recorded', async () => {
    const { verification } = await startVerification(t);
    const body = JSON.stringify({
      id: verification.sinchVerificationId,
      event: 'VerificationSmsDeliveredEvent',
      method: 'sms',
      smsResult: 'Failed',
    });

    await post(t, body, signed(body, new Date(t.clock.now()).toISOString())).expect(200, {});

    await verification.reload();
    expect(verification.smsDeliveryStatus).toBe('FAILED');
    expect(verification.smsDeliveryReportedAt).toBeInstanceOf(Date);
  });

  test.each([
    ['a mobile number', '+46731234567', 'sms', 'allow'],
    ['a premium-rate number', '+449098790000', 'sms', 'deny'],
    ['a toll-free number', '+18002345678', 'sms', 'deny'],
    ['an invalid number', '+4612', 'sms', 'deny'],
    ['a method this service never starts', '+46731234567', 'callout', 'deny'],
  ])('When Sinch asks about %s (%s by %s), then the answer is %s', async (_what, endpoint, method, action) => {
    const body = JSON.stringify({
      id: 'abc123',
      event: 'VerificationRequestEvent',
      method,
      identity: { type: 'number', endpoint },
      price: { amount: 0.05, currencyId: 'EUR' },
    });

    const res = await post(t, body, signed(body, new Date(t.clock.now()).toISOString()));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ action });
  });

  describe('replays and retries', () => {
    const resultBody = (sinchId: string, status = 'SUCCESSFUL') =>
      JSON.stringify({ id: sinchId, event: 'VerificationResultEvent', method: 'sms', status });
    const deliveryBody = (sinchId: string, smsResult: 'Successful' | 'Failed') =>
      JSON.stringify({ id: sinchId, event: 'VerificationSmsDeliveredEvent', method: 'sms', smsResult });

    async function rows(phone: string, id: string) {
      const verification = (await t.models.Verification.findByPk(id))!.toJSON();
      const user = (await t.models.User.findOne({ where: { phoneNumber: phone } }))!.toJSON();
      return { verification, user };
    }

    test('When the same signed result callback is replayed within the skew window, then it is acknowledged 200 {} and changes nothing: rows, and no second "applied" log line', async () => {
      const { phone, verification } = await startVerification(t);
      const body = resultBody(verification.sinchVerificationId);
      const headers = signed(body, new Date(t.clock.now()).toISOString());
      const first = await post(t, body, headers);
      const after = await rows(phone, verification.id);
      t.clock.advance(60_000);

      const replay = await post(t, body, headers);

      expect([first.status, first.body, replay.status, replay.body]).toEqual([200, {}, 200, {}]);
      expect(after.verification).toMatchObject({ status: 'SUCCESSFUL' });
      expect(after.user).toMatchObject({ isVerified: true });
      expect(await rows(phone, verification.id)).toEqual(after);
      expect(logged(t, first, RESULT_LOG)).toEqual([expect.objectContaining({ applied: true, status: 'SUCCESSFUL' })]);
      expect(logged(t, replay, RESULT_LOG)).toEqual([]);
      expect(logged(t, replay, DUPLICATE_LOG)).toEqual([
        expect.objectContaining({ level: 'info', event: 'VerificationResultEvent' }),
      ]);
    });

    test('When a captured "Failed" delivery report is replayed after the "Successful" one, then the replay is acknowledged and the verification stays DELIVERED', async () => {
      const { verification } = await startVerification(t);
      const failed = deliveryBody(verification.sinchVerificationId, 'Failed');
      const capturedHeaders = signed(failed, new Date(t.clock.now()).toISOString());
      await post(t, failed, capturedHeaders).expect(200, {});
      t.clock.advance(5_000);
      const delivered = deliveryBody(verification.sinchVerificationId, 'Successful');
      await post(t, delivered, signed(delivered, new Date(t.clock.now()).toISOString())).expect(200, {});
      await verification.reload();
      const reportedAt = verification.smsDeliveryReportedAt;
      t.clock.advance(5_000);

      const replay = await post(t, failed, capturedHeaders);

      expect(replay.status).toBe(200);
      expect(replay.body).toEqual({});
      await verification.reload();
      expect(verification.smsDeliveryStatus).toBe('DELIVERED');
      expect(verification.smsDeliveryReportedAt).toEqual(reportedAt);
      expect(logged(t, replay, DELIVERY_LOG)).toEqual([]);
      expect(logged(t, replay, DUPLICATE_LOG)).toHaveLength(1);
    });

    test('When Sinch retries a delivery report (same id and result, new x-timestamp and signature), then the retry is acknowledged 200 {}, the first report stands, and the id is remembered for twice the skew window', async () => {
      const { verification } = await startVerification(t);
      const body = deliveryBody(verification.sinchVerificationId, 'Successful');
      const firstAt = t.clock.now();
      const firstHeaders = signed(body, new Date(firstAt).toISOString());
      const first = await post(t, body, firstHeaders);
      t.clock.advance(30_000);
      const retryHeaders = signed(body, new Date(t.clock.now()).toISOString());

      const retry = await post(t, body, retryHeaders);

      expect(retryHeaders.Authorization).not.toBe(firstHeaders.Authorization);
      expect([first.status, first.body, retry.status, retry.body]).toEqual([200, {}, 200, {}]);
      await verification.reload();
      expect(verification.smsDeliveryStatus).toBe('DELIVERED');
      expect(verification.smsDeliveryReportedAt?.getTime()).toBe(firstAt);
      expect(logged(t, first, DELIVERY_LOG)).toEqual([expect.objectContaining({ applied: true })]);
      expect(logged(t, retry, DELIVERY_LOG)).toEqual([]);
      expect(logged(t, retry, DUPLICATE_LOG)).toHaveLength(1);
      const memory = await t.sequelize.query<{ expiresAt: Date }>(
        `SELECT "expiresAt" FROM "ProcessedCallbacks" WHERE "key" = $1`,
        {
          bind: [callbackKey(['VerificationSmsDeliveredEvent', verification.sinchVerificationId, 'Successful'])],
          type: QueryTypes.SELECT,
        },
      );
      expect(memory.map((m) => new Date(m.expiresAt).getTime())).toEqual([
        firstAt + 2 * t.config.sinch.callbackMaxSkewSeconds * 1000,
      ]);
    });

    test('When Sinch retries a delivery report after the memory window, then the record still does not change (a retry is idempotent on its own)', async () => {
      const { verification } = await startVerification(t);
      const body = deliveryBody(verification.sinchVerificationId, 'Failed');
      const firstAt = t.clock.now();
      await post(t, body, signed(body, new Date(firstAt).toISOString())).expect(200, {});
      t.clock.advance(2 * t.config.sinch.callbackMaxSkewSeconds * 1000 + 1000);

      const late = await post(t, body, signed(body, new Date(t.clock.now()).toISOString()));

      expect([late.status, late.body]).toEqual([200, {}]);
      await verification.reload();
      expect(verification.smsDeliveryStatus).toBe('FAILED');
      expect(verification.smsDeliveryReportedAt?.getTime()).toBe(firstAt);
      expect(logged(t, late, DELIVERY_LOG)).toEqual([expect.objectContaining({ applied: false })]);
    });

    test('When a delivery report for the same id brings a different result, then it is a new fact and is recorded', async () => {
      const { verification } = await startVerification(t);
      const failed = deliveryBody(verification.sinchVerificationId, 'Failed');
      const delivered = deliveryBody(verification.sinchVerificationId, 'Successful');
      await post(t, failed, signed(failed, new Date(t.clock.now()).toISOString())).expect(200, {});
      t.clock.advance(1000);

      await post(t, delivered, signed(delivered, new Date(t.clock.now()).toISOString())).expect(200, {});

      await verification.reload();
      expect(verification.smsDeliveryStatus).toBe('DELIVERED');
      expect(verification.smsDeliveryReportedAt?.getTime()).toBe(t.clock.now());
    });

    serverOnlyTest(
      'When five identical signed result callbacks arrive at once, then exactly one applies and all five are answered 200 {} (PostgreSQL server only: PGlite runs one statement at a time)',
      async () => {
        const { phone, verification } = await startVerification(t);
        const body = resultBody(verification.sinchVerificationId);
        const headers = signed(body, new Date(t.clock.now()).toISOString());

        const answers = await Promise.all(Array.from({ length: 5 }, () => post(t, body, headers)));

        expect(answers.map((a): unknown[] => [a.status, a.body])).toEqual(Array.from({ length: 5 }, () => [200, {}]));
        const applied = answers.flatMap((a) => logged(t, a, RESULT_LOG));
        expect(applied).toEqual([expect.objectContaining({ applied: true })]);
        expect(answers.flatMap((a) => logged(t, a, DUPLICATE_LOG))).toHaveLength(4);
        expect((await rows(phone, verification.id)).verification).toMatchObject({ status: 'SUCCESSFUL' });
      },
    );

    serverOnlyTest(
      'When five identical signed delivery reports arrive at once, then exactly one is recorded (PostgreSQL server only: PGlite runs one statement at a time)',
      async () => {
        const { verification } = await startVerification(t);
        const body = deliveryBody(verification.sinchVerificationId, 'Successful');
        const headers = signed(body, new Date(t.clock.now()).toISOString());

        const answers = await Promise.all(Array.from({ length: 5 }, () => post(t, body, headers)));

        expect(answers.map((a): unknown[] => [a.status, a.body])).toEqual(Array.from({ length: 5 }, () => [200, {}]));
        expect(answers.flatMap((a) => logged(t, a, DELIVERY_LOG))).toEqual([
          expect.objectContaining({ applied: true }),
        ]);
        expect(answers.flatMap((a) => logged(t, a, DUPLICATE_LOG))).toHaveLength(4);
      },
    );
  });

  describe('authentication', () => {
    const cases: Array<[string, (body: string, at: string) => Record<string, string>]> = [
      ['no Authorization header', (_b, at) => ({ 'Content-Type': CONTENT_TYPE, 'x-timestamp': at })],
      [
        'a Basic header',
        (_b, at) => ({
          'Content-Type': CONTENT_TYPE,
          'x-timestamp': at,
          Authorization: `Basic ${Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64')}`,
        }),
      ],
      [
        'a signature made with another secret',
        (b, at) => signed(b, at, Buffer.from('someone-else').toString('base64')),
      ],
      ['another application key', (b, at) => signed(b, at, SINCH_SECRET, 'other-key')],
      ['a signature over a different body', (_b, at) => signed('{"event":"VerificationResultEvent"}', at)],
      [
        'no x-timestamp',
        (b, at) => {
          const h: Record<string, string> = signed(b, at);
          delete h['x-timestamp'];
          return h;
        },
      ],
    ];

    test.each(cases)(
      'When the callback has %s, then 401 UNAUTHORIZED and nothing changes',
      async (_what, headersFor) => {
        const { verification } = await startVerification(t);
        const body = JSON.stringify({
          id: verification.sinchVerificationId,
          event: 'VerificationResultEvent',
          method: 'sms',
          status: 'SUCCESSFUL',
        });

        const res = await post(t, body, headersFor(body, new Date(t.clock.now()).toISOString()));

        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({
          status: 'error',
          code: 'UNAUTHORIZED',
          requestId: res.headers['x-request-id'],
        });
        await verification.reload();
        expect(verification.status).toBe('PENDING');
      },
    );

    test('When callbacks fail authentication in different ways, then every 401 body is the same, field by field, and only the log names the reason', async () => {
      const body = JSON.stringify({ id: 'generic-401', event: 'VerificationResultEvent', status: 'SUCCESSFUL' });
      const at = new Date(t.clock.now()).toISOString();
      const stale = new Date(t.clock.now() - (t.config.sinch.callbackMaxSkewSeconds + 1) * 1000).toISOString();
      const kinds: Array<[string, Record<string, string>]> = [
        ...cases.map(([what, headersFor]): [string, Record<string, string>] => [what, headersFor(body, at)]),
        ['a stale timestamp', signed(body, stale)],
        [
          'a malformed header',
          { 'Content-Type': CONTENT_TYPE, 'x-timestamp': at, Authorization: 'Application nocolon' },
        ],
      ];

      const answers = [];
      for (const [what, headers] of kinds) answers.push({ what, res: await post(t, body, headers) });

      const reasons = answers.map(
        ({ res }) => logged(t, res, 'Sinch callback refused: signature check failed')[0]?.reason,
      );
      expect(new Set(reasons)).toEqual(
        new Set([
          'missing_header',
          'malformed_header',
          'bad_signature',
          'unknown_key',
          'missing_timestamp',
          'stale_timestamp',
        ]),
      );
      for (const { what, res } of answers) {
        const { requestId, ...rest } = res.body as Record<string, unknown>;
        expect({ what, status: res.status, requestId }).toEqual({
          what,
          status: 401,
          requestId: res.headers['x-request-id'],
        });
        expect({ what, body: rest }).toEqual({
          what,
          body: {
            status: 'error',
            code: 'UNAUTHORIZED',
            message: 'The callback is not signed by Sinch for this application.',
          },
        });
        expect(res.headers['content-type']).toBe(answers[0]?.res.headers['content-type']);
      }
    });

    test('When the signed timestamp is older than the allowed skew, then 401 and nothing changes', async () => {
      const { verification } = await startVerification(t);
      const body = JSON.stringify({
        id: verification.sinchVerificationId,
        event: 'VerificationResultEvent',
        method: 'sms',
        status: 'SUCCESSFUL',
      });
      const at = new Date(t.clock.now()).toISOString();
      t.clock.advance((t.config.sinch.callbackMaxSkewSeconds + 1) * 1000);

      const res = await post(t, body, signed(body, at));

      expect(res.status).toBe(401);
      expect(res.body).not.toHaveProperty('details');
      expect(logged(t, res, 'Sinch callback refused: signature check failed')).toEqual([
        expect.objectContaining({ level: 'warn', reason: 'stale_timestamp' }),
      ]);
      await verification.reload();
      expect(verification.status).toBe('PENDING');
    });

    test('When a signed body is not JSON, then 400 INVALID_JSON; an unknown event type is acknowledged and ignored', async () => {
      const at = new Date(t.clock.now()).toISOString();
      const garbage = '{not json';
      const unknown = JSON.stringify({ id: 'x', event: 'VerificationSomethingNewEvent' });

      const bad = await post(t, garbage, signed(garbage, at));
      const ignored = await post(t, unknown, signed(unknown, at));

      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'INVALID_JSON' });
      expect(ignored.status).toBe(200);
      expect(ignored.body).toEqual({});
    });
  });

  test("When our signer signs a callback, then Sinch's own SDK validates it (and Sinch's published vector passes ours)", () => {
    const body = JSON.stringify({ id: '1', event: 'VerificationResultEvent', method: 'sms', status: 'SUCCESSFUL' });
    const headers = signed(body, new Date().toISOString());
    const sdk = new VerificationCallbackWebhooks({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });

    expect(
      sdk.validateAuthenticationHeader(
        { authorization: headers.Authorization, 'x-timestamp': headers['x-timestamp'], 'content-type': CONTENT_TYPE },
        body,
        PATH,
        'POST',
      ),
    ).toBe(true);
    expect(
      sdk.validateAuthenticationHeader(
        { authorization: headers.Authorization, 'x-timestamp': headers['x-timestamp'], 'content-type': CONTENT_TYPE },
        `${body} `,
        PATH,
        'POST',
      ),
    ).toBe(false);

    // Example B of Sinch's callback-signing documentation (reference §7.3).
    const vectorB = verifyApplicationSignature(
      'Application 669E367E-6BBA-48AB-AF15-266871C28135:Tg6fMyo8mj9pYfWQ9ssbx3Tc1BNC87IEygAfLbJqZb4=',
      {
        method: 'POST',
        path: '/sinch/callback/ace',
        contentType: 'application/json',
        timestamp: '2014-09-24T10:59:41Z',
        body: '{"event":"ace","callid":"822aa4b7-05b4-4d83-87c7-1f835ee0b6f6_257","timestamp":"2014-09-24T10:59:41Z","version":1}',
      },
      { applicationKey: '669E367E-6BBA-48AB-AF15-266871C28135', applicationSecret: 'BeIukql3pTKJ8RGL5zo0DA==' },
      { nowMs: Date.parse('2014-09-24T10:59:41Z'), maxSkewSeconds: 600 },
    );
    expect(vectorB).toEqual({ ok: true, applicationKey: '669E367E-6BBA-48AB-AF15-266871C28135' });
  });
});

describe('Sinch callbacks, the whole loop through the emulator', () => {
  test('When the emulator delivers its callbacks to the running service, then delivery and results reach the database', async () => {
    // The service must listen before the emulator can be told where to call back.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`;
    const emulator = await createSinchEmulator({
      applicationKey: SINCH_KEY,
      applicationSecret: SINCH_SECRET,
      callbackUrl,
    });
    const t = await createTestApp({ sharedEmulator: emulator });
    server.on('request', t.app);
    try {
      const phone = uniquePhone();
      const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone }).expect(200);
      await emulator.flushCallbacks();
      const verification = (await t.models.Verification.findByPk(started.body.data.verificationId as string))!;
      expect(verification.smsDeliveryStatus).toBe('DELIVERED');
      const asked = emulator.callbackDeliveries.find((d) => d.event === 'VerificationRequestEvent');
      expect(asked).toMatchObject({ status: 200 });

      // Someone reports the code straight to Sinch (e.g. a mobile SDK): only the callback tells us.
      const code = emulator.lastCodeFor(phone)!;
      const report = await fetch(
        `${emulator.url}/verification/v1/verifications/id/${verification.sinchVerificationId}`,
        {
          method: 'PUT',
          headers: {
            'Content-Type': 'application/json',
            Authorization: `Basic ${Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64')}`,
          },
          body: JSON.stringify({ method: 'sms', sms: { code } }),
        },
      );
      expect(report.status).toBe(200);
      await emulator.flushCallbacks();

      await verification.reload();
      expect(verification.status).toBe('SUCCESSFUL');
      expect(await t.models.User.findOne({ where: { phoneNumber: phone } })).toMatchObject({ isVerified: true });
      expect(emulator.callbackDeliveries.filter((d) => d.status !== 200)).toEqual([]);
    } finally {
      await t.close();
      await emulator.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
