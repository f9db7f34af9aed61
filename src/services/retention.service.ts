import { QueryTypes, type Sequelize } from 'sequelize';
import type { Logger } from '../config/logger';
import type { Clock } from '../utils/clock';
import { PURGE_EXPIRED_KEYS } from '../db/queries/idempotency';
import { PURGE_EXPIRED_CALLBACKS } from '../db/queries/processed-callbacks';
import { PURGE_OLD_SEND_WINDOWS } from '../db/queries/send-windows';
import { purgeStaleUsers } from '../db/queries/users';
import { PURGE_OLD_VERIFICATIONS } from '../db/queries/verifications';
import { PURGE_OLD_WEBHOOK_EVENTS } from '../db/queries/webhook-outbox';
import { initModels } from '../models';

export interface PurgeResult {
  /** Verifications past their retention, plus those left for the numbers purged below. */
  verifications: number;
  /** Numbers with no code requested and no verification for `userRetentionDays`. */
  users: number;
  idempotencyKeys: number;
  sendWindows: number;
  /** Memory of processed Sinch callbacks past its window. */
  processedCallbacks: number;
  /** Delivered and failed webhook events past `retentionDays` (their bodies hold the number). */
  webhookEvents: number;
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
 * their history), expired idempotency keys, old send-ceiling windows, expired callback memory, and
 * delivered or failed webhook events older than `retentionDays` (by the database clock).
 * Deletes in batches of `batchSize` by primary key (SKIP LOCKED), each its own short statement, so
 * a large backlog never holds long locks or a long transaction.
 */
export async function purgeExpired(sequelize: Sequelize, options: PurgeOptions): Promise<PurgeResult> {
  const now = options.clock.now();
  const batchSize = options.batchSize ?? 5000;
  const cutoff = new Date(now - options.retentionDays * DAY_MS);
  const result: PurgeResult = {
    verifications: 0,
    users: 0,
    idempotencyKeys: 0,
    sendWindows: 0,
    processedCallbacks: 0,
    webhookEvents: 0,
  };

  /** Runs one batch statement until a batch comes back short. */
  const inBatches = async (sql: string, bind: unknown[]): Promise<number> => {
    let total = 0;
    for (;;) {
      const rows = await sequelize.query<{ n: number }>(`WITH gone AS (${sql}) SELECT count(*)::int AS n FROM gone`, {
        bind: [...bind, batchSize],
        type: QueryTypes.SELECT,
      });
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < batchSize) return total;
    }
  };

  result.verifications = await inBatches(PURGE_OLD_VERIFICATIONS, [cutoff]);
  const models = initModels(sequelize);
  const userCutoff = new Date(now - options.userRetentionDays * DAY_MS);
  for (;;) {
    const batch = await purgeStaleUsers(models, userCutoff, batchSize);
    result.users += batch.users;
    result.verifications += batch.verifications;
    if (batch.users < batchSize) break;
  }
  result.idempotencyKeys = await inBatches(PURGE_EXPIRED_KEYS, [new Date(now)]);
  result.sendWindows = await inBatches(PURGE_OLD_SEND_WINDOWS, [new Date(now - DAY_MS)]);
  result.processedCallbacks = await inBatches(PURGE_EXPIRED_CALLBACKS, [new Date(now)]);
  result.webhookEvents = await inBatches(PURGE_OLD_WEBHOOK_EVENTS, [options.retentionDays]);
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
