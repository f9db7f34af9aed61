import { randomInt } from 'node:crypto';
import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js';
import { SinchApiError } from './errors';
import type { CodeType, VerificationMethod } from './verification-store';
import { VERIFICATION_METHODS } from './verification-store';

const LENGTH_PROBLEMS: Readonly<Record<string, string>> = {
  TOO_SHORT: 'Too short.',
  TOO_LONG: 'Too long.',
  INVALID_COUNTRY: 'Invalid country calling code.',
  INVALID_LENGTH: 'Invalid length.',
  NOT_A_NUMBER: 'Not a number.',
};

/** Shortens client input echoed in error messages, so a garbage body cannot bloat the answer. */
export function clip(value: string, max = 32): string {
  return value.length > max ? `${value.slice(0, max)}...` : value;
}

/** Client input (of any JSON type) as a short string for an error message. */
export function describeValue(value: unknown): string {
  return clip(typeof value === 'string' ? value : String(JSON.stringify(value)));
}

/**
 * Rejects what Sinch rejects before trying to deliver: no leading plus (40005) or a number
 * that cannot be E.164 (40001, worded like Sinch's "Number +4813 is invalid. Too short.").
 * "Possible" rather than "valid" on purpose: Sinch accepts unallocated ranges and fails later.
 * Answers the number's country, from the same parse (parsing dominates the cost of a start).
 */
export function validateEndpoint(endpoint: string): string | undefined {
  if (!endpoint.startsWith('+')) {
    throw new SinchApiError(400, 40005, `Number ${clip(endpoint)} is invalid. Missing leading plus.`);
  }
  if (!/^\+\d+$/.test(endpoint))
    throw new SinchApiError(400, 40001, `Number ${clip(endpoint)} is invalid. Not a number.`);
  const parsed = parsePhoneNumberFromString(endpoint);
  if (parsed?.isPossible() === true) return parsed.country;
  const detail = LENGTH_PROBLEMS[validatePhoneNumberLength(endpoint) ?? 'INVALID_LENGTH'] ?? 'Invalid length.';
  throw new SinchApiError(400, 40001, `Number ${clip(endpoint)} is invalid. ${detail}`);
}

/** Sinch's method names are lower-case today but were camel-cased (`flashCall`) in older clients. */
export function parseMethod(value: unknown): VerificationMethod | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  if (lower === 'phonecall') return 'callout';
  return VERIFICATION_METHODS.find((m) => m === lower);
}

/** `smsOptions.expiry` is `HH:MM:SS`; answers seconds, or undefined when malformed. */
export function parseExpiry(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,4}):([0-5]\d):([0-5]\d)$/.exec(value);
  if (!match) return undefined;
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  return Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}

export function parseCodeType(value: unknown): CodeType | undefined {
  if (typeof value !== 'string') return undefined;
  switch (value.toLowerCase()) {
    case 'numeric':
      return 'Numeric';
    case 'alpha':
      return 'Alpha';
    case 'alphanumeric':
      return 'Alphanumeric';
    default:
      return undefined;
  }
}

const ALPHABETS: Readonly<Record<CodeType, string>> = {
  Numeric: '0123456789',
  Alpha: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  Alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
};

export function generateCode(length: number, codeType: CodeType): string {
  const alphabet = ALPHABETS[codeType];
  let code = '';
  for (let i = 0; i < length; i += 1) code += alphabet[randomInt(alphabet.length)] ?? '0';
  return code;
}

/**
 * Sinch's `verificationTimestamp`: UTC with seven fractional digits and no `Z`
 * (reference doc §4), e.g. `2024-06-06T09:08:41.4780000`.
 */
export function sinchTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, -1)}0000`;
}
