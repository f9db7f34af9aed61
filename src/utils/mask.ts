const VISIBLE_TAIL = 2;
const MIN_HIDDEN = 5;
const MAX_VISIBLE_HEAD = 4;

/**
 * Masks a phone number for logs: at most four leading digits (roughly the country and
 * operator prefix) and the last two stay visible, at least five digits are hidden,
 * e.g. `+46701234567` -> `+4670*****67`.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  const head = Math.max(0, Math.min(MAX_VISIBLE_HEAD, digits.length - VISIBLE_TAIL - MIN_HIDDEN));
  const tail = digits.length > VISIBLE_TAIL + MIN_HIDDEN ? VISIBLE_TAIL : 0;
  return `+${digits.slice(0, head)}${'*'.repeat(digits.length - head - tail)}${tail ? digits.slice(-tail) : ''}`;
}
