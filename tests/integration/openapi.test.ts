/**
 * The OpenAPI document against the code: the document is served for every route the app answers
 * (and every documented route exists), real responses match their documented schemas and headers,
 * and the document itself is sound (schemas compile, refs resolve, examples validate, codes match
 * the catalogue). Also the /api/openapi.json and /api/docs routes.
 *
 * The document is generated from the route table the router serves, so a route cannot be served
 * without being documented. What is checked here instead of walking Express's internals: every
 * documented operation is served, and every route the app answered (the route pattern in its
 * request log lines) is documented; test-app.ts runs that second check for every test app of the run.
 */
import request from 'supertest';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { applicationAuthorization } from '../../src/clients/sinch/sinch.signer';
import type { JsonObject, OpenApiDocument } from '../../src/routes/openapi';
import { ERROR_CATALOGUE, type ErrorCode } from '../../src/utils/app-error';
import {
  idempotencyKeyHeader,
  requestOtpBody,
  resendOtpBody,
  verifyOtpBodyFor,
} from '../../src/validations/otp.validation';
import { uniquePhone } from '../factories/phone.factory';
import { HTTP_METHODS, servedDocument, servedSpec, type SpecValidator } from '../helpers/openapi';
import { answeredRoutes, undocumentedRoutes } from '../helpers/route-audit';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';

/** The verify-otp body of the default settings (Numeric codes, SMS). */
const verifyOtpBody = verifyOtpBodyFor({ codeType: 'Numeric', methods: ['sms'] });

/**
 * Documented routes whose implementation is still being written (e.g. 'GET /metrics'). While one is
 * absent it is not reported; once it is served, the coverage test fails until it is removed from
 * here, so this list can never hide a route that later disappears. Empty: every route exists.
 */
const AWAITED_ROUTES = new Set<string>([]);

/** Every path an instance with the emulator and metrics serves. */
const EMULATOR_INSTANCE_PATHS = [
  '/api/request-otp',
  '/api/resend-otp',
  '/api/verify-otp',
  '/health',
  '/health/live',
  '/metrics',
  '/',
  '/api/emulator/inbox',
  '/api/sinch/events',
  '/api/openapi.json',
  '/api/docs',
  '/.well-known/jwks.json',
  '/api/verifications/redeem',
  '/api/verifications/{id}',
  '/api/verifications/{id}/cancel',
];

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

/** Every method + path the document describes. */
function documentedRoutes(document: OpenApiDocument): Array<{ method: string; path: string }> {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({
      method: method.toUpperCase(),
      path,
    })),
  );
}

/** Every `$ref` string anywhere in the document. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [v] : refsIn(v)));
  }
  return [];
}

function resolvePointer(document: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, part) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined),
      document,
    );
}

interface DocumentedResponse {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: JsonObject; examples?: Record<string, { value: unknown }> }>;
}

/** Each documented response (the operations' and the components') with where it is in the document. */
function documentedResponses(document: OpenApiDocument) {
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) =>
      Object.entries((item[method]?.responses ?? {}) as Record<string, DocumentedResponse>).map(
        ([status, response]) => ({
          label: `${method.toUpperCase()} ${path} -> ${status}`,
          at: ['paths', path, method, 'responses', status],
          status,
          response,
        }),
      ),
    ),
  );
  const components = Object.entries(document.components.responses as Record<string, DocumentedResponse>).map(
    ([name, response]) => ({
      label: name,
      at: ['components', 'responses', name],
      status: name === 'NotFound' ? '404' : '405',
      response,
    }),
  );
  return [...operations, ...components];
}

/** The error codes a response schema allows: its `code` const, through $refs and oneOf. */
function codesOf(document: OpenApiDocument, schema: unknown): string[] {
  const s = schema as { $ref?: string; oneOf?: unknown[]; properties?: { code?: { const?: string } } } | undefined;
  if (s?.$ref) return codesOf(document, resolvePointer(document, s.$ref));
  if (s?.oneOf) return s.oneOf.flatMap((branch) => codesOf(document, branch));
  return s?.properties?.code?.const ? [s.properties.code.const] : [];
}

let emulator: SinchEmulator;
let t: TestApp;
let spec: SpecValidator;

beforeAll(async () => {
  // With the emulator passed in, the emulator-only routes are served (and documented) too.
  emulator = await createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });
  t = await createTestApp({
    sharedEmulator: emulator,
    deps: { emulator },
    env: { METRICS_TOKEN: 'metrics-token-for-openapi-tests' },
  });
  spec = await servedSpec(t.app);
});

afterAll(async () => {
  await t.close();
  await emulator.close();
});

describe('OpenAPI document', () => {
  let document: OpenApiDocument;

  beforeAll(() => {
    document = spec.document;
  });

  test('When built, then it is OpenAPI 3.1.0 in the JSON Schema 2020-12 based OAS dialect', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.jsonSchemaDialect).toBe('https://spec.openapis.org/oas/3.1/dialect/base');
  });

  test('When every schema is compiled with ajv 2020 in strict mode, then none is invalid', () => {
    expect(spec.compileAll()).toBeGreaterThan(50);
  });

  test('When its $refs are followed, then every one resolves', () => {
    const dangling = refsIn(document).filter((ref) => resolvePointer(document, ref) === undefined);

    expect(dangling).toEqual([]);
  });

  test('When the error responses are read, then each code sits under the HTTP status the catalogue gives it, and every catalogue code is documented somewhere', () => {
    const seen = new Set<string>();
    const misplaced: string[] = [];
    for (const { label, status, response } of documentedResponses(document)) {
      for (const c of codesOf(document, response.content?.['application/json']?.schema)) {
        seen.add(c);
        if (String(ERROR_CATALOGUE[c as ErrorCode]?.status) !== status) misplaced.push(`${label}: ${c}`);
      }
    }

    expect(misplaced).toEqual([]);
    expect(Object.keys(ERROR_CATALOGUE).filter((c) => !seen.has(c))).toEqual([]);
  });

  test('When the examples are validated against their own schemas, then every one matches', () => {
    const wrong: string[] = [];
    const check = (label: string, at: string[], examples: Record<string, { value: unknown }> | undefined) => {
      const validate = spec.validatorAt(at);
      for (const [name, example] of Object.entries(examples ?? {})) {
        if (!validate(example.value)) wrong.push(`${label} example ${name}: ${JSON.stringify(validate.errors)}`);
      }
    };
    for (const { label, at, response } of documentedResponses(document)) {
      for (const [media, content] of Object.entries(response.content ?? {}))
        if (content.schema) check(`${label} ${media}`, [...at, 'content', media, 'schema'], content.examples);
    }
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of HTTP_METHODS) {
        const body = (item[method]?.requestBody as DocumentedResponse | undefined)?.content?.['application/json'];
        if (body)
          check(
            `${method.toUpperCase()} ${path} request`,
            ['paths', path, method, 'requestBody', 'content', 'application/json', 'schema'],
            body.examples,
          );
      }
    }
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      check(
        `schema ${name}`,
        ['components', 'schemas', name],
        Object.fromEntries(
          ((schema.examples as unknown[] | undefined) ?? []).map((value, i) => [String(i), { value }]),
        ),
      );
    }

    expect(wrong).toEqual([]);
  });

  test('When a response is documented, then it declares the X-Request-Id header', () => {
    const without = documentedResponses(document)
      .filter(({ response }) => !response.headers?.['X-Request-Id'])
      .map(({ label }) => label);

    expect(without).toEqual([]);
  });

  test.each([
    ['request-otp', { phoneNumber: '+46701234567' }, true, requestOtpBody],
    ['request-otp', { phoneNumber: '+46701234567', method: 'sms' }, true, requestOtpBody],
    ['request-otp', { phoneNumber: '+46701234567', method: 'voice' }, false, requestOtpBody],
    ['request-otp', { phoneNumber: '+46701234567', method: 'callout', locale: 'sv-SE' }, true, requestOtpBody],
    ['request-otp', { phoneNumber: '+46701234567', locale: 'x'.repeat(36) }, false, requestOtpBody],
    ['resend-otp', { verificationId: '0b8e4a52-1f4e-4a8b-9a57-5d0f3c9f2a11', method: 'whatsapp' }, true, resendOtpBody],
    ['resend-otp', { verificationId: 'not-a-uuid' }, false, resendOtpBody],
    ['resend-otp', { verificationId: '0b8e4a52-1f4e-4a8b-9a57-5d0f3c9f2a11', code: '1234' }, false, resendOtpBody],
    ['request-otp', { phoneNumber: '+46701234567', phone: 'x' }, false, requestOtpBody],
    ['request-otp', { phoneNumber: '' }, false, requestOtpBody],
    ['request-otp', { phoneNumber: 'x'.repeat(33) }, false, requestOtpBody],
    ['request-otp', {}, false, requestOtpBody],
    ['verify-otp', { verificationId: '0b8e4a52-1f4e-4a8b-9a57-5d0f3c9f2a11', code: '1234' }, true, verifyOtpBody],
    ['verify-otp', { phoneNumber: '+46701234567', code: '1234' }, false, verifyOtpBody],
    // OTP_CODE_TYPE=Numeric (the default): letters are not a code.
    [
      'verify-otp',
      { phoneNumber: '+46701234567', code: 'AB12cd90', verificationId: '0b5c2b9e-7c1d-4a8e-9f3a-5d2e6c7b8a91' },
      false,
      verifyOtpBody,
    ],
    ['verify-otp', { phoneNumber: '+46701234567', code: '123' }, false, verifyOtpBody],
    ['verify-otp', { phoneNumber: '+46701234567', code: '12345678901' }, false, verifyOtpBody],
    ['verify-otp', { phoneNumber: '+46701234567', code: '12-4' }, false, verifyOtpBody],
    ['verify-otp', { phoneNumber: '+46701234567', code: '1234', verificationId: 'not-a-uuid' }, false, verifyOtpBody],
    ['verify-otp', { phoneNumber: '+46701234567', code: 1234 }, false, verifyOtpBody],
  ])(
    'When the %s body %j is checked by the documented schema and by the zod schema, then both say valid=%s',
    (route, body, valid, zodSchema) => {
      const validate = spec.validatorAt([
        'paths',
        `/api/${route}`,
        'post',
        'requestBody',
        'content',
        'application/json',
        'schema',
      ]);

      expect(validate(body)).toBe(valid);
      expect(zodSchema.safeParse(body).success).toBe(valid);
    },
  );

  test.each([
    ['5b0c9c1e-2f4a-4d0e-8a51-6f1c3e2d9b77', true],
    ['01HZY8J3K4Q5R6S7T8V9W0X1Y2', true],
    ['', false],
    ['has space', false],
    ['x'.repeat(256), false],
  ])(
    'When the Idempotency-Key %j is checked by the documented schema and by the zod schema, then both say valid=%s',
    (value, valid) => {
      const parameters = document.paths['/api/request-otp']!.post!.parameters as Array<{ name: string }>;
      const index = parameters.findIndex((p) => p.name === 'Idempotency-Key');
      const validate = spec.validatorAt(['paths', '/api/request-otp', 'post', 'parameters', String(index), 'schema']);

      expect(index).toBeGreaterThan(-1);
      expect(validate(value)).toBe(valid);
      expect(idempotencyKeyHeader.safeParse(value).success).toBe(valid);
    },
  );

  test('When served by an instance without the emulator, then the emulator-only inbox is left out, and only then', async () => {
    const plain = await createTestApp({ sharedEmulator: emulator });
    try {
      expect(Object.keys((await servedDocument(plain.app)).paths)).not.toContain('/api/emulator/inbox');
      expect(Object.keys(document.paths)).toContain('/api/emulator/inbox');
    } finally {
      await plain.close();
    }
  });
});

describe('The app against the OpenAPI document', () => {
  async function requestCode(phoneNumber: string, headers: Record<string, string> = {}) {
    return request(t.app).post('/api/request-otp').set(headers).send({ phoneNumber });
  }

  describe('route coverage', () => {
    test('When every documented operation is called, then the app serves it (no catch-all 404 NOT_FOUND, no 405)', async () => {
      const unserved: string[] = [];
      for (const route of documentedRoutes(spec.document)) {
        const res = await request(t.app)[route.method.toLowerCase() as 'get' | 'post'](
          route.path.replace(/\{[^}]+\}/g, 'x'),
        );
        const fellThrough =
          res.status === 405 ||
          (res.status === 404 && res.body?.code === 'NOT_FOUND' && /^No route for/.test(String(res.body?.message)));
        if (fellThrough) unserved.push(key(route));
      }

      const nowServed = [...AWAITED_ROUTES].filter((r) => !unserved.includes(r));
      // To fix: remove the route from the route table, or (if it is being built) add it to AWAITED_ROUTES.
      expect(unserved.filter((r) => !AWAITED_ROUTES.has(r))).toEqual([]);
      // To fix: the route exists now; delete it from AWAITED_ROUTES at the top of this file.
      expect(nowServed).toEqual([]);
    });

    test('When the request log is read, then it names the routes that answered (the audit itself works)', () => {
      expect(answeredRoutes(t.logs).map(key)).toEqual(
        expect.arrayContaining([
          'POST /api/request-otp',
          'POST /api/verify-otp',
          'GET /health',
          'GET /health/live',
          'GET /api/docs',
          'POST /api/sinch/events',
          'GET /metrics',
          'GET /api/emulator/inbox',
        ]),
      );
    });

    test('When every route the app answered is looked up in the served document, then each is documented', () => {
      // To fix: declare the route in its feature's route table (docs/openapi.md).
      expect(undocumentedRoutes(spec.document, answeredRoutes(t.logs))).toEqual([]);
    });

    test.each([
      [{ method: 'GET', path: '/api/undocumented', status: 200 }, ['GET /api/undocumented']],
      [{ method: 'DELETE', path: '/api/request-otp', status: 200 }, ['DELETE /api/request-otp']],
      [{ method: 'DELETE', path: '/api/request-otp', status: 405 }, []],
      [{ method: 'HEAD', path: '/health', status: 200 }, []],
      [{ method: 'GET', path: '/demo/demo.css', status: 200 }, []],
    ])('When the audit sees %j, then it reports %j', (answered, expected) => {
      expect(undocumentedRoutes(spec.document, [answered])).toEqual(expected);
    });
  });

  describe('real responses match their documented schemas and headers', () => {
    test('POST /api/request-otp 200', async () => {
      const res = await requestCode(uniquePhone());

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 200 replayed for a repeated Idempotency-Key', async () => {
      const phone = uniquePhone();
      const idempotencyKey = `openapi-${phone}`;
      await requestCode(phone, { 'Idempotency-Key': idempotencyKey });

      const res = await requestCode(phone, { 'Idempotency-Key': idempotencyKey });

      expect(res.status).toBe(200);
      expect(res.headers['idempotent-replayed']).toBe('true');
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 422 IDEMPOTENCY_KEY_REUSED', async () => {
      const idempotencyKey = `openapi-reused-${uniquePhone()}`;
      await requestCode(uniquePhone(), { 'Idempotency-Key': idempotencyKey });

      const res = await requestCode(uniquePhone(), { 'Idempotency-Key': idempotencyKey });

      expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 400 INVALID_PHONE_NUMBER', async () => {
      const res = await requestCode('46701234567');

      expect(res.body).toMatchObject({ code: 'INVALID_PHONE_NUMBER' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/verify-otp 200', async () => {
      const phone = uniquePhone();
      const sent = await requestCode(phone);

      const res = await request(t.app)
        .post('/api/verify-otp')
        .send({ phoneNumber: phone, code: emulator.lastCodeFor(phone), verificationId: sent.body.data.verificationId });

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/verify-otp 400 INVALID_CODE', async () => {
      const phone = uniquePhone();
      const { verificationId } = (await requestCode(phone)).body.data;
      const wrong = emulator.lastCodeFor(phone) === '0000' ? '1111' : '0000';

      const res = await request(t.app).post('/api/verify-otp').send({ verificationId, code: wrong });

      expect(res.body).toMatchObject({ code: 'INVALID_CODE' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/verify-otp 404 VERIFICATION_NOT_FOUND', async () => {
      const res = await request(t.app)
        .post('/api/verify-otp')
        .send({ verificationId: '00000000-0000-4000-8000-000000000000', code: '1234' });

      expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/verify-otp 400 VALIDATION_ERROR', async () => {
      const res = await request(t.app)
        .post('/api/verify-otp')
        .send({ phoneNumber: 46701234567, code: '12', extra: true });

      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/request-otp 400 INVALID_JSON', async () => {
      const res = await request(t.app)
        .post('/api/request-otp')
        .set('Content-Type', 'application/json')
        .send('{"phoneNumber": "+4670');

      expect(res.body).toMatchObject({ code: 'INVALID_JSON' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      const res = await request(t.app)
        .post('/api/request-otp')
        .set('Content-Type', 'text/plain')
        .send('phoneNumber=+46701234567');

      expect(res.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/verify-otp 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await request(t.app)
        .post('/api/verify-otp')
        .send({ phoneNumber: '+46701234567', code: '1234', padding: 'x'.repeat(11 * 1024) });

      expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('GET /api/request-otp 405 METHOD_NOT_ALLOWED with Allow', async () => {
      const res = await request(t.app).get('/api/request-otp');

      expect(res.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
      spec.expectMatches(res, 'GET', '/api/request-otp');
    });

    test('GET an unknown path 404 NOT_FOUND', async () => {
      const res = await request(t.app).get('/api/request-otpp');

      expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
      spec.expectMatches(res, 'GET', '/api/request-otpp');
    });

    test('GET /health 200', async () => {
      const res = await request(t.app).get('/health');

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'GET', '/health');
    });

    test('GET /health/live 200', async () => {
      const res = await request(t.app).get('/health/live');

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'GET', '/health/live');
    });

    test('GET /api/emulator/inbox 200 in emulator mode', async () => {
      const phone = uniquePhone();
      await requestCode(phone);

      const res = await request(t.app).get('/api/emulator/inbox').query({ phoneNumber: phone });

      expect(res.body.data.messages).toHaveLength(1);
      spec.expectMatches(res, 'GET', '/api/emulator/inbox');
    });

    test('GET /api/emulator/inbox 400 VALIDATION_ERROR without phoneNumber', async () => {
      const res = await request(t.app).get('/api/emulator/inbox');

      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR' });
      spec.expectMatches(res, 'GET', '/api/emulator/inbox');
    });

    test('POST /api/sinch/events 401 UNAUTHORIZED without a signature', async () => {
      const res = await request(t.app)
        .post('/api/sinch/events')
        .send({ event: 'VerificationResultEvent', id: '1', status: 'SUCCESSFUL' });

      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
      spec.expectMatches(res, 'POST', '/api/sinch/events');
    });

    test('GET /metrics 200 with the METRICS_TOKEN bearer', async () => {
      const res = await request(t.app).get('/metrics').set('Authorization', 'Bearer metrics-token-for-openapi-tests');

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'GET', '/metrics');
    });

    test('GET /metrics 401 UNAUTHORIZED with a wrong bearer', async () => {
      const res = await request(t.app).get('/metrics').set('Authorization', 'Bearer wrong');

      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
      spec.expectMatches(res, 'GET', '/metrics');
    });

    test('GET / 200 (demo page)', async () => {
      const res = await request(t.app).get('/');

      expect(res.status).toBe(200);
      spec.expectMatches(res, 'GET', '/');
    });
  });

  describe('responses of the later steps and of failures', () => {
    afterEach(() => emulator.clearFaults());

    async function signedEvent(event: Record<string, unknown>) {
      const body = JSON.stringify(event);
      const contentType = 'application/json; charset=utf-8';
      const timestamp = new Date(t.clock.now()).toISOString();
      const authorization = applicationAuthorization(
        { method: 'POST', path: '/api/sinch/events', contentType, timestamp, body },
        SINCH_KEY,
        SINCH_SECRET,
      );
      return request(t.app)
        .post('/api/sinch/events')
        .set({ 'Content-Type': contentType, 'x-timestamp': timestamp, Authorization: authorization })
        .send(body);
    }

    test('POST /api/verify-otp 409 ALREADY_VERIFIED', async () => {
      const phone = uniquePhone();
      const sent = await requestCode(phone);
      const body = {
        phoneNumber: phone,
        code: emulator.lastCodeFor(phone),
        verificationId: sent.body.data.verificationId,
      };
      await request(t.app).post('/api/verify-otp').send(body).expect(200);

      const res = await request(t.app).post('/api/verify-otp').send(body);

      expect(res.body).toMatchObject({ code: 'ALREADY_VERIFIED' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/verify-otp 410 VERIFICATION_EXPIRED', async () => {
      const phone = uniquePhone();
      const { verificationId } = (await requestCode(phone)).body.data;
      t.clock.advance(t.config.otp.ttlSeconds * 1000 + 1000);
      try {
        const res = await request(t.app).post('/api/verify-otp').send({ verificationId, code: '1234' });

        expect(res.body).toMatchObject({ code: 'VERIFICATION_EXPIRED' });
        spec.expectMatches(res, 'POST', '/api/verify-otp');
      } finally {
        t.clock.advance(-(t.config.otp.ttlSeconds * 1000 + 1000));
      }
    });

    test("POST /api/verify-otp 429 TOO_MANY_ATTEMPTS once the code's attempts are used up", async () => {
      const phone = uniquePhone();
      const { verificationId } = (await requestCode(phone)).body.data;
      const wrong = emulator.lastCodeFor(phone) === '0000' ? '1111' : '0000';
      for (let i = 0; i < t.config.otp.maxAttempts; i += 1)
        await request(t.app).post('/api/verify-otp').send({ verificationId, code: wrong });

      const res = await request(t.app).post('/api/verify-otp').send({ verificationId, code: wrong });

      expect(res.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
      spec.expectMatches(res, 'POST', '/api/verify-otp');
    });

    test('POST /api/request-otp 503 SMS_PROVIDER_UNAVAILABLE when Sinch answers 5xx', async () => {
      emulator.injectFault('start', { kind: 'status', status: 503 });

      const res = await requestCode(uniquePhone());

      expect(res.body).toMatchObject({ code: 'SMS_PROVIDER_UNAVAILABLE' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 502 SMS_PROVIDER_ERROR when Sinch answers garbage', async () => {
      emulator.injectFault('start', { kind: 'malformed' });

      const res = await requestCode(uniquePhone());

      expect(res.body).toMatchObject({ code: 'SMS_PROVIDER_ERROR' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 429 RATE_LIMITED when Sinch itself answers 429', async () => {
      emulator.injectFault('start', {
        kind: 'status',
        status: 429,
        body: { errorCode: 42900, message: 'Too many requests' },
      });

      const res = await requestCode(uniquePhone());

      expect(res.body).toMatchObject({ code: 'RATE_LIMITED' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test('POST /api/request-otp 422 PHONE_NUMBER_NOT_ALLOWED for a fixed-line number', async () => {
      const res = await requestCode('+46812345678');

      expect(res.body).toMatchObject({ code: 'PHONE_NUMBER_NOT_ALLOWED' });
      spec.expectMatches(res, 'POST', '/api/request-otp');
    });

    test.each([
      [
        'VerificationRequestEvent',
        { action: 'allow' },
        { method: 'sms', identity: { type: 'number', endpoint: '+46701234567' } },
      ],
      [
        'VerificationRequestEvent',
        { action: 'deny' },
        { method: 'sms', identity: { type: 'number', endpoint: '+46812345678' } },
      ],
      [
        'VerificationResultEvent',
        {},
        { method: 'sms', identity: { type: 'number', endpoint: '+46701234567' }, status: 'SUCCESSFUL' },
      ],
      ['VerificationSmsDeliveredEvent', {}, { method: 'sms', smsResult: 'Successful' }],
    ])('POST /api/sinch/events 200 for a signed %s, answered with %j', async (event, answer, fields) => {
      const res = await signedEvent({ id: `openapi-${uniquePhone()}`, event, ...fields });

      expect(res.body).toEqual(answer);
      spec.expectMatches(res, 'POST', '/api/sinch/events');
    });

    test('POST /api/sinch/events 400 VALIDATION_ERROR for a signed event without its required fields', async () => {
      const res = await signedEvent({ event: 'VerificationResultEvent' });

      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR' });
      spec.expectMatches(res, 'POST', '/api/sinch/events');
    });
  });

  describe('rate-limited responses', () => {
    let limited: TestApp;

    let limitedSpec: SpecValidator;

    beforeAll(async () => {
      limited = await createTestApp({ sharedEmulator: emulator, env: { OTP_RESEND_COOLDOWN_SECONDS: '30' } });
      limitedSpec = await servedSpec(limited.app);
    });

    afterAll(async () => {
      await limited.close();
    });

    test('POST /api/request-otp 429 RATE_LIMITED inside the resend cooldown, with Retry-After and RateLimit headers', async () => {
      const phone = uniquePhone();
      await request(limited.app).post('/api/request-otp').send({ phoneNumber: phone });

      const res = await request(limited.app).post('/api/request-otp').send({ phoneNumber: phone });

      expect(res.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_cooldown' }] });
      limitedSpec.expectMatches(res, 'POST', '/api/request-otp');
    });
  });

  describe('GET /api/openapi.json and /api/docs', () => {
    test('When the document is asked for, then 200 JSON describing every route of an emulator-mode instance', async () => {
      const res = await request(t.app).get('/api/openapi.json');

      expect(res.status).toBe(200);
      expect(res.body).toEqual(spec.document);
      expect(Object.keys(res.body.paths).sort()).toEqual([...EMULATOR_INSTANCE_PATHS].sort());
      spec.expectMatches(res, 'GET', '/api/openapi.json');
    });

    test('When the instance runs without the emulator, then its document leaves the inbox out', async () => {
      const plain = await createTestApp({ sharedEmulator: emulator });
      try {
        const res = await request(plain.app).get('/api/openapi.json');

        expect(Object.keys(res.body.paths)).not.toContain('/api/emulator/inbox');
      } finally {
        await plain.close();
      }
    });

    test.each(['/api/docs', '/api/docs/'])(
      'When %s is asked for, then 200 HTML whose every script, stylesheet and icon loads',
      async (path) => {
        const res = await request(t.app).get(path);

        expect(res.status).toBe(200);
        spec.expectMatches(res, 'GET', '/api/docs');
        const assets = [...res.text.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
        expect(assets).toEqual(
          expect.arrayContaining([
            '/api/docs/swagger-ui.css',
            '/api/docs/swagger-ui-bundle.js',
            '/api/docs/swagger-ui-init.js',
          ]),
        );
        for (const asset of assets) {
          const loaded = await request(t.app).get(asset);
          expect({ asset, status: loaded.status }).toEqual({ asset, status: 200 });
        }
      },
    );

    test("When the Swagger UI init script is loaded, then it carries this instance's document", async () => {
      const res = await request(t.app).get('/api/docs/swagger-ui-init.js');

      expect(res.headers['content-type']).toMatch(/javascript/);
      expect(res.text).toContain('"openapi": "3.1.0"');
      expect(res.text).toContain('/api/emulator/inbox');
    });

    test('When other files of swagger-ui-dist are asked for, then they are not served (404 NOT_FOUND in the envelope)', async () => {
      for (const path of [
        '/api/docs/index.html',
        '/api/docs/swagger-initializer.js',
        '/api/docs/package.json',
        '/api/docs/LICENSE',
      ]) {
        const res = await request(t.app).get(path);
        expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 404, code: 'NOT_FOUND' });
      }
    });

    test('When the docs page is served, then its CSP allows inline styles and data: images but still only same-origin scripts', async () => {
      const res = await request(t.app).get('/api/docs');
      const csp = res.headers['content-security-policy'];

      expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
      expect(csp).toMatch(/img-src 'self' data:/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    });

    test("When any other route answers, then it keeps the app-wide CSP, not the docs page's", async () => {
      const docs = (await request(t.app).get('/api/docs')).headers['content-security-policy'];
      const others = await Promise.all(
        ['/health/live', '/api/openapi.json', '/api/request-otpp'].map(
          async (path) => (await request(t.app).get(path)).headers['content-security-policy'],
        ),
      );

      for (const csp of others) {
        expect(csp).not.toBe(docs);
        // helmet's defaults (without upgrade-insecure-requests, which app.ts drops for plain-http LAN use).
        expect(csp).toMatch(/font-src 'self' https: data:/);
        expect(csp).not.toMatch(/upgrade-insecure-requests/);
      }
    });
  });
});

describe('SpecValidator.expectMatches', () => {
  let plain: TestApp;
  let plainSpec: SpecValidator;

  beforeAll(async () => {
    plain = await createTestApp();
    plainSpec = await servedSpec(plain.app);
  });

  afterAll(async () => {
    await plain.close();
  });

  /** A real response with some part changed, to show the checker notices. */
  async function tampered(
    path: string,
    change: (res: {
      status: number;
      headers: Record<string, string>;
      body: Record<string, unknown>;
      text: string;
    }) => void,
  ) {
    const res = await request(plain.app).get(path);
    const copy = {
      status: res.status,
      headers: { ...res.headers } as Record<string, string>,
      body: structuredClone(res.body) as Record<string, unknown>,
      text: res.text,
    };
    change(copy);
    return copy;
  }

  test('When a required body field is missing, then it fails naming the field', async () => {
    const res = await tampered('/health/live', (r) => delete r.body.timestamp);

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).toThrow(
      /GET \/health\/live \(status 200\)[\s\S]*must have required property 'timestamp'/,
    );
  });

  test('When the body has a field the schema does not allow, then it fails naming the field', async () => {
    const res = await tampered('/health/live', (r) => (r.body.stack = 'at x'));

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).toThrow(
      /must NOT have additional properties \(stack\)/,
    );
  });

  test('When X-Request-Id is missing, then it fails naming the header', async () => {
    const res = await tampered('/health/live', (r) => delete r.headers['x-request-id']);

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).toThrow(
      /header X-Request-Id: missing \(required\)/,
    );
  });

  test('When the status is not documented for the route, then it fails listing the documented ones', async () => {
    const res = await tampered('/health/live', (r) => (r.status = 418));

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).toThrow(
      /status 418 is not documented for GET \/health\/live \(documented: 200, 400, 413, 415, 500\)/,
    );
  });

  test('When an error code is not one the route can give at that status, then it fails listing the allowed codes', async () => {
    const res = await tampered('/api/request-otp', (r) => (r.body.code = 'INVALID_CODE'));

    expect(() => plainSpec.expectMatches(res, 'GET', '/api/request-otp')).toThrow(
      /body\/code: must be equal to constant \("METHOD_NOT_ALLOWED"\)/,
    );
  });

  test('When a 405 lacks its Allow header, then it fails', async () => {
    const res = await tampered('/api/request-otp', (r) => delete r.headers.allow);

    expect(() => plainSpec.expectMatches(res, 'GET', '/api/request-otp')).toThrow(/header Allow: missing \(required\)/);
  });

  test('When the content type is not a documented one, then it fails', async () => {
    const res = await tampered('/health/live', (r) => (r.headers['content-type'] = 'text/html; charset=utf-8'));

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).toThrow(
      /content-type: text\/html is not documented/,
    );
  });

  test('When a path is not documented and the answer is not 404, then it fails', async () => {
    const res = await tampered('/health/live', () => undefined);

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/alive')).toThrow(/the spec has no path \/health\/alive/);
  });

  test('When a wrong code keeps the right shape but loses its details, then it fails on the details rule', async () => {
    const phone = uniquePhone();
    const sent = await request(plain.app).post('/api/request-otp').send({ phoneNumber: phone });
    const res = await request(plain.app)
      .post('/api/verify-otp')
      .send({
        verificationId: sent.body.data.verificationId,
        code: plain.emulator.lastCodeFor(phone) === '0000' ? '1111' : '0000',
      });
    expect(res.body).toMatchObject({ code: 'INVALID_CODE' });
    plainSpec.expectMatches(res, 'POST', '/api/verify-otp');

    const withoutDetails = { status: res.status, headers: res.headers, body: { ...res.body, details: undefined } };
    delete withoutDetails.body.details;

    expect(() => plainSpec.expectMatches(withoutDetails, 'POST', '/api/verify-otp')).toThrow(
      /must have required property 'details'/,
    );
  });

  test('When the response matches, then it passes', async () => {
    const res = await request(plain.app).get('/health/live');

    expect(() => plainSpec.expectMatches(res, 'GET', '/health/live')).not.toThrow();
  });
});
