/**
 * Unique, valid Swedish mobile numbers (+4673...), distinct per jest worker, so parallel test files
 * never share a number (and so never abort each other's verifications). The emulator's scripted
 * sandbox numbers live in +467017406xx, outside this range.
 */
const worker = Number(process.env.JEST_WORKER_ID ?? '0') % 10;
let counter = Math.floor(Math.random() * 500_000);

export function uniquePhone(): string {
  counter = (counter + 1) % 1_000_000;
  return `+4673${worker}${String(counter).padStart(6, '0')}`;
}

/** The same number as a person might type it: spaces, dashes and parentheses. */
export function formatted(e164: string): string {
  const d = e164.slice(3);
  return `+46 (${d.slice(0, 2)}) ${d.slice(2, 5)}-${d.slice(5, 7)}.${d.slice(7)}`;
}
