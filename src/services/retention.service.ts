import { QueryTypes, type Sequelize } from 'sequelize';
import type { Logger } from '../config/logger';
import type { Clock } from '../utils/clock';
import { createWebhookOutbox } from '../db/queries/webhook-outbox';
import { createStatements } from '../db/statements';

export interface PurgeResult {
  verifications: number;
  idempotencyKeys: number;
  sendWindows: number;
  webhookEvents: number;
}

const DAY_MS = 86_400_000;

/**
 * Deletes verifications older than `retentionDays`, expired idempotency keys, old send-ceiling
 * windows, and delivered or failed webhook events older than `retentionDays`. Deletes in batches of `batchSize` by primary key (SKIP LOCKED), each its own short
 * statement, so a large backlog never holds long locks or a long transaction.
 */
export async function purgeExpired(
  sequelize: Sequelize,
  options: { retentionDays: number; clock: Clock; logger?: Logger; batchSize?: number },
): Promise<PurgeResult> {
  const now = options.clock.now();
  const batchSize = options.batchSize ?? 5000;
  const cutoff = new Date(now - options.retentionDays * DAY_MS);
  const result: PurgeResult = { verifications: 0, idempotencyKeys: 0, sendWindows: 0, webhookEvents: 0 };

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

  result.verifications = await inBatches(
    `DELETE FROM "Verifications" WHERE "id" IN (
       SELECT "id" FROM "Verifications" WHERE "createdAt" < $1 ORDER BY "createdAt" LIMIT $2 FOR UPDATE SKIP LOCKED
     ) RETURNING 1`,
    [cutoff],
  );
  result.idempotencyKeys = await inBatches(
    `DELETE FROM "IdempotencyKeys" WHERE "key" IN (
       SELECT "key" FROM "IdempotencyKeys" WHERE "expiresAt" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
     ) RETURNING 1`,
    [new Date(now)],
  );
  result.sendWindows = await inBatches(
    `DELETE FROM "OtpSendWindows" WHERE "windowStart" IN (
       SELECT "windowStart" FROM "OtpSendWindows" WHERE "windowStart" < $1 LIMIT $2 FOR UPDATE SKIP LOCKED
     ) RETURNING 1`,
    [new Date(now - DAY_MS)],
  );
  // Webhook bodies carry phone numbers: delivered and failed events follow the same retention.
  const outbox = createWebhookOutbox(createStatements(sequelize, { prepared: false }));
  result.webhookEvents = await outbox.purgeOlderThan(options.retentionDays, batchSize);
  options.logger?.info('retention purge done', { ...result, retentionDays: options.retentionDays });
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
  options: { retentionDays: number; intervalMinutes: number; clock: Clock; logger: Logger },
  every: Every = everyWithTimers,
): () => void {
  if (options.intervalMinutes <= 0) return () => undefined;
  return every(options.intervalMinutes * 60_000, () => {
    purgeExpired(sequelize, {
      retentionDays: options.retentionDays,
      clock: options.clock,
      logger: options.logger,
    }).catch((error: unknown) =>
      options.logger.error('retention purge failed; will retry at the next interval', { error }),
    );
  });
}
