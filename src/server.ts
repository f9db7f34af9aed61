/**
 * The composition root: load config -> database (external, or embedded PGlite) -> Sinch (remote, or
 * the in-process emulator) -> createApp -> listen -> graceful shutdown. The only file that listens,
 * connects, reads process.env or installs process handlers.
 */
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Sequelize } from 'sequelize';
import { config as loadDotenv } from 'dotenv';
import { createApp } from './app';
import { ConfigError, effectiveConfig, loadConfig, secretValues, type Config, type RuntimeEndpoints } from './config';
import { createLogger, type Logger } from './config/logger';
import { startEmbeddedPostgres } from './db/embedded-postgres';
import { migrateUp, pendingMigrations } from './db/migrator';
import { createSequelize } from './db/sequelize';
import { createSinchEmulator, type SinchEmulator } from './emulator/sinch-emulator';
import { createServices, type Services } from './services';
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

/** What start() opened, closed in reverse order of opening on shutdown. */
type Closers = Array<() => Promise<void> | void>;

/**
 * database -> Sinch -> one effective config -> services and app -> background work -> listen.
 * Each step registers how to undo itself, so shutdown closes what was opened, newest first.
 */
async function start(config: Config, logger: Logger): Promise<Running> {
  const closers: Closers = [];
  const database = await startEmbeddedDatabase(config.database, logger, closers);
  const { emulator, endpoint: sinch } = await startSinch(config.sinch, logger, closers);
  const effective = effectiveConfig(config, { database, sinch });
  const sequelize = await connectDatabase(effective.database, logger, closers);

  const redis = effective.rateLimit.redisUrl ? connectRedis(effective.rateLimit.redisUrl, logger) : undefined;
  if (redis) closers.unshift(() => redis.close());
  else logger.info('redis: not configured (REDIS_URL); per-IP limits are counted per instance');
  const signingKeys = await loadSigningKeys(effective.verificationToken, logger);
  if (signingKeys)
    logger.info('verification tokens: signing', { alg: signingKeys.current.alg, kid: signingKeys.current.kid });
  else logger.warn('verification tokens: off (VERIFICATION_TOKENS=off); verify-otp returns no token');
  logger.info(`metrics: ${describeMetrics(effective.metrics)}`);

  const metrics = createMetrics({ sequelize });
  const services = createServices({ config: effective, logger, sequelize, redis, metrics, signingKeys });
  closers.unshift(() => services.sinch.close());
  const app = createApp({ ...services, config: effective, logger, sequelize, metrics, emulator });
  startBackgroundWork(effective, services, sequelize, logger, closers);

  const server = await listen(app, effective.server, logger);
  return { server, close: () => stop(server, closers) };
}

/** The embedded PostgreSQL, when no server is configured: where it listens. */
async function startEmbeddedDatabase(
  settings: Config['database'],
  logger: Logger,
  closers: Closers,
): Promise<RuntimeEndpoints['database']> {
  if (settings.mode !== 'embedded') {
    logger.info('database: PostgreSQL server', {
      host: settings.url ? new URL(settings.url).hostname : settings.host,
      database: settings.url ? new URL(settings.url).pathname.slice(1) : settings.name,
    });
    return undefined;
  }
  const embedded = await startEmbeddedPostgres(settings.dataDir);
  closers.unshift(() => embedded.stop());
  logger.info('database: embedded PostgreSQL (PGlite) for development; set DATABASE_URL to use a server', {
    dataDir: settings.dataDir,
  });
  return { host: embedded.host, port: embedded.port };
}

/** Connects; migrates the embedded database, and refuses a server whose schema is behind. */
async function connectDatabase(settings: Config['database'], logger: Logger, closers: Closers): Promise<Sequelize> {
  const sequelize = createSequelize(settings, logger);
  closers.unshift(() => sequelize.close());
  await sequelize.authenticate();
  if (settings.mode === 'embedded') {
    const applied = await migrateUp(sequelize, { logger });
    if (applied.length) logger.info('database: migrations applied', { applied });
    return sequelize;
  }
  const pending = await pendingMigrations(sequelize);
  if (pending.length)
    throw new Error(
      `The database schema is behind by ${pending.length} migration(s) (${pending.join(', ')}): run npm run db:migrate`,
    );
  return sequelize;
}

/** The in-process emulator, in emulator mode: where it listens and the credentials it checks. */
async function startSinch(
  settings: Config['sinch'],
  logger: Logger,
  closers: Closers,
): Promise<{ emulator?: SinchEmulator; endpoint?: RuntimeEndpoints['sinch'] }> {
  if (settings.mode !== 'emulator') {
    logger.info('sinch: Verification API', { baseUrl: settings.baseUrl, authScheme: settings.authScheme });
    return {};
  }
  const emulator = await createSinchEmulator({ ...EMBEDDED_EMULATOR, printCodes: true });
  closers.unshift(() => emulator.close());
  logger.warn(
    `sinch: using the built-in Sinch EMULATOR (${settings.emulatorReason}): no real SMS is sent; codes are printed to this console and served at GET /api/emulator/inbox`,
  );
  return { emulator, endpoint: { baseUrl: emulator.url, ...EMBEDDED_EMULATOR } };
}

/** The webhook worker, the retention purge and the fallback sweep: timers that stop on shutdown. */
function startBackgroundWork(
  config: Config,
  services: Services,
  sequelize: Sequelize,
  logger: Logger,
  closers: Closers,
): void {
  const webhooks = services.webhookWorker;
  if (webhooks) {
    webhooks.start();
    closers.unshift(() => webhooks.stop());
    logger.info('webhooks: delivering signed events', { host: new URL(config.webhooks.url).host });
  }
  closers.unshift(
    schedulePurge(sequelize, {
      retentionDays: config.retention.days,
      userRetentionDays: config.retention.userDays,
      intervalMinutes: config.retention.purgeIntervalMinutes,
      clock: systemClock,
      logger,
    }),
  );
  closers.unshift(
    scheduleFallbackSweep(() => services.verifications.fallBackOverdue(), {
      afterSeconds: config.otp.fallbackAfterSeconds,
      logger,
    }),
  );
}

async function listen(app: Express, settings: Config['server'], logger: Logger): Promise<Server> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(settings.port, settings.host, () => resolve(s));
    s.once('error', reject);
  });
  // Explicit timeouts: slow or idle clients cannot hold sockets forever.
  server.requestTimeout = settings.requestTimeoutMs + 5000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  logger.info(`listening on http://${settings.host === '0.0.0.0' ? 'localhost' : settings.host}:${port}`, {
    port,
    host: typeof address === 'object' && address ? address.address : settings.host,
  });
  return server;
}

/** Stops taking requests, lets in-flight ones finish, then closes what start() opened, newest first. */
async function stop(server: Server, closers: Closers): Promise<void> {
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
