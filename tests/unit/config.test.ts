import { ConfigError, loadConfig, secretValues, type RawEnv } from '../../src/config';

const SECRET = Buffer.from('a-real-looking-secret').toString('base64');
const PRODUCTION: RawEnv = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/otp',
  SINCH_APPLICATION_KEY: 'key',
  SINCH_APPLICATION_SECRET: SECRET,
  VERIFICATION_TOKEN_PRIVATE_KEY_FILE: '/run/secrets/verification-token-key.pem',
};

/** The problems a ConfigError lists, or a failure when the config loads. */
function problemsOf(env: RawEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  test('When nothing is set, then development defaults apply (embedded database, Sinch emulator)', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      env: 'development',
      isProduction: false,
      server: { port: 3000, host: '0.0.0.0', trustProxy: false, corsOrigins: [], shutdownGraceMs: 10_000 },
      log: { level: 'info', format: 'json' },
      database: { mode: 'embedded', url: undefined, port: 5432 },
      sinch: {
        mode: 'emulator',
        baseUrl: 'https://verification.api.sinch.com',
        authScheme: 'basic',
        timeoutMs: 5000,
        applicationKey: '',
        applicationSecret: '',
      },
      otp: { ttlSeconds: 600, maxAttempts: 5, defaultCountry: undefined },
    });
  });

  test('When a complete production environment is given, then it loads with those values', () => {
    const config = loadConfig({
      ...PRODUCTION,
      SINCH_AUTH_SCHEME: 'signed',
      OTP_TTL_SECONDS: '300',
      DEFAULT_COUNTRY: 'se',
      SINCH_API_BASE_URL: 'https://eu.example.com/',
    });

    expect(config).toMatchObject({
      isProduction: true,
      database: { mode: 'external', url: PRODUCTION.DATABASE_URL },
      sinch: {
        mode: 'remote',
        applicationKey: 'key',
        applicationSecret: SECRET,
        authScheme: 'signed',
        baseUrl: 'https://eu.example.com',
      },
      otp: { ttlSeconds: 300, defaultCountry: 'SE' },
    });
  });

  test('When NODE_ENV=production lacks the database, Sinch credentials and a token key, then each is reported', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });

    expect(problems).toEqual([
      expect.stringContaining('DATABASE_URL'),
      expect.stringContaining('SINCH_APPLICATION_KEY'),
      expect.stringContaining('VERIFICATION_TOKEN_PRIVATE_KEY'),
    ]);
  });

  test('When NODE_ENV=production has DB_HOST instead of DATABASE_URL, then that is enough for the database', () => {
    expect(() => loadConfig({ ...PRODUCTION, DATABASE_URL: undefined, DB_HOST: 'db.internal' })).not.toThrow();
  });

  test('When several values are malformed, then every problem is reported at once, each naming its key', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      OTP_TTL_SECONDS: '900',
      SINCH_AUTH_SCHEME: 'oauth',
      DATABASE_URL: 'mysql://x',
    });

    expect(problems).toHaveLength(5);
    for (const key of ['PORT', 'LOG_LEVEL', 'OTP_TTL_SECONDS', 'SINCH_AUTH_SCHEME', 'DATABASE_URL']) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^${key}: `)));
    }
  });

  test('When a value is malformed AND production lacks required settings, then all of them are reported in one go', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: 'eighty' });

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringContaining('DATABASE_URL'),
        expect.stringContaining('SINCH_APPLICATION_KEY'),
      ]),
    );
  });

  test('When the ConfigError is printed, then its message lists every problem on its own line', () => {
    expect(() => loadConfig({ PORT: 'x', OTP_MAX_ATTEMPTS: '0' })).toThrow(
      /Invalid configuration:\n {2}- PORT: .*\n {2}- OTP_MAX_ATTEMPTS: /,
    );
  });

  test.each([
    ['601', false],
    ['900', false],
    ['600', true],
    ['300', true],
    ['30', true],
    ['29', false],
    ['10.5', false],
    ['abc', false],
  ])('When OTP_TTL_SECONDS=%s, then it is accepted: %s (Sinch codes live at most 600 s)', (value, accepted) => {
    if (accepted) expect(loadConfig({ OTP_TTL_SECONDS: value }).otp.ttlSeconds).toBe(Number(value));
    else expect(problemsOf({ OTP_TTL_SECONDS: value })).toEqual([expect.stringMatching(/^OTP_TTL_SECONDS: .*600/)]);
  });

  test('When OTP_TTL_SECONDS is empty, then the default 600 applies', () => {
    expect(loadConfig({ OTP_TTL_SECONDS: '' }).otp.ttlSeconds).toBe(600);
  });

  test.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['true', true],
    ['1', 1],
    ['2', 2],
    [' 3 ', 3],
    ['loopback', 'loopback'],
    ['loopback, uniquelocal', 'loopback, uniquelocal'],
    ['10.0.0.1', '10.0.0.1'],
    ['10.0.0.0/8,127.0.0.1', '10.0.0.0/8,127.0.0.1'],
    ['127.0.0.1/8,::1', '127.0.0.1/8,::1'],
    ['fd00::/8', 'fd00::/8'],
  ])('When TRUST_PROXY=%j, then Express gets %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).server.trustProxy).toEqual(expected);
  });

  test.each(['TRUE', 'yes', 'proxy.example.com', '10.0.0.0/33', '1.5', '-1', '10.0.0.1,,'])(
    'When TRUST_PROXY=%j (which Express would reject at start-up), then it is a config problem',
    (value) => {
      expect(problemsOf({ TRUST_PROXY: value })).toEqual([expect.stringMatching(/^TRUST_PROXY: /)]);
    },
  );

  test.each([
    ['only the key', { SINCH_APPLICATION_KEY: 'k' }, 'SINCH_APPLICATION_SECRET is missing'],
    ['only the secret', { SINCH_APPLICATION_SECRET: SECRET }, 'SINCH_APPLICATION_KEY is missing'],
    ['a base URL without credentials', { SINCH_API_BASE_URL: 'http://127.0.0.1:9999' }, 'SINCH_API_BASE_URL is set'],
    [
      'a non-base64 secret with the signed scheme',
      { SINCH_APPLICATION_KEY: 'k', SINCH_APPLICATION_SECRET: 'not base64!', SINCH_AUTH_SCHEME: 'signed' },
      'must be base64',
    ],
    [
      'a non-http base URL',
      { SINCH_APPLICATION_KEY: 'k', SINCH_APPLICATION_SECRET: SECRET, SINCH_API_BASE_URL: 'ftp://sinch' },
      'http(s) URL',
    ],
  ])('When Sinch is configured with %s, then that is refused', (_what, env, problem) => {
    expect(problemsOf(env)).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });

  test.each(['XX', 'Sweden', '46'])('When DEFAULT_COUNTRY=%s is not an ISO country, then it is refused', (value) => {
    expect(problemsOf({ DEFAULT_COUNTRY: value })).toEqual([expect.stringMatching(/^DEFAULT_COUNTRY: /)]);
  });

  test('When the config is loaded, then it is frozen all the way down', () => {
    const config = loadConfig({ ...PRODUCTION });

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sinch)).toBe(true);
    expect(Object.isFrozen(config.numberPolicy.allowedTypes)).toBe(true);
    expect(() => {
      (config.otp as { ttlSeconds: number }).ttlSeconds = 1;
    }).toThrow(TypeError);
  });

  test('When the environment object is passed, then it is only read, never changed', () => {
    const env: RawEnv = { PORT: '8080' };

    loadConfig(env);

    expect(env).toEqual({ PORT: '8080' });
  });

  test('When secretValues() is asked, then it lists the Sinch secret and the database password (also from the URL)', () => {
    const config = loadConfig({
      ...PRODUCTION,
      DATABASE_URL: 'postgres://app:p%40ss-word@db/otp',
      METRICS_TOKEN: 'metrics-token-1',
    });

    expect(secretValues(config)).toEqual(expect.arrayContaining([SECRET, 'p@ss-word', 'metrics-token-1']));
  });
});
