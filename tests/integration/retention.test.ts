import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { createLogger } from '../../src/config/logger';
import { purgeExpired, schedulePurge } from '../../src/services/retention.service';
import { LogCapture } from '../helpers/log-capture';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl, serverOnlyTest } from '../helpers/database';
import { requestCode, requestOtp, rowsFor, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const DAY = 86_400_000;
const MINUTE = 60_000;
const ROOT = path.resolve(__dirname, '..', '..');
/** USER_RETENTION_DAYS's default: the tests about other tables keep every user. */
const KEEP_USERS_DAYS = 365;

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
        if (/DELETE FROM "Verifications" WHERE "id" IN/.test(sql)) deletes.push(sql);
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

    const result = await purgeExpired(sequelize, {
      retentionDays: 30,
      clock: { now: () => now },
      userRetentionDays: KEEP_USERS_DAYS,
    });

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

    const result = await purgeExpired(sequelize, {
      retentionDays: 30,
      clock: { now: () => now },
      batchSize: 2,
      userRetentionDays: KEEP_USERS_DAYS,
    });

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

    const result = await purgeExpired(sequelize, {
      retentionDays: 30,
      clock: { now: () => now },
      userRetentionDays: KEEP_USERS_DAYS,
    });

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

    const result = await purgeExpired(sequelize, {
      retentionDays: 30,
      clock: { now: () => now },
      userRetentionDays: KEEP_USERS_DAYS,
    });

    expect(result.sendWindows).toBeGreaterThanOrEqual(1);
    const rows = await sequelize.query<{ windowStart: Date }>(
      `SELECT "windowStart" FROM "OtpSendWindows" WHERE "windowStart" IN ($1, $2)`,
      { bind: [old, recent], type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => new Date(r.windowStart).getTime())).toEqual([recent.getTime()]);
  });

  test('When the memory of processed Sinch callbacks has expired, then it is deleted and live memory kept', async () => {
    const now = Date.now();
    const expired = randomUUID();
    const live = randomUUID();
    for (const [key, expiresAt] of [
      [expired, now - MINUTE],
      [live, now + MINUTE],
    ] as const) {
      await sequelize.query(`INSERT INTO "ProcessedCallbacks" ("key", "expiresAt") VALUES ($1, $2)`, {
        bind: [key, new Date(expiresAt)],
      });
    }

    const result = await purgeExpired(sequelize, {
      retentionDays: 30,
      userRetentionDays: KEEP_USERS_DAYS,
      clock: { now: () => now },
    });

    expect(result.processedCallbacks).toBeGreaterThanOrEqual(1);
    const rows = await sequelize.query<{ key: string }>(
      `SELECT "key" FROM "ProcessedCallbacks" WHERE "key" IN ($1, $2)`,
      { bind: [expired, live], type: QueryTypes.SELECT },
    );
    expect(rows).toEqual([{ key: live }]);
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
      userRetentionDays: 365,
      verifications: expect.any(Number),
      users: expect.any(Number),
      idempotencyKeys: expect.any(Number),
      sendWindows: expect.any(Number),
      processedCallbacks: expect.any(Number),
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
      { retentionDays: 30, userRetentionDays: KEEP_USERS_DAYS, intervalMinutes: 60, clock: { now: () => now }, logger },
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
    schedulePurge(
      closed,
      { retentionDays: 30, userRetentionDays: KEEP_USERS_DAYS, intervalMinutes: 60, clock: { now: () => now }, logger },
      every,
    );
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

    schedulePurge(
      sequelize,
      { retentionDays: 30, userRetentionDays: KEEP_USERS_DAYS, intervalMinutes: 0, clock: { now: () => now }, logger },
      every,
    );
    expect(ticks).toHaveLength(2);
  });
});

/**
 * Numbers are created through the API on the test app's fake clock, moved back in time; the purge
 * then runs at "now". Only rows this file dated a year back are old enough: other test files only
 * write rows dated now or later.
 */
describe('User retention (USER_RETENTION_DAYS)', () => {
  const YEAR_AND_A_BIT = 400;
  let t: TestApp;

  beforeAll(async () => {
    // Tight per-number limits, so "a purged number starts with its full limits" can be seen.
    t = await createTestApp({ env: { OTP_MAX_SENDS_PER_NUMBER_HOUR: '2', OTP_MAX_SENDS_PER_NUMBER_DAY: '3' } });
  });
  afterAll(() => t.close());

  /** Runs `act` with the clock `days` days in the past, then brings the clock back. */
  async function daysAgo<T>(days: number, act: () => Promise<T>): Promise<T> {
    t.clock.advance(-days * DAY);
    try {
      return await act();
    } finally {
      t.clock.advance(days * DAY);
    }
  }

  /** The purge as the service runs it, at the fake clock's now; verifications kept 10 years unless their number goes. */
  function purge() {
    return purgeExpired(t.sequelize, {
      retentionDays: 3650,
      userRetentionDays: t.config.retention.userDays,
      clock: t.clock,
      logger: t.logger,
    });
  }

  const withoutRequestId = (body: Record<string, unknown>) => {
    const { requestId, ...rest } = body;
    return { rest, hasRequestId: typeof requestId === 'string' };
  };

  test('When a number had no request and no verification for USER_RETENTION_DAYS, then the purge deletes it with its send and failure history and its verifications, and it behaves like a never-seen number', async () => {
    expect(t.config.retention.userDays).toBe(365);
    const phone = uniquePhone();
    const old = await daysAgo(YEAR_AND_A_BIT, async () => {
      const first = await requestCode(t, phone);
      await verifyOtp(t, {
        phoneNumber: phone,
        verificationId: first.verificationId,
        code: wrongCode(first.code),
      }).expect(400);
      t.clock.advance(MINUTE);
      const second = await requestCode(t, phone);
      await verifyOtp(t, { phoneNumber: phone, verificationId: second.verificationId, code: second.code }).expect(200);
      return { first, second };
    });
    const before = await rowsFor(t, phone);
    expect(before.user).toMatchObject({ isVerified: true });
    expect(before.user?.otpSendTimes).toHaveLength(2);
    expect(before.user?.otpFailureTimes).toHaveLength(1);
    expect(before.verifications).toHaveLength(2);

    const result = await purge();

    expect(result.users).toBeGreaterThanOrEqual(1);
    expect(result.verifications).toBeGreaterThanOrEqual(2);
    expect(await rowsFor(t, phone)).toEqual({ user: undefined, verifications: [] });
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: 'retention purge done',
        users: result.users,
        verifications: result.verifications,
        userRetentionDays: 365,
      }),
    );

    // The old verification ids now get exactly what a never-seen number with an unknown id gets.
    const neverSeen = await verifyOtp(t, { phoneNumber: uniquePhone(), verificationId: randomUUID(), code: '123456' });
    expect(neverSeen.status).toBe(404);
    expect(neverSeen.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
    for (const { verificationId, code } of [old.first, old.second]) {
      const res = await verifyOtp(t, { phoneNumber: phone, verificationId, code });
      expect(res.status).toBe(neverSeen.status);
      expect(withoutRequestId(res.body)).toEqual(withoutRequestId(neverSeen.body));
    }

    // A first request with the full limits: two codes an hour, then refused.
    await requestOtp(t, phone).expect(200);
    await requestOtp(t, phone).expect(200);
    const third = await requestOtp(t, phone);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_hour' }] });
    const after = await rowsFor(t, phone);
    expect(after.user).toMatchObject({ isVerified: false, verifiedAt: null, otpFailureTimes: [] });
    expect(after.user?.id).not.toBe(before.user?.id);
    expect(after.user?.otpSendTimes).toHaveLength(2);
    expect(after.verifications).toHaveLength(2);
  });

  test('When a number requested a code within USER_RETENTION_DAYS, then it is kept with its history', async () => {
    const phone = uniquePhone();
    await daysAgo(364, () => requestCode(t, phone));
    const before = await rowsFor(t, phone);

    await purge();

    expect(await rowsFor(t, phone)).toEqual(before);
    expect(before.verifications).toHaveLength(1);
  });

  test('When a number first used long ago has a recent verification, then it is kept, even if its user row alone looks old', async () => {
    const phone = uniquePhone();
    await daysAgo(YEAR_AND_A_BIT, () => requestCode(t, phone));
    await daysAgo(10, () => requestCode(t, phone));

    await purge();
    expect((await rowsFor(t, phone)).verifications).toHaveLength(2);

    // Rows not written by this code (e.g. imported) may carry an old updatedAt and no send times:
    // the recent verification alone keeps the number.
    await t.sequelize.query(
      `UPDATE "Users" SET "updatedAt" = $2, "otpSendTimes" = '{}', "otpFailureTimes" = '{}' WHERE "phoneNumber" = $1`,
      { bind: [phone, new Date(t.clock.now() - YEAR_AND_A_BIT * DAY)] },
    );
    await purge();

    const kept = await rowsFor(t, phone);
    expect(kept.user).toBeDefined();
    expect(kept.verifications).toHaveLength(2);
  });

  test('When more stale numbers are due than one batch holds (batchSize 2 over 5), then every one is deleted', async () => {
    const phones = Array.from({ length: 5 }, () => uniquePhone());
    await daysAgo(YEAR_AND_A_BIT, async () => {
      for (const phone of phones) await requestCode(t, phone);
    });

    const result = await purgeExpired(t.sequelize, {
      retentionDays: 3650,
      userRetentionDays: 365,
      clock: t.clock,
      batchSize: 2,
    });

    expect(result.users).toBeGreaterThanOrEqual(5);
    for (const phone of phones) expect(await rowsFor(t, phone)).toEqual({ user: undefined, verifications: [] });
  });

  describe('racing a request (PostgreSQL server only: PGlite runs every client on one session, so row locks between connections cannot be shown there)', () => {
    serverOnlyTest(
      "When a request holds the number's row while the purge runs, then the purge skips it and the number stays",
      async () => {
        const phone = uniquePhone();
        await daysAgo(YEAR_AND_A_BIT, () => requestCode(t, phone));
        const other = new Sequelize(testDatabaseUrl(), { logging: false });
        const tx = await other.transaction();
        try {
          // What a send reservation does: lock the row and touch updatedAt, not yet committed.
          await other.query(`UPDATE "Users" SET "updatedAt" = $2 WHERE "phoneNumber" = $1`, {
            bind: [phone, new Date(t.clock.now())],
            transaction: tx,
          });

          await purge();
          await tx.commit();
        } finally {
          await other.close();
        }

        expect((await rowsFor(t, phone)).user).toBeDefined();
      },
    );

    serverOnlyTest(
      'When a request arrives while the purge is deleting the number, then it waits and starts the number afresh',
      async () => {
        const phone = uniquePhone();
        await daysAgo(YEAR_AND_A_BIT, () => requestCode(t, phone));
        const { user: old } = await rowsFor(t, phone);
        const other = new Sequelize(testDatabaseUrl(), { logging: false });
        const tx = await other.transaction();
        let answered: Awaited<ReturnType<typeof requestOtp>> | undefined;
        try {
          // The purge's delete, holding the row until it commits.
          await other.query(`DELETE FROM "Users" WHERE "phoneNumber" = $1`, { bind: [phone], transaction: tx });
          const pending = requestOtp(t, phone).then((res) => (answered = res));
          // The request is blocked on the row lock: it cannot answer before the delete commits.
          const until = Date.now() + 1000;
          while (Date.now() < until && !(await isWaitingOnLock(other))) await new Promise((r) => setTimeout(r, 20));
          expect(answered).toBeUndefined();
          await tx.commit();
          await pending;
        } finally {
          await other.close();
        }

        expect(answered?.status).toBe(200);
        const { user } = await rowsFor(t, phone);
        expect(user).toMatchObject({ isVerified: false, otpFailureTimes: [] });
        expect(user?.id).not.toBe(old?.id);
        expect(user?.otpSendTimes).toHaveLength(1);
      },
    );
  });
});

/** Whether some session of the test database is waiting for a lock. */
async function isWaitingOnLock(sequelize: Sequelize): Promise<boolean> {
  const rows = await sequelize.query<{ waiting: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting`,
    { type: QueryTypes.SELECT },
  );
  return rows[0]?.waiting === true;
}
