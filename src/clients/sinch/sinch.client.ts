import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError } from 'cockatiel';
import type { CodeType, Config, OtpMethod } from '../../config';
import type { Logger } from '../../config/logger';
import { AppError, retryAfterSeconds } from '../../utils/app-error';
import { canonicalLocale } from '../../utils/locale';
import { leanHttpAdapter } from './http-adapter';
import { verdictOf, type SinchVerdict } from './status';
import { applicationAuthorization } from './sinch.signer';

/** Sinch's own path prefix; it is part of the signed path whatever the base URL is. */
const API_PREFIX = '/verification/v1';

export type SinchOperation = 'start' | 'report' | 'status';

/** How Sinch judged a reported code. */
/** How Sinch judged a reported code: a final verdict, or NOT_FOUND when Sinch no longer knows the verification. */
export type ReportOutcome = Exclude<SinchVerdict, { result: 'PENDING' }> | { result: 'NOT_FOUND' };

export interface CircuitInfo {
  state: 'closed' | 'open' | 'half-open';
  /** When an open circuit lets the next probe through (epoch ms), if open. */
  retryAt?: number;
}

export interface StartRequest {
  /** E.164. */
  phoneNumber: string;
  method: OtpMethod;
  /** Unique per Sinch verification (Sinch refuses a reused one with 409). */
  reference: string;
  /** Sent as smsOptions.expiry for SMS; Sinch has no expiry option for calls or WhatsApp. */
  expirySeconds: number;
  /** BCP 47; absent = Sinch's default. SMS and WhatsApp: Accept-Language header; callout: calloutOptions.speech.locale. */
  locale?: string;
  /** smsOptions.codeType / whatsappOptions.codeType; a call always reads digits. */
  codeType: CodeType;
}

export interface StartResult {
  /** Sinch's verification id, for report and status. */
  id: string;
  /** The language Sinch says it used (its Content-Language answer header), canonical BCP 47; absent if it named none. */
  contentLanguage?: string;
}

export interface SinchClient {
  /**
   * Starts a verification by SMS, voice call (callout) or WhatsApp. Never retried: a retry may
   * send (and bill) a second message.
   */
  start(request: StartRequest): Promise<StartResult>;
  /** Reports a code for Sinch's verification id (always by id, never by number) with the method it was started with. */
  report(sinchId: string, method: OtpMethod, code: string): Promise<ReportOutcome>;
  /** @deprecated Use start({ method: 'sms', codeType: 'Numeric', ... }). */
  startSms(phoneNumber: string, options: { reference: string; expirySeconds: number }): Promise<{ id: string }>;
  /** @deprecated Use report(sinchId, 'sms', code). */
  reportSmsCode(sinchId: string, code: string): Promise<ReportOutcome>;
  /** False only when the error proves Sinch did not act (it answered with an error, or was never reached). */
  mayHaveActed(error: unknown): boolean;
  circuit(): CircuitInfo;
  close(): void;
}

export interface SinchCallObserver {
  (event: { operation: SinchOperation; outcome: string; durationMs: number }): void;
}

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

interface SinchErrorBody {
  errorCode?: number;
  message?: string;
}

/** `HH:MM:SS`, the format Sinch takes for smsOptions.expiry. */
export function formatExpiry(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}

/**
 * The start body and headers of each method (reference §2.1). The language travels in the
 * Accept-Language header for SMS and WhatsApp and in calloutOptions.speech.locale for a call.
 */
export function startRequest(request: StartRequest): {
  body: Record<string, unknown>;
  headers: Record<string, string>;
} {
  const { phoneNumber, method, reference, expirySeconds, locale, codeType } = request;
  const body: Record<string, unknown> = { identity: { type: 'number', endpoint: phoneNumber }, method, reference };
  const headers: Record<string, string> = {};
  switch (method) {
    case 'sms':
      body.smsOptions = { expiry: formatExpiry(expirySeconds), codeType };
      if (locale !== undefined) headers['Accept-Language'] = locale;
      break;
    case 'whatsapp':
      body.whatsappOptions = { codeType };
      if (locale !== undefined) headers['Accept-Language'] = locale;
      break;
    case 'callout':
      if (locale !== undefined) body.calloutOptions = { speech: { locale } };
      break;
  }
  return { body, headers };
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

/** Errors that say Sinch is down or unreachable; only these open the circuit. */
function isOutage(error: unknown): boolean {
  return error instanceof AppError && error.code === 'SMS_PROVIDER_UNAVAILABLE';
}

/**
 * The Sinch Verification client: one axios instance with keep-alive, Basic or Application-signed
 * authentication, a timeout, a circuit breaker, and translation of every failure into an AppError.
 * It never logs the Authorization header, the secret, the code or a whole axios error.
 */
export function createSinchClient(
  sinch: Config['sinch'],
  logger: Logger,
  observe: SinchCallObserver = () => undefined,
): SinchClient {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  const api: AxiosInstance = axios.create({
    baseURL: `${sinch.baseUrl}${API_PREFIX}`,
    timeout: sinch.timeoutMs,
    httpAgent,
    httpsAgent,
    // Raw text in, so a non-JSON answer is detected here rather than surfacing as a parse crash.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    headers: { Accept: 'application/json' },
    adapter: leanHttpAdapter({ http: httpAgent, https: httpsAgent }),
  });

  const breaker = circuitBreaker(handleWhen(isOutage), {
    halfOpenAfter: sinch.circuitCooldownSeconds * 1000,
    breaker: new ConsecutiveBreaker(sinch.circuitFailureThreshold),
  });
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
    logger.error('Sinch circuit opened: failing fast', {
      consecutiveFailures: sinch.circuitFailureThreshold,
      cooldownSeconds: sinch.circuitCooldownSeconds,
    });
  });
  breaker.onHalfOpen(() => logger.warn('Sinch circuit half-open: probing with the next request'));
  breaker.onReset(() => logger.info('Sinch circuit closed: Sinch answers again'));

  function authorization(method: string, path: string, body: string, contentType: string, timestamp: string): string {
    if (sinch.authScheme === 'basic') {
      return `Basic ${Buffer.from(`${sinch.applicationKey}:${sinch.applicationSecret}`).toString('base64')}`;
    }
    return applicationAuthorization(
      { method, path: `${API_PREFIX}${path}`, body, contentType, timestamp },
      sinch.applicationKey,
      sinch.applicationSecret,
    );
  }

  async function send(
    operation: SinchOperation,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    payload?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<AxiosResponse<string>> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const contentType = 'application/json; charset=utf-8';
    const timestamp = new Date().toISOString();
    const started = performance.now();
    let outcome = 'error';
    try {
      const response = await api.request<string>({
        method,
        url: path,
        data: payload === undefined ? undefined : body,
        headers: {
          ...extraHeaders,
          'Content-Type': contentType,
          'x-timestamp': timestamp,
          Authorization: authorization(method, path, body, contentType, timestamp),
        },
      });
      outcome = String(response.status);
      return response;
    } catch (error) {
      outcome =
        error instanceof AxiosError && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')
          ? 'timeout'
          : 'network_error';
      throw transportError(operation, error);
    } finally {
      observe({ operation, outcome, durationMs: performance.now() - started });
    }
  }

  function transportError(operation: SinchOperation, error: unknown): AppError {
    const code = error instanceof AxiosError ? error.code : undefined;
    const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
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

  function parse<T>(operation: SinchOperation, response: AxiosResponse<string>): T & SinchErrorBody {
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

  /**
   * An answer this client cannot use. A 2xx one means Sinch accepted the request and may have acted
   * on it (sent the SMS, judged the code): it is flagged as such, so the send still counts against
   * the limits and the attempt stays charged, exactly as after a timeout.
   */
  function providerError(operation: SinchOperation, what: string, httpStatus?: number): AppError {
    const accepted = httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300;
    return new AppError('SMS_PROVIDER_ERROR', {
      cause: accepted
        ? new SinchTransportError(`sinch ${operation}: ${what}`, true)
        : new Error(`sinch ${operation}: ${what}`),
    });
  }

  /** Translates non-2xx answers shared by every operation. */
  function failure(operation: SinchOperation, response: AxiosResponse<string>, body: SinchErrorBody): AppError {
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

  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await breaker.execute(fn);
    } catch (error) {
      if (isBrokenCircuitError(error)) {
        const waitMs = Math.max(0, openedAt + sinch.circuitCooldownSeconds * 1000 - Date.now());
        throw new AppError('SMS_PROVIDER_UNAVAILABLE', {
          message: 'The SMS provider is failing; requests are paused briefly. Try again shortly.',
          retryAfterSeconds: retryAfterSeconds(waitMs),
          cause: error,
        });
      }
      throw error;
    }
  }

  function start(request: StartRequest): Promise<StartResult> {
    return guarded(async () => {
      const { body: payload, headers } = startRequest(request);
      const response = await send('start', 'POST', '/verifications', payload, headers);
      const body = parse<{ id?: unknown }>('start', response);
      if (response.status >= 200 && response.status < 300) {
        if (typeof body.id !== 'string' || body.id.length === 0 || body.id.length > 64) {
          logger.error('Sinch start answer has no usable id', { httpStatus: response.status });
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
      if (
        (response.status === 403 && body.errorCode === 40300) ||
        (response.status === 422 && body.errorCode === 42201)
      ) {
        throw new AppError('PHONE_NUMBER_NOT_ALLOWED', {
          message: 'Codes cannot be sent to this phone number.',
          details: [{ field: 'phoneNumber', reason: body.errorCode === 40300 ? 'blocked_by_provider' : 'no_route' }],
        });
      }
      throw failure('start', response, body);
    });
  }

  function report(sinchId: string, method: OtpMethod, code: string): Promise<ReportOutcome> {
    return guarded(async () => {
      // Sinch's report body names the method twice: {"method":"callout","callout":{"code":"1234"}}.
      const response = await send('report', 'PUT', `/verifications/id/${encodeURIComponent(sinchId)}`, {
        method,
        [method]: { code },
      });
      const body = parse<{ status?: unknown; reason?: unknown }>('report', response);
      if (response.status >= 200 && response.status < 300)
        return reportOutcome(body.status, body.reason, response.status);
      if (response.status === 400 && body.errorCode === 40003) return { result: 'INVALID_CODE' };
      if (response.status === 404) return { result: 'NOT_FOUND' };
      throw failure('report', response, body);
    });
  }

  return {
    start,
    report,

    startSms(phoneNumber, { reference, expirySeconds }) {
      return start({ phoneNumber, method: 'sms', reference, expirySeconds, codeType: 'Numeric' });
    },

    reportSmsCode(sinchId, code) {
      return report(sinchId, 'sms', code);
    },

    mayHaveActed: sinchMayHaveActed,

    circuit() {
      const state =
        breaker.state === CircuitState.Closed
          ? 'closed'
          : breaker.state === CircuitState.HalfOpen
            ? 'half-open'
            : 'open';
      return state === 'open' ? { state, retryAt: openedAt + sinch.circuitCooldownSeconds * 1000 } : { state };
    },

    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };

  function reportOutcome(status: unknown, reason: unknown, httpStatus: number): ReportOutcome {
    const verdict = verdictOf(status, reason);
    // Sinch kept it pending: the code did not complete the verification.
    if (verdict?.result === 'PENDING') return { result: 'INVALID_CODE' };
    if (verdict) return verdict;
    logger.error('Sinch report answer has no known status', {
      status: typeof status === 'string' ? status.slice(0, 32) : typeof status,
    });
    throw providerError('report', 'answer without a known status', httpStatus);
  }
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
