import { randomInt, randomUUID } from 'node:crypto';
import type { Statement, Statements } from '../db/statements';
import type { Config } from '../config';
import type { Models } from '../models';
import type { Clock } from '../utils/clock';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MINUTE_MS = 60_000;

/** A limit that refused a send, with when it will allow one again. */
export interface LimitRefusal {
  limit: 'number_cooldown' | 'number_hour' | 'number_day' | 'global_minute';
  quota: number;
  windowSeconds: number;
  retryAfterMs: number;
}

export type SendReservation =
  { ok: true; userId: string; reservedAt: Date; shard: number } | { ok: false; refusal: LimitRefusal };

export interface UserService {
  /**
   * Creates the user if missing and claims one send for the number, in ONE statement that also
   * checks the cooldown and the hourly and daily limits against the row it locks, then counts the
   * send towards the global per-minute ceiling. Parallel requests cannot all pass a limit.
   */
  reserveSend(phoneNumber: string): Promise<SendReservation>;
  /** Gives a reserved send back, and its slot under the global ceiling, when Sinch certainly did not send. */
  releaseSend(phoneNumber: string, reservation: { reservedAt: Date; shard: number }): Promise<void>;
  /** When the number may request its next code, given the send reserved at `reservedAt`. */
  resendAvailableAt(reservedAt: Date): Date;
  /** Refunds one charged failure (the code was right, or Sinch never judged it). */
  refundFailure(phoneNumber: string, chargedAt: Date): Promise<void>;
  /** When a number over its failure budget may try again, or undefined when it is not over. */
  failureBudgetRetryAt(phoneNumber: string): Promise<Date | undefined>;
}

/** Rows per minute of the global send counter; each send counts in a random one (no hot row). */
const SEND_SHARDS = 16;

/**
 * Creates the user if missing and claims one send in ONE statement: the upsert's WHERE checks the
 * cooldown and the hourly and daily limits against the row it locks, and only a claimed send is
 * counted in one shard of the minute's global counter; the other shards are summed to it.
 */
const RESERVE_SEND: Statement = {
  name: 'otp_reserve_send_v1',
  text: `WITH reserved AS (
     INSERT INTO "Users" AS u ("id", "phoneNumber", "isVerified", "otpSendTimes", "otpFailureTimes", "createdAt", "updatedAt")
     VALUES ($1, $2, false, ARRAY[$3::timestamptz], '{}', $3, $3)
     ON CONFLICT ("phoneNumber") DO UPDATE SET
       "otpSendTimes" = array_append(ARRAY(SELECT t FROM unnest(u."otpSendTimes") AS t WHERE t > $5), $3::timestamptz),
       "updatedAt" = $3
     WHERE COALESCE((SELECT max(t) FROM unnest(u."otpSendTimes") AS t), '-infinity') <= $4
       AND (SELECT count(*) FROM unnest(u."otpSendTimes") AS t WHERE t > $6) < $7
       AND (SELECT count(*) FROM unnest(u."otpSendTimes") AS t WHERE t > $5) < $8
     RETURNING u."id"
   ), counted AS (
     INSERT INTO "OtpSendWindows" ("windowStart", "shard", "sends")
     SELECT $9, $10, 1 FROM reserved
     ON CONFLICT ("windowStart", "shard") DO UPDATE SET "sends" = "OtpSendWindows"."sends" + 1
     RETURNING "sends"
   )
   SELECT (SELECT "id" FROM reserved) AS "userId",
     (SELECT "sends" FROM counted) + (SELECT COALESCE(sum("sends"), 0) FROM "OtpSendWindows" WHERE "windowStart" = $9 AND "shard" <> $10)::int AS "globalSends"`,
};

/** Gives a send back, and its slot in the global counter, only if the send was still there. */
const RELEASE_SEND: Statement = {
  name: 'otp_release_send_v1',
  text: `WITH released AS (
     UPDATE "Users" SET "otpSendTimes" = ${removeOne('"otpSendTimes"', '$2')}
     WHERE "phoneNumber" = $1 AND array_position("otpSendTimes", $2::timestamptz) IS NOT NULL
     RETURNING 1
   )
   UPDATE "OtpSendWindows" SET "sends" = "sends" - 1
   WHERE "windowStart" = $3 AND "shard" = $4 AND "sends" > 0 AND EXISTS (SELECT 1 FROM released)`,
};

const REFUND_FAILURE: Statement = {
  name: 'otp_refund_failure_v1',
  text: `UPDATE "Users" SET "otpFailureTimes" = ${removeOne('"otpFailureTimes"', '$2')} WHERE "phoneNumber" = $1`,
};

const minuteOf = (at: Date) => new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);

export function createUserService(
  statements: Statements,
  models: Models,
  otp: Config['otp'],
  clock: Clock,
): UserService {
  const cooldownMs = otp.resendCooldownSeconds * 1000;

  async function reserveSend(phoneNumber: string): Promise<SendReservation> {
    const now = new Date(clock.now());
    const shard = randomInt(SEND_SHARDS);
    const [row] = await statements.run<{ userId: string | null; globalSends: number | null }>(RESERVE_SEND, [
      randomUUID(),
      phoneNumber,
      now,
      new Date(now.getTime() - cooldownMs),
      new Date(now.getTime() - DAY_MS),
      new Date(now.getTime() - HOUR_MS),
      otp.maxSendsPerNumberHour,
      otp.maxSendsPerNumberDay,
      minuteOf(now),
      shard,
    ]);
    if (!row?.userId) return { ok: false, refusal: await explainRefusal(phoneNumber, now) };
    const reservation = { ok: true as const, userId: row.userId, reservedAt: now, shard };
    if (Number(row.globalSends) > otp.globalSendsPerMinute) {
      await releaseSend(phoneNumber, reservation);
      return {
        ok: false,
        refusal: {
          limit: 'global_minute',
          quota: otp.globalSendsPerMinute,
          windowSeconds: 60,
          retryAfterMs: MINUTE_MS - (now.getTime() % MINUTE_MS),
        },
      };
    }
    return reservation;
  }

  /** Reads the row that refused and names the limit that will stay closed longest. */
  async function explainRefusal(phoneNumber: string, now: Date): Promise<LimitRefusal> {
    const user = await models.User.findOne({ where: { phoneNumber }, attributes: ['otpSendTimes'] });
    const times = (user?.otpSendTimes ?? []).map((t) => new Date(t).getTime()).sort((a, b) => a - b);
    const t = now.getTime();
    const refusals: LimitRefusal[] = [];
    const last = times.at(-1);
    if (cooldownMs > 0 && last !== undefined && last > t - cooldownMs) {
      refusals.push({
        limit: 'number_cooldown',
        quota: 1,
        windowSeconds: otp.resendCooldownSeconds,
        retryAfterMs: last + cooldownMs - t,
      });
    }
    const inHour = times.filter((x) => x > t - HOUR_MS);
    if (inHour.length >= otp.maxSendsPerNumberHour) {
      const oldest = inHour[inHour.length - otp.maxSendsPerNumberHour] ?? t;
      refusals.push({
        limit: 'number_hour',
        quota: otp.maxSendsPerNumberHour,
        windowSeconds: 3600,
        retryAfterMs: oldest + HOUR_MS - t,
      });
    }
    const inDay = times.filter((x) => x > t - DAY_MS);
    if (inDay.length >= otp.maxSendsPerNumberDay) {
      const oldest = inDay[inDay.length - otp.maxSendsPerNumberDay] ?? t;
      refusals.push({
        limit: 'number_day',
        quota: otp.maxSendsPerNumberDay,
        windowSeconds: 86_400,
        retryAfterMs: oldest + DAY_MS - t,
      });
    }
    // A parallel request changed the row between the two statements: report the cooldown.
    if (refusals.length === 0) {
      refusals.push({
        limit: 'number_cooldown',
        quota: 1,
        windowSeconds: otp.resendCooldownSeconds,
        retryAfterMs: Math.max(1000, cooldownMs),
      });
    }
    return refusals.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
  }

  async function releaseSend(phoneNumber: string, reservation: { reservedAt: Date; shard: number }): Promise<void> {
    // Starts Sinch refused must not use up everyone's capacity under the global ceiling.
    await statements.run(RELEASE_SEND, [
      phoneNumber,
      reservation.reservedAt,
      minuteOf(reservation.reservedAt),
      reservation.shard,
    ]);
  }

  return {
    reserveSend,
    releaseSend,
    resendAvailableAt: (reservedAt) => new Date(reservedAt.getTime() + cooldownMs),
    async refundFailure(phoneNumber, chargedAt) {
      await statements.run(REFUND_FAILURE, [phoneNumber, chargedAt]);
    },
    async failureBudgetRetryAt(phoneNumber) {
      const user = await models.User.findOne({ where: { phoneNumber }, attributes: ['otpFailureTimes'] });
      const t = clock.now();
      const recent = (user?.otpFailureTimes ?? [])
        .map((x) => new Date(x).getTime())
        .filter((x) => x > t - HOUR_MS)
        .sort((a, b) => a - b);
      if (recent.length < otp.maxFailuresPerNumberHour) return undefined;
      return new Date((recent[recent.length - otp.maxFailuresPerNumberHour] ?? t) + HOUR_MS);
    },
  };
}

/** SQL removing ONE occurrence of a timestamp from an array (array_remove would drop equal twins too). */
export function removeOne(column: string, param: string): string {
  return `CASE WHEN array_position(${column}, ${param}::timestamptz) IS NULL THEN ${column}
    ELSE ${column}[:array_position(${column}, ${param}::timestamptz) - 1] || ${column}[array_position(${column}, ${param}::timestamptz) + 1:] END`;
}
