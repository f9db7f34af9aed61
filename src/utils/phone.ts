import { parsePhoneNumberFromString, type CountryCode, type NumberType } from 'libphonenumber-js/max';
import { AppError } from './app-error';

export interface NormalizedPhone {
  /** E.164, e.g. +46701234567 */
  e164: string;
  /** ISO 3166 alpha-2 country of the number, when known. */
  country?: CountryCode;
  /** libphonenumber's type (MOBILE, FIXED_LINE_OR_MOBILE, ...), or UNKNOWN. */
  type: NonNullable<NumberType> | 'UNKNOWN';
}

/** Characters people type in phone numbers; anything else (letters, slashes) is refused up front. */
const ALLOWED_CHARS = /^\+?[\d\s().-]+$/;

/**
 * Parses what a person typed into an E.164 number. Spaces, dashes, dots and parentheses are
 * accepted; a number without a leading `+` needs `defaultCountry`. Throws INVALID_PHONE_NUMBER.
 */
export function normalizePhone(input: string, defaultCountry?: CountryCode): NormalizedPhone {
  const text = input.trim();
  if (!ALLOWED_CHARS.test(text)) {
    throw new AppError('INVALID_PHONE_NUMBER', {
      message: 'The phone number may only contain digits, spaces, dashes, dots, parentheses and a leading +.',
      details: [{ field: 'phoneNumber', reason: 'invalid_characters' }],
    });
  }
  if (!text.startsWith('+') && !defaultCountry) {
    throw new AppError('INVALID_PHONE_NUMBER', {
      message: 'The phone number must start with + and the country code, e.g. +46701234567.',
      details: [{ field: 'phoneNumber', reason: 'missing_country_code' }],
    });
  }
  const parsed = parsePhoneNumberFromString(text, text.startsWith('+') ? undefined : defaultCountry);
  if (!parsed || !parsed.isPossible()) {
    throw new AppError('INVALID_PHONE_NUMBER', {
      message: 'The phone number has the wrong length for its country.',
      details: [{ field: 'phoneNumber', reason: 'impossible_number' }],
    });
  }
  if (!parsed.isValid()) {
    throw new AppError('INVALID_PHONE_NUMBER', {
      message: 'The phone number is not a valid number in its country.',
      details: [{ field: 'phoneNumber', reason: 'invalid_number' }],
    });
  }
  return { e164: parsed.number, country: parsed.country, type: parsed.getType() ?? 'UNKNOWN' };
}
