import { randomUUID } from 'node:crypto';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import request from 'supertest';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { FakeClock } from '../helpers/clock';
import { audit } from '../helpers/log-audit';
import { closedPort } from '../helpers/net';
import {
  isolateMinute,
  rateLimitFields,
  requestCode,
  requestOtp,
  rowsFor,
  startsFor,
  until,
  verifyOtp,
  wrongCode,
} from '../helpers/otp-flow';
import {
  adminClient,
  connectTestRedis,
  describeWithRedis,
  TEST_REDIS_URL,
  uniqueRedisPrefix,
  whenReady,
  type TestRedisConnection,
} from '../helpers/redis';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

const SECOND = 1000;

interface Instances {
  a: TestApp;
  b: TestApp;
  emulator: SinchEmulator;
  prefix: string;
  /** Moves both instances' clocks and the shared emulator's by the same amount. */
  advance(ms: number): void;
  isolateMinute(): void;
  close(): Promise<void>;
}

/**
 * Two instances of the service as a deployment runs them: one database, one Sinch, one Redis,
 * the same REDIS_KEY_PREFIX, and each its own Redis connection, pool and in-process state.
 */
async function twoInstances(env: Record<string, string>): Promise<Instances> {
  const emulatorClock = new FakeClock();
  const emulator = await createSinchEmulator({
    applicationKey: SINCH_KEY,
    applicationSecret: SINCH_SECRET,
    now: emulatorClock.now,
    codeLength: 6,
    onMessage: (message) => audit.forbidden(message.code),
  });
  const prefix = uniqueRedisPrefix('multi');
  const connections: TestRedisConnection[] = [connectTestRedis(), connectTestRedis()];
  await Promise.all(connections.map((c) => whenReady(c.connection)));
  const [a, b] = (await Promise.all(
    connections.map((c) =>
      createTestApp({ env: { ...env, REDIS_KEY_PREFIX: prefix }, sharedEmulator: emulator, redis: c.connection }),
    ),
  )) as [TestApp, TestApp];
  // One "now" for everything, as synchronised servers have: the apps' clocks were made a few ms apart.
  const now = Math.max(a.clock.now(), b.clock.now(), emulatorClock.now());
  for (const clock of [a.clock, b.clock, emulatorClock]) clock.advance(now - clock.now());
  return {
    a,
    b,
    emulator,
    prefix,
    advance(ms) {
      for (const clock of [a.clock, b.clock, emulatorClock]) clock.advance(ms);
    },
    isolateMinute() {
      isolateMinute(a.clock, b.clock, emulatorClock);
    },
    async close() {
      await Promise.all([a.close(), b.close()]);
      for (const c of connections) await c.connection.close();
      const admin = await adminClient();
      await admin.deleteAll(prefix);
      admin.close();
      await emulator.close();
    },
  };
}

describeWithRedis('Two instances sharing one Redis: per-IP limits (request-otp 4/hour, verify-otp 2/hour)', () => {
  let i: Instances;

  beforeAll(async () => {
    i = await twoInstances({ RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '4', RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '2' });
  });

  afterAll(async () => {
    await i.close();
  });

  test('When requests from one address alternate between the instances, then they draw on ONE budget and both refuse the 5th and 6th', async () => {
    const served = [await requestOtp(i.a), await requestOtp(i.b), await requestOtp(i.a), await requestOtp(i.b)];
    const phone = uniquePhone();

    const refusedByA = await requestOtp(i.a, phone);
    const refusedByB = await requestOtp(i.b, phone);

    expect(served.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(served.map((r) => rateLimitFields(r.headers.ratelimit)['ip-request-otp']?.r)).toEqual(['3', '2', '1', '0']);
    for (const res of [refusedByA, refusedByB]) {
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({
        status: 'error',
        code: 'RATE_LIMITED',
        details: [{ limit: 'ip-request-otp', quota: 4 }],
      });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(3500);
    }
    expect(startsFor(i.emulator, phone)).toHaveLength(0);
    const admin = await adminClient();
    try {
      expect(await admin.keys(`${i.prefix}rl:ip-request-otp:`)).toEqual([expect.objectContaining({ value: '6' })]);
    } finally {
      admin.close();
    }
  });

  test('When verify calls alternate between the instances, then the third is refused', async () => {
    const phone = uniquePhone();
    const statuses = [
      (await verifyOtp(i.a, { verificationId: randomUUID(), phoneNumber: phone, code: '123456' })).status,
      (await verifyOtp(i.b, { verificationId: randomUUID(), phoneNumber: phone, code: '123456' })).status,
    ];

    const res = await verifyOtp(i.a, { verificationId: randomUUID(), phoneNumber: phone, code: '123456' });

    expect(statuses).toEqual([404, 404]);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-verify-otp', quota: 2 }] });
  });
});

describeWithRedis(
  'Two instances sharing one database: per-number limits (cooldown 30 s, 3/hour, failure budget 3/hour)',
  () => {
    let i: Instances;

    beforeAll(async () => {
      i = await twoInstances({
        OTP_RESEND_COOLDOWN_SECONDS: '30',
        OTP_MAX_SENDS_PER_NUMBER_HOUR: '3',
        OTP_MAX_FAILURES_PER_NUMBER_HOUR: '3',
      });
    });

    afterAll(async () => {
      await i.close();
    });

    test('When one number asks instance A and then instance B, then the cooldown and the hourly limit hold across both', async () => {
      const phone = uniquePhone();
      expect((await requestOtp(i.a, phone)).status).toBe(200);

      const cooldown = await requestOtp(i.b, phone);
      i.advance(30 * SECOND);
      const afterCooldown = await requestOtp(i.b, phone);
      i.advance(30 * SECOND);
      const third = await requestOtp(i.a, phone);
      i.advance(30 * SECOND);
      const overHour = await requestOtp(i.b, phone);

      expect(cooldown.status).toBe(429);
      expect(cooldown.body).toMatchObject({
        code: 'RATE_LIMITED',
        details: [{ limit: 'number_cooldown', retryAfterSeconds: 30 }],
      });
      expect(afterCooldown.status).toBe(200);
      expect(third.status).toBe(200);
      expect(overHour.status).toBe(429);
      expect(overHour.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_hour', quota: 3 }] });
      expect(startsFor(i.emulator, phone)).toHaveLength(3);
      expect((await rowsFor(i.a, phone)).verifications.map((v) => v.status)).toEqual(['ABORTED', 'ABORTED', 'PENDING']);
    });

    test('When wrong codes are spread over both instances, then the failure budget counts them together', async () => {
      const sent = await requestCode(i.a, uniquePhone());
      await verifyOtp(i.a, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: wrongCode(sent.code),
      });
      await verifyOtp(i.b, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: wrongCode(sent.code),
      });
      await verifyOtp(i.a, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: wrongCode(sent.code),
      });

      const res = await verifyOtp(i.b, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: sent.code,
      });

      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', details: [{ reason: 'failure_budget_exhausted' }] });
    });

    test('When a code is sent by instance A, then instance B verifies it', async () => {
      const sent = await requestCode(i.a, uniquePhone());

      const res = await verifyOtp(i.b, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: sent.code,
      });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: 'success', data: { phoneNumber: sent.phone, verified: true } });
    });
  },
);

describeWithRedis('Two instances: the global send ceiling (OTP_GLOBAL_SENDS_PER_MINUTE=3)', () => {
  let i: Instances;

  beforeAll(async () => {
    i = await twoInstances({ OTP_GLOBAL_SENDS_PER_MINUTE: '3' });
  });

  afterAll(async () => {
    await i.close();
  });

  test('When sends alternate between the instances, then the 4th in the minute is refused by either', async () => {
    i.isolateMinute();
    const served = [await requestOtp(i.a), await requestOtp(i.b), await requestOtp(i.a)];

    const refused = [await requestOtp(i.b), await requestOtp(i.a)];

    expect(served.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(refused.map((r) => `${r.status} ${r.body.code as string}`)).toEqual([
      '503 SEND_CAPACITY_EXCEEDED',
      '503 SEND_CAPACITY_EXCEEDED',
    ]);
    expect(i.emulator.requests).toHaveLength(3);
  });
});

describe('Redis unreachable from the start (REDIS_URL points at a closed port)', () => {
  let t: TestApp;
  let redis: TestRedisConnection;

  beforeAll(async () => {
    redis = connectTestRedis(`redis://127.0.0.1:${await closedPort()}`);
    t = await createTestApp({
      env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '2', REDIS_KEY_PREFIX: uniqueRedisPrefix('down') },
      redis: redis.connection,
    });
  });

  afterAll(async () => {
    await t.close();
    await redis.connection.close();
  });

  test('When Redis cannot be reached, then the instance keeps serving and still enforces per-IP limits, counted in its own memory', async () => {
    const served = [await requestOtp(t), await requestOtp(t)];

    const refused = await requestOtp(t);

    expect(served.map((r) => r.status)).toEqual([200, 200]);
    expect(served.map((r) => rateLimitFields(r.headers.ratelimit)['ip-request-otp']?.r)).toEqual(['1', '0']);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-request-otp' }] });
  });

  test('When Redis stays unreachable through several reconnect attempts, then the fallback is logged once, as an error', async () => {
    // The client retries after 100, 200, 400 ms...: wait through a few attempts.
    await new Promise((resolve) => setTimeout(resolve, 800));
    await requestOtp(t);

    const fallback = redis.logs
      .entries()
      .filter((l) => typeof l.message === 'string' && l.message.startsWith('redis: unavailable'));

    expect(fallback).toEqual([
      expect.objectContaining({
        level: 'error',
        message: "redis: unavailable; per-IP limits fall back to this instance's memory until it returns",
        error: 'ECONNREFUSED',
      }),
    ]);
  });

  test('When Redis is down, then /health answers 200 DEGRADED with checks.redis DOWN and the fallback named', async () => {
    const res = await request(t.app).get('/health');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'DEGRADED',
      checks: { database: 'UP', redis: 'DOWN' },
      details: { redis: { fallback: expect.stringMatching(/memory/) } },
    });
  });
});

interface RedisProxy {
  url: string;
  /** Closes every connection and stops listening: Redis is unreachable. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Connections stay open but nothing gets through either way: Redis hangs. */
  freeze(frozen: boolean): void;
  close(): Promise<void>;
}

/** A TCP pass-through to Redis that the test can cut, freeze and restore, as network failures would. */
async function redisProxy(target: URL): Promise<RedisProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let frozen = false;
  const listen = async () => {
    server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.setNoDelay(true);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
        if (frozen) s.pause();
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const cut = async () => {
    const closing = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of sockets) s.destroy();
    await closing;
    server = undefined;
  };
  await listen();
  return {
    url: `redis://127.0.0.1:${port}`,
    cut,
    restore: listen,
    // Paused, not dropped: TCP loses nothing, so a hung Redis answers everything, in order, once it wakes.
    freeze(value) {
      frozen = value;
      for (const s of sockets) {
        if (value) s.pause();
        else s.resume();
      }
    },
    close: cut,
  };
}

describeWithRedis('Redis lost and back while serving (through a proxy the test cuts)', () => {
  let t: TestApp;
  let redis: TestRedisConnection;
  let proxy: Awaited<ReturnType<typeof redisProxy>>;
  const prefix = uniqueRedisPrefix('flaky');

  beforeAll(async () => {
    proxy = await redisProxy(new URL(TEST_REDIS_URL));
    redis = connectTestRedis(proxy.url);
    await whenReady(redis.connection);
    t = await createTestApp({
      env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '100', REDIS_KEY_PREFIX: prefix },
      redis: redis.connection,
    });
  });

  afterAll(async () => {
    await t.close();
    await redis.connection.close();
    await proxy.close();
    const admin = await adminClient();
    await admin.deleteAll(prefix);
    admin.close();
  });

  test('When Redis goes away, then requests are still served (counted in memory) and /health degrades; when it returns, counting is shared again and /health is UP', async () => {
    const admin = await adminClient();
    const counter = async () => (await admin.keys(`${prefix}rl:ip-request-otp:`))[0]?.value;
    try {
      expect((await requestOtp(t)).status).toBe(200);
      expect(await counter()).toBe('1');

      await proxy.cut();
      await until(() => !redis.connection.isReady(), 2000, 'redis connection lost');
      const duringOutage = [await requestOtp(t), await requestOtp(t)];
      const degraded = await request(t.app).get('/health');

      expect(duringOutage.map((r) => r.status)).toEqual([200, 200]);
      expect(await counter()).toBe('1');
      expect(degraded.body).toMatchObject({ status: 'DEGRADED', checks: { redis: 'DOWN' } });

      await proxy.restore();
      await until(() => redis.connection.isReady(), 10_000, 'redis reconnected');
      await until(
        async () => (await requestOtp(t)).status === 200 && (await counter()) === '2',
        3000,
        'counting in Redis again',
      );
      const healthy = await request(t.app).get('/health');

      expect(healthy.body).toMatchObject({ status: 'UP', checks: { redis: 'UP' } });
      expect(
        redis.logs
          .entries()
          .map((l) => l.message)
          .filter((m) => typeof m === 'string' && m.startsWith('redis:')),
      ).toEqual([
        'redis: connected; per-IP limits are shared across instances',
        "redis: unavailable; per-IP limits fall back to this instance's memory until it returns",
        'redis: connected; per-IP limits are shared across instances',
      ]);
    } finally {
      admin.close();
    }
  }, 20_000);

  test('When Redis hangs (connected but silent), then requests are still served, the fallback is logged once rather than per request, and counting returns to Redis after', async () => {
    await until(() => redis.connection.isReady(), 10_000, 'redis ready');
    const admin = await adminClient();
    const counter = async () => Number((await admin.keys(`${prefix}rl:ip-request-otp:`))[0]?.value ?? 0);
    let logsBefore = t.logs.lines.length;
    const redisLines = () =>
      t.logs
        .entries()
        .slice(logsBefore)
        .filter((l) => typeof l.message === 'string' && l.message.startsWith('redis:'));
    try {
      // Both limiters have their scripts in Redis before it hangs (each limiter has its own store).
      expect((await requestOtp(t)).status).toBe(200);
      expect(
        (await verifyOtp(t, { verificationId: randomUUID(), phoneNumber: uniquePhone(), code: '123456' })).status,
      ).toBe(404);
      const countBefore = await counter();
      logsBefore = t.logs.lines.length;
      proxy.freeze(true);
      const answers = [];
      const took: number[] = [];
      for (let n = 0; n < 5; n += 1) {
        const started = Date.now();
        answers.push(await requestOtp(t));
        took.push(Date.now() - started);
      }

      // The first request waits for the 250 ms command timeout; the next ones count in memory
      // without asking the hung Redis again (each would otherwise wait 250 ms too).
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(took[0]).toBeGreaterThanOrEqual(250);
      expect(took.slice(1).reduce((a, b) => a + b, 0)).toBeLessThan(4 * 250);
      expect(redisLines()).toEqual([
        expect.objectContaining({
          level: 'warn',
          message: 'redis: rate-limit command failed; counting in memory for now',
        }),
      ]);
      const health = await request(t.app).get('/health');
      expect(health.status).toBe(200);
      expect(health.body).toMatchObject({
        status: 'DEGRADED',
        checks: { database: 'UP', redis: 'DOWN' },
        details: { redis: { fallback: expect.stringMatching(/memory/) } },
      });

      proxy.freeze(false);
      await until(
        async () => (await requestOtp(t)).status === 200 && redisLines().length === 2,
        5000,
        'counting in Redis again',
      );
      const shared = await counter();
      expect(shared).toBeGreaterThan(countBefore);
      expect((await requestOtp(t)).status).toBe(200);
      expect(await counter()).toBe(shared + 1);

      expect(redisLines().map((l) => l.message)).toEqual([
        'redis: rate-limit command failed; counting in memory for now',
        'redis: rate-limit commands answer again; per-IP limits are shared again',
      ]);
    } finally {
      proxy.freeze(false);
      admin.close();
    }
  }, 20_000);

  test('When Redis hangs while an instance starts (its scripts cannot load), then it counts in memory and moves to Redis as soon as Redis answers, without waiting for a reconnect', async () => {
    await until(() => redis.connection.isReady(), 10_000, 'redis ready');
    const ownPrefix = uniqueRedisPrefix('late');
    const admin = await adminClient();
    proxy.freeze(true);
    const late = await createTestApp({
      env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '100', REDIS_KEY_PREFIX: ownPrefix },
      redis: redis.connection,
    });
    try {
      expect((await requestOtp(late)).status).toBe(200);
      // The script load gives up after the command timeout while Redis stays silent.
      await until(
        () => late.logs.text().includes('redis: rate-limit scripts not loaded'),
        2000,
        'failed script load logged',
      );

      proxy.freeze(false);
      await until(
        async () =>
          (await requestOtp(late)).status === 200 && (await admin.keys(`${ownPrefix}rl:ip-request-otp:`)).length === 1,
        5000,
        'counting in Redis',
      );

      expect(redis.connection.isReady()).toBe(true);
    } finally {
      proxy.freeze(false);
      await late.close();
      await admin.deleteAll(ownPrefix);
      admin.close();
    }
  }, 20_000);
});
