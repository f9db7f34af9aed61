import { normalizePhone } from '../../src/utils/phone';
import { AppError } from '../../src/utils/app-error';

/** The INVALID_PHONE_NUMBER error normalizePhone throws, with its reason. */
function refusal(
  input: string,
  defaultCountry?: Parameters<typeof normalizePhone>[1],
): { code: string; httpStatus: number; reason: unknown } {
  try {
    normalizePhone(input, defaultCountry);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const appError = error as AppError;
    return {
      code: appError.code,
      httpStatus: appError.httpStatus,
      reason: (appError.details?.[0] as { reason?: unknown } | undefined)?.reason,
    };
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe('normalizePhone', () => {
  test.each([
    ['+46701234567', '+46701234567', 'SE'],
    ['+46 70 123 45 67', '+46701234567', 'SE'],
    ['+46-70-123-45-67', '+46701234567', 'SE'],
    ['+46.70.123.45.67', '+46701234567', 'SE'],
    ['+46 (70) 123-45.67', '+46701234567', 'SE'],
    ['  +46701234567  ', '+46701234567', 'SE'],
    ['+1 (415) 555-2671', '+14155552671', 'US'],
    ['+44 7400 123456', '+447400123456', 'GB'],
    ['+49 1512 3456789', '+4915123456789', 'DE'],
    ['+33 6 12 34 56 78', '+33612345678', 'FR'],
  ])('When %j is given, then it normalises to %s (%s)', (input, e164, country) => {
    expect(normalizePhone(input)).toMatchObject({ e164, country });
  });

  test.each([
    ['070-123 45 67', 'SE', '+46701234567'],
    ['0701234567', 'SE', '+46701234567'],
    ['(415) 555-2671', 'US', '+14155552671'],
    ['07400 123456', 'GB', '+447400123456'],
    ['+33 6 12 34 56 78', 'SE', '+33612345678'],
  ] as const)(
    'When %j has no + and DEFAULT_COUNTRY is %s, then it is read as a number of that country: %s',
    (input, country, e164) => {
      expect(normalizePhone(input, country)).toMatchObject({ e164 });
    },
  );

  test.each(['0701234567', '46701234567', '4915123456789'])(
    'When %j has no + and no DEFAULT_COUNTRY is set, then missing_country_code',
    (input) => {
      expect(refusal(input)).toEqual({ code: 'INVALID_PHONE_NUMBER', httpStatus: 400, reason: 'missing_country_code' });
    },
  );

  test.each([
    ['letters', '+46 70 ABC 45 67'],
    ['a letter x for extension', '+46701234567 x12'],
    ['a slash', '+46/701234567'],
    ['a second plus', '+46+701234567'],
    ['a plus in the middle', '46+701234567'],
    ['an empty string', ''],
    ['only spaces', '   '],
    ['only a plus', '+'],
    ['a letter O instead of a zero', '+46 7O1234567'],
    ['full-width digits', '+４６７０１２３４５６７'],
    ['an emoji', '+46701234567📱'],
  ])('When the input has %s, then invalid_characters', (_what, input) => {
    expect(refusal(input, 'SE')).toEqual({
      code: 'INVALID_PHONE_NUMBER',
      httpStatus: 400,
      reason: 'invalid_characters',
    });
  });

  test.each([
    ['too short', '+46 70 12'],
    ['too long', '+46 70 123 456 789 012'],
    ['an unassigned country code', '+999 123 456 789'],
    ['a lone country code', '+46'],
    ['too short for the default country', '070 12'],
  ])('When the number is %s, then impossible_number', (_what, input) => {
    expect(refusal(input, 'SE')).toEqual({
      code: 'INVALID_PHONE_NUMBER',
      httpStatus: 400,
      reason: 'impossible_number',
    });
  });

  test.each([
    ['a Swedish number in an unused range', '+46 99 123 45 67'],
    ['a US number with area code 555 exchange 0xx', '+1 555 012 3456'],
  ])('When the number is %s (possible length, but not valid), then invalid_number', (_what, input) => {
    expect(refusal(input)).toEqual({ code: 'INVALID_PHONE_NUMBER', httpStatus: 400, reason: 'invalid_number' });
  });

  test.each([
    ['+46701234567', 'MOBILE'],
    ['+46 8 123 456 78', 'FIXED_LINE'],
    ['+1 415 555 2671', 'FIXED_LINE_OR_MOBILE'],
  ])('When %s is parsed, then its type is %s (what the number policy decides on)', (input, type) => {
    expect(normalizePhone(input).type).toBe(type);
  });
});
