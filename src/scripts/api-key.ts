/**
 * `npm run api-key -- create <name> | list | revoke <name>`: the API keys of the server-side API
 * (/api/verifications/*). `create` prints the new key alone on the last line of stdout, once: only
 * its SHA-256 hash is stored, so it cannot be shown again (`... | tail -n 1` captures it in scripts).
 */
import { config as loadDotenv } from 'dotenv';
import { loadDatabaseConfig } from '../config';
import { createLogger } from '../config/logger';
import { apiKeyQueries } from '../db/queries/api-keys';
import { pendingMigrations } from '../db/migrator';
import { createSequelize } from '../db/sequelize';
import { initModels } from '../models';
import { createApiKeyService, type ApiKeyListing, type ApiKeyService } from '../services/api-key.service';
import { AppError } from '../utils/app-error';
import { systemClock } from '../utils/clock';
import { runScript } from './run-script';

const USAGE = `Usage:
  npm run api-key -- create <name>   make a key; it is printed once, on the last line
  npm run api-key -- list            name, prefix, created, last used, revoked (never the key)
  npm run api-key -- revoke <name>   the key stops working at once
`;

interface Output {
  out(text: string): void;
  err(text: string): void;
}

function table(keys: ApiKeyListing[]): string {
  const rows = [
    ['NAME', 'PREFIX', 'CREATED', 'LAST USED', 'REVOKED'],
    ...keys.map((k) => [
      k.name,
      k.prefix,
      k.createdAt.toISOString(),
      k.lastUsedAt?.toISOString() ?? 'never',
      k.revokedAt?.toISOString() ?? '-',
    ]),
  ];
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return (
    rows
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** Runs one command; resolves the exit code. */
async function run(argv: string[], apiKeys: ApiKeyService, io: Output): Promise<number> {
  const [command, name, ...extra] = argv;
  if (command === 'list' && name === undefined) {
    const keys = await apiKeys.list();
    io.out(keys.length ? table(keys) : 'No API keys yet: npm run api-key -- create <name>\n');
    return 0;
  }
  if (command === 'create' && name !== undefined && !extra.length) {
    const { key, listing } = await apiKeys.create(name);
    io.out(`Created API key "${listing.name}" (prefix ${listing.prefix}). Store it now: it cannot be shown again.\n`);
    io.out(`${key}\n`);
    return 0;
  }
  if (command === 'revoke' && name !== undefined && !extra.length) {
    if (await apiKeys.revoke(name)) {
      io.out(`Revoked API key "${name}": requests with it now get 401.\n`);
      return 0;
    }
    io.err(`No API key in use is named "${name}" (npm run api-key -- list).\n`);
    return 1;
  }
  io.err(USAGE);
  return 2;
}

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  const io: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  const database = loadDatabaseConfig(process.env);
  if (database.mode === 'embedded') {
    io.err('api-key needs DATABASE_URL (or DB_HOST): the embedded database belongs to the running service.\n');
    return 1;
  }
  const sequelize = createSequelize(database, createLogger({ level: 'error', format: 'json', silent: true }));
  try {
    const pending = await pendingMigrations(sequelize);
    if (pending.length) {
      io.err(`The database schema is behind by ${pending.length} migration(s): run npm run db:migrate first.\n`);
      return 1;
    }
    const apiKeys = createApiKeyService(apiKeyQueries(initModels(sequelize)), systemClock);
    return await run(process.argv.slice(2), apiKeys, io);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    io.err(`${error.message}\n`);
    return 1;
  } finally {
    await sequelize.close();
  }
}

runScript(main);
