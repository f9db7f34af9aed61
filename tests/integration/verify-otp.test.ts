import { serverOnlyTest } from '../helpers/database';
import { randomUUID } from 'node:crypto';
import { formatted, uniquePhone } from '../factories/phone.factory';
import { rateLimitFields, reportsFor, requestCode, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

async function verificationRow(t: TestApp, id: string) {
  const row = await t.models.Verification.findByPk(id);
  return row?.toJSON();
}

describe('POST /api/verify-otp', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the code is right, then 200 verified, the user is verified and the verification SUCCESSFUL', async () => {
    const { phone, verificationId, code } = await requestCode(t);
    t.clock.advance(30_000);
    const now = new Date(t.clock.now());

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'success',
      message: expect.any(String),
      data: {
        verificationId,
        phoneNumber: phone,
        verified: true,
        verifiedAt: now.toISOString(),
        verificationToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      },
    });
    const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
    expect(user?.toJSON()).toMatchObject({ phoneNumber: phone, isVerified: true, verifiedAt: now });
    expect(await verificationRow(t, verificationId)).toMatchObject({
      status: 'SUCCESSFUL',
      verifiedAt: now,
      attempts: 1,
    });
  });

  test('When a code is checked, then Sinch receives it BY ID with Basic auth and the sms body, never by number', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(200);
    const reports = reportsFor(t.emulator, sinchId);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      method: 'PUT',
      path: `/verification/v1/verifications/id/${sinchId}`,
      status: 200,
      headers: expect.objectContaining({ authorization: expect.stringMatching(/^Basic /) }),
      json: { method: 'sms', sms: { code } },
    });
    expect(t.emulator.requests.filter((r) => r.path.includes('/number/'))).toEqual([]);
  });

  test('When the code and number come with whitespace and formatting, then they are trimmed and normalised before checking', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);

    const res = await verifyOtp(t, { phoneNumber: formatted(phone), code: `  ${code}\n`, verificationId });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ phoneNumber: phone, verified: true });
    expect(reportsFor(t.emulator, sinchId)[0]?.json).toEqual({ method: 'sms', sms: { code } });
  });

  test('When the verificationId of the pending verification is given, then that verification is checked', async () => {
    const { phone, verificationId, code } = await requestCode(t);

    const res = await verifyOtp(t, { phoneNumber: phone, code, verificationId });

    expect(res.status).toBe(200);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'SUCCESSFUL' });
  });

  test.each([
    ['too short', '123'],
    ['too long', '12345678901'],
    ['containing a space', '12 34'],
    ['containing a dash', '12-34'],
    ['containing non-ASCII letters', '12åä'],
    ['blank', '   '],
  ])('When the code is %s, then 400 VALIDATION_ERROR for code and nothing reaches Sinch', async (_what, code) => {
    const { phone, verificationId, sinchId } = await requestCode(t);

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VALIDATION_ERROR',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: expect.arrayContaining([{ field: 'code', message: expect.any(String) }]),
    });
    expect(new Set(res.body.details.map((d: { field: string }) => d.field))).toEqual(new Set(['code']));
    expect(reportsFor(t.emulator, sinchId)).toEqual([]);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  test.each([
    ['the code is a number', { code: 1234 }, 'code'],
    ['the code is missing', { code: undefined }, 'code'],
    ['the verificationId is not a UUID', { code: '1234', verificationId: 'abc' }, 'verificationId'],
    ['an unknown field is sent', { code: '1234', attempt: 1 }, 'attempt'],
  ])('When %s, then 400 VALIDATION_ERROR naming that field', async (_what, extra, field) => {
    const res = await verifyOtp(t, { verificationId: randomUUID(), phoneNumber: uniquePhone(), ...extra });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'VALIDATION_ERROR',
      details: [{ field, message: expect.any(String) }],
    });
    expect(res.body.details).toHaveLength(1);
  });

  test('When the phone number is invalid, then 400 INVALID_PHONE_NUMBER', async () => {
    const res = await verifyOtp(t, { verificationId: randomUUID(), phoneNumber: '+46 70 12', code: '1234' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'INVALID_PHONE_NUMBER',
      details: [{ field: 'phoneNumber' }],
    });
  });

  test('When the code has letters and OTP_CODE_TYPE is Numeric (the default), then 400 VALIDATION_ERROR, nothing reaches Sinch and no attempt is used', async () => {
    const { phone, verificationId, sinchId } = await requestCode(t);

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code: 'AbC123' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ field: 'code', message: 'code must be 4 to 10 digits' }],
    });
    expect(reportsFor(t.emulator, sinchId)).toEqual([]);
    expect(await verificationRow(t, verificationId)).toMatchObject({ attempts: 0 });
  });

  test('When the verificationId was never issued, then 404 VERIFICATION_NOT_FOUND and nothing reaches Sinch', async () => {
    const before = t.emulator.requests.length;

    const res = await verifyOtp(t, { verificationId: randomUUID(), code: '1234' });

    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VERIFICATION_NOT_FOUND',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
    });
    expect(t.emulator.requests).toHaveLength(before);
  });

  test('When the verificationId belongs to another number, then 404 VERIFICATION_NOT_FOUND and neither verification is touched', async () => {
    const mine = await requestCode(t);
    const theirs = await requestCode(t);

    const res = await verifyOtp(t, {
      phoneNumber: mine.phone,
      code: theirs.code,
      verificationId: theirs.verificationId,
    });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'VERIFICATION_NOT_FOUND',
      requestId: res.headers['x-request-id'],
    });
    expect(reportsFor(t.emulator, theirs.sinchId)).toEqual([]);
    expect(reportsFor(t.emulator, mine.sinchId)).toEqual([]);
    expect(await verificationRow(t, theirs.verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(await verificationRow(t, mine.verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  test('When the verificationId is unknown, then 404 VERIFICATION_NOT_FOUND', async () => {
    const { phone, code, sinchId } = await requestCode(t);

    const res = await verifyOtp(t, {
      phoneNumber: phone,
      code,
      verificationId: '00000000-0000-4000-8000-000000000000',
    });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
    expect(reportsFor(t.emulator, sinchId)).toEqual([]);
  });

  test('When the verificationId is an older verification replaced by a newer code, then 404 VERIFICATION_NOT_FOUND (superseded)', async () => {
    const older = await requestCode(t);
    t.clock.advance(1000);
    const newer = await requestCode(t, older.phone);

    const res = await verifyOtp(t, {
      phoneNumber: older.phone,
      code: older.code,
      verificationId: older.verificationId,
    });

    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VERIFICATION_NOT_FOUND',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: [{ reason: 'superseded' }],
    });
    expect(reportsFor(t.emulator, older.sinchId)).toEqual([]);
    expect(await verificationRow(t, older.verificationId)).toMatchObject({ status: 'ABORTED', attempts: 0 });
    expect(await verificationRow(t, newer.verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  test('When the same verification is verified twice, then the second answer is 409 ALREADY_VERIFIED and Sinch is not asked again', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    const first = await verifyOtp(t, { verificationId, phoneNumber: phone, code });
    expect(first.status).toBe(200);

    const second = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(second.status).toBe(409);
    expect(second.body).toEqual({
      status: 'error',
      code: 'ALREADY_VERIFIED',
      message: expect.any(String),
      requestId: second.headers['x-request-id'],
    });
    expect(reportsFor(t.emulator, sinchId)).toHaveLength(1);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
  });

  test('When the code expired by our clock, then 410 VERIFICATION_EXPIRED, the row becomes EXPIRED and Sinch is not asked', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    t.clock.advance(600_000);

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(410);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VERIFICATION_EXPIRED',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
    });
    expect(reportsFor(t.emulator, sinchId)).toEqual([]);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'EXPIRED', attempts: 0 });
    const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
    expect(user?.isVerified).toBe(false);
  });

  test('When the code is one millisecond short of expiry, then it still verifies', async () => {
    const { phone, verificationId, code } = await requestCode(t);
    t.clock.advance(599_999);

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(200);
  });

  test('When Sinch answers FAIL/Expired, then 410 VERIFICATION_EXPIRED and the row becomes EXPIRED', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    t.emulator.injectFault('report', {
      kind: 'status',
      status: 200,
      body: { id: sinchId, method: 'sms', status: 'FAIL', reason: 'Expired' },
    });

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'VERIFICATION_EXPIRED',
      requestId: res.headers['x-request-id'],
    });
    expect(reportsFor(t.emulator, sinchId)).toHaveLength(1);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'EXPIRED' });
  });

  test('When Sinch no longer knows the verification (404), then 410 VERIFICATION_EXPIRED', async () => {
    const { phone, verificationId, code } = await requestCode(t);
    t.emulator.injectFault('report', { kind: 'status', status: 404 });

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_EXPIRED' });
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'EXPIRED' });
  });

  test('When Sinch says the verification was ABORTED, then 404 VERIFICATION_NOT_FOUND (superseded) and the row becomes ABORTED', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    t.emulator.injectFault('report', {
      kind: 'status',
      status: 200,
      body: { id: sinchId, method: 'sms', status: 'ABORTED' },
    });

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND', details: [{ reason: 'superseded' }] });
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'ABORTED' });
  });

  test('When Sinch has DENIED the verification, then 410 VERIFICATION_EXPIRED (ended by provider) and the row becomes FAILED', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    t.emulator.injectFault('report', {
      kind: 'status',
      status: 200,
      body: { id: sinchId, method: 'sms', status: 'DENIED', reason: 'Denied by callback' },
    });

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(410);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_EXPIRED', details: [{ reason: 'ended_by_provider' }] });
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'FAILED' });
    const again = await verifyOtp(t, { verificationId, phoneNumber: phone, code });
    expect(again.status).toBe(410);
    expect(reportsFor(t.emulator, sinchId)).toHaveLength(1);
  });

  test('When the right code arrives after OTP_MAX_ATTEMPTS wrong ones, then 429 TOO_MANY_ATTEMPTS and the right code never reaches Sinch', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    const remaining: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const wrong = await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });
      expect(wrong.status).toBe(400);
      remaining.push(wrong.body.details[0].attemptsRemaining);
    }

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.body).toEqual({
      status: 'error',
      code: 'TOO_MANY_ATTEMPTS',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: [expect.objectContaining({ attemptsRemaining: 0, maxAttempts: 5 })],
    });
    expect(reportsFor(t.emulator, sinchId).map((r) => (r.json as { sms: { code: string } }).sms.code)).toEqual(
      Array(5).fill(wrongCode(code)),
    );
    expect(await verificationRow(t, verificationId)).toMatchObject({ attempts: 5, status: 'FAILED' });
    const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
    expect(user?.isVerified).toBe(false);
  });

  test('When a new code is requested after the attempts ran out, then the new code verifies', async () => {
    const { phone, verificationId, code } = await requestCode(t);
    for (let i = 0; i < 5; i += 1) await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });
    const fresh = await requestCode(t, phone);

    const res = await verifyOtp(t, { verificationId: fresh.verificationId, phoneNumber: phone, code: fresh.code });

    expect(res.status).toBe(200);
    expect(await verificationRow(t, fresh.verificationId)).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
  });

  serverOnlyTest(
    'When 50 wrong guesses arrive in parallel, then at most OTP_MAX_ATTEMPTS reach Sinch and attempts stop at the cap',
    async () => {
      const { phone, verificationId, sinchId, code } = await requestCode(t);

      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          verifyOtp(t, {
            verificationId,
            phoneNumber: phone,
            code: String(5000 + i) === code ? '9999' : String(5000 + i),
          }),
        ),
      );

      const statuses = responses.map((r) => `${r.status} ${r.body.code}`).sort();
      expect(statuses).toEqual(
        [...Array(5).fill('400 INVALID_CODE'), ...Array(45).fill('429 TOO_MANY_ATTEMPTS')].sort(),
      );
      expect(reportsFor(t.emulator, sinchId)).toHaveLength(5);
      expect(await verificationRow(t, verificationId)).toMatchObject({ attempts: 5 });
      const afterwards = await verifyOtp(t, { verificationId, phoneNumber: phone, code });
      expect(afterwards.status).toBe(429);
      expect(reportsFor(t.emulator, sinchId)).toHaveLength(5);
    },
  );
});

describe.each([
  ['200 FAIL "Invalid code"', 'fail' as const],
  ['400 errorCode 40003', '40003' as const],
])('POST /api/verify-otp when Sinch answers a wrong code with %s', (_style, wrongCodeById) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ emulator: { wrongCodeById } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the code is wrong, then 400 INVALID_CODE and attemptsRemaining drops with each try', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);

    const first = await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });
    const second = await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });

    for (const [res, attemptsRemaining] of [
      [first, 4],
      [second, 3],
    ] as const) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 'error',
        code: 'INVALID_CODE',
        message: expect.stringContaining(String(attemptsRemaining)),
        requestId: res.headers['x-request-id'],
        details: [{ field: 'code', attemptsRemaining, method: 'sms' }],
      });
    }
    const reports = reportsFor(t.emulator, sinchId);
    expect(reports.map((r) => r.status)).toEqual(wrongCodeById === 'fail' ? [200, 200] : [400, 400]);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'PENDING', attempts: 2 });
  });

  test('When the right code follows a wrong one, then it verifies', async () => {
    const { phone, verificationId, code } = await requestCode(t);
    await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });

    const res = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect(res.status).toBe(200);
    expect(await verificationRow(t, verificationId)).toMatchObject({ status: 'SUCCESSFUL', attempts: 2 });
  });
});

describe('POST /api/verify-otp with OTP_MAX_ATTEMPTS=2', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_MAX_ATTEMPTS: '2' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When 2 wrong codes were given, then the third try is 429 TOO_MANY_ATTEMPTS with maxAttempts 2', async () => {
    const { phone, verificationId, sinchId, code } = await requestCode(t);
    const first = await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });
    const second = await verifyOtp(t, { verificationId, phoneNumber: phone, code: wrongCode(code) });

    const third = await verifyOtp(t, { verificationId, phoneNumber: phone, code });

    expect([first.body.details, second.body.details]).toEqual([
      [{ field: 'code', attemptsRemaining: 1, method: 'sms' }],
      [{ field: 'code', attemptsRemaining: 0, method: 'sms' }],
    ]);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({
      code: 'TOO_MANY_ATTEMPTS',
      details: [expect.objectContaining({ maxAttempts: 2, attemptsRemaining: 0 })],
    });
    expect(reportsFor(t.emulator, sinchId)).toHaveLength(2);
    expect(await verificationRow(t, verificationId)).toMatchObject({ attempts: 2 });
  });
});

describe('POST /api/verify-otp: the verificationId binds the attempt to whoever requested the code', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When verificationId is missing, then 400 VALIDATION_ERROR names it and says how to enable the phone-number form', async () => {
    const { phone, code, sinchId } = await requestCode(t);

    const res = await verifyOtp(t, { phoneNumber: phone, code });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      code: 'VALIDATION_ERROR',
      message: expect.any(String),
      requestId: res.headers['x-request-id'],
      details: [{ field: 'verificationId', message: expect.stringContaining('VERIFY_BY_PHONE_NUMBER=true') }],
    });
    expect(reportsFor(t.emulator, sinchId)).toEqual([]);
  });

  test('When only the verificationId and the code are sent, then the code verifies (phoneNumber is optional)', async () => {
    const { phone, verificationId, code } = await requestCode(t);

    const res = await verifyOtp(t, { verificationId, code });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ verificationId, phoneNumber: phone, verified: true });
  });

  test("When a stranger tries a code without the matching verificationId, then every answer is the same 404 whatever the number's state, and nothing is consumed", async () => {
    const neverUsed = uniquePhone();
    const pending = await requestCode(t);
    const verified = await requestCode(t);
    expect((await verifyOtp(t, { verificationId: verified.verificationId, code: verified.code })).status).toBe(200);
    const another = await requestCode(t);
    const purged = await requestCode(t);
    // What the retention purge does to an old verification.
    await t.sequelize.query('DELETE FROM "Verifications" WHERE "id" = $1', { bind: [purged.verificationId] });
    const sinchCallsBefore = t.emulator.requests.length;
    const usersBefore = await t.models.User.findAll({
      where: { phoneNumber: [pending.phone, verified.phone, another.phone] },
    });

    const attempts = [
      { verificationId: randomUUID(), phoneNumber: neverUsed, code: '123456' },
      { verificationId: randomUUID(), phoneNumber: pending.phone, code: pending.code },
      { verificationId: randomUUID(), phoneNumber: verified.phone, code: '123456' },
      { verificationId: another.verificationId, phoneNumber: pending.phone, code: another.code },
      { verificationId: another.verificationId, phoneNumber: verified.phone, code: '123456' },
      { verificationId: another.verificationId, phoneNumber: neverUsed, code: another.code },
      { verificationId: purged.verificationId, code: purged.code },
      { verificationId: purged.verificationId, phoneNumber: purged.phone, code: purged.code },
    ];
    const answers = [];
    for (const body of attempts) answers.push(await verifyOtp(t, body));

    const [first] = answers;
    expect(first!.status).toBe(404);
    expect(first!.body).toEqual({
      status: 'error',
      code: 'VERIFICATION_NOT_FOUND',
      message: expect.any(String),
      requestId: first!.headers['x-request-id'],
    });
    const expected = { ...first!.body, requestId: undefined };
    for (const answer of answers) {
      expect(answer.body.requestId).toBe(answer.headers['x-request-id']);
      expect({ status: answer.status, body: { ...answer.body, requestId: undefined } }).toEqual({
        status: 404,
        body: expected,
      });
      expect(answer.headers['retry-after']).toBeUndefined();
      // Only the per-IP limiter speaks: nothing about the number or a verification.
      expect(Object.keys(rateLimitFields(answer.headers.ratelimit))).toEqual(['ip-verify-otp']);
    }
    expect(t.emulator.requests).toHaveLength(sinchCallsBefore);
    expect(await verificationRow(t, pending.verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(await verificationRow(t, another.verificationId)).toMatchObject({ status: 'PENDING', attempts: 0 });
    const usersAfter = await t.models.User.findAll({
      where: { phoneNumber: [pending.phone, verified.phone, another.phone] },
    });
    expect(usersAfter.map((u) => [u.phoneNumber, u.otpFailureTimes])).toEqual(
      usersBefore.map((u) => [u.phoneNumber, u.otpFailureTimes]),
    );
    expect(await t.models.User.findOne({ where: { phoneNumber: neverUsed } })).toBeNull();
    // The holder still verifies with every attempt left.
    const holder = await verifyOtp(t, { verificationId: pending.verificationId, code: pending.code });
    expect(holder.status).toBe(200);
  });

  test('When the holder of the verificationId tries a wrong code, then the answer is detailed (attemptsRemaining)', async () => {
    const { verificationId, code } = await requestCode(t);

    const res = await verifyOtp(t, { verificationId, code: wrongCode(code) });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_CODE', details: [{ field: 'code', attemptsRemaining: 4 }] });
  });
});

describe('POST /api/verify-otp: guessing verificationIds is throttled by the per-IP limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '3' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When unknown ids are tried past the per-IP verify limit, then 429 RATE_LIMITED', async () => {
    for (let i = 0; i < 3; i += 1) {
      expect((await verifyOtp(t, { verificationId: randomUUID(), code: '123456' })).status).toBe(404);
    }

    const res = await verifyOtp(t, { verificationId: randomUUID(), code: '123456' });

    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-verify-otp', quota: 3 }] });
  });
});

describe('POST /api/verify-otp with VERIFY_BY_PHONE_NUMBER=true (the phone-only form)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { VERIFY_BY_PHONE_NUMBER: 'true' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test("When {phoneNumber, code} is sent, then the number's latest verification is checked", async () => {
    const { phone, verificationId, code } = await requestCode(t);

    const res = await verifyOtp(t, { phoneNumber: phone, code });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ verificationId, phoneNumber: phone, verified: true });
  });

  test('When neither verificationId nor phoneNumber is sent, then 400 VALIDATION_ERROR names phoneNumber', async () => {
    const res = await verifyOtp(t, { code: '123456' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'phoneNumber' }] });
  });

  test("When a stranger guesses by number, then the answers differ by the number's state: what this mode gives up", async () => {
    const pending = await requestCode(t);

    const unknown = await verifyOtp(t, { phoneNumber: uniquePhone(), code: '123456' });
    const guessed = await verifyOtp(t, { phoneNumber: pending.phone, code: wrongCode(pending.code) });

    expect(unknown.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
    expect(guessed.body).toMatchObject({ code: 'INVALID_CODE', details: [{ attemptsRemaining: 4 }] });
  });

  test('When two codes were requested in the same millisecond, then the newer code verifies without a verificationId', async () => {
    const older = await requestCode(t);
    const newer = await requestCode(t, older.phone);

    const res = await verifyOtp(t, { phoneNumber: older.phone, code: newer.code });

    expect(res.status).toBe(200);
    expect(await verificationRow(t, newer.verificationId)).toMatchObject({ status: 'SUCCESSFUL' });
    expect(await verificationRow(t, older.verificationId)).toMatchObject({ status: 'ABORTED' });
  });

  test('When codes share a millisecond and the older row lies later on disk, then the newer code still verifies', async () => {
    const older = await requestCode(t);
    const newer = await requestCode(t, older.phone);
    // Non-HOT updates (an indexed column changes and changes back) give the older row new index
    // entries behind the newer one's, as PostgreSQL does by itself when a page is full.
    await t.sequelize.query(`UPDATE "Verifications" SET "createdAt" = "createdAt" + interval '1 ms' WHERE "id" = $1`, {
      bind: [older.verificationId],
    });
    await t.sequelize.query(`UPDATE "Verifications" SET "createdAt" = "createdAt" - interval '1 ms' WHERE "id" = $1`, {
      bind: [older.verificationId],
    });

    const res = await verifyOtp(t, { phoneNumber: older.phone, code: newer.code });

    expect(res.status).toBe(200);
    expect(await verificationRow(t, newer.verificationId)).toMatchObject({ status: 'SUCCESSFUL' });
    expect(reportsFor(t.emulator, older.sinchId)).toEqual([]);
  });

  test('When codes share a millisecond and the newer one was verified, then verifying again is 409 ALREADY_VERIFIED, not 404', async () => {
    const older = await requestCode(t);
    const newer = await requestCode(t, older.phone);
    expect((await verifyOtp(t, { phoneNumber: older.phone, code: newer.code })).status).toBe(200);
    await t.sequelize.query(`UPDATE "Verifications" SET "createdAt" = "createdAt" + interval '1 ms' WHERE "id" = $1`, {
      bind: [older.verificationId],
    });
    await t.sequelize.query(`UPDATE "Verifications" SET "createdAt" = "createdAt" - interval '1 ms' WHERE "id" = $1`, {
      bind: [older.verificationId],
    });

    const res = await verifyOtp(t, { phoneNumber: older.phone, code: newer.code });

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'ALREADY_VERIFIED' });
  });
});
