import path from 'node:path';
import { Sequelize, type QueryInterface } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Logger } from '../config/logger';

interface MigrationModule {
  up(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<void>;
  down(queryInterface: QueryInterface, sequelize: typeof Sequelize): Promise<void>;
}

/** Works from src/db (ts-node, jest) and from dist/db (built): the project root is two levels up. */
const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/**
 * Runs the same migration files as `npm run db:migrate`, recording them in the same SequelizeMeta
 * table, so the CLI and the embedded start-up path never disagree about what has been applied.
 */
export function createMigrator(sequelize: Sequelize, logger?: Logger): Umzug<QueryInterface> {
  return new Umzug({
    migrations: {
      glob: ['*.js', { cwd: MIGRATIONS_DIR }],
      resolve: ({ name, path: file, context }) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const migration = require(file as string) as MigrationModule;
        return { name, up: () => migration.up(context, Sequelize), down: () => migration.down(context, Sequelize) };
      },
    },
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize }),
    logger: logger
      ? {
          info: (m) => logger.info('migration', m),
          warn: (m) => logger.warn('migration', m),
          error: (m) => logger.error('migration', m),
          debug: () => undefined,
        }
      : undefined,
  });
}

/**
 * Applies pending migrations. With `lock`, a transaction-scoped advisory lock makes instances
 * that start together migrate once (not for PGlite: its one real connection serialises everything,
 * and an open transaction there would block the migration's own queries).
 */
export async function migrateUp(
  sequelize: Sequelize,
  options: { logger?: Logger; lock?: boolean } = {},
): Promise<string[]> {
  const run = async () => (await createMigrator(sequelize, options.logger).up()).map((m) => m.name);
  if (!options.lock) return run();
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT pg_advisory_xact_lock(727274001)', { transaction });
    return run();
  });
}

/** Names of migrations not yet applied. */
export async function pendingMigrations(sequelize: Sequelize): Promise<string[]> {
  return (await createMigrator(sequelize).pending()).map((m) => m.name);
}
