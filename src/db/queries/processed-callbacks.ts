/**
 * "ProcessedCallbacks": the memory of Sinch callbacks already acted on, shared by every instance.
 * This module is the only place that writes the table.
 */

/**
 * A CTE named `claimed` that records callback `key` until `expiresAt` and returns one row only
 * when this statement is the first to claim it: a key whose memory has lapsed is claimed again.
 * Meant to open the statement that applies the callback, so the claim and the change commit (or
 * roll back) together and two concurrent copies cannot both pass: the second waits on the key's
 * index entry and then finds it taken.
 */
export function claimedCte(params: { key: string; expiresAt: string; now: string }): string {
  return `claimed AS (
     INSERT INTO "ProcessedCallbacks" AS p ("key", "expiresAt") VALUES (${params.key}, ${params.expiresAt})
     ON CONFLICT ("key") DO UPDATE SET "expiresAt" = EXCLUDED."expiresAt" WHERE p."expiresAt" <= ${params.now}
     RETURNING 1
   )`;
}

/** One batch of the retention purge: callback memory past its expiry ($1 now, $2 batch size). */
export const PURGE_EXPIRED_CALLBACKS = `DELETE FROM "ProcessedCallbacks" WHERE "key" IN (
     SELECT "key" FROM "ProcessedCallbacks" WHERE "expiresAt" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
   ) RETURNING 1`;
