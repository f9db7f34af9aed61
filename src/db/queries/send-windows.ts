/**
 * The only writer of "OtpSendWindows": the global send ceiling, counted per minute in SEND_SHARDS
 * rows (a random one per send, summed on read) so no single row becomes every request's lock.
 */

/** Rows per minute of the global send counter. */
export const SEND_SHARDS = 16;

const MINUTE_MS = 60_000;

export const minuteOf = (at: Date): Date => new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);

/**
 * A CTE fragment `counted`: counts one send in shard `shard` of minute `window` for each row of the
 * CTE `when`, returning the minute's total over all shards as "globalSends".
 */
export function countSend(when: string, window: string, shard: string): string {
  return `counted AS (
     INSERT INTO "OtpSendWindows" ("windowStart", "shard", "sends")
     SELECT ${window}, ${shard}, 1 FROM ${when}
     ON CONFLICT ("windowStart", "shard") DO UPDATE SET "sends" = "OtpSendWindows"."sends" + 1
     RETURNING "sends" + (SELECT COALESCE(sum("sends"), 0) FROM "OtpSendWindows"
       WHERE "windowStart" = ${window} AND "shard" <> ${shard})::int AS "globalSends"
   )`;
}

/** A statement tail: gives back one send of the shard/minute if the CTE `when` has a row. */
export function releaseCountedSend(when: string, window: string, shard: string): string {
  return `UPDATE "OtpSendWindows" SET "sends" = "sends" - 1
   WHERE "windowStart" = ${window} AND "shard" = ${shard} AND "sends" > 0 AND EXISTS (SELECT 1 FROM ${when})`;
}

/** One batch of the retention purge ($1 cutoff, $2 batch size): minutes before the cutoff. */
export const PURGE_OLD_SEND_WINDOWS = `DELETE FROM "OtpSendWindows" WHERE "windowStart" IN (
     SELECT "windowStart" FROM "OtpSendWindows" WHERE "windowStart" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
   ) RETURNING 1`;
