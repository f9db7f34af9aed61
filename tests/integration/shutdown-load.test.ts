import http from 'node:http';
import { Sequelize, QueryTypes } from 'sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { audit } from '../helpers/log-audit';
import { connectOutcomeWithin, freePort, postJson, type JsonAnswer } from '../helpers/net';
import { until } from '../helpers/otp-flow';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';

const IN_FLIGHT = 30;
const SINCH_DELAY_MS = 1500;
const GRACE_MS = 10_000;

const logged = (server: ServerProcess, message: string) => server.lines.filter((l) => l.message === message);

describe('SIGTERM under load: 30 request-otp calls in flight', () => {
  let emulator: SinchEmulator;
  let server: ServerProcess;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const phones = Array.from({ length: IN_FLIGHT }, () => uniquePhone());
  let inFlight: Array<Promise<JsonAnswer>>;
  let connectAfterSigterm: string;
  let sigtermAt: number;

  beforeAll(async () => {
    emulator = await createSinchEmulator({
      applicationKey: SINCH_KEY,
      applicationSecret: SINCH_SECRET,
      codeLength: 6,
      onMessage: (m) => audit.forbidden(m.code),
    });
    server = await startServerProcess({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DATABASE_URL: testDatabaseUrl(),
      SINCH_APPLICATION_KEY: SINCH_KEY,
      SINCH_APPLICATION_SECRET: SINCH_SECRET,
      SINCH_API_BASE_URL: emulator.url,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      PURGE_INTERVAL_MINUTES: '0',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
      RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '1000',
      OTP_GLOBAL_SENDS_PER_MINUTE: '100000',
    });
    // Every start waits at Sinch, so all 30 are in flight when SIGTERM arrives.
    emulator.injectFault('start', { kind: 'delay', ms: SINCH_DELAY_MS }, Infinity);
    inFlight = phones.map((phoneNumber) => postJson(server.port, agent, '/api/request-otp', { phoneNumber }));
    await until(
      () => emulator.requests.filter((r) => r.path === '/verification/v1/verifications').length === IN_FLIGHT,
      10_000,
      'all starts at Sinch',
    );

    sigtermAt = Date.now();
    server.child.kill('SIGTERM');
    await until(() => logged(server, 'shutting down: finishing in-flight requests').length > 0, 5000, 'shutdown begun');
    connectAfterSigterm = await connectOutcomeWithin(server.port, 1000);
  }, 60_000);

  afterAll(async () => {
    // The server process's log lines join the run-wide audit (no codes, secrets or full numbers).
    for (const line of server.lines) audit.logLine(JSON.stringify(line));
    agent.destroy();
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await emulator.close();
  });

  test('When SIGTERM arrives with 30 requests in flight, then every one of them completes with 200 and its own verification', async () => {
    const answers = await Promise.all(inFlight);

    expect(answers.map((a) => a.status)).toEqual(Array(IN_FLIGHT).fill(200));
    expect(answers.map((a) => (a.body.data as { phoneNumber: string }).phoneNumber)).toEqual(phones);
    expect(new Set(answers.map((a) => (a.body.data as { verificationId: string }).verificationId)).size).toBe(
      IN_FLIGHT,
    );
    expect(Date.now() - sigtermAt).toBeGreaterThanOrEqual(SINCH_DELAY_MS / 2);
  });

  test('When SIGTERM has arrived, then new connections are refused while the old ones finish', () => {
    expect(connectAfterSigterm).toBe('ECONNREFUSED');
  });

  test('When the in-flight requests are done, then the process exits 0 within the grace period, with nothing logged as an error', async () => {
    const { code, signal, at } = await server.exited;

    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(at - sigtermAt).toBeLessThan(GRACE_MS);
    expect(logged(server, 'shutdown complete')).toHaveLength(1);
    expect(server.lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(
      logged(server, 'request completed').filter((l) => l.route === '/api/request-otp' && l.status === 200),
    ).toHaveLength(IN_FLIGHT);
  });

  test('When the in-flight requests finished during shutdown, then all 30 verifications were written before the pool closed', async () => {
    await server.exited;
    const sequelize = new Sequelize(testDatabaseUrl(), { logging: false });
    try {
      const rows = await sequelize.query<{ phoneNumber: string; status: string }>(
        `SELECT "phoneNumber", "status" FROM "Verifications" WHERE "phoneNumber" = ANY($1) ORDER BY "phoneNumber"`,
        { bind: [phones], type: QueryTypes.SELECT },
      );
      expect(rows).toEqual([...phones].sort().map((phoneNumber) => ({ phoneNumber, status: 'PENDING' })));
    } finally {
      await sequelize.close();
    }
  });
});
