import { createLogger, redact } from '../../src/config/logger';
import { runWithContext } from '../../src/utils/request-context';
import { LogCapture } from '../helpers/log-capture';

const PHONE = '+46701234567';
const MASKED = '+4670*****67';

describe('redact()', () => {
  test.each([
    'authorization',
    'Authorization',
    'proxy-authorization',
    'secret',
    'applicationSecret',
    'password',
    'token',
    'code',
    'otp',
    'pin',
    'cookie',
    'set-cookie',
    'x-api-key',
    'apiKey',
    'api_key',
  ])('When metadata has the secret key %s, then its value is replaced', (key) => {
    expect(redact({ [key]: 'value-1234' })).toEqual({ [key]: '[REDACTED]' });
  });

  test('When secret keys sit deep in objects and arrays, then they are replaced at any depth', () => {
    const value = {
      request: { headers: { Authorization: 'Basic dXNlcjpwYXNz', accept: 'application/json' } },
      body: { sms: { code: '123456' } },
      list: [{ otp: '1234' }],
    };

    expect(redact(value)).toEqual({
      request: { headers: { Authorization: '[REDACTED]', accept: 'application/json' } },
      body: { sms: { code: '[REDACTED]' } },
      list: [{ otp: '[REDACTED]' }],
    });
  });

  test('When a secret key holds an object, a number or null, then the whole value is replaced', () => {
    expect(redact({ code: { value: '1234' }, pin: 1234, token: null })).toEqual({
      code: '[REDACTED]',
      pin: '[REDACTED]',
      token: '[REDACTED]',
    });
  });

  test.each(['phone', 'phoneNumber', 'PhoneNumber', 'to', 'endpoint', 'msisdn', 'number'])(
    'When metadata has the phone key %s, then the number is masked',
    (key) => {
      expect(redact({ [key]: PHONE })).toEqual({ [key]: MASKED });
    },
  );

  test('When a phone key sits inside nested objects, then it is masked there too', () => {
    expect(redact({ identity: { type: 'number', endpoint: PHONE } })).toEqual({
      identity: { type: 'number', endpoint: MASKED },
    });
  });

  test('When a phone key holds a JSON number, then it is masked like a string', () => {
    expect(redact({ phoneNumber: 46701234567, count: 46701234567 })).toEqual({
      phoneNumber: MASKED,
      count: 46701234567,
    });
  });

  test.each([
    ['plain text', `sending to ${PHONE} now`, `sending to ${MASKED} now`],
    ['a URL path', `PUT /verifications/number/${PHONE}`, `PUT /verifications/number/${MASKED}`],
    ['a %2B-encoded URL', '/verifications/number/%2B46701234567?x=1', `/verifications/number/${MASKED}?x=1`],
    ['a lower-case %2b-encoded URL', 'to=%2b46701234567', `to=${MASKED}`],
    [
      'an SQL error',
      `duplicate key value (phoneNumber)=(${PHONE}) already exists`,
      `duplicate key value (phoneNumber)=(${MASKED}) already exists`,
    ],
    ['two numbers', `${PHONE} and +14155552671`, `${MASKED} and +1415*****71`],
  ])('When an E.164 number is inside %s, then it is masked', (_where, text, expected) => {
    expect(redact({ message: text })).toEqual({ message: expected });
    expect(redact(text)).toBe(expected);
  });

  test('When text has short digit runs after a +, then they are left alone (not phone numbers)', () => {
    expect(redact('retry +5 s, offset +01:00')).toBe('retry +5 s, offset +01:00');
  });

  test('When configured secret literals appear anywhere, then they are scrubbed', () => {
    const secrets = ['dGVzdC1zZWNyZXQ=', 'db-pass-1234'];
    const value = {
      note: 'secret dGVzdC1zZWNyZXQ= leaked',
      nested: { url: 'postgres://app:db-pass-1234@db/otp' },
      list: ['x dGVzdC1zZWNyZXQ= y'],
    };

    expect(redact(value, secrets)).toEqual({
      note: 'secret [REDACTED] leaked',
      nested: { url: 'postgres://app:[REDACTED]@db/otp' },
      list: ['x [REDACTED] y'],
    });
  });

  test('When a secret literal appears several times in one string, then every occurrence is scrubbed', () => {
    expect(redact('s3cret-value/s3cret-value', ['s3cret-value'])).toBe('[REDACTED]/[REDACTED]');
  });

  test('When an Error is logged, then only name, message and stack remain, with numbers masked and secrets scrubbed', () => {
    const error = Object.assign(new Error(`Sinch refused ${PHONE} with key s3cret-value`), {
      config: { headers: { Authorization: 'Basic abc' } },
      response: { data: 'x' },
    });

    const out = redact(error, ['s3cret-value']) as Record<string, unknown>;

    expect(out).toEqual({
      name: 'Error',
      message: `Sinch refused ${MASKED} with key [REDACTED]`,
      stack: expect.any(String),
    });
    expect(out.stack).not.toContain(PHONE);
    expect(out.stack).not.toContain('s3cret-value');
  });

  test('When an Error is nested in metadata, then it is redacted the same way', () => {
    expect(redact({ cause: new TypeError(`bad ${PHONE}`) })).toEqual({
      cause: { name: 'TypeError', message: `bad ${MASKED}`, stack: expect.any(String) },
    });
  });

  test.each([
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
    ['undefined', undefined],
  ])('When the value is %s, then it passes through unchanged', (_what, value) => {
    expect(redact({ value })).toEqual({ value });
  });

  test('When the value is a Date, then it is kept as a Date', () => {
    const when = new Date('2026-01-01T00:00:00Z');

    expect(redact({ when })).toEqual({ when });
  });

  test('When objects are nested very deeply (or circular), then redaction stops instead of recursing forever', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;

    expect(() => redact(circular)).not.toThrow();
    expect(JSON.stringify(redact(circular))).toContain('[Truncated]');
  });

  test('When a value is redacted, then the original object is not modified', () => {
    const original = { authorization: 'Basic abc', phoneNumber: PHONE };

    redact(original);

    expect(original).toEqual({ authorization: 'Basic abc', phoneNumber: PHONE });
  });
});

describe('createLogger() redaction end to end', () => {
  test.each(['json', 'pretty'] as const)(
    'When a %s line carries a code, a secret and a number, then none of them is written',
    (format) => {
      const logs = new LogCapture();
      const logger = createLogger({ level: 'info', format, secrets: ['s3cret-value'], stream: logs });

      runWithContext({ requestId: 'req-1', sinchMs: 0 }, () => {
        logger.info(`verifying ${PHONE}`, {
          code: '7Q2X9Z',
          phoneNumber: PHONE,
          note: 'key s3cret-value',
          error: new Error(`failed for ${PHONE}`),
        });
      });

      const text = logs.text();
      expect(text).not.toContain('7Q2X9Z');
      expect(text).not.toContain(PHONE);
      expect(text).not.toContain('s3cret-value');
      expect(text).toContain(MASKED);
      expect(text).toContain('req-1');
    },
  );

  test('When a message is logged with an Error as metadata, then the JSON line holds the masked message and a stack', () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', format: 'json', stream: logs });

    logger.error('boom', { cause: new Error(`db refused ${PHONE}`) });

    expect(logs.entries()).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'boom',
        cause: expect.objectContaining({ message: `db refused ${MASKED}` }),
      }),
    ]);
  });

  test('When secrets shorter than 4 characters are configured, then they are ignored rather than scrubbing every short match', () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', format: 'json', secrets: ['a'], stream: logs });

    logger.info('a banana');

    expect(logs.entries()[0]).toMatchObject({ message: 'a banana' });
  });
});
