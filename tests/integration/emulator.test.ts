import { FakeClock } from '../helpers/clock';
import { connect } from 'node:net';
import fc from 'fast-check';
import { applicationAuthorization } from '../../src/clients/sinch/sinch.signer';
import {
  createSinchEmulator,
  sandboxNumber,
  type EmulatorOptions,
  type SinchEmulator,
} from '../../src/emulator/sinch-emulator';
import { until, wrongCode } from '../helpers/otp-flow';

const KEY = 'emulator-test-key';
const SECRET = Buffer.from('emulator-test-secret').toString('base64');
const API = '/verification/v1/verifications';
const JSON_TYPE = 'application/json; charset=utf-8';

type Auth = 'signed' | 'basic' | 'none' | { header: string };

interface CallOptions {
  body?: unknown;
  /** Sent verbatim instead of JSON.stringify(body). */
  rawBody?: string;
  auth?: Auth;
  contentType?: string;
  /** Path to sign when it differs from the path requested. */
  signedPath?: string;
  timestamp?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Parsed JSON typed the way JSON.parse types it, so tests can walk into it and let expect() judge. */
type ParsedJson = ReturnType<typeof JSON.parse>;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: ParsedJson;
}

let emulators: SinchEmulator[] = [];

async function startEmulator(options: Partial<EmulatorOptions> = {}): Promise<SinchEmulator> {
  const emulator = await createSinchEmulator({ applicationKey: KEY, applicationSecret: SECRET, ...options });
  emulators.push(emulator);
  return emulator;
}

afterEach(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  emulators = [];
});

async function call(emulator: SinchEmulator, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const contentType = options.contentType ?? 'application/json';
  const timestamp = options.timestamp ?? new Date().toISOString();
  const headers: Record<string, string> = { 'content-type': contentType, ...options.headers };
  const auth = options.auth ?? 'signed';
  if (auth === 'signed') {
    headers['x-timestamp'] = timestamp;
    headers.authorization = applicationAuthorization(
      { method, path: options.signedPath ?? path, contentType, timestamp, body: body ?? '' },
      KEY,
      SECRET,
    );
  } else if (auth === 'basic') {
    headers.authorization = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;
  } else if (auth !== 'none') {
    headers.authorization = auth.header;
  }
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  let json: ParsedJson;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

let phoneCounter = 0;
/** Unique valid Swedish mobile numbers outside the sandbox ranges. */
function phone(): string {
  phoneCounter += 1;
  return `+4676${String(process.pid % 1000).padStart(3, '0')}${String(phoneCounter).padStart(4, '0')}`;
}

function startSms(
  emulator: SinchEmulator,
  endpoint: string,
  extra: Record<string, unknown> = {},
  options: CallOptions = {},
) {
  return call(emulator, 'POST', API, {
    body: { identity: { type: 'number', endpoint }, method: 'sms', ...extra },
    ...options,
  });
}

function reportById(emulator: SinchEmulator, id: string, code: string, options: CallOptions = {}) {
  return call(emulator, 'PUT', `${API}/id/${id}`, { body: { method: 'sms', sms: { code } }, ...options });
}

function reportByNumber(emulator: SinchEmulator, endpoint: string, code: string, options: CallOptions = {}) {
  return call(emulator, 'PUT', `${API}/number/${endpoint}`, { body: { method: 'sms', sms: { code } }, ...options });
}

async function getJson(url: string): Promise<ParsedJson> {
  return JSON.parse(await (await fetch(url)).text());
}

/** Captures what is written to stdout (the emulator's console) instead of printing it, until restore(). */
function captureStdout(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

function expectSinchError(answer: Answer, status: number, errorCode: number, message?: string | RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
  expect(answer.headers.get('www-authenticate')).toBeNull();
  expect(answer.json).toEqual({
    errorCode,
    message:
      message === undefined
        ? expect.any(String)
        : typeof message === 'string'
          ? message
          : expect.stringMatching(message),
    reference: expect.any(String),
  });
}

describe('POST /verification/v1/verifications (start)', () => {
  test('When an SMS verification is started, then 200 with the id, the sms details and links to this emulator', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();

    const answer = await startSms(emulator, endpoint, { reference: 'start-1' });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe(JSON_TYPE);
    const id = answer.json.id as string;
    expect(answer.json).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      method: 'sms',
      sms: {
        template: 'Your verification code is {{CODE}}. Verified by Sinch',
        interceptionTimeout: 600,
        codeType: 'Numeric',
      },
      _links: [
        { rel: 'status', href: `${emulator.url}${API}/id/${id}`, method: 'GET' },
        { rel: 'report', href: `${emulator.url}${API}/id/${id}`, method: 'PUT' },
      ],
    });
    expect(emulator.inbox).toEqual([
      {
        verificationId: id,
        to: endpoint,
        code: expect.stringMatching(/^\d{4}$/),
        sentAt: expect.any(String),
        delivered: true,
        reference: 'start-1',
        method: 'sms',
      },
    ]);
    expect(emulator.lastCodeFor(endpoint)).toBe(emulator.inbox[0]!.code);
    expect(emulator.requests).toMatchObject([{ method: 'POST', path: API, status: 200, json: { method: 'sms' } }]);
  });

  test('When the same reference is used twice, then 409 40900 "Reference already defined."', async () => {
    const emulator = await startEmulator();
    await startSms(emulator, phone(), { reference: 'dup-ref' });

    const answer = await startSms(emulator, phone(), { reference: 'dup-ref' });

    expectSinchError(answer, 409, 40900, 'Reference already defined.');
  });

  test('When the number has no leading plus, then 400 40005', async () => {
    const emulator = await startEmulator();

    expectSinchError(await startSms(emulator, '46701234567'), 400, 40005);
  });

  test.each([
    ['+4813', 'Number +4813 is invalid. Too short.'],
    ['+46701234567890123', 'Number +46701234567890123 is invalid. Too long.'],
    ['+46 70 123 45 67', 'Number +46 70 123 45 67 is invalid. Not a number.'],
    ['+0123456789', 'Number +0123456789 is invalid. Invalid country calling code.'],
  ])('When the number is %s, then 400 40001 "%s"', async (endpoint, message) => {
    const emulator = await startEmulator();

    expectSinchError(await startSms(emulator, endpoint), 400, 40001, message);
    expect(emulator.inbox).toEqual([]);
  });

  test.each([
    ['no identity', 40002, { method: 'sms' }],
    ['no endpoint', 40002, { identity: { type: 'number' }, method: 'sms' }],
    ['no method', 40002, { identity: { type: 'number', endpoint: '+46701234567' } }],
    ['an unknown method', 40001, { identity: { type: 'number', endpoint: '+46701234567' }, method: 'pigeon' }],
    ['an email identity', 40001, { identity: { type: 'email', endpoint: 'a@b.c' }, method: 'sms' }],
    [
      'a malformed expiry',
      40001,
      { identity: { type: 'number', endpoint: '+46701234567' }, method: 'sms', smsOptions: { expiry: '10 minutes' } },
    ],
    [
      'an unknown codeType',
      40001,
      { identity: { type: 'number', endpoint: '+46701234567' }, method: 'sms', smsOptions: { codeType: 'Emoji' } },
    ],
    [
      'a numeric reference',
      40001,
      { identity: { type: 'number', endpoint: '+46701234567' }, method: 'sms', reference: 7 },
    ],
  ])('When the body has %s, then 400 %s', async (_what, errorCode, body) => {
    const emulator = await startEmulator();

    expectSinchError(await call(emulator, 'POST', API, { body }), 400, errorCode);
  });

  test('When unknown fields are sent, then they are ignored', async () => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {
      honourEarlyReject: true,
      metadata: { os: 'rest' },
      custom: 'free text',
      smsOptions: { applicationHash: 'abc', codeType: 'Numeric' },
    });

    expect(answer.status).toBe(200);
  });

  test('When the method is camel-cased flashCall, then the flashcall answer with a cliFilter, and the CLI verifies it', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();

    const answer = await call(emulator, 'POST', API, {
      body: { identity: { type: 'number', endpoint }, method: 'flashCall' },
    });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      method: 'flashcall',
      flashCall: {
        cliFilter: expect.stringMatching(/^\(\.\*\)\d{4}\(\.\*\)$/),
        interceptionTimeout: 45,
        reportTimeout: 75,
        denyCallAfter: 0,
      },
    });
    const cli = emulator.lastCodeFor(endpoint)!;
    expect(cli).toMatch(/^\+\d+$/);
    const report = await call(emulator, 'PUT', `${API}/number/${endpoint}`, {
      body: { flashcall: { cli }, source: 'intercept' },
    });
    expect(report.json).toEqual({ id: answer.json.id, method: 'flashcall', status: 'SUCCESSFUL', callComplete: true });
  });

  test('When a callout is started, then the code can be reported under the callout key', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await call(emulator, 'POST', API, {
      body: { identity: { type: 'number', endpoint }, method: 'callout' },
    });
    expect(start.json).toEqual({ id: expect.any(String), method: 'callout', _links: expect.any(Array) });

    const report = await call(emulator, 'PUT', `${API}/id/${start.json.id}`, {
      body: { method: 'callout', callout: { code: emulator.lastCodeFor(endpoint) } },
    });

    expect(report.json).toEqual({ id: start.json.id, method: 'callout', status: 'SUCCESSFUL', callComplete: true });
  });

  test('When a WhatsApp verification with Alpha codes is started, then the code is letters and is accepted in any case', async () => {
    const emulator = await startEmulator({ codeLength: 6 });
    const endpoint = phone();
    const start = await call(emulator, 'POST', API, {
      body: { identity: { type: 'number', endpoint }, method: 'whatsapp', whatsappOptions: { codeType: 'Alpha' } },
    });
    expect(start.json).toMatchObject({ method: 'whatsapp', whatsapp: { codeType: 'Alpha' } });
    const code = emulator.lastCodeFor(endpoint)!;
    expect(code).toMatch(/^[A-Z]{6}$/);

    const report = await call(emulator, 'PUT', `${API}/id/${start.json.id}`, {
      body: { method: 'whatsapp', whatsapp: { code: code.toLowerCase() } },
    });

    expect(report.json).toMatchObject({ status: 'SUCCESSFUL' });
  });

  test('When a seamless verification is started, then fetching its targetUri completes it', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await call(emulator, 'POST', API, {
      body: { identity: { type: 'number', endpoint }, method: 'seamless' },
    });
    expect(start.json).toMatchObject({
      method: 'seamless',
      seamless: { targetUri: `${emulator.url}/_emulator/seamless/${start.json.id}` },
    });

    await fetch(start.json.seamless.targetUri as string);

    const status = await call(emulator, 'GET', `${API}/id/${start.json.id}`);
    expect(status.json).toMatchObject({ status: 'SUCCESSFUL', source: 'intercepted' });
    expect(emulator.inbox).toEqual([]);
  });

  test('When codeLength is 6, then SMS codes have six digits', async () => {
    const emulator = await startEmulator({ codeLength: 6 });
    const endpoint = phone();

    await startSms(emulator, endpoint);

    expect(emulator.lastCodeFor(endpoint)).toMatch(/^\d{6}$/);
  });

  test('When a second verification is started for the same number, then the first becomes ABORTED', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const first = await startSms(emulator, endpoint);

    const second = await startSms(emulator, endpoint);

    const firstStatus = await call(emulator, 'GET', `${API}/id/${first.json.id}`);
    expect(firstStatus.json).toMatchObject({ id: first.json.id, status: 'ABORTED' });
    expect(firstStatus.json.reason).toBeUndefined();
    const report = await reportById(emulator, first.json.id as string, emulator.inbox[0]!.code);
    expect(report.json).toEqual({ id: first.json.id, method: 'sms', status: 'ABORTED' });
    const secondStatus = await call(emulator, 'GET', `${API}/id/${second.json.id}`);
    expect(secondStatus.json).toMatchObject({ status: 'PENDING' });
  });

  test('When Accept-Language is sent, then it comes back as Content-Language', async () => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {}, { headers: { 'accept-language': 'sv-SE' } });

    expect(answer.headers.get('content-language')).toBe('sv-SE');
  });

  test('When printCodes is on, then each code is printed, labelled and with the number masked', async () => {
    const stdout = captureStdout();
    try {
      const emulator = await startEmulator({ printCodes: true });
      await startSms(emulator, '+46701234567');
      const code = emulator.lastCodeFor('+46701234567');

      expect(stdout.lines).toEqual([`[sinch-emulator] EMULATED SMS (not sent) to +4670*****67: code ${code}\n`]);
    } finally {
      stdout.restore();
    }
  });

  test('When printCodes is off (default), then nothing is printed', async () => {
    const spy = jest.spyOn(process.stdout, 'write');
    try {
      const emulator = await startEmulator();
      await startSms(emulator, phone());

      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  test('When an async onMessage listener rejects, then the start still answers and only a warning is emitted', async () => {
    const listener = async (): Promise<void> => Promise.reject(new Error('async listener bug'));
    // A caller may pass an async listener even though the type says void; that must not crash.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- the misuse is what this test is about
    const emulator = await startEmulator({ onMessage: listener });
    const warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const answer = await startSms(emulator, phone());
      await new Promise((r) => setImmediate(r));

      expect(answer.status).toBe(200);
      expect(warning).toHaveBeenCalledWith(expect.stringContaining('async listener bug'));
    } finally {
      warning.mockRestore();
    }
  });

  test('When onMessage is set, then it receives every message, and a throwing listener does not break the start', async () => {
    const received: unknown[] = [];
    const emulator = await startEmulator({
      onMessage: (message) => {
        received.push(message);
        throw new Error('listener bug');
      },
    });
    const warning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const answer = await startSms(emulator, phone());

      expect(answer.status).toBe(200);
      expect(received).toEqual(emulator.inbox);
      expect(warning).toHaveBeenCalledWith(expect.stringContaining('listener bug'));
    } finally {
      warning.mockRestore();
    }
  });
});

describe('Channels, languages and code types', () => {
  function start(emulator: SinchEmulator, endpoint: string, method: string, extra = {}, headers = {}) {
    return call(emulator, 'POST', API, { body: { identity: { type: 'number', endpoint }, method, ...extra }, headers });
  }

  test('When Accept-Language ranks several languages, then the SMS is in the most wanted one: Content-Language and the inbox say so', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();

    const answer = await start(emulator, endpoint, 'sms', {}, { 'accept-language': 'en;q=0.5, sv-se, *;q=0.1' });

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-language')).toBe('sv-SE');
    expect(emulator.inbox).toEqual([
      expect.objectContaining({ to: endpoint, method: 'sms', locale: 'sv-SE', delivered: true }),
    ]);
  });

  test.each([
    ['the wildcard fetch sends by default', '*'],
    ['a malformed header', 'en_US;;q=x'],
  ])(
    'When Accept-Language is %s, then the start succeeds with no Content-Language and no locale',
    async (_what, header) => {
      const emulator = await startEmulator();

      const answer = await start(emulator, phone(), 'sms', {}, { 'accept-language': header });

      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-language')).toBeNull();
      expect(emulator.inbox[0]).not.toHaveProperty('locale');
    },
  );

  test('When a callout names calloutOptions.speech.locale, then the call is in that language and its code is digits whatever codeType says', async () => {
    const emulator = await startEmulator({ codeLength: 6 });
    const endpoint = phone();

    const answer = await start(
      emulator,
      endpoint,
      'callout',
      { calloutOptions: { speech: { locale: 'fr-fr' } }, smsOptions: { codeType: 'Alpha' } },
      { 'accept-language': 'de' },
    );

    expect(answer.json).toEqual({ id: expect.any(String), method: 'callout', _links: expect.any(Array) });
    expect(answer.headers.get('content-language')).toBe('fr-FR');
    expect(emulator.requests[0]!.json).toMatchObject({ calloutOptions: { speech: { locale: 'fr-fr' } } });
    expect(emulator.inbox).toEqual([
      expect.objectContaining({
        to: endpoint,
        method: 'callout',
        locale: 'fr-FR',
        code: expect.stringMatching(/^\d{6}$/),
      }),
    ]);
  });

  test('When a callout has no speech locale, then it falls back on Accept-Language, and without either it has no language', async () => {
    const emulator = await startEmulator();

    const withHeader = await start(
      emulator,
      phone(),
      'callout',
      { calloutOptions: {} },
      { 'accept-language': 'da-DK' },
    );
    const bare = await start(emulator, phone(), 'callout');

    expect(withHeader.headers.get('content-language')).toBe('da-DK');
    expect(bare.headers.get('content-language')).toBeNull();
    expect(emulator.inbox.map((m) => m.locale)).toEqual(['da-DK', undefined]);
  });

  test.each([
    [
      'an underscore locale',
      { speech: { locale: 'en_US' } },
      'calloutOptions.speech.locale en_US is not a language tag such as sv-SE.',
    ],
    [
      'a numeric locale',
      { speech: { locale: 46 } },
      'calloutOptions.speech.locale 46 is not a language tag such as sv-SE.',
    ],
    ['a speech string', { speech: 'sv-SE' }, 'calloutOptions.speech must be an object.'],
    ['options that are not an object', 'sv-SE', 'calloutOptions must be an object.'],
  ])('When a callout has %s, then 400 40001 and nothing is sent', async (_what, calloutOptions, message) => {
    const emulator = await startEmulator();

    const answer = await start(emulator, phone(), 'callout', { calloutOptions });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ errorCode: 40001, message, reference: expect.any(String) });
    expect(emulator.inbox).toEqual([]);
  });

  test('When WhatsApp starts with Accept-Language and Alphanumeric codes, then the message is in that language with a letters-and-digits code', async () => {
    const emulator = await startEmulator({ codeLength: 8 });
    const endpoint = phone();

    const answer = await start(
      emulator,
      endpoint,
      'whatsapp',
      { whatsappOptions: { codeType: 'Alphanumeric' } },
      { 'accept-language': 'pt-BR' },
    );

    expect(answer.json).toMatchObject({ method: 'whatsapp', whatsapp: { codeType: 'Alphanumeric' } });
    expect(answer.headers.get('content-language')).toBe('pt-BR');
    expect(emulator.inbox).toEqual([
      expect.objectContaining({ method: 'whatsapp', locale: 'pt-BR', code: expect.stringMatching(/^[A-Z0-9]{8}$/) }),
    ]);
  });

  test.each([
    ['Numeric', /^\d{6}$/],
    ['Alpha', /^[A-Z]{6}$/],
    ['Alphanumeric', /^[A-Z0-9]{6}$/],
  ])(
    'When an SMS asks for %s codes, then the answer echoes the type and the code matches it',
    async (codeType, pattern) => {
      const emulator = await startEmulator({ codeLength: 6 });
      const endpoint = phone();

      const answer = await start(emulator, endpoint, 'sms', { smsOptions: { codeType } });

      expect(answer.json).toMatchObject({ sms: { codeType } });
      expect(emulator.lastCodeFor(endpoint)).toMatch(pattern);
    },
  );

  test('When the sandbox never delivers SMS to a number, then a call or a WhatsApp message to it still gets through', async () => {
    const emulator = await startEmulator();
    const endpoint = sandboxNumber('undelivered', 5);

    await start(emulator, endpoint, 'sms');
    const sms = emulator.lastCodeFor(endpoint);
    await start(emulator, endpoint, 'callout');
    const call = emulator.lastCodeFor(endpoint);
    await start(emulator, endpoint, 'whatsapp');

    expect(sms).toBeUndefined();
    expect(call).toMatch(/^\d{4}$/);
    expect(emulator.inbox.map(({ method, delivered }) => ({ method, delivered }))).toEqual([
      { method: 'sms', delivered: false },
      { method: 'callout', delivered: true },
      { method: 'whatsapp', delivered: true },
    ]);
  });

  test('When a number is in undeliveredNumbers or marked with failSmsDelivery, then its SMS is never delivered, until reset() forgets the mark', async () => {
    const listed = phone();
    const marked = phone();
    const emulator = await startEmulator({ undeliveredNumbers: [listed] });
    emulator.failSmsDelivery(marked);

    await start(emulator, listed, 'sms');
    await start(emulator, marked, 'sms');
    await start(emulator, marked, 'callout');
    const before = emulator.inbox.map(({ to, method, delivered }) => ({ to, method, delivered }));
    emulator.reset();
    await start(emulator, listed, 'sms');
    await start(emulator, marked, 'sms');

    expect(before).toEqual([
      { to: listed, method: 'sms', delivered: false },
      { to: marked, method: 'sms', delivered: false },
      { to: marked, method: 'callout', delivered: true },
    ]);
    expect(emulator.inbox.map(({ to, delivered }) => ({ to, delivered }))).toEqual([
      { to: listed, delivered: false },
      { to: marked, delivered: true },
    ]);
  });

  test('When undeliveredNumbers holds something that is not E.164, then the emulator refuses to start', async () => {
    await expect(startEmulator({ undeliveredNumbers: ['0701234567'] })).rejects.toThrow(
      'undeliveredNumbers: 0701234567 is not an E.164 number',
    );
  });
});

describe('PUT /verification/v1/verifications/{id|number} (report)', () => {
  test('When the right code is reported by id, then 200 SUCCESSFUL', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const answer = await reportById(emulator, start.json.id as string, emulator.lastCodeFor(endpoint)!);

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ id: start.json.id, method: 'sms', status: 'SUCCESSFUL' });
  });

  test('When the code is wrong by id (default), then 200 FAIL "Invalid code" and the verification stays PENDING', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const answer = await reportById(emulator, start.json.id as string, wrongCode(emulator.lastCodeFor(endpoint)!));

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ id: start.json.id, method: 'sms', status: 'FAIL', reason: 'Invalid code' });
    expect((await call(emulator, 'GET', `${API}/id/${start.json.id}`)).json.status).toBe('PENDING');
    const retry = await reportById(emulator, start.json.id as string, emulator.lastCodeFor(endpoint)!);
    expect(retry.json.status).toBe('SUCCESSFUL');
  });

  test('When the code is wrong by id and wrongCodeById is 40003, then 400 40003', async () => {
    const emulator = await startEmulator({ wrongCodeById: '40003' });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const answer = await reportById(emulator, start.json.id as string, wrongCode(emulator.lastCodeFor(endpoint)!));

    expectSinchError(answer, 400, 40003, 'Invalid identity or code.');
  });

  test('When the code is wrong by number, then 400 40003', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    await startSms(emulator, endpoint);

    const answer = await reportByNumber(emulator, endpoint, wrongCode(emulator.lastCodeFor(endpoint)!));

    expectSinchError(answer, 400, 40003, 'Invalid identity or code.');
  });

  test.each([
    ['a literal +', (n: string) => n],
    ['an encoded %2B', (n: string) => n.replace('+', '%2B')],
  ])('When the right code is reported by number with %s, then 200 SUCCESSFUL', async (_how, encode) => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const answer = await reportByNumber(emulator, encode(endpoint), emulator.lastCodeFor(endpoint)!);

    expect(answer.json).toEqual({ id: start.json.id, method: 'sms', status: 'SUCCESSFUL' });
  });

  test('When the code is reported after the expiry, then 200 FAIL "Expired" even for the right code', async () => {
    const clock = new FakeClock(Date.parse('2025-03-01T12:00:00.000Z'));
    const emulator = await startEmulator({ now: clock.now });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    clock.advance(600_000);

    const answer = await reportById(emulator, start.json.id as string, emulator.lastCodeFor(endpoint)!);

    expect(answer.json).toEqual({ id: start.json.id, method: 'sms', status: 'FAIL', reason: 'Expired' });
    expect((await call(emulator, 'GET', `${API}/id/${start.json.id}`)).json).toMatchObject({
      status: 'FAIL',
      reason: 'Expired',
    });
  });

  test('When smsOptions.expiry is 00:01:30, then the code works at 89 s and is expired at 90 s', async () => {
    const clock = new FakeClock(Date.parse('2025-03-01T12:00:00.000Z'));
    const emulator = await startEmulator({ now: clock.now });
    const early = phone();
    const late = phone();
    const startEarly = await startSms(emulator, early, { smsOptions: { expiry: '00:01:30' } });
    const startLate = await startSms(emulator, late, { smsOptions: { expiry: '00:01:30' } });
    expect(startEarly.json.sms.interceptionTimeout).toBe(90);

    clock.advance(89_000);
    const inTime = await reportById(emulator, startEarly.json.id as string, emulator.lastCodeFor(early)!);
    clock.advance(1_000);
    const tooLate = await reportByNumber(emulator, late, emulator.lastCodeFor(late)!);

    expect(inTime.json.status).toBe('SUCCESSFUL');
    expect(tooLate.status).toBe(200);
    expect(tooLate.json).toEqual({ id: startLate.json.id, method: 'sms', status: 'FAIL', reason: 'Expired' });
  });

  test('When defaultExpirySeconds is 30, then a verification without smsOptions.expiry expires after 30 s', async () => {
    const clock = new FakeClock(Date.parse('2025-03-01T12:00:00.000Z'));
    const emulator = await startEmulator({ now: clock.now, defaultExpirySeconds: 30 });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    clock.advance(30_000);

    const status = await call(emulator, 'GET', `${API}/id/${start.json.id}`);

    expect(status.json).toMatchObject({ status: 'FAIL', reason: 'Expired' });
  });

  test('When maxReportAttempts wrong codes are reported, then the verification is FAIL and the right code no longer works', async () => {
    const emulator = await startEmulator({ maxReportAttempts: 3 });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    const id = start.json.id as string;
    const code = emulator.lastCodeFor(endpoint)!;

    for (let i = 0; i < 2; i += 1) await reportById(emulator, id, wrongCode(code));
    expect((await call(emulator, 'GET', `${API}/id/${id}`)).json.status).toBe('PENDING');
    const third = await reportByNumber(emulator, endpoint, wrongCode(code));
    const right = await reportById(emulator, id, code);

    expectSinchError(third, 400, 40003);
    expect(right.json).toEqual({ id, method: 'sms', status: 'FAIL', reason: 'Invalid code' });
    expect((await call(emulator, 'GET', `${API}/id/${id}`)).json).toMatchObject({
      status: 'FAIL',
      reason: 'Invalid code',
    });
  });

  test('When the id is unknown, then 404 40400 "Requested resource was not found."', async () => {
    const emulator = await startEmulator();

    expectSinchError(await reportById(emulator, 'no-such-id', '1234'), 404, 40400, 'Requested resource was not found.');
  });

  test('When the number has no verification, then 404 40400', async () => {
    const emulator = await startEmulator();

    expectSinchError(await reportByNumber(emulator, phone(), '1234'), 404, 40400);
  });

  test('When a code is reported again after SUCCESSFUL (default), then the right code answers SUCCESSFUL and a wrong one is still wrong', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    const id = start.json.id as string;
    const code = emulator.lastCodeFor(endpoint)!;
    await reportById(emulator, id, code);

    const again = await reportById(emulator, id, code);
    const wrongById = await reportById(emulator, id, wrongCode(code));
    const wrongByNumber = await reportByNumber(emulator, endpoint, wrongCode(code));

    expect(again.json).toEqual({ id, method: 'sms', status: 'SUCCESSFUL' });
    expect(wrongById.json).toEqual({ id, method: 'sms', status: 'FAIL', reason: 'Invalid code' });
    expectSinchError(wrongByNumber, 400, 40003);
    expect((await call(emulator, 'GET', `${API}/id/${id}`)).json.status).toBe('SUCCESSFUL');
  });

  test('When reportAfterSuccess is "expired", then any report after SUCCESSFUL answers 200 FAIL "Expired"', async () => {
    const emulator = await startEmulator({ reportAfterSuccess: 'expired' });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    const code = emulator.lastCodeFor(endpoint)!;
    await reportById(emulator, start.json.id as string, code);

    const again = await reportByNumber(emulator, endpoint, code);

    expect(again.json).toEqual({ id: start.json.id, method: 'sms', status: 'FAIL', reason: 'Expired' });
  });

  test.each([
    ['no code', 40002, { method: 'sms', sms: {} }],
    ['no method and no code object', 40002, { code: '1234' }],
    ['an unknown method', 40001, { method: 'pigeon', pigeon: { code: '1234' } }],
    ['an array body', 40001, [1, 2]],
  ])('When the report body has %s, then 400 %s', async (_what, errorCode, body) => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, phone());

    expectSinchError(await call(emulator, 'PUT', `${API}/id/${start.json.id}`, { body }), 400, errorCode);
  });

  test('When the report names another method than the verification, then the code counts as wrong', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const answer = await call(emulator, 'PUT', `${API}/id/${start.json.id}`, {
      body: { method: 'callout', callout: { code: emulator.lastCodeFor(endpoint) } },
    });

    expect(answer.json).toMatchObject({ status: 'FAIL', reason: 'Invalid code' });
  });
});

describe('GET /verification/v1/verifications/... (status)', () => {
  test('When a pending verification is read by id, then the full status shape without price', async () => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, '+46701234567', { reference: 'status-ref' });

    const answer = await call(emulator, 'GET', `${API}/id/${start.json.id}`);

    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      id: start.json.id,
      method: 'sms',
      status: 'PENDING',
      reference: 'status-ref',
      identity: { type: 'number', endpoint: '+46701234567' },
      countryId: 'SE',
      verificationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$/),
    });
  });

  test('When a successful verification is read, then source, price and the fake-clock timestamp without Z', async () => {
    const clock = new FakeClock(Date.parse('2024-06-06T09:08:41.478Z'));
    const emulator = await startEmulator({ now: clock.now });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);
    await reportById(emulator, start.json.id as string, emulator.lastCodeFor(endpoint)!, {
      body: { method: 'sms', sms: { code: emulator.lastCodeFor(endpoint) }, source: 'intercepted' },
    });

    const answer = await call(emulator, 'GET', `${API}/id/${start.json.id}`);

    expect(answer.json).toMatchObject({
      status: 'SUCCESSFUL',
      source: 'intercepted',
      verificationTimestamp: '2024-06-06T09:08:41.4780000',
      price: { verificationPrice: { currencyId: 'EUR', amount: expect.any(Number) } },
    });
  });

  test.each(['sms', 'SMS'])(
    'When read by method %s and number, then the latest verification of that method',
    async (method) => {
      const emulator = await startEmulator();
      const endpoint = phone();
      await startSms(emulator, endpoint);
      const latest = await startSms(emulator, endpoint);

      const answer = await call(emulator, 'GET', `${API}/${method}/number/${endpoint}`);

      expect(answer.json).toMatchObject({ id: latest.json.id, status: 'PENDING', identity: { endpoint } });
    },
  );

  test('When read by identity with another method than was started, then 404 40400', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    await startSms(emulator, endpoint);

    expectSinchError(await call(emulator, 'GET', `${API}/flashCall/number/${endpoint}`), 404, 40400);
  });

  test('When read by reference, then that verification', async () => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, phone(), { reference: 'ref with space' });

    const answer = await call(emulator, 'GET', `${API}/reference/ref%20with%20space`, {
      signedPath: `${API}/reference/ref with space`,
    });

    expect(answer.json).toMatchObject({ id: start.json.id, reference: 'ref with space' });
  });

  test.each([`${API}/id/unknown`, `${API}/reference/unknown`, `${API}/sms/number/+46701234567`])(
    'When %s does not exist, then 404 40400',
    async (path) => {
      const emulator = await startEmulator();

      expectSinchError(await call(emulator, 'GET', path), 404, 40400, 'Requested resource was not found.');
    },
  );
});

describe('Authentication', () => {
  test('When Basic credentials are right, then the request is served', async () => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {}, { auth: 'basic' });

    expect(answer.status).toBe(200);
  });

  test.each([
    ['a wrong secret', 40102, `Basic ${Buffer.from(`${KEY}:wrong`).toString('base64')}`],
    ['a wrong key', 40102, `Basic ${Buffer.from(`other:${SECRET}`).toString('base64')}`],
    ['no colon', 40100, `Basic ${Buffer.from('nocolon').toString('base64')}`],
    ['an unknown scheme', 40100, 'Bearer abc'],
    ['a scheme only', 40100, 'Application'],
  ])('When the Authorization header has %s, then 401 %s without WWW-Authenticate', async (_what, errorCode, header) => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {}, { auth: { header } });

    expectSinchError(answer, 401, errorCode);
    expect(emulator.inbox).toEqual([]);
  });

  test('When there is no Authorization header, then 401 40100', async () => {
    const emulator = await startEmulator();

    expectSinchError(await startSms(emulator, phone(), {}, { auth: 'none' }), 401, 40100);
  });

  test('When an Application-signed request has no x-timestamp, then 401 40101', async () => {
    const emulator = await startEmulator();
    const body = JSON.stringify({ identity: { type: 'number', endpoint: phone() }, method: 'sms' });
    const header = applicationAuthorization(
      { method: 'POST', path: API, contentType: 'application/json', timestamp: '', body },
      KEY,
      SECRET,
    );

    expectSinchError(
      await call(emulator, 'POST', API, { rawBody: body, auth: { header } }),
      401,
      40101,
      'X-Timestamp required.',
    );
  });

  test('When the signed body was changed in transit, then 401 40102 "Invalid signature."', async () => {
    const emulator = await startEmulator();
    const timestamp = new Date().toISOString();
    const signed = JSON.stringify({ identity: { type: 'number', endpoint: phone() }, method: 'sms' });
    const sent = signed.replace('sms', 'callout');
    const header = applicationAuthorization(
      { method: 'POST', path: API, contentType: 'application/json', timestamp, body: signed },
      KEY,
      SECRET,
    );

    const answer = await call(emulator, 'POST', API, {
      rawBody: sent,
      auth: { header },
      headers: { 'x-timestamp': timestamp },
    });

    expectSinchError(answer, 401, 40102, 'Invalid signature.');
  });

  test('When the request is signed with another key or secret, then 401 40102', async () => {
    const emulator = await startEmulator();
    const timestamp = new Date().toISOString();
    const body = JSON.stringify({ identity: { type: 'number', endpoint: phone() }, method: 'sms' });
    const req = { method: 'POST', path: API, contentType: 'application/json', timestamp, body };

    for (const header of [
      applicationAuthorization(req, 'other-key', SECRET),
      applicationAuthorization(req, KEY, Buffer.from('other').toString('base64')),
    ]) {
      expectSinchError(
        await call(emulator, 'POST', API, { rawBody: body, auth: { header }, headers: { 'x-timestamp': timestamp } }),
        401,
        40102,
      );
    }
  });

  test('When the x-timestamp is older than timestampSkewSeconds, then 401 40102', async () => {
    const emulator = await startEmulator({ timestampSkewSeconds: 60 });
    const stale = new Date(Date.now() - 61_000).toISOString();
    const fresh = new Date(Date.now() - 50_000).toISOString();

    const staleAnswer = await startSms(emulator, phone(), {}, { timestamp: stale });
    const freshAnswer = await startSms(emulator, phone(), {}, { timestamp: fresh });

    expectSinchError(staleAnswer, 401, 40102, /x-timestamp/);
    expect(freshAnswer.status).toBe(200);
  });

  test('When the emulator clock is faked far ahead, then signed requests are still checked against real time', async () => {
    const clock = new FakeClock(Date.now() + 3 * 3600_000);
    const emulator = await startEmulator({ now: clock.now });

    expect((await startSms(emulator, phone())).status).toBe(200);
  });

  test.each([
    ['the encoded path', (p: string) => p.replace('+', '%2B')],
    ['the decoded path', (p: string) => p],
  ])(
    'When a report by number is sent %%2B-encoded and signed over %s, then it is accepted',
    async (_what, signedPath) => {
      const emulator = await startEmulator();
      const endpoint = phone();
      await startSms(emulator, endpoint);
      const path = `${API}/number/${endpoint}`;

      const answer = await call(emulator, 'PUT', path.replace('+', '%2B'), {
        body: { method: 'sms', sms: { code: emulator.lastCodeFor(endpoint) } },
        signedPath: signedPath(path),
      });

      expect(answer.json).toMatchObject({ status: 'SUCCESSFUL' });
    },
  );

  test('When the Content-Type carries a charset, then it is signed verbatim and accepted', async () => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {}, { contentType: 'application/json; charset=UTF-8' });

    expect(answer.status).toBe(200);
  });

  test('When a GET is signed with Content-Type and no body, then it is accepted', async () => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, phone());

    const answer = await call(emulator, 'GET', `${API}/id/${start.json.id}`);

    expect(answer.status).toBe(200);
  });

  test('When public auth (key only) is used without a callback URL, then 403 40303', async () => {
    const emulator = await startEmulator();

    expectSinchError(await startSms(emulator, phone(), {}, { auth: { header: `Application ${KEY}` } }), 403, 40303);
  });
});

describe('Sandbox numbers', () => {
  test('When a fixed-code number is verified, then the code is 1234', async () => {
    const emulator = await startEmulator();
    const endpoint = sandboxNumber('fixedCode', 3);
    const start = await startSms(emulator, endpoint);

    const report = await reportById(emulator, start.json.id as string, '1234');

    expect(emulator.inbox).toMatchObject([{ to: endpoint, code: '1234', delivered: true }]);
    expect(report.json.status).toBe('SUCCESSFUL');
  });

  test.each([
    ['unavailable', 503, 50300, 'Service is temporarily unavailable, please try again later.'],
    ['blacklisted', 403, 40300, 'Identity is blacklisted.'],
    ['tooQuickly', 429, 42901, 'Cannot initiate verification to the same number too quickly.'],
    ['noRoute', 422, 42201, 'No route to destination.'],
  ] as const)('When a %s number is started, then %s %s', async (behaviour, status, errorCode, message) => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, sandboxNumber(behaviour, 9));

    expectSinchError(answer, status, errorCode, message);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(emulator.inbox).toEqual([]);
  });

  test('When retryAfterSeconds is set, then 429 answers carry Retry-After', async () => {
    const emulator = await startEmulator({ retryAfterSeconds: 30 });

    const answer = await startSms(emulator, sandboxNumber('tooQuickly'));

    expect(answer.headers.get('retry-after')).toBe('30');
  });

  test('When a timeout number is started, then no answer comes before the client gives up, and close() is not held up', async () => {
    const emulator = await startEmulator();

    const attempt = startSms(emulator, sandboxNumber('timeout'), {}, { signal: AbortSignal.timeout(150) });

    await expect(attempt).rejects.toThrow(/aborted|timeout/i);
    const held = startSms(emulator, sandboxNumber('timeout', 1));
    const heldOutcome = held.then(
      () => 'answered',
      () => 'failed',
    );
    await until(() => emulator.requests.length === 2, 5000, 'both requests at the emulator');
    const started = Date.now();
    await emulator.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await heldOutcome).toBe('failed');
    expect(emulator.requests.map((r) => r.status)).toEqual([0, 0]);
  });

  test('When an undelivered number is started, then 200 but no code reaches the inbox or the console', async () => {
    const stdout = captureStdout();
    try {
      const emulator = await startEmulator({ printCodes: true });
      const endpoint = sandboxNumber('undelivered', 2);

      const answer = await startSms(emulator, endpoint);

      expect(answer.status).toBe(200);
      expect(emulator.inbox).toEqual([expect.objectContaining({ to: endpoint, code: '', delivered: false })]);
      expect(emulator.lastCodeFor(endpoint)).toBeUndefined();
      expect(stdout.lines).toEqual([
        '[sinch-emulator] EMULATED SMS (not sent) to +4670*****62: never delivered (sandbox)\n',
      ]);
      expect((await call(emulator, 'GET', `${API}/id/${answer.json.id}`)).json.status).toBe('PENDING');
    } finally {
      stdout.restore();
    }
  });

  test('When sandbox is off, then sandbox numbers behave like any other number', async () => {
    const emulator = await startEmulator({ sandbox: false });

    const unavailable = await startSms(emulator, sandboxNumber('unavailable'));
    await startSms(emulator, sandboxNumber('fixedCode'));

    expect(unavailable.status).toBe(200);
    expect(emulator.lastCodeFor(sandboxNumber('fixedCode'))).toMatch(/^\d{4}$/);
  });
});

describe('Fault injection', () => {
  test('When a 503 status fault is injected for start, then the next start gets the Sinch 503 body and the one after is normal', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('start', { kind: 'status', status: 503 });

    const faulted = await startSms(emulator, phone());
    const normal = await startSms(emulator, phone());

    expectSinchError(faulted, 503, 50300, 'Service is temporarily unavailable, please try again later.');
    expect(normal.status).toBe(200);
    expect(emulator.inbox).toHaveLength(1);
  });

  test('When a status fault has a body and times 2, then two requests get exactly that body', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('status', { kind: 'status', status: 500, body: { errorCode: 50000, message: 'boom' } }, 2);
    const start = await startSms(emulator, phone());
    const path = `${API}/id/${start.json.id}`;

    const answers = [
      await call(emulator, 'GET', path),
      await call(emulator, 'GET', path),
      await call(emulator, 'GET', path),
    ];

    expect(answers.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(answers[0]!.json).toEqual({ errorCode: 50000, message: 'boom' });
  });

  test('When a status fault has a string body, then it is sent as plain text', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('any', { kind: 'status', status: 502, body: 'Bad gateway' });

    const answer = await startSms(emulator, phone());

    expect(answer.status).toBe(502);
    expect(answer.text).toBe('Bad gateway');
  });

  test('When a delay fault is injected, then the answer comes after the delay and a shorter client timeout fires', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('report', { kind: 'delay', ms: 100 });
    emulator.injectFault('report', { kind: 'delay', ms: 300 });
    const endpoint = phone();
    const start = await startSms(emulator, endpoint);

    const began = Date.now();
    const delayed = await reportById(emulator, start.json.id as string, wrongCode(emulator.lastCodeFor(endpoint)!));
    const elapsed = Date.now() - began;
    const timedOut = reportById(emulator, start.json.id as string, '9', { signal: AbortSignal.timeout(50) });

    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(delayed.json.status).toBe('FAIL');
    await expect(timedOut).rejects.toThrow(/aborted|timeout/i);
  });

  test('When a malformed fault is injected, then 200 with a non-JSON body', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('start', { kind: 'malformed' });

    const answer = await startSms(emulator, phone());

    expect(answer.status).toBe(200);
    expect(answer.text).toBe('<html>oops');
    expect(answer.json).toBeUndefined();
    expect(emulator.inbox).toEqual([]);
  });

  test('When an empty fault is injected, then 200 with {}', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('start', { kind: 'empty' });

    const answer = await startSms(emulator, phone());

    expect(answer.status).toBe(200);
    expect(answer.text).toBe('{}');
  });

  test('When a drop fault is injected, then the connection is closed without an answer', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('start', { kind: 'drop' });

    await expect(startSms(emulator, phone())).rejects.toThrow(/fetch failed/);
    expect((await startSms(emulator, phone())).status).toBe(200);
    expect(emulator.requests.map((r) => r.status)).toEqual([0, 200]);
  });

  test('When a fault targets report, then start and status are not affected', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('report', { kind: 'status', status: 503 });

    const start = await startSms(emulator, phone());
    const status = await call(emulator, 'GET', `${API}/id/${start.json.id}`);
    const report = await reportById(emulator, start.json.id as string, '0000');

    expect([start.status, status.status, report.status]).toEqual([200, 200, 503]);
  });

  test('When faults are cleared, then requests are served normally', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('any', { kind: 'status', status: 503 }, Number.POSITIVE_INFINITY);
    expect((await startSms(emulator, phone())).status).toBe(503);

    emulator.clearFaults();

    expect((await startSms(emulator, phone())).status).toBe(200);
  });

  test.each([
    ['an unknown op', 'nope', { kind: 'drop' }, 1],
    ['an unknown kind', 'start', { kind: 'explode' }, 1],
    ['a 1xx status', 'start', { kind: 'status', status: 101 }, 1],
    ['a negative delay', 'start', { kind: 'delay', ms: -1 }, 1],
    ['zero times', 'start', { kind: 'drop' }, 0],
  ])('When injectFault gets %s, then it throws', async (_what, op, fault, times) => {
    const emulator = await startEmulator();

    expect(() => emulator.injectFault(op as never, fault as never, times)).toThrow(TypeError);
  });
});

describe('Control API /_emulator', () => {
  test('When health is asked, then 200 ok without authentication and the request is not recorded', async () => {
    const emulator = await startEmulator();

    const answer = await fetch(`${emulator.url}/_emulator/health`);

    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ status: 'ok' });
    expect(emulator.requests).toEqual([]);
  });

  test("When the inbox is read with ?to= (encoded or not), then only that number's messages", async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    await startSms(emulator, endpoint);
    await startSms(emulator, phone());

    const encoded = await getJson(`${emulator.url}/_emulator/inbox?to=${encodeURIComponent(endpoint)}`);
    const raw = await getJson(`${emulator.url}/_emulator/inbox?to=${endpoint}`);
    const all = await getJson(`${emulator.url}/_emulator/inbox`);

    expect(encoded.messages).toEqual([expect.objectContaining({ to: endpoint, code: emulator.lastCodeFor(endpoint) })]);
    expect(raw).toEqual(encoded);
    expect(all.messages).toHaveLength(2);
  });

  test('When last-code is asked, then the code, or 404 when none was delivered', async () => {
    const emulator = await startEmulator();
    const endpoint = phone();
    await startSms(emulator, endpoint);

    const found = await fetch(`${emulator.url}/_emulator/last-code?to=${encodeURIComponent(endpoint)}`);
    const missing = await fetch(`${emulator.url}/_emulator/last-code?to=%2B46709999999`);

    expect(await found.json()).toEqual({ to: endpoint, code: emulator.lastCodeFor(endpoint) });
    expect(missing.status).toBe(404);
  });

  test('When a fault is posted, then the next matching request gets it; DELETE clears faults', async () => {
    const emulator = await startEmulator();
    const post = (body: unknown) =>
      fetch(`${emulator.url}/_emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const posted = await post({ op: 'start', fault: { kind: 'status', status: 429 }, times: 5 });
    const faulted = await startSms(emulator, phone());
    await fetch(`${emulator.url}/_emulator/faults`, { method: 'DELETE' });
    const normal = await startSms(emulator, phone());
    const invalid = await post({ op: 'start', fault: { kind: 'status' } });

    expect(posted.status).toBe(200);
    expectSinchError(faulted, 429, 42900, 'Request capacity exceeded.');
    expect(normal.status).toBe(200);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ errorCode: 40001, message: expect.stringContaining('status') });
  });

  test('When reset is posted, then requests, inbox, faults and verifications are gone', async () => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, phone());
    emulator.injectFault('status', { kind: 'drop' });

    const answer = await fetch(`${emulator.url}/_emulator/reset`, { method: 'POST' });

    expect(answer.status).toBe(200);
    expect(emulator.requests).toEqual([]);
    expect(emulator.inbox).toEqual([]);
    expectSinchError(await call(emulator, 'GET', `${API}/id/${start.json.id}`), 404, 40400);
  });

  test('When recorded requests are read over HTTP, then the Authorization header is redacted', async () => {
    const emulator = await startEmulator();
    await startSms(emulator, phone(), {}, { auth: 'basic' });

    const answer = await getJson(`${emulator.url}/_emulator/requests`);

    expect(answer.requests).toEqual([expect.objectContaining({ method: 'POST', path: API, status: 200 })]);
    expect(answer.requests[0].headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(answer)).not.toContain(Buffer.from(`${KEY}:${SECRET}`).toString('base64'));
  });

  test('When a control path does not exist or the method is wrong, then 404 / 405 JSON', async () => {
    const emulator = await startEmulator();

    const missing = await fetch(`${emulator.url}/_emulator/nope`);
    const wrongMethod = await fetch(`${emulator.url}/_emulator/reset`);

    expect(missing.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await wrongMethod.json()).toMatchObject({ errorCode: 40500 });
  });
});

describe('Robustness', () => {
  test('When the path is unknown or badly percent-encoded, then 404 40400 JSON', async () => {
    const emulator = await startEmulator();

    expectSinchError(await call(emulator, 'GET', '/verification/v2/whatever'), 404, 40400);
    expectSinchError(await call(emulator, 'GET', `${API}/id/a/b/c/d`), 404, 40400);
    expectSinchError(await call(emulator, 'GET', `${API}/reference/%E0%A4%A`), 404, 40400);
  });

  test.each([
    ['GET', API, 'POST'],
    ['DELETE', `${API}/id/x`, 'GET, PUT'],
    ['POST', `${API}/number/+46701234567`, 'PUT'],
    ['PUT', `${API}/reference/x`, 'GET'],
  ])('When %s %s is called, then 405 JSON with Allow: %s', async (method, path, allow) => {
    const emulator = await startEmulator();

    const answer = await call(emulator, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });

    expectSinchError(answer, 405, 40500);
    expect(answer.headers.get('allow')).toBe(allow);
  });

  test('When the body exceeds maxBodyBytes, then 413 with a Sinch error body', async () => {
    const emulator = await startEmulator({ maxBodyBytes: 1024 });

    const answer = await call(emulator, 'POST', API, { rawBody: `{"custom":"${'x'.repeat(200_000)}"}` });

    expectSinchError(answer, 413, 41300);
    expect((await startSms(emulator, phone())).status).toBe(200);
  });

  test.each([
    ['an empty body', ''],
    ['null', 'null'],
    ['an array', '[]'],
    ['a string', '"sms"'],
    ['truncated JSON', '{"identity":'],
    ['a number identity', '{"identity":5,"method":"sms"}'],
    ['a numeric endpoint', '{"identity":{"type":"number","endpoint":4670},"method":"sms"}'],
    ['an object method', '{"identity":{"type":"number","endpoint":"+46701234567"},"method":{}}'],
    ['a __proto__ key', '{"__proto__":{"identity":1},"method":"sms"}'],
    ['binary garbage', '\u0000\u00ff\ufffd{{'],
  ])('When the start body is %s, then a 400 Sinch error, never a crash', async (_what, rawBody) => {
    const emulator = await startEmulator();

    const answer = await call(emulator, 'POST', API, { rawBody });

    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({
      errorCode: expect.any(Number),
      message: expect.any(String),
      reference: expect.any(String),
    });
  });

  test('When arbitrary JSON is posted to start and report, then the answer is always JSON and never 5xx', async () => {
    const emulator = await startEmulator();
    const start = await startSms(emulator, phone());

    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.constantFrom(API, `${API}/id/${start.json.id}`, `${API}/number/+46701234567`),
        async (value, path) => {
          const answer = await call(emulator, path === API ? 'POST' : 'PUT', path, { rawBody: JSON.stringify(value) });
          expect(answer.status).toBeLessThan(500);
          expect(answer.json).toEqual(expect.any(Object));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('When the request headers are huge, then 431 JSON and the emulator keeps serving', async () => {
    const emulator = await startEmulator();

    const answer = await startSms(emulator, phone(), {}, { headers: { 'x-padding': 'x'.repeat(100_000) } });

    expect(answer.status).toBe(431);
    expect(answer.json).toMatchObject({ errorCode: 43100 });
    expect((await startSms(emulator, phone())).status).toBe(200);
  });

  test('When a client sends a broken HTTP request, then it gets a 400 and the emulator keeps serving', async () => {
    const emulator = await startEmulator();

    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(emulator.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });

    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toContain('"errorCode":40001');
    expect((await startSms(emulator, phone())).status).toBe(200);
  });
});

describe('Lifecycle and memory', () => {
  test('When two emulators run in one process, then they share no state', async () => {
    const a = await startEmulator();
    const b = await startEmulator({ applicationKey: 'other-key' });
    const endpoint = phone();

    await startSms(a, endpoint);

    expect(a.port).not.toBe(b.port);
    expect(b.inbox).toEqual([]);
    expect(b.requests).toEqual([]);
    expect(b.lastCodeFor(endpoint)).toBeUndefined();
  });

  test('When more requests than recordLimit arrive, then only the most recent are kept, most recent last', async () => {
    const emulator = await startEmulator({ recordLimit: 3 });
    const numbers = [phone(), phone(), phone(), phone(), phone()];

    for (const n of numbers) await startSms(emulator, n);

    expect(emulator.requests).toHaveLength(3);
    expect(emulator.inbox.map((m) => m.to)).toEqual(numbers.slice(2));
    expect(emulator.requests.map((r) => (r.json as { identity: { endpoint: string } }).identity.endpoint)).toEqual(
      numbers.slice(2),
    );
  });

  test('When a verification is past expiry plus the grace period, then it is pruned (404)', async () => {
    const clock = new FakeClock(Date.parse('2025-03-01T12:00:00.000Z'));
    const emulator = await startEmulator({ now: clock.now, defaultExpirySeconds: 60, retentionGraceSeconds: 60 });
    const start = await startSms(emulator, phone());

    clock.advance(119_000);
    const kept = await call(emulator, 'GET', `${API}/id/${start.json.id}`);
    clock.advance(2_000);
    const pruned = await call(emulator, 'GET', `${API}/id/${start.json.id}`);

    expect(kept.json.status).toBe('FAIL');
    expectSinchError(pruned, 404, 40400);
  });

  test('When more verifications than maxVerifications exist, then the oldest are evicted', async () => {
    const emulator = await startEmulator({ maxVerifications: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await startSms(emulator, phone())).json.id as string);

    const statuses = await Promise.all(ids.map(async (id) => (await call(emulator, 'GET', `${API}/id/${id}`)).status));

    expect(statuses).toEqual([404, 200, 200]);
  });

  test('When close() is called twice with keep-alive connections open, then both resolve promptly', async () => {
    const emulator = await startEmulator();
    await startSms(emulator, phone());

    const started = Date.now();
    await Promise.all([emulator.close(), emulator.close()]);

    expect(Date.now() - started).toBeLessThan(1000);
    await expect(fetch(`${emulator.url}/_emulator/health`)).rejects.toThrow();
  });

  test('When a delayed request is pending at close(), then close() does not wait for the delay', async () => {
    const emulator = await startEmulator();
    emulator.injectFault('start', { kind: 'delay', ms: 10_000 });
    const pending = startSms(emulator, phone()).catch(() => 'failed');
    await until(() => emulator.requests.length === 1, 5000, 'the request at the emulator');

    const started = Date.now();
    await emulator.close();

    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
    expect(emulator.inbox).toEqual([]);
  });

  test('When the port is taken, then createSinchEmulator rejects', async () => {
    const emulator = await startEmulator();

    await expect(
      createSinchEmulator({ applicationKey: KEY, applicationSecret: SECRET, port: emulator.port }),
    ).rejects.toThrow(/EADDRINUSE/);
  });

  test.each([
    ['no key', { applicationKey: '' }],
    ['codeLength 0', { codeLength: 0 }],
    ['a broken callbackUrl', { callbackUrl: 'not a url' }],
    ['an unknown wrongCodeById', { wrongCodeById: 'maybe' as never }],
    ['a negative timestampSkewSeconds', { timestampSkewSeconds: -1 }],
  ])('When the options have %s, then createSinchEmulator rejects', async (_what, options) => {
    await expect(createSinchEmulator({ applicationKey: KEY, applicationSecret: SECRET, ...options })).rejects.toThrow();
  });
});
