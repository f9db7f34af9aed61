/**
 * Starts the real service as a child process on its in-process Sinch emulator (which mounts the
 * emulated inbox the demo page shows): the zero-config mode on embedded PGlite, or SINCH_EMULATOR=true
 * on a database server (a database without Sinch credentials is otherwise refused).
 *
 * Database: with TEST_DATABASE_URL or DATABASE_URL set (CI's PostgreSQL), a database of the same
 * name plus `_e2e` is recreated and migrated on that server, so the e2e run never touches the
 * integration suite's data; otherwise the service's own embedded PGlite runs in a temp DATA_DIR.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { migrateUp } from '../../src/db/migrator';
import { recreateDatabase } from '../helpers/database';
import { freePort } from '../helpers/net';
import { startServerProcess } from '../helpers/server-process';

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

export interface RunningService {
  url: string;
  /** Everything the service wrote so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function prepareServerDatabase(base: string): Promise<string> {
  const url = new URL(base);
  url.pathname = `/${decodeURIComponent(url.pathname.slice(1)) || 'postgres'}_e2e`;
  await recreateDatabase(url.toString());
  const sequelize = new Sequelize(url.toString(), { logging: false });
  try {
    await migrateUp(sequelize);
  } finally {
    await sequelize.close();
  }
  return url.toString();
}

/** `E2E_SERVER=dist` runs the built service (after `npm run build`); by default the TypeScript sources. */
export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  const serverDatabase = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  const databaseUrl = serverDatabase ? await prepareServerDatabase(serverDatabase) : '';
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'otp-e2e-'));

  try {
    const server = await startServerProcess(
      {
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        // Empty values win over a developer's .env (dotenv never overrides) and count as unset.
        DB_HOST: '',
        SINCH_APPLICATION_KEY: '',
        SINCH_APPLICATION_SECRET: '',
        SINCH_KEY_ID: '',
        SINCH_KEY_SECRET: '',
        SINCH_API_BASE_URL: '',
        SINCH_EMULATOR: databaseUrl ? 'true' : '',
        REDIS_URL: '',
        ...env,
      },
      { built: process.env.E2E_SERVER === 'dist', timeoutMs: START_TIMEOUT_MS, killAfterMs: STOP_TIMEOUT_MS },
    );
    return {
      url: `http://127.0.0.1:${server.port}`,
      output: () =>
        [...server.lines.map((l) => (typeof l.raw === 'string' ? l.raw : JSON.stringify(l))), server.stderr()].join(
          '\n',
        ),
      async stop() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
