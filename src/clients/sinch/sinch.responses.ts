import type { AxiosResponse } from 'axios';
import type { Logger } from '../../config/logger';
import { AppError } from '../../utils/app-error';
import { canonicalLocale } from '../../utils/locale';
import { failure, providerError } from './sinch.errors';
import { verdictOf } from './status';
import type { ReportOutcome, SinchContext, SinchErrorBody, SinchOperation, StartResult } from './sinch.types';

/** Sinch's answer to a start: the verification id, or the AppError that says why there is none. */
export function startAnswer(ctx: SinchContext, response: AxiosResponse<string>): StartResult {
  const body = parse<{ id?: unknown }>(ctx.logger, 'start', response);
  if (response.status >= 200 && response.status < 300) {
    if (typeof body.id !== 'string' || body.id.length === 0 || body.id.length > 64) {
      ctx.logger.error('Sinch start answer has no usable id', { httpStatus: response.status });
      throw providerError('start', 'answer without id', response.status);
    }
    const contentLanguage = readContentLanguage(response.headers['content-language']);
    return contentLanguage === undefined ? { id: body.id } : { id: body.id, contentLanguage };
  }
  if (response.status === 400 && isNumberRefused(body)) {
    throw new AppError('INVALID_PHONE_NUMBER', {
      message: 'The SMS provider says this phone number is not valid.',
      details: [{ field: 'phoneNumber', reason: 'rejected_by_provider' }],
    });
  }
  if ((response.status === 403 && body.errorCode === 40300) || (response.status === 422 && body.errorCode === 42201)) {
    throw new AppError('PHONE_NUMBER_NOT_ALLOWED', {
      message: 'Codes cannot be sent to this phone number.',
      details: [{ field: 'phoneNumber', reason: body.errorCode === 40300 ? 'blocked_by_provider' : 'no_route' }],
    });
  }
  throw failure(ctx, 'start', response, body);
}

/** Sinch's answer to a report: its verdict on the code, or the AppError that says why there is none. */
export function reportAnswer(ctx: SinchContext, response: AxiosResponse<string>): ReportOutcome {
  const body = parse<{ status?: unknown; reason?: unknown }>(ctx.logger, 'report', response);
  if (response.status >= 200 && response.status < 300)
    return reportOutcome(ctx.logger, body.status, body.reason, response.status);
  if (response.status === 400 && body.errorCode === 40003) return { result: 'INVALID_CODE' };
  if (response.status === 404) return { result: 'NOT_FOUND' };
  throw failure(ctx, 'report', response, body);
}

function reportOutcome(logger: Logger, status: unknown, reason: unknown, httpStatus: number): ReportOutcome {
  const verdict = verdictOf(status, reason);
  // Sinch kept it pending: the code did not complete the verification.
  if (verdict?.result === 'PENDING') return { result: 'INVALID_CODE' };
  if (verdict) return verdict;
  logger.error('Sinch report answer has no known status', {
    status: typeof status === 'string' ? status.slice(0, 32) : typeof status,
  });
  throw providerError('report', 'answer without a known status', httpStatus);
}

function parse<T>(logger: Logger, operation: SinchOperation, response: AxiosResponse<string>): T & SinchErrorBody {
  try {
    const value: unknown = JSON.parse(response.data);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as T & SinchErrorBody;
  } catch {
    // fall through: not JSON
  }
  logger.error('Sinch answered with a body that is not a JSON object', { operation, httpStatus: response.status });
  // An error status says enough on its own: a gateway's HTML 502/503 page is still an outage
  // (503, and it counts towards the circuit breaker), a text 429 still a rate limit.
  if (response.status >= 300) return {} as T & SinchErrorBody;
  throw providerError(operation, `unparseable ${response.status} answer`, response.status);
}

/** Sinch's Content-Language answer header as one canonical tag (its first readable one); else none. */
function readContentLanguage(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const tag of header.split(',', 8)) {
    const canonical = canonicalLocale(tag);
    if (canonical !== undefined) return canonical;
  }
  return undefined;
}

/**
 * A 400 that blames the number: 40005 (no leading +), or 40001 unless its message is about the
 * language, which a call's speech locale can draw and which is not the user's number's fault.
 */
function isNumberRefused(body: SinchErrorBody): boolean {
  if (body.errorCode === 40005) return true;
  return body.errorCode === 40001 && !/locale|language/i.test(typeof body.message === 'string' ? body.message : '');
}
