import { inspect } from 'node:util';
import winston from 'winston';
import { maskPhone } from '../utils/mask';
import { currentContext } from '../utils/request-context';

export type Logger = winston.Logger;

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Literal secret values to scrub wherever they appear. */
  secrets?: string[];
  /** Where lines go; defaults to stdout. Tests pass a stream to capture output. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
}

/** Keys whose values never reach a log line, at any depth. */
const SECRET_KEYS =
  /^(authorization|proxy-authorization|secret|applicationsecret|password|token|code|otp|pin|cookie|set-cookie|x-api-key|api[-_]?key)$/i;
/** Keys that hold phone numbers: their values are masked. */
const PHONE_KEYS = /^(phone|phonenumber|to|endpoint|msisdn|number)$/i;
/** E.164 numbers inside free text (messages, stacks, SQL errors, URLs), raw or URL-encoded. */
const PHONE_IN_TEXT = /(?:\+|%2B)\d{6,15}/gi;

const REDACTED = '[REDACTED]';

function scrubText(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out.replace(PHONE_IN_TEXT, (match) => maskPhone(match.replace(/^%2B/i, '+')));
}

/**
 * Returns a copy of `value` with secret keys removed, phone numbers masked and configured
 * secret literals scrubbed. Exported so the redaction can be unit-tested.
 */
export function redact(value: unknown, secrets: string[] = [], key = '', depth = 0): unknown {
  if (SECRET_KEYS.test(key)) return REDACTED;
  if (typeof value === 'string') return PHONE_KEYS.test(key) ? maskPhone(value) : scrubText(value, secrets);
  // A number under a phone key (e.g. a client that sent 46701234567 as a JSON number) is a phone number too.
  if (typeof value === 'number' && PHONE_KEYS.test(key)) return maskPhone(String(value));
  if (value === null || typeof value !== 'object') return value;
  if (depth > 6) return '[Truncated]';
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, secrets, key, depth + 1));
  if (value instanceof Error) {
    return {
      name: value.name,
      message: scrubText(value.message, secrets),
      stack: value.stack ? scrubText(value.stack, secrets) : undefined,
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redact(v, secrets, k, depth + 1);
  return out;
}

const redactFormat = (secrets: string[]) =>
  winston.format((info) => {
    for (const k of Object.keys(info)) {
      info[k] = redact(info[k], secrets, k === 'message' || k === 'stack' ? '' : k);
    }
    return info;
  })();

const contextFormat = winston.format((info) => {
  const ctx = currentContext();
  if (ctx && info.requestId === undefined) info.requestId = ctx.requestId;
  return info;
});

const pretty = winston.format.printf((info) => {
  const { timestamp, level, message, requestId, stack, ...withSymbols } = info as Record<string, unknown>;
  // String keys only: winston keeps the caller's original, unredacted metadata under Symbol(splat),
  // and inspect() would print it (codes, secrets, full numbers) right after the redacted copy.
  const rest = Object.fromEntries(Object.entries(withSymbols));
  const meta = Object.keys(rest).length ? ` ${inspect(rest, { depth: 4, breakLength: Infinity, colors: false })}` : '';
  const trace = typeof stack === 'string' ? `\n${stack}` : '';
  return `${String(timestamp)} ${String(level).toUpperCase().padEnd(5)}${typeof requestId === 'string' ? ` [${requestId}]` : ''} ${String(message)}${meta}${trace}`;
});

/** One winston logger: JSON lines (or pretty text) with request ids and redaction by rule. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      contextFormat(),
      redactFormat(secrets),
      options.format === 'pretty' ? pretty : winston.format.json(),
    ),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}
