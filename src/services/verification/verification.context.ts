import type { Config } from '../../config';
import type { Logger } from '../../config/logger';
import type { VerificationQueries } from '../../db/queries/verifications';
import type { SinchClient } from '../../clients/sinch/sinch.client';
import type { Clock } from '../../utils/clock';
import type { IdempotencyService } from '../idempotency.service';
import { createTestNumbers, type TestNumbers } from '../test-numbers';
import type { UserService } from '../user.service';
import type { VerificationTokenService } from '../verification-token.service';
import type { OtpEventLabels, OtpEvents } from './verification.types';

export interface VerificationServiceDeps {
  verifications: VerificationQueries;
  sinch: SinchClient;
  users: UserService;
  config: Config;
  logger: Logger;
  clock: Clock;
  events?: OtpEvents;
  idempotency?: IdempotencyService;
  /** OTP_TEST_NUMBERS; built from config when absent. */
  testNumbers?: TestNumbers;
  /** Signs the token of a successful verification; none: verify-otp returns no token. */
  tokens?: VerificationTokenService;
}

/** What every step of the verification flows is handed: the deps, with their defaults filled in. */
export interface VerificationContext extends VerificationServiceDeps {
  events: OtpEvents;
  testNumbers: TestNumbers;
  /** `config.otp`, which nearly every step reads. */
  otp: Config['otp'];
  /** The minute window of the last global-send-ceiling alert (see reserve): the one piece of state. */
  lastCeilingAlert: number;
}

const noEvents: OtpEvents = { requested() {}, sent() {}, refused() {}, verified() {}, failed() {} };

export function createVerificationContext(deps: VerificationServiceDeps): VerificationContext {
  return {
    ...deps,
    events: deps.events ?? noEvents,
    testNumbers: deps.testNumbers ?? createTestNumbers(deps.config.otp.testNumbers),
    otp: deps.config.otp,
    lastCeilingAlert: -1,
  };
}

/** The metric labels of an event about `e164` (undefined: the number is not known yet). */
export function labelsOf(
  ctx: VerificationContext,
  e164: string | undefined,
  purpose: string | null = null,
): OtpEventLabels {
  return { purpose, testNumber: e164 !== undefined && ctx.testNumbers.has(e164) };
}
