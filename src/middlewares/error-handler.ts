import type { ErrorRequestHandler } from 'express';
import { BaseError, ConnectionError, DatabaseError, TimeoutError } from 'sequelize';
import type { Logger } from '../config/logger';
import { AppError } from '../utils/app-error';
import { errorBody } from '../utils/response';

/** body-parser's error types, mapped to our codes. */
const BODY_ERRORS: Record<string, AppError['code']> = {
  'entity.parse.failed': 'INVALID_JSON',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'charset.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'encoding.unsupported': 'UNSUPPORTED_MEDIA_TYPE',
  'entity.verify.failed': 'INVALID_JSON',
  'request.aborted': 'INVALID_JSON',
  'request.size.invalid': 'INVALID_JSON',
};

/**
 * PostgreSQL SQLSTATE classes that mean "the database is not available right now":
 * 08 connection exception, 53 insufficient resources, 57 operator intervention (shutdown, restart),
 * 58 system error; 40001/40P01 serialization failure and deadlock are transient too.
 */
function isDatabaseOutage(error: BaseError): boolean {
  if (error instanceof ConnectionError || error instanceof TimeoutError) return true;
  if (error instanceof DatabaseError) {
    const code = (error.parent as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && (/^(08|53|57|58)/.test(code) || code === '40001' || code === '40P01')) return true;
    return /Connection terminated|connection is closed|not queryable|ECONNRESET|ECONNREFUSED|EPIPE/i.test(
      error.message,
    );
  }
  return false;
}

/** Turns anything thrown into an AppError; unknown errors become INTERNAL_ERROR with the original as cause. */
export function normalizeError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error && typeof error === 'object') {
    const type = (error as { type?: unknown }).type;
    // Own keys only: a `type` such as "constructor" would otherwise find Object.prototype members,
    // and the handler itself would crash on the resulting non-code.
    const code = typeof type === 'string' && Object.hasOwn(BODY_ERRORS, type) ? BODY_ERRORS[type] : undefined;
    if (code) return new AppError(code, { cause: error });
    if (error instanceof BaseError && isDatabaseOutage(error))
      return new AppError('SERVICE_UNAVAILABLE', { retryAfterSeconds: 5, cause: error });
  }
  return new AppError('INTERNAL_ERROR', { cause: error });
}

/** RateLimit fields are lists: a limiter earlier in the chain may already have set its own. */
const LIST_HEADERS = new Set(['ratelimit', 'ratelimit-policy']);

/** The facts an error carries, as HTTP headers: Retry-After and the IETF RateLimit fields (draft 8). */
function responseHeaders(error: AppError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
  if (error.limit) {
    const { name, quota, windowSeconds } = error.limit;
    headers['RateLimit-Policy'] = `"${name}"; q=${quota}; w=${windowSeconds}`;
    headers.RateLimit = `"${name}"; r=0; t=${error.retryAfterSeconds ?? windowSeconds}`;
  }
  return headers;
}

/**
 * The one error handler: normalise, log once (warn for 4xx, error with cause for 5xx), answer with
 * the envelope. A 5xx message is always the generic one from the catalogue.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const appError = normalizeError(error);
    const requestId = String(res.locals.requestId ?? '');
    if (res.headersSent) {
      // A timeout already answered; the late error only needs recording.
      logger.warn('error after the response was sent', {
        errorCode: appError.code,
        route: req.originalUrl.split('?')[0],
      });
      return;
    }
    if (appError.isServerError) {
      // `errorCode`, not `code`: the logger redacts any `code` key, since that is where an OTP would hide.
      logger.error(appError.message, {
        errorCode: appError.code,
        method: req.method,
        cause: appError.cause ?? appError,
      });
    } else {
      logger.warn('request refused', { errorCode: appError.code, method: req.method, reason: appError.message });
    }
    for (const [name, value] of Object.entries(responseHeaders(appError))) {
      if (LIST_HEADERS.has(name.toLowerCase())) res.append(name, value);
      else res.setHeader(name, value);
    }
    res.status(appError.httpStatus).json(errorBody(appError, requestId));
  };
}
