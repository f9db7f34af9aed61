import http from 'node:http';
import { Sequelize } from 'sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { connectOutcomeWithin, getJson, postJson, type JsonAnswer } from '../helpers/net';
import { until } from '../helpers/otp-flow';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';

const SINCH_DELAY_MS = 1500;
const GRACE_MS = 8000;

describe('Graceful shutdown of the server process on SIGTERM', () => {
  let emulator: SinchEmulator;
  let server: ServerProcess;
  const phone = uniquePhone();
  const idleAgent = new http.Agent({ keepAlive: true });
  const busyAgent = new http.Agent({ keepAlive: true });
  let idleWarmup: JsonAnswer;
  let inFlight: Promise<JsonAnswer>;
  let connectAfterSigterm: string;
  let sigtermAt: number;

  beforeAll(async () => {
    emulator = await createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });
    server = await startServerProcess({
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
    idleWarmup = await getJson(server.port, idleAgent, '/health/live');
    // A request is in flight, waiting on a slow Sinch, when SIGTERM arrives.
    emulator.injectFault('start', { kind: 'delay', ms: SINCH_DELAY_MS });
    inFlight = postJson(server.port, busyAgent, '/api/request-otp', { phoneNumber: phone });
    let early: JsonAnswer | undefined;
    void inFlight.then(
      (answer) => (early = answer),
      () => undefined,
    );
    await until(
      () => early !== undefined || emulator.requests.some((r) => r.path === '/verification/v1/verifications'),
      5000,
      'the start at Sinch',
    );
    if (early) throw new Error(`the request was answered before it reached Sinch: ${JSON.stringify(early)}`);

    sigtermAt = Date.now();
    server.child.kill('SIGTERM');
    await until(
      () => server.lines.some((l) => l.message === 'shutting down: finishing in-flight requests'),
      5000,
      'shutdown begun',
    );
    // The listening socket closes right after that line; give the child a moment to get there.
    connectAfterSigterm = await connectOutcomeWithin(server.port, 1000);
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
    expect(answer).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'success', data: expect.objectContaining({ phoneNumber: phone }) }),
    });
    expect(Date.now() - sigtermAt).toBeGreaterThanOrEqual(SINCH_DELAY_MS / 2);
  });

  test('When SIGTERM arrives, then new connections are refused', () => {
    expect(connectAfterSigterm).toBe('ECONNREFUSED');
  });

  test('When the in-flight request is done, then the process exits 0 before the grace period, although both clients use keep-alive', async () => {
    const { code, signal, at } = await server.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(at - sigtermAt).toBeLessThan(GRACE_MS);
    expect(server.lines.map((l) => l.message)).toEqual(
      expect.arrayContaining(['shutting down: finishing in-flight requests', 'shutdown complete']),
    );
    expect(server.lines.some((l) => l.level === 'error')).toBe(false);
  });

  test('When the in-flight request finished during shutdown, then its Verification row was written before the pool closed', async () => {
    await inFlight;
    const sequelize = new Sequelize(testDatabaseUrl(), { logging: false });
    try {
      const [rows] = await sequelize.query('SELECT "status" FROM "Verifications" WHERE "phoneNumber" = $1', {
        bind: [phone],
      });
      expect(rows).toEqual([{ status: 'PENDING' }]);
    } finally {
      await sequelize.close();
    }
  });
});
