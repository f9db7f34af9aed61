/**
 * The OpenAPI 3.1 description of every public route, built from the code's own sources of truth:
 * request bodies from the zod schemas the routes validate with, error codes and statuses from
 * ERROR_CATALOGUE. Only the prose, the response data shapes and the list of codes each route can
 * produce are written here; tests/integration/openapi.test.ts checks them against the running app.
 */
import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../utils/app-error';
import { idempotencyKeyHeader, requestOtpBody, verifyOtpBody } from '../validations/otp.validation';
import {
  verificationRequestEvent,
  verificationResultEvent,
  verificationSmsDeliveredEvent,
} from '../validations/sinch-events.validation';

export type JsonSchema = { [keyword: string]: unknown };

export interface Reference {
  $ref: string;
}

export interface ExampleObject {
  summary?: string;
  description?: string;
  value: unknown;
}

export interface MediaTypeObject {
  schema?: JsonSchema;
  examples?: Record<string, ExampleObject>;
}

export interface HeaderObject {
  description?: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Reference>;
  content?: Record<string, MediaTypeObject>;
}

export interface ParameterObject {
  name: string;
  in: 'header' | 'query' | 'path';
  description: string;
  required?: boolean;
  schema: JsonSchema;
  examples?: Record<string, ExampleObject>;
}

export interface RequestBodyObject {
  description?: string;
  required: boolean;
  content: Record<string, MediaTypeObject>;
}

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  parameters?: Array<ParameterObject | Reference>;
  requestBody?: RequestBodyObject;
  responses: Record<string, ResponseObject | Reference>;
  security?: Array<Record<string, string[]>>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type PathItemObject = { summary?: string; description?: string } & Partial<Record<HttpMethod, OperationObject>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string; description: string }>;
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, PathItemObject>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, ResponseObject>;
    headers: Record<string, HeaderObject>;
    parameters: Record<string, ParameterObject>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

export interface OpenApiOptions {
  /**
   * Whether the instance runs the built-in Sinch emulator. `false` leaves out the routes that only
   * exist in emulator mode; `undefined` (the default) documents them, marked as emulator-only.
   */
  emulatorMode?: boolean;
}

/** OpenAPI 3.1's default dialect: JSON Schema 2020-12 plus the OAS vocabulary. Swagger UI supports only this one. */
const OAS_DIALECT = 'https://spec.openapis.org/oas/3.1/dialect/base';
const JSON_MEDIA = 'application/json';
const EXAMPLE_REQUEST_ID = '3f1c2a9e-8d7b-4c55-9b7e-2a6f1d0c4e88';
const EXAMPLE_PHONE = '+46701234567';
const EXAMPLE_VERIFICATION_ID = '0b5c2b9e-7c1d-4a8e-9f3a-5d2e6c7b8a91';

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: string): Reference => ({ $ref: `#/components/headers/${name}` });

/**
 * A zod request schema as a JSON Schema 2020-12 object, with a description per property. Throws when
 * a description names a field the schema does not have (or misses one), so prose cannot drift from code.
 */
function requestSchema(schema: z.ZodType, descriptions: Record<string, string>, examples: unknown[]): JsonSchema {
  const json = fromZod(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const undocumented = Object.keys(properties).filter((name) => !(name in descriptions));
  const unknown = Object.keys(descriptions).filter((name) => !(name in properties));
  if (undocumented.length || unknown.length) {
    throw new Error(
      `OpenAPI request schema out of sync with its zod schema: undocumented ${undocumented.join(', ') || '-'}; unknown ${unknown.join(', ') || '-'}`,
    );
  }
  for (const [name, property] of Object.entries(properties)) property.description = descriptions[name];
  return { ...json, examples };
}

/** A zod schema as JSON Schema 2020-12, without the `$schema` keyword (the document declares the dialect). */
function fromZod(schema: z.ZodType, extra: JsonSchema = {}): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
  delete json.$schema;
  return { ...json, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Error codes: when each happens, what a frontend should do, and a realistic example.
// ---------------------------------------------------------------------------------------------

interface CodeDoc {
  /** When it happens and what to do about it, for someone wiring up a frontend. */
  when: string;
  message: string;
  details?: unknown[];
}

/** Every catalogue code has an entry (the Record type enforces it). Messages are the real ones the code sends. */
const CODE_DOCS: Record<ErrorCode, CodeDoc> = {
  INVALID_JSON: {
    when: 'The body is not valid JSON (a syntax error or a truncated body). A client bug: check that the body is `JSON.stringify`-ed.',
    message: ERROR_CATALOGUE.INVALID_JSON.message,
  },
  VALIDATION_ERROR: {
    when: 'A field is missing, has the wrong type or format, or is not allowed (unknown fields are refused). `details` has one `{field, message}` per problem; show each message next to its field.',
    message: ERROR_CATALOGUE.VALIDATION_ERROR.message,
    details: [
      { field: 'phoneNumber', message: 'phoneNumber is required' },
      { field: 'phone', message: 'phone is not a recognised field' },
    ],
  },
  INVALID_PHONE_NUMBER: {
    when: 'The text cannot be a real phone number. `details[0].reason` is `invalid_characters`, `missing_country_code` (no leading `+` and no DEFAULT_COUNTRY on the server), `impossible_number` (wrong length), `invalid_number`, or `rejected_by_provider`. Show `message` next to the phone field.',
    message: 'The phone number must start with + and the country code, e.g. +46701234567.',
    details: [{ field: 'phoneNumber', reason: 'missing_country_code' }],
  },
  INVALID_CODE: {
    when: 'The code is wrong. `details[0].attemptsRemaining` is how many more tries this code allows; at 0, offer "send a new code".',
    message: 'The code is not correct. 4 attempts left.',
    details: [{ field: 'code', attemptsRemaining: 4 }],
  },
  UNAUTHORIZED: {
    when: 'Authentication is missing or wrong.',
    message: 'The callback is not signed by Sinch for this application.',
  },
  INVALID_TOKEN: {
    when: 'POST /api/verifications/redeem: the verification token has a bad signature, is expired, was issued by another key or issuer, or names a verification that no longer exists. `details[0].reason` is `signature`, `expired`, `malformed`, `claims`, `claim_<name>` (iss, aud, ...) or `verification_not_found`. Do not trust the phone number it claims.',
    message: ERROR_CATALOGUE.INVALID_TOKEN.message,
    details: [{ field: 'token', reason: 'expired' }],
  },
  NOT_FOUND: {
    when: 'No route has this path. Check the URL (and the `/api` prefix).',
    message: 'No route for GET /api/request-otpp. See /api/docs for the routes this service offers.',
  },
  VERIFICATION_NOT_FOUND: {
    when: "No verification matches this `verificationId` (and number, when given): never issued, another number's, or purged; the answer is identical in each case. With the right id: replaced by a newer code (`details[0].reason: superseded`). Ask the user to request a new code, or to use the latest one.",
    message: 'There is no pending verification for this phone number. Request a new code.',
  },
  METHOD_NOT_ALLOWED: {
    when: 'The path exists but not with this HTTP method; the `Allow` header lists the methods it takes.',
    message: 'GET is not allowed here; use POST.',
  },
  ALREADY_VERIFIED: {
    when: 'This verification already succeeded (typically a double submit). Treat it as success in the UI, or request a new code to verify again.',
    message: 'This code has already been used to verify the number. Request a new code to verify again.',
  },
  TOKEN_ALREADY_REDEEMED: {
    when: 'POST /api/verifications/redeem: this token was redeemed before (single use). A second use of one proof, e.g. a replayed request: refuse the action.',
    message: ERROR_CATALOGUE.TOKEN_ALREADY_REDEEMED.message,
  },
  IDEMPOTENCY_REQUEST_IN_PROGRESS: {
    when: 'A request with the same `Idempotency-Key` is still running (a double click). Retry after `Retry-After` seconds with the same key and body to get its result.',
    message: ERROR_CATALOGUE.IDEMPOTENCY_REQUEST_IN_PROGRESS.message,
  },
  VERIFICATION_EXPIRED: {
    when: 'The code is past `expiresAt`, or the SMS provider ended the verification (`details[0].reason: ended_by_provider`). Ask the user to request a new code.',
    message: ERROR_CATALOGUE.VERIFICATION_EXPIRED.message,
  },
  VERIFICATION_CANCELLED: {
    when: "The integrator's backend cancelled this verification (POST /api/verifications/{id}/cancel); even the right code is refused. Ask the user to request a new code.",
    message: ERROR_CATALOGUE.VERIFICATION_CANCELLED.message,
  },
  PAYLOAD_TOO_LARGE: {
    when: 'The body is over 10 kB. Real requests are a few dozen bytes: a client bug.',
    message: ERROR_CATALOGUE.PAYLOAD_TOO_LARGE.message,
  },
  UNSUPPORTED_MEDIA_TYPE: {
    when: 'The body is not sent as `Content-Type: application/json` (or uses a charset or Content-Encoding the server does not read). With `fetch`, set the header explicitly.',
    message: ERROR_CATALOGUE.UNSUPPORTED_MEDIA_TYPE.message,
  },
  PHONE_NUMBER_NOT_ALLOWED: {
    when: 'A valid number this service will not text. `details[0].reason` is `country_not_allowed`, `number_type_not_allowed` (with `numberType`, e.g. `PREMIUM_RATE`, `VOIP`, `FIXED_LINE`), `prefix_blocked`, `blocked_by_provider` or `no_route`. Ask for a mobile number from a supported country.',
    message: 'Codes can only be sent to mobile phone numbers.',
    details: [{ field: 'phoneNumber', reason: 'number_type_not_allowed', numberType: 'FIXED_LINE' }],
  },
  IDEMPOTENCY_KEY_REUSED: {
    when: 'This `Idempotency-Key` was used in the last 10 minutes for a different phone number. Use a new key for each distinct user action.',
    message: ERROR_CATALOGUE.IDEMPOTENCY_KEY_REUSED.message,
    details: [{ field: 'Idempotency-Key', reason: 'different_request' }],
  },
  TOO_MANY_ATTEMPTS: {
    when: 'Too many wrong codes. `details[0].reason` says which limit: `verification_attempts_exhausted` (this code is used up, even the right code is refused now: request a new code) or `failure_budget_exhausted` (too many wrong codes for this number in the last hour, across new codes too: wait `Retry-After` seconds).',
    message: 'Too many wrong codes for this verification (5 allowed). Request a new code.',
    details: [{ reason: 'verification_attempts_exhausted', maxAttempts: 5, attemptsRemaining: 0 }],
  },
  RATE_LIMITED: {
    when: 'Too many requests; wait `Retry-After` seconds.',
    message: 'A code was just sent to this number. You can request a new one in 27 s.',
    details: [{ limit: 'number_cooldown', retryAfterSeconds: 27, quota: 1, windowSeconds: 30 }],
  },
  INTERNAL_ERROR: {
    when: 'A bug on the server. The message is always generic; quote `requestId` (also in the `X-Request-Id` header) when reporting it.',
    message: ERROR_CATALOGUE.INTERNAL_ERROR.message,
  },
  SMS_PROVIDER_ERROR: {
    when: 'The SMS provider refused the request or answered something unreadable, usually a server misconfiguration. Retrying rarely helps: show a generic error and quote `requestId`.',
    message: ERROR_CATALOGUE.SMS_PROVIDER_ERROR.message,
  },
  SMS_PROVIDER_UNAVAILABLE: {
    when: 'The SMS provider is down, too slow, or paused by the circuit breaker after repeated failures. Retry after `Retry-After` seconds.',
    message: 'The SMS provider did not answer in time. Try again shortly.',
  },
  SEND_CAPACITY_EXCEEDED: {
    when: 'The service-wide ceiling on codes sent per minute (protection against SMS pumping) is reached. Retry after `Retry-After` seconds.',
    message: ERROR_CATALOGUE.SEND_CAPACITY_EXCEEDED.message,
    details: [{ limit: 'global_minute', retryAfterSeconds: 42, quota: 100, windowSeconds: 60 }],
  },
  SERVICE_UNAVAILABLE: {
    when: 'The database is not answering. Retry after `Retry-After` seconds.',
    message: ERROR_CATALOGUE.SERVICE_UNAVAILABLE.message,
  },
  REQUEST_TIMEOUT: {
    when: 'The server gave up on the request after REQUEST_TIMEOUT_MS (a stuck dependency). Retry after `Retry-After` seconds; for request-otp, reuse the same `Idempotency-Key` so no second SMS is sent.',
    message: ERROR_CATALOGUE.REQUEST_TIMEOUT.message,
  },
};

/** The codes an operation can produce, with per-route wording where the generic text is not precise enough. */
type RouteErrors = Array<ErrorCode | [ErrorCode, string]>;

function exampleEnvelope(code: ErrorCode, doc: CodeDoc): unknown {
  return {
    status: 'error',
    code,
    message: doc.message,
    requestId: EXAMPLE_REQUEST_ID,
    ...(doc.details ? { details: doc.details } : {}),
  };
}

/** Codes whose answer always says when to retry: every 429 and 503, and the idempotency wait. */
function hasRetryAfter(code: ErrorCode): boolean {
  const { status } = ERROR_CATALOGUE[code];
  return status === 429 || status === 503 || code === 'IDEMPOTENCY_REQUEST_IN_PROGRESS';
}

/** The headers of the error responses of one status: required when every code at that status sends them. */
function errorHeaders(status: number, codes: ErrorCode[]): Record<string, HeaderObject | Reference> {
  const headers: Record<string, HeaderObject | Reference> = { 'X-Request-Id': headerRef('XRequestId') };
  const retrying = codes.filter(hasRetryAfter);
  if (retrying.length === codes.length) headers['Retry-After'] = headerRef('RetryAfter');
  else if (retrying.length > 0)
    headers['Retry-After'] = {
      description: `Seconds to wait before retrying; sent with ${retrying.join(', ')}.`,
      required: false,
      schema: { type: 'integer', minimum: 1 },
    };
  // The per-IP limiter runs first on every route that can answer 429, so its fields are always there.
  if (status === 429) {
    headers.RateLimit = headerRef('RateLimit');
    headers['RateLimit-Policy'] = headerRef('RateLimitPolicy');
  }
  return headers;
}

/**
 * The error responses of one operation, grouped by the catalogue's HTTP status: an `enum` of the
 * codes possible at each status, one example per code, and the headers the status carries.
 */
function errorResponses(errors: RouteErrors): Record<string, ResponseObject> {
  const byStatus = new Map<number, Array<{ code: ErrorCode; doc: CodeDoc }>>();
  for (const entry of errors) {
    const [code, when] = Array.isArray(entry) ? entry : [entry, undefined];
    const doc = { ...CODE_DOCS[code], ...(when ? { when } : {}) };
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), { code, doc }]);
  }
  const responses: Record<string, ResponseObject> = {};
  for (const [status, entries] of [...byStatus.entries()].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: entries.map(({ code, doc }) => `**${code}**: ${doc.when}`).join('\n\n'),
      headers: errorHeaders(
        status,
        entries.map((e) => e.code),
      ),
      content: {
        [JSON_MEDIA]: {
          schema: {
            ...schemaRef('ErrorEnvelope'),
            type: 'object',
            properties: { code: { enum: entries.map((e) => e.code) } },
          },
          examples: Object.fromEntries(
            entries.map(({ code, doc }) => [code, { summary: code, value: exampleEnvelope(code, doc) }]),
          ),
        },
      },
    };
  }
  return responses;
}

function success(
  description: string,
  dataSchema: string,
  message: string,
  data: unknown,
  headers: Record<string, HeaderObject | Reference> = {},
): ResponseObject {
  return {
    description,
    headers: { 'X-Request-Id': headerRef('XRequestId'), ...headers },
    content: {
      [JSON_MEDIA]: {
        schema: { ...schemaRef('SuccessEnvelope'), type: 'object', properties: { data: schemaRef(dataSchema) } },
        examples: { success: { summary: 'Success', value: { status: 'success', message, data } } },
      },
    },
  };
}

/** The per-IP limiter reports its quota on every answer of a limited route, not only on 429. */
const RATE_LIMIT_INFO_HEADERS: Record<string, HeaderObject> = {
  RateLimit: {
    description: 'The per-IP limit of this route: remaining requests (`r`) and seconds until the window resets (`t`).',
    required: false,
    schema: { type: 'string', minLength: 1 },
  },
  'RateLimit-Policy': {
    description: 'The per-IP limit of this route: quota (`q`) per window (`w`, seconds).',
    required: false,
    schema: { type: 'string', minLength: 1 },
  },
};

const requestIdParameter: Reference = { $ref: '#/components/parameters/XRequestId' };

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

const REQUEST_OTP_ERRORS: RouteErrors = [
  'INVALID_JSON',
  'VALIDATION_ERROR',
  'INVALID_PHONE_NUMBER',
  'IDEMPOTENCY_REQUEST_IN_PROGRESS',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'PHONE_NUMBER_NOT_ALLOWED',
  'IDEMPOTENCY_KEY_REUSED',
  [
    'RATE_LIMITED',
    'Too many codes requested; wait `Retry-After` seconds (keep the resend button disabled until then). `details[0].limit` says which limit: `number_cooldown` (a code was just sent to this number), `number_hour` / `number_day` (sends per number), `ip-request-otp` (requests from this network); no `details` when the SMS provider itself refused for load.',
  ],
  'INTERNAL_ERROR',
  'SMS_PROVIDER_ERROR',
  'SMS_PROVIDER_UNAVAILABLE',
  'SEND_CAPACITY_EXCEEDED',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
];

const VERIFY_OTP_ERRORS: RouteErrors = [
  'INVALID_JSON',
  'VALIDATION_ERROR',
  'INVALID_PHONE_NUMBER',
  'INVALID_CODE',
  'VERIFICATION_NOT_FOUND',
  'ALREADY_VERIFIED',
  'VERIFICATION_EXPIRED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'TOO_MANY_ATTEMPTS',
  [
    'RATE_LIMITED',
    'Too many verify calls from this network (`details[0].limit: ip-verify-otp`), or the SMS provider refused for load (no `details`). Wait `Retry-After` seconds.',
  ],
  'INTERNAL_ERROR',
  'SMS_PROVIDER_ERROR',
  'SMS_PROVIDER_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
];

const SINCH_EVENTS_ERRORS: RouteErrors = [
  ['INVALID_JSON', 'The (correctly signed) body is not JSON.'],
  ['VALIDATION_ERROR', 'A known event lacks a required field, e.g. `id` or `identity.endpoint`.'],
  [
    'UNAUTHORIZED',
    'The signature is missing, malformed, for another application key, wrong, or its `x-timestamp` is too far from the server clock (SINCH_CALLBACK_MAX_SKEW_SECONDS). The answer is the same whichever check failed (the server log names it). Nothing is changed.',
  ],
  'PAYLOAD_TOO_LARGE',
  ['UNSUPPORTED_MEDIA_TYPE', 'The body uses a Content-Encoding the server does not read.'],
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
];

const INTERNAL_ONLY: RouteErrors = ['INTERNAL_ERROR'];

function requestOtpOperation(): OperationObject {
  return {
    operationId: 'requestOtp',
    tags: ['Verification'],
    summary: 'Send a one-time code by SMS',
    description: [
      'Sends a code to `phoneNumber` and starts a verification. Next step: `POST /api/verify-otp` with `data.verificationId` and the code the user typed.',
      '',
      '- The number may contain spaces, dashes, dots and parentheses; it is normalised to E.164 and returned in `data.phoneNumber`. Without a leading `+` it is accepted only when the server sets `DEFAULT_COUNTRY`.',
      '- The code works until `data.expiresAt` (at most 10 minutes). Requesting again replaces the previous code, which then stops working.',
      '- Enable the "resend" button at `data.resendAvailableAt`; an earlier request gets 429 `RATE_LIMITED` with `Retry-After`.',
      '- The answer is the same whether or not the number has an account or was verified before.',
      '- Send an `Idempotency-Key` so a retry after a network error cannot send a second SMS.',
    ].join('\n'),
    parameters: [
      requestIdParameter,
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Optional: 1-255 printable ASCII characters without spaces; a fresh UUID per user action works well (anything else is a 400 `VALIDATION_ERROR` on field `Idempotency-Key`). For IDEMPOTENCY_TTL_SECONDS (default 10 minutes), a repeat with the same key for the same phone number gets the first response again, marked `Idempotent-Replayed: true`, and sends no second SMS; the same key with a different phone number gets 422 `IDEMPOTENCY_KEY_REUSED`; while the first request is still running, 409 `IDEMPOTENCY_REQUEST_IN_PROGRESS`. A request that failed frees its key, so retry with the same key.',
        schema: fromZod(idempotencyKeyHeader),
        examples: { uuid: { value: '5b0c9c1e-2f4a-4d0e-8a51-6f1c3e2d9b77' } },
      },
    ],
    requestBody: {
      required: true,
      description: 'Send as `Content-Type: application/json`, at most 10 kB.',
      content: {
        [JSON_MEDIA]: {
          schema: schemaRef('RequestOtpRequest'),
          examples: {
            e164: { summary: 'International format', value: { phoneNumber: EXAMPLE_PHONE } },
            typed: { summary: 'As a person types it', value: { phoneNumber: '+46 (70) 123-45 67', method: 'sms' } },
          },
        },
      },
    },
    responses: {
      '200': success(
        'The code was sent. Show the code input and start the resend countdown from `resendAvailableAt`.',
        'RequestOtpData',
        'Verification code sent.',
        {
          verificationId: EXAMPLE_VERIFICATION_ID,
          phoneNumber: EXAMPLE_PHONE,
          method: 'sms',
          expiresAt: '2026-11-25T18:10:00.000Z',
          resendAvailableAt: '2026-11-25T18:00:30.000Z',
        },
        {
          ...RATE_LIMIT_INFO_HEADERS,
          'Idempotent-Replayed': {
            description:
              '`true` when this is the stored first response to a repeated `Idempotency-Key` (no new SMS was sent); absent otherwise.',
            required: false,
            schema: { const: 'true' },
          },
        },
      ),
      ...errorResponses(REQUEST_OTP_ERRORS),
    },
  };
}

function verifyOtpOperation(): OperationObject {
  return {
    operationId: 'verifyOtp',
    tags: ['Verification'],
    summary: 'Check the code the user typed',
    description: [
      'Checks `code` for the verification `verificationId` (returned by request-otp only to whoever asked for the code). On success the number is verified.',
      '',
      "- `verificationId` is required; `phoneNumber` is optional and, when given, must match. Without a matching id every answer is the same 404 `VERIFICATION_NOT_FOUND`, whatever the state of the number. (A server started with VERIFY_BY_PHONE_NUMBER=true also accepts `{phoneNumber, code}` and checks the number's latest code.)",
      '- The code is trimmed and must be 4-10 letters or digits; anything else is a 400 `VALIDATION_ERROR`, which does not use up an attempt.',
      '- Each code allows OTP_MAX_ATTEMPTS (default 5) wrong tries: read `details[0].attemptsRemaining` on 400 `INVALID_CODE`. After that every try, even the right code, gets 429 `TOO_MANY_ATTEMPTS`: ask for a new code.',
      '- Wrong codes also count per phone number across new codes (OTP_MAX_FAILURES_PER_NUMBER_HOUR, default 10 per hour); over that, 429 `TOO_MANY_ATTEMPTS` until `Retry-After`.',
    ].join('\n'),
    parameters: [requestIdParameter],
    requestBody: {
      required: true,
      description: 'Send as `Content-Type: application/json`, at most 10 kB.',
      content: {
        [JSON_MEDIA]: {
          schema: schemaRef('VerifyOtpRequest'),
          examples: {
            withId: {
              summary: 'The verificationId from request-otp and the code',
              value: { verificationId: EXAMPLE_VERIFICATION_ID, code: '4821' },
            },
            withNumber: {
              summary: 'Also the number, which must match',
              value: { verificationId: EXAMPLE_VERIFICATION_ID, phoneNumber: EXAMPLE_PHONE, code: '4821' },
            },
          },
        },
      },
    },
    responses: {
      '200': success(
        'The code was right: the number is verified.',
        'VerifyOtpData',
        'Phone number verified.',
        {
          verificationId: EXAMPLE_VERIFICATION_ID,
          phoneNumber: EXAMPLE_PHONE,
          verified: true,
          verifiedAt: '2026-11-25T18:01:12.000Z',
        },
        RATE_LIMIT_INFO_HEADERS,
      ),
      ...errorResponses(VERIFY_OTP_ERRORS),
    },
  };
}

function healthOperation(): OperationObject {
  const health = (status: 'UP' | 'DEGRADED' | 'DOWN', checks: Record<string, string>, details?: unknown) => ({
    status,
    timestamp: '2026-11-25T18:00:00.000Z',
    uptimeSeconds: 3600,
    checks,
    ...(details ? { details } : {}),
  });
  return {
    operationId: 'health',
    tags: ['Health'],
    summary: 'Readiness: can this instance serve requests?',
    description:
      "Route traffic on this. 200 when the database answers within 2 s: `status` is `UP`, or `DEGRADED` when an optional dependency is not (the Sinch circuit breaker is open or probing, or Redis is away and per-IP limits are counted per instance). 503 with `status: DOWN` when a critical dependency (the database) fails. `checks` gives each dependency's state; `details` the particulars some of them report.",
    parameters: [requestIdParameter],
    responses: {
      '200': {
        description: 'Ready (`UP`), possibly with an optional dependency failing (`DEGRADED`).',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: {
          [JSON_MEDIA]: {
            schema: { ...schemaRef('Health'), type: 'object', properties: { status: { enum: ['UP', 'DEGRADED'] } } },
            examples: {
              up: { summary: 'All up', value: health('UP', { database: 'UP', sinch: 'UP' }) },
              degraded: {
                summary: 'Sinch circuit open',
                value: health(
                  'DEGRADED',
                  { database: 'UP', sinch: 'DOWN' },
                  { sinch: { circuit: 'open', retryAt: '2026-11-25T18:00:30.000Z' } },
                ),
              },
            },
          },
        },
      },
      '503': {
        description:
          'Not ready: a critical check is DOWN (note: this body is the health object, not the error envelope).',
        headers: { 'X-Request-Id': headerRef('XRequestId'), 'Retry-After': headerRef('RetryAfter') },
        content: {
          [JSON_MEDIA]: {
            schema: { ...schemaRef('Health'), type: 'object', properties: { status: { const: 'DOWN' } } },
            examples: { down: { value: health('DOWN', { database: 'DOWN', sinch: 'UP' }) } },
          },
        },
      },
      ...errorResponses(INTERNAL_ONLY),
    },
  };
}

function livenessOperation(): OperationObject {
  return {
    operationId: 'liveness',
    tags: ['Health'],
    summary: 'Liveness: is the process running?',
    description:
      'Always 200 while the process runs; checks nothing else. Use it to decide restarts, not routing (that is `/health`).',
    parameters: [requestIdParameter],
    responses: {
      '200': {
        description: 'The process runs.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: {
          [JSON_MEDIA]: {
            schema: schemaRef('Liveness'),
            examples: { up: { value: { status: 'UP', timestamp: '2026-11-25T18:00:00.000Z' } } },
          },
        },
      },
      ...errorResponses(INTERNAL_ONLY),
    },
  };
}

function htmlPage(
  operationId: string,
  tag: string,
  summary: string,
  description: string,
  errors: RouteErrors = INTERNAL_ONLY,
): OperationObject {
  return {
    operationId,
    tags: [tag],
    summary,
    description,
    parameters: [requestIdParameter],
    responses: {
      '200': {
        description: 'An HTML page.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: { 'text/html': { schema: { type: 'string' } } },
      },
      ...errorResponses(errors),
    },
  };
}

function openApiJsonOperation(): OperationObject {
  return {
    operationId: 'openApiDocument',
    tags: ['Documentation'],
    summary: 'This document (OpenAPI 3.1, JSON)',
    description:
      'The machine-readable contract: generate clients or validate responses from it. Its schemas use the JSON Schema 2020-12 dialect.',
    parameters: [requestIdParameter],
    responses: {
      '200': {
        description: 'The OpenAPI document.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: { [JSON_MEDIA]: { schema: schemaRef('OpenApiDocument') } },
      },
      ...errorResponses(INTERNAL_ONLY),
    },
  };
}

function emulatorInboxOperation(emulatorMode: boolean | undefined): OperationObject {
  return {
    operationId: 'emulatorInbox',
    tags: ['Emulator'],
    summary: 'The emulated SMS inbox of one number (emulator mode only)',
    description: [
      emulatorMode
        ? '**This instance runs the built-in Sinch emulator: no real SMS is sent.**'
        : '**Exists only in emulator mode**, i.e. when the service runs without Sinch credentials and starts its built-in Sinch emulator; otherwise this path answers 404 `NOT_FOUND`.',
      '',
      'The messages the emulator "sent" to `phoneNumber`, newest first, at most 10, so a person can finish the flow without a phone (the demo page shows them). Never available with a real Sinch account. Answers carry `Cache-Control: no-store`: they hold codes.',
    ].join('\n'),
    parameters: [
      requestIdParameter,
      {
        name: 'phoneNumber',
        in: 'query',
        required: true,
        description:
          'The number, formatted as for request-otp. URL-encode the `+` as `%2B` (an unencoded `+` that arrives as a leading space is tolerated).',
        schema: { type: 'string' },
        examples: { e164: { value: EXAMPLE_PHONE } },
      },
    ],
    responses: {
      '200': success(
        'The emulated inbox of the number.',
        'EmulatorInbox',
        'Messages the emulator sent to this number (emulated: no real SMS was sent).',
        {
          messages: [
            {
              to: EXAMPLE_PHONE,
              code: '4821',
              sentAt: '2026-11-25T18:00:00.000Z',
              delivered: true,
              method: 'sms',
              locale: 'sv-SE',
            },
          ],
        },
      ),
      ...errorResponses([
        ['VALIDATION_ERROR', 'The `phoneNumber` query parameter is missing or given twice.'],
        'INVALID_PHONE_NUMBER',
        'INTERNAL_ERROR',
      ]),
    },
  };
}

function sinchEventsOperation(): OperationObject {
  return {
    operationId: 'sinchEvents',
    tags: ['Sinch callbacks'],
    summary: 'Callbacks from Sinch (not for frontends)',
    description: [
      "Configure this URL as the callback URL of the Sinch Verification application. Every call must carry Sinch's application signature over the raw body and this path (`Authorization: Application {key}:{signature}` plus `x-timestamp`); anything else gets 401 `UNAUTHORIZED` and changes nothing.",
      '',
      '- `VerificationRequestEvent`: answered with `{"action":"allow"}`, or `{"action":"deny"}` for numbers this service\'s policy refuses (non-SMS methods, invalid numbers, blocked countries, prefixes or number types).',
      '- `VerificationResultEvent`: the final result is applied to the verification (and the user on success); answered with `{}`.',
      '- `VerificationSmsDeliveredEvent`: the delivery outcome is recorded; answered with `{}`.',
      '- Any other `event` name is acknowledged with `{}` and ignored, so a new Sinch event type never causes retries.',
      '',
      'A result or delivery report already processed (a replayed request, or Sinch retrying with a new timestamp) is answered `{}` again and changes nothing; every instance shares that memory (see docs/callbacks-and-retention.md).',
      '',
      "Answers use Sinch's callback format, not this API's success envelope; errors use the error envelope.",
    ].join('\n'),
    security: [{ sinchApplicationSignature: [] }],
    parameters: [
      requestIdParameter,
      {
        name: 'x-timestamp',
        in: 'header',
        required: true,
        description:
          'ISO 8601 time the request was signed; part of the signature and checked against the server clock.',
        schema: { type: 'string' },
        examples: { now: { value: '2026-11-25T18:00:00.123Z' } },
      },
    ],
    requestBody: {
      required: true,
      description:
        'A Sinch verification event, signed byte for byte (at most 10 kB). Sinch sends `Content-Type: application/json; charset=utf-8`.',
      content: {
        [JSON_MEDIA]: {
          schema: {
            oneOf: [
              schemaRef('SinchVerificationRequestEvent'),
              schemaRef('SinchVerificationResultEvent'),
              schemaRef('SinchVerificationSmsDeliveredEvent'),
            ],
          },
          examples: {
            request: {
              summary: 'VerificationRequestEvent',
              value: {
                id: '1234567890',
                event: 'VerificationRequestEvent',
                method: 'sms',
                identity: { type: 'number', endpoint: EXAMPLE_PHONE },
                reference: EXAMPLE_VERIFICATION_ID,
              },
            },
            result: {
              summary: 'VerificationResultEvent',
              value: {
                id: '1234567890',
                event: 'VerificationResultEvent',
                method: 'sms',
                identity: { type: 'number', endpoint: EXAMPLE_PHONE },
                status: 'SUCCESSFUL',
                reference: EXAMPLE_VERIFICATION_ID,
                source: 'manual',
              },
            },
            delivered: {
              summary: 'VerificationSmsDeliveredEvent',
              value: {
                id: '1234567890',
                event: 'VerificationSmsDeliveredEvent',
                method: 'sms',
                identity: { type: 'number', endpoint: EXAMPLE_PHONE },
                smsResult: 'Successful',
                reference: EXAMPLE_VERIFICATION_ID,
              },
            },
          },
        },
      },
    },
    responses: {
      '200': {
        description:
          'Accepted. For a VerificationRequestEvent the body is the decision; for other events it is an empty acknowledgement `{}`.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: {
          [JSON_MEDIA]: {
            schema: schemaRef('SinchCallbackAnswer'),
            examples: {
              allow: { summary: 'VerificationRequestEvent, number allowed', value: { action: 'allow' } },
              deny: { summary: 'VerificationRequestEvent, number refused by policy', value: { action: 'deny' } },
              ack: { summary: 'Any other event', value: {} },
            },
          },
        },
      },
      ...errorResponses(SINCH_EVENTS_ERRORS),
    },
  };
}

function metricsOperation(): OperationObject {
  const operation: OperationObject = {
    operationId: 'metrics',
    tags: ['Operations'],
    summary: 'Prometheus metrics',
    description:
      'Metrics in the Prometheus text exposition format. When the server sets METRICS_TOKEN, send `Authorization: Bearer <METRICS_TOKEN>`; without METRICS_TOKEN the route is open, so expose it only on an internal network.',
    security: [{}, { metricsBearer: [] }],
    parameters: [requestIdParameter],
    responses: {
      '200': {
        description: 'The metrics.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: {
          'text/plain': {
            schema: { type: 'string' },
            examples: {
              sample: {
                value:
                  '# HELP otp_requests_total Codes requested.\n# TYPE otp_requests_total counter\notp_requests_total 42\n',
              },
            },
          },
        },
      },
      ...errorResponses([
        ['UNAUTHORIZED', 'METRICS_TOKEN is set and the `Authorization: Bearer` token is missing or wrong.'],
        'INTERNAL_ERROR',
      ]),
    },
  };
  const unauthorized = operation.responses['401'] as ResponseObject;
  unauthorized.headers = {
    ...unauthorized.headers,
    'WWW-Authenticate': { description: 'The scheme to use: `Bearer`.', required: true, schema: { const: 'Bearer' } },
  };
  return operation;
}

// ---------------------------------------------------------------------------------------------
// Components
// ---------------------------------------------------------------------------------------------

const E164 = {
  type: 'string',
  pattern: '^\\+[1-9][0-9]{6,14}$',
  description: 'E.164: `+`, country code, number; no spaces.',
  examples: [EXAMPLE_PHONE],
};
const DATE_TIME = { type: 'string', format: 'date-time' };

/** The shape of `details` for each code that has them; codes not listed send no `details`. */
function detailRules(): JsonSchema[] {
  const items = (code: ErrorCode, schema: string, required: boolean): JsonSchema => ({
    if: { type: 'object', properties: { code: { const: code } }, required: ['code'] },
    then: {
      type: 'object',
      ...(required ? { required: ['details'] } : {}),
      properties: { details: { type: 'array', items: schemaRef(schema) } },
    },
  });
  const withDetails = new Set<ErrorCode>([
    'VALIDATION_ERROR',
    'INVALID_PHONE_NUMBER',
    'INVALID_CODE',
    'PHONE_NUMBER_NOT_ALLOWED',
    'RATE_LIMITED',
    'SEND_CAPACITY_EXCEEDED',
    'TOO_MANY_ATTEMPTS',
    'VERIFICATION_NOT_FOUND',
    'VERIFICATION_EXPIRED',
    'UNAUTHORIZED',
    'IDEMPOTENCY_KEY_REUSED',
  ]);
  const without = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((code) => !withDetails.has(code));
  return [
    items('VALIDATION_ERROR', 'FieldProblem', true),
    items('INVALID_PHONE_NUMBER', 'PhoneNumberProblem', true),
    items('PHONE_NUMBER_NOT_ALLOWED', 'PhoneNumberProblem', true),
    items('INVALID_CODE', 'InvalidCodeDetail', true),
    // The SMS provider's own 429 comes without details; our limits always say which one refused.
    items('RATE_LIMITED', 'LimitDetail', false),
    items('SEND_CAPACITY_EXCEEDED', 'LimitDetail', true),
    items('TOO_MANY_ATTEMPTS', 'AttemptsDetail', true),
    items('VERIFICATION_NOT_FOUND', 'ReasonDetail', false),
    items('VERIFICATION_EXPIRED', 'ReasonDetail', false),
    items('UNAUTHORIZED', 'ReasonDetail', false),
    items('IDEMPOTENCY_KEY_REUSED', 'ReasonDetail', true),
    {
      if: { type: 'object', properties: { code: { enum: without } }, required: ['code'] },
      then: { type: 'object', not: { type: 'object', required: ['details'] } },
    },
  ];
}

function errorCodeTable(): string {
  const rows = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).map(
    (code) => `| \`${code}\` | ${ERROR_CATALOGUE[code].status} | ${CODE_DOCS[code].when.replace(/\|/g, '\\|')} |`,
  );
  return ['| code | HTTP | meaning |', '|---|---|---|', ...rows].join('\n');
}

function schemas(): Record<string, JsonSchema> {
  return {
    ErrorCode: {
      type: 'string',
      enum: Object.keys(ERROR_CATALOGUE),
      description: `Stable machine-readable error code: switch on this, never on \`message\`.\n\n${errorCodeTable()}`,
    },
    ErrorEnvelope: {
      type: 'object',
      description:
        'Every error has this shape. `message` is a plain sentence safe to show to users (5xx messages are generic). `requestId` equals the `X-Request-Id` header; quote it in bug reports.',
      required: ['status', 'code', 'message', 'requestId'],
      additionalProperties: false,
      properties: {
        status: { const: 'error' },
        code: schemaRef('ErrorCode'),
        message: { type: 'string', minLength: 1 },
        requestId: { type: 'string', minLength: 1 },
        details: {
          type: 'array',
          minItems: 1,
          description:
            'Present only for some codes; which shape goes with which code is in `ErrorDetailsByCode` and the code table.',
          items: {
            anyOf: [
              'FieldProblem',
              'PhoneNumberProblem',
              'InvalidCodeDetail',
              'LimitDetail',
              'AttemptsDetail',
              'ReasonDetail',
            ].map(schemaRef),
          },
        },
      },
      allOf: [schemaRef('ErrorDetailsByCode')],
    },
    ErrorDetailsByCode: {
      type: 'object',
      description:
        'Which `details` shape goes with which `code`: VALIDATION_ERROR -> FieldProblem; INVALID_PHONE_NUMBER, PHONE_NUMBER_NOT_ALLOWED -> PhoneNumberProblem; INVALID_CODE -> InvalidCodeDetail; RATE_LIMITED (optional), SEND_CAPACITY_EXCEEDED -> LimitDetail; TOO_MANY_ATTEMPTS -> AttemptsDetail; IDEMPOTENCY_KEY_REUSED, and optionally VERIFICATION_NOT_FOUND, VERIFICATION_EXPIRED, UNAUTHORIZED -> ReasonDetail; every other code has no `details`.',
      allOf: detailRules(),
    },
    SuccessEnvelope: {
      type: 'object',
      description: 'Every success has this shape; `data` depends on the route.',
      required: ['status', 'message', 'data'],
      additionalProperties: false,
      properties: {
        status: { const: 'success' },
        message: { type: 'string', minLength: 1 },
        data: { type: 'object' },
      },
    },
    FieldProblem: {
      type: 'object',
      description:
        'One VALIDATION_ERROR problem. `field` is the JSON path of the field (`(body)` when the body itself is not an object).',
      required: ['field', 'message'],
      additionalProperties: false,
      properties: { field: { type: 'string' }, message: { type: 'string' } },
    },
    PhoneNumberProblem: {
      type: 'object',
      description: 'Why a phone number was refused (INVALID_PHONE_NUMBER or PHONE_NUMBER_NOT_ALLOWED).',
      required: ['field', 'reason'],
      additionalProperties: false,
      properties: {
        field: { const: 'phoneNumber' },
        reason: {
          enum: [
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
          ],
        },
        numberType: {
          type: 'string',
          description:
            'With `number_type_not_allowed`: the type of the number, e.g. `FIXED_LINE`, `VOIP`, `PREMIUM_RATE`.',
        },
      },
    },
    InvalidCodeDetail: {
      type: 'object',
      required: ['field', 'attemptsRemaining'],
      additionalProperties: false,
      properties: {
        field: { const: 'code' },
        attemptsRemaining: {
          type: 'integer',
          minimum: 0,
          description: 'Wrong tries this code still allows; 0 means request a new code.',
        },
      },
    },
    LimitDetail: {
      type: 'object',
      description: 'Which limit refused the request, and when it allows the next one.',
      required: ['limit', 'quota', 'windowSeconds'],
      additionalProperties: false,
      properties: {
        limit: {
          type: 'string',
          description:
            '`number_cooldown`, `number_hour`, `number_day`, `global_minute`, `ip-request-otp` or `ip-verify-otp`.',
        },
        retryAfterSeconds: { type: 'integer', minimum: 1 },
        quota: { type: 'integer', minimum: 0 },
        windowSeconds: { type: 'integer', minimum: 0 },
      },
    },
    AttemptsDetail: {
      oneOf: [
        {
          type: 'object',
          required: ['reason', 'maxAttempts', 'attemptsRemaining'],
          additionalProperties: false,
          properties: {
            reason: { const: 'verification_attempts_exhausted' },
            maxAttempts: { type: 'integer', minimum: 1 },
            attemptsRemaining: { const: 0 },
          },
        },
        {
          type: 'object',
          required: ['reason', 'retryAfterSeconds'],
          additionalProperties: false,
          properties: {
            reason: { const: 'failure_budget_exhausted' },
            retryAfterSeconds: { type: 'integer', minimum: 1 },
          },
        },
      ],
    },
    ReasonDetail: {
      type: 'object',
      required: ['reason'],
      additionalProperties: false,
      properties: {
        field: {
          type: 'string',
          description: 'The field or header concerned, when there is one (e.g. `Idempotency-Key`).',
        },
        reason: {
          type: 'string',
          description: 'e.g. `superseded`, `ended_by_provider`, `different_request`.',
        },
      },
    },
    RequestOtpRequest: requestSchema(
      requestOtpBody,
      {
        phoneNumber:
          'The number to text, ideally in international format (`+46701234567`); spaces, dashes, dots and parentheses are accepted. Trimmed.',
        method: 'Optional; `sms` is the only method.',
        purpose:
          'Optional: what the code is for, one of OTP_PURPOSES (default `signup`, `login`, `password_reset`, `phone_change`, `transaction`). Stored, echoed in `data.purpose` and put in the verification token, so a backend can refuse a proof made for another action.',
      },
      [{ phoneNumber: EXAMPLE_PHONE }],
    ),
    VerifyOtpRequest: requestSchema(
      verifyOtpBody,
      {
        phoneNumber:
          'Optional: the same number as in request-otp (any formatting); when given it must match the verification.',
        code: 'The code from the SMS: 4-10 letters or digits. Surrounding spaces are trimmed by the server, but send it clean: this schema describes the trimmed value.',
        verificationId:
          'The `verificationId` from request-otp. Required (unless the server runs with VERIFY_BY_PHONE_NUMBER=true).',
      },
      [{ verificationId: EXAMPLE_VERIFICATION_ID, code: '4821' }],
    ),
    RequestOtpData: {
      type: 'object',
      required: ['verificationId', 'phoneNumber', 'method', 'expiresAt', 'resendAvailableAt'],
      additionalProperties: false,
      properties: {
        verificationId: {
          type: 'string',
          format: 'uuid',
          description: "This service's id of the verification; pass it to verify-otp.",
        },
        phoneNumber: {
          ...E164,
          description: 'The number the code was sent to, normalised to E.164; show it back to the user.',
        },
        method: { const: 'sms' },
        expiresAt: { ...DATE_TIME, description: 'When the code stops working.' },
        resendAvailableAt: {
          ...DATE_TIME,
          description: 'When a new code may be requested (the resend cooldown). Drive the resend countdown from this.',
        },
      },
    },
    VerifyOtpData: {
      type: 'object',
      required: ['verificationId', 'phoneNumber', 'verified', 'verifiedAt'],
      additionalProperties: false,
      properties: {
        verificationId: { type: 'string', format: 'uuid' },
        phoneNumber: E164,
        verified: { const: true },
        verifiedAt: DATE_TIME,
      },
    },
    Health: {
      type: 'object',
      required: ['status', 'timestamp', 'uptimeSeconds', 'checks'],
      additionalProperties: false,
      properties: {
        status: { enum: ['UP', 'DEGRADED', 'DOWN'] },
        timestamp: DATE_TIME,
        uptimeSeconds: { type: 'integer', minimum: 0 },
        checks: {
          type: 'object',
          description: "Each check's state; `database` is always present.",
          required: ['database'],
          additionalProperties: { enum: ['UP', 'DOWN', 'DEGRADED'] },
        },
        details: {
          type: 'object',
          description: 'Particulars of checks that report them (e.g. when an open circuit will be probed).',
          additionalProperties: { type: 'object' },
        },
      },
    },
    Liveness: {
      type: 'object',
      required: ['status', 'timestamp'],
      additionalProperties: false,
      properties: { status: { const: 'UP' }, timestamp: DATE_TIME },
    },
    EmulatorInbox: {
      type: 'object',
      required: ['messages'],
      additionalProperties: false,
      properties: {
        messages: {
          type: 'array',
          maxItems: 10,
          description: 'Newest first.',
          items: {
            type: 'object',
            required: ['to', 'code', 'sentAt', 'delivered', 'method'],
            additionalProperties: false,
            properties: {
              to: { type: 'string', description: 'The number the message was sent to (E.164).' },
              code: {
                type: 'string',
                description: 'The code in the message; empty when the message was never delivered.',
              },
              sentAt: DATE_TIME,
              delivered: { type: 'boolean' },
              method: {
                type: 'string',
                enum: ['sms', 'callout', 'whatsapp', 'flashcall', 'seamless'],
                description: 'How the code reached the phone: an SMS, a voice call reading it (callout), or WhatsApp.',
              },
              locale: {
                type: 'string',
                description: 'The language of the message or call (BCP 47); absent when Sinch’s default applied.',
              },
            },
          },
        },
      },
    },
    SinchVerificationRequestEvent: fromZod(verificationRequestEvent, {
      description: 'Sent when a verification starts. Sinch adds fields over time; unknown fields are accepted.',
    }),
    SinchVerificationResultEvent: fromZod(verificationResultEvent, {
      description: 'The final result of a verification.',
    }),
    SinchVerificationSmsDeliveredEvent: fromZod(verificationSmsDeliveredEvent, {
      description: 'Whether the SMS reached the handset (`smsResult`: `Successful` or `Failed`).',
    }),
    SinchCallbackAnswer: {
      type: 'object',
      description:
        '`{"action":"allow"}` or `{"action":"deny"}` for a VerificationRequestEvent; `{}` for every other event.',
      additionalProperties: false,
      properties: { action: { enum: ['allow', 'deny'] } },
    },
    OpenApiDocument: {
      type: 'object',
      description: 'An OpenAPI 3.1 document.',
      required: ['openapi', 'info', 'paths'],
      properties: { openapi: { const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
    },
  };
}

function components(): OpenApiDocument['components'] {
  return {
    schemas: schemas(),
    responses: {
      NotFound: {
        description: 'Any path not in this document: 404 `NOT_FOUND`.',
        headers: { 'X-Request-Id': headerRef('XRequestId') },
        content: {
          [JSON_MEDIA]: {
            schema: { ...schemaRef('ErrorEnvelope'), type: 'object', properties: { code: { const: 'NOT_FOUND' } } },
            examples: { NOT_FOUND: { value: exampleEnvelope('NOT_FOUND', CODE_DOCS.NOT_FOUND) } },
          },
        },
      },
      MethodNotAllowed: {
        description:
          'A documented path called with a method it does not take: 405 `METHOD_NOT_ALLOWED`, with the accepted methods in `Allow`.',
        headers: { 'X-Request-Id': headerRef('XRequestId'), Allow: headerRef('Allow') },
        content: {
          [JSON_MEDIA]: {
            schema: {
              ...schemaRef('ErrorEnvelope'),
              type: 'object',
              properties: { code: { const: 'METHOD_NOT_ALLOWED' } },
            },
            examples: {
              METHOD_NOT_ALLOWED: { value: exampleEnvelope('METHOD_NOT_ALLOWED', CODE_DOCS.METHOD_NOT_ALLOWED) },
            },
          },
        },
      },
    },
    headers: {
      XRequestId: {
        description:
          'The id of this request: the incoming `X-Request-Id` when it is 1-128 characters of `A-Z a-z 0-9 . _ : -`, otherwise a new UUID. Also `requestId` in error bodies and in every server log line.',
        required: true,
        schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
      },
      RetryAfter: {
        description: 'Seconds to wait before retrying.',
        required: true,
        schema: { type: 'integer', minimum: 1 },
      },
      RateLimit: {
        description:
          'IETF RateLimit header (draft 8): per limit, the remaining quota `r` and seconds until reset `t`, e.g. `"ip-request-otp"; r=0; t=1800`. Several limits are comma-separated.',
        required: true,
        schema: { type: 'string', minLength: 1 },
      },
      RateLimitPolicy: {
        description:
          'IETF RateLimit-Policy header (draft 8): per limit, the quota `q` per window `w` seconds, e.g. `"ip-request-otp"; q=20; w=3600`.',
        required: true,
        schema: { type: 'string', minLength: 1 },
      },
      Allow: {
        description: 'The methods this path accepts, e.g. `POST`.',
        required: true,
        schema: { type: 'string', minLength: 1 },
      },
    },
    parameters: {
      XRequestId: {
        name: 'X-Request-Id',
        in: 'header',
        required: false,
        description:
          'Optional correlation id (1-128 characters of `A-Z a-z 0-9 . _ : -`), echoed in the `X-Request-Id` response header and in logs; anything else is replaced by a new UUID.',
        schema: { type: 'string' },
      },
    },
    securitySchemes: {
      sinchApplicationSignature: {
        type: 'apiKey',
        in: 'header',
        name: 'Authorization',
        description:
          '`Application {applicationKey}:{signature}`, where the signature is base64(HMAC-SHA256(base64-decoded application secret, "POST\\n" + base64(MD5(raw body)) + "\\n" + Content-Type + "\\nx-timestamp:" + x-timestamp + "\\n" + path)). Sinch computes it; see Sinch\'s "callback signed request" documentation.',
      },
      metricsBearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'The value of METRICS_TOKEN, required only when the server sets it.',
      },
    },
  };
}

const DESCRIPTION = `Phone-number verification by SMS one-time code (through the Sinch Verification API).

## The flow
1. \`POST /api/request-otp\` with \`{"phoneNumber": "+46701234567"}\`: a code is sent. Keep \`data.verificationId\`; start the resend countdown from \`data.resendAvailableAt\`.
2. \`POST /api/verify-otp\` with \`{"verificationId", "code"}\`: 200 means verified.

## Conventions
- Requests with a body: \`Content-Type: application/json\`, at most 10 kB, no unknown fields.
- Success: \`{"status": "success", "message", "data"}\`. Error: \`{"status": "error", "code", "message", "requestId", "details"?}\`.
- **Switch on \`code\`, never on \`message\`.** Codes are stable; messages are plain sentences you may show to users and may be reworded. See the \`ErrorCode\` schema for the full table.
- Every response has an \`X-Request-Id\` header (also \`requestId\` in errors): quote it when reporting a problem.
- 429 and 503 carry \`Retry-After\` (seconds): disable the button and count down. 429 also carries the IETF \`RateLimit\` / \`RateLimit-Policy\` headers.
- A path not listed here answers 404 \`NOT_FOUND\`; a listed path called with another method answers 405 \`METHOD_NOT_ALLOWED\` with an \`Allow\` header.
- A request that carries a JSON body is parsed before routing, on any path: malformed JSON gets 400 \`INVALID_JSON\` and over 10 kB gets 413 \`PAYLOAD_TOO_LARGE\` (listed only on the routes that take a body).
- 5xx answers never contain internals; their message is generic.`;

/** Builds the OpenAPI 3.1 document of every public route. Pure: call it again for a fresh copy. */
export function openApiDocument(options: OpenApiOptions = {}): OpenApiDocument {
  const paths: Record<string, PathItemObject> = {
    '/api/request-otp': { post: requestOtpOperation() },
    '/api/verify-otp': { post: verifyOtpOperation() },
    '/health': { get: healthOperation() },
    '/health/live': { get: livenessOperation() },
    '/api/openapi.json': { get: openApiJsonOperation() },
    '/api/docs': {
      get: htmlPage(
        'apiDocs',
        'Documentation',
        'This documentation (Swagger UI)',
        'Renders this document with Swagger UI. Its scripts and styles are served from `/api/docs/` (not listed separately).',
      ),
    },
    '/': {
      get: htmlPage(
        'demoPage',
        'Demo',
        'Demo page',
        'A small page to try the whole flow by hand: enter a number, request a code, type it in, and see every error message the API can return (cooldown countdown, attempts remaining, expiry). In emulator mode it also shows the emulated inbox, so no phone is needed. Its stylesheet and script are served from `/demo/` (not listed separately).',
        [['NOT_FOUND', "The page's files are missing from this build (run `npm run build`)."], 'INTERNAL_ERROR'],
      ),
    },
    '/api/sinch/events': { post: sinchEventsOperation() },
    '/metrics': { get: metricsOperation() },
  };
  if (options.emulatorMode !== false)
    paths['/api/emulator/inbox'] = { get: emulatorInboxOperation(options.emulatorMode) };

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: OAS_DIALECT,
    info: { title: 'OTP verification service', version: '0.1.0', description: DESCRIPTION },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      { name: 'Verification', description: 'Send and check one-time codes: the two routes a frontend needs.' },
      { name: 'Health', description: 'For load balancers and orchestrators.' },
      { name: 'Documentation', description: 'This document and its rendering.' },
      { name: 'Demo', description: 'A page to try the flow by hand.' },
      {
        name: 'Emulator',
        description: 'Only when the service runs its built-in Sinch emulator (no Sinch credentials configured).',
      },
      { name: 'Sinch callbacks', description: "Called by Sinch, authenticated by Sinch's signature." },
      { name: 'Operations', description: 'Monitoring.' },
    ],
    paths,
    components: components(),
  };
}

export interface DocumentedRoute {
  /** Upper case, e.g. `POST`. */
  method: string;
  /** The OpenAPI path template, e.g. `/api/request-otp`. */
  path: string;
}

/** Every method + path the document describes. */
export function documentedRoutes(document: OpenApiDocument): DocumentedRoute[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({
      method: method.toUpperCase(),
      path,
    })),
  );
}

/** The routes of the full document (emulator-only routes included). */
export const DOCUMENTED_ROUTES: readonly DocumentedRoute[] = Object.freeze(documentedRoutes(openApiDocument()));
