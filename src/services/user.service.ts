import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Models, User } from '../models';
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

export type SendReservation = { ok: true; userId: string; reservedAt: Date } | { ok: false; refusal: LimitRefusal };

export interface UserService {
  /**
   * Creates the user if missing and claims one send for the number, in ONE statement that also
   * checks the cooldown and the hourly and daily limits against the row it locks, then counts the
   * send towards the global per-minute ceiling. Parallel requests cannot all pass a limit.
   */
  reserveSend(phoneNumber: string): Promise<SendReservation>;
  /** Gives a reserved send back, and its slot under the global ceiling, when Sinch certainly did not send. */
  releaseSend(phoneNumber: string, reservedAt: Date): Promise<void>;
  /** When the number may request its next code, given the send reserved at `reservedAt`. */
  resendAvailableAt(reservedAt: Date): Date;
  /** Refunds one charged failure (the code was right, or Sinch never judged it). */
  refundFailure(phoneNumber: string, chargedAt: Date): Promise<void>;
  /** When a number over its failure budget may try again, or undefined when it is not over. */
  failureBudgetRetryAt(phoneNumber: string): Promise<Date | undefined>;
  findByPhone(phoneNumber: string): Promise<User | null>;
}

export function createUserService(sequelize: Sequelize, models: Models, otp: Config['otp'], clock: Clock): UserService {
  const cooldownMs = otp.resendCooldownSeconds * 1000;

  async function reserveSend(phoneNumber: string): Promise<SendReservation> {
    const now = new Date(clock.now());
    const rows = await sequelize.query<{ userId: string | null; globalSends: number | null }>(
      `WITH reserved AS (
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
         INSERT INTO "OtpSendWindows" ("windowStart", "sends")
         SELECT $9, 1 FROM reserved
         ON CONFLICT ("windowStart") DO UPDATE SET "sends" = "OtpSendWindows"."sends" + 1
         RETURNING "sends"
       )
       SELECT (SELECT "id" FROM reserved) AS "userId", (SELECT "sends" FROM counted) AS "globalSends"`,
      {
        type: QueryTypes.SELECT,
        bind: [
          randomUUID(),
          phoneNumber,
          now,
          new Date(now.getTime() - cooldownMs),
          new Date(now.getTime() - DAY_MS),
          new Date(now.getTime() - HOUR_MS),
          otp.maxSendsPerNumberHour,
          otp.maxSendsPerNumberDay,
          new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS),
        ],
      },
    );
    const row = rows[0];
    if (!row?.userId) return { ok: false, refusal: await explainRefusal(phoneNumber, now) };
    if (Number(row.globalSends) > otp.globalSendsPerMinute) {
      await releaseSend(phoneNumber, now);
      return {
        ok: false,
        refusal: { limit: 'global_minute', quota: otp.globalSendsPerMinute, windowSeconds: 60, retryAfterMs: MINUTE_MS - (now.getTime() % MINUTE_MS) },
      };
    }
    return { ok: true, userId: row.userId, reservedAt: now };
  }

  /** Reads the row that refused and names the limit that will stay closed longest. */
  async function explainRefusal(phoneNumber: string, now: Date): Promise<LimitRefusal> {
    const user = await models.User.findOne({ where: { phoneNumber }, attributes: ['otpSendTimes'] });
    const times = (user?.otpSendTimes ?? []).map((t) => new Date(t).getTime()).sort((a, b) => a - b);
    const t = now.getTime();
    const refusals: LimitRefusal[] = [];
    const last = times.at(-1);
    if (cooldownMs > 0 && last !== undefined && last > t - cooldownMs) {
      refusals.push({ limit: 'number_cooldown', quota: 1, windowSeconds: otp.resendCooldownSeconds, retryAfterMs: last + cooldownMs - t });
    }
    const inHour = times.filter((x) => x > t - HOUR_MS);
    if (inHour.length >= otp.maxSendsPerNumberHour) {
      const oldest = inHour[inHour.length - otp.maxSendsPerNumberHour] ?? t;
      refusals.push({ limit: 'number_hour', quota: otp.maxSendsPerNumberHour, windowSeconds: 3600, retryAfterMs: oldest + HOUR_MS - t });
    }
    const inDay = times.filter((x) => x > t - DAY_MS);
    if (inDay.length >= otp.maxSendsPerNumberDay) {
      const oldest = inDay[inDay.length - otp.maxSendsPerNumberDay] ?? t;
      refusals.push({ limit: 'number_day', quota: otp.maxSendsPerNumberDay, windowSeconds: 86_400, retryAfterMs: oldest + DAY_MS - t });
    }
    // A parallel request changed the row between the two statements: report the cooldown.
    if (refusals.length === 0) {
      refusals.push({ limit: 'number_cooldown', quota: 1, windowSeconds: otp.resendCooldownSeconds, retryAfterMs: Math.max(1000, cooldownMs) });
    }
    return refusals.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
  }

  async function releaseSend(phoneNumber: string, reservedAt: Date): Promise<void> {
    // The send's slot under the global ceiling is given back with it (and only if the send was
    // still there to give back): starts Sinch refused must not use up everyone's capacity.
    await sequelize.query(
      `WITH released AS (
         UPDATE "Users" SET "otpSendTimes" = ${removeOne('"otpSendTimes"', '$2')}
         WHERE "phoneNumber" = $1 AND array_position("otpSendTimes", $2::timestamptz) IS NOT NULL
         RETURNING 1
       )
       UPDATE "OtpSendWindows" SET "sends" = "sends" - 1
       WHERE "windowStart" = $3 AND "sends" > 0 AND EXISTS (SELECT 1 FROM released)`,
      { bind: [phoneNumber, reservedAt, new Date(Math.floor(reservedAt.getTime() / MINUTE_MS) * MINUTE_MS)] },
    );
  }

  return {
    reserveSend,
    releaseSend,
    resendAvailableAt: (reservedAt) => new Date(reservedAt.getTime() + cooldownMs),
    async refundFailure(phoneNumber, chargedAt) {
      await sequelize.query(
        `UPDATE "Users" SET "otpFailureTimes" = ${removeOne('"otpFailureTimes"', '$2')} WHERE "phoneNumber" = $1`,
        { bind: [phoneNumber, chargedAt] },
      );
    },
    async failureBudgetRetryAt(phoneNumber) {
      const user = await models.User.findOne({ where: { phoneNumber }, attributes: ['otpFailureTimes'] });
      const t = clock.now();
      const recent = (user?.otpFailureTimes ?? []).map((x) => new Date(x).getTime()).filter((x) => x > t - HOUR_MS).sort((a, b) => a - b);
      if (recent.length < otp.maxFailuresPerNumberHour) return undefined;
      return new Date((recent[recent.length - otp.maxFailuresPerNumberHour] ?? t) + HOUR_MS);
    },
    findByPhone: (phoneNumber) => models.User.findOne({ where: { phoneNumber } }),
  };
}

/** SQL removing ONE occurrence of a timestamp from an array (array_remove would drop equal twins too). */
export function removeOne(column: string, param: string): string {
  return `CASE WHEN array_position(${column}, ${param}::timestamptz) IS NULL THEN ${column}
    ELSE ${column}[:array_position(${column}, ${param}::timestamptz) - 1] || ${column}[array_position(${column}, ${param}::timestamptz) + 1:] END`;
}
