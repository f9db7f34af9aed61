/**
 * `npm run db:purge`: deletes verifications older than VERIFICATION_RETENTION_DAYS, numbers unused
 * for USER_RETENTION_DAYS, expired idempotency keys, old send windows and expired callback memory,
 * in batches. The running service also does this every
 * PURGE_INTERVAL_MINUTES; this script is for cron jobs and for services run with the interval off.
 */
import { config as loadDotenv } from 'dotenv';
import { loadConfig } from '../config';
import { createLogger } from '../config/logger';
import { createSequelize } from '../db/sequelize';
import { purgeExpired } from '../services/retention.service';
import { systemClock } from '../utils/clock';
import { runScript } from './run-script';

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  if (config.database.mode === 'embedded') {
    logger.error(
      'db:purge needs DATABASE_URL (or DB_HOST): the embedded database is purged by the running service itself',
    );
    return 1;
  }
  const sequelize = createSequelize(config.database, logger);
  try {
    await purgeExpired(sequelize, {
      retentionDays: config.retention.days,
      userRetentionDays: config.retention.userDays,
      clock: systemClock,
      logger,
    });
    return 0;
  } finally {
    await sequelize.close();
  }
}

runScript(main);
