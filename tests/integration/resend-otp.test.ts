/**
 * POST /api/resend-otp: a new code for the same verification ("call me instead"), through the real
 * app against the Sinch emulator.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { uniquePhone } from '../factories/phone.factory';
import { reportsFor, rowsFor, sinchStatusOf, startsFor, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const COOLDOWN_SECONDS = 30;
const MAX_ATTEMPTS = 3;

function requestOtp(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(t.app).post('/api/request-otp').set(headers).send(body);
}

function resendOtp(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(t.app).post('/api/resend-otp').set(headers).send(body);
}

/** Requests a code and moves past the resend cooldown; answers the verification's id and the code sent. */
async function sent(t: TestApp, body: Record<string, unknown> = {}) {
  const phone = uniquePhone();
  const res = await requestOtp(t, { phoneNumber: phone, ...body });
  expect(res.status).toBe(200);
  t.clock.advance(COOLDOWN_SECONDS * 1000);
  return { phone, verificationId: res.body.data.verificationId as string, code: t.emulator.lastCodeFor(phone)! };
}

async function row(t: TestApp, phone: string) {
  const { verifications } = await rowsFor(t, phone);
  expect(verifications).toHaveLength(1);
  return verifications[0]!;
}

describe('POST /api/resend-otp', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        OTP_METHODS: 'sms,callout',
        OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
        OTP_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        OTP_MAX_FAILURES_PER_NUMBER_HOUR: '3',
      },
    });
  });
  afterAll(() => t.close());

  test('When the user asks to be called instead of the SMS, then the same verificationId gets a new Sinch callout verification with its own reference, the SMS code is refused and the call’s code verifies', async () => {
    const { phone, verificationId, code: smsCode } = await sent(t);
    const oldSinchId = (await row(t, phone)).sinchVerificationId;
    const now = t.clock.now();

    const res = await resendOtp(t, { verificationId, method: 'callout' });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'success',
      message: expect.any(String),
      data: {
        verificationId,
        phoneNumber: phone,
        method: 'callout',
        locale: null,
        codeType: 'Numeric',
        methods: ['sms', 'callout'],
        purpose: null,
        expiresAt: new Date(now + 600_000).toISOString(),
        resendAvailableAt: new Date(now + COOLDOWN_SECONDS * 1000).toISOString(),
      },
    });
    const starts = startsFor(t.emulator, phone).map((s) => s.json);
    expect(starts).toEqual([
      expect.objectContaining({ method: 'sms', reference: verificationId }),
      { identity: { type: 'number', endpoint: phone }, method: 'callout', reference: `${verificationId}.2` },
    ]);
    const replaced = await row(t, phone);
    expect(replaced).toMatchObject({ id: verificationId, method: 'callout', status: 'PENDING', attempts: 0, sends: 2 });
    expect(replaced.sinchVerificationId).not.toBe(oldSinchId);
    expect(await sinchStatusOf(t.emulator, oldSinchId)).toMatchObject({ status: 'ABORTED' });

    const callCode = t.emulator.lastCodeFor(phone)!;
    const old = await verifyOtp(t, { verificationId, code: smsCode === callCode ? wrongCode(callCode) : smsCode });
    const right = await verifyOtp(t, { verificationId, code: callCode });

    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ code: 'INVALID_CODE', details: [{ method: 'callout', attemptsRemaining: 2 }] });
    expect(reportsFor(t.emulator, oldSinchId)).toEqual([]);
    expect(reportsFor(t.emulator, replaced.sinchVerificationId).map((r) => r.json)).toEqual([
      { method: 'callout', callout: { code: smsCode === callCode ? wrongCode(callCode) : smsCode } },
      { method: 'callout', callout: { code: callCode } },
    ]);
    expect(right.status).toBe(200);
    expect(right.body.data).toMatchObject({ verificationId, verified: true });
  });

  test('When no method or language is given, then the same method goes out in the language of the code before, for the same purpose; Accept-Language changes the language', async () => {
    const { phone, verificationId } = await sent(t, { locale: 'sv-SE', purpose: 'login' });

    const same = await resendOtp(t, { verificationId });
    t.clock.advance(COOLDOWN_SECONDS * 1000);
    const french = await resendOtp(t, { verificationId }, { 'Accept-Language': 'fr-FR' });

    expect(same.body.data).toMatchObject({ verificationId, method: 'sms', locale: 'sv-SE', purpose: 'login' });
    expect(french.body.data).toMatchObject({ verificationId, method: 'sms', locale: 'fr-FR' });
    const starts = startsFor(t.emulator, phone);
    expect(starts.map((s) => [s.headers['accept-language'], (s.json as { reference: string }).reference])).toEqual([
      ['sv-SE', verificationId],
      ['sv-SE', `${verificationId}.2`],
      ['fr-FR', `${verificationId}.3`],
    ]);
    expect(await row(t, phone)).toMatchObject({ locale: 'fr-FR', sends: 3 });
  });

  test('When a code was just sent, then a resend is 429 RATE_LIMITED number_cooldown with Retry-After and nothing is sent; after the cooldown it goes out', async () => {
    const phone = uniquePhone();
    const first = await requestOtp(t, { phoneNumber: phone });
    const { verificationId } = first.body.data as { verificationId: string };

    const early = await resendOtp(t, { verificationId, method: 'callout' });
    t.clock.advance(COOLDOWN_SECONDS * 1000);
    const later = await resendOtp(t, { verificationId, method: 'callout' });

    expect(early.status).toBe(429);
    expect(early.headers['retry-after']).toBe(String(COOLDOWN_SECONDS));
    expect(early.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_cooldown' }] });
    expect(later.status).toBe(200);
    expect(startsFor(t.emulator, phone).map((s) => (s.json as { method: string }).method)).toEqual(['sms', 'callout']);
  });

  test("When wrong codes were tried before a resend, then the verification's attempts start again but the number's hourly failure budget does not", async () => {
    const { phone, verificationId, code } = await sent(t);
    await verifyOtp(t, { verificationId, code: wrongCode(code) }).expect(400);
    await verifyOtp(t, { verificationId, code: wrongCode(code) }).expect(400);

    await resendOtp(t, { verificationId }).expect(200);
    const reset = await row(t, phone);
    const newCode = t.emulator.lastCodeFor(phone)!;
    const third = await verifyOtp(t, { verificationId, code: wrongCode(newCode) });
    const right = await verifyOtp(t, { verificationId, code: newCode });

    expect(reset.attempts).toBe(0);
    expect(third.body).toMatchObject({ code: 'INVALID_CODE', details: [{ attemptsRemaining: MAX_ATTEMPTS - 1 }] });
    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', details: [{ reason: 'failure_budget_exhausted' }] });
  });

  test('When the id was never issued, then 404 VERIFICATION_NOT_FOUND identical to verify-otp’s, and nothing reaches Sinch', async () => {
    const before = t.emulator.requests.length;
    const id = randomUUID();

    const res = await resendOtp(t, { verificationId: id, method: 'callout' });
    const verify = await verifyOtp(t, { verificationId: id, code: '123456' });

    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VERIFICATION_NOT_FOUND',
      message: verify.body.message,
      requestId: res.headers['x-request-id'],
    });
    expect(t.emulator.requests).toHaveLength(before);
  });

  test('When the verification succeeded, then 409 ALREADY_VERIFIED and nothing is sent', async () => {
    const { phone, verificationId, code } = await sent(t);
    await verifyOtp(t, { verificationId, code }).expect(200);

    const res = await resendOtp(t, { verificationId, method: 'callout' });

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'ALREADY_VERIFIED' });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test.each([
    [
      'expired',
      (t: TestApp) => {
        t.clock.advance(600_000);
        return Promise.resolve();
      },
    ],
    [
      'superseded',
      async (t: TestApp, phone: string) => {
        await requestOtp(t, { phoneNumber: phone }).expect(200);
        t.clock.advance(COOLDOWN_SECONDS * 1000);
      },
    ],
    [
      'attempts_exhausted',
      async (t: TestApp, _phone: string, verificationId: string, code: string) => {
        for (let i = 0; i < MAX_ATTEMPTS; i += 1) await verifyOtp(t, { verificationId, code: wrongCode(code) });
      },
    ],
  ] as const)(
    'When the verification has ended (%s), then 410 VERIFICATION_EXPIRED with that reason and nothing is sent',
    async (reason, end) => {
      const { phone, verificationId, code } = await sent(t);
      await end(t, phone, verificationId, code);
      const starts = startsFor(t.emulator, phone).length;

      const res = await resendOtp(t, { verificationId, method: 'callout' });

      expect(res.status).toBe(410);
      expect(res.body).toMatchObject({ code: 'VERIFICATION_EXPIRED', details: [{ reason }] });
      expect(startsFor(t.emulator, phone)).toHaveLength(starts);
    },
  );

  test("When the integrator's backend cancelled the verification, then 410 VERIFICATION_CANCELLED and nothing is sent", async () => {
    const { phone, verificationId } = await sent(t);
    const { key } = await t.services.apiKeys.create(`resend-${randomUUID()}`);
    await request(t.app)
      .post(`/api/verifications/${verificationId}/cancel`)
      .set('Authorization', `Bearer ${key}`)
      .expect(200);

    const res = await resendOtp(t, { verificationId, method: 'callout' });

    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_CANCELLED' });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test('When the method is not on offer, then 422 METHOD_NOT_ENABLED and the verification keeps its code', async () => {
    const { phone, verificationId, code } = await sent(t);

    const res = await resendOtp(t, { verificationId, method: 'whatsapp' });

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'METHOD_NOT_ENABLED',
      details: [{ field: 'method', enabledMethods: ['sms', 'callout'] }],
    });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    expect((await verifyOtp(t, { verificationId, code })).status).toBe(200);
  });

  test.each([
    ['verificationId is missing', { method: 'callout' }, 'verificationId'],
    ['verificationId is not a UUID', { verificationId: 'abc' }, 'verificationId'],
    ['method is unknown', { verificationId: randomUUID(), method: 'fax' }, 'method'],
    ['locale is malformed', { verificationId: randomUUID(), locale: 'sv_SE' }, 'locale'],
    ['a field is unknown', { verificationId: randomUUID(), phoneNumber: '+46701234567' }, 'phoneNumber'],
  ])('When %s, then 400 VALIDATION_ERROR for that field', async (_what, body, field) => {
    const res = await resendOtp(t, body);

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [expect.objectContaining({ field })] });
  });
});

describe('POST /api/resend-otp under the per-number and per-IP send limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: { OTP_METHODS: 'sms,callout', OTP_MAX_SENDS_PER_NUMBER_HOUR: '2', RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '3' },
    });
  });
  afterAll(() => t.close());

  test('When a number had a code and a resend this hour (limit 2), then the next resend is 429 number_hour; and the resends count towards the per-IP limit of request-otp', async () => {
    const phone = uniquePhone();
    const first = await requestOtp(t, { phoneNumber: phone });
    const resent = await resendOtp(t, { verificationId: first.body.data.verificationId, method: 'callout' });

    const again = await resendOtp(t, { verificationId: first.body.data.verificationId });
    const otherNumber = await requestOtp(t, { phoneNumber: uniquePhone() });

    expect([first.status, resent.status]).toEqual([200, 200]);
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_hour', quota: 2 }] });
    expect(otherNumber.status).toBe(429);
    expect(otherNumber.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-request-otp', quota: 3 }] });
    expect(startsFor(t.emulator, phone)).toHaveLength(2);
  });
});
