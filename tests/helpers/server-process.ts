import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  port: number;
  /** Every stdout line, parsed when it is JSON (the service's log) and as `{ raw }` otherwise (the emulator's console). */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves when the process has exited, with the moment it did (`at`, epoch ms). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first line matching `predicate`, waiting up to `timeoutMs`. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM, then SIGKILL if the process is still there after `killAfterMs`; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  cwd?: string;
  /** How long to wait for the "listening on" line (default 60 s). */
  timeoutMs?: number;
  /** Run the built service (dist/server.js, after `npm run build`) rather than the TypeScript sources. */
  built?: boolean;
  /** How long stop() waits after SIGTERM before it sends SIGKILL (default 15 s). */
  killAfterMs?: number;
}

/**
 * Starts the real service (src/server.ts, loaded through tsx: esbuild transpiles it in a second
 * where ts-node takes ten on this 2-core machine) with ONLY the given environment (nothing
 * from the developer's shell or a local .env leaks in) and resolves once it logs its port.
 * If it exits or stays silent instead, the process is killed and the promise rejects with its output.
 */
export async function startServerProcess(
  env: Record<string, string>,
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const entry = options.built
    ? [path.join(ROOT, 'dist', 'server.js')]
    : ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')];
  const child = spawn(process.execPath, entry, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });

  const running = () => child.exitCode === null && child.signalCode === null;
  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const found = lines.find(predicate);
        if (found) {
          clearInterval(timer);
          resolve(found);
        } else if (Date.now() - started > timeoutMs || !running()) {
          clearInterval(timer);
          reject(
            new Error(
              `no matching line (exit ${child.exitCode}):\n${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
            ),
          );
        }
      }, 25);
    });

  async function stop(): Promise<void> {
    if (!running()) return;
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 15_000);
    await exited;
    clearTimeout(force);
  }

  let listening: Record<string, unknown>;
  try {
    listening = await waitForLine(
      (l) => typeof l.message === 'string' && l.message.startsWith('listening on'),
      options.timeoutMs ?? 60_000,
    );
  } catch (error) {
    // A process that never listened must not outlive the test that started it.
    if (running()) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return { child, port: Number(listening.port), lines, stderr: () => stderr, exited, waitForLine, stop };
}

export interface FinishedProcess {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real service (as startServerProcess, with ONLY the given environment) when it is expected to
 * refuse to start: resolves with its exit code and output once it exits. A process still running after
 * `timeoutMs` is killed and the promise rejects, so a start-up that should have failed cannot hang a test.
 */
export function runServerUntilExit(env: Record<string, string>, timeoutMs = 60_000): Promise<FinishedProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service did not exit within ${timeoutMs} ms:\n${stderr}\n${stdout}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
