import os from 'node:os';
import { QueryTypes, Sequelize } from 'sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { tryConnect } from '../helpers/net';
import { runServerUntilExit, startServerProcess, type ServerProcess } from '../helpers/server-process';
import { SINCH_SECRET, TEST_SIGNING_KEY } from '../helpers/test-app';

/**
 * What only a real process shows about start-up: which fallbacks it refuses, which interface it
 * binds, what it logs. The many combinations of settings are unit tests of loadConfig
 * (tests/unit/config.test.ts); here a few processes, each started once.
 */

/** A non-loopback IPv4 address of this machine. Without one the loopback test could only pass vacuously. */
function nonLoopbackAddress(): string {
  const address = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;
  if (!address)
    throw new Error(
      'This machine has no non-loopback IPv4 address (os.networkInterfaces()), so the test cannot show that such an address is unreachable; run it where the machine has a network interface',
    );
  return address;
}

/** The settings every process here shares: the suite's database, any free port, JSON logs. */
function baseEnv(): Record<string, string> {
  return {
    PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATABASE_URL: testDatabaseUrl(),
    // PGlite serves every client on one session, where prepared statement names would collide.
    DB_PREPARED_STATEMENTS: process.env.TEST_DATABASE_EMBEDDED === '1' ? 'false' : 'true',
    PURGE_INTERVAL_MINUTES: '0',
    // The global ceiling is counted in the shared test database, where parallel test files send many.
    OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
    // Production needs a token signing key; elsewhere it keeps a development key out of ./data.
    VERIFICATION_TOKEN_PRIVATE_KEY: TEST_SIGNING_KEY,
  };
}

/** The problems a refused start-up printed (the ConfigError's "  - " lines). */
function problemLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('  - '));
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { data?: { verificationId?: string; messages?: Array<{ code?: string }> } };
}

async function call(port: number, method: 'GET' | 'POST', route: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

function messages(server: ServerProcess): string[] {
  return server.lines.flatMap((l) => (typeof l.message === 'string' ? [l.message] : []));
}

describe('Start-up: the built-in Sinch emulator only on purpose', () => {
  test('When a database is configured without Sinch credentials (NODE_ENV unset), then the process exits 1 with one message naming both ways forward', async () => {
    const { DATABASE_URL, PORT } = baseEnv();

    const run = await runServerUntilExit({ DATABASE_URL: DATABASE_URL!, PORT: PORT! });

    expect(run.code).toBe(1);
    expect(problemLines(run.stderr)).toEqual([
      expect.stringMatching(
        /^ {2}- A database is configured \(DATABASE_URL or DB_HOST\) but no Sinch credentials: set SINCH_APPLICATION_KEY and SINCH_APPLICATION_SECRET .*, or SINCH_EMULATOR=true /,
      ),
    ]);
    expect(run.stdout).not.toContain('listening on');
  }, 90_000);

  describe('SINCH_EMULATOR=true with a database, HOST unset', () => {
    let server: ServerProcess;
    let sequelize: Sequelize;
    beforeAll(async () => {
      server = await startServerProcess({ ...baseEnv(), SINCH_EMULATOR: 'true' });
      sequelize = new Sequelize(testDatabaseUrl(), { logging: false, pool: { max: 1 } });
    }, 90_000);
    afterAll(async () => {
      await sequelize?.close();
      await server?.stop();
    });

    test('When a code is requested, then the emulator "sends" it (inbox) and the verification lands in the configured database', async () => {
      const phone = uniquePhone();

      const requested = await call(server.port, 'POST', '/api/request-otp', { phoneNumber: phone });
      const inbox = await call(server.port, 'GET', `/api/emulator/inbox?phoneNumber=${encodeURIComponent(phone)}`);

      expect(messages(server)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^database: PostgreSQL server/),
          expect.stringMatching(/^sinch: using the built-in Sinch EMULATOR \(SINCH_EMULATOR=true\)/),
        ]),
      );
      expect(requested).toMatchObject({ status: 200, body: { status: 'success', data: { phoneNumber: phone } } });
      expect(inbox).toMatchObject({
        status: 200,
        body: { data: { messages: [{ to: phone, code: expect.any(String) }] } },
      });
      const rows = await sequelize.query<{ phoneNumber: string }>(
        'SELECT "phoneNumber" FROM "Verifications" WHERE id = $1',
        { bind: [requested.body.data?.verificationId], type: QueryTypes.SELECT },
      );
      expect(rows).toEqual([{ phoneNumber: phone }]);
      const verified = await call(server.port, 'POST', '/api/verify-otp', {
        verificationId: requested.body.data?.verificationId,
        phoneNumber: phone,
        code: inbox.body.data?.messages?.[0]?.code,
      });
      expect(verified).toMatchObject({ status: 200, body: { data: { phoneNumber: phone, verified: true } } });
    });

    test('When the service listens, then it is on 127.0.0.1 only: a non-loopback address of this machine refuses the connection', async () => {
      const outside = nonLoopbackAddress();

      const listening = server.lines.find((l) => String(l.message).startsWith('listening on'));

      expect(listening).toMatchObject({ host: '127.0.0.1', message: `listening on http://127.0.0.1:${server.port}` });
      expect(await tryConnect(server.port, '127.0.0.1')).toBe('connected');
      expect(await tryConnect(server.port, outside)).toBe('ECONNREFUSED');
      expect(messages(server).filter((m) => m.includes('HOST='))).toEqual([]);
    });
  });

  test('When HOST=0.0.0.0 is set explicitly in emulator mode, then it listens there and warns that codes are readable by anyone who reaches the port', async () => {
    const server = await startServerProcess({ ...baseEnv(), SINCH_EMULATOR: 'true', HOST: '0.0.0.0' });
    try {
      const warnings = server.lines.filter((l) => l.level === 'warn' && String(l.message).includes('HOST='));

      expect(warnings).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(
            /^config: HOST=0\.0\.0\.0 with the built-in Sinch emulator: every code sent is readable at GET \/api\/emulator\/inbox by anyone who can reach port/,
          ),
        }),
      ]);
      // The positive control for the loopback test above: this address is reachable when bound.
      expect(await tryConnect(server.port, nonLoopbackAddress())).toBe('connected');
    } finally {
      await server.stop();
    }
  }, 90_000);
});

describe('Start-up in production: guard rails', () => {
  test('When Sinch is plain http to a remote host, TRUST_PROXY=true, SINCH_EMULATOR=true and the two key spellings disagree, then the process exits 1 listing all four', async () => {
    const run = await runServerUntilExit({
      ...baseEnv(),
      NODE_ENV: 'production',
      SINCH_APPLICATION_KEY: 'one-key',
      SINCH_KEY_ID: 'another-key',
      SINCH_APPLICATION_SECRET: SINCH_SECRET,
      SINCH_API_BASE_URL: 'http://verification.api.sinch.com',
      TRUST_PROXY: 'true',
      SINCH_EMULATOR: 'true',
    });

    expect(run.code).toBe(1);
    expect(problemLines(run.stderr)).toEqual([
      '  - SINCH_APPLICATION_KEY and SINCH_KEY_ID are both set, to different values: they are two names of the same setting, so keep only one',
      expect.stringMatching(/^ {2}- SINCH_EMULATOR=true is refused when NODE_ENV=production/),
      expect.stringMatching(/^ {2}- SINCH_API_BASE_URL must be https:\/\/ when NODE_ENV=production.*clear text/),
      expect.stringMatching(
        /^ {2}- TRUST_PROXY=true \(trust every hop\) is refused .*hop count.*loopback.*subnet list.*named range/,
      ),
    ]);
  }, 90_000);

  describe("NODE_ENV=production with the original guide's names (DB_* parts, SINCH_KEY_ID/SINCH_KEY_SECRET), Sinch on loopback http", () => {
    const SEED_KEY = 'seed-key-id';
    let emulator: SinchEmulator;
    let server: ServerProcess;
    beforeAll(async () => {
      emulator = await createSinchEmulator({ applicationKey: SEED_KEY, applicationSecret: SINCH_SECRET });
      const db = new URL(testDatabaseUrl());
      server = await startServerProcess({
        ...baseEnv(),
        // The guide's database settings are the parts, not a URL.
        DATABASE_URL: '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        DB_HOST: db.hostname,
        DB_PORT: db.port || '5432',
        DB_USER: decodeURIComponent(db.username),
        DB_PASSWORD: decodeURIComponent(db.password),
        DB_NAME: decodeURIComponent(db.pathname.slice(1)),
        SINCH_KEY_ID: SEED_KEY,
        SINCH_KEY_SECRET: SINCH_SECRET,
        SINCH_API_BASE_URL: emulator.url,
      });
    }, 90_000);
    afterAll(async () => {
      await server?.stop();
      await emulator?.close();
    });

    test('When a code is requested, then Sinch is called with those credentials (Basic) and answers 200', async () => {
      const phone = uniquePhone();

      const requested = await call(server.port, 'POST', '/api/request-otp', { phoneNumber: phone });

      expect(requested).toMatchObject({ status: 200, body: { status: 'success', data: { phoneNumber: phone } } });
      const starts = emulator.requests.filter((r) => r.path === '/verification/v1/verifications');
      expect(starts).toEqual([
        expect.objectContaining({
          status: 200,
          headers: expect.objectContaining({
            authorization: `Basic ${Buffer.from(`${SEED_KEY}:${SINCH_SECRET}`).toString('base64')}`,
          }),
          json: expect.objectContaining({ identity: { type: 'number', endpoint: phone } }),
        }),
      ]);
    });

    test('When GET /metrics is asked without METRICS_TOKEN or METRICS_PUBLIC, then 404 NOT_FOUND as for an unknown route, and start-up said /metrics is off', async () => {
      const metrics = await call(server.port, 'GET', '/metrics');
      const unknown = await call(server.port, 'GET', '/no-such-route');

      expect(metrics).toMatchObject({
        status: 404,
        body: { status: 'error', code: 'NOT_FOUND', message: expect.stringMatching(/^No route for GET \/metrics\./) },
      });
      expect(Object.keys(metrics.body).sort()).toEqual(Object.keys(unknown.body).sort());
      expect(messages(server)).toContainEqual(expect.stringMatching(/^metrics: GET \/metrics is off \(answers 404\)/));
    });

    test('When ALLOWED_COUNTRIES is empty, then start-up warned exactly once that every country can be sent SMS, naming the setting', () => {
      const warnings = server.lines.filter(
        (l) => l.level === 'warn' && String(l.message).includes('ALLOWED_COUNTRIES'),
      );

      expect(warnings).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^config: ALLOWED_COUNTRIES is empty: .*every country/),
        }),
      ]);
    });
  });
});
