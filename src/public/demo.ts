/**
 * The demo page: request a code, verify it, and explain every answer the API can give. When the
 * service runs on its built-in Sinch emulator it also shows the emulated inbox, so a person can
 * finish the flow without a phone. Plain DOM, loaded as an ES module (no inline script: the CSP
 * forbids it); every message is set with textContent, never parsed as HTML.
 */

interface SuccessEnvelope<T> {
  status: 'success';
  message: string;
  data: T;
}

interface ErrorEnvelope {
  status: 'error';
  code: string;
  message: string;
  requestId?: string;
  details?: unknown[];
}

type Method = 'sms' | 'callout' | 'whatsapp';
type CodeType = 'Numeric' | 'Alpha' | 'Alphanumeric';

/** The answer of request-otp and resend-otp. */
interface RequestOtpData {
  verificationId: string;
  phoneNumber: string;
  /** How this code goes out. */
  method: Method;
  /** The language Sinch used; null for its default. */
  locale: string | null;
  codeType: CodeType;
  /** The methods the server offers: "Call me instead" shows only when `callout` is one. */
  methods: Method[];
  expiresAt: string;
  resendAvailableAt: string;
}

interface VerifyOtpData {
  phoneNumber: string;
  verified: true;
  verifiedAt: string;
  /** Absent when the service runs with VERIFICATION_TOKENS=off. */
  verificationToken?: string;
}

interface InboxMessage {
  to: string;
  code: string;
  sentAt: string;
  delivered: boolean;
  method: Method | 'flashcall' | 'seamless';
  locale?: string;
}

/** How each method is named to a person. */
const METHOD_NAMES: Record<InboxMessage['method'], string> = {
  sms: 'SMS',
  callout: 'Call',
  whatsapp: 'WhatsApp',
  flashcall: 'Flash call',
  seamless: 'Data',
};

/** Where the code comes from, for the hint under the code field. */
const CODE_SOURCES: Record<Method, string> = {
  sms: 'The code from the SMS.',
  callout: 'The digits the voice call reads out.',
  whatsapp: 'The code from the WhatsApp message.',
};

type Outcome<T> =
  { ok: true; data: T; serverOffsetMs: number } | { ok: false; error: ErrorEnvelope; retryAfterSeconds?: number };

/** A fiction-range Swedish mobile number: only used to ask whether the emulated inbox exists. */
const PROBE_NUMBER = '+46701740610';
const POLL_INTERVAL_MS = 1000;
/** Longer than the service's own request timeout, so its answer normally arrives first. */
const CLIENT_TIMEOUT_MS = 20_000;
/** Clocks closer than this are treated as equal: the Date header only has whole seconds. */
const CLOCK_TOLERANCE_MS = 2000;

const POLICY_REASONS: Record<string, string> = {
  country_not_allowed: 'numbers from this country are not accepted',
  number_type_not_allowed: 'only mobile numbers can receive codes',
  prefix_blocked: 'this number range is blocked',
  blocked_by_provider: 'the SMS provider refuses this number',
  no_route: 'the SMS provider cannot reach this number',
};

function element<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new TypeError(`The page is missing #${id}`);
  return found;
}

const ui = {
  status: element('status', HTMLDivElement),
  phoneForm: element('phone-form', HTMLFormElement),
  phone: element('phone', HTMLInputElement),
  send: element('send', HTMLButtonElement),
  codeForm: element('code-form', HTMLFormElement),
  code: element('code', HTMLInputElement),
  codeHint: element('code-hint', HTMLParagraphElement),
  verify: element('verify', HTMLButtonElement),
  call: element('call', HTMLButtonElement),
  expiry: element('expiry', HTMLParagraphElement),
  inbox: element('inbox', HTMLElement),
  inboxNumber: element('inbox-number', HTMLSpanElement),
  inboxEmpty: element('inbox-empty', HTMLParagraphElement),
  inboxMessages: element('inbox-messages', HTMLOListElement),
  inboxProblem: element('inbox-problem', HTMLParagraphElement),
  token: element('token', HTMLElement),
  tokenValue: element('token-value', HTMLPreElement),
  tokenClaims: element('token-claims', HTMLPreElement),
};

interface Pending {
  verificationId: string;
  phoneNumber: string;
  /** In this browser's clock. */
  expiresAt: number;
  method: Method;
  codeType: CodeType;
  methods: Method[];
}

interface Cooldown {
  /** In this browser's clock. */
  until: number;
  /** The numbers (as typed, and E.164) it applies to; undefined: every number (an IP or global limit). */
  numbers?: Set<string>;
}

const state: {
  pending?: Pending;
  cooldown?: Cooldown;
  busy?: 'send' | 'verify' | 'call';
  sentOnce: boolean;
  emulator: boolean;
  inboxKey: string;
} = { sentOnce: false, emulator: false, inboxKey: '' };

let ticker: number | undefined;
let pollTimer: number | undefined;

// ---- API ---------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isErrorEnvelope(value: unknown): value is ErrorEnvelope {
  return (
    isRecord(value) && value.status === 'error' && typeof value.code === 'string' && typeof value.message === 'string'
  );
}

function isMethod(value: unknown): value is Method {
  return value === 'sms' || value === 'callout' || value === 'whatsapp';
}

function localError(code: string, message: string): ErrorEnvelope {
  return { status: 'error', code, message };
}

function firstDetail(error: ErrorEnvelope): Record<string, unknown> {
  const detail = error.details?.[0];
  return isRecord(detail) ? detail : {};
}

/** Retry-After (whole seconds, or an HTTP date) first, then the envelope's details.retryAfterSeconds. */
function retryAfterOf(response: Response, error: ErrorEnvelope): number | undefined {
  const header = response.headers.get('Retry-After');
  if (header !== null) {
    const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
    if (Number.isFinite(seconds) && seconds > 0) return Math.ceil(seconds);
  }
  const fromDetails = firstDetail(error).retryAfterSeconds;
  return typeof fromDetails === 'number' && fromDetails > 0 ? Math.ceil(fromDetails) : undefined;
}

/** How far the server's clock is ahead of this browser's; 0 unless clearly off. */
function serverOffsetOf(response: Response): number {
  const date = Date.parse(response.headers.get('Date') ?? '');
  if (Number.isNaN(date)) return 0;
  const offset = date - Date.now();
  return Math.abs(offset) > CLOCK_TOLERANCE_MS ? offset : 0;
}

async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Outcome<T>> {
  const abort = new AbortController();
  const timer = window.setTimeout(() => abort.abort(), CLIENT_TIMEOUT_MS);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers:
          body === undefined
            ? { Accept: 'application/json' }
            : { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        signal: abort.signal,
      });
    } catch {
      return {
        ok: false,
        error: abort.signal.aborted
          ? localError('CLIENT_TIMEOUT', 'The service did not answer in time. Check your connection and try again.')
          : localError('NETWORK_ERROR', 'Could not reach the service. Check your connection and try again.'),
      };
    }
    let payload: unknown;
    try {
      payload = await response.json();
    } catch {
      payload = undefined;
    }
    if (response.ok && isRecord(payload) && payload.status === 'success') {
      return {
        ok: true,
        data: (payload as unknown as SuccessEnvelope<T>).data,
        serverOffsetMs: serverOffsetOf(response),
      };
    }
    const error = isErrorEnvelope(payload)
      ? payload
      : localError(
          'UNEXPECTED_RESPONSE',
          `The service answered HTTP ${response.status} without an explanation. Try again shortly.`,
        );
    return { ok: false, error, retryAfterSeconds: retryAfterOf(response, error) };
  } finally {
    window.clearTimeout(timer);
  }
}

// ---- Rendering ---------------------------------------------------------------------------------

function paragraph(text: string, className?: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.textContent = text;
  if (className) p.className = className;
  return p;
}

function showStatus(kind: 'info' | 'success' | 'error', title: string, lines: string[] = [], meta?: string): void {
  const children = [paragraph(title, 'status-title'), ...lines.map((line) => paragraph(line))];
  if (meta) children.push(paragraph(meta, 'status-meta'));
  ui.status.className = `status is-${kind}`;
  ui.status.replaceChildren(...children);
}

function time(at: number | string): string {
  return new Date(at).toLocaleTimeString();
}

function minutesSeconds(totalSeconds: number): string {
  const minutes = Math.floor(totalSeconds / 60);
  return `${minutes}:${String(totalSeconds % 60).padStart(2, '0')}`;
}

function secondsLeft(until: number): number {
  return Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

/** Digits and a leading +: how two spellings of the same number are compared for the cooldown. */
function numberKey(value: string): string {
  return value.replace(/[^\d+]/g, '');
}

function cooldownApplies(): boolean {
  const cooldown = state.cooldown;
  if (!cooldown || Date.now() >= cooldown.until) return false;
  return cooldown.numbers === undefined || cooldown.numbers.has(numberKey(ui.phone.value));
}

function renderButtons(): void {
  const cooling = cooldownApplies();
  ui.send.disabled = state.busy !== undefined || cooling;
  ui.send.setAttribute('aria-busy', String(state.busy === 'send'));
  if (state.busy === 'send') ui.send.textContent = 'Sending…';
  else if (cooling && state.cooldown) ui.send.textContent = `Send again in ${secondsLeft(state.cooldown.until)} s`;
  else ui.send.textContent = state.sentOnce ? 'Send a new code' : 'Send code';

  ui.verify.disabled = state.busy !== undefined;
  ui.verify.setAttribute('aria-busy', String(state.busy === 'verify'));
  ui.verify.textContent = state.busy === 'verify' ? 'Checking…' : 'Verify';

  // "Call me instead": while a code sent some other way is pending, when the server offers calls.
  const pending = state.pending;
  ui.call.hidden = !pending || pending.method === 'callout' || !pending.methods.includes('callout');
  const callCooling = cooling && state.cooldown !== undefined;
  ui.call.disabled = state.busy !== undefined || callCooling;
  ui.call.setAttribute('aria-busy', String(state.busy === 'call'));
  if (state.busy === 'call') ui.call.textContent = 'Calling…';
  else if (callCooling && state.cooldown)
    ui.call.textContent = `Call me instead (in ${secondsLeft(state.cooldown.until)} s)`;
  else ui.call.textContent = 'Call me instead';
}

/** The code field asks for the keyboard the code needs: digits unless the code has letters. */
function renderCodeField(method: Method, codeType: CodeType): void {
  ui.code.inputMode = codeType === 'Numeric' ? 'numeric' : 'text';
  ui.code.autocapitalize = codeType === 'Numeric' ? 'off' : 'characters';
  ui.codeHint.textContent = CODE_SOURCES[method];
}

/** The browser's language, as request-otp's `locale`; undefined when it is not a BCP 47 tag. */
function browserLocale(): string | undefined {
  try {
    return Intl.getCanonicalLocales(navigator.language)[0];
  } catch {
    return undefined;
  }
}

function renderExpiry(): void {
  ui.expiry.textContent = state.pending
    ? `The code expires in ${minutesSeconds(secondsLeft(state.pending.expiresAt))} (at ${time(state.pending.expiresAt)}).`
    : '';
}

/** One timer drives both countdowns and stops itself when neither is running. */
function tick(): void {
  const now = Date.now();
  if (state.cooldown && now >= state.cooldown.until) state.cooldown = undefined;
  if (state.pending && now >= state.pending.expiresAt) {
    endPending();
    showStatus('error', 'The code has expired.', ['Request a new code with the “Send a new code” button.']);
  }
  renderButtons();
  renderExpiry();
  if (!state.cooldown && !state.pending && ticker !== undefined) {
    window.clearInterval(ticker);
    ticker = undefined;
  }
}

function startTicking(): void {
  // Four ticks a second: the button unlocks within a quarter second of the cooldown's end.
  ticker ??= window.setInterval(tick, 250);
  tick();
}

function startCooldown(seconds: number, numbers?: string[]): void {
  state.cooldown = { until: Date.now() + seconds * 1000, numbers: numbers && new Set(numbers.map(numberKey)) };
  startTicking();
}

function endPending(): void {
  state.pending = undefined;
  window.clearTimeout(pollTimer);
  renderExpiry();
}

function markInvalid(input: HTMLInputElement | undefined): void {
  for (const field of [ui.phone, ui.code]) field.removeAttribute('aria-invalid');
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    input.select();
  }
}

// ---- Errors --------------------------------------------------------------------------------------

const FIELD_LABELS: Record<string, string> = {
  phoneNumber: 'Phone number',
  code: 'Code',
  verificationId: 'Verification',
};

/** The envelope's message, plus what the page knows to add: counts, reasons and the way forward. */
function explain(error: ErrorEnvelope, retryAfter: number | undefined, context: 'send' | 'verify'): string[] {
  const detail = firstDetail(error);
  const lines: string[] = [];
  switch (error.code) {
    case 'INVALID_CODE': {
      const left = detail.attemptsRemaining;
      if (typeof left === 'number') {
        lines.push(
          left > 0 ? `Attempts remaining: ${left}.` : 'No attempts remaining for this code: request a new code.',
        );
      }
      if (detail.method === 'callout') lines.push('Your code now comes by voice call: use the digits it reads out.');
      break;
    }
    case 'METHOD_NOT_ENABLED':
      if (Array.isArray(detail.enabledMethods))
        lines.push(
          `Available: ${detail.enabledMethods.map((m) => METHOD_NAMES[m as Method] ?? String(m)).join(', ')}.`,
        );
      break;
    case 'TOO_MANY_ATTEMPTS':
      lines.push('This code can no longer be used. Request a new code to try again.');
      break;
    case 'VERIFICATION_EXPIRED':
    case 'VERIFICATION_NOT_FOUND':
    case 'ALREADY_VERIFIED':
      lines.push(`Request a new code with the “${state.sentOnce ? 'Send a new code' : 'Send code'}” button.`);
      break;
    case 'PHONE_NUMBER_NOT_ALLOWED': {
      const reason = typeof detail.reason === 'string' ? detail.reason : undefined;
      if (reason) lines.push(`Reason: ${POLICY_REASONS[reason] ?? reason.replace(/_/g, ' ')}.`);
      break;
    }
    case 'VALIDATION_ERROR':
      for (const d of error.details ?? []) {
        if (isRecord(d) && typeof d.message === 'string') {
          const field = typeof d.field === 'string' ? d.field : '';
          lines.push(`${FIELD_LABELS[field] ?? field}: ${d.message}`);
        }
      }
      break;
    case 'SMS_PROVIDER_UNAVAILABLE':
      lines.push(
        context === 'send'
          ? 'No code was sent. This is usually brief; try again shortly.'
          : 'Your code was not checked. Try again shortly.',
      );
      break;
    case 'SMS_PROVIDER_ERROR':
      lines.push(context === 'send' ? 'No code was sent.' : 'Your code was not checked.');
      break;
  }
  if (context === 'send' && retryAfter !== undefined)
    lines.push('The send button unlocks when its countdown reaches zero.');
  return lines;
}

function handleError(
  outcome: Extract<Outcome<unknown>, { ok: false }>,
  context: 'send' | 'verify',
  typed: string,
): void {
  const { error, retryAfterSeconds } = outcome;
  const detail = firstDetail(error);
  // A fallback may have replaced the SMS with a call since the code was sent: the error says so.
  if (context === 'verify' && state.pending && isMethod(detail.method) && detail.method !== state.pending.method) {
    state.pending.method = detail.method;
    state.pending.codeType = detail.method === 'callout' ? 'Numeric' : state.pending.codeType;
    renderCodeField(detail.method, state.pending.codeType);
  }
  const field = typeof detail.field === 'string' ? detail.field : undefined;
  let focus: HTMLInputElement | undefined;

  switch (error.code) {
    case 'INVALID_PHONE_NUMBER':
    case 'PHONE_NUMBER_NOT_ALLOWED':
      focus = ui.phone;
      break;
    case 'VALIDATION_ERROR':
      focus = field === 'code' ? ui.code : ui.phone;
      break;
    case 'INVALID_CODE':
      focus = ui.code;
      if (detail.attemptsRemaining === 0) endPending();
      break;
    case 'TOO_MANY_ATTEMPTS':
    case 'VERIFICATION_EXPIRED':
    case 'VERIFICATION_NOT_FOUND':
    case 'ALREADY_VERIFIED':
      // The way forward is a new code; when Retry-After says how long until one may be sent, count it down.
      if (
        context === 'verify' &&
        retryAfterSeconds !== undefined &&
        detail.reason === 'verification_attempts_exhausted'
      ) {
        startCooldown(retryAfterSeconds, [typed, state.pending?.phoneNumber ?? typed]);
      }
      endPending();
      break;
  }
  if (context === 'send' && retryAfterSeconds !== undefined) {
    // Limits named number_* apply to this number only; an IP or global limit applies to any number.
    const perNumber = typeof detail.limit === 'string' && detail.limit.startsWith('number_');
    startCooldown(retryAfterSeconds, perNumber ? [typed] : undefined);
  }

  const meta = [`Error ${error.code}`, error.requestId ? `request ID ${error.requestId}` : '']
    .filter(Boolean)
    .join(' · ');
  showStatus('error', error.message, explain(error, retryAfterSeconds, context), meta);
  markInvalid(focus);
  renderButtons();
}

/** One base64url JWT segment as JSON. Display only: the page trusts nothing in it (the backend verifies). */
function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
}

/** Shows the verification token and its decoded header and claims: what the integrator's backend gets. */
function renderToken(token: string | undefined): void {
  ui.token.hidden = token === undefined;
  if (token === undefined) return;
  const [header = '', payload = ''] = token.split('.');
  ui.tokenValue.textContent = token;
  try {
    const decoded = { header: decodeSegment(header), claims: decodeSegment(payload) };
    ui.tokenClaims.textContent = JSON.stringify(decoded, null, 2);
  } catch {
    ui.tokenClaims.textContent = 'The token could not be decoded.';
  }
}

// ---- Actions -------------------------------------------------------------------------------------

async function sendCode(): Promise<void> {
  const typed = ui.phone.value.trim();
  if (!typed) {
    showStatus('error', 'Enter your phone number first.', [
      'Use international format with the country code, for example +46 70 123 45 67.',
    ]);
    markInvalid(ui.phone);
    return;
  }
  if (state.busy || cooldownApplies()) return;
  state.busy = 'send';
  renderButtons();
  const outcome = await call<RequestOtpData>('POST', '/api/request-otp', {
    phoneNumber: typed,
    locale: browserLocale(),
  });
  state.busy = undefined;
  if (!outcome.ok) {
    handleError(outcome, 'send', typed);
    return;
  }

  const { data, serverOffsetMs } = outcome;
  state.sentOnce = true;
  const pending = accept(data, serverOffsetMs, typed);
  showStatus('info', `Code sent to ${data.phoneNumber}.`, [
    `Enter it below before ${time(pending.expiresAt)}.`,
    ...(state.emulator ? ['No real SMS was sent: the code is in the emulated inbox.'] : []),
  ]);
  markInvalid(undefined);
  renderToken(undefined);
  ui.code.value = '';
  ui.code.focus();
  startTicking();
  ui.inboxNumber.textContent = data.phoneNumber;
  schedulePoll(0);
}

/** A code went out (request-otp or resend-otp): it is the pending one now, with its cooldown. */
function accept(data: RequestOtpData, serverOffsetMs: number, typed: string): Pending {
  const pending: Pending = {
    verificationId: data.verificationId,
    phoneNumber: data.phoneNumber,
    expiresAt: Date.parse(data.expiresAt) - serverOffsetMs,
    method: data.method,
    codeType: data.codeType,
    methods: data.methods,
  };
  state.pending = pending;
  state.cooldown = {
    until: Date.parse(data.resendAvailableAt) - serverOffsetMs,
    numbers: new Set([numberKey(typed), numberKey(data.phoneNumber)]),
  };
  renderCodeField(data.method, data.codeType);
  return pending;
}

/** "Call me instead": a new code for the same verification, read out by a voice call. */
async function callInstead(): Promise<void> {
  const pending = state.pending;
  if (!pending || state.busy || cooldownApplies()) return;
  state.busy = 'call';
  renderButtons();
  const outcome = await call<RequestOtpData>('POST', '/api/resend-otp', {
    verificationId: pending.verificationId,
    method: 'callout',
    locale: browserLocale(),
  });
  state.busy = undefined;
  if (!outcome.ok) {
    handleError(outcome, 'send', pending.phoneNumber);
    return;
  }
  accept(outcome.data, outcome.serverOffsetMs, pending.phoneNumber);
  showStatus('info', `We are calling you at ${outcome.data.phoneNumber}.`, [
    'Answer the call: a voice reads out your code. The code sent before no longer works.',
    ...(state.emulator ? ['No real call is made: the code is in the emulated inbox.'] : []),
  ]);
  markInvalid(undefined);
  ui.code.value = '';
  ui.code.focus();
  startTicking();
  schedulePoll(0);
}

async function verifyCode(): Promise<void> {
  const code = ui.code.value.trim();
  const pending = state.pending;
  if (!pending) {
    showStatus('error', 'Send a code first.', ['Enter your phone number, send a code, then enter it here.']);
    markInvalid(ui.phone);
    return;
  }
  const { phoneNumber, verificationId } = pending;
  if (!code) {
    showStatus('error', 'Enter the code from the SMS.');
    markInvalid(ui.code);
    return;
  }
  if (state.busy) return;
  state.busy = 'verify';
  renderButtons();
  // Only whoever requested the code holds its verificationId: the check is bound to it.
  const outcome = await call<VerifyOtpData>('POST', '/api/verify-otp', { verificationId, phoneNumber, code });
  state.busy = undefined;
  if (!outcome.ok) {
    handleError(outcome, 'verify', phoneNumber);
    return;
  }
  endPending();
  markInvalid(undefined);
  showStatus('success', `${outcome.data.phoneNumber} is verified.`, [
    `Verified at ${time(outcome.data.verifiedAt)}. You can close this page.`,
  ]);
  renderToken(outcome.data.verificationToken);
  renderButtons();
}

// ---- Emulated inbox ------------------------------------------------------------------------------

function inboxUrl(phoneNumber: string): string {
  return `/api/emulator/inbox?phoneNumber=${encodeURIComponent(phoneNumber)}`;
}

function renderInbox(messages: InboxMessage[]): void {
  // Replacing the list re-announces it (aria-live): only touch it when something changed.
  const key = JSON.stringify(messages);
  if (key === state.inboxKey) return;
  state.inboxKey = key;
  ui.inboxEmpty.hidden = messages.length > 0;
  ui.inboxMessages.replaceChildren(
    ...messages.map((message, index) => {
      const item = document.createElement('li');
      const text = document.createElement('div');
      const method = document.createElement('span');
      method.className = `inbox-method is-${message.method}`;
      method.textContent = METHOD_NAMES[message.method] ?? message.method;
      const code = document.createElement('span');
      code.className = 'inbox-code';
      code.dataset.code = message.code;
      code.dataset.method = message.method;
      code.textContent = message.delivered ? message.code : 'Not delivered';
      text.append(method, code);
      if (index === 0) {
        const latest = document.createElement('span');
        latest.className = 'inbox-latest';
        latest.textContent = 'latest';
        text.append(latest);
      }
      item.append(text);
      if (message.delivered) {
        const use = document.createElement('button');
        use.type = 'button';
        use.textContent = 'Use code';
        use.setAttribute('aria-label', `Use code ${message.code}`);
        use.addEventListener('click', () => {
          ui.code.value = message.code;
          ui.code.focus();
        });
        item.append(use);
      }
      const what =
        message.method === 'callout'
          ? `Call to ${message.to}, the voice reads the code`
          : `${METHOD_NAMES[message.method] ?? message.method} to ${message.to}`;
      const language = message.locale ? `, in ${message.locale}` : '';
      item.append(
        paragraph(
          `${what}${language} at ${time(message.sentAt)}${message.delivered ? '' : ' (never delivered to this number)'}`,
          'inbox-meta',
        ),
      );
      return item;
    }),
  );
}

function schedulePoll(delayMs = POLL_INTERVAL_MS): void {
  window.clearTimeout(pollTimer);
  if (!state.emulator || !state.pending) return;
  pollTimer = window.setTimeout(() => void pollInbox(), delayMs);
}

async function pollInbox(): Promise<void> {
  const phoneNumber = state.pending?.phoneNumber;
  if (!phoneNumber) return;
  const outcome = await call<{ messages: InboxMessage[] }>('GET', inboxUrl(phoneNumber));
  ui.inboxProblem.hidden = outcome.ok;
  if (outcome.ok) renderInbox(outcome.data.messages);
  else ui.inboxProblem.textContent = `Could not read the emulated inbox: ${outcome.error.message}`;
  // Polling again only after the answer: a slow service never gets overlapping requests.
  if (state.pending?.phoneNumber === phoneNumber) schedulePoll();
}

/** The inbox route exists only in emulator mode: a 200 there means codes can be shown here. */
async function detectEmulator(): Promise<void> {
  const outcome = await call<{ messages: InboxMessage[] }>('GET', inboxUrl(PROBE_NUMBER));
  state.emulator = outcome.ok;
  ui.inbox.hidden = !outcome.ok;
  if (outcome.ok) schedulePoll(0);
}

// ---- Wiring --------------------------------------------------------------------------------------

ui.phoneForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void sendCode();
});
ui.codeForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void verifyCode();
});
ui.call.addEventListener('click', () => void callInstead());
// A cooldown belongs to a number: editing the number may unlock the button.
ui.phone.addEventListener('input', () => {
  ui.phone.removeAttribute('aria-invalid');
  renderButtons();
});
ui.code.addEventListener('input', () => ui.code.removeAttribute('aria-invalid'));

renderButtons();
void detectEmulator();

// A module, not a script: its top-level names stay out of the page's global scope.
export {};
