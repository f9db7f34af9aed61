import { parsePhoneNumber } from 'libphonenumber-js/max';
import { SANDBOX_NUMBERS, sandboxNumber, sandboxRangeOf, type SandboxBehaviour } from '../../src/emulator/sandbox';

const behaviours = Object.keys(SANDBOX_NUMBERS) as SandboxBehaviour[];
const everyNumber = behaviours.flatMap((b) => Array.from({ length: 10 }, (_, i) => sandboxNumber(b, i)));

describe('SANDBOX_NUMBERS', () => {
  test('When any sandbox number is checked with full metadata, then it is a valid Swedish MOBILE number', () => {
    for (const number of everyNumber) {
      const parsed = parsePhoneNumber(number);
      expect({ number, valid: parsed.isValid(), type: parsed.getType(), country: parsed.country }).toEqual({
        number,
        valid: true,
        type: 'MOBILE',
        country: 'SE',
      });
    }
  });

  test('When the ranges are compared, then none overlap and all sit in the fiction block +46 70-174 06 05..99', () => {
    expect(new Set(everyNumber).size).toBe(everyNumber.length);
    for (const number of everyNumber) {
      expect(number >= '+46701740605' && number <= '+46701740699').toBe(true);
    }
  });

  test.each(behaviours)('When a %s number is looked up, then its own range is found', (behaviour) => {
    for (let i = 0; i < 10; i += 1) expect(sandboxRangeOf(sandboxNumber(behaviour, i))?.behaviour).toBe(behaviour);
  });

  test.each(['+46701740609', '+46701740680', '+46701234567', '+467017406100', '+4670174061', ''])(
    'When %p is looked up, then it is not a sandbox number',
    (number) => {
      expect(sandboxRangeOf(number)).toBeUndefined();
    },
  );

  test('When first and last of a range are read, then they bracket the ten numbers of sandboxNumber', () => {
    expect(SANDBOX_NUMBERS.fixedCode).toMatchObject({ first: '+46701740610', last: '+46701740619', code: '1234' });
    expect(sandboxNumber('noRoute', 9)).toBe(SANDBOX_NUMBERS.noRoute.last);
  });

  test.each([-1, 10, 1.5])('When sandboxNumber gets index %p, then it throws', (index) => {
    expect(() => sandboxNumber('fixedCode', index)).toThrow(RangeError);
  });
});
