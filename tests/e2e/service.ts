/**
 * Starts the real service as a child process, in zero-config mode: no Sinch credentials, so it runs
 * the in-process Sinch emulator (and mounts the emulated inbox the demo page shows).
 *
 * Database: with TEST_DATABASE_URL or DATABASE_URL set (CI's PostgreSQL), a database of the same
 * name plus `_e2e` is recreated and migrated on that server, so the e2e run never touches the
 * integration suite's data; otherwise the service's own embedded PGlite runs in a temp DATA_DIR.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { migrateUp } from '../../src/db/migrator';
import { recreateDatabase } from '../helpers/database';

const ROOT = path.resolve(__dirname, '..', '..');
const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;

export interface RunningService {
  url: string;
  /** Everything the service wrote so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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
function command(): string[] {
  return process.env.E2E_SERVER === 'dist' ? ['dist/server.js'] : ['-r', 'ts-node/register/transpile-only', 'src/server.ts'];
}

export async function startService(env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  const serverDatabase = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  const databaseUrl = serverDatabase ? await prepareServerDatabase(serverDatabase) : '';
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'otp-e2e-'));

  const child: ChildProcess = spawn(process.execPath, command(), {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
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
      SINCH_API_BASE_URL: '',
      REDIS_URL: '',
      ...env,
    },
  });

  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The service did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('listening on http')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`The service exited (${signal ?? code}) before listening:\n${output}`));
    });
  });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(force);
    }
    await rm(dataDir, { recursive: true, force: true });
  }

  try {
    await listening;
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}
