import {
  canonicalLocale,
  localeSchema,
  MAX_LOCALE_LENGTH,
  parseAcceptLanguage,
  preferredLocale,
} from '../../src/utils/locale';

describe('canonicalLocale', () => {
  test.each([
    ['sv-SE', 'sv-SE'],
    ['sv-se', 'sv-SE'],
    ['EN-gb', 'en-GB'],
    ['fr', 'fr'],
    ['zh-hant-tw', 'zh-Hant-TW'],
    ['de-DE-1996', 'de-DE-1996'],
    ['es-419', 'es-419'],
    ['  pt-BR ', 'pt-BR'],
  ])('When the tag is %j, then its canonical form is %j', (tag, canonical) => {
    expect(canonicalLocale(tag)).toBe(canonical);
  });

  test.each([
    ['an underscore', 'en_US'],
    ['the wildcard', '*'],
    ['an empty string', ''],
    ['blanks', '   '],
    ['a dangling hyphen', 'en-'],
    ['digits', '123'],
    ['a space inside', 'sv SE'],
    ['a private-use-only tag', 'x-private'],
    ['the undetermined language', 'und'],
    ['an undetermined language with a region', 'und-SE'],
    ['a tag beyond the length limit', `en-${'a'.repeat(MAX_LOCALE_LENGTH)}`],
  ])('When the tag is %s, then it is not a locale', (_what, tag) => {
    expect(canonicalLocale(tag)).toBeUndefined();
  });
});

describe('parseAcceptLanguage', () => {
  test.each([
    ['one language', 'sv-SE', ['sv-SE']],
    ['a browser header, already in order', 'sv-SE,sv;q=0.9,en-US;q=0.8,en;q=0.7', ['sv-SE', 'sv', 'en-US', 'en']],
    ['q-values out of order', 'en;q=0.5, fr;q=0.9, de', ['de', 'fr', 'en']],
    ['equal q-values', 'fr;q=0.5, de;q=0.5', ['fr', 'de']],
    ['q=0, which means "not this one"', 'sv-SE;q=0, en', ['en']],
    ['q=1.000 and extra parameters', 'en;q=1.000;foo=bar', ['en']],
    ['the wildcard among languages', '*, fr;q=0.8', ['fr']],
    ['lower-case regions and duplicates', 'sv-se, SV-SE;q=0.5', ['sv-SE']],
    ['blanks around everything', '  da ;  q=0.7 ,  nb  ', ['nb', 'da']],
    ['an invalid entry among valid ones', 'en_US, de', ['de']],
    ['a header split over two lines', ['fr', 'en;q=0.1'], ['fr', 'en']],
  ])('When the header holds %s, then %j', (_what, header, expected) => {
    expect(parseAcceptLanguage(header)).toEqual(expected);
  });

  test.each([
    ['missing', undefined],
    ['empty', ''],
    ['only the wildcard', '*'],
    ['garbage', ';;;,,,=='],
    ['an out-of-range q-value', 'en;q=2'],
    ['a malformed q-value', 'en;q=high'],
    ['only q=0 entries', 'en;q=0, fr;q=0.000'],
    ['a tag Intl cannot read', 'en_US'],
  ])('When the header is %s, then there is no preference and no error', (_what, header) => {
    expect(parseAcceptLanguage(header)).toEqual([]);
    expect(preferredLocale(header)).toBeUndefined();
  });

  test('When the header is huge, then it is read only up to its first 32 entries', () => {
    const header = [...Array.from({ length: 40 }, () => 'xx-invalid_'), 'fr'].join(',');

    expect(parseAcceptLanguage(header)).toEqual([]);
    expect(preferredLocale(`${'de,'.repeat(1000)}fr;q=0.5`)).toBe('de');
  });

  test('When a preferred locale is asked for, then it is the first of the ranked list', () => {
    expect(preferredLocale('en;q=0.1, sv-se;q=0.9')).toBe('sv-SE');
  });
});

describe('localeSchema', () => {
  test('When a body locale is a BCP 47 tag, then it parses to its canonical form', () => {
    expect(localeSchema.parse('sv-se')).toBe('sv-SE');
  });

  test.each(['en_US', '*', '', 'x', 'a'.repeat(MAX_LOCALE_LENGTH + 1)])(
    'When a body locale is %j, then it is refused with a message naming BCP 47',
    (value) => {
      const result = localeSchema.safeParse(value);

      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/BCP 47/);
    },
  );

  test('When a body locale is not a string, then it is refused', () => {
    expect(localeSchema.safeParse(46).success).toBe(false);
  });
});
