import { AxiosError, type AxiosResponse } from 'axios';
import type { Logger } from '../../config/logger';
import { AppError } from '../../utils/app-error';
import type { SinchContext, SinchErrorBody, SinchOperation } from './sinch.types';

/**
 * The cause of a failure to get a usable answer from Sinch. `ambiguous` means Sinch may have acted
 * on the request (a timeout, a connection dropped after sending, or a 2xx answer that could not be
 * understood), so a send must still count against limits and an attempt stay charged.
 */
export class SinchTransportError extends Error {
  constructor(
    message: string,
    readonly ambiguous: boolean,
  ) {
    super(message);
    this.name = 'SinchTransportError';
  }
}

/** True unless the error proves Sinch did not act (it answered with an error, or was never reached). */
export function sinchMayHaveActed(error: unknown): boolean {
  return error instanceof AppError && error.cause instanceof SinchTransportError && error.cause.ambiguous;
}

/** Errors that say Sinch is down or unreachable; only these open the circuit. */
export function isOutage(error: unknown): boolean {
  return error instanceof AppError && error.code === 'SMS_PROVIDER_UNAVAILABLE';
}

/** An axios error for a request that got no answer in time (axios's timeout, or the socket's). */
export function isTimeout(error: unknown): boolean {
  return error instanceof AxiosError && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT');
}

/** A request that got no answer at all: a timeout or a network error, as SMS_PROVIDER_UNAVAILABLE. */
export function transportError(logger: Logger, operation: SinchOperation, error: unknown): AppError {
  const code = error instanceof AxiosError ? error.code : undefined;
  const timedOut = isTimeout(error);
  // Only the error code: a whole axios error carries headers (with Authorization) and the body.
  logger.warn('Sinch request failed', { operation, error: timedOut ? 'timeout' : (code ?? 'unknown') });
  return new AppError('SMS_PROVIDER_UNAVAILABLE', {
    message: timedOut ? 'The SMS provider did not answer in time. Try again shortly.' : ERROR_UNREACHABLE,
    retryAfterSeconds: 5,
    // Refused or unresolvable connections never reached Sinch; anything else may have.
    cause: new SinchTransportError(
      `sinch ${operation}: ${timedOut ? 'timeout' : (code ?? 'network error')}`,
      !NEVER_SENT.has(code ?? ''),
    ),
  });
}

/**
 * An answer this client cannot use. A 2xx one means Sinch accepted the request and may have acted
 * on it (sent the SMS, judged the code): it is flagged as such, so the send still counts against
 * the limits and the attempt stays charged, exactly as after a timeout.
 */
export function providerError(operation: SinchOperation, what: string, httpStatus?: number): AppError {
  const accepted = httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300;
  return new AppError('SMS_PROVIDER_ERROR', {
    cause: accepted
      ? new SinchTransportError(`sinch ${operation}: ${what}`, true)
      : new Error(`sinch ${operation}: ${what}`),
  });
}

/** Translates non-2xx answers shared by every operation. */
export function failure(
  { sinch, logger }: SinchContext,
  operation: SinchOperation,
  response: AxiosResponse<string>,
  body: SinchErrorBody,
): AppError {
  const status = response.status;
  const errorCode = typeof body.errorCode === 'number' ? body.errorCode : undefined;
  if (status === 401 || (status === 403 && errorCode !== undefined && errorCode >= 40301 && errorCode <= 40303)) {
    logger.error(
      `Sinch rejected this service's credentials (${errorCode ?? status}): check SINCH_APPLICATION_KEY, SINCH_APPLICATION_SECRET and SINCH_AUTH_SCHEME=${sinch.authScheme}, and the server clock for signed requests`,
      { operation, httpStatus: status, errorCode, applicationKey: sinch.applicationKey },
    );
    return providerError(operation, `authentication rejected (${errorCode ?? status})`);
  }
  if (status === 429) {
    const retryAfter = Number(response.headers['retry-after']);
    const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : 60;
    return new AppError('RATE_LIMITED', {
      message: 'Too many codes were requested for this number. Wait before trying again.',
      retryAfterSeconds: seconds,
      cause: new Error(`sinch ${operation}: 429 ${errorCode ?? ''}`),
    });
  }
  if (status >= 500) {
    logger.warn('Sinch answered with a server error', { operation, httpStatus: status, errorCode });
    return new AppError('SMS_PROVIDER_UNAVAILABLE', {
      message: ERROR_UNREACHABLE,
      retryAfterSeconds: 5,
      cause: new Error(`sinch ${operation}: ${status} ${errorCode ?? ''}`),
    });
  }
  logger.error('Sinch refused a request', { operation, httpStatus: status, errorCode, sinchMessage: body.message });
  return providerError(operation, `${status} ${errorCode ?? ''}`);
}

const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
]);
const ERROR_UNREACHABLE = 'The SMS provider is unavailable. Try again shortly.';
