import { createHash } from 'node:crypto';
import type { IdempotencyQueries } from '../db/queries/idempotency';
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
 * `abandonedAfterMs`: how long an in-progress key may stay claimed; past it the request that holds it
 * cannot still be running (the request timeout answered it long ago), so a retry may take it over.
 */
export function createIdempotencyService(
  queries: IdempotencyQueries,
  clock: Clock,
  ttlSeconds: number,
  abandonedAfterMs: number,
): IdempotencyService {
  async function begin<T>(key: string, fingerprint: string): Promise<IdempotencyStart<T>> {
    const now = new Date(clock.now());
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    if (await queries.claim(key, fingerprint, now, expiresAt, new Date(now.getTime() - abandonedAfterMs))) {
      return { state: 'new' };
    }
    const existing = await queries.read<T>(key);
    // Deleted (abandoned) between the two statements: claim again.
    if (!existing) return begin(key, fingerprint);
    if (existing.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (existing.state !== 'done' || existing.responseBody === null) return { state: 'in_progress' };
    return { state: 'replay', data: existing.responseBody };
  }

  return { begin, complete: (key, data) => queries.complete(key, data), abandon: (key) => queries.abandon(key) };
}
