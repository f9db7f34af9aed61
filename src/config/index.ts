import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { z } from 'zod';
import { canonicalLocale } from '../utils/locale';
import { maskPhone } from '../utils/mask';

/**
 * Every setting the service reads, validated in one pass. `loadConfig` is pure: it reads only
 * the `env` object it is given, so tests build configs without touching `process.env`.
 */

/** A yes/no setting that stays `undefined` when unset or empty, for defaults that depend on other settings. */
const optionalBool = z
  .enum(['', 'true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : ['true', '1', 'yes'].includes(v)));

const bool = (fallback: boolean) => optionalBool.transform((v) => v ?? fallback);

const int = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const countryList = list
  .superRefine((codes, ctx) => {
    for (const code of codes) {
      if (!isSupportedCountry(code.toUpperCase()))
        ctx.addIssue({ code: 'custom', message: `unknown ISO 3166 alpha-2 country "${code}"` });
    }
  })
  .transform((codes) => codes.map((c) => c.toUpperCase() as CountryCode));

const NUMBER_TYPES = [
  'MOBILE',
  'FIXED_LINE',
  'FIXED_LINE_OR_MOBILE',
  'PREMIUM_RATE',
  'TOLL_FREE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
  'UNKNOWN',
] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

/** The ways a code can reach a phone (Sinch's method names). */
export const OTP_METHODS = ['sms', 'callout', 'whatsapp'] as const;
export type OtpMethod = (typeof OTP_METHODS)[number];
/** Methods a fallback may switch to after an SMS failed. */
export const FALLBACK_METHODS = ['callout', 'whatsapp'] as const;
export type FallbackMethod = (typeof FALLBACK_METHODS)[number];
/** Sinch's code alphabets (smsOptions.codeType / whatsappOptions.codeType). */
export const CODE_TYPES = ['Numeric', 'Alpha', 'Alphanumeric'] as const;
export type CodeType = (typeof CODE_TYPES)[number];

/** Sinch methods this service cannot offer, and why (said at start-up, so nobody has to guess). */
const UNSUPPORTED_METHODS: Readonly<Record<string, string>> = {
  flashcall:
    "flashcall is not supported: the code is the caller id of a missed call, which only a mobile app that intercepts incoming calls (Sinch's mobile SDK) can read, not a web page or a person",
  seamless:
    'seamless is not supported: it verifies the mobile data connection of the device making the request, which needs a mobile app on that connection',
};

const otpMethods = list.transform((values, ctx): OtpMethod[] => {
  const methods = new Set<OtpMethod>();
  for (const value of values) {
    const lower = value.toLowerCase();
    const method = OTP_METHODS.find((m) => m === lower);
    if (method) methods.add(method);
    else
      ctx.addIssue({
        code: 'custom',
        message: UNSUPPORTED_METHODS[lower] ?? `unknown method "${value}" (one of ${OTP_METHODS.join(', ')})`,
      });
  }
  return methods.size ? [...methods] : ['sms'];
});

const fallbackMethod = optionalString.transform((value, ctx): FallbackMethod | undefined => {
  if (value === undefined) return undefined;
  const method = FALLBACK_METHODS.find((m) => m === value.toLowerCase());
  if (!method) {
    ctx.addIssue({
      code: 'custom',
      message: `must be ${FALLBACK_METHODS.join(' or ')} (the method tried when an SMS fails), not "${value}"`,
    });
    return z.NEVER;
  }
  return method;
});

const codeType = optionalString.transform((value, ctx): CodeType => {
  if (value === undefined) return 'Numeric';
  const type = CODE_TYPES.find((t) => t.toLowerCase() === value.toLowerCase());
  if (!type) {
    ctx.addIssue({ code: 'custom', message: `must be ${CODE_TYPES.join(', ')}` });
    return z.NEVER;
  }
  return type;
});

const locale = optionalString.transform((value, ctx) => {
  if (value === undefined) return undefined;
  const canonical = canonicalLocale(value);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a BCP 47 language tag such as sv-SE or en, or empty' });
    return z.NEVER;
  }
  return canonical;
});

interface TestNumberEntry {
  phoneNumber: string;
  code: string;
}

/**
 * `E164:code` pairs. The numbers only need to be possible E.164 numbers, not allocated ones:
 * reviewers' numbers are often fictional (+1 555 …). Problems name the entry and the masked
 * number, never the code. The code's alphabet is checked against OTP_CODE_TYPE in build().
 */
const testNumbers = list.transform((entries, ctx): TestNumberEntry[] => {
  const parsed: TestNumberEntry[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const where = `entry ${index + 1}`;
    const separator = entry.lastIndexOf(':');
    const phoneNumber = entry.slice(0, Math.max(0, separator)).trim();
    const code = entry.slice(separator + 1).trim();
    if (separator <= 0 || code === '') {
      ctx.addIssue({ code: 'custom', message: `${where} must be E164:code: an E.164 number, a colon, the code` });
      return;
    }
    const number = parsePhoneNumberFromString(phoneNumber);
    if (!/^\+\d+$/.test(phoneNumber) || number?.isPossible() !== true || number.number !== phoneNumber) {
      ctx.addIssue({
        code: 'custom',
        message: `${where} (${maskPhone(phoneNumber)}) must be an E.164 number: + country code and digits only, of a possible length`,
      });
      return;
    }
    if (seen.has(phoneNumber)) {
      ctx.addIssue({ code: 'custom', message: `${where} (${maskPhone(phoneNumber)}) repeats a number listed before` });
      return;
    }
    seen.add(phoneNumber);
    parsed.push({ phoneNumber, code });
  });
  return parsed;
});

const CODE_ALPHABETS: Readonly<Record<CodeType, { pattern: RegExp; what: string }>> = {
  Numeric: { pattern: /^\d{4,10}$/, what: '4-10 digits' },
  Alpha: { pattern: /^[A-Za-z]{4,10}$/, what: '4-10 letters A-Z' },
  Alphanumeric: { pattern: /^[A-Za-z0-9]{4,10}$/, what: '4-10 letters A-Z or digits' },
};

/** The fixed codes by number; a code not of OTP_CODE_TYPE's alphabet is a problem. Letters are upper-cased. */
function buildTestNumbers(
  entries: readonly TestNumberEntry[],
  type: CodeType,
  problems: string[],
): Readonly<Record<string, string>> {
  const { pattern, what } = CODE_ALPHABETS[type];
  const codes: Record<string, string> = {};
  entries.forEach(({ phoneNumber, code }, index) => {
    if (pattern.test(code)) codes[phoneNumber] = code.toUpperCase();
    else
      problems.push(
        `OTP_TEST_NUMBERS: the code of entry ${index + 1} (${maskPhone(phoneNumber)}) must be ${what} (OTP_CODE_TYPE=${type})`,
      );
  });
  return codes;
}

/** One entry Express's `trust proxy` list accepts: a named range, an IP address, or a CIDR / netmask range. */
function isTrustedProxyEntry(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', range, ...extra] = entry.split('/');
  const family = isIP(address);
  if (!family || extra.length) return false;
  if (range === undefined) return true;
  return /^\d{1,3}$/.test(range) ? Number(range) <= (family === 4 ? 32 : 128) : family === 4 && isIP(range) === 4;
}

/**
 * Express's `trust proxy` values: false, true, a hop count, or names/addresses/CIDRs. Checked here
 * because Express only throws ("invalid IP address") when the app is built, after config passed.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((v, ctx): boolean | number | string => {
    const value = (v ?? 'false').trim();
    if (value === '' || value === 'false') return false;
    if (value === 'true') return true;
    if (/^\d+$/.test(value)) return Number(value);
    if (!value.split(',').every((entry) => isTrustedProxyEntry(entry.trim()))) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be true, false, a hop count, or a comma-separated list of loopback, linklocal, uniquelocal, IP addresses and CIDR ranges',
      });
      return z.NEVER;
    }
    return value;
  });

const url = (what: string) =>
  optionalString.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), `must be an http(s) URL (${what})`);

const DEFAULT_PURPOSES = 'signup,login,password_reset,phone_change,transaction';

/** Purposes are metric label values and token claims: a short, fixed vocabulary of lowercase words. */
const purposeList = optionalString
  .transform((v) => [
    ...new Set(
      (v ?? DEFAULT_PURPOSES)
        .split(',')
        .map((p) => p.trim().toLowerCase())
        .filter(Boolean),
    ),
  ])
  .superRefine((purposes, ctx) => {
    if (purposes.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 purposes' });
    for (const p of purposes)
      if (!/^[a-z][a-z0-9_]{0,31}$/.test(p))
        ctx.addIssue({ code: 'custom', message: `purpose "${p}" must be 1-32 lowercase letters, digits or _` });
  });

/**
 * A PEM as an environment variable: real newlines, or the literal \n sequences many secret stores
 * and `docker run -e` leave in place of them.
 */
const pem = optionalString.transform((v) => v?.replace(/\\n/g, '\n'));

/** The key types verification tokens can be signed with, and the JWS algorithm each one uses. */
export function signingAlgorithm(key: KeyObject): 'EdDSA' | 'ES256' | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  return undefined;
}

const privateSigningKey = pem.superRefine((v, ctx) => {
  if (v === undefined) return;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: v, format: 'pem' });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)' });
    return;
  }
  if (!signingAlgorithm(key)) ctx.addIssue({ code: 'custom', message: 'must be an Ed25519 or P-256 key' });
});

/**
 * Public keys that tokens still in circulation may be signed with: PEM blocks
 * (-----BEGIN PUBLIC KEY-----), or a JWK Set such as the one /.well-known/jwks.json served before
 * the rotation. Parsed here so a bad entry stops start-up instead of failing every redeem.
 */
const previousPublicKeys = pem.transform((v, ctx): JsonWebKey[] => {
  if (v === undefined) return [];
  const fail = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  let keys: KeyObject[];
  try {
    if (v.startsWith('{') || v.startsWith('[')) {
      const parsed = JSON.parse(v) as { keys?: unknown } | unknown[];
      const jwks = Array.isArray(parsed) ? parsed : parsed.keys;
      if (!Array.isArray(jwks)) return fail('must be PEM public keys or a JWK Set ({"keys": [...]})');
      keys = jwks.map((jwk) => createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
    } else {
      const blocks = v.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
      if (!blocks.length || blocks.some((b) => !b.startsWith('-----BEGIN PUBLIC KEY-----')))
        return fail('must be PEM public keys (-----BEGIN PUBLIC KEY-----) or a JWK Set; never a private key');
      keys = blocks.map((block) => createPublicKey({ key: block, format: 'pem' }));
    }
  } catch {
    return fail('holds a key that cannot be read (PEM public keys or a JWK Set)');
  }
  if (keys.some((k) => k.type !== 'public' || !signingAlgorithm(k)))
    return fail('must hold only Ed25519 or P-256 public keys');
  return keys.map((k) => k.export({ format: 'jwk' }));
});

/** Seconds before each retry of a webhook; fractions are allowed (tests run whole schedules in a second). */
const retryDelays = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const text = v === undefined || v.trim() === '' ? '5,30,120,600,1800,7200,21600,86400' : v;
    const delays = text.split(',').map((s) => Number(s.trim()));
    if (delays.length > 50 || delays.some((d) => !Number.isFinite(d) || d < 0 || d > 7 * 86_400)) {
      ctx.addIssue({ code: 'custom', message: 'must be a comma list of at most 50 delays in seconds, each 0-604800' });
      return z.NEVER;
    }
    return delays;
  });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: int(3000, 0, 65535),
  // No default here: the default depends on the Sinch mode (loopback for the emulator), see build().
  HOST: optionalString,
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),

  DATABASE_URL: optionalString.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    'must start with postgres:// or postgresql://',
  ),
  DB_HOST: optionalString,
  DB_PORT: int(5432, 1, 65535),
  DB_USER: z.string().default('postgres'),
  DB_PASSWORD: optionalString,
  DB_NAME: z.string().default('otp_service'),
  DB_SSL: bool(false),
  DB_POOL_MAX: int(10, 1, 200),
  DB_STATEMENT_TIMEOUT_MS: int(5000, 100),
  DB_LOGGING: bool(false),
  DB_PREPARED_STATEMENTS: bool(true),
  DATA_DIR: z.string().default('./data'),

  SINCH_APPLICATION_KEY: optionalString,
  SINCH_APPLICATION_SECRET: optionalString,
  // The names the original setup guide used for the same two values.
  SINCH_KEY_ID: optionalString,
  SINCH_KEY_SECRET: optionalString,
  SINCH_EMULATOR: bool(false),
  SINCH_API_BASE_URL: url('SINCH_API_BASE_URL'),
  SINCH_AUTH_SCHEME: z.enum(['basic', 'signed']).default('basic'),
  SINCH_TIMEOUT_MS: int(5000, 100, 60_000),
  SINCH_CALLBACK_MAX_SKEW_SECONDS: int(600, 1, 86_400),
  SINCH_CIRCUIT_FAILURE_THRESHOLD: int(5, 1, 1000),
  SINCH_CIRCUIT_COOLDOWN_SECONDS: int(30, 1, 3600),

  DEFAULT_COUNTRY: optionalString.refine(
    (v) => v === undefined || isSupportedCountry(v.toUpperCase()),
    'must be an ISO 3166 alpha-2 code such as SE or US',
  ),
  OTP_TTL_SECONDS: int(600, 30, 600),
  OTP_MAX_ATTEMPTS: int(5, 1, 20),
  OTP_PURPOSES: purposeList,
  VERIFY_BY_PHONE_NUMBER: bool(false),
  OTP_RESEND_COOLDOWN_SECONDS: int(30, 0, 3600),
  OTP_MAX_SENDS_PER_NUMBER_HOUR: int(5, 1, 1_000_000),
  OTP_MAX_SENDS_PER_NUMBER_DAY: int(10, 1, 1_000_000),
  OTP_MAX_FAILURES_PER_NUMBER_HOUR: int(10, 1, 1_000_000),
  OTP_GLOBAL_SENDS_PER_MINUTE: int(100, 1, 100_000_000),
  RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: int(20, 1, 100_000_000),
  RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: int(60, 1, 100_000_000),
  RATE_LIMIT_SERVER_API_PER_KEY_MINUTE: int(600, 1, 100_000_000),
  IDEMPOTENCY_TTL_SECONDS: int(600, 1, 86_400),
  OTP_METHODS: otpMethods,
  OTP_FALLBACK_METHOD: fallbackMethod,
  OTP_FALLBACK_AFTER_SECONDS: int(0, 0, 600),
  OTP_DEFAULT_LOCALE: locale,
  OTP_CODE_TYPE: codeType,
  OTP_TEST_NUMBERS: testNumbers,
  ALLOWED_NUMBER_TYPES: list.superRefine((types, ctx) => {
    for (const t of types)
      if (!(NUMBER_TYPES as readonly string[]).includes(t.toUpperCase()))
        ctx.addIssue({ code: 'custom', message: `unknown number type "${t}" (one of ${NUMBER_TYPES.join(', ')})` });
  }),
  ALLOWED_COUNTRIES: countryList,
  BLOCKED_COUNTRIES: countryList,
  BLOCKED_PREFIXES: list.superRefine((prefixes, ctx) => {
    for (const p of prefixes)
      if (!/^\+\d{1,14}$/.test(p)) ctx.addIssue({ code: 'custom', message: `prefix "${p}" must look like +4470` });
  }),

  TRUST_PROXY: trustProxy,
  CORS_ORIGINS: list,
  REDIS_URL: optionalString.refine(
    (v) => v === undefined || /^rediss?:\/\//.test(v),
    'must start with redis:// or rediss://',
  ),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{0,64}$/, 'letters, digits, : _ - only')
    .default('otp:'),
  VERIFICATION_RETENTION_DAYS: int(30, 1, 3650),
  USER_RETENTION_DAYS: int(365, 1, 3650),
  PURGE_INTERVAL_MINUTES: int(60, 0, 10_080),
  METRICS_TOKEN: optionalString,
  // Unset: open outside production, off in production (unless METRICS_TOKEN is set).
  METRICS_PUBLIC: optionalBool,

  VERIFICATION_TOKENS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('on'),
  VERIFICATION_TOKEN_PRIVATE_KEY: privateSigningKey,
  VERIFICATION_TOKEN_PRIVATE_KEY_FILE: optionalString,
  VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS: previousPublicKeys,
  VERIFICATION_TOKEN_ISSUER: z.string().trim().min(1).max(256).default('otp-verification-service'),
  VERIFICATION_TOKEN_AUDIENCE: optionalString,
  VERIFICATION_TOKEN_TTL_SECONDS: int(600, 10, 3600),
  SHUTDOWN_GRACE_MS: int(10_000, 0, 120_000),
  REQUEST_TIMEOUT_MS: int(15_000, 1000, 120_000),

  WEBHOOK_URL: url('WEBHOOK_URL'),
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_RETRY_DELAYS_SECONDS: retryDelays,
  WEBHOOK_TIMEOUT_MS: int(5000, 100, 60_000),
  WEBHOOK_CONCURRENCY: int(4, 1, 64),
  WEBHOOK_POLL_INTERVAL_MS: int(1000, 10, 60_000),
});

export type RawEnv = Record<string, string | undefined>;

/** Every environment variable the service reads (the .env.example test keeps the docs complete). */
export const CONFIG_KEYS = Object.keys(schema.shape);

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = z.infer<typeof schema>;

/**
 * The settings as one frozen object, section by section. Each cross-setting rule appends to
 * `problems` (refused) or to `warnings` (allowed, but said at start-up).
 */
function build(e: Env, problems: string[]) {
  const production = e.NODE_ENV === 'production';
  const externalDb = e.DATABASE_URL !== undefined || e.DB_HOST !== undefined;
  if (!externalDb && production) {
    problems.push(
      'DATABASE_URL (or DB_HOST) is required when NODE_ENV=production; the embedded database is for development only',
    );
  }
  const sinch = selectSinch(e, production, externalDb, problems);
  const emulator = sinch.mode === 'emulator';
  if (production && !emulator) checkSinchTransport(sinch.baseUrl, problems);
  const otp = buildOtp(e, problems);
  const warnings = collectWarnings(e, { production, emulator, testNumberCount: Object.keys(otp.testNumbers).length });
  const metricsPublic = e.METRICS_TOKEN === undefined && (e.METRICS_PUBLIC ?? !production);
  return {
    /** Start-up warnings: settings that are allowed but deserve an operator's second look. */
    warnings,
    server: buildServer(e, production, emulator, problems),
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    database: buildDatabase(e),
    sinch: {
      ...sinch,
      authScheme: e.SINCH_AUTH_SCHEME,
      timeoutMs: e.SINCH_TIMEOUT_MS,
      callbackMaxSkewSeconds: e.SINCH_CALLBACK_MAX_SKEW_SECONDS,
      circuitFailureThreshold: e.SINCH_CIRCUIT_FAILURE_THRESHOLD,
      circuitCooldownSeconds: e.SINCH_CIRCUIT_COOLDOWN_SECONDS,
    },
    otp,
    numberPolicy: {
      allowedTypes: (e.ALLOWED_NUMBER_TYPES.length
        ? e.ALLOWED_NUMBER_TYPES.map((t) => t.toUpperCase())
        : ['MOBILE', 'FIXED_LINE_OR_MOBILE']) as NumberType[],
      allowedCountries: e.ALLOWED_COUNTRIES,
      blockedCountries: e.BLOCKED_COUNTRIES,
      blockedPrefixes: e.BLOCKED_PREFIXES,
    },
    rateLimit: {
      requestOtpPerIpHour: e.RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR,
      verifyOtpPerIpHour: e.RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR,
      serverApiPerKeyMinute: e.RATE_LIMIT_SERVER_API_PER_KEY_MINUTE,
      redisUrl: e.REDIS_URL,
      redisKeyPrefix: e.REDIS_KEY_PREFIX,
    },
    retention: {
      days: e.VERIFICATION_RETENTION_DAYS,
      userDays: e.USER_RETENTION_DAYS,
      purgeIntervalMinutes: e.PURGE_INTERVAL_MINUTES,
    },
    metrics: {
      token: e.METRICS_TOKEN,
      /** Open to anyone (METRICS_PUBLIC, or its default outside production); false when a token is required. */
      public: metricsPublic,
      /** Whether /metrics exists at all: with a token or when public; otherwise it answers 404. */
      enabled: e.METRICS_TOKEN !== undefined || metricsPublic,
    },
    verificationToken: buildVerificationToken(e, production, problems),
    webhooks: buildWebhooks(e, production, problems),
  };
}

function buildServer(e: Env, production: boolean, emulator: boolean, problems: string[]) {
  if (production && e.TRUST_PROXY === true) {
    problems.push(
      'TRUST_PROXY=true (trust every hop) is refused when NODE_ENV=production: any client could then choose its own address through X-Forwarded-For and escape the per-IP limits; use a hop count (e.g. 1), loopback, a subnet list (e.g. 10.0.0.0/8) or a named range (linklocal, uniquelocal)',
    );
  }
  return {
    port: e.PORT,
    // The emulator hands every code to GET /api/emulator/inbox: by default only this machine may ask.
    host: e.HOST ?? (emulator ? '127.0.0.1' : '0.0.0.0'),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    corsOrigins: e.CORS_ORIGINS,
  };
}

function buildOtp(e: Env, problems: string[]) {
  if (e.OTP_MAX_SENDS_PER_NUMBER_DAY < e.OTP_MAX_SENDS_PER_NUMBER_HOUR) {
    problems.push('OTP_MAX_SENDS_PER_NUMBER_DAY must be at least OTP_MAX_SENDS_PER_NUMBER_HOUR');
  }
  checkFallback(e, problems);
  return {
    ttlSeconds: e.OTP_TTL_SECONDS,
    maxAttempts: e.OTP_MAX_ATTEMPTS,
    verifyByPhoneNumber: e.VERIFY_BY_PHONE_NUMBER,
    defaultCountry: e.DEFAULT_COUNTRY?.toUpperCase() as CountryCode | undefined,
    resendCooldownSeconds: e.OTP_RESEND_COOLDOWN_SECONDS,
    maxSendsPerNumberHour: e.OTP_MAX_SENDS_PER_NUMBER_HOUR,
    maxSendsPerNumberDay: e.OTP_MAX_SENDS_PER_NUMBER_DAY,
    maxFailuresPerNumberHour: e.OTP_MAX_FAILURES_PER_NUMBER_HOUR,
    globalSendsPerMinute: e.OTP_GLOBAL_SENDS_PER_MINUTE,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    purposes: e.OTP_PURPOSES,
    /** Methods request-otp and resend-otp accept. */
    methods: e.OTP_METHODS,
    /** The method of a request that names none: sms when on offer, else the first listed. */
    defaultMethod: e.OTP_METHODS.includes('sms') ? ('sms' as const) : (e.OTP_METHODS[0] ?? 'sms'),
    /** Started once for a verification whose SMS failed (or went unreported, see below); undefined = no fallback. */
    fallbackMethod: e.OTP_FALLBACK_METHOD,
    /** 0 = fall back only on a FAILED delivery report; else also when no report came within this many seconds. */
    fallbackAfterSeconds: e.OTP_FALLBACK_AFTER_SECONDS,
    /** Canonical BCP 47 tag used when neither the body nor Accept-Language names a language; undefined = Sinch's default. */
    defaultLocale: e.OTP_DEFAULT_LOCALE,
    codeType: e.OTP_CODE_TYPE,
    /** Fixed code by E.164 number; these numbers never reach Sinch. Look up with Object.hasOwn. */
    testNumbers: buildTestNumbers(e.OTP_TEST_NUMBERS, e.OTP_CODE_TYPE, problems),
  };
}

function collectWarnings(
  e: Env,
  { production, emulator, testNumberCount }: { production: boolean; emulator: boolean; testNumberCount: number },
): string[] {
  const warnings: string[] = [];
  if (emulator && e.HOST !== undefined && !isLoopbackHost(e.HOST)) {
    warnings.push(
      `HOST=${e.HOST} with the built-in Sinch emulator: every code sent is readable at GET /api/emulator/inbox by anyone who can reach port ${e.PORT}; leave HOST unset to listen on 127.0.0.1 only`,
    );
  }
  if (production && e.ALLOWED_COUNTRIES.length === 0) {
    warnings.push(
      'ALLOWED_COUNTRIES is empty: codes can be sent by SMS to every country not in BLOCKED_COUNTRIES; list the countries you serve (e.g. ALLOWED_COUNTRIES=SE,NO) to limit SMS pumping',
    );
  }
  if (production && testNumberCount > 0) {
    warnings.push(
      `OTP_TEST_NUMBERS: ${testNumberCount} test number(s) accept a fixed code in production and never reach Sinch: anyone who knows one and its code can verify it (docs/channels.md#test-numbers)`,
    );
  }
  return warnings;
}

function buildVerificationToken(e: Env, production: boolean, problems: string[]) {
  const enabled = e.VERIFICATION_TOKENS === 'on';
  if (e.VERIFICATION_TOKEN_PRIVATE_KEY !== undefined && e.VERIFICATION_TOKEN_PRIVATE_KEY_FILE !== undefined) {
    problems.push('Set VERIFICATION_TOKEN_PRIVATE_KEY or VERIFICATION_TOKEN_PRIVATE_KEY_FILE, not both');
  }
  const key = e.VERIFICATION_TOKEN_PRIVATE_KEY ?? e.VERIFICATION_TOKEN_PRIVATE_KEY_FILE;
  if (production && enabled && key === undefined) {
    problems.push(
      'VERIFICATION_TOKEN_PRIVATE_KEY (or VERIFICATION_TOKEN_PRIVATE_KEY_FILE) is required when NODE_ENV=production; set VERIFICATION_TOKENS=off to run without verification tokens',
    );
  }
  return {
    enabled,
    /** PKCS#8 PEM; or read from privateKeyFile; or, outside production, generated once into the data directory. */
    privateKeyPem: e.VERIFICATION_TOKEN_PRIVATE_KEY,
    privateKeyFile: e.VERIFICATION_TOKEN_PRIVATE_KEY_FILE && path.resolve(e.VERIFICATION_TOKEN_PRIVATE_KEY_FILE),
    generatedKeyFile: path.join(path.resolve(e.DATA_DIR), 'verification-token-key.pem'),
    previousPublicKeys: e.VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS,
    issuer: e.VERIFICATION_TOKEN_ISSUER,
    audience: e.VERIFICATION_TOKEN_AUDIENCE,
    ttlSeconds: e.VERIFICATION_TOKEN_TTL_SECONDS,
  };
}

function buildWebhooks(e: Env, production: boolean, problems: string[]) {
  if ((e.WEBHOOK_URL === undefined) !== (e.WEBHOOK_SECRET === undefined)) {
    problems.push('WEBHOOK_URL and WEBHOOK_SECRET go together: set both to send webhooks, or neither');
  }
  if (e.WEBHOOK_SECRET !== undefined && !isWebhookSecret(e.WEBHOOK_SECRET)) {
    problems.push('WEBHOOK_SECRET must be whsec_ followed by 24 to 64 random bytes in base64 (Standard Webhooks)');
  }
  if (production && e.WEBHOOK_URL !== undefined && !isSecureOrLoopback(e.WEBHOOK_URL)) {
    problems.push(
      'WEBHOOK_URL must be https:// when NODE_ENV=production (plain http:// only to a loopback host): webhook bodies carry phone numbers',
    );
  }
  return {
    enabled: e.WEBHOOK_URL !== undefined && e.WEBHOOK_SECRET !== undefined,
    url: e.WEBHOOK_URL ?? '',
    secret: e.WEBHOOK_SECRET ?? '',
    retryDelaysSeconds: e.WEBHOOK_RETRY_DELAYS_SECONDS,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    concurrency: e.WEBHOOK_CONCURRENCY,
    pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
  };
}

/** A fallback must be a method on offer, and a timer that outlives the code would never help anyone. */
function checkFallback(e: z.infer<typeof schema>, problems: string[]): void {
  if (e.OTP_FALLBACK_METHOD !== undefined && !e.OTP_METHODS.includes(e.OTP_FALLBACK_METHOD)) {
    problems.push(
      `OTP_FALLBACK_METHOD=${e.OTP_FALLBACK_METHOD} must also be in OTP_METHODS (now ${e.OTP_METHODS.join(',')})`,
    );
  }
  if (e.OTP_FALLBACK_AFTER_SECONDS > 0 && e.OTP_FALLBACK_METHOD === undefined) {
    problems.push('OTP_FALLBACK_AFTER_SECONDS is set but OTP_FALLBACK_METHOD is not: set both, or neither');
  }
  if (e.OTP_FALLBACK_AFTER_SECONDS > 0 && e.OTP_FALLBACK_AFTER_SECONDS >= e.OTP_TTL_SECONDS) {
    problems.push(
      `OTP_FALLBACK_AFTER_SECONDS (${e.OTP_FALLBACK_AFTER_SECONDS}) must be less than OTP_TTL_SECONDS (${e.OTP_TTL_SECONDS}): the code would have expired`,
    );
  }
}

export type Config = Readonly<ReturnType<typeof build>>;
export type DatabaseConfig = Config['database'];

type DatabaseEnv = Pick<
  z.infer<typeof schema>,
  | 'DATABASE_URL'
  | 'DB_HOST'
  | 'DB_PORT'
  | 'DB_USER'
  | 'DB_PASSWORD'
  | 'DB_NAME'
  | 'DB_SSL'
  | 'DB_POOL_MAX'
  | 'DB_STATEMENT_TIMEOUT_MS'
  | 'DB_LOGGING'
  | 'DB_PREPARED_STATEMENTS'
  | 'DATA_DIR'
>;

function buildDatabase(e: DatabaseEnv) {
  return {
    mode: e.DATABASE_URL !== undefined || e.DB_HOST !== undefined ? ('external' as const) : ('embedded' as const),
    url: e.DATABASE_URL,
    host: e.DB_HOST ?? '127.0.0.1',
    port: e.DB_PORT,
    user: e.DB_USER,
    password: e.DB_PASSWORD,
    name: e.DB_NAME,
    ssl: e.DB_SSL,
    poolMax: e.DB_POOL_MAX,
    statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    logging: e.DB_LOGGING,
    // The embedded database multiplexes every client onto one session, where statement names collide.
    preparedStatements: e.DB_PREPARED_STATEMENTS && (e.DATABASE_URL !== undefined || e.DB_HOST !== undefined),
    dataDir: path.resolve(e.DATA_DIR),
  };
}

const databaseSchema = schema.pick({
  DATABASE_URL: true,
  DB_HOST: true,
  DB_PORT: true,
  DB_USER: true,
  DB_PASSWORD: true,
  DB_NAME: true,
  DB_SSL: true,
  DB_POOL_MAX: true,
  DB_STATEMENT_TIMEOUT_MS: true,
  DB_LOGGING: true,
  DB_PREPARED_STATEMENTS: true,
  DATA_DIR: true,
});

/** Only the database settings: what sequelize-cli needs, without requiring Sinch credentials. */
export function loadDatabaseConfig(env: RawEnv = process.env): DatabaseConfig {
  const parsed = databaseSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return deepFreeze(buildDatabase(parsed.data));
}

/** The value of a setting that has two accepted names; both set to different values is a problem. */
function eitherName(
  name: string,
  value: string | undefined,
  alias: string,
  aliasValue: string | undefined,
  problems: string[],
): string | undefined {
  if (value !== undefined && aliasValue !== undefined && value !== aliasValue) {
    problems.push(
      `${name} and ${alias} are both set, to different values: they are two names of the same setting, so keep only one`,
    );
  }
  return value ?? aliasValue;
}

/**
 * Real Sinch or the built-in emulator. The emulator hands out every code, so it is used only on purpose:
 * SINCH_EMULATOR=true, or the zero-config first run (nothing configured at all, not production).
 * A database without Sinch credentials is a deployment that forgot one variable, and is refused.
 */
function selectSinch(e: Env, production: boolean, externalDb: boolean, problems: string[]) {
  const key = eitherName('SINCH_APPLICATION_KEY', e.SINCH_APPLICATION_KEY, 'SINCH_KEY_ID', e.SINCH_KEY_ID, problems);
  const secret = eitherName(
    'SINCH_APPLICATION_SECRET',
    e.SINCH_APPLICATION_SECRET,
    'SINCH_KEY_SECRET',
    e.SINCH_KEY_SECRET,
    problems,
  );
  const anySinchSetting = key !== undefined || secret !== undefined || e.SINCH_API_BASE_URL !== undefined;
  if ((key === undefined) !== (secret === undefined)) {
    problems.push(
      key === undefined
        ? 'SINCH_APPLICATION_KEY is missing (also accepted as SINCH_KEY_ID): set both the application key and its secret'
        : 'SINCH_APPLICATION_SECRET is missing (also accepted as SINCH_KEY_SECRET): set both the application key and its secret',
    );
  }
  if (e.SINCH_EMULATOR && production) {
    problems.push(
      'SINCH_EMULATOR=true is refused when NODE_ENV=production: the built-in emulator sends no SMS and shows every code at GET /api/emulator/inbox',
    );
  } else if (e.SINCH_EMULATOR && anySinchSetting) {
    problems.push(
      'SINCH_EMULATOR=true and Sinch settings (SINCH_APPLICATION_KEY/SINCH_APPLICATION_SECRET, SINCH_KEY_ID/SINCH_KEY_SECRET or SINCH_API_BASE_URL) are both set: unset SINCH_EMULATOR to use Sinch, or the Sinch settings to use the emulator',
    );
  }
  const zeroConfig = !production && !externalDb && !anySinchSetting;
  const emulator = !production && (e.SINCH_EMULATOR || zeroConfig);
  if (!emulator && key === undefined && secret === undefined) {
    if (production)
      problems.push(
        'SINCH_APPLICATION_KEY and SINCH_APPLICATION_SECRET are required when NODE_ENV=production (also accepted as SINCH_KEY_ID and SINCH_KEY_SECRET); the Sinch emulator is for development only',
      );
    else if (e.SINCH_API_BASE_URL !== undefined)
      problems.push('SINCH_API_BASE_URL is set but SINCH_APPLICATION_KEY/SINCH_APPLICATION_SECRET are not');
    else
      problems.push(
        'A database is configured (DATABASE_URL or DB_HOST) but no Sinch credentials: set SINCH_APPLICATION_KEY and SINCH_APPLICATION_SECRET (also accepted as SINCH_KEY_ID and SINCH_KEY_SECRET) to send real SMS, or SINCH_EMULATOR=true to use the built-in Sinch emulator for development (no SMS is sent; codes are readable at GET /api/emulator/inbox)',
      );
  }
  if (e.SINCH_AUTH_SCHEME === 'signed' && secret !== undefined && !isBase64(secret)) {
    problems.push('SINCH_APPLICATION_SECRET must be base64 (as Sinch issues it) for SINCH_AUTH_SCHEME=signed');
  }
  return {
    mode: emulator ? ('emulator' as const) : ('remote' as const),
    /** Why the emulator runs, for the start-up log; undefined on real Sinch. */
    emulatorReason: !emulator
      ? undefined
      : e.SINCH_EMULATOR
        ? 'SINCH_EMULATOR=true'
        : 'nothing configured: no database, no Sinch credentials',
    baseUrl: (e.SINCH_API_BASE_URL ?? 'https://verification.api.sinch.com').replace(/\/+$/, ''),
    applicationKey: key ?? '',
    applicationSecret: secret ?? '',
  };
}

/** Production talks to Sinch over TLS; plain http only to this machine (tests, a sidecar). */
function checkSinchTransport(baseUrl: string, problems: string[]): void {
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    return; // A malformed URL is already reported by the schema.
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname))) return;
  problems.push(
    `SINCH_API_BASE_URL must be https:// when NODE_ENV=production (plain http:// only to a loopback host: 127.0.0.0/8, ::1, localhost), not ${parsed.protocol}//${parsed.host}: with the Basic scheme the application secret would travel in clear text, and with either scheme every phone number and code`,
  );
}

/** https, or http to a loopback host; a malformed URL passes here (the schema reports it). */
function isSecureOrLoopback(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname));
  } catch {
    return true;
  }
}

/** 127.0.0.0/8, ::1 or localhost (a URL's hostname may bracket IPv6: [::1]). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function isBase64(value: string): boolean {
  return value.length > 0 && value.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(value);
}

/** Standard Webhooks secrets: `whsec_` and base64 of 24 to 64 bytes. */
function isWebhookSecret(value: string): boolean {
  const encoded = value.startsWith('whsec_') ? value.slice('whsec_'.length) : '';
  if (!isBase64(encoded)) return false;
  const bytes = Buffer.from(encoded, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates the environment once and returns a nested, frozen config.
 * Throws one `ConfigError` that lists every problem, so an operator fixes them all in one go.
 */
export function loadConfig(env: RawEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.') || '(env)'}: ${issue.message}`);
    // The cross-setting rules (production needs a database, key and secret go together...) still
    // run over the well-formed settings, so one failed start lists every problem, not just the first kind.
    const malformed = new Set(parsed.error.issues.map((issue) => String(issue.path[0])));
    const rest = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([key]) => !malformed.has(key))));
    if (rest.success) build(rest.data, problems);
    throw new ConfigError(problems);
  }
  const config = build(parsed.data, problems);
  if (problems.length) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** Where the embedded database and the built-in emulator listen: known only once they have started. */
export interface RuntimeEndpoints {
  /** The embedded PostgreSQL's loopback address (database mode 'embedded'). */
  database?: { host: string; port: number };
  /** The in-process emulator's URL and the credentials it was started with (Sinch mode 'emulator'). */
  sinch?: { baseUrl: string; applicationKey: string; applicationSecret: string };
}

/**
 * The configuration the running service uses: `config` with the embedded database and the emulator
 * filled in where they run. Built once by the composition root, frozen, and the only config handed
 * to the services and the app (the emulator's credentials also authenticate its callbacks).
 */
export function effectiveConfig(config: Config, runtime: RuntimeEndpoints): Config {
  const database: DatabaseConfig = runtime.database
    ? {
        ...config.database,
        url: undefined,
        host: runtime.database.host,
        port: runtime.database.port,
        user: 'postgres',
        password: undefined,
        name: 'postgres',
      }
    : config.database;
  // The emulator checks Sinch's signed scheme, the stricter of the two, on every call.
  const sinch = runtime.sinch ? { ...config.sinch, ...runtime.sinch, authScheme: 'signed' as const } : config.sinch;
  return deepFreeze({ ...config, database, sinch });
}

/** The secret values the logger must scrub wherever they appear. */
export function secretValues(config: Config): string[] {
  return [
    config.sinch.applicationSecret,
    config.database.password ?? '',
    config.metrics.token ?? '',
    config.verificationToken.privateKeyPem ?? '',
    config.webhooks.secret,
    config.webhooks.secret.replace(/^whsec_/, ''),
    databaseUrlPassword(config.database.url),
  ].filter((s) => s.length >= 4);
}

function databaseUrlPassword(url: string | undefined): string {
  if (!url) return '';
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
