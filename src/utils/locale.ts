import { z } from 'zod';

/**
 * BCP 47 language tags: validation, canonical form and the HTTP `Accept-Language` header.
 * Pure functions over `Intl.getCanonicalLocales`, which implements the BCP 47 grammar the
 * runtime's ICU knows, so `sv-se` becomes `sv-SE` and `en_US` is refused.
 */

/**
 * Longest tag accepted. RFC 5646 §4.4.1 sizes language-extlang-script-region-variant tags to 35
 * characters; longer ones only carry extensions no SMS or voice provider reads.
 */
export const MAX_LOCALE_LENGTH = 35;

/** More entries than any browser sends: the rest of a hostile header is ignored unread. */
const MAX_ACCEPT_LANGUAGE_ENTRIES = 32;

/** The canonical form of a BCP 47 tag (`sv-se` -> `sv-SE`), or undefined when it is not one. */
export function canonicalLocale(tag: string): string | undefined {
  const trimmed = tag.trim();
  if (trimmed === '' || trimmed.length > MAX_LOCALE_LENGTH) return undefined;
  let canonical: string | undefined;
  try {
    [canonical] = Intl.getCanonicalLocales(trimmed);
  } catch {
    return undefined;
  }
  // `und` (undetermined) is grammatical but names no language a message could be written in.
  if (canonical === undefined || canonical === 'und' || canonical.startsWith('und-')) return undefined;
  return canonical;
}

/**
 * The languages an `Accept-Language` header asks for, most wanted first (q-values honoured,
 * ties keep header order), canonical and without duplicates. `*`, `q=0`, and entries that are not
 * BCP 47 tags are dropped; a missing or wholly unparseable header gives []. Never throws: a
 * header is a preference, and a bad one only means there is none.
 */
export function parseAcceptLanguage(header: string | readonly string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header as string | undefined);
  if (text === undefined) return [];
  const ranked: { tag: string; q: number; position: number }[] = [];
  const entries = text.split(',', MAX_ACCEPT_LANGUAGE_ENTRIES);
  entries.forEach((entry, position) => {
    const [range = '', ...params] = entry.split(';');
    const q = weight(params);
    if (q === undefined || q === 0) return;
    const tag = range.trim() === '*' ? undefined : canonicalLocale(range);
    if (tag !== undefined) ranked.push({ tag, q, position });
  });
  ranked.sort((a, b) => b.q - a.q || a.position - b.position);
  return [...new Set(ranked.map((r) => r.tag))];
}

/** The language an `Accept-Language` header wants most, or undefined when it names none. */
export function preferredLocale(header: string | readonly string[] | undefined): string | undefined {
  return parseAcceptLanguage(header)[0];
}

/** The q-value of one entry (RFC 9110 §12.4.2); 1 without one, undefined when malformed. */
function weight(params: string[]): number | undefined {
  let q = 1;
  for (const param of params) {
    const [name = '', value = '', ...rest] = param.split('=');
    if (name.trim().toLowerCase() !== 'q') continue;
    if (rest.length > 0 || !/^\s*(0(\.\d{0,3})?|1(\.0{0,3})?)\s*$/.test(value)) return undefined;
    q = Number(value);
  }
  return q;
}

/**
 * A request body's `locale`: a BCP 47 tag, answered in canonical form. Unlike a header, a body
 * field the client wrote on purpose is refused when malformed (400 VALIDATION_ERROR upstream).
 */
export const localeSchema = z
  .string()
  .max(MAX_LOCALE_LENGTH, `must be a BCP 47 language tag of at most ${MAX_LOCALE_LENGTH} characters`)
  .transform((value, ctx) => {
    const canonical = canonicalLocale(value);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a BCP 47 language tag such as sv-SE or en' });
      return z.NEVER;
    }
    return canonical;
  });
