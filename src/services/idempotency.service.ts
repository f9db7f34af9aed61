import { createHash } from 'node:crypto';
import type { Statement, Statements } from '../db/statements';
import type { Clock } from '../utils/clock';

export type IdempotencyStart<T> =
  { state: 'new' } | { state: 'replay'; data: T } | { state: 'in_progress' } | { state: 'mismatch' };

export interface IdempotencyService {
  /**
   * Claims `key` for a request with this fingerprint (one statement: a key that expired is taken over).
   * A live key answers with the stored result, "in progress", or "mismatch" for a different request.
   */
  begin<T>(key: string, fingerprint: string): Promise<IdempotencyStart<T>>;
  /** Stores the successful result to replay. */
  complete(key: string, data: unknown): Promise<void>;
  /** Frees the key after a failure, so the client may retry with it. */
  abandon(key: string): Promise<void>;
}

/** A stable digest of what makes two requests "the same" (e.g. the normalised number and method). */
export function fingerprintOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex');
}

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

/**
 * `abandonedAfterMs`: how long an in-progress key may stay claimed; past it the request that holds it
 * cannot still be running (the request timeout answered it long ago), so a retry may take it over.
 */
export function createIdempotencyService(
  statements: Statements,
  clock: Clock,
  ttlSeconds: number,
  abandonedAfterMs: number,
): IdempotencyService {
  return {
    async begin<T>(key: string, fingerprint: string): Promise<IdempotencyStart<T>> {
      const now = new Date(clock.now());
      const claimed = await statements.run(CLAIM_KEY, [
        key,
        fingerprint,
        now,
        new Date(now.getTime() + ttlSeconds * 1000),
        new Date(now.getTime() - abandonedAfterMs),
      ]);
      if (claimed.length) return { state: 'new' };
      const [existing] = await statements.run<{ fingerprint: string; state: string; responseBody: T | null }>(
        READ_KEY,
        [key],
      );
      // Deleted (abandoned) between the two statements: claim again.
      if (!existing) return this.begin(key, fingerprint);
      if (existing.fingerprint !== fingerprint) return { state: 'mismatch' };
      if (existing.state !== 'done' || existing.responseBody === null) return { state: 'in_progress' };
      return { state: 'replay', data: existing.responseBody };
    },

    async complete(key, data) {
      await statements.run(COMPLETE_KEY, [key, JSON.stringify(data)]);
    },

    async abandon(key) {
      await statements.run(ABANDON_KEY, [key]);
    },
  };
}
