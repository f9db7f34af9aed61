import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import request from 'supertest';
import { sandboxNumber } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { requestCode, requestOtp, rowsFor, startsFor } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

/** Real numbers of each type, valid per libphonenumber's full metadata (checked in the first test). */
const REFUSED_TYPES = [
  ['PREMIUM_RATE', '+46900123456'],
  ['PREMIUM_RATE', '+449098790000'],
  ['TOLL_FREE', '+46200123456'],
  ['TOLL_FREE', '+18002530000'],
  ['SHARED_COST', '+46771123456'],
  ['VOIP', '+445612345678'],
  ['VOIP', '+33912345678'],
  ['PAGER', '+46740123456'],
  ['PAGER', '+447640123456'],
  ['FIXED_LINE', '+4686123456'],
  ['FIXED_LINE', '+442071234567'],
  ['UAN', '+46101234567'],
] as const;

/** Mobiles outside Sweden, fresh per call so that no earlier test has stored rows for them. */
const random6 = () => String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
const ukMobile = () => `+447400${random6()}`;
const frMobile = () => `+33612${random6()}`;

describe('Number policy: number types (default: MOBILE and FIXED_LINE_OR_MOBILE only)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('The example numbers are valid numbers of the type they stand for', () => {
    for (const [type, number] of REFUSED_TYPES) {
      const parsed = parsePhoneNumberFromString(number);
      expect({ number, valid: parsed?.isValid(), type: parsed?.getType() }).toEqual({ number, valid: true, type });
    }
  });

  test.each(REFUSED_TYPES)(
    'When the number is %s (%s), then 422 PHONE_NUMBER_NOT_ALLOWED number_type_not_allowed, Sinch is not called and nothing is stored',
    async (type, number) => {
      const before = t.emulator.requests.length;

      const res = await requestOtp(t, number);

      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        status: 'error',
        code: 'PHONE_NUMBER_NOT_ALLOWED',
        message: 'Codes can only be sent to mobile phone numbers.',
        requestId: res.headers['x-request-id'],
        details: [{ field: 'phoneNumber', reason: 'number_type_not_allowed', numberType: type }],
      });
      expect(t.emulator.requests.length).toBe(before);
      expect(await rowsFor(t, number)).toEqual({ user: undefined, verifications: [] });
    },
  );

  test.each([
    ['MOBILE', ukMobile()],
    ['FIXED_LINE_OR_MOBILE', '+12015550123'],
  ])('When the number is %s (%s), then the code is sent', async (_type, number) => {
    const res = await requestOtp(t, number);

    expect(res.status).toBe(200);
    expect(startsFor(t.emulator, number).length).toBeGreaterThanOrEqual(1);
  });
});

describe('Number policy: ALLOWED_NUMBER_TYPES=MOBILE,FIXED_LINE', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { ALLOWED_NUMBER_TYPES: 'MOBILE,FIXED_LINE' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When fixed lines are allowed explicitly, then a fixed-line number is sent a code while premium-rate still is not', async () => {
    const fixed = await requestOtp(t, '+4686123456');
    const premium = await requestOtp(t, '+46900123456');

    expect(fixed.status).toBe(200);
    expect(premium.status).toBe(422);
    expect(premium.body).toMatchObject({
      details: [{ reason: 'number_type_not_allowed', numberType: 'PREMIUM_RATE' }],
    });
  });
});

describe('Number policy: countries and prefixes', () => {
  const cases = [
    {
      env: { ALLOWED_COUNTRIES: 'se,NO' },
      refused: ukMobile(),
      reason: 'country_not_allowed',
      message: 'Codes cannot be sent to phone numbers in this country.',
    },
    {
      env: { BLOCKED_COUNTRIES: 'GB,FR' },
      refused: frMobile(),
      reason: 'country_not_allowed',
      message: 'Codes cannot be sent to phone numbers in this country.',
    },
    {
      env: { BLOCKED_PREFIXES: '+447400,+3361' },
      refused: ukMobile(),
      reason: 'prefix_blocked',
      message: 'Codes cannot be sent to this phone number range.',
    },
  ];

  test.each(cases)(
    'When $env is set, then $refused gets 422 PHONE_NUMBER_NOT_ALLOWED $reason, nothing is sent or stored, and a Swedish mobile is still served',
    async ({ env, refused, reason, message }) => {
      const t = await createTestApp({ env });
      try {
        const allowed = uniquePhone();

        const res = await requestOtp(t, refused);
        const ok = await requestOtp(t, allowed);

        expect(res.status).toBe(422);
        expect(res.body).toEqual({
          status: 'error',
          code: 'PHONE_NUMBER_NOT_ALLOWED',
          message,
          requestId: res.headers['x-request-id'],
          details: [{ field: 'phoneNumber', reason }],
        });
        expect(startsFor(t.emulator, refused)).toHaveLength(0);
        expect(await rowsFor(t, refused)).toEqual({ user: undefined, verifications: [] });
        expect(ok.status).toBe(200);
        expect(startsFor(t.emulator, allowed)).toHaveLength(1);
      } finally {
        await t.close();
      }
    },
  );

  test('When a blocked prefix is given, then a number written with spaces and dashes is still matched after normalisation', async () => {
    const t = await createTestApp({ env: { BLOCKED_PREFIXES: '+447400' } });
    try {
      const res = await requestOtp(t, `+44 7400-${random6().slice(0, 3)} ${random6().slice(0, 3)}`);

      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'PHONE_NUMBER_NOT_ALLOWED', details: [{ reason: 'prefix_blocked' }] });
      expect(t.emulator.requests).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});

describe('Number policy: Sinch refusals (OTP_RESEND_COOLDOWN_SECONDS=30)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_RESEND_COOLDOWN_SECONDS: '30' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each([
    ['blacklisted', 40300, 'blocked_by_provider'],
    ['noRoute', 42201, 'no_route'],
  ] as const)(
    'When Sinch refuses a %s number (%i), then 422 PHONE_NUMBER_NOT_ALLOWED %s, no verification is stored and the send is not counted',
    async (behaviour, _errorCode, reason) => {
      const phone = sandboxNumber(behaviour, 7);

      const res = await requestOtp(t, phone);
      const again = await requestOtp(t, phone);

      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        status: 'error',
        code: 'PHONE_NUMBER_NOT_ALLOWED',
        message: 'Codes cannot be sent to this phone number.',
        requestId: res.headers['x-request-id'],
        details: [{ field: 'phoneNumber', reason }],
      });
      const sinchStatus = behaviour === 'noRoute' ? 422 : 403;
      expect(startsFor(t.emulator, phone).map((r) => r.status)).toEqual([sinchStatus, sinchStatus]);
      // Sinch refused, so nothing was sent: the cooldown does not hold the retry back (it reaches Sinch again).
      expect(again.status).toBe(422);
      const { user, verifications } = await rowsFor(t, phone);
      expect(verifications).toEqual([]);
      expect(user?.otpSendTimes ?? []).toEqual([]);
    },
  );
});

describe('Number policy: no account enumeration through request-otp', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  /** The shape of a response with the values that must differ per number or request masked. */
  function shape(res: request.Response) {
    const headers = Object.keys(res.headers)
      .filter((h) => h !== 'date')
      .sort();
    const data = res.body.data as Record<string, unknown>;
    return {
      status: res.status,
      headers,
      bodyKeys: Object.keys(res.body).sort(),
      message: res.body.message as string,
      dataKeys: Object.keys(data).sort(),
      method: data.method,
    };
  }

  test('When a number that has verified before and one never seen request a code, then the answers are identical but for the number, ids and times', async () => {
    const known = await requestCode(t, uniquePhone());
    expect(
      (
        await request(t.app)
          .post('/api/verify-otp')
          .send({ verificationId: known.verificationId, phoneNumber: known.phone, code: known.code })
      ).status,
    ).toBe(200);
    expect((await rowsFor(t, known.phone)).user).toMatchObject({ isVerified: true });
    const unknown = uniquePhone();

    const forKnown = await requestOtp(t, known.phone);
    const forUnknown = await requestOtp(t, unknown);

    expect(shape(forKnown)).toEqual(shape(forUnknown));
    expect(forKnown.status).toBe(200);
    expect(forKnown.body.data).toMatchObject({
      phoneNumber: known.phone,
      resendAvailableAt: expect.any(String),
      expiresAt: forUnknown.body.data.expiresAt,
    });
    expect(forKnown.text.length - known.phone.length).toBe(forUnknown.text.length - unknown.length);
  });
});
