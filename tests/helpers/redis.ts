/**
 * Redis for the tests of shared per-IP limits. TEST_REDIS_URL (default redis://127.0.0.1:6379)
 * names the server. When it is unreachable those tests are skipped with the reason in their name,
 * unless REQUIRE_REDIS=1 (CI sets it), which turns the absence into a failing test.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { createLogger, type Logger } from '../../src/config/logger';
import { connectRedis, type RedisConnection } from '../../src/clients/redis/redis.client';
import { LogCapture } from './log-capture';
import { until } from './otp-flow';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Connects, sends PING, prints the first reply; exits 0 when it is a Redis answer. */
const PROBE = `
const net = require('node:net');
const url = new URL(process.argv[1]);
const socket = net.connect(Number(url.port || 6379), url.hostname.replace(/^\\[|\\]$/g, ''));
const fail = (why) => { process.stdout.write(why); process.exit(1); };
socket.setTimeout(1000, () => fail('no answer within 1 s'));
socket.on('connect', () => socket.write('PING\\r\\n'));
socket.on('data', (data) => {
  const reply = String(data);
  if (reply.startsWith('+PONG') || reply.startsWith('-NOAUTH')) process.exit(0);
  fail('unexpected reply ' + JSON.stringify(reply.slice(0, 40)));
});
socket.on('error', (error) => fail(error.code || error.message));
`;

/**
 * Whether Redis answers, decided once per test file while the file loads. Jest's describe
 * callbacks are synchronous and ts-jest emits CommonJS (no top-level await), so the choice between
 * describe and describe.skip cannot wait for a promise; a child process does the TCP probe and
 * spawnSync waits for it (tens of ms; at most 3 s when the host does not answer).
 */
function probe(url: string): { ok: true } | { ok: false; why: string } {
  if (!/^redis:\/\//.test(url))
    return { ok: false, why: 'TEST_REDIS_URL is not a redis:// URL (the probe speaks plain TCP)' };
  const result = spawnSync(process.execPath, ['-e', PROBE, url], { timeout: 3000, encoding: 'utf8' });
  if (result.status === 0) return { ok: true };
  return {
    ok: false,
    why: result.error
      ? result.error.message
      : result.stdout.trim() || `probe exited ${String(result.status ?? result.signal)}`,
  };
}

export const redisAvailability = probe(TEST_REDIS_URL);

/**
 * `describe` for tests that need a real Redis: skipped (with the reason in the name) when it is
 * unreachable, or a failing test in its place when REQUIRE_REDIS=1.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisAvailability.ok) {
    describe(name, fn);
    return;
  }
  const why = `Redis is not reachable at ${TEST_REDIS_URL} (${redisAvailability.why})`;
  if (process.env.REQUIRE_REDIS === '1') {
    describe(name, () => {
      test('Redis is reachable (REQUIRE_REDIS=1)', () => {
        throw new Error(`${why}; start Redis or point TEST_REDIS_URL at one`);
      });
    });
    return;
  }
  describe.skip(`${name} [SKIPPED: ${why}; set REQUIRE_REDIS=1 to fail instead]`, fn);
}

/** A key prefix of its own, so parallel test files and reruns never share counters. */
export function uniqueRedisPrefix(label: string): string {
  return `test:${label}:${randomUUID().slice(0, 8)}:`;
}

export interface TestRedisConnection {
  connection: RedisConnection;
  /** The connection's own log lines (connected / unavailable). */
  logs: LogCapture;
  logger: Logger;
}

/** The service's own Redis connection (connectRedis), with its log lines captured. */
export function connectTestRedis(url = TEST_REDIS_URL): TestRedisConnection {
  const logs = new LogCapture();
  const logger = createLogger({ level: 'info', format: 'json', stream: logs });
  return { connection: connectRedis(url, logger), logs, logger };
}

/** Resolves once the connection is ready (scripts load right after). */
export async function whenReady(connection: RedisConnection, timeoutMs = 5000): Promise<void> {
  await until(() => connection.isReady(), timeoutMs, 'redis connection ready');
}

/** A plain client for inspecting and cleaning up keys behind the service's back. */
export async function adminClient(url = TEST_REDIS_URL) {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  return {
    /** Keys under `prefix` with their counter value and remaining time to live (ms). */
    async keys(prefix: string): Promise<Array<{ key: string; value: string | null; pttl: number }>> {
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) keys.push(...batch);
      return Promise.all(
        keys.map(async (key) => ({ key, value: await client.get(key), pttl: await client.pTTL(key) })),
      );
    },
    async pexpire(key: string, ms: number): Promise<void> {
      await client.pExpire(key, ms);
    },
    async deleteAll(prefix: string): Promise<void> {
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 }))
        if (batch.length) await client.del(batch);
    },
    close(): void {
      client.destroy();
    },
  };
}
