/**
 * Property-based fuzzing of both endpoints (fast-check): arbitrary JSON, objects with odd keys and
 * types, huge and unicode strings, odd numbers, raw non-JSON bytes, and arbitrary Content-Type,
 * Idempotency-Key, X-Request-Id and X-Forwarded-For headers. FUZZ_RUNS (default 1000 per endpoint)
 * and FUZZ_SEED (printed by fast-check on a failure) reproduce a run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { QueryTypes } from 'sequelize';
import { ERROR_CATALOGUE } from '../../src/utils/app-error';
import { requestCode, type Requested } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RIGHT_CODE = '\u0000right-code';
const RUN_TAG = `${process.pid}-${Date.now()}`;
const OWN_ID = '\u0000own-id';

/** Codes whose refusal happens before any state is touched: nothing may be written for them. */
const INPUT_REFUSALS = new Set([
  'INVALID_JSON',
  'VALIDATION_ERROR',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
  'INVALID_PHONE_NUMBER',
  'PHONE_NUMBER_NOT_ALLOWED',
  'VERIFICATION_NOT_FOUND',
  'IDEMPOTENCY_KEY_REUSED',
]);

// ---------------------------------------------------------------------------------------------
// Generators

/** Any value Node's HTTP client will put in a header: tab, printable ASCII and Latin-1. */
const headerText = (maxLength = 200) =>
  fc.string({
    unit: fc
      .integer({ min: 0x20, max: 0xff })
      .filter((c) => c !== 0x7f)
      .map((c) => String.fromCharCode(c)),
    maxLength,
  });

/** Valid Swedish mobiles (+4676...), so some requests succeed and reach the deep paths. */
const worker = Number(process.env.JEST_WORKER_ID ?? '0') % 10;
const validPhone = fc.integer({ min: 0, max: 999_999 }).map((n) => `+4676${worker}${String(n).padStart(6, '0')}`);

const phoneNumber = fc.oneof(
  { weight: 4, arbitrary: validPhone },
  // Valid numbers the number policy refuses (premium rate, toll free, fixed line, VoIP).
  {
    weight: 1,
    arbitrary: fc.constantFrom('+46900123456', '+46200123456', '+4686123456', '+445612345678', '+447640123456'),
  },
  { weight: 1, arbitrary: validPhone.map((p) => `${p.slice(0, 3)} (${p.slice(3, 5)}) ${p.slice(5, 8)}-${p.slice(8)}`) },
  { weight: 2, arbitrary: fc.stringMatching(/^\+?[0-9 ().-]{0,40}$/) },
  { weight: 2, arbitrary: fc.string({ maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 2000, maxLength: 12_000 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(46701234567, 1e308, -0, Number.MAX_SAFE_INTEGER + 2),
      fc.boolean(),
      fc.constant(null),
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const oddKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'phoneNumber ',
    'PHONENUMBER',
    '',
    'code',
    'verificationId',
    'method',
    '$where',
    'phoneNumber\u0000',
  ),
  fc.string({ maxLength: 20 }),
);

/** Adds keys as own properties (a plain assignment of `__proto__` would set the prototype instead). */
function withExtraKeys(base: Record<string, unknown>, extra: Array<[string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of [...Object.entries(base), ...extra])
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

type Body = { kind: 'json'; value: unknown } | { kind: 'raw'; text: string } | { kind: 'none' };

function bodies(fields: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Body> {
  const extras = fc.array(fc.tuple(oddKey, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 });
  return fc.oneof(
    { weight: 6, arbitrary: fields.map((value) => ({ kind: 'json' as const, value })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fields, extras)
        .map(([value, extra]) => ({ kind: 'json' as const, value: withExtraKeys(value, extra) })),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.string({ maxLength: 200 }),
          fc.constantFrom('{', '{"phoneNumber":', '[1,', 'null', '"x"', '{"a":1}}', '\u00ef\u00bb\u00bf{}'),
        )
        .map((text) => ({ kind: 'raw' as const, text })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  );
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/JSON',
      'application/json; charset=utf-16',
      'application/json; charset=koi8-r',
      'application/vnd.api+json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '*/*',
      '',
      'application/json;;;',
    ),
  },
  { weight: 1, arbitrary: headerText(100) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const requestId = fc.option(
  fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,140}$/), headerText(150)).filter((v) => !/\d{6,}/.test(v)), // long digit runs could look like codes or numbers in the logs
  { freq: 2 },
);
const forwardedFor = fc.option(
  fc.oneof(
    headerText(100),
    fc.array(fc.ipV4(), { minLength: 1, maxLength: 4 }).map((a) => a.join(', ')),
    fc.ipV6(),
  ),
  { freq: 2 },
);

interface Headers {
  contentType: string | undefined;
  requestId: string | null;
  forwardedFor: string | null;
  idempotencyKey: string | null;
}

const commonHeaders = {
  contentType,
  requestId,
  forwardedFor,
  idempotencyKey: fc.option(
    fc.oneof(
      // A few keys used again and again, so replays and reuse with another number happen too.
      { weight: 2, arbitrary: fc.constantFrom(...[1, 2, 3].map((n) => `fuzz-${RUN_TAG}-${n}`)) },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,300}$/) },
      { weight: 1, arbitrary: headerText(300) },
    ),
    { freq: 2 },
  ),
};

// ---------------------------------------------------------------------------------------------
// HTTP and database probes

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function post(port: number, agent: http.Agent, path: string, headers: Headers, body: Body): Promise<Answer> {
  const payload = Buffer.from(
    body.kind === 'json' ? (JSON.stringify(body.value) ?? '') : body.kind === 'raw' ? body.text : '',
    'utf8',
  );
  const outgoing: Record<string, string | number> = { 'content-length': payload.length };
  if (headers.contentType !== undefined) outgoing['content-type'] = headers.contentType;
  if (headers.requestId !== null) outgoing['x-request-id'] = headers.requestId;
  if (headers.forwardedFor !== null) outgoing['x-forwarded-for'] = headers.forwardedFor;
  if (headers.idempotencyKey !== null) outgoing['idempotency-key'] = headers.idempotencyKey;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: outgoing }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The E.164 numbers a body may touch: the parsed phoneNumber (if it is one) and the fixtures. */
function numbersIn(body: Body, fixed: string[]): string[] {
  const value =
    body.kind === 'json' && body.value && typeof body.value === 'object'
      ? (body.value as Record<string, unknown>).phoneNumber
      : undefined;
  const parsed =
    typeof value === 'string' && value.length < 100 ? parsePhoneNumberFromString(value.trim())?.number : undefined;
  return [...new Set([...fixed, ...(parsed ? [parsed] : [])])];
}

/** Everything a request could have written for these numbers and this key. */
async function snapshot(t: TestApp, numbers: string[], key: string | null): Promise<unknown> {
  const [row] = await t.sequelize.query(
    `SELECT
       (SELECT coalesce(json_agg(json_build_array(u."phoneNumber", cardinality(u."otpSendTimes"), cardinality(u."otpFailureTimes"), u."isVerified") ORDER BY u."phoneNumber"), '[]')
          FROM "Users" u WHERE u."phoneNumber" = ANY($1)) AS "users",
       (SELECT coalesce(json_agg(json_build_array(v."id", v."status", v."attempts") ORDER BY v."id"), '[]')
          FROM "Verifications" v WHERE v."phoneNumber" = ANY($1)) AS "verifications",
       (SELECT count(*)::int FROM "IdempotencyKeys" WHERE "key" = $2) AS "keys"`,
    { bind: [numbers, key ?? ''], type: QueryTypes.SELECT },
  );
  return row;
}

/** The response invariants every answer must satisfy, whatever came in. */
function checkEnvelope(answer: Answer, headers: Headers): { code?: string } {
  expect(answer.status).toBeLessThan(500);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  // A sane incoming id is echoed; anything else gets a fresh UUID. Whitespace around a header value
  // is HTTP framing (RFC 9110 5.5), which Node strips only in front: such an id may go either way.
  const sent = headers.requestId ?? '';
  const echoed = answer.headers['x-request-id'];
  if (SANE_REQUEST_ID.test(sent)) expect(echoed).toBe(sent);
  else if (SANE_REQUEST_ID.test(sent.trim()))
    expect([sent.trim(), 'uuid']).toContain(UUID.test(String(echoed)) ? 'uuid' : echoed);
  else expect(echoed).toMatch(UUID);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  if (answer.status === 200) {
    expect(Object.keys(body).sort()).toEqual(['data', 'message', 'status']);
    expect(body).toMatchObject({ status: 'success', message: expect.any(String), data: expect.any(Object) });
    return {};
  }
  expect(Object.keys(body).filter((k) => !['status', 'code', 'message', 'requestId', 'details'].includes(k))).toEqual(
    [],
  );
  expect(body).toMatchObject({
    status: 'error',
    code: expect.any(String),
    message: expect.any(String),
    requestId: answer.headers['x-request-id'],
  });
  const code = body.code as keyof typeof ERROR_CATALOGUE;
  expect(Object.keys(ERROR_CATALOGUE)).toContain(code);
  expect(ERROR_CATALOGUE[code].status).toBe(answer.status);
  if (body.details !== undefined) expect(Array.isArray(body.details)).toBe(true);
  return { code };
}

describe('Fuzzing both endpoints (fast-check)', () => {
  let t: TestApp;
  let server: http.Server;
  let port: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts = new Map<string, number>();

  beforeAll(async () => {
    // Refusals are logged at warn: the run-wide log audit then checks that no odd input leaks into a log line.
    t = await createTestApp({ env: { LOG_LEVEL: 'warn' } });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await t.close();
    // What the fuzzing reached, so a run that only ever hits one refusal is noticed.
    process.stdout.write(`[fuzz] answers by code: ${JSON.stringify(Object.fromEntries([...counts].sort()))}\n`);
  });

  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

  test(`POST /api/request-otp: ${RUNS} arbitrary requests never get a 5xx, always get the envelope, and refusals write nothing`, async () => {
    const fields = fc.record(
      { phoneNumber, method: fc.oneof(fc.constant('sms'), fc.jsonValue({ maxDepth: 1 })) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(bodies(fields), fc.record(commonHeaders), async (body, headers) => {
        const numbers = numbersIn(body, []);
        const before = await snapshot(t, numbers, headers.idempotencyKey);

        const answer = await post(port, agent, '/api/request-otp', headers, body);

        const { code } = checkEnvelope(answer, headers);
        count(`request-otp ${answer.status} ${code ?? 'success'}`);
        if (answer.status !== 200) expect(await snapshot(t, numbers, headers.idempotencyKey)).toEqual(before);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(counts.get('request-otp 200 success')).toBeGreaterThan(0);
  }, 180_000);

  test(`POST /api/verify-otp: ${RUNS} arbitrary requests never get a 5xx, always get the envelope, and input refusals write nothing`, async () => {
    const pending: Requested[] = [];
    for (let i = 0; i < 4; i += 1)
      pending.push(
        await requestCode(t, `+4672${worker}${String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0')}`),
      );
    const fixtures = pending.map((p) => p.phone);
    const shape = {
      phoneNumber: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...fixtures) },
        { weight: 2, arbitrary: phoneNumber },
      ),
      code: fc.oneof(
        { weight: 3, arbitrary: fc.constant(RIGHT_CODE) },
        { weight: 3, arbitrary: fc.stringMatching(/^\s*[A-Za-z0-9]{4,10}\s*$/) },
        { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
      verificationId: fc.oneof(
        { weight: 3, arbitrary: fc.constant(OWN_ID) },
        { weight: 1, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
    };
    // Mostly well-formed bodies, so the deep paths (wrong code, cap, already verified) are fuzzed too.
    const fields = fc.oneof(
      { weight: 3, arbitrary: fc.record(shape, { requiredKeys: ['verificationId', 'code'] }) },
      { weight: 1, arbitrary: fc.record(shape, { requiredKeys: [] }) },
    );
    /** The fixtures' real code and id stand in for the placeholders, so right answers are tried too. */
    const resolve = (body: Body): Body => {
      if (body.kind !== 'json' || !body.value || typeof body.value !== 'object' || Array.isArray(body.value))
        return body;
      const value = body.value as Record<string, unknown>;
      const own = pending.find((p) => p.phone === value.phoneNumber);
      const out = withExtraKeys({}, Object.entries(value));
      if (value.code === RIGHT_CODE) out.code = own?.code ?? '123456';
      if (value.verificationId === OWN_ID)
        out.verificationId = own?.verificationId ?? '00000000-0000-4000-8000-000000000000';
      return { kind: 'json', value: out };
    };
    await fc.assert(
      fc.asyncProperty(
        bodies(fields),
        fc.record({ ...commonHeaders, idempotencyKey: fc.constant(null) }),
        async (generated, headers) => {
          const body = resolve(generated);
          const numbers = numbersIn(body, fixtures);
          const before = await snapshot(t, numbers, null);

          const answer = await post(port, agent, '/api/verify-otp', headers, body);

          const { code } = checkEnvelope(answer, headers);
          count(`verify-otp ${answer.status} ${code ?? 'success'}`);
          if (code && INPUT_REFUSALS.has(code)) expect(await snapshot(t, numbers, null)).toEqual(before);
          // A fixture that was verified or locked gets a new code, so later cases still meet a live one.
          const index = pending.findIndex(
            (p) => body.kind === 'json' && p.phone === (body.value as Record<string, unknown> | null)?.phoneNumber,
          );
          if (index >= 0 && (answer.status === 200 || code === 'TOO_MANY_ATTEMPTS'))
            pending[index] = await requestCode(t, fixtures[index]);
        },
      ),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect([...counts.keys()].filter((k) => k.startsWith('verify-otp')).length).toBeGreaterThan(4);
  }, 180_000);
});
