import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { VerificationCallbackWebhooks } from '@sinch/sdk-core';
import { applicationAuthorization, verifyApplicationSignature } from '../../src/clients/sinch/sinch.signer';
import { createSinchEmulator } from '../../src/emulator/sinch-emulator';
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
      expect(res.body.details).toEqual([{ reason: 'stale_timestamp' }]);
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
