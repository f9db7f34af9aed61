import { Sequelize } from 'sequelize';
import request, { type Response } from 'supertest';
import { sandboxNumber } from '../../src/emulator/sinch-emulator';
import { createServices } from '../../src/services';
import type { VerificationService } from '../../src/services/verification/verification.service';
import { ERROR_CATALOGUE } from '../../src/utils/app-error';
import { uniquePhone } from '../factories/phone.factory';
import { closedPort } from '../helpers/net';
import { createTestApp, type TestApp } from '../helpers/test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The error envelope, exactly: nothing beyond status, code, message, requestId (and details when given). */
function expectEnvelope(
  res: Response,
  httpStatus: number,
  code: keyof typeof ERROR_CATALOGUE,
  extra: Record<string, unknown> = {},
): void {
  expect(res.status).toBe(httpStatus);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['x-request-id']).toEqual(expect.any(String));
  expect(res.body).toEqual({
    status: 'error',
    code,
    message: expect.any(String),
    requestId: res.headers['x-request-id'],
    ...extra,
  });
}

/** A 5xx answer shows nothing of how the service is built: no stack, SQL, axios config or addresses. */
function expectNoInternals(res: Response): void {
  expect(res.status).toBeGreaterThanOrEqual(500);
  expect(Object.keys(res.body).sort()).toEqual(['code', 'message', 'requestId', 'status']);
  expect(res.text).not.toMatch(
    /stack|sequelize|select |insert |update |axios|ECONN|ETIMEDOUT|socket|127\.0\.0\.1|localhost|verification\/v1|\.ts:\d+|at \S+ \(/i,
  );
}

async function verificationsFor(t: TestApp, phone: string) {
  return t.models.Verification.findAll({ where: { phoneNumber: phone } });
}

describe('Errors at the HTTP edge', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the JSON is malformed, then 400 INVALID_JSON in the error envelope', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Content-Type', 'application/json')
      .send('{"phoneNumber": "+4670');

    expectEnvelope(res, 400, 'INVALID_JSON', { message: ERROR_CATALOGUE.INVALID_JSON.message });
  });

  test.each([
    ['text/plain', 'phoneNumber=+46701234567'],
    ['application/x-www-form-urlencoded', 'phoneNumber=%2B46701234567'],
    ['application/xml', '<phoneNumber>+46701234567</phoneNumber>'],
  ])('When the body is sent as %s, then 415 UNSUPPORTED_MEDIA_TYPE', async (contentType, body) => {
    const before = t.emulator.requests.length;

    const res = await request(t.app).post('/api/request-otp').set('Content-Type', contentType).send(body);

    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(t.emulator.requests).toHaveLength(before);
  });

  test('When the JSON body declares a charset other than UTF-8, then 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Content-Type', 'application/json; charset=latin1')
      .send('{"phoneNumber":"+46701234567"}');

    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('When the JSON body declares UTF-8 explicitly, then it is accepted', async () => {
    const phone = uniquePhone();

    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Content-Type', 'application/json; charset=UTF-8')
      .send(JSON.stringify({ phoneNumber: phone }));

    expect(res.status).toBe(200);
  });

  test('When a POST has no body and no content type, then 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await request(t.app).post('/api/verify-otp');

    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('When the JSON body is larger than 10 kB, then 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .send({ phoneNumber: '+46701234567', padding: 'x'.repeat(11 * 1024) });

    expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('When the JSON body is just under 10 kB, then it is parsed (and refused for its unknown field, not its size)', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .send({ phoneNumber: '+46701234567', padding: 'x'.repeat(9 * 1024) });

    expectEnvelope(res, 400, 'VALIDATION_ERROR', { details: [{ field: 'padding', message: expect.any(String) }] });
  });

  test.each([
    ['GET', '/api/unknown'],
    ['POST', '/api/request-otp/extra'],
    ['GET', '/nope'],
    ['DELETE', '/api'],
  ])('When %s %s is not a route, then 404 NOT_FOUND', async (method, path) => {
    const res = await request(t.app)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);

    expectEnvelope(res, 404, 'NOT_FOUND');
  });

  test.each([
    ['GET', '/api/request-otp', 'POST'],
    ['PUT', '/api/request-otp', 'POST'],
    ['GET', '/api/verify-otp', 'POST'],
    ['DELETE', '/api/verify-otp', 'POST'],
    ['POST', '/health', 'GET'],
    ['POST', '/health/live', 'GET'],
  ])(
    'When %s %s uses the wrong method, then 405 METHOD_NOT_ALLOWED with an Allow header',
    async (method, path, allow) => {
      const res = await request(t.app)[method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'](path);

      expectEnvelope(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe(allow);
    },
  );

  test('When the client sends no X-Request-Id, then a UUID is generated and returned in the header and the error body', async () => {
    const res = await request(t.app).get('/api/unknown');

    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  test.each(['abc-123', 'req_2026.11.25:0001', 'A'.repeat(128)])(
    'When the client sends the sane X-Request-Id %s, then it is echoed in the header and the body',
    async (id) => {
      const res = await request(t.app).get('/api/unknown').set('X-Request-Id', id);

      expect(res.headers['x-request-id']).toBe(id);
      expect(res.body.requestId).toBe(id);
    },
  );

  test('When the client sends a sane X-Request-Id on a success, then it is echoed too', async () => {
    const res = await request(t.app)
      .post('/api/request-otp')
      .set('X-Request-Id', 'client-req-42')
      .send({ phoneNumber: uniquePhone() });

    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('client-req-42');
  });

  test.each([
    ['300 characters long', 'a'.repeat(300)],
    ['129 characters long', 'a'.repeat(129)],
    ['containing spaces', 'abc def'],
    ['containing markup', '<script>alert(1)</script>'],
    ['containing a log-forging tab and quote', 'abc\t"level":"error"'],
    ['non-ASCII', 'id-åäö'],
  ])('When the incoming X-Request-Id is %s, then it is replaced by a generated UUID', async (_what, id) => {
    const res = await request(t.app).get('/api/unknown').set('X-Request-Id', id);

    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  test.each([500, 502, 503, 504])(
    'When Sinch answers %i to the start, then 503 SMS_PROVIDER_UNAVAILABLE with Retry-After and no Verification row',
    async (status) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', { kind: 'status', status });

      const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

      expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expectNoInternals(res);
      expect(await verificationsFor(t, phone)).toEqual([]);
    },
  );

  test('When the start answer is a sandbox 503, then 503 SMS_PROVIDER_UNAVAILABLE and no Verification row', async () => {
    const phone = sandboxNumber('unavailable', 3);

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(await verificationsFor(t, phone)).toEqual([]);
  });

  test('When the connection to Sinch drops, then 503 SMS_PROVIDER_UNAVAILABLE and no Verification row', async () => {
    const phone = uniquePhone();
    t.emulator.injectFault('start', { kind: 'drop' });

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expectNoInternals(res);
    expect(await verificationsFor(t, phone)).toEqual([]);
  });

  test.each([
    ['a non-JSON page', { kind: 'malformed' as const }],
    ['an empty JSON object (no id)', { kind: 'empty' as const }],
    ['a 400 with a text body', { kind: 'status' as const, status: 400, body: 'Bad Request' }],
    [
      'a 400 with an unexpected error code',
      { kind: 'status' as const, status: 400, body: { errorCode: 40002, message: 'Missing parameter.' } },
    ],
    ['a 200 with an id that is not a string', { kind: 'status' as const, status: 200, body: { id: 12345 } }],
  ])(
    'When Sinch answers the start with %s, then 502 SMS_PROVIDER_ERROR and no Verification row',
    async (_what, fault) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', fault);

      const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

      expectEnvelope(res, 502, 'SMS_PROVIDER_ERROR', { message: ERROR_CATALOGUE.SMS_PROVIDER_ERROR.message });
      expectNoInternals(res);
      expect(await verificationsFor(t, phone)).toEqual([]);
    },
  );

  test('When Sinch answers 429 to the start, then 429 RATE_LIMITED with Retry-After and no Verification row', async () => {
    const phone = uniquePhone();
    t.emulator.injectFault('start', {
      kind: 'status',
      status: 429,
      body: { errorCode: 42900, message: 'Request capacity exceeded.' },
    });

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after']).toBe('60');
    expect(await verificationsFor(t, phone)).toEqual([]);
  });

  test('When Sinch answers 503 while a code is checked, then 503 SMS_PROVIDER_UNAVAILABLE and the attempt is given back', async () => {
    const phone = uniquePhone();
    const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.emulator.injectFault('report', { kind: 'status', status: 503 });

    const res = await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: started.body.data.verificationId, code: t.emulator.lastCodeFor(phone) });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expectNoInternals(res);
    expect((await t.models.Verification.findByPk(started.body.data.verificationId))?.toJSON()).toMatchObject({
      status: 'PENDING',
      attempts: 0,
    });
  });

  test('When Sinch answers 429 while a code is checked, then 429 RATE_LIMITED', async () => {
    const phone = uniquePhone();
    const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.emulator.injectFault('report', { kind: 'status', status: 429 });

    const res = await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: started.body.data.verificationId, code: t.emulator.lastCodeFor(phone) });

    expectEnvelope(res, 429, 'RATE_LIMITED');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });

  test('When Sinch answers a report with a non-JSON page, then 502 SMS_PROVIDER_ERROR', async () => {
    const phone = uniquePhone();
    const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.emulator.injectFault('report', { kind: 'malformed' });

    const res = await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: started.body.data.verificationId, code: t.emulator.lastCodeFor(phone) });

    expectEnvelope(res, 502, 'SMS_PROVIDER_ERROR');
    expectNoInternals(res);
  });

  test('When Sinch answers a report without a status, then 502 SMS_PROVIDER_ERROR', async () => {
    const phone = uniquePhone();
    const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.emulator.injectFault('report', { kind: 'empty' });

    const res = await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: started.body.data.verificationId, code: t.emulator.lastCodeFor(phone) });

    expectEnvelope(res, 502, 'SMS_PROVIDER_ERROR');
  });
});

describe('Errors when Sinch is slow (SINCH_TIMEOUT_MS=200)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SINCH_TIMEOUT_MS: '200' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When Sinch does not answer the start in time, then 503 SMS_PROVIDER_UNAVAILABLE with Retry-After and no Verification row', async () => {
    const phone = uniquePhone();
    t.emulator.injectFault('start', { kind: 'delay', ms: 1000 });
    const started = Date.now();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expectNoInternals(res);
    expect(Date.now() - started).toBeLessThan(900);
    expect(await verificationsFor(t, phone)).toEqual([]);
  });

  test('When Sinch never answers (sandbox timeout number), then 503 SMS_PROVIDER_UNAVAILABLE and no Verification row', async () => {
    const phone = sandboxNumber('timeout', 4);

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect(await verificationsFor(t, phone)).toEqual([]);
  });

  test('When Sinch does not answer a report in time, then 503 and the attempt stays counted (Sinch may have judged it)', async () => {
    const phone = uniquePhone();
    const started = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone });
    t.emulator.injectFault('report', { kind: 'delay', ms: 1000 });

    const res = await request(t.app)
      .post('/api/verify-otp')
      .send({ verificationId: started.body.data.verificationId, code: '0000' });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect((await t.models.Verification.findByPk(started.body.data.verificationId))?.toJSON()).toMatchObject({
      status: 'PENDING',
      attempts: 1,
    });
  });
});

describe('Errors when Sinch cannot be reached or refuses our credentials', () => {
  let refused: TestApp;
  let badSecret: TestApp;

  beforeAll(async () => {
    refused = await createTestApp({ env: { SINCH_API_BASE_URL: `http://127.0.0.1:${await closedPort()}` } });
    badSecret = await createTestApp({
      env: { SINCH_APPLICATION_SECRET: Buffer.from('not-the-emulator-secret').toString('base64') },
    });
  });

  afterAll(async () => {
    await refused.close();
    await badSecret.close();
  });

  test('When the connection to Sinch is refused, then 503 SMS_PROVIDER_UNAVAILABLE and no Verification row', async () => {
    const phone = uniquePhone();

    const res = await request(refused.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 503, 'SMS_PROVIDER_UNAVAILABLE');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expectNoInternals(res);
    expect(await verificationsFor(refused, phone)).toEqual([]);
  });

  test('When Sinch answers 401 to our credentials, then 502 SMS_PROVIDER_ERROR and no Verification row', async () => {
    const phone = uniquePhone();

    const res = await request(badSecret.app).post('/api/request-otp').send({ phoneNumber: phone });

    expectEnvelope(res, 502, 'SMS_PROVIDER_ERROR', { message: ERROR_CATALOGUE.SMS_PROVIDER_ERROR.message });
    expectNoInternals(res);
    expect(badSecret.emulator.requests.at(-1)).toMatchObject({ path: '/verification/v1/verifications', status: 401 });
    expect(await verificationsFor(badSecret, phone)).toEqual([]);
  });
});

describe('Errors when the database is unreachable', () => {
  let t: TestApp;
  let down: TestApp;
  let deadDb: Sequelize;

  beforeAll(async () => {
    t = await createTestApp();
    deadDb = new Sequelize(`postgres://postgres@127.0.0.1:${await closedPort()}/otp_test`, {
      logging: false,
      pool: { max: 2, acquire: 2000 },
    });
    const services = createServices({ config: t.config, logger: t.logger, sequelize: deadDb, clock: t.clock });
    down = await createTestApp({
      sharedEmulator: t.emulator,
      deps: { sequelize: deadDb, verifications: services.verifications },
    });
  });

  afterAll(async () => {
    await down.close();
    await deadDb.close();
    await t.close();
  });

  test.each([
    ['/api/request-otp', { phoneNumber: '+46701234567' }],
    ['/api/verify-otp', { verificationId: '00000000-0000-4000-8000-000000000000', code: '1234' }],
  ])(
    'When POST %s cannot reach the database, then 503 SERVICE_UNAVAILABLE with Retry-After and no internals',
    async (path, body) => {
      const before = t.emulator.requests.length;

      const res = await request(down.app).post(path).send(body);

      expectEnvelope(res, 503, 'SERVICE_UNAVAILABLE', { message: ERROR_CATALOGUE.SERVICE_UNAVAILABLE.message });
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expectNoInternals(res);
      expect(t.emulator.requests).toHaveLength(before);
    },
  );
});

describe('Errors nobody planned for', () => {
  let t: TestApp;
  const leaky = new Error('relation "Users" does not exist: SELECT * FROM "Users" WHERE password = \'hunter2\'');

  beforeAll(async () => {
    const broken: VerificationService = {
      requestCode: () => Promise.reject(leaky),
      // A non-Error value thrown, as careless code sometimes does: that is the point of this test.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      verifyCode: () => Promise.reject(Object.assign(Object.create(null) as object, { weird: true })),
      resendCode: () => Promise.reject(leaky),
      fallBackAfterFailedSms: () => Promise.reject(leaky),
      fallBackOverdue: () => Promise.reject(leaky),
    };
    t = await createTestApp({ deps: { verifications: broken } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each(['/api/request-otp', '/api/verify-otp'])(
    'When POST %s fails unexpectedly, then 500 INTERNAL_ERROR with the generic message only',
    async (path) => {
      const res = await request(t.app)
        .post(path)
        .send(
          path.endsWith('verify-otp')
            ? { verificationId: '00000000-0000-4000-8000-000000000000', code: '1234' }
            : { phoneNumber: '+46701234567' },
        );

      expectEnvelope(res, 500, 'INTERNAL_ERROR', { message: ERROR_CATALOGUE.INTERNAL_ERROR.message });
      expectNoInternals(res);
      expect(res.text).not.toContain('hunter2');
    },
  );

  test('When an unexpected error is answered, then it is logged once at error level with its request id and stack', async () => {
    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: '+46701234567' });

    const requestId = res.headers['x-request-id'];
    const errors = t.logs
      .entries()
      .filter((e) => e.requestId === requestId && e.level === 'error' && e.message !== 'request completed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      errorCode: 'INTERNAL_ERROR',
      cause: { message: expect.stringContaining('relation "Users"'), stack: expect.any(String) },
    });
  });
});
