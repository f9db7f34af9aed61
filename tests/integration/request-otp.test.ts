import { serverOnlyTest } from '../helpers/database';
import request from 'supertest';
import { formatted, uniquePhone } from '../factories/phone.factory';
import { sinchStatusOf, startsFor } from '../helpers/otp-flow';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASIC_AUTH = `Basic ${Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64')}`;

async function rowsFor(t: TestApp, e164: string) {
  const users = await t.models.User.findAll({ where: { phoneNumber: e164 } });
  const verifications = await t.models.Verification.findAll({
    where: { phoneNumber: e164 },
    order: [['createdAt', 'ASC']],
  });
  return { users, verifications };
}

describe('POST /api/request-otp', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the number is valid, then 200 with our own verification id, E.164 number and expiry TTL seconds from now', async () => {
    const phone = uniquePhone();
    const now = t.clock.now();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      status: 'success',
      message: expect.any(String),
      data: {
        verificationId: expect.stringMatching(UUID),
        phoneNumber: phone,
        method: 'sms',
        // No language asked for: Sinch's default, which it does not name.
        locale: null,
        codeType: 'Numeric',
        methods: ['sms'],
        purpose: null,
        expiresAt: new Date(now + 600_000).toISOString(),
        // OTP_RESEND_COOLDOWN_SECONDS=0 in the test app: a new code may be requested at once.
        resendAvailableAt: new Date(now).toISOString(),
      },
    });
  });

  test('When a code is requested, then Sinch receives the start call with Basic auth, the number, sms, a 10-minute expiry and our id as reference', async () => {
    const phone = uniquePhone();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone, method: 'sms' });

    expect(res.status).toBe(200);
    const starts = startsFor(t.emulator, phone);
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({
      method: 'POST',
      path: '/verification/v1/verifications',
      status: 200,
      headers: expect.objectContaining({
        authorization: BASIC_AUTH,
        'content-type': expect.stringMatching(/^application\/json/),
      }),
      json: {
        identity: { type: 'number', endpoint: phone },
        method: 'sms',
        reference: res.body.data.verificationId,
        smsOptions: expect.objectContaining({ expiry: '00:10:00' }),
      },
    });
    expect(t.emulator.inbox.filter((m) => m.to === phone)).toHaveLength(1);
  });

  test('When a code is requested, then one User row and one PENDING Verification row with Sinch id (not ours) and 0 attempts are stored', async () => {
    const phone = uniquePhone();
    const now = t.clock.now();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(res.status).toBe(200);
    const { users, verifications } = await rowsFor(t, phone);
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ phoneNumber: phone, isVerified: false, verifiedAt: null });
    expect(verifications).toHaveLength(1);
    const sinchId = t.emulator.inbox.find((m) => m.to === phone)?.verificationId;
    expect(sinchId).toEqual(expect.any(String));
    expect(verifications[0]!.toJSON()).toMatchObject({
      id: res.body.data.verificationId,
      sinchVerificationId: sinchId,
      phoneNumber: phone,
      method: 'sms',
      status: 'PENDING',
      attempts: 0,
      verifiedAt: null,
      expiresAt: new Date(now + 600_000),
    });
    expect(verifications[0]!.sinchVerificationId).not.toBe(res.body.data.verificationId);
  });

  test.each([
    ['spaces, dashes, dots and parentheses', formatted],
    [
      'spaces only',
      (e164: string) =>
        `${e164.slice(0, 3)} ${e164.slice(3, 5)} ${e164.slice(5, 8)} ${e164.slice(8, 10)} ${e164.slice(10)}`,
    ],
    ['surrounding whitespace', (e164: string) => `  ${e164}\t`],
  ])('When the number is written with %s, then it is normalised to E.164 everywhere', async (_how, format) => {
    const phone = uniquePhone();

    const res = await request(t.app)
      .post('/api/request-otp')
      .send({ phoneNumber: format(phone) });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ phoneNumber: phone });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    const { users, verifications } = await rowsFor(t, phone);
    expect(users).toHaveLength(1);
    expect(verifications).toHaveLength(1);
  });

  serverOnlyTest(
    'When 20 requests for a new number arrive in parallel, then exactly one User row is created',
    async () => {
      const phone = uniquePhone();

      const responses = await Promise.all(
        Array.from({ length: 20 }, () => request(t.app).post('/api/request-otp').send({ phoneNumber: phone })),
      );

      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      const { users, verifications } = await rowsFor(t, phone);
      expect(users).toHaveLength(1);
      expect(verifications).toHaveLength(20);
      expect(verifications.filter((v) => v.status === 'PENDING')).toHaveLength(1);
    },
  );

  test('When the number has no leading + and DEFAULT_COUNTRY is not set, then 400 INVALID_PHONE_NUMBER and Sinch is not called', async () => {
    const phone = uniquePhone();
    const national = `0${phone.slice(3)}`;
    const before = t.emulator.requests.length;

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: national });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'INVALID_PHONE_NUMBER',
      message: expect.stringContaining('+'),
      requestId: res.headers['x-request-id'],
      details: [{ field: 'phoneNumber', reason: 'missing_country_code' }],
    });
    expect(t.emulator.requests).toHaveLength(before);
    expect(await rowsFor(t, phone)).toEqual({ users: [], verifications: [] });
  });

  test.each([
    ['too short for its country', '+46 70 12', 'impossible_number'],
    ['too long for its country', '+46 70 123 456 789 012', 'impossible_number'],
    ['an unassigned country code', '+999 123 456 789', 'impossible_number'],
    ['a possible length but an invalid number', '+46 99 123 45 67', 'invalid_number'],
    ['letters', '+46 70 ABC 45 67', 'invalid_characters'],
    ['a slash', '+46/701234567', 'invalid_characters'],
    ['only a plus', '+', 'invalid_characters'],
  ])(
    'When the number is %s, then 400 INVALID_PHONE_NUMBER, Sinch is not called and nothing is stored',
    async (_what, phoneNumber, reason) => {
      const before = t.emulator.requests.length;
      const digits = `+${phoneNumber.replace(/\D/g, '')}`;

      const res = await request(t.app).post('/api/request-otp').send({ phoneNumber });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 'error',
        code: 'INVALID_PHONE_NUMBER',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
        details: [{ field: 'phoneNumber', reason }],
      });
      expect(t.emulator.requests).toHaveLength(before);
      expect(await rowsFor(t, digits)).toEqual({ users: [], verifications: [] });
    },
  );

  test('When the body has unknown fields, then 400 VALIDATION_ERROR naming each of them, and Sinch is not called', async () => {
    const phone = uniquePhone();
    const before = t.emulator.requests.length;

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone, channel: 'sms', admin: true });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VALIDATION_ERROR',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: expect.arrayContaining([
        { field: 'channel', message: expect.stringContaining('channel') },
        { field: 'admin', message: expect.stringContaining('admin') },
      ]),
    });
    expect(res.body.details).toHaveLength(2);
    expect(t.emulator.requests).toHaveLength(before);
    expect(await rowsFor(t, phone)).toEqual({ users: [], verifications: [] });
  });

  test.each([
    ['phoneNumber is missing', {}, 'phoneNumber', 'phoneNumber is required'],
    ['phoneNumber is not a string', { phoneNumber: 46701234567 }, 'phoneNumber', 'phoneNumber must be a string'],
    ['phoneNumber is blank', { phoneNumber: '   ' }, 'phoneNumber', 'phoneNumber must not be empty'],
    [
      'phoneNumber is longer than 32 characters',
      { phoneNumber: `+46${'7'.repeat(40)}` },
      'phoneNumber',
      expect.stringContaining('32'),
    ],
    ['method is voice', { phoneNumber: '+46701234567', method: 'voice' }, 'method', expect.stringContaining('sms')],
    [
      'method is SMS in capitals',
      { phoneNumber: '+46701234567', method: 'SMS' },
      'method',
      expect.stringContaining('sms'),
    ],
  ])('When %s, then 400 VALIDATION_ERROR with a detail for that field', async (_what, body, field, message) => {
    const before = t.emulator.requests.length;

    const res = await request(t.app).post('/api/request-otp').send(body);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VALIDATION_ERROR',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: [{ field, message }],
    });
    expect(t.emulator.requests).toHaveLength(before);
  });

  test('When the JSON body is an array, then 400 VALIDATION_ERROR for the body', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .send([{ phoneNumber: '+46701234567' }]);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VALIDATION_ERROR',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: [{ field: '(body)', message: 'the body must be a JSON object' }],
    });
  });

  test.each([
    ['a string', '"just text"'],
    ['null', 'null'],
    ['a number', '46701234567'],
  ])(
    'When the JSON body is %s rather than an object, then 400 INVALID_JSON (strict JSON bodies only)',
    async (_what, raw) => {
      const res = await request(t.app).post('/api/request-otp').set('Content-Type', 'application/json').send(raw);

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 'error',
        code: 'INVALID_JSON',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
      });
    },
  );

  test('When a second code is requested, then the first verification becomes ABORTED here and at Sinch, and the new one is PENDING', async () => {
    const phone = uniquePhone();
    const first = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.clock.advance(1000);

    const second = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(second.status).toBe(200);
    expect(second.body.data.verificationId).not.toBe(first.body.data.verificationId);
    const { users, verifications } = await rowsFor(t, phone);
    expect(users).toHaveLength(1);
    expect(verifications.map((v) => ({ id: v.id, status: v.status }))).toEqual([
      { id: first.body.data.verificationId, status: 'ABORTED' },
      { id: second.body.data.verificationId, status: 'PENDING' },
    ]);
    const atSinch = await sinchStatusOf(t.emulator, verifications[0]!.sinchVerificationId);
    expect(atSinch).toMatchObject({ status: 'ABORTED' });
  });

  test('When a code is requested after an older one expired, then only still-PENDING older ones are aborted', async () => {
    const phone = uniquePhone();
    const first = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.clock.advance(600_000);
    await request(t.app).post('/api/verify-otp').send({ verificationId: first.body.data.verificationId, code: '0000' }); // marks the first EXPIRED

    const second = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(second.status).toBe(200);
    const { verifications } = await rowsFor(t, phone);
    expect(verifications.map((v) => ({ id: v.id, status: v.status }))).toEqual([
      { id: first.body.data.verificationId, status: 'EXPIRED' },
      { id: second.body.data.verificationId, status: 'PENDING' },
    ]);
  });

  test.each([
    [40001, 'Invalid parameter.'],
    [40005, 'Number is missing a leading plus.'],
  ])(
    'When Sinch refuses the number with %i, then 400 INVALID_PHONE_NUMBER and no Verification row is stored',
    async (errorCode, message) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', { kind: 'status', status: 400, body: { errorCode, message, reference: 'r' } });

      const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 'error',
        code: 'INVALID_PHONE_NUMBER',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
        details: [{ field: 'phoneNumber', reason: 'rejected_by_provider' }],
      });
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
      const { verifications } = await rowsFor(t, phone);
      expect(verifications).toEqual([]);
    },
  );
});

describe('POST /api/request-otp with OTP_TTL_SECONDS=300', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_TTL_SECONDS: '300' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a code is requested, then Sinch is asked for a 5-minute expiry and expiresAt is 300 s from now', async () => {
    const phone = uniquePhone();
    const now = t.clock.now();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ expiresAt: new Date(now + 300_000).toISOString() });
    expect(startsFor(t.emulator, phone)[0]?.json).toMatchObject({ smsOptions: { expiry: '00:05:00' } });
    const [verification] = await t.models.Verification.findAll({ where: { phoneNumber: phone } });
    expect(verification?.expiresAt).toEqual(new Date(now + 300_000));
  });
});

describe('POST /api/request-otp with DEFAULT_COUNTRY=SE', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { DEFAULT_COUNTRY: 'SE' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each([
    ['national format', (e164: string) => `0${e164.slice(3)}`],
    [
      'national format with spaces and dashes',
      (e164: string) => `0${e164.slice(3, 5)}-${e164.slice(5, 8)} ${e164.slice(8, 10)} ${e164.slice(10)}`,
    ],
    ['international format', (e164: string) => e164],
  ])('When the number is in %s, then it is accepted as a Swedish number in E.164', async (_how, format) => {
    const phone = uniquePhone();

    const res = await request(t.app)
      .post('/api/request-otp')
      .send({ phoneNumber: format(phone) });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ phoneNumber: phone });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test('When a national number is invalid for the default country, then 400 INVALID_PHONE_NUMBER', async () => {
    const before = t.emulator.requests.length;

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: '070 12' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'INVALID_PHONE_NUMBER',
      details: [{ field: 'phoneNumber', reason: 'impossible_number' }],
    });
    expect(t.emulator.requests).toHaveLength(before);
  });
});
