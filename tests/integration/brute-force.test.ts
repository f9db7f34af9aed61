import { serverOnlyTest } from '../helpers/database';
import { uniquePhone } from '../factories/phone.factory';
import { rateLimitFields, reportsFor, requestCode, rowsFor, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const MAX_ATTEMPTS = 5;

describe('Brute force on one number (OTP_MAX_ATTEMPTS=5, OTP_MAX_FAILURES_PER_NUMBER_HOUR=5)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_MAX_ATTEMPTS: String(MAX_ATTEMPTS), OTP_MAX_FAILURES_PER_NUMBER_HOUR: '5' } });
  });

  afterAll(async () => {
    await t.close();
  });

  serverOnlyTest(
    "When 50 wrong guesses arrive in parallel, at most 5 reach Sinch; then a NEW verification's right code is refused with 429 and nothing reaches Sinch",
    async () => {
      const first = await requestCode(t, uniquePhone());
      const phone = first.phone;

      const guesses = await Promise.all(
        Array.from({ length: 50 }, () =>
          verifyOtp(t, { verificationId: first.verificationId, phoneNumber: phone, code: wrongCode(first.code) }),
        ),
      );

      const byCode = guesses.reduce<Record<string, number>>(
        (acc, r) => ({ ...acc, [r.body.code as string]: (acc[r.body.code as string] ?? 0) + 1 }),
        {},
      );
      expect(byCode).toEqual({ INVALID_CODE: MAX_ATTEMPTS, TOO_MANY_ATTEMPTS: 50 - MAX_ATTEMPTS });
      expect(guesses.filter((r) => r.status === 429).every((r) => Number(r.headers['retry-after']) >= 1)).toBe(true);
      expect(reportsFor(t.emulator, first.sinchId)).toHaveLength(MAX_ATTEMPTS);
      expect((await rowsFor(t, phone)).verifications).toEqual([
        expect.objectContaining({ id: first.verificationId, status: 'FAILED', attempts: MAX_ATTEMPTS }),
      ]);

      const second = await requestCode(t, phone);
      const res = await verifyOtp(t, { verificationId: second.verificationId, phoneNumber: phone, code: second.code });

      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({
        status: 'error',
        code: 'TOO_MANY_ATTEMPTS',
        requestId: res.headers['x-request-id'],
        details: [{ reason: 'failure_budget_exhausted', retryAfterSeconds: 3600 }],
      });
      expect(res.headers['retry-after']).toBe('3600');
      expect(rateLimitFields(res.headers['ratelimit-policy'])['number-failures']).toEqual({ q: '5', w: '3600' });
      expect(reportsFor(t.emulator, second.sinchId)).toHaveLength(0);
      const { user, verifications } = await rowsFor(t, phone);
      expect(user).toMatchObject({ isVerified: false, verifiedAt: null });
      expect(user?.otpFailureTimes).toHaveLength(5);
      expect(verifications.find((v) => v.id === second.verificationId)).toMatchObject({
        status: 'PENDING',
        attempts: 0,
      });
    },
  );

  serverOnlyTest(
    'When the new verification is guessed at in parallel too, then still nothing reaches Sinch and its attempts stay 0',
    async () => {
      const first = await requestCode(t, uniquePhone());
      for (let i = 0; i < MAX_ATTEMPTS; i += 1)
        await verifyOtp(t, {
          verificationId: first.verificationId,
          phoneNumber: first.phone,
          code: wrongCode(first.code),
        });
      const second = await requestCode(t, first.phone);

      const guesses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          verifyOtp(t, {
            verificationId: second.verificationId,
            phoneNumber: first.phone,
            code: i === 0 ? second.code : wrongCode(second.code),
          }),
        ),
      );

      expect(new Set(guesses.map((r) => `${r.status} ${r.body.code as string}`))).toEqual(
        new Set(['429 TOO_MANY_ATTEMPTS']),
      );
      expect(reportsFor(t.emulator, second.sinchId)).toHaveLength(0);
      // Found by id: both codes were requested in the same fake-clock millisecond, so createdAt does not order them.
      expect((await rowsFor(t, first.phone)).verifications.find((v) => v.id === second.verificationId)).toMatchObject({
        status: 'PENDING',
        attempts: 0,
      });
    },
  );

  test('When the right code is given after 4 wrong ones, then it verifies and only the 4 wrong ones stay charged to the number', async () => {
    const sent = await requestCode(t, uniquePhone());
    for (let i = 0; i < 4; i += 1)
      expect(
        (
          await verifyOtp(t, {
            verificationId: sent.verificationId,
            phoneNumber: sent.phone,
            code: wrongCode(sent.code),
          })
        ).status,
      ).toBe(400);

    const res = await verifyOtp(t, { verificationId: sent.verificationId, phoneNumber: sent.phone, code: sent.code });

    expect(res.status).toBe(200);
    expect((await rowsFor(t, sent.phone)).user?.otpFailureTimes).toHaveLength(4);
  });

  test('When one number is guessed to exhaustion, then a different number keeps its whole budget', async () => {
    const attacked = await requestCode(t, uniquePhone());
    await Promise.all(
      Array.from({ length: 20 }, () =>
        verifyOtp(t, {
          verificationId: attacked.verificationId,
          phoneNumber: attacked.phone,
          code: wrongCode(attacked.code),
        }),
      ),
    );
    const other = await requestCode(t, uniquePhone());

    const wrong = await verifyOtp(t, {
      verificationId: other.verificationId,
      phoneNumber: other.phone,
      code: wrongCode(other.code),
    });

    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({
      code: 'INVALID_CODE',
      details: [{ field: 'code', attemptsRemaining: MAX_ATTEMPTS - 1 }],
    });
  });
});
