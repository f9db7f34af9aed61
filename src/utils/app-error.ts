/**
 * The stable error codes of the public API, with their HTTP status and the default message.
 * Frontends switch on `code`; messages may be refined per occurrence but codes never change.
 */
export const ERROR_CATALOGUE = {
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  VALIDATION_ERROR: { status: 400, message: 'The request is invalid; see details for each field.' },
  INVALID_PHONE_NUMBER: {
    status: 400,
    message: 'The phone number is not a valid number. Use international format, e.g. +46701234567.',
  },
  INVALID_CODE: { status: 400, message: 'The code is not correct.' },
  UNAUTHORIZED: { status: 401, message: 'Authentication is missing or invalid.' },
  INVALID_TOKEN: {
    status: 401,
    message: 'The verification token is not valid: bad signature, expired, or not issued for this service.',
  },
  NOT_FOUND: { status: 404, message: 'No such route.' },
  VERIFICATION_NOT_FOUND: {
    status: 404,
    message: 'No pending verification matches this request. Request a new code and send the verificationId it returns.',
  },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This route does not accept that HTTP method.' },
  ALREADY_VERIFIED: { status: 409, message: 'This verification has already been completed.' },
  TOKEN_ALREADY_REDEEMED: { status: 409, message: 'This verification token has already been redeemed.' },
  IDEMPOTENCY_REQUEST_IN_PROGRESS: {
    status: 409,
    message: 'A request with this Idempotency-Key is still being processed; retry shortly.',
  },
  VERIFICATION_EXPIRED: { status: 410, message: 'The code has expired. Request a new code.' },
  VERIFICATION_CANCELLED: { status: 410, message: 'This verification was cancelled. Request a new code.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is larger than 10 kB.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as JSON with Content-Type: application/json.' },
  PHONE_NUMBER_NOT_ALLOWED: { status: 422, message: 'Codes cannot be sent to this phone number.' },
  METHOD_NOT_ENABLED: {
    status: 422,
    message: 'Codes are not sent by this method here; `details` lists the methods on offer.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    message: 'This Idempotency-Key was already used with a different request body.',
  },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many wrong codes. Request a new code.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests. Wait before trying again.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on our side. Try again later.' },
  SMS_PROVIDER_ERROR: { status: 502, message: 'The SMS provider could not handle the request. Try again later.' },
  SMS_PROVIDER_UNAVAILABLE: { status: 503, message: 'The SMS provider is unavailable. Try again shortly.' },
  SEND_CAPACITY_EXCEEDED: {
    status: 503,
    message: 'The service is sending too many codes right now. Try again shortly.',
  },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable. Try again shortly.' },
  REQUEST_TIMEOUT: { status: 503, message: 'The request took too long. Try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** One of this service's own limits that refused a request (the error handler states it as IETF RateLimit fields). */
export interface RefusingLimit {
  name: string;
  quota: number;
  windowSeconds: number;
}

export interface AppErrorOptions {
  message?: string;
  details?: unknown[];
  /** When the client may try again; becomes Retry-After. */
  retryAfterSeconds?: number;
  /** The limit that refused; becomes RateLimit-Policy and RateLimit. */
  limit?: RefusingLimit;
  /** HTTP-layer headers only (Allow, WWW-Authenticate): services state facts, not headers. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The one error type services and clients throw; the error handler turns it into the envelope. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly details?: unknown[];
  readonly retryAfterSeconds?: number;
  readonly limit?: RefusingLimit;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(
      options.message ?? ERROR_CATALOGUE[code].message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AppError';
    this.code = code;
    this.httpStatus = ERROR_CATALOGUE[code].status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.limit = options.limit;
    this.headers = options.headers ?? {};
  }

  get isServerError(): boolean {
    return this.httpStatus >= 500;
  }
}

/** Seconds for a Retry-After header: whole, at least 1 when anything remains. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
