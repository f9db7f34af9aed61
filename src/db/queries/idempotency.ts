import type { Statement, Statements } from '../statements';

/** The only writer of "IdempotencyKeys": first responses of request-otp, replayed for a repeated key. */

/**
 * Claims a key; a key past its expiry is taken over in the same statement, and so is one still
 * "in progress" after longer than any request may run ($5): its request died with its process.
 */
const CLAIM_KEY: Statement = {
  name: 'otp_idempotency_claim_v2',
  text: `INSERT INTO "IdempotencyKeys" ("key", "fingerprint", "state", "createdAt", "expiresAt")
     VALUES ($1, $2, 'in_progress', $3, $4)
     ON CONFLICT ("key") DO UPDATE SET "fingerprint" = EXCLUDED."fingerprint", "state" = 'in_progress',
       "responseStatus" = NULL, "responseBody" = NULL, "createdAt" = EXCLUDED."createdAt", "expiresAt" = EXCLUDED."expiresAt"
     WHERE "IdempotencyKeys"."expiresAt" <= $3
        OR ("IdempotencyKeys"."state" = 'in_progress' AND "IdempotencyKeys"."createdAt" <= $5)
     RETURNING "key"`,
};
const READ_KEY: Statement = {
  name: 'otp_idempotency_read_v1',
  text: `SELECT "fingerprint", "state", "responseBody" FROM "IdempotencyKeys" WHERE "key" = $1`,
};
const COMPLETE_KEY: Statement = {
  name: 'otp_idempotency_complete_v1',
  text: `UPDATE "IdempotencyKeys" SET "state" = 'done', "responseStatus" = 200, "responseBody" = $2 WHERE "key" = $1`,
};
const ABANDON_KEY: Statement = {
  name: 'otp_idempotency_abandon_v1',
  text: `DELETE FROM "IdempotencyKeys" WHERE "key" = $1 AND "state" = 'in_progress'`,
};

/** One batch of the retention purge ($1 now, $2 batch size): keys past their expiry. */
export const PURGE_EXPIRED_KEYS = `DELETE FROM "IdempotencyKeys" WHERE "key" IN (
     SELECT "key" FROM "IdempotencyKeys" WHERE "expiresAt" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
   ) RETURNING 1`;

export interface IdempotencyRecord<T> {
  fingerprint: string;
  state: string;
  responseBody: T | null;
}

export interface IdempotencyQueries {
  /** Claims `key`; true when it was free, expired, or abandoned (in progress since before `abandonedBefore`). */
  claim(key: string, fingerprint: string, now: Date, expiresAt: Date, abandonedBefore: Date): Promise<boolean>;
  read<T>(key: string): Promise<IdempotencyRecord<T> | undefined>;
  complete(key: string, data: unknown): Promise<void>;
  abandon(key: string): Promise<void>;
}

export function idempotencyQueries(statements: Statements): IdempotencyQueries {
  return {
    async claim(key, fingerprint, now, expiresAt, abandonedBefore) {
      return (await statements.run(CLAIM_KEY, [key, fingerprint, now, expiresAt, abandonedBefore])).length > 0;
    },
    async read<T>(key: string) {
      const [row] = await statements.run<IdempotencyRecord<T>>(READ_KEY, [key]);
      return row;
    },
    async complete(key, data) {
      await statements.run(COMPLETE_KEY, [key, JSON.stringify(data)]);
    },
    async abandon(key) {
      await statements.run(ABANDON_KEY, [key]);
    },
  };
}
