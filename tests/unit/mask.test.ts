import { maskPhone } from '../../src/utils/mask';

describe('maskPhone', () => {
  test.each([
    ['+46701234567', '+4670*****67'],
    ['+14155552671', '+1415*****71'],
    ['+33612345678', '+3361*****78'],
    ['+49170123456789', '+4917********89'],
    ['+123456789012345', '+1234*********45'],
    ['+3548401234', '+354*****34'],
  ])('When %s is masked, then it becomes %s', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  test.each([
    ['+12345678', '+1*****78'],
    ['+1234567', '+*******'],
    ['+123', '+***'],
    ['', '+'],
  ])('When the short number %j is masked, then at least five digits stay hidden (%s)', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  test('When the number is formatted, then the mask is the same as for its E.164 form', () => {
    expect(maskPhone('+46 (70) 123-45.67')).toBe(maskPhone('+46701234567'));
  });

  test.each(Array.from({ length: 16 }, (_, n) => n + 1))(
    'When a number has %i digits, then at most six are shown and at least min(5, all) are hidden',
    (length) => {
      const digits = '9876543210987654'.slice(0, length);

      const masked = maskPhone(`+${digits}`);

      const shown = masked.replace(/\D/g, '');
      const hidden = (masked.match(/\*/g) ?? []).length;
      expect(masked.startsWith('+')).toBe(true);
      expect(shown.length + hidden).toBe(length);
      expect(shown.length).toBeLessThanOrEqual(6);
      expect(hidden).toBeGreaterThanOrEqual(Math.min(5, length));
    },
  );
});
