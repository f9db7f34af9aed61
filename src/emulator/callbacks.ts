import { applicationAuthorization } from '../clients/sinch/sinch.signer';
import { pushBounded } from './ring-buffer';

export interface CallbackIdentity {
  type: 'number';
  endpoint: string;
}

/** Sent before a verification proceeds; the receiver's answer may deny it (reference doc §8). */
export interface VerificationRequestEvent {
  id: string;
  event: 'VerificationRequestEvent';
  method: string;
  identity: CallbackIdentity;
  price: { amount: number; currencyId: string };
  rate: { amount: number; currencyId: string };
  reference?: string;
  custom?: string;
  acceptLanguage?: string[];
}

/** Sent once a verification reaches a final status through a report. */
export interface VerificationResultEvent {
  id: string;
  event: 'VerificationResultEvent';
  method: string;
  identity: CallbackIdentity;
  status: string;
  reason?: string;
  reference?: string;
  source?: string;
  custom?: string;
}

/** Sent after an SMS was (or failed to be) delivered. */
export interface VerificationSmsDeliveredEvent {
  id: string;
  event: 'VerificationSmsDeliveredEvent';
  method: 'sms';
  identity: CallbackIdentity;
  smsResult: 'Successful' | 'Failed';
  reference?: string;
  custom?: string;
}

export type VerificationEvent = VerificationRequestEvent | VerificationResultEvent | VerificationSmsDeliveredEvent;

/** One attempt to deliver a callback, as recorded on `SinchEmulator.callbackDeliveries`. */
export interface CallbackDelivery {
  event: VerificationEvent['event'];
  verificationId: string;
  url: string;
  /** The JSON body exactly as sent (and signed). */
  body: string;
  /** Wall-clock ms when the attempt started. */
  at: number;
  durationMs: number;
  /** HTTP status the receiver answered; absent when the attempt failed before an answer. */
  status?: number;
  /** First 4 KiB of the receiver's answer. */
  responseBody?: string;
  /** Why no answer came (connection refused, timeout, emulator closing). */
  error?: string;
}

export interface CallbackSenderOptions {
  url: string;
  applicationKey: string;
  applicationSecret: string;
  timeoutMs: number;
  recordLimit: number;
}

const CONTENT_TYPE = 'application/json; charset=utf-8';
const MAX_RECORDED_RESPONSE = 4096;

/**
 * Delivers Sinch-style signed callbacks. Delivery problems are recorded, never thrown: a dead
 * receiver must not take the emulator (or the test run using it) down with it.
 */
export class CallbackSender {
  readonly deliveries: CallbackDelivery[] = [];
  private readonly url: URL;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();

  constructor(private readonly options: CallbackSenderOptions) {
    this.url = new URL(options.url);
  }

  /** Posts the event and resolves with the receiver's answer (or the failure), never rejecting. */
  deliver(event: VerificationEvent): Promise<CallbackDelivery> {
    const attempt = this.post(event);
    this.inFlight.add(attempt);
    void attempt.finally(() => this.inFlight.delete(attempt));
    return attempt;
  }

  /** Resolves once every delivery started so far has finished. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Aborts deliveries still waiting for an answer. */
  close(): void {
    this.closing.abort(new Error('emulator closing'));
  }

  private async post(event: VerificationEvent): Promise<CallbackDelivery> {
    const body = JSON.stringify(event);
    const timestamp = new Date().toISOString();
    const authorization = applicationAuthorization(
      { method: 'POST', path: this.url.pathname, contentType: CONTENT_TYPE, timestamp, body },
      this.options.applicationKey,
      this.options.applicationSecret,
    );
    const started = Date.now();
    const delivery: CallbackDelivery = {
      event: event.event,
      verificationId: event.id,
      url: this.url.href,
      body,
      at: started,
      durationMs: 0,
    };
    try {
      if (this.closing.signal.aborted) throw new Error('emulator closing');
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': CONTENT_TYPE, 'x-timestamp': timestamp, authorization },
        body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      delivery.status = response.status;
      delivery.responseBody = (await response.text()).slice(0, MAX_RECORDED_RESPONSE);
    } catch (error) {
      delivery.error = describeFailure(error);
    }
    delivery.durationMs = Date.now() - started;
    pushBounded(this.deliveries, delivery, this.options.recordLimit);
    return delivery;
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch wraps the interesting part (ECONNREFUSED, ...) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.name}: ${error.message}${cause}`;
}

/** What a VerificationRequestEvent answer asks for; anything unreadable counts as `invalid`. */
export type RequestEventDecision =
  { action: 'allow'; code?: string; expiry?: string } | { action: 'deny' } | { action: 'invalid' };

/** Reads the receiver's answer to a VerificationRequestEvent (reference doc §8). */
export function readRequestEventAnswer(delivery: CallbackDelivery, method: string): RequestEventDecision {
  if (delivery.status === undefined || delivery.status < 200 || delivery.status > 299) return { action: 'invalid' };
  let answer: unknown;
  try {
    answer = JSON.parse(delivery.responseBody ?? '');
  } catch {
    return { action: 'invalid' };
  }
  if (!isRecord(answer) || typeof answer.action !== 'string') return { action: 'invalid' };
  const action = answer.action.toLowerCase();
  if (action === 'deny') return { action: 'deny' };
  if (action !== 'allow') return { action: 'invalid' };
  const options = findKey(answer, method === 'flashcall' ? 'flashcall' : method);
  if (!isRecord(options)) return { action: 'allow' };
  const code = options.code ?? options.cli;
  return {
    action: 'allow',
    ...(typeof code === 'string' && code !== '' ? { code } : {}),
    ...(typeof options.expiry === 'string' ? { expiry: options.expiry } : {}),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Property lookup ignoring case, because Sinch clients send both `flashCall` and `flashcall`. */
export function findKey(object: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(object, key)) return object[key];
  const wanted = key.toLowerCase();
  const match = Object.keys(object).find((k) => k.toLowerCase() === wanted);
  return match === undefined ? undefined : object[match];
}
