import { randomUUID, timingSafeEqual } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Config } from '../config';
import type { ReportOutcome, StartRequest, StartResult } from '../clients/sinch/sinch.client';

/** The prefix of the verification ids a test number gets instead of Sinch's (never sent to Sinch). */
export const TEST_VERIFICATION_PREFIX = 'test-';

/**
 * The fixed-code numbers of OTP_TEST_NUMBERS (app-store reviewers): a stand-in for Sinch's start
 * and report that never leaves the process. Everything around them (limits, attempts, the failure
 * budget, idempotency, the database rows) is the real path; only the provider is replaced.
 */
export interface TestNumbers {
  /** How many are configured. */
  readonly count: number;
  /** The E.164 numbers, for queries that must leave them out. */
  readonly numbers: readonly string[];
  /**
   * The E.164 form of `input` when it is a test number. Checked before the validity and number-type
   * checks: reviewers' numbers are often fictional (+1 555 01xx), which libphonenumber calls invalid.
   */
  match(input: string, defaultCountry?: CountryCode): string | undefined;
  has(e164: string): boolean;
  /** What Sinch's start would answer: a fresh id, and the language asked for as the one "used". */
  start(request: StartRequest): StartResult;
  /** Only the fixed code is right (letters without regard to case, as Sinch compares them). */
  report(e164: string, code: string): ReportOutcome;
}

export function createTestNumbers(codes: Config['otp']['testNumbers']): TestNumbers {
  const numbers = Object.keys(codes);

  function has(e164: string): boolean {
    return Object.hasOwn(codes, e164);
  }

  return {
    count: numbers.length,
    numbers,
    has,

    match(input, defaultCountry) {
      if (numbers.length === 0) return undefined;
      const text = input.trim();
      const parsed = parsePhoneNumberFromString(text, text.startsWith('+') ? undefined : defaultCountry);
      return parsed && has(parsed.number) ? parsed.number : undefined;
    },

    start(request) {
      const id = `${TEST_VERIFICATION_PREFIX}${randomUUID()}`;
      return request.locale === undefined ? { id } : { id, contentLanguage: request.locale };
    },

    report(e164, code) {
      const expected = Buffer.from(codes[e164] ?? '');
      const given = Buffer.from(code.toUpperCase());
      const right = expected.length > 0 && given.length === expected.length && timingSafeEqual(given, expected);
      return right ? { result: 'SUCCESSFUL' } : { result: 'INVALID_CODE' };
    },
  };
}
