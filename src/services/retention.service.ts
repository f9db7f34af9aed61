import { QueryTypes, type Sequelize } from 'sequelize';
import type { Logger } from '../config/logger';
import type { Clock } from '../utils/clock';
import { PURGE_EXPIRED_KEYS } from '../db/queries/idempotency';
import { PURGE_EXPIRED_CALLBACKS } from '../db/queries/processed-callbacks';
import { PURGE_OLD_SEND_WINDOWS } from '../db/queries/send-windows';
import { deleteStaleUsers } from '../db/queries/users';
import { deleteHistoryOf, PURGE_OLD_VERIFICATIONS } from '../db/queries/verifications';

/** One batch of stale numbers and what is left of their history ($1 cutoff, $2 batch size). */
const PURGE_STALE_USERS = `WITH gone AS (${deleteStaleUsers('$1', '$2')}), history AS (${deleteHistoryOf('gone', '$1')})
   SELECT (SELECT count(*) FROM gone)::int AS "n", (SELECT count(*) FROM history)::int AS "verifications"`;

export interface PurgeResult {
  /** Verifications past their retention, plus those left for the numbers purged below. */
  verifications: number;
  /** Numbers with no code requested and no verification for `userRetentionDays`. */
  users: number;
  idempotencyKeys: number;
  sendWindows: number;
  /** Memory of processed Sinch callbacks past its window. */
  processedCallbacks: number;
}

export interface PurgeOptions {
  /** VERIFICATION_RETENTION_DAYS. */
  retentionDays: number;
  /** USER_RETENTION_DAYS. */
  userRetentionDays: number;
  clock: Clock;
  logger?: Logger;
  batchSize?: number;
}

const DAY_MS = 86_400_000;

/**
 * Deletes verifications older than `retentionDays`, numbers unused for `userRetentionDays` (with
 * their history), expired idempotency keys, old send-ceiling windows and expired callback memory.
 * Deletes in batches of `batchSize` by primary key (SKIP LOCKED), each its own short statement, so
 * a large backlog never holds long locks or a long transaction.
 */
export async function purgeExpired(sequelize: Sequelize, options: PurgeOptions): Promise<PurgeResult> {
  const now = options.clock.now();
  const batchSize = options.batchSize ?? 5000;
  const cutoff = new Date(now - options.retentionDays * DAY_MS);
  const result: PurgeResult = { verifications: 0, users: 0, idempotencyKeys: 0, sendWindows: 0, processedCallbacks: 0 };

  /** Runs a statement that answers `n` (rows of the batch) until a batch comes back short. */
  const batches = async (sql: string, bind: unknown[], each?: (row: Record<string, number>) => void) => {
    let total = 0;
    for (;;) {
      const rows = await sequelize.query<{ n: number }>(sql, { bind: [...bind, batchSize], type: QueryTypes.SELECT });
      const n = rows[0]?.n ?? 0;
      if (rows[0]) each?.(rows[0]);
      total += n;
      if (n < batchSize) return total;
    }
  };
  const inBatches = (sql: string, bind: unknown[]): Promise<number> =>
    batches(`WITH gone AS (${sql}) SELECT count(*)::int AS n FROM gone`, bind);

  result.verifications = await inBatches(PURGE_OLD_VERIFICATIONS, [cutoff]);
  result.users = await batches(PURGE_STALE_USERS, [new Date(now - options.userRetentionDays * DAY_MS)], (row) => {
    result.verifications += row.verifications ?? 0;
  });
  result.idempotencyKeys = await inBatches(PURGE_EXPIRED_KEYS, [new Date(now)]);
  result.sendWindows = await inBatches(PURGE_OLD_SEND_WINDOWS, [new Date(now - DAY_MS)]);
  result.processedCallbacks = await inBatches(PURGE_EXPIRED_CALLBACKS, [new Date(now)]);
  options.logger?.info('retention purge done', {
    ...result,
    retentionDays: options.retentionDays,
    userRetentionDays: options.userRetentionDays,
  });
  return result;
}

/** Runs `task` every `ms`; returns what stops it. Injected so tests need not wait for real minutes. */
export type Every = (ms: number, task: () => void) => () => void;

const everyWithTimers: Every = (ms, task) => {
  const timer = setInterval(task, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Purges every `intervalMinutes` (0: never; then `npm run db:purge` from cron). A failed purge is
 * logged and retried at the next interval. Returns what stops the schedule.
 */
export function schedulePurge(
  sequelize: Sequelize,
  options: Omit<PurgeOptions, 'logger' | 'batchSize'> & { intervalMinutes: number; logger: Logger },
  every: Every = everyWithTimers,
): () => void {
  if (options.intervalMinutes <= 0) return () => undefined;
  return every(options.intervalMinutes * 60_000, () => {
    purgeExpired(sequelize, {
      retentionDays: options.retentionDays,
      userRetentionDays: options.userRetentionDays,
      clock: options.clock,
      logger: options.logger,
    }).catch((error: unknown) =>
      options.logger.error('retention purge failed; will retry at the next interval', { error }),
    );
  });
}
