/**
 * A real PostgreSQL (PGlite, served over the wire protocol) in a child process of its own, on a
 * fixed port with a data directory on disk: a test can crash it (SIGKILL) and start it again on the
 * same port and data, as a database server restart, without disturbing any other test file.
 *
 * Run directly (`node --import tsx tests/helpers/pglite-process.ts <dir> <port>`)
 * it serves until SIGTERM and prints "ready" once it accepts connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';

const ROOT = path.resolve(__dirname, '..', '..');
const START_TIMEOUT_MS = 45_000;

export interface PgliteProcess {
  readonly url: string;
  /** Starts the server (again), on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILL: a crash, no shutdown of any kind. */
  kill(): Promise<void>;
  /** SIGTERM, or SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export function pgliteProcess(dataDir: string, port: number): PgliteProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    // tsx, not ts-node: esbuild starts it in about a second on this 2-core machine.
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('tests', 'helpers', 'pglite-process.ts'), dataDir, String(port)],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`PGlite did not start within ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`PGlite exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
  }

  async function signal(name: NodeJS.Signals): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await exited;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    kill: () => signal('SIGKILL'),
    async stop() {
      const force = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await signal('SIGTERM');
      clearTimeout(force);
    },
  };
}

async function main(dataDir: string, port: number): Promise<void> {
  const db = await startEmbeddedPostgres(dataDir, { port, maxConnections: 16 });
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    void db.stop().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  const [dataDir, port] = process.argv.slice(2);
  if (!dataDir || !port) throw new Error('usage: pglite-process.ts <dataDir> <port>');
  main(dataDir, Number(port)).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
