import request from 'supertest';
import { createMetrics } from '../../src/observability/metrics';
import { uniquePhone } from '../factories/phone.factory';
import { metricValue } from '../helpers/metrics';
import { createTestApp, type TestApp } from '../helpers/test-app';

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_RESEND_COOLDOWN_SECONDS: '30', OTP_MAX_ATTEMPTS: '3' } });
  });
  afterAll(() => t.close());

  test('When codes are requested, refused, failed, expired and verified, then each funnel counter counts exactly those', async () => {
    const a = uniquePhone();
    const b = uniquePhone();
    const sentA = await request(t.app).post('/api/request-otp').send({ phoneNumber: a }).expect(200);
    await request(t.app).post('/api/request-otp').send({ phoneNumber: a }).expect(429); // cooldown
    await request(t.app).post('/api/request-otp').send({ phoneNumber: '+4612' }).expect(400); // invalid number
    await request(t.app).post('/api/request-otp').send({ phoneNumber: '+449098790000' }).expect(422); // premium rate
    const idA = sentA.body.data.verificationId as string;
    await request(t.app).post('/api/verify-otp').send({ verificationId: idA, code: '000000' }).expect(400);
    await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: idA, code: t.emulator.lastCodeFor(a)! })
      .expect(200);
    const sentB = await request(t.app).post('/api/request-otp').send({ phoneNumber: b }).expect(200);
    t.clock.advance((t.config.otp.ttlSeconds + 1) * 1000);
    await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: sentB.body.data.verificationId, code: '123456' })
      .expect(410);

    const res = await request(t.app).get('/metrics');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect({
      requested: metricValue(text, 'otp_requested_total{purpose="none"}'),
      sent: metricValue(text, 'otp_sent_total{purpose="none"}'),
      refusedCooldown: metricValue(text, 'otp_refused_total{reason="number_cooldown",purpose="none"}'),
      refusedInvalid: metricValue(text, 'otp_refused_total{reason="invalid_number",purpose="none"}'),
      refusedPolicy: metricValue(text, 'otp_refused_total{reason="number_policy",purpose="none"}'),
      verified: metricValue(text, 'otp_verified_total{purpose="none"}'),
      failedInvalidCode: metricValue(text, 'otp_verify_failed_total{reason="invalid_code",purpose="none"}'),
      failedExpired: metricValue(text, 'otp_verify_failed_total{reason="expired",purpose="none"}'),
      expired: metricValue(text, 'otp_expired_total'),
    }).toEqual({
      requested: 5,
      sent: 2,
      refusedCooldown: 1,
      refusedInvalid: 1,
      refusedPolicy: 1,
      verified: 1,
      failedInvalidCode: 1,
      failedExpired: 1,
      expired: 1,
    });
  });

  test('When requests are served, then counts and latency are recorded per route and status, and Sinch calls per operation and outcome', async () => {
    const phone = uniquePhone();
    await request(t.app).post('/api/request-otp').send({ phoneNumber: phone }).expect(200);
    await request(t.app).get('/no-such-route').expect(404);

    const text = (await request(t.app).get('/metrics')).text;

    expect(
      metricValue(text, 'http_requests_total{method="POST",route="/api/request-otp",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'http_requests_total{method="GET",route="unmatched",status="404"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'http_request_duration_seconds_count{method="POST",route="/api/request-otp",status="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'sinch_request_duration_seconds_count{operation="start",outcome="200"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^db_pool_connections\{state="used"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="total"\} [1-9]\d*$/m);
  });

  test('When the metrics are read, then no label value holds a phone number, an id or a raw URL', async () => {
    await request(t.app).get(`/api/${uniquePhone()}/x`).expect(404);

    const text = (await request(t.app).get('/metrics')).text;
    // Label values only: sample values (e.g. a latency sum of 0.0461234567) may hold any digits.
    const labelValues = [...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`);

    expect(labelValues.length).toBeGreaterThan(10);
    expect(labelValues.filter((v) => /\+?46\d{7,}/.test(v))).toEqual([]);
    expect(labelValues.filter((v) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.test(v))).toEqual(
      [],
    );
    expect(
      labelValues.filter(
        (v) => v.startsWith('route=') && !['route=unmatched'].includes(v) && !/^route=\/[a-z0-9/._-]*$/.test(v),
      ),
    ).toEqual([]);
  });

  test('When METRICS_TOKEN is set, then only a matching bearer token may scrape', async () => {
    const secured = await createTestApp({ env: { METRICS_TOKEN: 'scrape-token-123' } });
    try {
      const none = await request(secured.app).get('/metrics');
      const wrong = await request(secured.app).get('/metrics').set('Authorization', 'Bearer nope');
      const right = await request(secured.app).get('/metrics').set('Authorization', 'Bearer scrape-token-123');

      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ status: 'error', code: 'UNAUTHORIZED' });
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expect(wrong.status).toBe(401);
      expect(right.status).toBe(200);
      expect(right.text).toContain('otp_requested_total');
    } finally {
      await secured.close();
    }
  });

  test('When the default process metrics are on, then event-loop lag and memory are exposed', async () => {
    const metrics = createMetrics();

    const text = await metrics.registry.metrics();

    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('GET /metrics in production: only on purpose (METRICS_TOKEN or METRICS_PUBLIC)', () => {
  /** The app as NODE_ENV=production builds it, with the given metrics settings. */
  async function productionApp(env: Record<string, string> = {}): Promise<TestApp> {
    return createTestApp({ env: { NODE_ENV: 'production', ALLOWED_COUNTRIES: 'SE', ...env } });
  }

  test('When neither METRICS_TOKEN nor METRICS_PUBLIC is set, then 404 NOT_FOUND, the same envelope as an unknown route', async () => {
    const app = await productionApp();
    try {
      const metrics = await request(app.app).get('/metrics');
      const unknown = await request(app.app).get('/no-such-route');

      expect(app.config.metrics).toEqual({ token: undefined, public: false, enabled: false });
      expect(metrics.status).toBe(404);
      expect(metrics.headers['content-type']).toMatch(/^application\/json/);
      expect(metrics.body).toEqual({
        status: 'error',
        code: 'NOT_FOUND',
        message: 'No route for GET /metrics. See /api/docs for the routes this service offers.',
        requestId: metrics.headers['x-request-id'],
      });
      expect(Object.keys(metrics.body).sort()).toEqual(Object.keys(unknown.body).sort());
      expect(metrics.text).not.toContain('otp_requested_total');
    } finally {
      await app.close();
    }
  });

  test('When METRICS_PUBLIC=true, then anyone may scrape', async () => {
    const app = await productionApp({ METRICS_PUBLIC: 'true' });
    try {
      const res = await request(app.app).get('/metrics');

      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toContain('otp_requested_total');
    } finally {
      await app.close();
    }
  });

  test('When METRICS_TOKEN is set, then 401 without or with a wrong bearer, 200 with the right one', async () => {
    const app = await productionApp({ METRICS_TOKEN: 'prod-scrape-token-1' });
    try {
      const none = await request(app.app).get('/metrics');
      const wrong = await request(app.app).get('/metrics').set('Authorization', 'Bearer nope');
      const right = await request(app.app).get('/metrics').set('Authorization', 'Bearer prod-scrape-token-1');

      expect(none.status).toBe(401);
      expect(none.body).toMatchObject({ status: 'error', code: 'UNAUTHORIZED' });
      expect(none.headers['www-authenticate']).toBe('Bearer');
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({ status: 'error', code: 'UNAUTHORIZED' });
      expect(right.status).toBe(200);
      expect(right.text).toContain('otp_requested_total');
    } finally {
      await app.close();
    }
  });
});
