import { randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalLocale, parseAcceptLanguage } from '../utils/locale';
import { maskPhone } from '../utils/mask';
import { authenticate, headerValue, safeDecode } from './auth';
import type { CallbackDelivery, VerificationEvent } from './callbacks';
import { CallbackSender, findKey, isRecord, readRequestEventAnswer } from './callbacks';
import { defaultErrorCode, sinchError, SinchApiError } from './errors';
import { canAnswer, JSON_CONTENT_TYPE, readBody, writeAnswer } from './http-io';
import { pushBounded } from './ring-buffer';
import { sandboxRangeOf, type SandboxRange } from './sandbox';
import type { VerificationMethod, VerificationRecord, VerificationStatus } from './verification-store';
import { VerificationStore } from './verification-store';
import {
  clip,
  describeValue,
  generateCode,
  parseCodeType,
  parseExpiry,
  parseMethod,
  sinchTimestamp,
  validateEndpoint,
} from './wire-format';

export { SANDBOX_NUMBERS, sandboxNumber, sandboxRangeOf } from './sandbox';
export type { SandboxBehaviour, SandboxRange } from './sandbox';
export type { CallbackDelivery, VerificationEvent } from './callbacks';
export type { VerificationMethod, VerificationStatus } from './verification-store';

export interface EmulatorOptions {
  applicationKey: string;
  /** Base64, as Sinch issues it. */
  applicationSecret: string;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Clock in ms for the verification lifecycle (expiry, timestamps); default Date.now. */
  now?: () => number;
  /** Default 4. */
  codeLength?: number;
  /** Every SMS/WhatsApp/callout code is this value (load tests verify without reading an inbox). */
  fixedCode?: string;
  /** Wrong code reported by id: 200 FAIL "Invalid code" (default) or 400 40003. */
  wrongCodeById?: 'fail' | '40003';
  /** The Nth wrong report turns the verification FAIL (default 10). */
  maxReportAttempts?: number;
  /** When smsOptions.expiry is absent (default 600). */
  defaultExpirySeconds?: number;
  /** Signed requests: allowed |wall clock - x-timestamp| (default 600). */
  timestampSkewSeconds?: number;
  /** If set, signed callbacks are delivered here. */
  callbackUrl?: string;
  /** Signing credentials for callbacks; default applicationKey / applicationSecret. */
  callbackKey?: string;
  callbackSecret?: string;
  /** Scripted sandbox numbers (default true). */
  sandbox?: boolean;
  /**
   * E.164 numbers whose SMS is never delivered, like the `undelivered` sandbox range: the
   * VerificationSmsDeliveredEvent says Failed. Calls and WhatsApp messages still get through.
   */
  undeliveredNumbers?: readonly string[];
  /** Wait this long (wall clock) after the start answer before the VerificationSmsDeliveredEvent (default 0). */
  deliveryReportDelayMs?: number;
  /** Called for every emulated message "sent" (SMS, and also flashcall / callout / WhatsApp); errors are only warned about. */
  onMessage?: (msg: EmulatedMessage) => void;
  /** Print each code to stdout, clearly labelled and with the number masked (default false). */
  printCodes?: boolean;
  /** Ring buffer size for requests, inbox and callback deliveries (default 1000). */
  recordLimit?: number;

  /**
   * Report after SUCCESSFUL. 'idempotent' (default): the right code answers SUCCESSFUL again, a
   * wrong one the usual wrong-code answer. 'expired': any report answers 200 FAIL "Expired".
   */
  reportAfterSuccess?: 'idempotent' | 'expired';
  /** When the VerificationRequestEvent gets no usable answer: go on (default) or DENIED "Invalid callback". */
  callbackFailure?: 'allow' | 'deny';
  /** Per-callback timeout (default 5000 ms). */
  callbackTimeoutMs?: number;
  /** If set, 429 answers carry `Retry-After` with this many seconds (Sinch's behaviour is unconfirmed). */
  retryAfterSeconds?: number;
  /** Request bodies beyond this answer 413 (default 64 KiB). */
  maxBodyBytes?: number;
  /** Hard cap on remembered verifications; the oldest are evicted first (default 50 000). */
  maxVerifications?: number;
  /** How long a verification stays queryable after its expiry (default 600). */
  retentionGraceSeconds?: number;
}

export interface EmulatedMessage {
  verificationId: string;
  to: string;
  /** '' when the message was not delivered (the code never reached anyone). */
  code: string;
  sentAt: string;
  delivered: boolean;
  reference?: string;
  /** Channel of the message; for flashcall `code` is the calling number (CLI). */
  method: VerificationMethod;
  /**
   * Language of the message (BCP 47): `calloutOptions.speech.locale` for a call, else the most
   * wanted `Accept-Language` of the start; absent when the start named none (Sinch's default).
   */
  locale?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  json: unknown;
  /** HTTP status answered; 0 while unanswered, or when dropped / held. */
  status: number;
  at: number;
}

export type FaultOp = 'start' | 'report' | 'status' | 'any';
export type Fault =
  | { kind: 'status'; status: number; body?: unknown }
  | { kind: 'delay'; ms: number }
  | { kind: 'malformed' }
  | { kind: 'empty' }
  | { kind: 'drop' };

export interface SinchEmulator {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  readonly inbox: EmulatedMessage[];
  /** Every callback attempt, most recent last (ring buffer). */
  readonly callbackDeliveries: CallbackDelivery[];
  lastCodeFor(phoneNumber: string): string | undefined;
  /** From now on, SMS to this number are never delivered (as with `undeliveredNumbers`); `reset()` forgets it. */
  failSmsDelivery(phoneNumber: string): void;
  injectFault(op: FaultOp, fault: Fault, times?: number): void;
  clearFaults(): void;
  reset(): void;
  /** Resolves once every callback started so far has been delivered or has failed. */
  flushCallbacks(): Promise<void>;
  close(): Promise<void>;
}

const API_PREFIX = '/verification/v1/verifications';
const CONTROL_PREFIX = '/_emulator';
const FAULT_OPS: readonly FaultOp[] = ['start', 'report', 'status', 'any'];
const SMS_TEMPLATE = 'Your verification code is {{CODE}}. Verified by Sinch';
const FINAL_REASON_INVALID_CODE = 'Invalid code';
const PRICE = { currencyId: 'EUR', amount: 0.0453 };
/** The start body's option object of each method (reference §2.1); flashcall's is not read. */
const OPTIONS_KEYS: Partial<Record<VerificationMethod, string>> = {
  sms: 'smsOptions',
  whatsapp: 'whatsappOptions',
  callout: 'calloutOptions',
};
/** Methods whose message carries a code in a language: a text, a chat message, a voice reading it. */
const MESSAGE_METHODS: ReadonlySet<VerificationMethod> = new Set(['sms', 'whatsapp', 'callout']);

type Settings = Required<
  Omit<
    EmulatorOptions,
    | 'callbackUrl'
    | 'onMessage'
    | 'retryAfterSeconds'
    | 'callbackKey'
    | 'callbackSecret'
    | 'fixedCode'
    | 'undeliveredNumbers'
  >
> &
  Pick<EmulatorOptions, 'callbackUrl' | 'onMessage' | 'retryAfterSeconds' | 'fixedCode'> & {
    undeliveredNumbers: readonly string[];
    callbackKey: string;
    callbackSecret: string;
  };

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  rawPath: string;
  query: URLSearchParams;
  rawBody: Buffer;
  text: string;
  parsed: { ok: true; value: unknown } | { ok: false };
  record?: RecordedRequest;
}

type Target = { by: 'id'; id: string } | { by: 'number'; endpoint: string };
type StatusTarget =
  Target | { by: 'reference'; reference: string } | { by: 'method'; method: string; endpoint: string };
type Route = { op: 'start' } | { op: 'report'; target: Target } | { op: 'status'; target: StatusTarget };
type RouteMatch =
  { kind: 'route'; route: Route } | { kind: 'not-found' } | { kind: 'method-not-allowed'; allow: string };

/**
 * Starts an in-process emulator of the Sinch Verification API (see src/emulator/README.md) and
 * resolves once it listens. Every emulator owns its state, so several can run in one process.
 */
export async function createSinchEmulator(options: EmulatorOptions): Promise<SinchEmulator> {
  const emulator = new Emulator(resolveSettings(options));
  await emulator.listen();
  return emulator;
}

function resolveSettings(options: EmulatorOptions): Settings {
  if (!options.applicationKey) throw new TypeError('applicationKey is required');
  if (!options.applicationSecret) throw new TypeError('applicationSecret is required');
  const settings: Settings = {
    host: '127.0.0.1',
    port: 0,
    now: Date.now,
    codeLength: 4,
    wrongCodeById: 'fail',
    maxReportAttempts: 10,
    defaultExpirySeconds: 600,
    timestampSkewSeconds: 600,
    sandbox: true,
    printCodes: false,
    recordLimit: 1000,
    reportAfterSuccess: 'idempotent',
    callbackFailure: 'allow',
    callbackTimeoutMs: 5000,
    maxBodyBytes: 64 * 1024,
    maxVerifications: 50_000,
    retentionGraceSeconds: 600,
    deliveryReportDelayMs: 0,
    undeliveredNumbers: [],
    ...withoutUndefined(options),
    applicationKey: options.applicationKey,
    applicationSecret: options.applicationSecret,
    callbackKey: options.callbackKey ?? options.applicationKey,
    callbackSecret: options.callbackSecret ?? options.applicationSecret,
  };
  requireInteger('codeLength', settings.codeLength, 1, 12);
  if (settings.fixedCode !== undefined && !/^[A-Za-z0-9]{1,12}$/.test(settings.fixedCode))
    throw new RangeError('fixedCode must be 1-12 letters or digits');
  requireInteger('maxReportAttempts', settings.maxReportAttempts, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('defaultExpirySeconds', settings.defaultExpirySeconds, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('recordLimit', settings.recordLimit, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('maxBodyBytes', settings.maxBodyBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('maxVerifications', settings.maxVerifications, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('port', settings.port, 0, 65535);
  requireInteger('timestampSkewSeconds', settings.timestampSkewSeconds, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('retentionGraceSeconds', settings.retentionGraceSeconds, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('callbackTimeoutMs', settings.callbackTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('deliveryReportDelayMs', settings.deliveryReportDelayMs, 0, 2_147_483_647);
  for (const number of settings.undeliveredNumbers) {
    if (!/^\+\d{1,15}$/.test(number)) throw new RangeError(`undeliveredNumbers: ${number} is not an E.164 number`);
  }
  // Plain-JS callers (and the CLI's environment) get no compile-time check of these unions.
  if (!['fail', '40003'].includes(settings.wrongCodeById))
    throw new RangeError('wrongCodeById must be "fail" or "40003"');
  if (!['idempotent', 'expired'].includes(settings.reportAfterSuccess)) {
    throw new RangeError('reportAfterSuccess must be "idempotent" or "expired"');
  }
  if (!['allow', 'deny'].includes(settings.callbackFailure))
    throw new RangeError('callbackFailure must be "allow" or "deny"');
  if (settings.callbackUrl !== undefined) new URL(settings.callbackUrl); // throws early on a typo
  return settings;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
}

class Emulator implements SinchEmulator {
  readonly requests: RecordedRequest[] = [];
  readonly inbox: EmulatedMessage[] = [];
  private readonly server: Server;
  private readonly store: VerificationStore;
  private readonly callbacks?: CallbackSender;
  private readonly faults = new Map<FaultOp, QueuedFault[]>();
  private readonly delays = new Set<{ timer: NodeJS.Timeout; resolve: (proceed: boolean) => void }>();
  /** Numbers whose SMS never arrive: `undeliveredNumbers` plus `failSmsDelivery` calls since the last reset. */
  private readonly undelivered: Set<string>;
  /** Delivery reports waiting for their start answer to go out (and the configured delay). */
  private readonly pendingReports = new Set<{ cancel: () => void; done: Promise<void> }>();
  private closing?: Promise<void>;
  private boundPort = 0;

  constructor(private readonly settings: Settings) {
    this.undelivered = new Set(settings.undeliveredNumbers);
    this.store = new VerificationStore({
      maxEntries: settings.maxVerifications,
      graceMs: settings.retentionGraceSeconds * 1000,
      sweepEveryMs: 5000,
      now: settings.now,
    });
    if (settings.callbackUrl !== undefined) {
      this.callbacks = new CallbackSender({
        url: settings.callbackUrl,
        applicationKey: settings.callbackKey,
        applicationSecret: settings.callbackSecret,
        timeoutMs: settings.callbackTimeoutMs,
        recordLimit: settings.recordLimit,
      });
    }
    this.server = createServer((req, res) => {
      // A client that hung up must not surface as an unhandled 'error' event.
      res.on('error', () => undefined);
      this.handle(req, res).catch((error: unknown) => this.answerInternalError(res, error));
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable || error.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
      const payload = JSON.stringify(
        sinchError(tooLarge ? 43100 : 40001, tooLarge ? 'Request headers too large.' : 'Malformed HTTP request.'),
      );
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: ${JSON_CONTENT_TYPE}\r\n` +
          `content-length: ${Buffer.byteLength(payload)}\r\nconnection: close\r\n\r\n${payload}`,
      );
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.settings.host;
    const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${this.boundPort}`;
  }

  get callbackDeliveries(): CallbackDelivery[] {
    return this.callbacks?.deliveries ?? [];
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.settings.port, this.settings.host, () => {
        this.server.off('error', reject);
        this.boundPort = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  lastCodeFor(phoneNumber: string): string | undefined {
    const latest = this.store.latestFor(phoneNumber);
    if (latest !== undefined) return latest.delivered && latest.code !== '' ? latest.code : undefined;
    // The verification may have been pruned while its message is still in the inbox.
    for (let i = this.inbox.length - 1; i >= 0; i -= 1) {
      const message = this.inbox[i];
      if (message?.to === phoneNumber) return message.delivered ? message.code : undefined;
    }
    return undefined;
  }

  failSmsDelivery(phoneNumber: string): void {
    this.undelivered.add(phoneNumber);
  }

  injectFault(op: FaultOp, fault: Fault, times = 1): void {
    if (!FAULT_OPS.includes(op)) throw new TypeError(`op must be one of ${FAULT_OPS.join(', ')}`);
    const checked = parseFault(fault);
    if (!(times > 0) || (!Number.isInteger(times) && times !== Number.POSITIVE_INFINITY)) {
      throw new TypeError('times must be a positive integer (or Infinity)');
    }
    const queue = this.faults.get(op) ?? [];
    queue.push({ fault: checked, remaining: times });
    this.faults.set(op, queue);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  reset(): void {
    this.requests.length = 0;
    this.inbox.length = 0;
    this.callbackDeliveries.length = 0;
    this.faults.clear();
    this.store.clear();
    this.undelivered.clear();
    for (const number of this.settings.undeliveredNumbers) this.undelivered.add(number);
  }

  async flushCallbacks(): Promise<void> {
    while (this.pendingReports.size > 0) await Promise.all([...this.pendingReports].map((p) => p.done));
    await this.callbacks?.flush();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.callbacks?.close();
      for (const delay of this.delays) {
        clearTimeout(delay.timer);
        delay.resolve(false);
      }
      this.delays.clear();
      for (const report of this.pendingReports) report.cancel();
      this.server.close(() => resolve());
      // Held sockets (timeout sandbox, delays, keep-alive) would otherwise keep close() waiting.
      this.server.closeAllConnections();
    }).then(() => this.flushCallbacks());
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // Request pipeline

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const isControl = rawPath === CONTROL_PREFIX || rawPath.startsWith(`${CONTROL_PREFIX}/`);
    const record: RecordedRequest | undefined = isControl
      ? undefined
      : { method, path: rawPath, headers: { ...req.headers }, rawBody: '', json: undefined, status: 0, at: this.now() };
    if (record) pushBounded(this.requests, record, this.settings.recordLimit);

    const body = await readBody(req, this.settings.maxBodyBytes);
    if (body.kind === 'aborted') return;
    const ex: Exchange = {
      req,
      res,
      method,
      rawPath,
      query: new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1)),
      rawBody: body.kind === 'ok' ? body.body : Buffer.alloc(0),
      text: '',
      parsed: { ok: false },
      ...(record ? { record } : {}),
    };
    if (body.kind === 'too-large') {
      const error = new SinchApiError(413, 41300, `Request body exceeds ${this.settings.maxBodyBytes} bytes.`);
      this.answer(ex, error.httpStatus, error.body, body.drained ? {} : { connection: 'close' });
      return;
    }
    ex.text = ex.rawBody.toString('utf8');
    ex.parsed = parseJson(ex.text);
    if (record) {
      record.rawBody = ex.text;
      record.json = ex.parsed.ok ? ex.parsed.value : undefined;
    }

    try {
      if (isControl) this.handleControl(ex);
      else await this.handleApi(ex);
    } catch (error) {
      if (!(error instanceof SinchApiError)) throw error;
      this.answer(ex, error.httpStatus, error.body, this.errorHeaders(error));
    }
  }

  private async handleApi(ex: Exchange): Promise<void> {
    this.store.prune();
    const match = matchRoute(ex.method, ex.rawPath);
    if (match.kind === 'not-found') throw new SinchApiError(404, 40400);
    if (match.kind === 'method-not-allowed') {
      throw new SinchApiError(405, 40500, `Method ${clip(ex.method)} is not allowed here.`, { allow: match.allow });
    }
    const { route } = match;
    const fault = this.takeFault(route.op);
    if (fault !== undefined) {
      const proceed = await this.applyFault(ex, fault);
      if (!proceed) return;
    }
    authenticate(
      { method: ex.method, rawPath: ex.rawPath, headers: ex.req.headers, rawBody: ex.rawBody },
      {
        applicationKey: this.settings.applicationKey,
        applicationSecret: this.settings.applicationSecret,
        timestampSkewSeconds: this.settings.timestampSkewSeconds,
        publicAllowed: this.callbacks !== undefined,
        wallClock: Date.now,
      },
    );
    switch (route.op) {
      case 'start':
        return this.start(ex);
      case 'report':
        return this.report(ex, route.target);
      case 'status':
        return this.status(ex, route.target);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sinch operations

  private async start(ex: Exchange): Promise<void> {
    const request = readStart(requireObject(ex), this.settings.defaultExpirySeconds);
    if (request.reference !== undefined && this.store.byReferenceOf(request.reference) !== undefined)
      throw new SinchApiError(409, 40900);
    const sandbox = this.settings.sandbox ? sandboxRangeOf(request.endpoint) : undefined;
    // A 'timeout' number's start is never answered: the client's timeout (or close()) ends the exchange.
    if (sandboxRefusal(sandbox) === 'hang') return;

    const verification = this.newVerification(ex, request, sandbox);
    const previous = this.store.latestFor(verification.endpoint);
    if (previous !== undefined && !this.expireIfDue(previous) && previous.status === 'PENDING') {
      previous.status = 'ABORTED';
    }
    // Stored before the callback is awaited, so a concurrent start with the same reference conflicts.
    this.store.add(verification);

    if (this.callbacks !== undefined) await this.askCallback(verification);
    if (verification.status === 'PENDING' && verification.method !== 'seamless') this.send(verification, ex.res);

    // Sinch names the language it used (reference §2.3); the emulator "uses" the one asked for.
    if (verification.locale !== undefined) ex.res.setHeader('content-language', verification.locale);
    this.answer(ex, 200, this.startAnswer(ex, verification, request.expirySeconds));
  }

  /** The new PENDING verification a start creates, with its code and its language. */
  private newVerification(ex: Exchange, request: StartRequest, sandbox: SandboxRange | undefined): VerificationRecord {
    const { method, endpoint, reference, custom, countryId, codeType } = request;
    const now = this.now();
    // fetch-based clients send `*` by default, which names no language; a bad header names none either.
    const acceptLanguage = parseAcceptLanguage(ex.req.headers['accept-language']);
    const locale = MESSAGE_METHODS.has(method) ? (request.speechLocale ?? acceptLanguage[0]) : undefined;
    return {
      id: randomUUID(),
      method,
      endpoint,
      ...(reference !== undefined ? { reference } : {}),
      ...(custom !== undefined ? { custom } : {}),
      ...(acceptLanguage.length > 0 ? { acceptLanguage } : {}),
      ...(locale !== undefined ? { locale } : {}),
      ...(countryId !== undefined ? { countryId } : {}),
      code: this.newSecret(method, codeType, sandbox?.code),
      codeType,
      delivered: method !== 'seamless' && !(method === 'sms' && this.smsUndelivered(endpoint, sandbox)),
      status: 'PENDING',
      wrongReports: 0,
      createdAt: now,
      expiresAt: now + request.expirySeconds * 1000,
    };
  }

  private async askCallback(verification: VerificationRecord): Promise<void> {
    const delivery = await this.deliver({
      id: verification.id,
      event: 'VerificationRequestEvent',
      method: verification.method,
      identity: { type: 'number', endpoint: verification.endpoint },
      price: { amount: PRICE.amount, currencyId: PRICE.currencyId },
      rate: { amount: 0, currencyId: PRICE.currencyId },
      ...pickDefined(verification, ['reference', 'custom', 'acceptLanguage']),
    });
    if (delivery === undefined || verification.status !== 'PENDING') return;
    const decision = readRequestEventAnswer(delivery, verification.method);
    if (decision.action === 'deny') {
      this.setFinal(verification, 'DENIED', 'Denied by callback');
      verification.delivered = false;
    } else if (decision.action === 'invalid') {
      if (this.settings.callbackFailure === 'deny') {
        this.setFinal(verification, 'DENIED', 'Invalid callback');
        verification.delivered = false;
      }
    } else {
      // The backend may choose the code and expiry itself (reference doc §8, "allow" answers).
      if (decision.code !== undefined && verification.method !== 'seamless') verification.code = decision.code;
      const expiry = parseExpiry(decision.expiry);
      if (expiry !== undefined) verification.expiresAt = verification.createdAt + expiry * 1000;
    }
  }

  private smsUndelivered(endpoint: string, sandbox: SandboxRange | undefined): boolean {
    return sandbox?.behaviour === 'undelivered' || this.undelivered.has(endpoint);
  }

  private send(verification: VerificationRecord, res: ServerResponse): void {
    const message: EmulatedMessage = {
      verificationId: verification.id,
      to: verification.endpoint,
      code: verification.delivered ? verification.code : '',
      sentAt: new Date(this.now()).toISOString(),
      delivered: verification.delivered,
      ...(verification.reference !== undefined ? { reference: verification.reference } : {}),
      method: verification.method,
      ...(verification.locale !== undefined ? { locale: verification.locale } : {}),
    };
    pushBounded(this.inbox, message, this.settings.recordLimit);
    if (this.settings.printCodes) printMessage(message);
    if (this.settings.onMessage !== undefined) {
      // The listener belongs to the caller; turning its bug into a Sinch 500 (or, for an async
      // listener, an unhandled rejection that ends the process) would mislead.
      const warn = (error: unknown): void =>
        process.emitWarning(`sinch-emulator onMessage listener threw: ${String(error)}`);
      try {
        const result: unknown = this.settings.onMessage(message);
        if (result instanceof Promise) result.catch(warn);
      } catch (error) {
        warn(error);
      }
    }
    // Sinch reports delivery for SMS only (reference §8); there is no such event for calls or WhatsApp.
    if (verification.method === 'sms' && this.callbacks !== undefined) {
      this.reportDelivery(res, {
        id: verification.id,
        event: 'VerificationSmsDeliveredEvent',
        method: 'sms',
        identity: { type: 'number', endpoint: verification.endpoint },
        smsResult: verification.delivered ? 'Successful' : 'Failed',
        ...pickDefined(verification, ['reference', 'custom']),
      });
    }
  }

  /**
   * A delivery report goes out only once the start answer has (after `deliveryReportDelayMs`): a
   * real one comes seconds later, and a report racing ahead of the answer that carries the id
   * would test a case that never happens.
   */
  private reportDelivery(res: ServerResponse, event: VerificationEvent): void {
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    let release = (): void => undefined;
    const done = new Promise<void>((resolve) => {
      release = resolve;
      const fire = (): void => {
        if (!cancelled) void this.deliver(event);
        resolve();
      };
      const answered = (): void => {
        if (cancelled) return resolve();
        if (this.settings.deliveryReportDelayMs === 0) return fire();
        timer = setTimeout(fire, this.settings.deliveryReportDelayMs);
      };
      if (res.writableFinished || res.destroyed) answered();
      else res.once('close', answered);
    });
    const entry = {
      cancel: () => {
        cancelled = true;
        clearTimeout(timer);
        release();
      },
      done,
    };
    this.pendingReports.add(entry);
    void done.finally(() => this.pendingReports.delete(entry));
  }

  private report(ex: Exchange, target: Target): void {
    const body = requireObject(ex);
    const submitted = readReport(body);
    const verification = target.by === 'id' ? this.store.get(target.id) : this.store.latestFor(target.endpoint);
    if (verification === undefined) throw new SinchApiError(404, 40400);

    if (this.expireIfDue(verification)) this.announceResult(verification);
    const right =
      submitted.method === verification.method &&
      verification.code !== '' &&
      normaliseSecret(submitted.secret, verification.method) ===
        normaliseSecret(verification.code, verification.method);

    if (verification.status === 'SUCCESSFUL' && this.settings.reportAfterSuccess === 'idempotent') {
      // A client retrying a report whose answer it lost gets the same answer; a wrong code stays wrong.
      if (right) this.answer(ex, 200, reportAnswer(verification, 'SUCCESSFUL'));
      else this.answerWrongCode(ex, verification, target);
      return;
    }
    if (verification.status === 'SUCCESSFUL') {
      this.answer(ex, 200, reportAnswer(verification, 'FAIL', 'Expired'));
      return;
    }
    if (verification.status !== 'PENDING') {
      this.answer(ex, 200, reportAnswer(verification, verification.status, verification.reason));
      return;
    }

    if (right) {
      verification.source = submitted.source ?? 'manual';
      this.setFinal(verification, 'SUCCESSFUL');
      this.announceResult(verification);
      this.answer(ex, 200, reportAnswer(verification, 'SUCCESSFUL'));
      return;
    }

    verification.wrongReports += 1;
    if (verification.wrongReports >= this.settings.maxReportAttempts) {
      this.setFinal(verification, 'FAIL', FINAL_REASON_INVALID_CODE);
      this.announceResult(verification);
    }
    this.answerWrongCode(ex, verification, target);
  }

  private answerWrongCode(ex: Exchange, verification: VerificationRecord, target: Target): void {
    if (target.by === 'number' || this.settings.wrongCodeById === '40003') throw new SinchApiError(400, 40003);
    this.answer(ex, 200, reportAnswer(verification, 'FAIL', FINAL_REASON_INVALID_CODE));
  }

  private status(ex: Exchange, target: StatusTarget): void {
    const verification = this.findForStatus(target);
    if (verification === undefined) throw new SinchApiError(404, 40400);
    this.expireIfDue(verification);
    this.answer(ex, 200, statusAnswer(verification));
  }

  private findForStatus(target: StatusTarget): VerificationRecord | undefined {
    switch (target.by) {
      case 'id':
        return this.store.get(target.id);
      case 'number':
        return this.store.latestFor(target.endpoint);
      case 'reference':
        return this.store.byReferenceOf(target.reference);
      case 'method': {
        const method = parseMethod(target.method);
        return method === undefined ? undefined : this.store.latestFor(target.endpoint, method);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Control API (no auth: it only exists on the emulator)

  private handleControl(ex: Exchange): void {
    const sub = ex.rawPath.slice(CONTROL_PREFIX.length).replace(/\/$/, '') || '/';
    const only = (allowed: string): void => {
      if (ex.method !== allowed)
        throw new SinchApiError(405, 40500, `Method ${clip(ex.method)} is not allowed here.`, { allow: allowed });
    };
    if (sub === '/health') {
      only('GET');
      this.answer(ex, 200, {
        status: 'ok',
        verifications: this.store.size,
        requests: this.requests.length,
        inbox: this.inbox.length,
      });
    } else if (sub === '/inbox') {
      only('GET');
      const to = queryNumber(ex.query, 'to');
      this.answer(ex, 200, { messages: to === undefined ? this.inbox : this.inbox.filter((m) => m.to === to) });
    } else if (sub === '/last-code') {
      only('GET');
      const to = queryNumber(ex.query, 'to');
      if (to === undefined) throw new SinchApiError(400, 40002, 'Query parameter "to" is missing.');
      const code = this.lastCodeFor(to);
      if (code === undefined) throw new SinchApiError(404, 40400, 'No delivered code for this number.');
      this.answer(ex, 200, { to, code });
    } else if (sub === '/requests') {
      only('GET');
      this.answer(ex, 200, { requests: this.requests.map(redactRequest) });
    } else if (sub === '/callbacks') {
      only('GET');
      this.answer(ex, 200, { deliveries: this.callbackDeliveries });
    } else if (sub === '/faults') {
      if (ex.method === 'DELETE') {
        this.clearFaults();
        this.answer(ex, 200, { status: 'ok' });
        return;
      }
      only('POST');
      const body = requireObject(ex);
      try {
        this.injectFault(
          body.op as FaultOp,
          body.fault as Fault,
          body.times === undefined ? 1 : (body.times as number),
        );
      } catch (error) {
        throw new SinchApiError(400, 40001, error instanceof Error ? error.message : 'Invalid fault.');
      }
      this.answer(ex, 200, { status: 'ok', queued: { op: body.op, fault: body.fault, times: body.times ?? 1 } });
    } else if (sub === '/reset') {
      only('POST');
      this.reset();
      this.answer(ex, 200, { status: 'ok' });
    } else if (sub.startsWith('/seamless/')) {
      only('GET');
      this.completeSeamless(ex, safeDecode(sub.slice('/seamless/'.length)) ?? '');
    } else {
      throw new SinchApiError(404, 40400);
    }
  }

  /** The `targetUri` of a seamless verification: fetching it proves the number, like the carrier hop does. */
  private completeSeamless(ex: Exchange, id: string): void {
    const verification = this.store.get(id);
    if (verification?.method !== 'seamless') throw new SinchApiError(404, 40400);
    if (this.expireIfDue(verification)) this.announceResult(verification);
    if (verification.status === 'PENDING') {
      verification.source = 'intercepted';
      this.setFinal(verification, 'SUCCESSFUL');
      this.announceResult(verification);
    }
    this.answer(ex, 200, reportAnswer(verification, verification.status, verification.reason));
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers with state

  private now(): number {
    return this.settings.now();
  }

  private newSecret(method: VerificationMethod, codeType: VerificationRecord['codeType'], fixed?: string): string {
    if (method === 'seamless') return '';
    if (fixed !== undefined) return fixed;
    if (method === 'flashcall') return `+1815654${String(randomInt(10_000)).padStart(4, '0')}`;
    return (
      this.settings.fixedCode ?? generateCode(this.settings.codeLength, method === 'callout' ? 'Numeric' : codeType)
    );
  }

  /** Lazily applies expiry; true when this call moved the verification to FAIL / Expired. */
  private expireIfDue(verification: VerificationRecord): boolean {
    if (verification.status !== 'PENDING' || this.now() < verification.expiresAt) return false;
    this.setFinal(verification, 'FAIL', 'Expired');
    return true;
  }

  private setFinal(verification: VerificationRecord, status: VerificationStatus, reason?: string): void {
    verification.status = status;
    if (reason === undefined) delete verification.reason;
    else verification.reason = reason;
  }

  private announceResult(verification: VerificationRecord): void {
    void this.deliver({
      id: verification.id,
      event: 'VerificationResultEvent',
      method: verification.method,
      identity: { type: 'number', endpoint: verification.endpoint },
      status: verification.status,
      ...pickDefined(verification, ['reason', 'reference', 'source', 'custom']),
    });
  }

  private async deliver(event: VerificationEvent): Promise<CallbackDelivery | undefined> {
    return this.callbacks?.deliver(event);
  }

  private takeFault(op: Exclude<FaultOp, 'any'>): Fault | undefined {
    for (const queue of [this.faults.get(op), this.faults.get('any')]) {
      const next = queue?.[0];
      if (queue === undefined || next === undefined) continue;
      next.remaining -= 1;
      if (next.remaining <= 0) queue.shift();
      return next.fault;
    }
    return undefined;
  }

  /** Answers (or not) as the fault says; true when the request should then be handled normally. */
  private async applyFault(ex: Exchange, fault: Fault): Promise<boolean> {
    switch (fault.kind) {
      case 'delay':
        return this.sleep(fault.ms);
      case 'status': {
        const body = fault.body ?? sinchError(defaultErrorCode(fault.status));
        if (typeof body === 'string') this.answerRaw(ex, fault.status, 'text/plain; charset=utf-8', body);
        else this.answer(ex, fault.status, body);
        return false;
      }
      case 'malformed':
        this.answerRaw(ex, 200, 'text/html; charset=utf-8', '<html>oops');
        return false;
      case 'empty':
        this.answer(ex, 200, {});
        return false;
      case 'drop':
        ex.req.socket.destroy();
        return false;
    }
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.delays.delete(entry);
          resolve(true);
        }, ms),
        resolve,
      };
      this.delays.add(entry);
    });
  }

  private errorHeaders(error: SinchApiError): Record<string, string> {
    if (error.httpStatus === 429 && this.settings.retryAfterSeconds !== undefined) {
      return { ...error.headers, 'retry-after': String(this.settings.retryAfterSeconds) };
    }
    return { ...error.headers };
  }

  private startAnswer(ex: Exchange, verification: VerificationRecord, expirySeconds: number): Record<string, unknown> {
    const href = `${this.linkBase(ex)}${API_PREFIX}/id/${verification.id}`;
    const answer: Record<string, unknown> = { id: verification.id, method: verification.method };
    switch (verification.method) {
      case 'sms':
        answer.sms = { template: SMS_TEMPLATE, interceptionTimeout: expirySeconds, codeType: verification.codeType };
        break;
      case 'flashcall':
        answer.flashCall = {
          cliFilter: `(.*)${verification.code.slice(-4)}(.*)`,
          interceptionTimeout: 45,
          reportTimeout: 75,
          denyCallAfter: 0,
        };
        break;
      case 'whatsapp':
        answer.whatsapp = { codeType: verification.codeType };
        break;
      case 'seamless':
        answer.seamless = { targetUri: `${this.linkBase(ex)}${CONTROL_PREFIX}/seamless/${verification.id}` };
        break;
      case 'callout':
        break;
    }
    answer._links = [
      { rel: 'status', href, method: 'GET' },
      { rel: 'report', href, method: 'PUT' },
    ];
    return answer;
  }

  /** Links point where the client reached us (Docker, proxies), falling back to the bound address. */
  private linkBase(ex: Exchange): string {
    const host = headerValue(ex.req.headers, 'host');
    if (host !== undefined && /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/.test(host)) return `http://${host}`;
    return this.url;
  }

  private answer(ex: Exchange, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.answerRaw(ex, status, JSON_CONTENT_TYPE, JSON.stringify(body), headers);
  }

  private answerRaw(
    ex: Exchange,
    status: number,
    contentType: string,
    payload: string,
    headers: Record<string, string> = {},
  ): void {
    if (!canAnswer(ex.res)) return;
    if (ex.record) ex.record.status = status;
    writeAnswer(ex.res, status, contentType, payload, headers);
  }

  private answerInternalError(res: ServerResponse, error: unknown): void {
    // Surfaced as a process warning, not thrown: an emulator bug must not kill the test run.
    process.emitWarning(
      `sinch-emulator internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    if (!canAnswer(res)) {
      res.destroy();
      return;
    }
    writeAnswer(res, 500, JSON_CONTENT_TYPE, JSON.stringify(sinchError(50000)));
  }
}

// -----------------------------------------------------------------------------------------------
// Pure helpers

function matchRoute(method: string, rawPath: string): RouteMatch {
  const path = rawPath.length > 1 ? rawPath.replace(/\/$/, '') : rawPath;
  if (path !== API_PREFIX && !path.startsWith(`${API_PREFIX}/`)) return { kind: 'not-found' };
  const raw = path === API_PREFIX ? [] : path.slice(API_PREFIX.length + 1).split('/');
  const segments = raw.map((s) => safeDecode(s));
  if (segments.some((s) => s === undefined || s === '')) return { kind: 'not-found' };
  const [first, second, third] = segments as string[];
  const allowOnly = (allow: string, route: Route): RouteMatch =>
    allow.split(', ').includes(method) ? { kind: 'route', route } : { kind: 'method-not-allowed', allow };

  if (segments.length === 0) return allowOnly('POST', { op: 'start' });
  if (segments.length === 2 && first === 'id' && second !== undefined) {
    if (method === 'PUT') return { kind: 'route', route: { op: 'report', target: { by: 'id', id: second } } };
    return allowOnly('GET, PUT', { op: 'status', target: { by: 'id', id: second } });
  }
  if (segments.length === 2 && first === 'number' && second !== undefined) {
    return allowOnly('PUT', { op: 'report', target: { by: 'number', endpoint: second } });
  }
  if (segments.length === 2 && first === 'reference' && second !== undefined) {
    return allowOnly('GET', { op: 'status', target: { by: 'reference', reference: second } });
  }
  if (segments.length === 3 && second === 'number' && first !== undefined && third !== undefined) {
    return allowOnly('GET', { op: 'status', target: { by: 'method', method: first, endpoint: third } });
  }
  return { kind: 'not-found' };
}

function parseJson(text: string): Exchange['parsed'] {
  if (text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function requireObject(ex: Exchange): Record<string, unknown> {
  if (!ex.parsed.ok) {
    throw new SinchApiError(
      400,
      40001,
      ex.text.trim() === '' ? 'Request body is missing.' : 'Request body is not valid JSON.',
    );
  }
  if (!isRecord(ex.parsed.value)) throw new SinchApiError(400, 40001, 'Request body must be a JSON object.');
  return ex.parsed.value;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new SinchApiError(400, 40001, `${key} must be a non-empty string.`);
  return value;
}

function pickDefined<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}

/** What a start asks for. */
interface StartRequest {
  endpoint: string;
  method: VerificationMethod;
  countryId: string | undefined;
  reference: string | undefined;
  custom: string | undefined;
  expirySeconds: number;
  codeType: VerificationRecord['codeType'];
  speechLocale: string | undefined;
}

/** Reads a start body, refusing what Sinch refuses with its error (the first problem found). */
function readStart(body: Record<string, unknown>, defaultExpirySeconds: number): StartRequest {
  const endpoint = readEndpoint(body);
  if (body.method === undefined) throw new SinchApiError(400, 40002, 'Method parameter is missing.');
  const method = parseMethod(body.method);
  if (method === undefined)
    throw new SinchApiError(400, 40001, `Method ${describeValue(body.method)} is not supported.`);
  const countryId = validateEndpoint(endpoint);
  const reference = optionalString(body, 'reference');
  const custom = optionalString(body, 'custom');
  const optionsKey = OPTIONS_KEYS[method];
  const methodOptions = optionsKey === undefined ? undefined : findKey(body, optionsKey);
  if (methodOptions !== undefined && !isRecord(methodOptions))
    throw new SinchApiError(400, 40001, `${optionsKey} must be an object.`);
  let expirySeconds = defaultExpirySeconds;
  if (method === 'sms' && methodOptions?.expiry !== undefined) {
    const parsed = parseExpiry(methodOptions.expiry);
    if (parsed === undefined) throw new SinchApiError(400, 40001, 'smsOptions.expiry must be HH:MM:SS.');
    expirySeconds = parsed;
  }
  // A call reads digits aloud: its code is always numeric, whatever the body says.
  const codeType =
    method === 'callout' || methodOptions?.codeType === undefined ? 'Numeric' : parseCodeType(methodOptions.codeType);
  if (codeType === undefined) throw new SinchApiError(400, 40001, 'codeType must be Numeric, Alpha or Alphanumeric.');
  const speechLocale = method === 'callout' ? readSpeechLocale(methodOptions) : undefined;
  return { endpoint, method, countryId, reference, custom, expirySeconds, codeType, speechLocale };
}

/** `identity.endpoint` of a start: the number (only `number` identities are supported). */
function readEndpoint(body: Record<string, unknown>): string {
  const identity = body.identity;
  if (!isRecord(identity)) throw new SinchApiError(400, 40002, 'Identity parameter is missing.');
  if (identity.type !== undefined && (typeof identity.type !== 'string' || identity.type.toLowerCase() !== 'number')) {
    throw new SinchApiError(400, 40001, `Identity type ${describeValue(identity.type)} is not supported.`);
  }
  const endpoint = identity.endpoint;
  if (typeof endpoint !== 'string' || endpoint === '')
    throw new SinchApiError(400, 40002, 'Endpoint parameter is missing.');
  return endpoint;
}

/** A sandbox number's scripted answer to a start: its error is thrown; 'hang' means never answered. */
function sandboxRefusal(sandbox: SandboxRange | undefined): 'hang' | undefined {
  switch (sandbox?.behaviour) {
    case 'timeout':
      return 'hang';
    case 'unavailable':
    case 'blacklisted':
    case 'tooQuickly':
    case 'noRoute':
      throw new SinchApiError(sandbox.status ?? 500, sandbox.errorCode ?? 50000);
    default:
      return undefined;
  }
}

/** Reads a report body in any of the shapes Sinch clients send (reference doc §3.1). */
function readReport(body: Record<string, unknown>): { method: VerificationMethod; secret: string; source?: string } {
  const declared = body.method === undefined ? undefined : parseMethod(body.method);
  if (body.method !== undefined && declared === undefined) {
    throw new SinchApiError(400, 40001, `Method ${describeValue(body.method)} is not supported.`);
  }
  const method =
    declared ?? (['sms', 'flashcall', 'callout', 'whatsapp'] as const).find((m) => isRecord(findKey(body, m)));
  if (method === undefined) throw new SinchApiError(400, 40002, 'Method parameter is missing.');
  const details = findKey(body, method);
  const secret = isRecord(details) ? (method === 'flashcall' ? details.cli : details.code) : undefined;
  if (typeof secret !== 'string' || secret === '') {
    throw new SinchApiError(400, 40002, `${method === 'flashcall' ? 'Cli' : 'Code'} parameter is missing.`);
  }
  const source = typeof body.source === 'string' ? body.source : undefined;
  return { method, secret, ...(source !== undefined ? { source } : {}) };
}

/**
 * `calloutOptions.speech.locale`, the language the call reads the code in (reference §2.1). A
 * malformed one is refused rather than ignored, so a client bug shows up in tests (Sinch's own
 * answer to one is not published).
 */
function readSpeechLocale(options: Record<string, unknown> | undefined): string | undefined {
  const speech = options === undefined ? undefined : findKey(options, 'speech');
  if (speech === undefined || speech === null) return undefined;
  if (!isRecord(speech)) throw new SinchApiError(400, 40001, 'calloutOptions.speech must be an object.');
  if (speech.locale === undefined || speech.locale === null) return undefined;
  const locale = typeof speech.locale === 'string' ? canonicalLocale(speech.locale) : undefined;
  if (locale === undefined) {
    throw new SinchApiError(
      400,
      40001,
      `calloutOptions.speech.locale ${describeValue(speech.locale)} is not a language tag such as sv-SE.`,
    );
  }
  return locale;
}

function normaliseSecret(secret: string, method: VerificationMethod): string {
  // A flashcall CLI may arrive with or without '+'; alphabetic codes are not case-sensitive to users.
  return method === 'flashcall' ? secret.replace(/\D/g, '') : secret.trim().toUpperCase();
}

function reportAnswer(
  verification: VerificationRecord,
  status: VerificationStatus,
  reason?: string,
): Record<string, unknown> {
  return {
    id: verification.id,
    method: verification.method,
    status,
    ...(reason !== undefined ? { reason } : {}),
    ...(isCallMethod(verification.method) ? { callComplete: status !== 'PENDING' } : {}),
  };
}

function statusAnswer(verification: VerificationRecord): Record<string, unknown> {
  const final = verification.status !== 'PENDING';
  return {
    id: verification.id,
    method: verification.method,
    status: verification.status,
    ...pickDefined(verification, ['reason', 'reference']),
    identity: { type: 'number', endpoint: verification.endpoint },
    ...pickDefined(verification, ['countryId']),
    verificationTimestamp: sinchTimestamp(verification.createdAt),
    ...(verification.status === 'SUCCESSFUL' && verification.source !== undefined
      ? { source: verification.source }
      : {}),
    ...(isCallMethod(verification.method) ? { callComplete: final } : {}),
    // Sinch adds the price only once the verification is no longer pending.
    ...(final ? { price: { verificationPrice: { ...PRICE } } } : {}),
  };
}

function isCallMethod(method: VerificationMethod): boolean {
  return method === 'flashcall' || method === 'callout';
}

function queryNumber(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  // An unencoded '+' in a query string arrives as a space.
  return value.startsWith(' ') ? `+${value.slice(1)}` : value;
}

/** Recorded requests as served over the control API: Basic credentials contain the secret. */
function redactRequest(request: RecordedRequest): RecordedRequest {
  const { authorization, ...headers } = request.headers;
  return authorization === undefined ? request : { ...request, headers: { ...headers, authorization: '[redacted]' } };
}

function parseFault(value: unknown): Fault {
  if (!isRecord(value) || typeof value.kind !== 'string') throw new TypeError('fault must be an object with a kind');
  switch (value.kind) {
    case 'status': {
      const status = value.status;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
        throw new TypeError('fault.status must be an integer HTTP status in 200..599');
      }
      return value.body === undefined ? { kind: 'status', status } : { kind: 'status', status, body: value.body };
    }
    case 'delay': {
      const ms = value.ms;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
        throw new TypeError('fault.ms must be a non-negative number');
      return { kind: 'delay', ms };
    }
    case 'malformed':
    case 'empty':
    case 'drop':
      return { kind: value.kind };
    default:
      throw new TypeError('fault.kind must be status, delay, malformed, empty or drop');
  }
}

const MESSAGE_LABELS: Readonly<Record<VerificationMethod, string>> = {
  sms: 'SMS',
  flashcall: 'FLASHCALL',
  callout: 'CALLOUT',
  whatsapp: 'WHATSAPP',
  seamless: 'SEAMLESS',
};

function printMessage(message: EmulatedMessage): void {
  const what = !message.delivered
    ? 'never delivered (sandbox)'
    : message.method === 'flashcall'
      ? `calling number ${message.code}`
      : `code ${message.code}`;
  const language = message.locale === undefined ? '' : ` [${message.locale}]`;
  process.stdout.write(
    `[sinch-emulator] EMULATED ${MESSAGE_LABELS[message.method]} (not sent) to ${maskPhone(message.to)}: ${what}${language}\n`,
  );
}
