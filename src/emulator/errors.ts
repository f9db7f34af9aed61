import { randomUUID } from 'node:crypto';

/** Sinch's error body: `errorCode` is five digits whose first three are the HTTP status. */
export interface SinchErrorBody {
  errorCode: number;
  message: string;
  /** Sinch puts a per-error trace reference here; the emulator makes one up. */
  reference: string;
}

/** Messages Sinch documents for its error codes (reference doc §6.2), used when no better one is known. */
export const SINCH_ERROR_MESSAGES: Readonly<Record<number, string>> = Object.freeze({
  40001: 'Invalid parameter.',
  40002: 'Missing parameter.',
  40003: 'Invalid identity or code.',
  40005: 'Number is missing a leading plus.',
  40100: 'Invalid authorization header.',
  40101: 'X-Timestamp required.',
  40102: 'Invalid signature.',
  40300: 'Identity is blacklisted.',
  40303: 'Callback URL must be set when using public authorization method.',
  40400: 'Requested resource was not found.',
  40500: 'Method not allowed.',
  40900: 'Reference already defined.',
  41300: 'Request body too large.',
  42201: 'No route to destination.',
  42900: 'Request capacity exceeded.',
  42901: 'Cannot initiate verification to the same number too quickly.',
  50000: 'Internal server error.',
  50300: 'Service is temporarily unavailable, please try again later.',
});

/** The error code the emulator uses for a bare HTTP status (fault injection without a body). */
export function defaultErrorCode(status: number): number {
  switch (status) {
    case 400:
      return 40001;
    case 401:
      return 40102;
    case 422:
      return 42201;
    default:
      return status * 100;
  }
}

/** Builds a Sinch error body; the message defaults to Sinch's documented one for the code. */
export function sinchError(errorCode: number, message?: string): SinchErrorBody {
  return {
    errorCode,
    message: message ?? SINCH_ERROR_MESSAGES[errorCode] ?? 'Emulated error.',
    reference: randomUUID(),
  };
}

/** An error a handler throws to answer with a Sinch error body. */
export class SinchApiError extends Error {
  readonly httpStatus: number;
  readonly body: SinchErrorBody;
  readonly headers: Readonly<Record<string, string>>;

  constructor(httpStatus: number, errorCode: number, message?: string, headers: Record<string, string> = {}) {
    const body = sinchError(errorCode, message);
    super(body.message);
    this.name = 'SinchApiError';
    this.httpStatus = httpStatus;
    this.body = body;
    this.headers = headers;
  }
}
