import { randomInt, randomUUID } from 'node:crypto';
import { literal, Op } from 'sequelize';
import type { Models } from '../../models';
import type { Statement, Statements } from '../statements';
import { countSend, releaseCountedSend, SEND_SHARDS, minuteOf } from './send-windows';

/**
 * The only writer of "Users". A row holds the number's rolling send and failure history, so the
 * per-number limits are checked and claimed by one conditional statement on the row it locks.
 * The hot-path statements are prepared SQL run through Sequelize's pool (src/db/statements.ts):
 * Sequelize's query layer and re-planning cost more than their work under load. The rest uses the
 * User model (src/models/user.model.ts).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The per-number limits; each rule is written once, in `limitOpensAt`. */
export interface SendLimits {
  cooldownMs: number;
  maxPerHour: number;
  maxPerDay: number;
}

export type NumberLimit = 'number_cooldown' | 'number_hour' | 'number_day';

/** A limit that refused a send, and when it opens again. */
export interface SendRefusal {
  limit: NumberLimit;
  opensAt: Date;
}

export type SendReservation =
  { ok: true; reservedAt: Date; shard: number; globalSends: number } | { ok: false; refusal: SendRefusal };

/**
 * When a rolling-window limit of `max` events per `windowMs` opens again, or NULL while it is open:
 * the max-th newest event in the window, plus the window. `$n` are the statement's parameters.
 */
function windowOpensAt(column: string, max: string, windowMs: string, now: string): string {
  return `(SELECT t + interval '${windowMs} milliseconds' FROM unnest(${column}) AS t
     WHERE t > ${now}::timestamptz - interval '${windowMs} milliseconds' ORDER BY t DESC OFFSET ${max}::int - 1 LIMIT 1)`;
}

/** The three send limits of a row's `otpSendTimes`, each as "opens again at" (NULL: open). */
function limitOpensAt(column: string): Record<NumberLimit, string> {
  return {
    number_cooldown: `(SELECT max(t) + $4::int * interval '1 millisecond' FROM unnest(${column}) AS t
       HAVING max(t) + $4::int * interval '1 millisecond' > $3::timestamptz)`,
    number_hour: windowOpensAt(column, '$5', String(HOUR_MS), '$3'),
    number_day: windowOpensAt(column, '$6', String(DAY_MS), '$3'),
  };
}

const LIMITS = limitOpensAt('u."otpSendTimes"');
const EXPLAINED = limitOpensAt('"otpSendTimes"');

/**
 * Creates the user if missing and claims one send, in ONE statement: the upsert's WHERE checks the
 * limits against the row it locks, so parallel requests cannot all pass. A refused claim returns,
 * from the same statement, when each limit opens again. A claimed send is counted towards the
 * global ceiling (OtpSendWindows).
 */
const RESERVE_SEND: Statement = {
  name: 'otp_reserve_send_v2',
  text: `WITH reserved AS (
     INSERT INTO "Users" AS u ("id", "phoneNumber", "isVerified", "otpSendTimes", "otpFailureTimes", "createdAt", "updatedAt")
     VALUES ($1, $2, false, ARRAY[$3::timestamptz], '{}', $3, $3)
     ON CONFLICT ("phoneNumber") DO UPDATE SET
       "otpSendTimes" = array_append(ARRAY(SELECT t FROM unnest(u."otpSendTimes") AS t
         WHERE t > $3::timestamptz - interval '1 day'), $3::timestamptz),
       "updatedAt" = $3
     WHERE ${LIMITS.number_cooldown} IS NULL AND ${LIMITS.number_hour} IS NULL AND ${LIMITS.number_day} IS NULL
     RETURNING 1
   ), ${countSend('reserved', '$7', '$8')}
   SELECT EXISTS (SELECT 1 FROM reserved) AS "reserved", (SELECT "globalSends" FROM counted) AS "globalSends",
     ${EXPLAINED.number_cooldown} AS "number_cooldown", ${EXPLAINED.number_hour} AS "number_hour",
     ${EXPLAINED.number_day} AS "number_day"
   FROM (SELECT 1) AS one LEFT JOIN "Users" ON "phoneNumber" = $2`,
};

/** Gives a send back, and its slot in the global counter, only if the send was still there. */
const RELEASE_SEND: Statement = {
  name: 'otp_release_send_v2',
  text: `WITH released AS (
     UPDATE "Users" SET "otpSendTimes" = ${removeOne('"otpSendTimes"', '$2')}
     WHERE "phoneNumber" = $1 AND array_position("otpSendTimes", $2::timestamptz) IS NOT NULL
     RETURNING 1
   ) ${releaseCountedSend('released', '$3', '$4')}`,
};

const REFUND_FAILURE: Statement = {
  name: 'otp_refund_failure_v1',
  text: `UPDATE "Users" SET "otpFailureTimes" = ${removeOne('"otpFailureTimes"', '$2')} WHERE "phoneNumber" = $1`,
};

/**
 * One batch of the retention purge of numbers unused since `cutoff`: no send reserved and no success
 * since then (both set updatedAt), no send or failure time after it, and no verification created or
 * changed after it. Off the hot path, so through the models: the rows are locked with SKIP LOCKED
 * (a row a request holds is left for the next run; one a request changed meanwhile is re-checked
 * against its new version), then the numbers' remaining verifications and the users go in the same
 * transaction. A request that finds its row deleted under it inserts a fresh one (the upsert retries).
 */
export async function purgeStaleUsers(
  models: Pick<Models, 'User' | 'Verification'>,
  cutoff: Date,
  batchSize: number,
): Promise<{ users: number; verifications: number }> {
  const { User, Verification } = models;
  return User.sequelize!.transaction(async (transaction) => {
    const stale = await User.findAll({
      attributes: ['id', 'phoneNumber'],
      where: {
        updatedAt: { [Op.lt]: cutoff },
        [Op.and]: [
          literal(
            `NOT EXISTS (SELECT 1 FROM unnest("User"."otpSendTimes" || "User"."otpFailureTimes") AS t WHERE t >= ${User.sequelize!.escape(cutoff)})`,
          ),
          literal(`NOT EXISTS (SELECT 1 FROM "Verifications" v WHERE v."phoneNumber" = "User"."phoneNumber"
             AND (v."createdAt" >= ${User.sequelize!.escape(cutoff)} OR v."updatedAt" >= ${User.sequelize!.escape(cutoff)}))`),
        ],
      },
      limit: batchSize,
      lock: transaction.LOCK.UPDATE,
      skipLocked: true,
      transaction,
    });
    if (stale.length === 0) return { users: 0, verifications: 0 };
    const phoneNumbers = stale.map((u) => u.phoneNumber);
    const verifications = await Verification.destroy({
      where: { phoneNumber: phoneNumbers, createdAt: { [Op.lt]: cutoff } },
      transaction,
    });
    const users = await User.destroy({ where: { id: stale.map((u) => u.id) }, transaction });
    return { users, verifications };
  });
}

export interface UserQueries {
  reserveSend(phoneNumber: string, now: Date, limits: SendLimits): Promise<SendReservation>;
  releaseSend(phoneNumber: string, reservation: { reservedAt: Date; shard: number }): Promise<void>;
  refundFailure(phoneNumber: string, chargedAt: Date): Promise<void>;
}

export function userQueries(statements: Statements): UserQueries {
  return {
    async reserveSend(phoneNumber, now, limits) {
      const shard = randomInt(SEND_SHARDS);
      const [row] = await statements.run<
        { reserved: boolean; globalSends: number | null } & Record<NumberLimit, Date | null>
      >(RESERVE_SEND, [
        randomUUID(),
        phoneNumber,
        now,
        limits.cooldownMs,
        limits.maxPerHour,
        limits.maxPerDay,
        minuteOf(now),
        shard,
      ]);
      if (row?.reserved) return { ok: true, reservedAt: now, shard, globalSends: Number(row.globalSends) };
      return { ok: false, refusal: longestRefusal(row, now, limits) };
    },

    async releaseSend(phoneNumber, reservation) {
      await statements.run(RELEASE_SEND, [
        phoneNumber,
        reservation.reservedAt,
        minuteOf(reservation.reservedAt),
        reservation.shard,
      ]);
    },

    async refundFailure(phoneNumber, chargedAt) {
      await statements.run(REFUND_FAILURE, [phoneNumber, chargedAt]);
    },
  };
}

/** The limit that stays closed longest. A parallel request may have changed the row meanwhile: then the cooldown. */
function longestRefusal(row: Record<NumberLimit, Date | null> | undefined, now: Date, limits: SendLimits): SendRefusal {
  const closed = (['number_cooldown', 'number_hour', 'number_day'] as const)
    .map((limit) => ({ limit, opensAt: row?.[limit] ? new Date(row[limit]) : undefined }))
    .filter((r): r is SendRefusal => r.opensAt !== undefined && r.opensAt.getTime() > now.getTime());
  if (closed.length === 0)
    return { limit: 'number_cooldown', opensAt: new Date(now.getTime() + Math.max(1000, limits.cooldownMs)) };
  return closed.reduce((a, b) => (b.opensAt.getTime() > a.opensAt.getTime() ? b : a));
}

/**
 * The failure budget of a number: when it opens again (NULL while open). Written once, used by the
 * claim statement both to refuse and to say until when. `$n` are that statement's parameters.
 */
export function failureBudgetOpensAt(column: string, max: string, now: string): string {
  return windowOpensAt(column, max, String(HOUR_MS), now);
}

/**
 * A CTE fragment for a statement in another module: charges one failure to the number's budget if
 * the budget is open and `condition` holds. `$n` are that statement's parameters.
 */
export function chargeFailure(opts: { phoneNumber: string; now: string; max: string; condition: string }): string {
  return `UPDATE "Users"
     SET "otpFailureTimes" = array_append(ARRAY(SELECT t FROM unnest("otpFailureTimes") AS t
       WHERE t > ${opts.now}::timestamptz - interval '1 hour'), ${opts.now}::timestamptz)
     WHERE "phoneNumber" = ${opts.phoneNumber} AND ${failureBudgetOpensAt('"otpFailureTimes"', opts.max, opts.now)} IS NULL
       AND ${opts.condition}
     RETURNING 1`;
}

/** A CTE fragment: refunds the failure charged at `chargedAt` (NULL: none). */
export function refundFailure(phoneNumber: string, chargedAt: string): string {
  return `UPDATE "Users" SET "otpFailureTimes" = ${removeOne('"otpFailureTimes"', chargedAt)}
     WHERE "phoneNumber" = ${phoneNumber} AND ${chargedAt}::timestamptz IS NOT NULL
     RETURNING 1`;
}

/** A CTE fragment: marks the user verified at `at` and refunds the failure charged then. */
export function markVerified(phoneNumber: string, at: string): string {
  return `UPDATE "Users" SET "isVerified" = true, "verifiedAt" = ${at}, "updatedAt" = ${at},
       "otpFailureTimes" = ${removeOne('"otpFailureTimes"', at)}
     WHERE "phoneNumber" = ${phoneNumber}
     RETURNING 1`;
}

/** A CTE fragment: locks the number's row (so a statement locks Users before Verifications). */
export function lockUser(phoneNumber: string): string {
  return `SELECT 1 FROM "Users" WHERE "phoneNumber" = ${phoneNumber} FOR UPDATE`;
}

/** A CTE fragment: marks the user verified at `at` when `condition` holds. */
export function markVerifiedIf(phoneNumber: string, at: string, condition: string): string {
  return `UPDATE "Users" SET "isVerified" = true, "verifiedAt" = ${at}, "updatedAt" = ${at}
     WHERE ${condition} AND "phoneNumber" = ${phoneNumber}
     RETURNING 1`;
}

/** SQL removing ONE occurrence of a timestamp from an array (array_remove would drop equal twins too). */
function removeOne(column: string, param: string): string {
  return `CASE WHEN array_position(${column}, ${param}::timestamptz) IS NULL THEN ${column}
    ELSE ${column}[:array_position(${column}, ${param}::timestamptz) - 1] || ${column}[array_position(${column}, ${param}::timestamptz) + 1:] END`;
}
