/**
 * What every answer of this API shares, as zod schemas: the success envelope, one error body per
 * catalogue code (with the shape of its `details`), and the common headers. The OpenAPI document is
 * generated from these (src/routes/openapi.ts); a schema with `.meta({ id })` becomes a component.
 */
import { z } from 'zod';
import { OTP_METHODS } from '../config';
import { ERROR_CATALOGUE, type ErrorCode } from '../utils/app-error';

/** Values the examples of the document share, so they tell one consistent story. */
export const EXAMPLE = {
  phoneNumber: '+46701234567',
  verificationId: '0b5c2b9e-7c1d-4a8e-9f3a-5d2e6c7b8a91',
  requestId: '3f1c2a9e-8d7b-4c55-9b7e-2a6f1d0c4e88',
  time: '2026-11-25T18:00:00.000Z',
  /** A real token for the example verification (purpose signup), signed by the example key below. */
  verificationToken:
    'eyJhbGciOiJFZERTQSIsImtpZCI6IjEzZUltTmZLTFBCRjZpZXFaOHNMdUdnVDBFV0stb29semhUNHFQbEpSVjAiLCJ0eXAiOiJKV1QifQ.eyJwaG9uZV9udW1iZXIiOiIrNDY3MDEyMzQ1NjciLCJwaG9uZV9udW1iZXJfdmVyaWZpZWQiOnRydWUsInB1cnBvc2UiOiJzaWdudXAiLCJtZXRob2QiOiJzbXMiLCJpc3MiOiJvdHAtdmVyaWZpY2F0aW9uLXNlcnZpY2UiLCJzdWIiOiIrNDY3MDEyMzQ1NjciLCJpYXQiOjE3OTU2Mjk2NzIsImV4cCI6MTc5NTYzMDI3MiwianRpIjoiMGI1YzJiOWUtN2MxZC00YThlLTlmM2EtNWQyZTZjN2I4YTkxIn0.nL5jERXRp2zCZuJp_ar-enXFJCGJjygaTZdUPKi_7vICWj0p9qAY_IqCcPvu_AzmE-wB2vXdirYbIP70VssLCw',
  signingKey: {
    kty: 'OKP',
    crv: 'Ed25519',
    x: 'ZGmJP7FhMC8vvjUgELgEyRS8ibqYoCA44GpQgYSELEc',
    kid: '13eImNfKLPBF6ieqZ8sLuGgT0EWK-oolzhT4qPlJRV0',
    alg: 'EdDSA',
    use: 'sig',
  },
} as const;

export const e164 = z
  .string()
  .regex(/^\+[1-9][0-9]{6,14}$/)
  .meta({ description: 'E.164: `+`, country code, number; no spaces.', examples: [EXAMPLE.phoneNumber] });

/** `{status: "success", message, data}`: the body of every success of the API's own routes. */
export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.strictObject({ status: z.literal('success'), message: z.string().min(1), data });
}

// ---------------------------------------------------------------------------------------------
// The shapes of `details`, shared by several codes.
// ---------------------------------------------------------------------------------------------

export const fieldProblem = z.strictObject({ field: z.string(), message: z.string() }).meta({
  id: 'FieldProblem',
  description:
    'One VALIDATION_ERROR problem. `field` is the JSON path of the field, or the header or query parameter (`(body)` when the body itself is not an object).',
});

export const phoneNumberProblem = z
  .strictObject({
    field: z.literal('phoneNumber'),
    reason: z.enum([
      'invalid_characters',
      'missing_country_code',
      'impossible_number',
      'invalid_number',
      'rejected_by_provider',
      'country_not_allowed',
      'number_type_not_allowed',
      'prefix_blocked',
      'blocked_by_provider',
      'no_route',
    ]),
    numberType: z.string().optional().meta({
      description: 'With `number_type_not_allowed`: the type of the number, e.g. `FIXED_LINE`, `VOIP`, `PREMIUM_RATE`.',
    }),
  })
  .meta({
    id: 'PhoneNumberProblem',
    description: 'Why a phone number was refused (INVALID_PHONE_NUMBER or PHONE_NUMBER_NOT_ALLOWED).',
  });

/** How the code in force went out: a fallback may have replaced an SMS with a call since the page last asked. */
const methodInForce = z.enum(OTP_METHODS).meta({
  description: 'How the code in force went out (`sms`, `callout`, `whatsapp`); a fallback may have changed it.',
});

export const invalidCodeDetail = z
  .strictObject({
    field: z.literal('code'),
    attemptsRemaining: z
      .int()
      .min(0)
      .meta({ description: 'Wrong tries this code still allows; 0 means request a new code.' }),
    method: methodInForce,
  })
  .meta({ id: 'InvalidCodeDetail' });

export const methodDetail = z
  .strictObject({
    field: z.literal('method'),
    reason: z.literal('method_not_enabled'),
    enabledMethods: z.array(z.enum(OTP_METHODS)).meta({ description: 'The methods this server offers.' }),
  })
  .meta({ id: 'MethodDetail', description: 'The methods on offer, when the one asked for is not.' });

export const limitDetail = z
  .strictObject({
    limit: z.string().meta({
      description:
        '`number_cooldown`, `number_hour`, `number_day`, `global_minute`, `ip-request-otp` or `ip-verify-otp`.',
    }),
    retryAfterSeconds: z.int().min(1).optional(),
    quota: z.int().min(0),
    windowSeconds: z.int().min(0),
  })
  .meta({ id: 'LimitDetail', description: 'Which limit refused the request, and when it allows the next one.' });

export const attemptsDetail = z
  .discriminatedUnion('reason', [
    z.strictObject({
      reason: z.literal('verification_attempts_exhausted'),
      maxAttempts: z.int().min(1),
      attemptsRemaining: z.literal(0),
      method: methodInForce,
    }),
    z.strictObject({ reason: z.literal('failure_budget_exhausted'), retryAfterSeconds: z.int().min(1) }),
  ])
  .meta({ id: 'AttemptsDetail', description: 'Which attempt limit refused the code.' });

export const reasonDetail = z
  .strictObject({
    field: z
      .string()
      .optional()
      .meta({ description: 'The field or header concerned, when there is one (e.g. `Idempotency-Key`).' }),
    reason: z.string().meta({
      description: 'e.g. `superseded`, `ended_by_provider`, `different_request`.',
    }),
  })
  .meta({ id: 'ReasonDetail' });

// ---------------------------------------------------------------------------------------------
// One error body per code: when it happens (for someone wiring up a frontend) and an example.
// ---------------------------------------------------------------------------------------------

interface CodeDoc {
  /** When it happens and what to do about it. */
  when: string;
  /** The example's message: a real one the code sends (the catalogue's default when absent). */
  message?: string;
  /** The example's `details`. */
  details?: unknown[];
}

/** `details` for a code: at least one entry when present (the error handler drops an empty list). */
const list = (item: z.ZodType) => z.array(item).min(1);

/** `InvalidCodeError`, `ValidationError`: the code in PascalCase, ending in Error once. */
function componentName(code: ErrorCode): string {
  const name = code.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _sep, letter: string) => letter.toUpperCase());
  return name.endsWith('Error') ? name : `${name}Error`;
}

function errorBody<C extends ErrorCode>(code: C, doc: CodeDoc, details?: z.ZodType) {
  return z
    .strictObject({
      status: z.literal('error'),
      code: z.literal(code),
      message: z.string().min(1),
      requestId: z.string().min(1),
      ...(details ? { details } : {}),
    })
    .meta({
      id: componentName(code),
      description: doc.when,
      examples: [
        {
          status: 'error',
          code,
          message: doc.message ?? ERROR_CATALOGUE[code].message,
          requestId: EXAMPLE.requestId,
          ...(doc.details ? { details: doc.details } : {}),
        },
      ],
    });
}

/**
 * The error envelope of each code: `{status: "error", code, message, requestId, details?}`. Switch on
 * `code`, never on `message`. Codes without a `details` schema never send `details`.
 */
export const ERROR_BODIES = {
  INVALID_JSON: errorBody('INVALID_JSON', {
    when: 'The body is not valid JSON (a syntax error or a truncated body). A client bug: check that the body is `JSON.stringify`-ed.',
  }),
  VALIDATION_ERROR: errorBody(
    'VALIDATION_ERROR',
    {
      when: 'A field is missing, has the wrong type or format, or is not allowed (unknown fields are refused). `details` has one `{field, message}` per problem; show each message next to its field.',
      details: [
        { field: 'phoneNumber', message: 'phoneNumber is required' },
        { field: 'phone', message: 'phone is not a recognised field' },
      ],
    },
    list(fieldProblem),
  ),
  INVALID_PHONE_NUMBER: errorBody(
    'INVALID_PHONE_NUMBER',
    {
      when: 'The text cannot be a real phone number. `details[0].reason` is `invalid_characters`, `missing_country_code` (no leading `+` and no DEFAULT_COUNTRY on the server), `impossible_number` (wrong length), `invalid_number`, or `rejected_by_provider`. Show `message` next to the phone field.',
      message: 'The phone number must start with + and the country code, e.g. +46701234567.',
      details: [{ field: 'phoneNumber', reason: 'missing_country_code' }],
    },
    list(phoneNumberProblem),
  ),
  INVALID_CODE: errorBody(
    'INVALID_CODE',
    {
      when: 'The code is wrong. `details[0].attemptsRemaining` is how many more tries this code allows; at 0, offer "send a new code". `details[0].method` is how the code in force went out (a fallback may have made it a call).',
      message: 'The code is not correct. 4 attempts left.',
      details: [{ field: 'code', attemptsRemaining: 4, method: 'sms' }],
    },
    list(invalidCodeDetail),
  ),
  UNAUTHORIZED: errorBody('UNAUTHORIZED', {
    when: 'Authentication is missing or wrong.',
    message: 'The callback is not signed by Sinch for this application.',
  }),
  INVALID_TOKEN: errorBody(
    'INVALID_TOKEN',
    {
      when: 'POST /api/verifications/redeem: the verification token has a bad signature (changed, or signed by another key), is expired or malformed, was issued for another issuer or audience, or names a verification that no longer exists. `details[0].reason` is `signature`, `expired`, `malformed`, `claims`, `claim_<name>` (e.g. `claim_aud`) or `verification_not_found`. Do not trust the number it claims.',
      details: [{ field: 'token', reason: 'expired' }],
    },
    list(reasonDetail),
  ),
  NOT_FOUND: errorBody('NOT_FOUND', {
    when: 'No route has this path. Check the URL (and the `/api` prefix).',
    message: 'No route for GET /api/request-otpp. See /api/docs for the routes this service offers.',
  }),
  VERIFICATION_NOT_FOUND: errorBody(
    'VERIFICATION_NOT_FOUND',
    {
      when: "No verification matches this `verificationId` (and number, when given): never issued, another number's, or purged; the answer is identical in each case. With the right id: replaced by a newer code (`details[0].reason: superseded`). Ask the user to request a new code, or to use the latest one.",
    },
    list(reasonDetail).optional(),
  ),
  METHOD_NOT_ALLOWED: errorBody('METHOD_NOT_ALLOWED', {
    when: 'The path exists but not with this HTTP method; the `Allow` header lists the methods it takes.',
    message: 'GET is not allowed here; use POST.',
  }),
  ALREADY_VERIFIED: errorBody('ALREADY_VERIFIED', {
    when: 'This verification already succeeded (typically a double submit). Treat it as success in the UI, or request a new code to verify again.',
    message: 'This code has already been used to verify the number. Request a new code to verify again.',
  }),
  TOKEN_ALREADY_REDEEMED: errorBody('TOKEN_ALREADY_REDEEMED', {
    when: 'POST /api/verifications/redeem: this token was redeemed before (tokens are single-use there). A second use of one proof, e.g. a replayed request: refuse the action.',
  }),
  IDEMPOTENCY_REQUEST_IN_PROGRESS: errorBody('IDEMPOTENCY_REQUEST_IN_PROGRESS', {
    when: 'A request with the same `Idempotency-Key` is still running (a double click). Retry after `Retry-After` seconds with the same key and body to get its result.',
  }),
  VERIFICATION_CANCELLED: errorBody('VERIFICATION_CANCELLED', {
    when: "The integrator's backend cancelled this verification (POST /api/verifications/{id}/cancel); even the right code is refused. Ask the user to request a new code.",
  }),
  VERIFICATION_EXPIRED: errorBody(
    'VERIFICATION_EXPIRED',
    {
      when: 'The code is past `expiresAt`, or the SMS provider ended the verification (`details[0].reason: ended_by_provider`). Ask the user to request a new code. From resend-otp: the verification has ended (`details[0].reason`: `expired`, `superseded`, `attempts_exhausted` or `ended_by_provider`).',
    },
    list(reasonDetail).optional(),
  ),
  PAYLOAD_TOO_LARGE: errorBody('PAYLOAD_TOO_LARGE', {
    when: 'The body is over 10 kB. Real requests are a few dozen bytes: a client bug.',
  }),
  UNSUPPORTED_MEDIA_TYPE: errorBody('UNSUPPORTED_MEDIA_TYPE', {
    when: 'The body is not sent as `Content-Type: application/json` (or uses a charset or Content-Encoding the server does not read). With `fetch`, set the header explicitly.',
  }),
  PHONE_NUMBER_NOT_ALLOWED: errorBody(
    'PHONE_NUMBER_NOT_ALLOWED',
    {
      when: 'A valid number this service will not text. `details[0].reason` is `country_not_allowed`, `number_type_not_allowed` (with `numberType`, e.g. `PREMIUM_RATE`, `VOIP`, `FIXED_LINE`), `prefix_blocked`, `blocked_by_provider` or `no_route`. Ask for a mobile number from a supported country.',
      message: 'Codes can only be sent to mobile phone numbers.',
      details: [{ field: 'phoneNumber', reason: 'number_type_not_allowed', numberType: 'FIXED_LINE' }],
    },
    list(phoneNumberProblem),
  ),
  METHOD_NOT_ENABLED: errorBody(
    'METHOD_NOT_ENABLED',
    {
      when: 'The `method` asked for is not offered by this server (OTP_METHODS). `details[0].enabledMethods` lists the methods that are; offer one of those.',
      message: 'Codes cannot be sent by "whatsapp" here. Use one of: sms, callout.',
      details: [{ field: 'method', reason: 'method_not_enabled', enabledMethods: ['sms', 'callout'] }],
    },
    list(methodDetail),
  ),
  IDEMPOTENCY_KEY_REUSED: errorBody(
    'IDEMPOTENCY_KEY_REUSED',
    {
      when: 'This `Idempotency-Key` was used in the last 10 minutes for a different phone number. Use a new key for each distinct user action.',
      details: [{ field: 'Idempotency-Key', reason: 'different_request' }],
    },
    list(reasonDetail),
  ),
  TOO_MANY_ATTEMPTS: errorBody(
    'TOO_MANY_ATTEMPTS',
    {
      when: 'Too many wrong codes. `details[0].reason` says which limit: `verification_attempts_exhausted` (this code is used up, even the right code is refused now: request a new code) or `failure_budget_exhausted` (too many wrong codes for this number in the last hour, across new codes too: wait `Retry-After` seconds).',
      message: 'Too many wrong codes for this verification (5 allowed). Request a new code.',
      details: [{ reason: 'verification_attempts_exhausted', maxAttempts: 5, attemptsRemaining: 0, method: 'sms' }],
    },
    list(attemptsDetail),
  ),
  RATE_LIMITED: errorBody(
    'RATE_LIMITED',
    {
      when: 'Too many requests; wait `Retry-After` seconds.',
      message: 'A code was just sent to this number. You can request a new one in 27 s.',
      details: [{ limit: 'number_cooldown', retryAfterSeconds: 27, quota: 1, windowSeconds: 30 }],
    },
    // The SMS provider's own 429 comes without details; our limits always say which one refused.
    list(limitDetail).optional(),
  ),
  INTERNAL_ERROR: errorBody('INTERNAL_ERROR', {
    when: 'A bug on the server. The message is always generic; quote `requestId` (also in the `X-Request-Id` header) when reporting it.',
  }),
  SMS_PROVIDER_ERROR: errorBody('SMS_PROVIDER_ERROR', {
    when: 'The SMS provider refused the request or answered something unreadable, usually a server misconfiguration. Retrying rarely helps: show a generic error and quote `requestId`.',
  }),
  SMS_PROVIDER_UNAVAILABLE: errorBody('SMS_PROVIDER_UNAVAILABLE', {
    when: 'The SMS provider is down, too slow, or paused by the circuit breaker after repeated failures. Retry after `Retry-After` seconds.',
    message: 'The SMS provider did not answer in time. Try again shortly.',
  }),
  SEND_CAPACITY_EXCEEDED: errorBody(
    'SEND_CAPACITY_EXCEEDED',
    {
      when: 'The service-wide ceiling on codes sent per minute (protection against SMS pumping) is reached. Retry after `Retry-After` seconds.',
      details: [{ limit: 'global_minute', retryAfterSeconds: 42, quota: 100, windowSeconds: 60 }],
    },
    list(limitDetail),
  ),
  SERVICE_UNAVAILABLE: errorBody('SERVICE_UNAVAILABLE', {
    when: 'The database is not answering. Retry after `Retry-After` seconds.',
  }),
  REQUEST_TIMEOUT: errorBody('REQUEST_TIMEOUT', {
    when: 'The server gave up on the request after REQUEST_TIMEOUT_MS (a stuck dependency). Retry after `Retry-After` seconds; for request-otp, reuse the same `Idempotency-Key` so no second SMS is sent.',
  }),
} satisfies { [C in ErrorCode]: z.ZodObject<{ code: z.ZodLiteral<C> } & z.ZodRawShape> };

// ---------------------------------------------------------------------------------------------
// Headers. Header values are strings on the wire; the schemas say what the string holds.
// ---------------------------------------------------------------------------------------------

/** The header every request may carry. */
export const requestIdRequestHeader = z.string().optional().meta({
  description:
    'Optional correlation id (1-128 characters of `A-Z a-z 0-9 . _ : -`), echoed in the `X-Request-Id` response header and in logs; anything else is replaced by a new UUID.',
});

export const RESPONSE_HEADERS = {
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .meta({
      description:
        'The id of this request: the incoming `X-Request-Id` when it is 1-128 characters of `A-Z a-z 0-9 . _ : -`, otherwise a new UUID. Also `requestId` in error bodies and in every server log line.',
    }),
  retryAfter: z.int().min(1).meta({ description: 'Seconds to wait before retrying.' }),
  rateLimit: z.string().min(1).meta({
    description:
      'IETF RateLimit header (draft 8): per limit, the remaining quota `r` and seconds until reset `t`, e.g. `"ip-request-otp"; r=0; t=1800`. Several limits are comma-separated.',
  }),
  rateLimitPolicy: z.string().min(1).meta({
    description:
      'IETF RateLimit-Policy header (draft 8): per limit, the quota `q` per window `w` seconds, e.g. `"ip-request-otp"; q=20; w=3600`.',
  }),
  allow: z.string().min(1).meta({ description: 'The methods this path accepts, e.g. `POST`.' }),
} as const;

/** The per-IP limiter reports its quota on every answer of a limited route, not only on 429. */
export const rateLimitInfoHeaders = {
  RateLimit: z.string().min(1).optional().meta({
    description: 'The per-IP limit of this route: remaining requests (`r`) and seconds until the window resets (`t`).',
  }),
  'RateLimit-Policy': z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The per-IP limit of this route: quota (`q`) per window (`w`, seconds).' }),
};
