import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { createLogger } from '../../src/config/logger';
import { purgeExpired, schedulePurge } from '../../src/services/retention.service';
import { LogCapture } from '../helpers/log-capture';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';

const DAY = 86_400_000;
const MINUTE = 60_000;
const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The purge runs against the whole shared test database, so it is always run with the REAL "now":
 * other test files only ever write rows dated now or later (their fake clocks move forward), and
 * only this file's rows are old enough to be purged.
 */
describe('Retention purge (purgeExpired)', () => {
  let sequelize: Sequelize;
  const deletes: string[] = [];

  beforeAll(() => {
    sequelize = new Sequelize(testDatabaseUrl(), {
      logging: (sql: string) => {
        if (/DELETE FROM "Verifications"/.test(sql)) deletes.push(sql);
      },
    });
  });

  afterAll(async () => {
    await sequelize.close();
  });

  async function insertVerification(phone: string, createdAt: Date): Promise<string> {
    const id = randomUUID();
    await sequelize.query(
      `INSERT INTO "Verifications" ("id", "sinchVerificationId", "phoneNumber", "method", "status", "attempts", "expiresAt", "createdAt", "updatedAt")
       VALUES ($1, $2, $3, 'sms', 'EXPIRED', 0, $4, $5, $5)`,
      { bind: [id, randomUUID(), phone, new Date(createdAt.getTime() + 10 * MINUTE), createdAt] },
    );
    return id;
  }

  async function existing(ids: string[]): Promise<string[]> {
    const rows = await sequelize.query<{ id: string }>(
      `SELECT "id" FROM "Verifications" WHERE "id" = ANY($1::uuid[])`,
      { bind: [ids], type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.id).sort();
  }

  test('When verifications are older than VERIFICATION_RETENTION_DAYS, then they are deleted and newer ones, and the user, are kept', async () => {
    const now = Date.now();
    const phone = uniquePhone();
    await sequelize.query(
      `INSERT INTO "Users" ("id", "phoneNumber", "isVerified", "otpSendTimes", "otpFailureTimes", "createdAt", "updatedAt") VALUES ($1, $2, true, '{}', '{}', $3, $3)`,
      { bind: [randomUUID(), phone, new Date(now - 60 * DAY)] },
    );
    const old = [
      await insertVerification(phone, new Date(now - 45 * DAY)),
      await insertVerification(phone, new Date(now - 30 * DAY - MINUTE)),
    ];
    const kept = [
      await insertVerification(phone, new Date(now - 30 * DAY + MINUTE)),
      await insertVerification(phone, new Date(now - DAY)),
    ];

    const result = await purgeExpired(sequelize, { retentionDays: 30, clock: { now: () => now } });

    expect(result.verifications).toBeGreaterThanOrEqual(2);
    expect(await existing([...old, ...kept])).toEqual([...kept].sort());
    const users = await sequelize.query(`SELECT 1 FROM "Users" WHERE "phoneNumber" = $1`, {
      bind: [phone],
      type: QueryTypes.SELECT,
    });
    expect(users).toHaveLength(1);
  });

  test('When more rows are due than one batch holds (batchSize 2 over 5 rows), then every one is deleted, in three short statements', async () => {
    const now = Date.now();
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push(await insertVerification(uniquePhone(), new Date(now - (40 + i) * DAY)));
    deletes.length = 0;

    const result = await purgeExpired(sequelize, { retentionDays: 30, clock: { now: () => now }, batchSize: 2 });

    expect(result.verifications).toBe(5);
    expect(await existing(ids)).toEqual([]);
    expect(deletes).toHaveLength(3);
  });

  test('When idempotency keys have expired, then they are deleted and live ones kept', async () => {
    const now = Date.now();
    const expired = randomUUID();
    const live = randomUUID();
    for (const [key, expiresAt] of [
      [expired, now - MINUTE],
      [live, now + MINUTE],
    ] as const) {
      await sequelize.query(
        `INSERT INTO "IdempotencyKeys" ("key", "fingerprint", "state", "responseStatus", "responseBody", "createdAt", "expiresAt") VALUES ($1, 'f', 'done', 200, '{}', $2, $3)`,
        { bind: [key, new Date(expiresAt - 10 * MINUTE), new Date(expiresAt)] },
      );
    }

    const result = await purgeExpired(sequelize, { retentionDays: 30, clock: { now: () => now } });

    expect(result.idempotencyKeys).toBeGreaterThanOrEqual(1);
    const rows = await sequelize.query<{ key: string }>(`SELECT "key" FROM "IdempotencyKeys" WHERE "key" IN ($1, $2)`, {
      bind: [expired, live],
      type: QueryTypes.SELECT,
    });
    expect(rows).toEqual([{ key: live }]);
  });

  test('When global send-ceiling windows are over a day old, then they are deleted and recent ones kept', async () => {
    const now = Date.now();
    const minuteOf = (t: number) => new Date(Math.floor(t / MINUTE) * MINUTE);
    const old = minuteOf(now - 2 * DAY - Math.floor(Math.random() * 100_000) * MINUTE);
    const recent = minuteOf(now - 60 * MINUTE);
    for (const windowStart of [old, recent]) {
      await sequelize.query(
        `INSERT INTO "OtpSendWindows" ("windowStart", "sends") VALUES ($1, 1) ON CONFLICT DO NOTHING`,
        { bind: [windowStart] },
      );
    }

    const result = await purgeExpired(sequelize, { retentionDays: 30, clock: { now: () => now } });

    expect(result.sendWindows).toBeGreaterThanOrEqual(1);
    const rows = await sequelize.query<{ windowStart: Date }>(
      `SELECT "windowStart" FROM "OtpSendWindows" WHERE "windowStart" IN ($1, $2)`,
      { bind: [old, recent], type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => new Date(r.windowStart).getTime())).toEqual([recent.getTime()]);
  });

  test('When `npm run db:purge` runs (src/scripts/purge.ts), then it purges with VERIFICATION_RETENTION_DAYS, logs the counts and exits 0', async () => {
    const now = Date.now();
    const old = await insertVerification(uniquePhone(), new Date(now - 8 * DAY));
    const kept = await insertVerification(uniquePhone(), new Date(now - 6 * DAY));

    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/scripts/purge.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          DATABASE_URL: testDatabaseUrl(),
          // The script reads the service's configuration, where a database needs Sinch credentials or this.
          SINCH_EMULATOR: 'true',
          VERIFICATION_RETENTION_DAYS: '7',
          LOG_FORMAT: 'json',
        },
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.on('exit', (exitCode) => resolve({ code: exitCode, stdout: out }));
    });

    expect(code).toBe(0);
    expect(await existing([old, kept])).toEqual([kept]);
    const done = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'retention purge done');
    expect(done).toMatchObject({
      level: 'info',
      retentionDays: 7,
      verifications: expect.any(Number),
      idempotencyKeys: expect.any(Number),
      sendWindows: expect.any(Number),
    });
    expect(done?.verifications).toBeGreaterThanOrEqual(1);
  }, 30_000);

  test('When the service schedules the purge (PURGE_INTERVAL_MINUTES), then each tick purges, a failure is logged and retried at the next tick, and 0 schedules nothing', async () => {
    const now = Date.now();
    const old = await insertVerification(uniquePhone(), new Date(now - 40 * DAY));
    const kept = await insertVerification(uniquePhone(), new Date(now - 1 * DAY));
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', format: 'json', stream: logs });
    const ticks: Array<{ ms: number; task: () => void }> = [];
    let stopped = false;
    const every = (ms: number, task: () => void) => {
      ticks.push({ ms, task });
      return () => {
        stopped = true;
      };
    };

    const stop = schedulePurge(
      sequelize,
      { retentionDays: 30, intervalMinutes: 60, clock: { now: () => now }, logger },
      every,
    );
    ticks[0]?.task();
    const until = Date.now() + 5000;
    while ((await existing([old, kept])).length > 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    stop();

    expect(ticks.map((t) => t.ms)).toEqual([60 * MINUTE]);
    expect(await existing([old, kept])).toEqual([kept]);
    expect(stopped).toBe(true);

    // A purge that fails (the database is gone) is logged, not thrown out of the timer.
    const closed = new Sequelize('postgres://postgres@127.0.0.1:1/none', { logging: false, pool: { acquire: 1000 } });
    schedulePurge(closed, { retentionDays: 30, intervalMinutes: 60, clock: { now: () => now }, logger }, every);
    ticks[1]?.task();
    const deadline = Date.now() + 5000;
    while (
      !logs.entries().some((e) => e.message === 'retention purge failed; will retry at the next interval') &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await closed.close();
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'error', message: 'retention purge failed; will retry at the next interval' }),
    );

    schedulePurge(sequelize, { retentionDays: 30, intervalMinutes: 0, clock: { now: () => now }, logger }, every);
    expect(ticks).toHaveLength(2);
  });
});
