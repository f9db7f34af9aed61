import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/config/logger';
import {
  createSinchEmulator,
  sandboxNumber,
  type EmulatorOptions,
  type RecordedRequest,
  type SinchEmulator,
} from '../../src/emulator/sinch-emulator';
import { signRequest } from '../../src/clients/sinch/sinch.signer';
import { createSinchClient, sinchMayHaveActed, type SinchClient } from '../../src/clients/sinch/sinch.client';
import { AppError } from '../../src/utils/app-error';
import { uniquePhone } from '../factories/phone.factory';
import { LogCapture } from '../helpers/log-capture';
import { closedPort } from '../helpers/net';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';

const BASIC = `Basic ${Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64')}`;

interface ClientUnderTest {
  client: SinchClient;
  logs: LogCapture;
  config: Config['sinch'];
}

function sinchConfig(emulatorUrl: string, env: Record<string, string> = {}): Config['sinch'] {
  return loadConfig({
    NODE_ENV: 'test',
    SINCH_APPLICATION_KEY: SINCH_KEY,
    SINCH_APPLICATION_SECRET: SINCH_SECRET,
    SINCH_API_BASE_URL: emulatorUrl,
    SINCH_TIMEOUT_MS: '300',
    SINCH_CIRCUIT_FAILURE_THRESHOLD: '1000',
    ...env,
  }).sinch;
}

/** The real axios client, with its logs captured and the configured secret scrubbed as in production. */
function clientFor(emulatorUrl: string, env: Record<string, string> = {}): ClientUnderTest {
  const config = sinchConfig(emulatorUrl, env);
  const logs = new LogCapture();
  const logger = createLogger({ level: 'debug', format: 'json', stream: logs });
  return { client: createSinchClient(config, logger), logs, config };
}

async function emulatorWith(options: Partial<EmulatorOptions> = {}): Promise<SinchEmulator> {
  return createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET, ...options });
}

/** What a call rejected with, asserted to be our AppError (never a raw axios error). */
async function failureOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const start = (client: SinchClient, phone: string) =>
  client.startSms(phone, { reference: `ref-${phone}-${Math.random()}`, expirySeconds: 600 });

/** No line may carry the secret, the Basic credentials or an Authorization header. */
function expectLogsFreeOfSecrets(logs: LogCapture): void {
  expect(logs.text()).not.toContain(SINCH_SECRET);
  expect(logs.text()).not.toContain(BASIC.slice('Basic '.length));
  expect(logs.text()).not.toMatch(/"authorization"\s*:\s*"(Basic|Application)/i);
}

describe.each(['basic', 'signed'] as const)('Sinch client with SINCH_AUTH_SCHEME=%s', (scheme) => {
  let emulator: SinchEmulator;
  let sut: ClientUnderTest;

  beforeAll(async () => {
    emulator = await emulatorWith();
    sut = clientFor(emulator.url, { SINCH_AUTH_SCHEME: scheme });
  });

  afterAll(async () => {
    sut.client.close();
    await emulator.close();
  });

  /** Checks the Authorization header the emulator received, recomputing a signature from the raw request. */
  function expectAuthenticated(recorded: RecordedRequest | undefined): void {
    expect(recorded?.status).toBe(200);
    const authorization = String(recorded?.headers.authorization);
    if (scheme === 'basic') {
      expect(authorization).toBe(BASIC);
      return;
    }
    const timestamp = String(recorded?.headers['x-timestamp']);
    expect(Math.abs(Date.parse(timestamp) - Date.now())).toBeLessThan(10_000);
    const signature = signRequest(
      {
        method: recorded!.method,
        path: recorded!.path,
        contentType: String(recorded?.headers['content-type'] ?? ''),
        timestamp,
        body: recorded!.rawBody,
      },
      SINCH_SECRET,
    );
    expect(authorization).toBe(`Application ${SINCH_KEY}:${signature}`);
  }

  test("When an SMS verification is started, then the emulator accepts our credentials and we get Sinch's id", async () => {
    const phone = uniquePhone();

    const { id } = await sut.client.startSms(phone, { reference: 'our-id-1', expirySeconds: 300 });

    const recorded = emulator.requests.at(-1);
    expect(recorded).toMatchObject({
      method: 'POST',
      path: '/verification/v1/verifications',
      json: {
        identity: { type: 'number', endpoint: phone },
        method: 'sms',
        reference: 'our-id-1',
        smsOptions: { expiry: '00:05:00' },
      },
    });
    expectAuthenticated(recorded);
    expect(id).toBe(emulator.inbox.at(-1)?.verificationId);
  });

  test('When a code is reported, then it goes by id, authenticated, and the right code is SUCCESSFUL', async () => {
    const phone = uniquePhone();
    const { id } = await start(sut.client, phone);

    const outcome = await sut.client.reportSmsCode(id, emulator.lastCodeFor(phone)!);

    expect(outcome).toEqual({ result: 'SUCCESSFUL' });
    const recorded = emulator.requests.at(-1);
    expect(recorded).toMatchObject({
      method: 'PUT',
      path: `/verification/v1/verifications/id/${id}`,
      json: { method: 'sms', sms: { code: emulator.lastCodeFor(phone) } },
    });
    expectAuthenticated(recorded);
  });

  test('When the secret is wrong, then 502 SMS_PROVIDER_ERROR and an error log naming the settings, without the secret', async () => {
    const wrongSecret = Buffer.from('definitely-the-wrong-secret').toString('base64');
    const logs = new LogCapture();
    // No secrets to scrub configured: the client itself must never write them.
    const logger = createLogger({ level: 'debug', format: 'json', stream: logs });
    const client = createSinchClient(
      sinchConfig(emulator.url, { SINCH_AUTH_SCHEME: scheme, SINCH_APPLICATION_SECRET: wrongSecret }),
      logger,
    );

    const error = await failureOf(start(client, uniquePhone()));
    client.close();

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_ERROR', httpStatus: 502 });
    expect(sinchMayHaveActed(error)).toBe(false);
    expect(emulator.requests.at(-1)?.status).toBe(401);
    const errors = logs.entries().filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toEqual(expect.stringContaining('SINCH_APPLICATION_SECRET'));
    expect(errors[0]?.message).toEqual(expect.stringContaining(`SINCH_AUTH_SCHEME=${scheme}`));
    expect(logs.text()).not.toContain(wrongSecret);
    expect(logs.text()).not.toContain(Buffer.from(`${SINCH_KEY}:${wrongSecret}`).toString('base64'));
  });

  test('When the key is unknown to Sinch, then 502 SMS_PROVIDER_ERROR', async () => {
    const client = createSinchClient(
      sinchConfig(emulator.url, { SINCH_AUTH_SCHEME: scheme, SINCH_APPLICATION_KEY: 'some-other-key' }),
      createLogger({ level: 'error', format: 'json', stream: new LogCapture() }),
    );

    const error = await failureOf(start(client, uniquePhone()));
    client.close();

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_ERROR' });
    expect(emulator.requests.at(-1)?.status).toBe(401);
  });

  afterEach(() => {
    expectLogsFreeOfSecrets(sut.logs);
  });
});

describe('Sinch client failure translation', () => {
  let emulator: SinchEmulator;
  let sut: ClientUnderTest;

  beforeAll(async () => {
    emulator = await emulatorWith();
    sut = clientFor(emulator.url);
  });

  afterEach(() => {
    emulator.clearFaults();
    expectLogsFreeOfSecrets(sut.logs);
  });

  afterAll(async () => {
    sut.client.close();
    await emulator.close();
  });

  const startsTo = (phone: string) =>
    emulator.requests.filter(
      (r) => (r.json as { identity?: { endpoint?: string } } | undefined)?.identity?.endpoint === phone,
    );

  test.each([500, 502, 503])(
    'When Sinch answers %i, then SMS_PROVIDER_UNAVAILABLE with Retry-After, and the start is not retried',
    async (status) => {
      const phone = uniquePhone();
      emulator.injectFault('start', { kind: 'status', status });

      const error = await failureOf(start(sut.client, phone));

      expect(error).toMatchObject({
        code: 'SMS_PROVIDER_UNAVAILABLE',
        httpStatus: 503,
        retryAfterSeconds: expect.any(Number),
      });
      expect(sinchMayHaveActed(error)).toBe(false);
      expect(startsTo(phone)).toHaveLength(1);
    },
  );

  test('When Sinch does not answer within SINCH_TIMEOUT_MS, then SMS_PROVIDER_UNAVAILABLE, flagged as possibly sent, after about the timeout', async () => {
    const phone = uniquePhone();
    emulator.injectFault('start', { kind: 'delay', ms: 2000 });
    const started = Date.now();

    const error = await failureOf(start(sut.client, phone));

    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(error).toMatchObject({
      code: 'SMS_PROVIDER_UNAVAILABLE',
      retryAfterSeconds: expect.any(Number),
    });
    expect(sinchMayHaveActed(error)).toBe(true);
    expect(startsTo(phone)).toHaveLength(1);
    expect(sut.logs.entries().at(-1)).toMatchObject({ level: 'warn', operation: 'start', error: 'timeout' });
  });

  test('When Sinch drops the connection, then SMS_PROVIDER_UNAVAILABLE, flagged as possibly sent', async () => {
    emulator.injectFault('start', { kind: 'drop' });

    const error = await failureOf(start(sut.client, uniquePhone()));

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_UNAVAILABLE' });
    expect(sinchMayHaveActed(error)).toBe(true);
  });

  test('When the connection is refused, then SMS_PROVIDER_UNAVAILABLE, known not to have sent', async () => {
    const refused = clientFor(`http://127.0.0.1:${await closedPort()}`);

    const error = await failureOf(start(refused.client, uniquePhone()));
    refused.client.close();

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_UNAVAILABLE' });
    expect(sinchMayHaveActed(error)).toBe(false);
    expect(refused.logs.entries()).toEqual([expect.objectContaining({ level: 'warn', error: 'ECONNREFUSED' })]);
  });

  test('When Sinch answers 429 without Retry-After, then RATE_LIMITED with Retry-After 60', async () => {
    emulator.injectFault('start', { kind: 'status', status: 429 });

    const error = await failureOf(start(sut.client, uniquePhone()));

    expect(error).toMatchObject({ code: 'RATE_LIMITED', httpStatus: 429, retryAfterSeconds: 60 });
  });

  test("When Sinch answers 429 with Retry-After, then RATE_LIMITED passes Sinch's value on", async () => {
    const polite = await emulatorWith({ retryAfterSeconds: 7 });
    const client = clientFor(polite.url);

    const error = await failureOf(start(client.client, sandboxNumber('tooQuickly', 1)));
    client.client.close();
    await polite.close();

    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 7 });
  });

  test.each([
    ['a non-JSON page', { kind: 'malformed' as const }],
    ['an empty object', { kind: 'empty' as const }],
    ['an empty body', { kind: 'status' as const, status: 200, body: '' }],
    ['a JSON array', { kind: 'status' as const, status: 200, body: [] }],
    ['an id that is too long', { kind: 'status' as const, status: 200, body: { id: 'x'.repeat(65) } }],
    [
      'a 403 that is not about credentials',
      { kind: 'status' as const, status: 403, body: { errorCode: 40301, message: 'x' } },
    ],
  ])('When the start answer is %s, then SMS_PROVIDER_ERROR', async (_what, fault) => {
    emulator.injectFault('start', fault);

    const error = await failureOf(start(sut.client, uniquePhone()));

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_ERROR', httpStatus: 502 });
  });

  test.each([
    ['a non-JSON page', { kind: 'malformed' as const }],
    ['an empty object', { kind: 'empty' as const }],
    ['an unknown status', { kind: 'status' as const, status: 200, body: { id: 'x', status: 'WHATEVER' } }],
  ])('When a report answer is %s, then SMS_PROVIDER_ERROR', async (_what, fault) => {
    const { id } = await start(sut.client, uniquePhone());
    emulator.injectFault('report', fault);

    const error = await failureOf(sut.client.reportSmsCode(id, '1234'));

    expect(error).toMatchObject({ code: 'SMS_PROVIDER_ERROR' });
  });

  test.each([40001, 40005])('When Sinch refuses the number with %i, then INVALID_PHONE_NUMBER', async (errorCode) => {
    emulator.injectFault('start', { kind: 'status', status: 400, body: { errorCode, message: 'x' } });

    const error = await failureOf(start(sut.client, uniquePhone()));

    expect(error).toMatchObject({
      code: 'INVALID_PHONE_NUMBER',
      httpStatus: 400,
      details: [{ field: 'phoneNumber', reason: 'rejected_by_provider' }],
    });
  });

  test.each([
    ['blacklisted', 'blocked_by_provider'],
    ['noRoute', 'no_route'],
  ] as const)('When Sinch answers the sandbox %s number, then PHONE_NUMBER_NOT_ALLOWED', async (behaviour, reason) => {
    const error = await failureOf(start(sut.client, sandboxNumber(behaviour, 2)));

    expect(error).toMatchObject({ code: 'PHONE_NUMBER_NOT_ALLOWED', details: [{ field: 'phoneNumber', reason }] });
  });

  test.each([
    [
      '200 FAIL "Invalid code"',
      'INVALID_CODE',
      { status: 200, body: { id: 'x', method: 'sms', status: 'FAIL', reason: 'Invalid code' } },
      { result: 'INVALID_CODE' },
    ],
    [
      '400 errorCode 40003',
      'INVALID_CODE',
      { status: 400, body: { errorCode: 40003, message: 'Invalid identity or code.' } },
      { result: 'INVALID_CODE' },
    ],
    [
      '200 FAIL "Expired"',
      'EXPIRED',
      { status: 200, body: { id: 'x', method: 'sms', status: 'FAIL', reason: 'Expired' } },
      { result: 'EXPIRED' },
    ],
    [
      '404',
      'NOT_FOUND',
      { status: 404, body: { errorCode: 40400, message: 'Requested resource was not found.' } },
      { result: 'NOT_FOUND' },
    ],
    [
      '200 ABORTED',
      'ABORTED',
      { status: 200, body: { id: 'x', method: 'sms', status: 'ABORTED' } },
      { result: 'ABORTED' },
    ],
    [
      '200 DENIED',
      'REJECTED',
      { status: 200, body: { id: 'x', method: 'sms', status: 'DENIED', reason: 'Denied by callback' } },
      { result: 'REJECTED', status: 'DENIED', reason: 'Denied by callback' },
    ],
    [
      '200 FAIL for another reason',
      'REJECTED',
      { status: 200, body: { id: 'x', method: 'sms', status: 'FAIL', reason: 'Fraud' } },
      { result: 'REJECTED', status: 'FAIL', reason: 'Fraud' },
    ],
  ])('When Sinch answers a report with %s, then the outcome is %s', async (_what, _result, answer, outcome) => {
    const { id } = await start(sut.client, uniquePhone());
    emulator.injectFault('report', { kind: 'status', ...answer });

    await expect(sut.client.reportSmsCode(id, '1234')).resolves.toEqual(outcome);
  });

  test('When a wrong code is reported to the real emulator in both styles, then both are INVALID_CODE', async () => {
    const strict = await emulatorWith({ wrongCodeById: '40003' });
    const strictClient = clientFor(strict.url);
    const phoneA = uniquePhone();
    const phoneB = uniquePhone();
    const a = await start(sut.client, phoneA);
    const b = await start(strictClient.client, phoneB);

    const outcomes = [
      await sut.client.reportSmsCode(a.id, emulator.lastCodeFor(phoneA) === '0000' ? '1111' : '0000'),
      await strictClient.client.reportSmsCode(b.id, strict.lastCodeFor(phoneB) === '0000' ? '1111' : '0000'),
    ];
    strictClient.client.close();
    await strict.close();

    expect(outcomes).toEqual([{ result: 'INVALID_CODE' }, { result: 'INVALID_CODE' }]);
    expect(emulator.requests.at(-1)?.status).toBe(200);
    expect(strict.requests.at(-1)?.status).toBe(400);
  });

  test('When an older verification was replaced at Sinch, then reporting to it answers ABORTED', async () => {
    const phone = uniquePhone();
    const older = await start(sut.client, phone);
    await start(sut.client, phone);

    await expect(sut.client.reportSmsCode(older.id, '1234')).resolves.toEqual({ result: 'ABORTED' });
  });
});

describe('Sinch client start and report by method (sms, whatsapp, callout)', () => {
  let emulator: SinchEmulator;
  let sut: ClientUnderTest;

  beforeAll(async () => {
    emulator = await emulatorWith({ codeLength: 6 });
    sut = clientFor(emulator.url, { SINCH_AUTH_SCHEME: 'signed' });
  });

  afterAll(async () => {
    sut.client.close();
    await emulator.close();
  });

  test('When an SMS is started with a locale and Alpha codes, then Sinch gets smsOptions with both and the locale as Accept-Language, and we read Content-Language', async () => {
    const phone = uniquePhone();

    const result = await sut.client.start({
      phoneNumber: phone,
      method: 'sms',
      reference: `sms-${phone}`,
      expirySeconds: 120,
      locale: 'sv-SE',
      codeType: 'Alpha',
    });

    const recorded = emulator.requests.at(-1)!;
    expect(recorded.json).toEqual({
      identity: { type: 'number', endpoint: phone },
      method: 'sms',
      reference: `sms-${phone}`,
      smsOptions: { expiry: '00:02:00', codeType: 'Alpha' },
    });
    expect(recorded.headers['accept-language']).toBe('sv-SE');
    expect(result).toEqual({ id: emulator.inbox.at(-1)!.verificationId, contentLanguage: 'sv-SE' });
    expect(emulator.inbox.at(-1)).toMatchObject({ method: 'sms', locale: 'sv-SE' });
    expect(emulator.lastCodeFor(phone)).toMatch(/^[A-Z]{6}$/);
  });

  test('When an SMS is started without a locale, then no Accept-Language goes out and no language comes back', async () => {
    const phone = uniquePhone();

    const result = await sut.client.start({
      phoneNumber: phone,
      method: 'sms',
      reference: `sms-${phone}`,
      expirySeconds: 600,
      codeType: 'Numeric',
    });

    expect(emulator.requests.at(-1)!.headers).not.toHaveProperty('accept-language');
    expect(result).toEqual({ id: expect.any(String) });
  });

  test('When WhatsApp is started with a locale and reported, then Sinch gets whatsappOptions, the Accept-Language header and the whatsapp report body', async () => {
    const phone = uniquePhone();

    const { id, contentLanguage } = await sut.client.start({
      phoneNumber: phone,
      method: 'whatsapp',
      reference: `wa-${phone}`,
      expirySeconds: 600,
      locale: 'pt-BR',
      codeType: 'Alphanumeric',
    });
    const started = emulator.requests.at(-1)!;
    const code = emulator.lastCodeFor(phone)!;
    const wrong = await sut.client.report(id, 'whatsapp', code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA');
    const right = await sut.client.report(id, 'whatsapp', code);

    expect(started.json).toEqual({
      identity: { type: 'number', endpoint: phone },
      method: 'whatsapp',
      reference: `wa-${phone}`,
      whatsappOptions: { codeType: 'Alphanumeric' },
    });
    expect(started.headers['accept-language']).toBe('pt-BR');
    expect(contentLanguage).toBe('pt-BR');
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    expect(emulator.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: `/verification/v1/verifications/id/${id}`,
      rawBody: JSON.stringify({ method: 'whatsapp', whatsapp: { code } }),
    });
    expect([wrong, right]).toEqual([{ result: 'INVALID_CODE' }, { result: 'SUCCESSFUL' }]);
  });

  test('When a call is started with a locale and reported, then the locale is calloutOptions.speech.locale, not a header, and the callout report body verifies', async () => {
    const phone = uniquePhone();

    const { id, contentLanguage } = await sut.client.start({
      phoneNumber: phone,
      method: 'callout',
      reference: `call-${phone}`,
      expirySeconds: 600,
      locale: 'fr-FR',
      codeType: 'Alpha',
    });
    const started = emulator.requests.at(-1)!;
    const code = emulator.lastCodeFor(phone)!;
    const outcome = await sut.client.report(id, 'callout', code);

    expect(started.json).toEqual({
      identity: { type: 'number', endpoint: phone },
      method: 'callout',
      reference: `call-${phone}`,
      calloutOptions: { speech: { locale: 'fr-FR' } },
    });
    expect(started.headers).not.toHaveProperty('accept-language');
    expect(contentLanguage).toBe('fr-FR');
    expect(emulator.inbox.at(-1)).toMatchObject({ to: phone, method: 'callout', locale: 'fr-FR' });
    expect(emulator.requests.at(-1)!.rawBody).toBe(JSON.stringify({ method: 'callout', callout: { code } }));
    expect(outcome).toEqual({ result: 'SUCCESSFUL' });
  });

  test('When a call is started without a locale, then there is no calloutOptions at all', async () => {
    const phone = uniquePhone();

    await sut.client.start({
      phoneNumber: phone,
      method: 'callout',
      reference: `call-${phone}`,
      expirySeconds: 600,
      codeType: 'Numeric',
    });

    expect(emulator.requests.at(-1)!.json).toEqual({
      identity: { type: 'number', endpoint: phone },
      method: 'callout',
      reference: `call-${phone}`,
    });
  });

  test('When Sinch refuses a call for its speech locale (400 40001), then SMS_PROVIDER_ERROR, not a blame on the phone number', async () => {
    const error = await failureOf(
      sut.client.start({
        phoneNumber: uniquePhone(),
        method: 'callout',
        reference: `bad-locale-${Math.random()}`,
        expirySeconds: 600,
        locale: 'en_US',
        codeType: 'Numeric',
      }),
    );

    expect(emulator.requests.at(-1)!.status).toBe(400);
    expect(error.code).toBe('SMS_PROVIDER_ERROR');
  });

  test('When a code is reported under another method than the start, then Sinch does not accept it', async () => {
    const phone = uniquePhone();
    const { id } = await sut.client.start({
      phoneNumber: phone,
      method: 'callout',
      reference: `mixed-${phone}`,
      expirySeconds: 600,
      codeType: 'Numeric',
    });

    await expect(sut.client.report(id, 'sms', emulator.lastCodeFor(phone)!)).resolves.toEqual({
      result: 'INVALID_CODE',
    });
  });

  test.each([
    ['sv-se', 'a lower-case tag', 'sv-SE'],
    ['en_US, de-DE', 'a list whose first entry is unreadable', 'de-DE'],
    ['klingon!', 'nothing readable', undefined],
  ])(
    'When Sinch answers Content-Language %j (%s), then the start result carries the language %j',
    async (header, _what, expected) => {
      const fake = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-language': header });
          res.end('{"id":"fake-id","method":"sms"}');
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const client = clientFor(`http://127.0.0.1:${(fake.address() as AddressInfo).port}`);
      try {
        const result = await client.client.start({
          phoneNumber: uniquePhone(),
          method: 'sms',
          reference: 'r',
          expirySeconds: 600,
          codeType: 'Numeric',
        });

        expect(result).toEqual(
          expected === undefined ? { id: 'fake-id' } : { id: 'fake-id', contentLanguage: expected },
        );
      } finally {
        client.client.close();
        await new Promise<void>((resolve) => fake.close(() => resolve()));
      }
    },
  );
});

describe('Sinch client circuit breaker (SINCH_CIRCUIT_FAILURE_THRESHOLD=2)', () => {
  let emulator: SinchEmulator;
  let sut: ClientUnderTest;

  beforeAll(async () => {
    emulator = await emulatorWith();
    sut = clientFor(emulator.url, { SINCH_CIRCUIT_FAILURE_THRESHOLD: '2', SINCH_CIRCUIT_COOLDOWN_SECONDS: '30' });
  });

  afterAll(async () => {
    sut.client.close();
    await emulator.close();
  });

  test('When Sinch failed twice in a row, then the next call fails fast without reaching Sinch', async () => {
    emulator.injectFault('start', { kind: 'status', status: 503 }, 2);
    await failureOf(start(sut.client, uniquePhone()));
    await failureOf(start(sut.client, uniquePhone()));
    const before = emulator.requests.length;

    const error = await failureOf(start(sut.client, uniquePhone()));

    expect(error).toMatchObject({
      code: 'SMS_PROVIDER_UNAVAILABLE',
      retryAfterSeconds: expect.any(Number),
    });
    expect(emulator.requests).toHaveLength(before);
    expect(sut.client.circuit()).toMatchObject({ state: 'open' });
  });
});
