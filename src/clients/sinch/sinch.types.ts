import type { CodeType, Config, OtpMethod } from '../../config';
import type { Logger } from '../../config/logger';
import type { SinchVerdict } from './status';

export type SinchOperation = 'start' | 'report';

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
  /** False only when the error proves Sinch did not act (it answered with an error, or was never reached). */
  mayHaveActed(error: unknown): boolean;
  circuit(): CircuitInfo;
  close(): void;
}

export interface SinchCallObserver {
  (event: { operation: SinchOperation; outcome: string; durationMs: number }): void;
}

/** What every piece of the client shares: its settings and the logger. */
export interface SinchContext {
  sinch: Config['sinch'];
  logger: Logger;
}

/** The fields of a Sinch error answer this client reads. */
export interface SinchErrorBody {
  errorCode?: number;
  message?: string;
}
