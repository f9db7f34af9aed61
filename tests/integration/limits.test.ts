import { serverOnlyTest } from '../helpers/database';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import { uniquePhone } from '../factories/phone.factory';
import {
  isolateMinute,
  rateLimitFields,
  requestCode,
  requestOtp,
  reportsFor,
  rowsFor,
  startsFor,
  verifyOtp,
  wrongCode,
} from '../helpers/otp-flow';
import {
  adminClient,
  connectTestRedis,
  describeWithRedis,
  uniqueRedisPrefix,
  whenReady,
  type TestRedisConnection,
} from '../helpers/redis';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

describe('Documented defaults of every limit', () => {
  test('When no limit is configured, then cooldown 30 s, 5/hour and 10/day per number, 20/hour and 60/hour per IP, 100/minute globally, 10 failures/hour, 5 attempts', () => {
    const config = loadConfig({ SINCH_APPLICATION_KEY: SINCH_KEY, SINCH_APPLICATION_SECRET: SINCH_SECRET });

    expect(config.otp).toMatchObject({
      resendCooldownSeconds: 30,
      maxSendsPerNumberHour: 5,
      maxSendsPerNumberDay: 10,
      maxFailuresPerNumberHour: 10,
      globalSendsPerMinute: 100,
      maxAttempts: 5,
      idempotencyTtlSeconds: 600,
    });
    expect(config.rateLimit).toMatchObject({ requestOtpPerIpHour: 20, verifyOtpPerIpHour: 60 });
    expect(config.server.trustProxy).toBe(false);
  });
});

describe('Resend cooldown per number (OTP_RESEND_COOLDOWN_SECONDS=30)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_RESEND_COOLDOWN_SECONDS: '30' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test("When a code is sent, then resendAvailableAt is the verification's createdAt plus the cooldown", async () => {
    const phone = uniquePhone();

    const res = await requestOtp(t, phone);

    expect(res.status).toBe(200);
    const { verifications } = await rowsFor(t, phone);
    expect(verifications).toHaveLength(1);
    const createdAt = new Date(verifications[0]!.createdAt).getTime();
    expect(res.body).toMatchObject({
      status: 'success',
      data: { resendAvailableAt: new Date(createdAt + 30 * SECOND).toISOString() },
    });
  });

  test('When a second code is requested 29 s later, then 429 RATE_LIMITED with Retry-After 1, RateLimit headers, and Sinch is not asked again', async () => {
    const phone = uniquePhone();
    await requestOtp(t, phone);
    t.clock.advance(29 * SECOND);

    const res = await requestOtp(t, phone);

    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      status: 'error',
      code: 'RATE_LIMITED',
      message: 'A code was just sent to this number. You can request a new one in 1 s.',
      requestId: res.headers['x-request-id'],
      details: [{ limit: 'number_cooldown', retryAfterSeconds: 1, quota: 1, windowSeconds: 30 }],
    });
    expect(res.headers['retry-after']).toBe('1');
    expect(rateLimitFields(res.headers.ratelimit)['number-cooldown']).toEqual({ r: '0', t: '1' });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['number-cooldown']).toEqual({ q: '1', w: '30' });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    const { user, verifications } = await rowsFor(t, phone);
    expect(verifications).toHaveLength(1);
    expect(user?.otpSendTimes).toHaveLength(1);
  });

  test('When the next code is requested exactly at resendAvailableAt, then it is sent', async () => {
    const phone = uniquePhone();
    const first = await requestOtp(t, phone);
    t.clock.advance(new Date(first.body.data.resendAvailableAt as string).getTime() - t.clock.now());

    const res = await requestOtp(t, phone);

    expect(res.status).toBe(200);
    expect(res.body.data.verificationId).not.toBe(first.body.data.verificationId);
    expect(startsFor(t.emulator, phone)).toHaveLength(2);
    const { verifications } = await rowsFor(t, phone);
    expect(verifications.map((v) => v.status)).toEqual(['ABORTED', 'PENDING']);
  });

  serverOnlyTest(
    'When the same number is requested twice at once (a double click), then one code is sent and the other gets 429',
    async () => {
      const phone = uniquePhone();

      const responses = await Promise.all([requestOtp(t, phone), requestOtp(t, phone)]);

      expect(responses.map((r) => r.status).sort()).toEqual([200, 429]);
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
    },
  );
});

describe('Resend cooldown disabled (OTP_RESEND_COOLDOWN_SECONDS=0)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_RESEND_COOLDOWN_SECONDS: '0' } });
  });

  afterAll(async () => {
    await t.close();
  });

  serverOnlyTest(
    'When a second code is requested at once, then it is sent and resendAvailableAt is createdAt itself',
    async () => {
      const phone = uniquePhone();
      const now = new Date(t.clock.now()).toISOString();

      const first = await requestOtp(t, phone);
      const second = await requestOtp(t, phone);

      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(second.body.data).toMatchObject({ resendAvailableAt: now });
      expect(startsFor(t.emulator, phone)).toHaveLength(2);
    },
  );
});

describe('Sends per number per hour and per day (5/hour, 10/day, cooldown 30 s)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        OTP_RESEND_COOLDOWN_SECONDS: '30',
        OTP_MAX_SENDS_PER_NUMBER_HOUR: '5',
        OTP_MAX_SENDS_PER_NUMBER_DAY: '10',
      },
    });
  });

  afterAll(async () => {
    await t.close();
  });

  async function sendEveryMinute(phone: string, count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      const res = await requestOtp(t, phone);
      expect(res.status).toBe(200);
      t.clock.advance(MINUTE);
    }
  }

  test('When a 6th code is requested within the hour, then 429 RATE_LIMITED number_hour until the first send leaves the window', async () => {
    const phone = uniquePhone();
    const firstAt = t.clock.now();
    await sendEveryMinute(phone, 5);

    const refused = await requestOtp(t, phone);

    const retryAfter = (firstAt + HOUR - t.clock.now()) / SECOND;
    expect(retryAfter).toBe(3300);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 'error',
      code: 'RATE_LIMITED',
      message: `Too many codes were sent to this number in the last hour. Try again in ${retryAfter} s.`,
      details: [{ limit: 'number_hour', retryAfterSeconds: retryAfter, quota: 5, windowSeconds: 3600 }],
    });
    expect(refused.headers['retry-after']).toBe(String(retryAfter));
    expect(rateLimitFields(refused.headers.ratelimit)['number-hour']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(refused.headers['ratelimit-policy'])['number-hour']).toEqual({ q: '5', w: '3600' });
    expect(startsFor(t.emulator, phone)).toHaveLength(5);

    t.clock.advance(retryAfter * SECOND - 1);
    expect((await requestOtp(t, phone)).status).toBe(429);
    t.clock.advance(1);
    const after = await requestOtp(t, phone);

    expect(after.status).toBe(200);
    expect(startsFor(t.emulator, phone)).toHaveLength(6);
  });

  test('When an 11th code is requested within 24 h (spread over hours), then 429 RATE_LIMITED number_day until the first send is a day old', async () => {
    const phone = uniquePhone();
    const firstAt = t.clock.now();
    await sendEveryMinute(phone, 5);
    t.clock.advance(2 * HOUR);
    await sendEveryMinute(phone, 5);
    t.clock.advance(2 * HOUR);

    const refused = await requestOtp(t, phone);

    const retryAfter = (firstAt + 24 * HOUR - t.clock.now()) / SECOND;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'RATE_LIMITED',
      message: `Too many codes were sent to this number today. Try again in ${retryAfter} s.`,
      details: [{ limit: 'number_day', retryAfterSeconds: retryAfter, quota: 10, windowSeconds: 86_400 }],
    });
    expect(refused.headers['retry-after']).toBe(String(retryAfter));
    expect(rateLimitFields(refused.headers.ratelimit)['number-day']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(refused.headers['ratelimit-policy'])['number-day']).toEqual({ q: '10', w: '86400' });
    expect(startsFor(t.emulator, phone)).toHaveLength(10);

    t.clock.advance(retryAfter * SECOND);
    const after = await requestOtp(t, phone);

    expect(after.status).toBe(200);
    expect(startsFor(t.emulator, phone)).toHaveLength(11);
  });

  test('When a number is at its hourly limit, then another number is not affected', async () => {
    const limited = uniquePhone();
    await sendEveryMinute(limited, 5);
    expect((await requestOtp(t, limited)).status).toBe(429);

    const res = await requestOtp(t, uniquePhone());

    expect(res.status).toBe(200);
  });
});

describe('Global send ceiling (OTP_GLOBAL_SENDS_PER_MINUTE=3)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_GLOBAL_SENDS_PER_MINUTE: '3' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a 4th code is requested in the same minute, then 503 SEND_CAPACITY_EXCEEDED with Retry-After to the next minute, an error log line, and nothing sent', async () => {
    const minuteStart = isolateMinute(t.clock) - SECOND;
    const sent = [uniquePhone(), uniquePhone(), uniquePhone()];
    for (const phone of sent) expect((await requestOtp(t, phone)).status).toBe(200);
    t.clock.advance(20 * SECOND);
    const phone = uniquePhone();

    const res = await requestOtp(t, phone);

    const retryAfter = (minuteStart + MINUTE - t.clock.now()) / SECOND;
    expect(retryAfter).toBe(39);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'error',
      code: 'SEND_CAPACITY_EXCEEDED',
      message: 'The service is sending too many codes right now. Try again shortly.',
      requestId: res.headers['x-request-id'],
      details: [{ limit: 'global_minute', retryAfterSeconds: retryAfter, quota: 3, windowSeconds: 60 }],
    });
    expect(res.headers['retry-after']).toBe(String(retryAfter));
    expect(rateLimitFields(res.headers.ratelimit)['global-minute']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['global-minute']).toEqual({ q: '3', w: '60' });
    expect(startsFor(t.emulator, phone)).toHaveLength(0);
    const { user, verifications } = await rowsFor(t, phone);
    expect(verifications).toHaveLength(0);
    // The refused send is given back: it does not count against the number's own limits.
    expect(user?.otpSendTimes ?? []).toHaveLength(0);
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'Global send ceiling reached: refusing to send codes (possible SMS pumping)',
        ceilingPerMinute: 3,
      }),
    );

    // More refusals in the same minute (an attack in progress) do not repeat the error line.
    const alerts = () =>
      t.logs
        .entries()
        .filter((e) => e.message === 'Global send ceiling reached: refusing to send codes (possible SMS pumping)')
        .length;
    const before = alerts();
    for (let i = 0; i < 3; i += 1) expect((await requestOtp(t, uniquePhone())).status).toBe(503);
    expect(alerts()).toBe(before);
  });

  test('When Sinch answers starts with errors (nothing sent), then they do not use up the ceiling', async () => {
    isolateMinute(t.clock);
    t.emulator.injectFault('start', { kind: 'status', status: 503 }, 3);
    for (let i = 0; i < 3; i += 1)
      expect((await requestOtp(t, uniquePhone())).body.code).toBe('SMS_PROVIDER_UNAVAILABLE');

    const sent = [
      await requestOtp(t, uniquePhone()),
      await requestOtp(t, uniquePhone()),
      await requestOtp(t, uniquePhone()),
    ];
    const over = await requestOtp(t, uniquePhone());

    expect(sent.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(over.status).toBe(503);
    expect(over.body).toMatchObject({ code: 'SEND_CAPACITY_EXCEEDED' });
  });

  test('When the next minute starts, then codes are sent again', async () => {
    isolateMinute(t.clock);
    for (let i = 0; i < 3; i += 1) expect((await requestOtp(t, uniquePhone())).status).toBe(200);
    expect((await requestOtp(t, uniquePhone())).status).toBe(503);
    t.clock.advance(MINUTE - SECOND);
    const phone = uniquePhone();

    const res = await requestOtp(t, phone);

    expect(res.status).toBe(200);
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });
});

describe('Failure budget per number across resends (OTP_MAX_ATTEMPTS=3, OTP_MAX_FAILURES_PER_NUMBER_HOUR=5)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_MAX_ATTEMPTS: '3', OTP_MAX_FAILURES_PER_NUMBER_HOUR: '5' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a new code is requested after wrong guesses, then the budget is NOT reset and the 6th guess gets 429 TOO_MANY_ATTEMPTS with Retry-After, even with the right code', async () => {
    const phone = uniquePhone();
    const firstFailureAt = t.clock.now();
    const first = await requestCode(t, phone);
    for (let i = 0; i < 3; i += 1) {
      expect(
        (await verifyOtp(t, { verificationId: first.verificationId, phoneNumber: phone, code: wrongCode(first.code) }))
          .status,
      ).toBe(400);
      t.clock.advance(MINUTE);
    }
    const second = await requestCode(t, phone);
    for (let i = 0; i < 2; i += 1) {
      expect(
        (
          await verifyOtp(t, {
            verificationId: second.verificationId,
            phoneNumber: phone,
            code: wrongCode(second.code),
          })
        ).body.code,
      ).toBe('INVALID_CODE');
      t.clock.advance(MINUTE);
    }

    const res = await verifyOtp(t, { verificationId: second.verificationId, phoneNumber: phone, code: second.code });

    const retryAfter = (firstFailureAt + HOUR - t.clock.now()) / SECOND;
    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      status: 'error',
      code: 'TOO_MANY_ATTEMPTS',
      message: `Too many wrong codes for this number in the last hour. Try again in ${retryAfter} s.`,
      requestId: res.headers['x-request-id'],
      details: [{ reason: 'failure_budget_exhausted', retryAfterSeconds: retryAfter }],
    });
    expect(res.headers['retry-after']).toBe(String(retryAfter));
    expect(rateLimitFields(res.headers.ratelimit)['number-failures']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['number-failures']).toEqual({ q: '5', w: '3600' });
    expect(reportsFor(t.emulator, second.sinchId)).toHaveLength(2);
    const { user, verifications } = await rowsFor(t, phone);
    expect(user).toMatchObject({ isVerified: false });
    expect(user?.otpFailureTimes).toHaveLength(5);
    expect(verifications.at(-1)).toMatchObject({ id: second.verificationId, status: 'PENDING', attempts: 2 });
  });

  test('When the oldest failure leaves the hour window, then the number may verify again', async () => {
    const phone = uniquePhone();
    const firstFailureAt = t.clock.now();
    const first = await requestCode(t, phone);
    for (let i = 0; i < 3; i += 1)
      await verifyOtp(t, { verificationId: first.verificationId, phoneNumber: phone, code: wrongCode(first.code) });
    const second = await requestCode(t, phone);
    for (let i = 0; i < 2; i += 1)
      await verifyOtp(t, { verificationId: second.verificationId, phoneNumber: phone, code: wrongCode(second.code) });
    expect(
      (await verifyOtp(t, { verificationId: second.verificationId, phoneNumber: phone, code: second.code })).status,
    ).toBe(429);
    t.clock.advance(firstFailureAt + HOUR - t.clock.now());
    const third = await requestCode(t, phone);

    const res = await verifyOtp(t, { verificationId: third.verificationId, phoneNumber: phone, code: third.code });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', data: { phoneNumber: phone, verified: true } });
    expect((await rowsFor(t, phone)).user).toMatchObject({ isVerified: true });
  });

  test('When a number is over its failure budget, then another number still verifies', async () => {
    const blocked = uniquePhone();
    for (let round = 0; round < 2; round += 1) {
      const sent = await requestCode(t, blocked);
      for (let i = 0; i < 3; i += 1)
        await verifyOtp(t, { verificationId: sent.verificationId, phoneNumber: blocked, code: wrongCode(sent.code) });
    }
    const other = await requestCode(t, uniquePhone());

    const res = await verifyOtp(t, {
      verificationId: other.verificationId,
      phoneNumber: other.phone,
      code: other.code,
    });

    expect(res.status).toBe(200);
  });
});

describe('Per-IP limit on request-otp (RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR=3, in memory)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '3' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a 4th request comes from one address within the hour, then 429 RATE_LIMITED with Retry-After and RateLimit headers, and nothing is sent or stored', async () => {
    const allowed = [];
    for (let i = 0; i < 3; i += 1) allowed.push(await requestOtp(t, uniquePhone()));
    const phone = uniquePhone();

    const res = await requestOtp(t, phone);

    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(allowed.map((r) => rateLimitFields(r.headers.ratelimit)['ip-request-otp']?.r)).toEqual(['2', '1', '0']);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/^Too many code requests from this network\. Try again in \d+ s\.$/),
      requestId: res.headers['x-request-id'],
      details: [{ limit: 'ip-request-otp', quota: 3, windowSeconds: 3600, retryAfterSeconds: expect.any(Number) }],
    });
    // The window is one hour of real time: the reset is (almost) a whole hour away.
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(rateLimitFields(res.headers.ratelimit)['ip-request-otp']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['ip-request-otp']).toMatchObject({ q: '3', w: '3600' });
    expect(startsFor(t.emulator, phone)).toHaveLength(0);
    expect(await rowsFor(t, phone)).toEqual({ user: undefined, verifications: [] });
  });

  test('When request-otp is exhausted for an address, then verify-otp has its own budget', async () => {
    const res = await verifyOtp(t, { verificationId: randomUUID(), phoneNumber: uniquePhone(), code: '123456' });

    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['ip-verify-otp']).toMatchObject({ w: '3600' });
  });
});

describe('Per-IP limit on verify-otp (RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR=3, in memory)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '3' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a 4th verify call comes from one address within the hour, then 429 RATE_LIMITED before anything reaches Sinch, even with the right code', async () => {
    const sent = await requestCode(t, uniquePhone());
    for (let i = 0; i < 3; i += 1)
      await verifyOtp(t, { verificationId: sent.verificationId, phoneNumber: sent.phone, code: wrongCode(sent.code) });

    const res = await verifyOtp(t, { verificationId: sent.verificationId, phoneNumber: sent.phone, code: sent.code });

    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/^Too many verification attempts from this network\. Try again in \d+ s\.$/),
      details: [{ limit: 'ip-verify-otp', quota: 3, windowSeconds: 3600 }],
    });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(rateLimitFields(res.headers.ratelimit)['ip-verify-otp']).toEqual({ r: '0', t: String(retryAfter) });
    expect(rateLimitFields(res.headers['ratelimit-policy'])['ip-verify-otp']).toMatchObject({ q: '3', w: '3600' });
    expect(reportsFor(t.emulator, sent.sinchId)).toHaveLength(3);
    expect((await rowsFor(t, sent.phone)).verifications[0]).toMatchObject({ status: 'PENDING', attempts: 3 });
  });
});

describeWithRedis(
  'Per-IP windows with Redis (RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR=2, RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR=2)',
  () => {
    let t: TestApp;
    let redis: TestRedisConnection;
    let admin: Awaited<ReturnType<typeof adminClient>>;
    const prefix = uniqueRedisPrefix('limits');

    beforeAll(async () => {
      redis = connectTestRedis();
      await whenReady(redis.connection);
      admin = await adminClient();
      t = await createTestApp({
        env: {
          RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '2',
          RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '2',
          REDIS_KEY_PREFIX: prefix,
        },
        redis: redis.connection,
      });
    });

    afterAll(async () => {
      await t.close();
      await admin.deleteAll(prefix);
      admin.close();
      await redis.connection.close();
    });

    // express-rate-limit's window is one hour of wall-clock time, which no fake clock moves. With
    // Redis the window IS the counter key's time to live: the test checks that TTL is the hour, then
    // shortens it so Redis itself expires the key, and shows the next request starts a fresh window.
    test('When the hour is over (the counter key expires in Redis), then the address may request codes again', async () => {
      expect((await requestOtp(t, uniquePhone())).status).toBe(200);
      expect((await requestOtp(t, uniquePhone())).status).toBe(200);
      expect((await requestOtp(t, uniquePhone())).status).toBe(429);
      const keys = await admin.keys(`${prefix}rl:ip-request-otp:`);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ value: '3' });
      expect(keys[0]!.pttl).toBeGreaterThan(HOUR - MINUTE);
      expect(keys[0]!.pttl).toBeLessThanOrEqual(HOUR);

      await admin.pexpire(keys[0]!.key, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const phone = uniquePhone();
      const res = await requestOtp(t, phone);

      expect(res.status).toBe(200);
      expect(rateLimitFields(res.headers.ratelimit)['ip-request-otp']).toEqual({ r: '1', t: '3600' });
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
      expect(await admin.keys(`${prefix}rl:ip-request-otp:`)).toEqual([expect.objectContaining({ value: '1' })]);
    });

    test('When the hour is over for verify-otp, then the address may check codes again', async () => {
      const body = { verificationId: randomUUID(), phoneNumber: uniquePhone(), code: '123456' };
      expect((await verifyOtp(t, body)).status).toBe(404);
      expect((await verifyOtp(t, body)).status).toBe(404);
      const refused = await verifyOtp(t, body);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-verify-otp' }] });
      const keys = await admin.keys(`${prefix}rl:ip-verify-otp:`);
      expect(keys).toEqual([expect.objectContaining({ value: '3' })]);
      expect(keys[0]!.pttl).toBeGreaterThan(HOUR - MINUTE);

      await admin.pexpire(keys[0]!.key, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const res = await verifyOtp(t, body);

      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
      expect(rateLimitFields(res.headers.ratelimit)['ip-verify-otp']).toEqual({ r: '1', t: '3600' });
    });
  },
);
