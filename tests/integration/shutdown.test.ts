import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';

const ROOT = path.resolve(__dirname, '..', '..');
const SINCH_DELAY_MS = 1500;
const GRACE_MS = 8000;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  port: number;
  lines: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Starts the real server (src/server.ts through ts-node) and resolves once it logs its port. */
async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/server.ts'], {
    cwd: ROOT,
    // Only what the server needs: nothing from the developer's shell or a local .env leaks in.
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
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ message: line });
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const listening = lines.find((l) => typeof l.message === 'string' && l.message.startsWith('listening on'));
      if (listening) {
        clearInterval(timer);
        resolve(Number(listening.port));
      }
    }, 25);
    void exited.then(({ code }) => {
      clearInterval(timer);
      reject(new Error(`server exited with ${code} before listening:\n${stderr}\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
    });
  });
  return { child, port, lines, exited };
}

function post(port: number, agent: http.Agent, urlPath: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function get(port: number, agent: http.Agent, urlPath: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      })
      .on('error', reject);
  });
}

/** Resolves with the connect error code, or 'connected' when something still accepts connections. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Graceful shutdown of the server process on SIGTERM', () => {
  let emulator: SinchEmulator;
  let server: RunningServer;
  const phone = uniquePhone();
  const idleAgent = new http.Agent({ keepAlive: true });
  const busyAgent = new http.Agent({ keepAlive: true });
  let idleWarmup: Answer;
  let inFlight: Promise<Answer>;
  let connectAfterSigterm: string;
  let sigtermAt: number;

  beforeAll(async () => {
    emulator = await createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });
    server = await startServer({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DATABASE_URL: testDatabaseUrl(),
      SINCH_APPLICATION_KEY: SINCH_KEY,
      SINCH_APPLICATION_SECRET: SINCH_SECRET,
      SINCH_API_BASE_URL: emulator.url,
      SINCH_TIMEOUT_MS: '5000',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      PURGE_INTERVAL_MINUTES: '0',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
      // The global per-minute ceiling is counted in the shared test database, where parallel test
      // files send far more than the default 100 a minute.
      OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
    });

    // Browser-like clients use keep-alive: one connection is idle at SIGTERM, the other turns idle
    // once its in-flight response is sent. Neither may keep the process alive until the grace period.
    idleWarmup = await get(server.port, idleAgent, '/health/live');
    // A request is in flight, waiting on a slow Sinch, when SIGTERM arrives.
    emulator.injectFault('start', { kind: 'delay', ms: SINCH_DELAY_MS });
    inFlight = post(server.port, busyAgent, '/api/request-otp', { phoneNumber: phone });
    let early: Answer | undefined;
    void inFlight.then((answer) => (early = answer), () => undefined);
    await until(() => early !== undefined || emulator.requests.some((r) => r.path === '/verification/v1/verifications'), 5000);
    if (early) throw new Error(`the request was answered before it reached Sinch: ${JSON.stringify(early)}`);

    sigtermAt = Date.now();
    server.child.kill('SIGTERM');
    await until(() => server.lines.some((l) => l.message === 'shutting down: finishing in-flight requests'), 5000);
    // The listening socket closes right after that line; give the child a moment to get there.
    const deadline = Date.now() + 1000;
    do connectAfterSigterm = await tryConnect(server.port);
    while (connectAfterSigterm === 'connected' && Date.now() < deadline);
  }, 30_000);

  afterAll(async () => {
    idleAgent.destroy();
    busyAgent.destroy();
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await emulator.close();
  });

  test('When SIGTERM arrives during a request, then that request still completes with 200', async () => {
    const answer = await inFlight;

    expect(idleWarmup.status).toBe(200);
    expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'success', data: expect.objectContaining({ phoneNumber: phone }) }) });
    expect(Date.now() - sigtermAt).toBeGreaterThanOrEqual(SINCH_DELAY_MS / 2);
  });

  test('When SIGTERM arrives, then new connections are refused', () => {
    expect(connectAfterSigterm).toBe('ECONNREFUSED');
  });

  test('When the in-flight request is done, then the process exits 0 before the grace period, although both clients use keep-alive', async () => {
    const { code, signal, at } = await server.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(at - sigtermAt).toBeLessThan(GRACE_MS);
    expect(server.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['shutting down: finishing in-flight requests', 'shutdown complete']));
    expect(server.lines.some((l) => l.level === 'error')).toBe(false);
  });

  test('When the in-flight request finished during shutdown, then its Verification row was written before the pool closed', async () => {
    await inFlight;
    const sequelize = new Sequelize(testDatabaseUrl(), { logging: false });
    try {
      const [rows] = await sequelize.query('SELECT "status" FROM "Verifications" WHERE "phoneNumber" = $1', { bind: [phone] });
      expect(rows).toEqual([{ status: 'PENDING' }]);
    } finally {
      await sequelize.close();
    }
  });
});
