import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { Sequelize } from 'sequelize';
import request from 'supertest';
import { createApp } from '../../src/app';
import { loadConfig, secretValues } from '../../src/config';
import { createLogger } from '../../src/config/logger';
import { migrateUp } from '../../src/db/migrator';
import { createSequelize } from '../../src/db/sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { createServices } from '../../src/services';
import { uniquePhone } from '../factories/phone.factory';
import { audit } from '../helpers/log-audit';
import { LogCapture } from '../helpers/log-capture';
import { freePort } from '../helpers/net';
import { startsFor, until } from '../helpers/otp-flow';
import { pgliteProcess, type PgliteProcess } from '../helpers/pglite-process';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';

/**
 * The service's own production database wiring (createSequelize: pool, acquire and connect
 * timeouts) against a PostgreSQL this test crashes and restarts: a PGlite server in a child
 * process, so no other test file loses its database.
 */
describe('PostgreSQL crashes and restarts while the service runs', () => {
  let dataDir: string;
  let pg: PgliteProcess;
  let emulator: SinchEmulator;
  let sequelize: Sequelize;
  let app: Express;
  const logs = new LogCapture();
  const before = uniquePhone();
  let beforeCode: string;
  let beforeId: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-pg-restart-'));
    pg = pgliteProcess(dataDir, await freePort());
    await pg.start();
    const migrating = new Sequelize(pg.url, { logging: false, pool: { max: 1 } });
    await migrateUp(migrating);
    await migrating.close();

    emulator = await createSinchEmulator({
      applicationKey: SINCH_KEY,
      applicationSecret: SINCH_SECRET,
      codeLength: 6,
      onMessage: (m) => audit.forbidden(m.code),
    });
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: pg.url,
      DB_POOL_MAX: '4',
      // PGlite serves every client on one session, where prepared statement names would collide.
      DB_PREPARED_STATEMENTS: 'false',
      SINCH_APPLICATION_KEY: SINCH_KEY,
      SINCH_APPLICATION_SECRET: SINCH_SECRET,
      SINCH_API_BASE_URL: emulator.url,
      OTP_RESEND_COOLDOWN_SECONDS: '0',
    });
    const logger = createLogger({ level: 'info', format: 'json', secrets: secretValues(config), stream: logs });
    sequelize = createSequelize(config.database, logger);
    const services = createServices({ config, logger, sequelize });
    app = createApp({
      config,
      logger,
      sequelize,
      verifications: services.verifications,
      sinchEvents: services.sinchEvents,
      healthChecks: services.healthChecks,
    });

    const res = await request(app).post('/api/request-otp').send({ phoneNumber: before });
    expect(res.status).toBe(200);
    beforeCode = emulator.lastCodeFor(before) ?? '';
    beforeId = res.body.data.verificationId as string;
  }, 60_000);

  afterAll(async () => {
    await sequelize?.close();
    await emulator?.close();
    await pg?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('When the database process is killed, then requests answer 503 SERVICE_UNAVAILABLE within a few seconds, /health says DOWN, and Sinch is not asked', async () => {
    await pg.kill();
    const phone = uniquePhone();
    const started = Date.now();

    const res = await request(app).post('/api/request-otp').send({ phoneNumber: phone });
    const verify = await request(app).post('/api/verify-otp').send({ verificationId: beforeId, code: beforeCode });
    const health = await request(app).get('/health');

    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'error',
      code: 'SERVICE_UNAVAILABLE',
      message: 'The service is temporarily unavailable. Try again shortly.',
      requestId: res.headers['x-request-id'],
    });
    expect(res.headers['retry-after']).toBe('5');
    expect(verify.status).toBe(503);
    expect(verify.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'DOWN', checks: { database: 'DOWN' } });
    expect(startsFor(emulator, phone)).toHaveLength(0);
  }, 30_000);

  test('When one request meets the outage, then it is answered within the pool acquire timeout, not left hanging', async () => {
    const started = Date.now();

    const res = await request(app).post('/api/request-otp').send({ phoneNumber: uniquePhone() });

    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(6000);
  }, 30_000);

  test('When the database is back on the same port, then the SAME app instance serves again and the data from before the crash is there', async () => {
    await pg.start();
    await until(async () => (await request(app).get('/health')).status === 200, 15_000, '/health UP again');
    const phone = uniquePhone();

    const verify = await request(app).post('/api/verify-otp').send({ verificationId: beforeId, code: beforeCode });
    const res = await request(app).post('/api/request-otp').send({ phoneNumber: phone });

    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ status: 'success', data: { phoneNumber: before, verified: true } });
    expect(res.status).toBe(200);
    expect(startsFor(emulator, phone)).toHaveLength(1);
    const [rows] = await sequelize.query(
      `SELECT "phoneNumber", "isVerified" FROM "Users" WHERE "phoneNumber" IN ($1, $2) ORDER BY "isVerified" DESC`,
      { bind: [before, phone] },
    );
    expect(rows).toEqual([
      { phoneNumber: before, isVerified: true },
      { phoneNumber: phone, isVerified: false },
    ]);
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'error', errorCode: 'SERVICE_UNAVAILABLE' }),
    );
  }, 30_000);
});
