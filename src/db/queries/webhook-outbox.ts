/**
 * The webhook outbox ("WebhookEvents"): the only writer of that table. See docs/webhooks.md.
 *
 * Events are recorded by the SAME statement as the state change they report, with the CTE that
 * `outboxCte` builds: one statement is atomic, so an event exists if and only if its change was
 * committed, whatever happens to the process afterwards. The worker then claims due events with
 * FOR UPDATE SKIP LOCKED and settles each attempt guarded by its attempt number.
 *
 * Scheduling uses the database's clock (now()), shared by every instance, never a process clock.
 */
import type { Statement, Statements } from '../statements';

export const WEBHOOK_EVENT_TYPES = [
  'verification.requested',
  'verification.succeeded',
  'verification.failed',
  'verification.cancelled',
  'verification.delivery',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The body's `data`: always these keys (purpose may be null), plus what the event type adds. */
export interface WebhookEventData {
  verificationId: string;
  phoneNumber: string;
  purpose: string | null;
  method: string;
  status: string;
  [extra: string]: unknown;
}

export interface OutboxCteOptions {
  /** Name of the CTE this fragment defines (unique within the statement). */
  name: string;
  type: WebhookEventType;
  /**
   * Name of an earlier CTE whose rows the events are about, one event per row. It must return the
   * Verifications columns "id", "phoneNumber", "method" and "status"; "purpose" when the table has
   * it (read through to_jsonb, so a source without it yields null rather than an error).
   */
  source: string;
  /** SQL for the moment of the change (the body's `timestamp`), usually the statement's "now" parameter. */
  occurredAt: string;
  /** SQL boolean saying whether webhooks are on (a bound parameter fed from config.webhooks.enabled). */
  enabled: string;
  /** More `data` fields: key -> SQL over the source row, which is aliased `s` (e.g. { attempts: 's."attempts"' }). */
  extra?: Record<string, string>;
  /** Only for source rows where this SQL condition over `s` holds (e.g. `s."status" = 'FAILED'`). */
  when?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** SQL rendering a timestamptz as ISO 8601 in UTC (`2026-12-01T10:15:30.123Z`), for `extra` fields. */
export function isoTimestamp(sql: string): string {
  return `to_char((${sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * A CTE (`name AS (...)`, to put after WITH or a comma) that records one webhook event per row of
 * `options.source` in the same statement as the change that produced those rows:
 *
 * ```sql
 * WITH cancelled AS (
 *   UPDATE "Verifications" SET "status" = 'CANCELLED', "updatedAt" = $2
 *   WHERE "id" = $1 AND "status" = 'PENDING'
 *   RETURNING "id", "phoneNumber", "method", "status"
 * ), ${outboxCte({ name: 'cancelled_event', type: 'verification.cancelled', source: 'cancelled', occurredAt: '$2', enabled: '$3' })}
 * SELECT * FROM cancelled
 * ```
 * PostgreSQL runs a data-modifying CTE to completion even when nothing reads it, so the main
 * query need not mention the fragment. The text is fixed per call site: safe to prepare.
 * Each verification gets at most one event of each type but `verification.delivery` (a unique
 * index; the insert does nothing on conflict), so a repeated statement never repeats its event.
 */
export function outboxCte(options: OutboxCteOptions): string {
  const { name, type, source, occurredAt, enabled, extra = {}, when = 'true' } = options;
  if (!IDENTIFIER.test(name) || !IDENTIFIER.test(source)) throw new Error('outboxCte: name and source are identifiers');
  if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) throw new Error(`outboxCte: unknown type ${type}`);
  const fields = [
    `'verificationId', s."id"`,
    `'phoneNumber', s."phoneNumber"`,
    `'purpose', to_jsonb(s) -> 'purpose'`,
    `'method', s."method"`,
    `'status', s."status"`,
    ...Object.entries(extra).map(([key, sql]) => {
      if (!IDENTIFIER.test(key)) throw new Error(`outboxCte: extra key ${key} is not an identifier`);
      return `'${key}', ${sql}`;
    }),
  ];
  return `${name} AS (
     INSERT INTO "WebhookEvents" ("id", "type", "data", "occurredAt")
     SELECT gen_random_uuid(), '${type}', jsonb_build_object(${fields.join(', ')}), (${occurredAt})::timestamptz
     FROM ${source} AS s
     WHERE (${enabled})::boolean AND (${when})
     ON CONFLICT DO NOTHING
     RETURNING "id"
   )`;
}

/** An event claimed for one delivery attempt. */
export interface ClaimedEvent {
  id: string;
  type: WebhookEventType;
  data: WebhookEventData;
  occurredAt: Date;
  /** This attempt's number, 1 for the first; settling must name it. */
  attempts: number;
}

export interface FailedEvent {
  id: string;
  type: WebhookEventType;
  verificationId: string | null;
  attempts: number;
  lastError: string | null;
  occurredAt: Date;
  failedAt: Date;
}

export interface OutboxStats {
  pending: number;
  failed: number;
  /** Age of the oldest undelivered (PENDING) event, 0 when there is none. */
  oldestPendingSeconds: number;
}

const ENQUEUE: Statement = {
  name: 'webhook_enqueue_v1',
  text: `INSERT INTO "WebhookEvents" ("id", "type", "data", "occurredAt") VALUES (gen_random_uuid(), $1, $2::jsonb, $3)
         ON CONFLICT DO NOTHING
         RETURNING "id"`,
};

/**
 * Takes up to $1 due events and pushes each one's next attempt time out by the lease ($2 ms): while
 * the lease runs no other worker sees the event, and a worker that dies mid-attempt leaves it to be
 * retried when the lease ends. SKIP LOCKED: concurrent claims take different rows instead of waiting.
 */
const CLAIM: Statement = {
  name: 'webhook_claim_v1',
  text: `UPDATE "WebhookEvents" AS e
         SET "attempts" = e."attempts" + 1, "nextAttemptAt" = now() + make_interval(secs => $2::float8 / 1000), "updatedAt" = now()
         FROM (SELECT "id" FROM "WebhookEvents" WHERE "status" = 'PENDING' AND "nextAttemptAt" <= now()
               ORDER BY "nextAttemptAt" LIMIT $1 FOR UPDATE SKIP LOCKED) AS due
         WHERE e."id" = due."id"
         RETURNING e."id", e."type", e."data", e."occurredAt", e."attempts"`,
};

/** Settles attempt $2 as delivered; a stale attempt (its lease lost to a newer one) changes nothing. */
const MARK_DELIVERED: Statement = {
  name: 'webhook_delivered_v1',
  text: `UPDATE "WebhookEvents" SET "status" = 'DELIVERED', "deliveredAt" = now(), "lastError" = NULL, "updatedAt" = now()
         WHERE "id" = $1 AND "attempts" = $2 AND "status" = 'PENDING'
         RETURNING 1`,
};

/** Settles attempt $2 as failed: due again in $3 seconds, or FAILED for good when $3 is NULL. */
const MARK_ATTEMPT_FAILED: Statement = {
  name: 'webhook_attempt_failed_v1',
  text: `UPDATE "WebhookEvents"
         SET "status" = CASE WHEN $3::float8 IS NULL THEN 'FAILED' ELSE 'PENDING' END,
             "nextAttemptAt" = CASE WHEN $3::float8 IS NULL THEN now() ELSE now() + make_interval(secs => $3::float8) END,
             "lastError" = $4, "updatedAt" = now()
         WHERE "id" = $1 AND "attempts" = $2 AND "status" = 'PENDING'
         RETURNING "status"`,
};

const LIST_FAILED: Statement = {
  name: 'webhook_list_failed_v1',
  text: `SELECT "id", "type", "data" ->> 'verificationId' AS "verificationId", "attempts", "lastError", "occurredAt", "updatedAt" AS "failedAt"
         FROM "WebhookEvents" WHERE "status" = 'FAILED' ORDER BY "createdAt" LIMIT $1`,
};

/** FAILED -> PENDING with a fresh schedule, due now; $1 one event, or NULL for all. Same id, so same webhook-id. */
const REPLAY: Statement = {
  name: 'webhook_replay_v1',
  text: `UPDATE "WebhookEvents" SET "status" = 'PENDING', "attempts" = 0, "nextAttemptAt" = now(), "updatedAt" = now()
         WHERE "status" = 'FAILED' AND ($1::uuid IS NULL OR "id" = $1::uuid)
         RETURNING "id"`,
};

const STATS: Statement = {
  name: 'webhook_stats_v1',
  text: `SELECT count(*) FILTER (WHERE "status" = 'PENDING')::int AS "pending",
                count(*) FILTER (WHERE "status" = 'FAILED')::int AS "failed",
                COALESCE(extract(epoch FROM now() - min("createdAt") FILTER (WHERE "status" = 'PENDING')), 0)::float8 AS "oldestPendingSeconds"
         FROM "WebhookEvents" WHERE "status" IN ('PENDING', 'FAILED')`,
};

/**
 * Delivered and failed events recorded more than $1 days ago, $2 at a time (the retention purge,
 * which counts the rows it returns). Undelivered events are never purged.
 */
export const PURGE_OLD_WEBHOOK_EVENTS = `DELETE FROM "WebhookEvents" WHERE "id" IN (
     SELECT "id" FROM "WebhookEvents"
     WHERE "status" IN ('DELIVERED', 'FAILED') AND "createdAt" < now() - make_interval(days => $1::int)
     LIMIT $2 FOR UPDATE SKIP LOCKED
   ) RETURNING 1`;

export interface WebhookOutbox {
  /**
   * Records one event outside a state-changing statement (prefer `outboxCte` inside that statement).
   * Resolves its id, or undefined when the verification already has an event of this type.
   */
  enqueue(type: WebhookEventType, data: WebhookEventData, occurredAt: Date): Promise<string | undefined>;
  /** Claims up to `limit` due events for one attempt each, leased for `leaseMs`. */
  claimDue(limit: number, leaseMs: number): Promise<ClaimedEvent[]>;
  /** Records a 2xx answer to attempt `attempt`; false when that attempt no longer held the event. */
  markDelivered(id: string, attempt: number): Promise<boolean>;
  /** Records a failed attempt: retried after `retryInSeconds`, or FAILED for good when it is undefined. */
  markAttemptFailed(
    id: string,
    attempt: number,
    error: string,
    retryInSeconds: number | undefined,
  ): Promise<'PENDING' | 'FAILED' | undefined>;
  listFailed(limit?: number): Promise<FailedEvent[]>;
  /** Puts failed events back in the queue with a fresh schedule: one by id, or all. Returns their ids. */
  replayFailed(id?: string): Promise<string[]>;
  stats(): Promise<OutboxStats>;
}

export function createWebhookOutbox(statements: Statements): WebhookOutbox {
  return {
    async enqueue(type, data, occurredAt) {
      const [row] = await statements.run<{ id: string }>(ENQUEUE, [type, JSON.stringify(data), occurredAt]);
      return row?.id;
    },
    claimDue: (limit, leaseMs) => statements.run<ClaimedEvent>(CLAIM, [limit, leaseMs]),
    async markDelivered(id, attempt) {
      const rows = await statements.run(MARK_DELIVERED, [id, attempt]);
      return rows.length > 0;
    },
    async markAttemptFailed(id, attempt, error, retryInSeconds) {
      const [row] = await statements.run<{ status: 'PENDING' | 'FAILED' }>(MARK_ATTEMPT_FAILED, [
        id,
        attempt,
        retryInSeconds ?? null,
        error.slice(0, 200),
      ]);
      return row?.status;
    },
    listFailed: (limit = 1000) => statements.run<FailedEvent>(LIST_FAILED, [limit]),
    async replayFailed(id) {
      const rows = await statements.run<{ id: string }>(REPLAY, [id ?? null]);
      return rows.map((r) => r.id);
    },
    async stats() {
      const [row] = await statements.run<OutboxStats>(STATS, []);
      return row ?? { pending: 0, failed: 0, oldestPendingSeconds: 0 };
    },
  };
}
