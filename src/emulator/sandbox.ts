/**
 * Scripted sandbox numbers: each range makes the emulator behave in one fixed way, so tests
 * (in this process or another) can provoke Sinch's failure modes just by choosing the number.
 *
 * All ranges sit inside +46 70-174 06 05 .. +46 70-174 06 99, the block Sweden's regulator
 * (PTS) reserves for fiction: valid mobile numbers by libphonenumber's rules (so a service's
 * own phone validation accepts them) that are never assigned to a subscriber.
 */

export type SandboxBehaviour =
  'fixedCode' | 'unavailable' | 'timeout' | 'blacklisted' | 'tooQuickly' | 'undelivered' | 'noRoute';

export interface SandboxRange {
  readonly behaviour: SandboxBehaviour;
  /** First number of the range, E.164. */
  readonly first: string;
  /** Last number of the range, E.164 (inclusive). */
  readonly last: string;
  /** What the emulator does for a verification started to a number of this range. */
  readonly description: string;
  /** The code sent, for ranges whose code is fixed. */
  readonly code?: string;
  /** HTTP status and Sinch error code answered to the start request, for failing ranges. */
  readonly status?: number;
  readonly errorCode?: number;
}

const PREFIX = '+467017406';

function range(
  behaviour: SandboxBehaviour,
  firstTail: number,
  description: string,
  extra: Partial<Pick<SandboxRange, 'code' | 'status' | 'errorCode'>> = {},
): SandboxRange {
  return Object.freeze({
    behaviour,
    first: `${PREFIX}${firstTail}`,
    last: `${PREFIX}${firstTail + 9}`,
    description,
    ...extra,
  });
}

/** The sandbox ranges, ten numbers each; documented in src/emulator/README.md. */
export const SANDBOX_NUMBERS = Object.freeze({
  fixedCode: range('fixedCode', 10, 'Start succeeds and the code is always 1234.', { code: '1234' }),
  unavailable: range('unavailable', 20, 'Start answers 503 50300 (Sinch temporarily down).', {
    status: 503,
    errorCode: 50300,
  }),
  timeout: range(
    'timeout',
    30,
    'Start never answers: the socket is held until the client gives up or the emulator closes.',
  ),
  blacklisted: range('blacklisted', 40, 'Start answers 403 40300 "Identity is blacklisted.".', {
    status: 403,
    errorCode: 40300,
  }),
  tooQuickly: range(
    'tooQuickly',
    50,
    'Start answers 429 42901 "Cannot initiate verification to the same number too quickly.".',
    {
      status: 429,
      errorCode: 42901,
    },
  ),
  undelivered: range(
    'undelivered',
    60,
    'Start succeeds but an SMS is never delivered: no code reaches the inbox, SmsDelivered says Failed. Calls and WhatsApp get through, so a fallback can be tested.',
  ),
  noRoute: range('noRoute', 70, 'Start answers 422 42201 "No route to destination.".', {
    status: 422,
    errorCode: 42201,
  }),
} satisfies Record<SandboxBehaviour, SandboxRange>);

const RANGES: readonly SandboxRange[] = Object.values(SANDBOX_NUMBERS);

/**
 * The `index`-th number (0..9) of a sandbox range, e.g. `sandboxNumber('fixedCode', 3)`.
 * Lets tests pick distinct numbers so verifications of parallel tests do not abort each other.
 */
export function sandboxNumber(behaviour: SandboxBehaviour, index = 0): string {
  if (!Number.isInteger(index) || index < 0 || index > 9) {
    throw new RangeError(`sandbox index must be an integer 0..9, got ${index}`);
  }
  const first = SANDBOX_NUMBERS[behaviour].first;
  return `${first.slice(0, -1)}${index}`;
}

/** The sandbox range an E.164 number belongs to, if any. */
export function sandboxRangeOf(endpoint: string): SandboxRange | undefined {
  // Every range shares the prefix and has the same length, so string order is numeric order.
  if (!endpoint.startsWith(PREFIX) || endpoint.length !== SANDBOX_NUMBERS.fixedCode.first.length) return undefined;
  return RANGES.find((r) => endpoint >= r.first && endpoint <= r.last);
}
