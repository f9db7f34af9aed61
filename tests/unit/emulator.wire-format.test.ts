import { SinchApiError } from '../../src/emulator/errors';
import {
  generateCode,
  parseCodeType,
  parseExpiry,
  parseMethod,
  sinchTimestamp,
  validateEndpoint,
} from '../../src/emulator/wire-format';

function thrown(fn: () => void): { httpStatus: number; errorCode: number; message: string } | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof SinchApiError)
      return { httpStatus: error.httpStatus, errorCode: error.body.errorCode, message: error.body.message };
    throw error;
  }
  return undefined;
}

describe('validateEndpoint', () => {
  test.each(['+46701234567', '+12015550123', '+33612345678', '+15551234567'])(
    'When %s is possible E.164, then it passes',
    (n) => {
      expect(thrown(() => validateEndpoint(n))).toBeUndefined();
    },
  );

  test.each([
    ['46701234567', 40005, 'Number 46701234567 is invalid. Missing leading plus.'],
    ['+4813', 40001, 'Number +4813 is invalid. Too short.'],
    ['+', 40001, 'Number + is invalid. Not a number.'],
    ['+46-70-123', 40001, 'Number +46-70-123 is invalid. Not a number.'],
    ['+999999999', 40001, 'Number +999999999 is invalid. Invalid country calling code.'],
    [`+${'4'.repeat(100)}`, 40001, `Number +${'4'.repeat(31)}... is invalid. Too long.`],
  ])('When %p is checked, then 400 %p %p', (n, errorCode, message) => {
    expect(thrown(() => validateEndpoint(n))).toEqual({ httpStatus: 400, errorCode, message });
  });
});

describe('parseExpiry', () => {
  test.each([
    ['00:10:00', 600],
    ['01:02:03', 3723],
    ['0:00:05', 5],
    ['100:00:00', 360_000],
  ])('When %p is parsed, then %p seconds', (value, seconds) => {
    expect(parseExpiry(value)).toBe(seconds);
  });

  test.each(['10:60:00', '00:00:60', '10', '', 'aa:bb:cc', 600, null])('When %p is parsed, then undefined', (value) => {
    expect(parseExpiry(value)).toBeUndefined();
  });
});

describe('parseMethod and parseCodeType', () => {
  test.each([
    ['sms', 'sms'],
    ['SMS', 'sms'],
    ['flashCall', 'flashcall'],
    ['phonecall', 'callout'],
    ['whatsApp', 'whatsapp'],
    ['seamless', 'seamless'],
    ['pigeon', undefined],
    [42, undefined],
  ])('When the method is %p, then %p', (value, method) => {
    expect(parseMethod(value)).toBe(method);
  });

  test.each([
    ['numeric', 'Numeric'],
    ['ALPHA', 'Alpha'],
    ['Alphanumeric', 'Alphanumeric'],
    ['hex', undefined],
  ])('When the codeType is %p, then %p', (value, codeType) => {
    expect(parseCodeType(value)).toBe(codeType);
  });
});

describe('generateCode', () => {
  test.each([
    ['Numeric', /^\d{4}$/],
    ['Alpha', /^[A-Z]{4}$/],
    ['Alphanumeric', /^[A-Z0-9]{4}$/],
  ] as const)('When a %s code is generated, then it matches %p', (codeType, pattern) => {
    for (let i = 0; i < 50; i += 1) expect(generateCode(4, codeType)).toMatch(pattern);
  });
});

describe('sinchTimestamp', () => {
  test('When a time is formatted, then UTC with seven fractional digits and no Z, as Sinch sends it', () => {
    expect(sinchTimestamp(Date.parse('2024-06-06T09:08:41.478Z'))).toBe('2024-06-06T09:08:41.4780000');
  });
});
