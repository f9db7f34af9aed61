/**
 * How a code goes out: the method (SMS, voice call, WhatsApp), the language and the code type,
 * through the real app against the Sinch emulator, asserting what the emulator received.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { TestApp } from '../helpers/test-app';
import { uniquePhone } from '../factories/phone.factory';
import { reportsFor, rowsFor, startsFor, verifyOtp } from '../helpers/otp-flow';
import { createTestApp } from '../helpers/test-app';

function requestOtp(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(t.app).post('/api/request-otp').set(headers).send(body);
}

/** The one start the emulator received for the number: its body and its Accept-Language header. */
function onlyStart(t: TestApp, phone: string) {
  const starts = startsFor(t.emulator, phone);
  expect(starts).toHaveLength(1);
  const [start] = starts;
  return { body: start!.json as Record<string, unknown>, acceptLanguage: start!.headers['accept-language'] };
}

function inboxOf(t: TestApp, phone: string) {
  return t.emulator.inbox.filter((message) => message.to === phone);
}

describe('POST /api/request-otp with OTP_METHODS=sms,callout,whatsapp', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_METHODS: 'sms,callout,whatsapp' } });
  });
  afterAll(() => t.close());

  test('When method is callout with locale sv-SE, then Sinch gets a callout start with the speech locale and no Accept-Language, the answer says callout in sv-SE, and the code the call read verifies with a callout report', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(t, { phoneNumber: phone, method: 'callout', locale: 'sv-se' });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      phoneNumber: phone,
      method: 'callout',
      locale: 'sv-SE',
      codeType: 'Numeric',
      methods: ['sms', 'callout', 'whatsapp'],
    });
    const { verificationId } = res.body.data as { verificationId: string };
    const start = onlyStart(t, phone);
    expect(start.body).toEqual({
      identity: { type: 'number', endpoint: phone },
      method: 'callout',
      reference: verificationId,
      calloutOptions: { speech: { locale: 'sv-SE' } },
    });
    expect(start.acceptLanguage).toBeUndefined();
    expect(inboxOf(t, phone)).toEqual([expect.objectContaining({ method: 'callout', locale: 'sv-SE' })]);
    const { verifications } = await rowsFor(t, phone);
    expect(verifications).toEqual([expect.objectContaining({ method: 'callout', locale: 'sv-SE', sends: 1 })]);

    const code = t.emulator.lastCodeFor(phone)!;
    const verified = await verifyOtp(t, { verificationId, code });

    expect(verified.status).toBe(200);
    const sinchId = verifications[0]!.sinchVerificationId;
    expect(reportsFor(t.emulator, sinchId).map((r) => r.json)).toEqual([{ method: 'callout', callout: { code } }]);
  });

  test('When method is whatsapp and the browser asks for Swedish in Accept-Language, then Sinch gets a whatsapp start with codeType and that header, and the code verifies with a whatsapp report', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(
      t,
      { phoneNumber: phone, method: 'whatsapp' },
      { 'Accept-Language': 'sv-SE,sv;q=0.9' },
    );

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ method: 'whatsapp', locale: 'sv-SE', codeType: 'Numeric' });
    const start = onlyStart(t, phone);
    expect(start.body).toMatchObject({ method: 'whatsapp', whatsappOptions: { codeType: 'Numeric' } });
    expect(start.body).not.toHaveProperty('smsOptions');
    expect(start.acceptLanguage).toBe('sv-SE');
    expect(inboxOf(t, phone)).toEqual([expect.objectContaining({ method: 'whatsapp', locale: 'sv-SE' })]);

    const code = t.emulator.lastCodeFor(phone)!;
    const verified = await verifyOtp(t, { verificationId: res.body.data.verificationId, code });

    expect(verified.status).toBe(200);
    const [row] = (await rowsFor(t, phone)).verifications;
    expect(reportsFor(t.emulator, row!.sinchVerificationId).map((r) => r.json)).toEqual([
      { method: 'whatsapp', whatsapp: { code } },
    ]);
  });

  test.each([
    ['the body names a locale', { locale: 'fr-CH' }, { 'Accept-Language': 'de-DE' }, 'fr-CH'],
    ['only Accept-Language names one (q-values honoured)', {}, { 'Accept-Language': 'en;q=0.5, nb-NO' }, 'nb-NO'],
  ])(
    'When %s, then the SMS start carries it as Accept-Language and it is stored and answered',
    async (_what, body, headers, expected) => {
      const phone = uniquePhone();

      const res = await requestOtp(t, { phoneNumber: phone, ...body }, headers);

      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ method: 'sms', locale: expected });
      const start = onlyStart(t, phone);
      expect(start.acceptLanguage).toBe(expected);
      expect(start.body).toMatchObject({ method: 'sms', smsOptions: { expiry: '00:10:00', codeType: 'Numeric' } });
      expect((await rowsFor(t, phone)).verifications).toEqual([expect.objectContaining({ locale: expected })]);
    },
  );

  test.each([['*'], ['not a language!!'], ['en;q=0']])(
    'When Accept-Language is %j (no language), then it is no preference, never an error: no header reaches Sinch and data.locale is null',
    async (header) => {
      const phone = uniquePhone();

      const res = await requestOtp(t, { phoneNumber: phone }, { 'Accept-Language': header });

      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ method: 'sms', locale: null });
      expect(onlyStart(t, phone).acceptLanguage).toBeUndefined();
    },
  );

  test.each([['en_US'], ['sv SE'], ['x'.repeat(36)], [42]])(
    'When the body locale is %j, then 400 VALIDATION_ERROR on locale and nothing reaches Sinch',
    async (locale) => {
      const phone = uniquePhone();

      const res = await requestOtp(t, { phoneNumber: phone, locale });

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'locale' }] });
      expect(startsFor(t.emulator, phone)).toEqual([]);
    },
  );

  test('When one Idempotency-Key is reused for another method or another language, then 422 IDEMPOTENCY_KEY_REUSED and only the first was sent; the same request again is replayed', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    const first = await requestOtp(
      t,
      { phoneNumber: phone, method: 'sms', locale: 'sv-SE' },
      { 'Idempotency-Key': key },
    );

    const otherMethod = await requestOtp(
      t,
      { phoneNumber: phone, method: 'callout', locale: 'sv-SE' },
      { 'Idempotency-Key': key },
    );
    const otherLanguage = await requestOtp(
      t,
      { phoneNumber: phone, method: 'sms', locale: 'en' },
      { 'Idempotency-Key': key },
    );
    const same = await requestOtp(
      t,
      { phoneNumber: phone, method: 'sms', locale: 'sv-SE' },
      { 'Idempotency-Key': key },
    );

    expect(first.status).toBe(200);
    expect(otherMethod.status).toBe(422);
    expect(otherMethod.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(otherLanguage.status).toBe(422);
    expect(same.status).toBe(200);
    expect(same.headers['idempotent-replayed']).toBe('true');
    expect(same.body.data).toEqual(first.body.data);
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test('When a code was sent by call, then a wrong code gets 400 INVALID_CODE naming the method in force', async () => {
    const phone = uniquePhone();
    const res = await requestOtp(t, { phoneNumber: phone, method: 'callout' });
    const code = t.emulator.lastCodeFor(phone)!;

    const wrong = await verifyOtp(t, {
      verificationId: res.body.data.verificationId,
      code: code === '000000' ? '111111' : '000000',
    });

    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({
      code: 'INVALID_CODE',
      details: [{ field: 'code', attemptsRemaining: 4, method: 'callout' }],
    });
  });
});

describe('POST /api/request-otp: methods not on offer and the limits every method shares', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: { OTP_METHODS: 'sms,callout', OTP_MAX_SENDS_PER_NUMBER_HOUR: '2', OTP_DEFAULT_LOCALE: 'de-DE' },
    });
  });
  afterAll(() => t.close());

  test('When method is whatsapp, which the server does not offer, then 422 METHOD_NOT_ENABLED lists the methods on offer and nothing reaches Sinch', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(t, { phoneNumber: phone, method: 'whatsapp' });

    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      status: 'error',
      code: 'METHOD_NOT_ENABLED',
      message: expect.stringContaining('sms, callout'),
      requestId: res.headers['x-request-id'],
      details: [{ field: 'method', reason: 'method_not_enabled', enabledMethods: ['sms', 'callout'] }],
    });
    expect(startsFor(t.emulator, phone)).toEqual([]);
    expect(await rowsFor(t, phone)).toEqual({ user: undefined, verifications: [] });
  });

  test('When an SMS and then a call were sent to a number allowed 2 sends an hour, then a third send by any method is 429 RATE_LIMITED number_hour', async () => {
    const phone = uniquePhone();
    await requestOtp(t, { phoneNumber: phone }).expect(200);
    await requestOtp(t, { phoneNumber: phone, method: 'callout' }).expect(200);

    const third = await requestOtp(t, { phoneNumber: phone, method: 'sms' });

    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_hour', quota: 2 }] });
    expect(startsFor(t.emulator, phone).map((s) => (s.json as { method: string }).method)).toEqual(['sms', 'callout']);
  });

  test('When neither the body nor Accept-Language names a language, then OTP_DEFAULT_LOCALE reaches Sinch: Accept-Language for an SMS, the speech locale for a call', async () => {
    const sms = uniquePhone();
    const call = uniquePhone();

    const bySms = await requestOtp(t, { phoneNumber: sms });
    const byCall = await requestOtp(t, { phoneNumber: call, method: 'callout' });

    expect(bySms.body.data).toMatchObject({ method: 'sms', locale: 'de-DE' });
    expect(onlyStart(t, sms).acceptLanguage).toBe('de-DE');
    expect(byCall.body.data).toMatchObject({ method: 'callout', locale: 'de-DE' });
    expect(onlyStart(t, call).body).toMatchObject({ calloutOptions: { speech: { locale: 'de-DE' } } });
  });
});

describe('OTP_CODE_TYPE', () => {
  let alpha: TestApp;
  let alphanumeric: TestApp;
  beforeAll(async () => {
    [alpha, alphanumeric] = await Promise.all([
      createTestApp({ env: { OTP_CODE_TYPE: 'Alpha', OTP_METHODS: 'sms,callout' } }),
      createTestApp({ env: { OTP_CODE_TYPE: 'Alphanumeric' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([alpha.close(), alphanumeric.close()]);
  });

  test('When the code type is Alpha, then Sinch is asked for letters, the answer says Alpha, and the letters verify in any case', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(alpha, { phoneNumber: phone });

    expect(res.body.data).toMatchObject({ method: 'sms', codeType: 'Alpha' });
    expect(onlyStart(alpha, phone).body).toMatchObject({ smsOptions: { codeType: 'Alpha' } });
    const code = alpha.emulator.lastCodeFor(phone)!;
    expect(code).toMatch(/^[A-Z]+$/);
    const verified = await verifyOtp(alpha, { verificationId: res.body.data.verificationId, code: code.toLowerCase() });
    expect(verified.status).toBe(200);
  });

  test('When the code type is Alpha and calls are offered, then a call still reads digits (codeType Numeric) and verify-otp takes them', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(alpha, { phoneNumber: phone, method: 'callout' });

    expect(res.body.data).toMatchObject({ method: 'callout', codeType: 'Numeric' });
    const code = alpha.emulator.lastCodeFor(phone)!;
    expect(code).toMatch(/^\d+$/);
    expect((await verifyOtp(alpha, { verificationId: res.body.data.verificationId, code })).status).toBe(200);
  });

  test.each([
    ['a mix of letters and digits', 'AB12CD'],
    ['a symbol', 'ABC-DE'],
    ['three letters', 'ABC'],
  ])(
    'When the code type is Alpha and the code is %s, then 400 VALIDATION_ERROR and no attempt is used',
    async (_what, code) => {
      const phone = uniquePhone();
      const res = await requestOtp(alpha, { phoneNumber: phone });

      const wrong = await verifyOtp(alpha, { verificationId: res.body.data.verificationId, code });

      expect(wrong.status).toBe(400);
      expect(wrong.body).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: [{ field: 'code', message: 'code must be 4 to 10 letters, or 4 to 10 digits' }],
      });
      expect((await rowsFor(alpha, phone)).verifications).toEqual([expect.objectContaining({ attempts: 0 })]);
    },
  );

  test('When the code type is Alphanumeric, then Sinch is asked for it and a code of letters and digits is reported', async () => {
    const phone = uniquePhone();

    const res = await requestOtp(alphanumeric, { phoneNumber: phone });

    expect(res.body.data).toMatchObject({ codeType: 'Alphanumeric' });
    expect(onlyStart(alphanumeric, phone).body).toMatchObject({ smsOptions: { codeType: 'Alphanumeric' } });
    const wrong = await verifyOtp(alphanumeric, { verificationId: res.body.data.verificationId, code: 'AB12CD' });
    expect(wrong.body).toMatchObject({ code: 'INVALID_CODE' });
    const code = alphanumeric.emulator.lastCodeFor(phone)!;
    expect((await verifyOtp(alphanumeric, { verificationId: res.body.data.verificationId, code })).status).toBe(200);
  });
});
