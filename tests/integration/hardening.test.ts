import request from 'supertest';
import { loadConfig } from '../../src/config';
import { uniquePhone } from '../factories/phone.factory';
import { rowsFor, startsFor, until } from '../helpers/otp-flow';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

describe('Security headers (helmet)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test.each([
    ['a success', () => request(t.app).post('/api/request-otp').send({ phoneNumber: uniquePhone() }), 200],
    ['a refusal', () => request(t.app).post('/api/request-otp').send({ phoneNumber: 'nope' }), 400],
    ['an unknown route', () => request(t.app).get('/no-such-route'), 404],
    ['/health', () => request(t.app).get('/health'), 200],
  ])(
    "When the service answers %s, then helmet's headers are set and X-Powered-By is not",
    async (_what, send, status) => {
      const res = await send();

      expect(res.status).toBe(status);
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'strict-transport-security': expect.stringMatching(/max-age=\d+/),
        'content-security-policy': expect.stringContaining("default-src 'self'"),
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
        'x-dns-prefetch-control': 'off',
      });
      expect(res.headers['x-powered-by']).toBeUndefined();
    },
  );
});

describe('CORS with no CORS_ORIGINS (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When a page from any origin calls the API, then no Access-Control-Allow-Origin is sent (the browser blocks it)', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Origin', 'https://app.example')
      .send({ phoneNumber: uniquePhone() });

    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('When a browser sends a preflight, then it is not granted', async () => {
    const res = await request(t.app)
      .options('/api/request-otp')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type');

    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });
});

describe('CORS with CORS_ORIGINS=https://app.example,https://admin.example', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { CORS_ORIGINS: 'https://app.example, https://admin.example' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each(['https://app.example', 'https://admin.example'])(
    'When %s calls the API, then it is allowed by name (never *)',
    async (origin) => {
      const res = await request(t.app)
        .post('/api/request-otp')
        .set('Origin', origin)
        .send({ phoneNumber: uniquePhone() });

      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers.vary).toMatch(/Origin/);
    },
  );

  test('When an allowed origin sends a preflight, then POST with a JSON body and an Idempotency-Key is granted', async () => {
    const res = await request(t.app)
      .options('/api/request-otp')
      .set('Origin', 'https://app.example')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,idempotency-key');

    expect(res.status).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': expect.stringContaining('POST'),
      'access-control-allow-headers': 'content-type,idempotency-key',
      'access-control-max-age': '600',
    });
  });

  test.each(['https://evil.example', 'https://app.example.evil.example', 'http://app.example'])(
    'When another origin (%s) calls, then it is not allowed',
    async (origin) => {
      const res = await request(t.app)
        .post('/api/request-otp')
        .set('Origin', origin)
        .send({ phoneNumber: uniquePhone() });

      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    },
  );
});

describe('Body limits and strict schemas', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the JSON body is over 10 kB, then 413 PAYLOAD_TOO_LARGE and nothing reaches Sinch', async () => {
    const phone = uniquePhone();

    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ phoneNumber: phone, pad: 'x'.repeat(11 * 1024) }));

    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'PAYLOAD_TOO_LARGE',
      requestId: res.headers['x-request-id'],
    });
    expect(startsFor(t.emulator, phone)).toHaveLength(0);
  });

  test('When the body carries an unknown field next to a valid number, then 400 VALIDATION_ERROR naming it and nothing is sent', async () => {
    const phone = uniquePhone();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone, isAdmin: true });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: [{ field: 'isAdmin', message: 'isAdmin is not a recognised field' }],
    });
    expect(startsFor(t.emulator, phone)).toHaveLength(0);
  });
});

describe('Request timeout (REQUEST_TIMEOUT_MS=1000, SINCH_TIMEOUT_MS=5000)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { REQUEST_TIMEOUT_MS: '1000', SINCH_TIMEOUT_MS: '5000' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When Sinch hangs longer than the request may take, then 503 REQUEST_TIMEOUT with Retry-After after about a second, and the late answer breaks nothing', async () => {
    const phone = uniquePhone();
    t.emulator.injectFault('start', { kind: 'delay', ms: 2500 });
    const started = Date.now();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'error',
      code: 'REQUEST_TIMEOUT',
      message: 'The request took too long. Try again shortly.',
      requestId: res.headers['x-request-id'],
    });
    expect(res.headers['retry-after']).toBe('5');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2000);

    // Sinch answers later and the code was sent: the service records it and keeps serving.
    await until(async () => (await rowsFor(t, phone)).verifications.length === 1, 5000, 'late verification row');
    const next = await request(t.app).post('/api/request-otp').send({ phoneNumber: uniquePhone() });
    expect(next.status).toBe(200);
    expect(
      t.logs.entries().filter((l) => l.requestId === res.headers['x-request-id'] && l.message === 'request completed'),
    ).toEqual([expect.objectContaining({ status: 503, route: '/api/request-otp' })]);
  });

  test('When REQUEST_TIMEOUT_MS is below 1000, then the configuration is refused', () => {
    expect(() =>
      loadConfig({
        SINCH_APPLICATION_KEY: SINCH_KEY,
        SINCH_APPLICATION_SECRET: SINCH_SECRET,
        REQUEST_TIMEOUT_MS: '999',
      }),
    ).toThrow(/REQUEST_TIMEOUT_MS: must be a whole number between 1000 and 120000/);
  });
});
