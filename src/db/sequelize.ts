import { Sequelize, type Options } from 'sequelize';
import type { DatabaseConfig } from '../config';
import type { Logger } from '../config/logger';

/** Sequelize options shared by the service and sequelize-cli (src/config/database.ts). */
export function sequelizeOptions(db: DatabaseConfig): Options & { url?: string } {
  const connection = db.url
    ? { url: db.url }
    : { host: db.host, port: db.port, username: db.user, password: db.password, database: db.name };
  return {
    ...connection,
    dialect: 'postgres',
    dialectOptions: {
      application_name: 'otp-verification-service',
      // Fail fast instead of hanging a request when the server is unreachable or a query is stuck.
      connectionTimeoutMillis: 3000,
      statement_timeout: db.statementTimeoutMs,
      ...(db.ssl ? { ssl: { rejectUnauthorized: true } } : {}),
    },
    pool: { max: db.poolMax, min: 0, acquire: 5000, idle: 10_000, evict: 5000 },
    define: { freezeTableName: true },
  };
}

/** The service's Sequelize instance; SQL goes to the debug log (without bound values) when DB_LOGGING=true. */
export function createSequelize(db: DatabaseConfig, logger: Logger): Sequelize {
  const { url, ...options } = sequelizeOptions(db);
  const logging = db.logging ? (sql: string) => logger.debug('sql', { sql }) : false;
  return url ? new Sequelize(url, { ...options, logging }) : new Sequelize({ ...options, logging });
}
