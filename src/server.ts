/**
 * The composition root: load config -> database (external, or embedded PGlite) -> Sinch (remote, or
 * the in-process emulator) -> createApp -> listen -> graceful shutdown. The only file that listens,
 * connects, reads process.env or installs process handlers.
 */
import type { Server } from 'node:http';
import { config as loadDotenv } from 'dotenv';
import { createApp } from './app';
import { ConfigError, loadConfig, secretValues, type Config } from './config';
import { createLogger, type Logger } from './config/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres';
import { migrateUp, pendingMigrations } from './db/migrator';
import { createSequelize } from './db/sequelize';
import { createSinchEmulator, type SinchEmulator } from './emulator/sinch-emulator';
import { createServices } from './services';
import { createMetrics } from './observability/metrics';
import { connectRedis } from './clients/redis/redis.client';
import { scheduleFallbackSweep } from './services/fallback-sweep';
import { schedulePurge } from './services/retention.service';
import { loadSigningKeys } from './services/signing-keys';
import { systemClock } from './utils/clock';

/** Credentials of the in-process emulator; they never leave this process. */
const EMBEDDED_EMULATOR = {
  applicationKey: 'embedded-emulator',
  applicationSecret: Buffer.from('embedded-emulator-secret').toString('base64'),
};

function describeMetrics(metrics: Config['metrics']): string {
  if (metrics.token !== undefined) return 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>';
  if (metrics.public) return 'GET /metrics is open without a token (METRICS_PUBLIC; the default outside production)';
  return 'GET /metrics is off (answers 404): set METRICS_TOKEN, or METRICS_PUBLIC=true to expose it without a token';
}

interface Running {
  server: Server;
  close(): Promise<void>;
}

async function start(config: Config, logger: Logger): Promise<Running> {
  const closers: Array<() => Promise<void>> = [];

  let database = config.database;
  let embedded: EmbeddedPostgres | undefined;
  if (database.mode === 'embedded') {
    embedded = await startEmbeddedPostgres(database.dataDir);
    closers.unshift(() => embedded!.stop());
    database = {
      ...database,
      url: undefined,
      host: embedded.host,
      port: embedded.port,
      user: 'postgres',
      password: undefined,
      name: 'postgres',
    };
    logger.info('database: embedded PostgreSQL (PGlite) for development; set DATABASE_URL to use a server', {
      dataDir: config.database.dataDir,
    });
  } else {
    logger.info('database: PostgreSQL server', {
      host: database.url ? new URL(database.url).hostname : database.host,
      database: database.url ? new URL(database.url).pathname.slice(1) : database.name,
    });
  }

  const sequelize = createSequelize(database, logger);
  closers.unshift(() => sequelize.close());
  await sequelize.authenticate();
  if (embedded) {
    const applied = await migrateUp(sequelize, { logger });
    if (applied.length) logger.info('database: migrations applied', { applied });
  } else {
    const pending = await pendingMigrations(sequelize);
    if (pending.length)
      throw new Error(
        `The database schema is behind by ${pending.length} migration(s) (${pending.join(', ')}): run npm run db:migrate`,
      );
  }

  let sinchConfig = config.sinch;
  let emulator: SinchEmulator | undefined;
  if (config.sinch.mode === 'emulator') {
    emulator = await createSinchEmulator({ ...EMBEDDED_EMULATOR, printCodes: true });
    closers.unshift(() => emulator!.close());
    sinchConfig = { ...config.sinch, baseUrl: emulator.url, ...EMBEDDED_EMULATOR, authScheme: 'signed' };
    logger.warn(
      `sinch: using the built-in Sinch EMULATOR (${config.sinch.emulatorReason}): no real SMS is sent; codes are printed to this console and served at GET /api/emulator/inbox`,
    );
  } else {
    logger.info('sinch: Verification API', { baseUrl: sinchConfig.baseUrl, authScheme: sinchConfig.authScheme });
  }

  const redis = config.rateLimit.redisUrl ? connectRedis(config.rateLimit.redisUrl, logger) : undefined;
  if (redis) closers.unshift(() => redis.close());
  else logger.info('redis: not configured (REDIS_URL); per-IP limits are counted per instance');

  const signingKeys = await loadSigningKeys(config.verificationToken, logger);
  if (signingKeys)
    logger.info('verification tokens: signing', { alg: signingKeys.current.alg, kid: signingKeys.current.kid });
  else logger.warn('verification tokens: off (VERIFICATION_TOKENS=off); verify-otp returns no token');

  logger.info(`metrics: ${describeMetrics(config.metrics)}`);
  const metrics = createMetrics({ sequelize });
  const services = createServices({
    config: { ...config, sinch: sinchConfig },
    logger,
    sequelize,
    redis,
    metrics,
    signingKeys,
  });
  closers.unshift(() => Promise.resolve(services.sinch.close()));
  // The effective Sinch settings (the emulator's, in zero-config mode) also authenticate callbacks.
  const app = createApp({
    config: { ...config, sinch: sinchConfig },
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
    emulator,
  });

  const webhooks = services.webhookWorker;
  if (webhooks) {
    webhooks.start();
    closers.unshift(() => webhooks.stop());
    logger.info('webhooks: delivering signed events', { host: new URL(config.webhooks.url).host });
  }

  const stopPurge = schedulePurge(sequelize, {
    retentionDays: config.retention.days,
    userRetentionDays: config.retention.userDays,
    intervalMinutes: config.retention.purgeIntervalMinutes,
    clock: systemClock,
    logger,
  });
  closers.unshift(() => Promise.resolve(stopPurge()));
  const stopFallbackSweep = scheduleFallbackSweep(() => services.verifications.fallBackOverdue(), {
    afterSeconds: config.otp.fallbackAfterSeconds,
    logger,
  });
  closers.unshift(stopFallbackSweep);

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.server.port, config.server.host, () => resolve(s));
    s.once('error', reject);
  });
  // Explicit timeouts: slow or idle clients cannot hold sockets forever.
  server.requestTimeout = config.server.requestTimeoutMs + 5000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  logger.info(`listening on http://${config.server.host === '0.0.0.0' ? 'localhost' : config.server.host}:${port}`, {
    port,
    host: typeof address === 'object' && address ? address.address : config.server.host,
  });

  return {
    server,
    async close() {
      await new Promise<void>((resolve) => {
        // Keep-alive sockets would hold close() open: idle ones go now, busy ones as soon as their
        // request finishes (hence the sweep, not a single call).
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      for (const close of closers) await close();
    },
  };
}

async function main(): Promise<void> {
  loadDotenv({ quiet: true });
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    process.stderr.write(
      `${error instanceof ConfigError ? error.message : String(error)}\nSee .env.example for every setting.\n`,
    );
    process.exit(1);
  }
  const logger = createLogger({ level: config.log.level, format: config.log.format, secrets: secretValues(config) });
  for (const warning of config.warnings) logger.warn(`config: ${warning}`);

  let running: Running;
  try {
    running = await start(config, logger);
  } catch (error) {
    logger.error('start-up failed', { error });
    process.exit(1);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: finishing in-flight requests', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown grace period over: forcing exit', { graceMs: config.server.shutdownGraceMs });
      process.exit(1);
    }, config.server.shutdownGraceMs);
    force.unref();
    running.close().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => logger.error('unhandled promise rejection', { error: reason }));
}

void main();
