import type { WebhookDeliveryObserver } from '../observability/events';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import type { ClaimedEvent, WebhookOutbox } from '../db/queries/webhook-outbox';
import type { WebhookClient } from '../clients/webhook/webhook.client';

export interface WebhookWorker {
  /** Starts polling the outbox; idempotent. */
  start(): void;
  /** Stops claiming and waits for the attempts in flight (each bounded by WEBHOOK_TIMEOUT_MS) to settle. */
  stop(): Promise<void>;
}

export interface WebhookWorkerDeps {
  outbox: WebhookOutbox;
  client: WebhookClient;
  config: Config['webhooks'];
  logger: Logger;
  observe?: WebhookDeliveryObserver;
}

/**
 * Beyond the delivery timeout, how long a claimed attempt stays invisible to other workers. The HTTP
 * exchange is cut off at the timeout, so by the time the lease ends the attempt is over: two workers
 * never deliver the same attempt at once, and a worker that died mid-attempt is retried after it.
 */
const LEASE_MARGIN_MS = 10_000;

/**
 * The delivery worker: claim due events (FOR UPDATE SKIP LOCKED, at most `concurrency` in flight),
 * send each one, settle the attempt: delivered, retry after the next delay of the schedule, or
 * FAILED once the schedule is spent. It runs beside the API, never inside a request, so a slow
 * or dead receiver costs the API nothing but the few outbox statements.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const { client, config } = deps;
  const claim = outboxClaimer(deps.outbox, config.timeoutMs + LEASE_MARGIN_MS, deps.logger);
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  /** The last claim filled every free slot: more may be due, so claim again as soon as one frees. */
  let backlog = false;

  function schedule(ms: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => void poll(), ms);
    timer.unref();
  }

  function poll(): Promise<void> {
    polling ??= claimAndSend().finally(() => {
      polling = undefined;
      schedule(backlog && inFlight.size < config.concurrency ? 0 : config.pollIntervalMs);
    });
    return polling;
  }

  async function claimAndSend(): Promise<void> {
    const free = config.concurrency - inFlight.size;
    if (!running || free <= 0) return;
    const claimed = await claim(free);
    if (!claimed) return;
    backlog = claimed.length === free;
    for (const event of claimed) track(attemptDelivery(deps, event));
  }

  function track(delivery: Promise<void>): void {
    inFlight.add(delivery);
    void delivery.finally(() => {
      inFlight.delete(delivery);
      if (backlog && !polling) schedule(0);
    });
  }

  return {
    start() {
      if (running) return;
      running = true;
      schedule(0);
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await polling;
      await Promise.allSettled([...inFlight]);
      client.close();
    },
  };
}

/** Claims up to `free` due events under a lease; undefined while the outbox cannot be read. */
function outboxClaimer(
  outbox: WebhookOutbox,
  leaseMs: number,
  logger: Logger,
): (free: number) => Promise<ClaimedEvent[] | undefined> {
  let outboxDown = false;
  return async (free) => {
    try {
      const claimed = await outbox.claimDue(free, leaseMs);
      if (outboxDown) logger.info('webhook worker: outbox reachable again');
      outboxDown = false;
      return claimed;
    } catch (error) {
      // The loop is the handler here: it tries again at the next poll. One line per outage, not per poll.
      if (!outboxDown) logger.error('webhook worker: cannot read the outbox; retrying every poll', { error });
      outboxDown = true;
      return undefined;
    }
  };
}

/** Sends one claimed event and settles the attempt: delivered, retrying, or failed once the schedule is spent. */
async function attemptDelivery(deps: WebhookWorkerDeps, event: ClaimedEvent): Promise<void> {
  const { outbox, client, config, logger } = deps;
  const observe = deps.observe ?? (() => undefined);
  const meta = { eventId: event.id, type: event.type, attempt: event.attempts };
  try {
    const outcome = await client.send({
      id: event.id,
      type: event.type,
      occurredAt: event.occurredAt,
      data: event.data,
    });
    if (outcome.ok) {
      await outbox.markDelivered(event.id, event.attempts);
      observe(event.type, 'delivered');
      logger.info('webhook delivered', { ...meta, httpStatus: outcome.status });
      return;
    }
    // After attempt k comes the k-th delay; past the end of the schedule the event has failed.
    const delay = config.retryDelaysSeconds[event.attempts - 1];
    const state = await outbox.markAttemptFailed(event.id, event.attempts, outcome.error, delay);
    if (state === 'FAILED') {
      observe(event.type, 'failed');
      logger.error('webhook failed after its last retry; replay it with npm run webhooks', {
        ...meta,
        error: outcome.error,
      });
    } else {
      observe(event.type, 'retrying');
      logger.warn('webhook attempt failed; will retry', { ...meta, error: outcome.error, retryInSeconds: delay });
    }
  } catch (error) {
    // The outcome could not be recorded: the lease runs out and the event is attempted again
    // (at least once), so this is only reported.
    logger.error('webhook attempt could not be recorded; it will be retried when its lease ends', {
      ...meta,
      error,
    });
  }
}
