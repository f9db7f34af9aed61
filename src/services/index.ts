import type { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { idempotencyQueries } from '../db/queries/idempotency';
import { userQueries } from '../db/queries/users';
import { verificationQueries } from '../db/queries/verifications';
import { createStatements } from '../db/statements';
import { initModels, type Models } from '../models';
import { systemClock, type Clock } from '../utils/clock';
import { addSinchTime } from '../utils/request-context';
import type { StoreFactory } from '../clients/redis/rate-limit-store';
import { redisCheck, sinchCheck, type HealthCheck } from '../observability/health';
import { createIdempotencyService } from './idempotency.service';
import { FallbackStore } from '../clients/redis/rate-limit-store';
import type { Metrics } from '../observability/metrics';
import type { RedisConnection } from '../clients/redis/redis.client';
import { createSinchClient, type SinchCallObserver, type SinchClient } from '../clients/sinch/sinch.client';
import { createSinchEventsService, type SinchEventsService } from './sinch-events.service';
import { createUserService, type UserService } from './user.service';
import {
  createVerificationService,
  type OtpEvents,
  type VerificationService,
} from './verification/verification.service';
import type { SigningKeys } from './signing-keys';
import { apiKeyQueries } from '../db/queries/api-keys';
import { createApiKeyService, type ApiKeyService } from './api-key.service';
import { createServerVerificationService, type ServerVerificationService } from './server-verification.service';
import { createVerificationTokenService, type VerificationTokenService } from './verification-token.service';
import { createWebhookOutbox, type WebhookOutbox } from '../db/queries/webhook-outbox';
import { createWebhookClient } from '../clients/webhook/webhook.client';
import { createWebhookWorker, type WebhookWorker } from './webhook-delivery.service';

export interface Services {
  models: Models;
  users: UserService;
  sinch: SinchClient;
  verifications: VerificationService;
  /** Signs and checks verification tokens; absent when VERIFICATION_TOKENS=off. */
  verificationTokens?: VerificationTokenService;
  /** The server-side API's keys, and what it does with verifications. */
  apiKeys: ApiKeyService;
  serverVerifications: ServerVerificationService;
  sinchEvents: SinchEventsService;
  /** Dependencies /health reports beyond the database. */
  healthChecks: HealthCheck[];
  /** Redis-backed (with in-memory fallback) per-IP limit counters, when Redis is configured. */
  rateLimitStore?: StoreFactory;
  /** The webhook outbox (docs/webhooks.md); events are recorded only when webhooks are on. */
  webhookOutbox: WebhookOutbox;
  /** Delivers the outbox when WEBHOOK_URL/WEBHOOK_SECRET are set; the caller starts and stops it. */
  webhookWorker?: WebhookWorker;
}

export interface ServiceOptions {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  clock?: Clock;
  sinch?: SinchClient;
  observeSinch?: SinchCallObserver;
  events?: OtpEvents;
  redis?: RedisConnection;
  /** Funnel counters and Sinch latency go here when given. */
  metrics?: Metrics;
  /** From loadSigningKeys (it reads files, so it runs before this synchronous wiring); none: no tokens. */
  signingKeys?: SigningKeys;
}

/** Wires models, the Sinch client and the services: the plain objects createApp receives. */
export function createServices(options: ServiceOptions): Services {
  const { config, logger, redis } = options;
  const clock = options.clock ?? systemClock;
  const models = initModels(options.sequelize);
  const sinch = options.sinch ?? sinchClientFor(options);
  const statements = createStatements(options.sequelize, { prepared: config.database.preparedStatements });
  const users = createUserService(userQueries(statements), config.otp, clock);
  // Twice the request timeout: by then the request holding an in-progress key has surely ended.
  const idempotency = createIdempotencyService(
    idempotencyQueries(statements),
    clock,
    config.otp.idempotencyTtlSeconds,
    2 * config.server.requestTimeoutMs,
  );
  const verificationTokens = options.signingKeys && tokenServiceFor(options.signingKeys, config, clock);
  const verificationRows = verificationQueries(statements, { webhooks: config.webhooks.enabled });
  const verifications = createVerificationService({
    verifications: verificationRows,
    sinch,
    users,
    config,
    logger,
    clock,
    events: options.events ?? options.metrics?.otpEvents,
    idempotency,
    tokens: verificationTokens,
  });
  const webhookOutbox = createWebhookOutbox(statements);
  return {
    models,
    users,
    sinch,
    verifications,
    verificationTokens,
    apiKeys: createApiKeyService(apiKeyQueries(models), clock),
    serverVerifications: createServerVerificationService({
      queries: verificationRows,
      tokens: verificationTokens,
      config,
      logger,
      clock,
    }),
    sinchEvents: createSinchEventsService({
      verifications: verificationRows,
      config,
      logger,
      clock,
      fallBack: (sinchId) => verifications.fallBackAfterFailedSms(sinchId),
    }),
    healthChecks: [sinchCheck(sinch), ...(redis ? [redisCheck(redis)] : [])],
    rateLimitStore: redis
      ? (prefix) => new FallbackStore(redis, `${config.rateLimit.redisKeyPrefix}${prefix}`, logger)
      : undefined,
    webhookOutbox,
    webhookWorker: config.webhooks.enabled ? webhookWorkerFor(webhookOutbox, options) : undefined,
  };
}

/** The client reports each call; here its duration reaches the metrics and the request's log line. */
function sinchClientFor(options: ServiceOptions): SinchClient {
  const observeSinch = options.observeSinch ?? options.metrics?.observeSinch;
  return createSinchClient(options.config.sinch, options.logger, (call) => {
    addSinchTime(call.durationMs);
    observeSinch?.(call);
  });
}

function tokenServiceFor(keys: SigningKeys, config: Config, clock: Clock): VerificationTokenService {
  const settings = config.verificationToken;
  return createVerificationTokenService({
    keys,
    issuer: settings.issuer,
    audience: settings.audience,
    ttlSeconds: settings.ttlSeconds,
    clock,
  });
}

/** Delivers the outbox; the outbox's backlog becomes a metric. */
function webhookWorkerFor(outbox: WebhookOutbox, options: ServiceOptions): WebhookWorker {
  const { config, logger, metrics } = options;
  metrics?.trackWebhookOutbox(() => outbox.stats());
  return createWebhookWorker({
    outbox,
    client: createWebhookClient(config.webhooks),
    config: config.webhooks,
    logger,
    observe: metrics?.observeWebhookDelivery,
  });
}
