import net, { type AddressInfo, type Socket } from 'node:net';
import { Sequelize } from 'sequelize';
import request from 'supertest';
import { closedPort } from '../helpers/net';
import { createTestApp, type TestApp } from '../helpers/test-app';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A TCP server that accepts connections and never says a word: a database that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('GET /health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the database answers, then 200 UP with checks.database UP', async () => {
    const res = await request(t.app).get('/health');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(res.body).toMatchObject({
      status: 'UP',
      timestamp: expect.stringMatching(ISO_TIMESTAMP),
      uptimeSeconds: expect.any(Number),
      checks: { database: 'UP' },
    });
  });

  test('When /health/live is asked, then 200 UP', async () => {
    const res = await request(t.app).get('/health/live');

    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(res.body).toMatchObject({ status: 'UP', timestamp: expect.stringMatching(ISO_TIMESTAMP) });
  });
});

describe('GET /health when the database is unreachable', () => {
  let t: TestApp;
  let deadDb: Sequelize;

  beforeAll(async () => {
    deadDb = new Sequelize(`postgres://postgres@127.0.0.1:${await closedPort()}/otp_test`, {
      logging: false,
      pool: { max: 1, acquire: 2000 },
    });
    t = await createTestApp({ deps: { sequelize: deadDb } });
  });

  afterAll(async () => {
    await t.close();
    await deadDb.close();
  });

  test('When the database refuses connections, then 503 DOWN naming the database check', async () => {
    const res = await request(t.app).get('/health');

    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'DOWN',
      timestamp: expect.stringMatching(ISO_TIMESTAMP),
      checks: { database: 'DOWN' },
    });
    expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/i);
  });

  test('When the database is down, then /health/live still answers 200 UP', async () => {
    const res = await request(t.app).get('/health/live');

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'UP' });
  });
});

describe('GET /health when the database hangs', () => {
  let t: TestApp;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let hangingDb: Sequelize;

  beforeAll(async () => {
    silent = await silentServer();
    hangingDb = new Sequelize(`postgres://postgres@127.0.0.1:${silent.port}/otp_test`, {
      logging: false,
      pool: { max: 1, acquire: 10_000 },
    });
    t = await createTestApp({ deps: { sequelize: hangingDb } });
  });

  afterAll(async () => {
    await t.close();
    await silent.close();
    await hangingDb.close().catch(() => undefined);
  });

  test('When the database does not answer, then 503 DOWN within a short timeout instead of hanging', async () => {
    const started = Date.now();

    const res = await request(t.app).get('/health');

    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'DOWN', checks: { database: 'DOWN' } });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
