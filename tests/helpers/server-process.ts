import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  port: number;
  /** Every stdout line, parsed when it is JSON (the service's log) and as `{ raw }` otherwise (the emulator's console). */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resolves with the first line matching `predicate`, waiting up to `timeoutMs`. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts the real service (src/server.ts, loaded through tsx: esbuild transpiles it in a second
 * where ts-node takes ten on this 2-core machine) with ONLY the given environment (nothing
 * from the developer's shell or a local .env leaks in) and resolves once it logs its port.
 */
export async function startServerProcess(env: Record<string, string>, options: { cwd?: string; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'server.ts')], {
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

  const waitForLine = (predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const found = lines.find(predicate);
        if (found) {
          clearInterval(timer);
          resolve(found);
        } else if (Date.now() - started > timeoutMs || child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`no matching line (exit ${child.exitCode}):\n${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
        }
      }, 25);
    });

  const listening = await waitForLine((l) => typeof l.message === 'string' && l.message.startsWith('listening on'), options.timeoutMs ?? 60_000);
  return {
    child,
    port: Number(listening.port),
    lines,
    stderr: () => stderr,
    exited,
    waitForLine,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
