import { effectiveConfig, loadConfig, secretValues, type RawEnv } from '../../src/config';
import { problemsOf } from '../helpers/config';

const SECRET = Buffer.from('a-real-looking-secret').toString('base64');
const PRODUCTION: RawEnv = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/otp',
  SINCH_APPLICATION_KEY: 'key',
  SINCH_APPLICATION_SECRET: SECRET,
  VERIFICATION_TOKEN_PRIVATE_KEY_FILE: '/run/secrets/verification-token-key.pem',
};

describe('loadConfig', () => {
  test('When nothing is set, then development defaults apply (embedded database, Sinch emulator on loopback)', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      warnings: [],
      server: { port: 3000, host: '127.0.0.1', trustProxy: false, corsOrigins: [], shutdownGraceMs: 10_000 },
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
      metrics: { token: undefined, public: true, enabled: true },
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
    [undefined, 365],
    ['', 365],
    ['1', 1],
    ['730', 730],
    ['0', undefined],
    ['1.5', undefined],
    ['3651', undefined],
  ])('When USER_RETENTION_DAYS=%j, then users are kept %j days (whole days, 1-3650)', (value, days) => {
    if (days !== undefined) expect(loadConfig({ USER_RETENTION_DAYS: value }).retention.userDays).toBe(days);
    else expect(problemsOf({ USER_RETENTION_DAYS: value })).toEqual([expect.stringMatching(/^USER_RETENTION_DAYS: /)]);
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

describe('loadConfig: methods, fallback, language, code type and test numbers', () => {
  test("When none of them is set, then SMS only, no fallback, Sinch's default language, numeric codes and no test numbers", () => {
    expect(loadConfig({}).otp).toMatchObject({
      methods: ['sms'],
      defaultMethod: 'sms',
      fallbackMethod: undefined,
      fallbackAfterSeconds: 0,
      defaultLocale: undefined,
      codeType: 'Numeric',
      testNumbers: {},
    });
  });

  test('When every one is set, then each is read, normalised', () => {
    const otp = loadConfig({
      OTP_METHODS: ' SMS, callout ,whatsapp,sms',
      OTP_FALLBACK_METHOD: 'Callout',
      OTP_FALLBACK_AFTER_SECONDS: '45',
      OTP_DEFAULT_LOCALE: 'sv-se',
      OTP_CODE_TYPE: 'alphanumeric',
      OTP_TEST_NUMBERS: '+15555550100:ab12cd, +46700000001:000111',
    }).otp;

    expect(otp).toMatchObject({
      methods: ['sms', 'callout', 'whatsapp'],
      defaultMethod: 'sms',
      fallbackMethod: 'callout',
      fallbackAfterSeconds: 45,
      defaultLocale: 'sv-SE',
      codeType: 'Alphanumeric',
      testNumbers: { '+15555550100': 'AB12CD', '+46700000001': '000111' },
    });
    expect(Object.isFrozen(otp.methods)).toBe(true);
    expect(Object.isFrozen(otp.testNumbers)).toBe(true);
  });

  test.each([
    ['sms when it is on offer, wherever it is listed', 'callout,sms', 'sms'],
    ['the first listed when sms is not on offer', 'whatsapp,callout', 'whatsapp'],
    ['sms when the list is blank', ' , ', 'sms'],
  ])('When OTP_METHODS is %s, then the default method is right', (_what, methods, expected) => {
    expect(loadConfig({ OTP_METHODS: methods }).otp.defaultMethod).toBe(expected);
  });

  test('When OTP_METHODS names flashcall, then it is refused with the reason: it needs a mobile app that intercepts the call', () => {
    expect(problemsOf({ OTP_METHODS: 'sms,flashCall' })).toEqual([
      expect.stringMatching(/^OTP_METHODS: flashcall is not supported: .*mobile app that intercepts incoming calls/),
    ]);
  });

  test.each([
    ['seamless', /^OTP_METHODS: seamless is not supported: .*mobile app/],
    ['sms,pigeon', /^OTP_METHODS: unknown method "pigeon" \(one of sms, callout, whatsapp\)/],
  ])('When OTP_METHODS=%s, then it is refused', (methods, problem) => {
    expect(problemsOf({ OTP_METHODS: methods })).toEqual([expect.stringMatching(problem)]);
  });

  test.each([
    ['sms', /^OTP_FALLBACK_METHOD: must be callout or whatsapp/],
    ['flashcall', /^OTP_FALLBACK_METHOD: must be callout or whatsapp/],
  ])('When OTP_FALLBACK_METHOD=%s, then it is refused', (method, problem) => {
    expect(problemsOf({ OTP_METHODS: 'sms,callout', OTP_FALLBACK_METHOD: method })).toEqual([
      expect.stringMatching(problem),
    ]);
  });

  test('When the fallback method is not in OTP_METHODS, then that is a problem naming both', () => {
    expect(problemsOf({ OTP_METHODS: 'sms,callout', OTP_FALLBACK_METHOD: 'whatsapp' })).toEqual([
      'OTP_FALLBACK_METHOD=whatsapp must also be in OTP_METHODS (now sms,callout)',
    ]);
  });

  test.each([
    ['without a fallback method', { OTP_FALLBACK_AFTER_SECONDS: '30' }, 'OTP_FALLBACK_METHOD is not'],
    [
      'not shorter than the code lifetime',
      {
        OTP_METHODS: 'sms,callout',
        OTP_FALLBACK_METHOD: 'callout',
        OTP_TTL_SECONDS: '60',
        OTP_FALLBACK_AFTER_SECONDS: '60',
      },
      'must be less than OTP_TTL_SECONDS (60)',
    ],
    ['beyond 600', { OTP_FALLBACK_AFTER_SECONDS: '601' }, 'OTP_FALLBACK_AFTER_SECONDS: must be a whole number'],
  ])('When OTP_FALLBACK_AFTER_SECONDS is set %s, then it is refused', (_what, env, problem) => {
    expect(problemsOf(env)).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });

  test.each(['en_US', '*', 'x', 'und', 'sv SE'])(
    'When OTP_DEFAULT_LOCALE=%j is not a BCP 47 tag, then it is refused',
    (value) => {
      expect(problemsOf({ OTP_DEFAULT_LOCALE: value })).toEqual([
        expect.stringMatching(/^OTP_DEFAULT_LOCALE: .*BCP 47/),
      ]);
    },
  );

  test("When OTP_DEFAULT_LOCALE is empty, then Sinch's default applies", () => {
    expect(loadConfig({ OTP_DEFAULT_LOCALE: ' ' }).otp.defaultLocale).toBeUndefined();
  });

  test('When OTP_CODE_TYPE is not a Sinch code type, then it is refused naming the three', () => {
    expect(problemsOf({ OTP_CODE_TYPE: 'Emoji' })).toEqual(['OTP_CODE_TYPE: must be Numeric, Alpha, Alphanumeric']);
  });

  test.each([
    ['Numeric', '+15555550100:1234,+46700000001:0123456789', { '+15555550100': '1234', '+46700000001': '0123456789' }],
    ['Alpha', '+15555550100:abcd', { '+15555550100': 'ABCD' }],
    ['Alphanumeric', '+15555550100:A1b2', { '+15555550100': 'A1B2' }],
  ])('When OTP_CODE_TYPE=%s, then test codes of its alphabet are accepted', (type, numbers, expected) => {
    expect(loadConfig({ OTP_CODE_TYPE: type, OTP_TEST_NUMBERS: numbers }).otp.testNumbers).toEqual(expected);
  });

  test.each([
    ['no code', '+15555550100', 'entry 1 must be E164:code'],
    ['an empty code', '+15555550100:', 'entry 1 must be E164:code'],
    ['no number', ':482913', 'entry 1 must be E164:code'],
    ['a national number', '0701234567:482913', 'entry 1 (+070*****67) must be an E.164 number'],
    ['spaces in the number', '+46 70 123 45 67:482913', 'entry 1 (+4670*****67) must be an E.164 number'],
    ['a number too short for its country', '+4670:482913', 'must be an E.164 number'],
    ['a repeated number', '+15555550100:482913,+15555550100:111111', 'entry 2 (+1555*****00) repeats a number'],
    [
      'a code too short',
      '+15555550100:123',
      'the code of entry 1 (+1555*****00) must be 4-10 digits (OTP_CODE_TYPE=Numeric)',
    ],
    ['a code too long', '+15555550100:12345678901', 'must be 4-10 digits'],
    ['letters in a numeric code', '+15555550100:12ab', 'must be 4-10 digits'],
  ])(
    'When OTP_TEST_NUMBERS has %s, then it is refused at start, naming the entry but never the code',
    (_what, numbers, problem) => {
      const problems = problemsOf({ OTP_TEST_NUMBERS: numbers });

      expect(problems).toEqual([expect.stringContaining(problem)]);
      expect(problems[0]).toMatch(/^OTP_TEST_NUMBERS: /);
      for (const code of ['482913', '111111', '12345678901', '12ab']) expect(problems[0]).not.toContain(code);
      expect(problems[0]).not.toContain('+15555550100');
    },
  );

  test('When a test code does not fit OTP_CODE_TYPE=Alpha, then that is refused', () => {
    expect(problemsOf({ OTP_CODE_TYPE: 'Alpha', OTP_TEST_NUMBERS: '+15555550100:ab12' })).toEqual([
      'OTP_TEST_NUMBERS: the code of entry 1 (+1555*****00) must be 4-10 letters A-Z (OTP_CODE_TYPE=Alpha)',
    ]);
  });

  test('When several channel settings are wrong, then every problem is reported at once', () => {
    const problems = problemsOf({
      OTP_METHODS: 'sms,flashcall',
      OTP_FALLBACK_METHOD: 'whatsapp',
      OTP_DEFAULT_LOCALE: 'en_US',
      OTP_TEST_NUMBERS: '+15555550100:12',
    });

    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OTP_METHODS: flashcall/),
        expect.stringMatching(/^OTP_DEFAULT_LOCALE: /),
        expect.stringMatching(/^OTP_TEST_NUMBERS: the code of entry 1/),
      ]),
    );
  });
});

describe('loadConfig: the development fallbacks only on purpose', () => {
  const DATABASE_URL = 'postgres://app:pw@127.0.0.1:5432/otp';

  test.each([
    ['DATABASE_URL', { DATABASE_URL }],
    ['DB_HOST', { DB_HOST: 'db.internal' }],
    ['DATABASE_URL with NODE_ENV=test', { DATABASE_URL, NODE_ENV: 'test' }],
  ])(
    'When a database is configured (%s) without Sinch credentials, then ONE problem names both ways forward',
    (_what, env) => {
      const problems = problemsOf(env);

      expect(problems).toEqual([expect.stringContaining('A database is configured')]);
      expect(problems[0]).toContain('SINCH_APPLICATION_KEY and SINCH_APPLICATION_SECRET');
      expect(problems[0]).toContain('SINCH_EMULATOR=true');
    },
  );

  test('When SINCH_EMULATOR=true is set with a database, then the emulator runs on it, on 127.0.0.1', () => {
    const config = loadConfig({ DATABASE_URL, SINCH_EMULATOR: 'true' });

    expect(config).toMatchObject({
      database: { mode: 'external', url: DATABASE_URL },
      sinch: { mode: 'emulator', emulatorReason: 'SINCH_EMULATOR=true' },
      server: { host: '127.0.0.1' },
      warnings: [],
    });
  });

  test('When SINCH_EMULATOR=true is set without a database, then the emulator runs on the embedded database', () => {
    expect(loadConfig({ SINCH_EMULATOR: 'true' })).toMatchObject({
      database: { mode: 'embedded' },
      sinch: { mode: 'emulator' },
    });
  });

  test('When SINCH_EMULATOR=true is set with NODE_ENV=production, then it is refused (even with credentials)', () => {
    expect(problemsOf({ ...PRODUCTION, SINCH_EMULATOR: 'true' })).toEqual([
      expect.stringMatching(/^SINCH_EMULATOR=true is refused when NODE_ENV=production/),
    ]);
  });

  test.each([
    ['credentials', { SINCH_APPLICATION_KEY: 'k', SINCH_APPLICATION_SECRET: SECRET }],
    ['the seed-named credentials', { SINCH_KEY_ID: 'k', SINCH_KEY_SECRET: SECRET }],
    ['a base URL', { SINCH_API_BASE_URL: 'http://127.0.0.1:4010' }],
  ])('When SINCH_EMULATOR=true is set together with %s, then the contradiction is refused', (_what, env) => {
    expect(problemsOf({ DATABASE_URL, SINCH_EMULATOR: 'true', ...env })).toEqual([
      expect.stringMatching(/^SINCH_EMULATOR=true and Sinch settings .* are both set/),
    ]);
  });

  test('When credentials and SINCH_API_BASE_URL point at `npm run emulator`, then that is real-Sinch ("remote") mode on all interfaces', () => {
    const config = loadConfig({
      DATABASE_URL,
      SINCH_API_BASE_URL: 'http://127.0.0.1:4010',
      SINCH_APPLICATION_KEY: 'emulator-key',
      SINCH_APPLICATION_SECRET: 'ZW11bGF0b3Itc2VjcmV0',
    });

    expect(config).toMatchObject({
      sinch: { mode: 'remote', emulatorReason: undefined, baseUrl: 'http://127.0.0.1:4010' },
      server: { host: '0.0.0.0' },
      warnings: [],
    });
  });

  test('When credentials are set without a database in development, then the embedded database serves real Sinch', () => {
    expect(loadConfig({ SINCH_APPLICATION_KEY: 'k', SINCH_APPLICATION_SECRET: SECRET })).toMatchObject({
      database: { mode: 'embedded' },
      sinch: { mode: 'remote' },
    });
  });

  test('When HOST is set to a non-loopback address in emulator mode, then it is used and one warning says the inbox is readable', () => {
    const config = loadConfig({ HOST: '0.0.0.0', PORT: '3100' });

    expect(config.server.host).toBe('0.0.0.0');
    expect(config.warnings).toEqual([
      expect.stringMatching(
        /^HOST=0\.0\.0\.0 with the built-in Sinch emulator: .*GET \/api\/emulator\/inbox .*port 3100/,
      ),
    ]);
  });

  test.each(['127.0.0.1', '::1', 'localhost'])(
    'When HOST=%s (loopback) in emulator mode, then no warning: only this machine can reach it',
    (host) => {
      expect(loadConfig({ HOST: host })).toMatchObject({ server: { host }, warnings: [] });
    },
  );

  test('When HOST is set outside emulator mode, then no warning', () => {
    const config = loadConfig({
      DATABASE_URL,
      SINCH_APPLICATION_KEY: 'k',
      SINCH_APPLICATION_SECRET: SECRET,
      HOST: '::',
    });

    expect(config).toMatchObject({ server: { host: '::' }, warnings: [] });
  });

  test.each(['maybe', 'TRUE'])('When SINCH_EMULATOR=%s, then it is a config problem', (value) => {
    expect(problemsOf({ SINCH_EMULATOR: value })).toEqual([expect.stringMatching(/^SINCH_EMULATOR: /)]);
  });
});

describe('loadConfig: production guard rails', () => {
  test.each([
    'http://verification.api.sinch.com',
    'http://10.0.0.5:4010',
    'http://[fd00::1]:4010',
    'http://128.0.0.1',
    'http://localhost.example.com',
  ])('When NODE_ENV=production and SINCH_API_BASE_URL=%s (plain http, not loopback), then it is refused', (url) => {
    const problems = problemsOf({ ...PRODUCTION, SINCH_API_BASE_URL: url });

    expect(problems).toEqual([
      expect.stringMatching(/^SINCH_API_BASE_URL must be https:\/\/ when NODE_ENV=production/),
    ]);
    expect(problems[0]).toContain('clear text');
  });

  test.each([
    'https://verification.api.sinch.com',
    'http://127.0.0.1:4010',
    'http://127.8.9.10',
    'http://localhost:4010',
    'http://LOCALHOST:4010',
    'http://[::1]:4010',
  ])('When NODE_ENV=production and SINCH_API_BASE_URL=%s (TLS or loopback), then it loads', (url) => {
    expect(loadConfig({ ...PRODUCTION, SINCH_API_BASE_URL: url }).sinch.baseUrl).toBe(url.replace(/\/+$/, ''));
  });

  test('When plain http to a remote host is configured outside production, then it loads (development and tests)', () => {
    const config = loadConfig({
      SINCH_APPLICATION_KEY: 'k',
      SINCH_APPLICATION_SECRET: SECRET,
      SINCH_API_BASE_URL: 'http://sinch-mock.internal:4010',
    });

    expect(config.sinch.baseUrl).toBe('http://sinch-mock.internal:4010');
  });

  test('When NODE_ENV=production and TRUST_PROXY=true, then it is refused, naming the alternatives', () => {
    const problems = problemsOf({ ...PRODUCTION, TRUST_PROXY: 'true' });

    expect(problems).toEqual([expect.stringMatching(/^TRUST_PROXY=true \(trust every hop\) is refused/)]);
    for (const alternative of ['hop count', 'loopback', 'subnet list', 'named range'])
      expect(problems[0]).toContain(alternative);
  });

  test.each(['1', 'loopback', '10.0.0.0/8,fd00::/8', 'uniquelocal'])(
    'When NODE_ENV=production and TRUST_PROXY=%s, then it loads',
    (value) => {
      expect(() => loadConfig({ ...PRODUCTION, TRUST_PROXY: value })).not.toThrow();
    },
  );

  test.each([
    ['production, nothing set', { ...PRODUCTION }, { token: undefined, public: false, enabled: false }],
    ['production, METRICS_PUBLIC=true', { ...PRODUCTION, METRICS_PUBLIC: 'true' }, { public: true, enabled: true }],
    [
      'production, METRICS_TOKEN',
      { ...PRODUCTION, METRICS_TOKEN: 'tok-123' },
      { token: 'tok-123', public: false, enabled: true },
    ],
    [
      'production, METRICS_TOKEN and METRICS_PUBLIC=true (the token wins)',
      { ...PRODUCTION, METRICS_TOKEN: 'tok-123', METRICS_PUBLIC: 'true' },
      { token: 'tok-123', public: false, enabled: true },
    ],
    ['development, nothing set', {}, { public: true, enabled: true }],
    ['test, nothing set', { NODE_ENV: 'test' }, { public: true, enabled: true }],
    ['development, METRICS_PUBLIC=false', { METRICS_PUBLIC: 'false' }, { public: false, enabled: false }],
    ['development, METRICS_PUBLIC empty', { METRICS_PUBLIC: '' }, { public: true, enabled: true }],
  ])('When %s, then /metrics is %j', (_what, env, expected) => {
    expect(loadConfig(env).metrics).toEqual(expect.objectContaining(expected));
  });

  test('When NODE_ENV=production and ALLOWED_COUNTRIES is empty, then exactly one warning names ALLOWED_COUNTRIES', () => {
    expect(loadConfig({ ...PRODUCTION }).warnings).toEqual([
      expect.stringMatching(/^ALLOWED_COUNTRIES is empty: codes can be sent by SMS to every country/),
    ]);
  });

  test('When NODE_ENV=production and OTP_TEST_NUMBERS lists numbers, then one warning says how many, never which or their codes', () => {
    const warnings = loadConfig({
      ...PRODUCTION,
      ALLOWED_COUNTRIES: 'SE,US',
      OTP_TEST_NUMBERS: '+15555550100:482913,+46700000001:000111',
    }).warnings;

    expect(warnings).toEqual([
      expect.stringMatching(/^OTP_TEST_NUMBERS: 2 test number\(s\) accept a fixed code in production/),
    ]);
    expect(warnings.join()).not.toMatch(/5555550100|700000001|482913|000111/);
  });

  test.each([
    ['production with ALLOWED_COUNTRIES', { ...PRODUCTION, ALLOWED_COUNTRIES: 'SE,NO' }],
    ['development without ALLOWED_COUNTRIES', { NODE_ENV: 'development' }],
    ['development with OTP_TEST_NUMBERS', { NODE_ENV: 'development', OTP_TEST_NUMBERS: '+15555550100:482913' }],
  ])('When %s, then no warning', (_what, env) => {
    expect(loadConfig(env).warnings).toEqual([]);
  });

  test('When several guard rails are crossed at once, then every problem is reported in one go', () => {
    const problems = problemsOf({
      ...PRODUCTION,
      SINCH_API_BASE_URL: 'http://sinch.example.com',
      TRUST_PROXY: 'true',
      SINCH_EMULATOR: 'true',
      PORT: 'eighty',
    });

    expect(problems).toHaveLength(4);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^SINCH_API_BASE_URL must be https/),
        expect.stringMatching(/^TRUST_PROXY=true/),
        expect.stringMatching(/^SINCH_EMULATOR=true is refused/),
      ]),
    );
  });
});

describe("loadConfig: the seed's variable names", () => {
  test('When a .env from the original guide (DB_* and SINCH_KEY_ID/SINCH_KEY_SECRET) is loaded, then Sinch uses those credentials', () => {
    const config = loadConfig({
      PORT: '3000',
      DB_HOST: 'localhost',
      DB_PORT: '5432',
      DB_USER: 'postgres',
      DB_PASSWORD: 'postgres-pw',
      DB_NAME: 'otp_service',
      SINCH_KEY_ID: 'seed-key-id',
      SINCH_KEY_SECRET: 'seed-key-secret',
    });

    expect(config).toMatchObject({
      database: { mode: 'external', host: 'localhost', name: 'otp_service' },
      sinch: {
        mode: 'remote',
        applicationKey: 'seed-key-id',
        applicationSecret: 'seed-key-secret',
        authScheme: 'basic',
      },
    });
    expect(secretValues(config)).toContain('seed-key-secret');
  });

  test('When both spellings are set to the same values, then they load', () => {
    const config = loadConfig({
      ...PRODUCTION,
      SINCH_KEY_ID: PRODUCTION.SINCH_APPLICATION_KEY,
      SINCH_KEY_SECRET: PRODUCTION.SINCH_APPLICATION_SECRET,
    });

    expect(config.sinch).toMatchObject({ applicationKey: 'key', applicationSecret: SECRET });
  });

  test('When both spellings are set to different values, then each conflict is refused by name', () => {
    const problems = problemsOf({ ...PRODUCTION, SINCH_KEY_ID: 'other-key', SINCH_KEY_SECRET: 'b3RoZXI=' });

    expect(problems).toEqual([
      expect.stringMatching(/^SINCH_APPLICATION_KEY and SINCH_KEY_ID are both set, to different values/),
      expect.stringMatching(/^SINCH_APPLICATION_SECRET and SINCH_KEY_SECRET are both set, to different values/),
    ]);
  });

  test('When one value comes under each spelling (key as SINCH_KEY_ID, secret as SINCH_APPLICATION_SECRET), then they pair up', () => {
    const config = loadConfig({ ...PRODUCTION, SINCH_APPLICATION_KEY: undefined, SINCH_KEY_ID: 'id-1' });

    expect(config.sinch).toMatchObject({ applicationKey: 'id-1', applicationSecret: SECRET });
  });

  test('When only SINCH_KEY_ID is set, then the missing secret is named with both spellings', () => {
    expect(problemsOf({ SINCH_KEY_ID: 'id-1' })).toEqual([
      'SINCH_APPLICATION_SECRET is missing (also accepted as SINCH_KEY_SECRET): set both the application key and its secret',
    ]);
  });
});

describe('effectiveConfig', () => {
  const runtime = {
    database: { host: '127.0.0.1', port: 54_321 },
    sinch: { baseUrl: 'http://127.0.0.1:40_000', applicationKey: 'emulator-key', applicationSecret: SECRET },
  };

  test('When the embedded database and the emulator have started, then the config points at them, frozen, and the rest is unchanged', () => {
    const config = loadConfig({});

    const effective = effectiveConfig(config, runtime);

    expect(effective.database).toMatchObject({
      mode: 'embedded',
      url: undefined,
      host: '127.0.0.1',
      port: 54_321,
      user: 'postgres',
      password: undefined,
      name: 'postgres',
      preparedStatements: false,
    });
    expect(effective.sinch).toMatchObject({
      mode: 'emulator',
      baseUrl: 'http://127.0.0.1:40_000',
      applicationKey: 'emulator-key',
      applicationSecret: SECRET,
      authScheme: 'signed',
      timeoutMs: config.sinch.timeoutMs,
    });
    expect(effective.otp).toBe(config.otp);
    expect(effective.server).toBe(config.server);
    expect(Object.isFrozen(effective)).toBe(true);
    expect(Object.isFrozen(effective.database)).toBe(true);
    expect(Object.isFrozen(effective.sinch)).toBe(true);
    // The loaded config itself is left as it was.
    expect(config.sinch.baseUrl).toBe('https://verification.api.sinch.com');
    expect(config.database.port).toBe(5432);
  });

  test('When a server and real Sinch are configured (nothing started), then the effective config is the loaded one', () => {
    const config = loadConfig(PRODUCTION);

    const effective = effectiveConfig(config, {});

    expect(effective.database).toBe(config.database);
    expect(effective.sinch).toBe(config.sinch);
    expect(Object.isFrozen(effective)).toBe(true);
  });
});
