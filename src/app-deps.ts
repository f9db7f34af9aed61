import type { Sequelize } from 'sequelize';
import type { Config } from './config';
import type { Logger } from './config/logger';
import type { SinchEmulator } from './emulator/sinch-emulator';
import type { StoreFactory } from './clients/redis/rate-limit-store';
import type { HealthCheck } from './observability/health';
import type { Metrics } from './observability/metrics';
import type { SinchEventsService } from './services/sinch-events.service';
import type { VerificationService } from './services/verification/verification.service';
import type { VerificationTokenService } from './services/verification-token.service';
import type { ApiKeyService } from './services/api-key.service';
import type { ServerVerificationService } from './services/server-verification.service';
import type { Clock } from './utils/clock';

/** What createApp receives: built once in server.ts (or by the test app), imported by app.ts and the routes. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  verifications: VerificationService;
  /** Signs verification tokens and serves their JWKS; absent when VERIFICATION_TOKENS=off. */
  verificationTokens?: VerificationTokenService;
  /** The server-side API (/api/verifications/*) is served when both are given. */
  apiKeys?: ApiKeyService;
  serverVerifications?: ServerVerificationService;
  /** Applies Sinch's callbacks (POST /api/sinch/events). */
  sinchEvents: SinchEventsService;
  /** Checks beyond the database shown on /health (Sinch circuit, Redis). */
  healthChecks?: HealthCheck[];
  /** Shared store for the per-IP limiters (Redis); in-memory when absent. */
  rateLimitStore?: StoreFactory;
  /** Prometheus metrics; /metrics is served only when given and `config.metrics.enabled`. */
  metrics?: Metrics;
  /** "Now" for signature skew checks; tests pass a fake clock. */
  clock?: Clock;
  /** The in-process Sinch emulator, in emulator mode (zero-config or SINCH_EMULATOR=true): the demo inbox. */
  emulator?: SinchEmulator;
}
