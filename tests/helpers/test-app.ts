import { generateKeyPairSync } from 'node:crypto';
import type { Express } from 'express';
import { Sequelize } from 'sequelize';
import { createApp } from '../../src/app';
import type { AppDeps } from '../../src/app-deps';
import { loadConfig, secretValues, type Config, type RawEnv } from '../../src/config';
import { createLogger, type Logger } from '../../src/config/logger';
import { createSinchEmulator, type EmulatorOptions, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import type { Models } from '../../src/models';
import { createServices, type Services } from '../../src/services';
import { loadSigningKeys } from '../../src/services/signing-keys';
import { createMetrics, type Metrics } from '../../src/observability/metrics';
import type { RedisConnection } from '../../src/clients/redis/redis.client';
import { FakeClock } from './clock';
import { testDatabaseUrl } from './database';
import { LogCapture } from './log-capture';
import { audit } from './log-audit';
import { auditRoutes } from './route-audit';

export const SINCH_KEY = 'test-app-key';
/** base64 of "test-app-secret-value", as Sinch issues secrets. */
export const SINCH_SECRET = Buffer.from('test-app-secret-value').toString('base64');

export interface TestApp {
  app: Express;
  config: Config;
  emulator: SinchEmulator;
  sequelize: Sequelize;
  models: Models;
  services: Services;
  metrics: Metrics;
  clock: FakeClock;
  logs: LogCapture;
  logger: Logger;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: RawEnv;
  emulator?: Partial<EmulatorOptions>;
  /** Reuse an emulator (e.g. shared by two app instances). */
  sharedEmulator?: SinchEmulator;
  deps?: Partial<AppDeps>;
  /** A Redis connection for the per-IP limiters (tests of shared limits). */
  redis?: RedisConnection;
}

/** The verification-token signing key of this test file's apps (Ed25519, PKCS#8 PEM). */
export const TEST_SIGNING_KEY = generateKeyPairSync('ed25519')
  .privateKey.export({ format: 'pem', type: 'pkcs8' })
  .toString();

/** Generous limits by default so tests about one limit are not tripped by another. */
const BASE_ENV: RawEnv = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  SINCH_APPLICATION_KEY: SINCH_KEY,
  SINCH_APPLICATION_SECRET: SINCH_SECRET,
  SINCH_TIMEOUT_MS: '1000',
  OTP_RESEND_COOLDOWN_SECONDS: '0',
  OTP_MAX_SENDS_PER_NUMBER_HOUR: '1000',
  OTP_MAX_SENDS_PER_NUMBER_DAY: '1000',
  OTP_MAX_FAILURES_PER_NUMBER_HOUR: '1000',
  OTP_GLOBAL_SENDS_PER_MINUTE: '1000000',
  RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '1000000',
  RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '1000000',
  SINCH_CIRCUIT_FAILURE_THRESHOLD: '1000',
  VERIFICATION_TOKEN_PRIVATE_KEY: TEST_SIGNING_KEY,
};

/**
 * The real app against the real test database and a real Sinch emulator on 127.0.0.1,
 * with a fake clock shared by both and every log line captured.
 */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const clock = new FakeClock();
  const emulator =
    options.sharedEmulator ??
    (await createSinchEmulator({
      applicationKey: SINCH_KEY,
      applicationSecret: SINCH_SECRET,
      now: clock.now,
      // Six digits, so the run-wide log audit can search for each code without matching years or durations.
      codeLength: 6,
      // Every code sent is registered with the run-wide log audit (global-teardown).
      onMessage: (message) => audit.forbidden(message.code),
      ...options.emulator,
    }));
  const config = loadConfig({
    ...BASE_ENV,
    DATABASE_URL: testDatabaseUrl(),
    // PGlite serves every client on one session, where prepared statement names would collide.
    DB_PREPARED_STATEMENTS: process.env.TEST_DATABASE_EMBEDDED === '1' ? 'false' : 'true',
    SINCH_API_BASE_URL: emulator.url,
    ...options.env,
  });
  for (const secret of secretValues(config)) audit.forbidden(secret);
  const logs = new LogCapture();
  const logger = createLogger({ level: config.log.level, format: 'json', secrets: secretValues(config), stream: logs });
  const sequelize = new Sequelize(testDatabaseUrl(), { logging: false, pool: { max: 10, min: 0, acquire: 5000 } });
  // No default (process) metrics: several test apps share a process and only the app's own series matter here.
  const metrics = createMetrics({ sequelize, defaultMetrics: false });
  const signingKeys = await loadSigningKeys(config.verificationToken, logger);
  const services = createServices({ config, logger, sequelize, clock, redis: options.redis, metrics, signingKeys });
  const app = createApp({
    config,
    logger,
    sequelize,
    verifications: services.verifications,
    verificationTokens: services.verificationTokens,
    apiKeys: services.apiKeys,
    serverVerifications: services.serverVerifications,
    sinchEvents: services.sinchEvents,
    healthChecks: services.healthChecks,
    rateLimitStore: services.rateLimitStore,
    metrics,
    clock,
    ...options.deps,
  });
  return {
    app,
    config,
    emulator,
    sequelize,
    models: services.models,
    services,
    metrics,
    clock,
    logs,
    logger,
    /** Also fails when the app answered a route its OpenAPI document lacks (./route-audit.ts). */
    async close() {
      let undocumented: string[];
      try {
        undocumented = await auditRoutes(app, logs);
      } finally {
        // Started by the tests that exercise webhooks; stopping an idle worker is a no-op.
        await services.webhookWorker?.stop();
        services.sinch.close();
        await sequelize.close();
        if (!options.sharedEmulator) await emulator.close();
      }
      if (undocumented.length)
        throw new Error(
          `The app answered routes its OpenAPI document lacks: ${undocumented.join(', ')}. Declare them in the route table (docs/openapi.md).`,
        );
    },
  };
}
