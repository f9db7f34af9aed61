import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sequelize } from 'sequelize';
import type { SinchCallObserver } from '../clients/sinch/sinch.client';
import type { OtpEventLabels, OtpEvents, WebhookDeliveryObserver } from './events';
import type { OutboxStats } from '../db/queries/webhook-outbox';

export interface Metrics {
  registry: Registry;
  /** Records one finished HTTP request (route is the pattern, never the URL). */
  observeRequest: (method: string, route: string, status: number, seconds: number) => void;
  observeSinch: SinchCallObserver;
  otpEvents: OtpEvents;
  /** Counts webhook delivery attempts by event type and outcome. */
  observeWebhookDelivery: WebhookDeliveryObserver;
  /** Adds the outbox depth and oldest-age gauges, read from `stats` on each scrape. */
  trackWebhookOutbox(stats: () => Promise<OutboxStats>): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Prometheus metrics on a registry of this app's own (two apps in one process never collide).
 * Every label value comes from a small fixed set: routes, methods, statuses, operations, reasons,
 * purposes (OTP_PURPOSES, or "none"); never a phone number or an id.
 */
export function createMetrics(options: { sequelize?: Sequelize; defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const observeRequest = httpMetrics(registry);
  const observeSinch = sinchMetrics(registry);
  const otpEvents: OtpEvents = { ...otpRequestMetrics(registry), ...otpVerifyMetrics(registry) };
  const webhooks = webhookMetrics(registry);
  if (options.sequelize) databaseMetrics(registry, options.sequelize);

  return {
    registry,
    observeWebhookDelivery: webhooks.observeWebhookDelivery,
    trackWebhookOutbox: webhooks.trackWebhookOutbox,
    observeRequest,
    observeSinch,
    otpEvents,
  };
}

function httpMetrics(registry: Registry): Metrics['observeRequest'] {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return (method, route, status, seconds) => {
    const labels = { method, route, status: String(status) };
    requests.inc(labels);
    duration.observe(labels, seconds);
  };
}

function sinchMetrics(registry: Registry): SinchCallObserver {
  const sinch = new Histogram({
    name: 'sinch_request_duration_seconds',
    help: 'Sinch Verification API call latency by operation and outcome (HTTP status, timeout, network_error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return ({ operation, outcome, durationMs }) => {
    sinch.observe({ operation, outcome }, durationMs / 1000);
  };
}

/** The OTP funnel, first half: codes requested, sent and refused. */
function otpRequestMetrics(registry: Registry): Pick<OtpEvents, 'requested' | 'sent' | 'refused'> {
  // test_number="true": OTP_TEST_NUMBERS (app-store reviewers), which never reach Sinch.
  const requested = new Counter({
    name: 'otp_requested_total',
    help: 'Codes requested (request-otp and resend-otp calls that reached the service logic), by purpose',
    labelNames: ['purpose', 'test_number'] as const,
    registers: [registry],
  });
  const sent = new Counter({
    name: 'otp_sent_total',
    help: 'Codes Sinch accepted to send (for test numbers: codes that would have been sent), by method and purpose',
    labelNames: ['method', 'purpose', 'test_number'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'otp_refused_total',
    help: 'Code requests refused, by reason and purpose',
    labelNames: ['reason', 'purpose', 'test_number'] as const,
    registers: [registry],
  });
  return {
    requested: (labels) => requested.inc(otpLabels(labels)),
    sent: (labels) => sent.inc({ method: labels?.method ?? 'sms', ...otpLabels(labels) }),
    refused: (reason, labels) => refused.inc({ reason, ...otpLabels(labels) }),
  };
}

/** The OTP funnel, second half: codes verified, failed attempts, and expiry found at the check. */
function otpVerifyMetrics(registry: Registry): Pick<OtpEvents, 'verified' | 'failed'> {
  const verified = new Counter({
    name: 'otp_verified_total',
    help: 'Codes verified successfully, by purpose',
    labelNames: ['purpose', 'test_number'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'otp_verify_failed_total',
    help: 'Verification attempts that failed, by reason (invalid_code, expired, ...) and purpose',
    labelNames: ['reason', 'purpose', 'test_number'] as const,
    registers: [registry],
  });
  const expired = new Counter({
    name: 'otp_expired_total',
    help: 'Verifications found expired when a code was checked',
    registers: [registry],
  });
  return {
    verified: (labels) => verified.inc(otpLabels(labels)),
    failed: (reason, labels) => {
      failed.inc({ reason, ...otpLabels(labels) });
      if (reason === 'expired') expired.inc();
    },
  };
}

function webhookMetrics(registry: Registry): Pick<Metrics, 'observeWebhookDelivery' | 'trackWebhookOutbox'> {
  const webhookDeliveries = new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by event type and outcome (delivered, retrying, failed: schedule spent)',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });

  let outboxTracked = false;
  function trackWebhookOutbox(stats: () => Promise<OutboxStats>): void {
    if (outboxTracked) return;
    outboxTracked = true;
    new Gauge({
      name: 'webhook_outbox_events',
      help: 'Webhook events waiting in the outbox, by status (PENDING: to deliver; FAILED: schedule spent, replayable)',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const s = await stats();
        this.set({ status: 'PENDING' }, s.pending);
        this.set({ status: 'FAILED' }, s.failed);
      },
    });
    new Gauge({
      name: 'webhook_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest webhook event not yet delivered (0 when none)',
      registers: [registry],
      async collect() {
        this.set((await stats()).oldestPendingSeconds);
      },
    });
  }

  return {
    observeWebhookDelivery: (type, outcome) => webhookDeliveries.inc({ type, outcome }),
    trackWebhookOutbox,
  };
}

function databaseMetrics(registry: Registry, sequelize: Sequelize): void {
  const pool = (
    sequelize.connectionManager as unknown as {
      pool?: { size?: number; available?: number; using?: number; waiting?: number };
    }
  ).pool;
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'used' }, pool?.using ?? 0);
      this.set({ state: 'idle' }, pool?.available ?? 0);
      this.set({ state: 'waiting' }, pool?.waiting ?? 0);
      this.set({ state: 'total' }, pool?.size ?? 0);
    },
  });
}

/** Bounded labels: a purpose of OTP_PURPOSES (or none), and whether the number is a test number. */
function otpLabels(labels: OtpEventLabels | undefined): { purpose: string; test_number: 'true' | 'false' } {
  return { purpose: labels?.purpose ?? 'none', test_number: labels?.testNumber === true ? 'true' : 'false' };
}
