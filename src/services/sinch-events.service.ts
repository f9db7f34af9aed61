import { createHash } from 'node:crypto';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import type { CallbackOutcome, VerificationQueries } from '../db/queries/verifications';
import { verdictOf } from '../clients/sinch/status';
import type { VerificationStatus } from '../models';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import { normalizePhone } from '../utils/phone';
import type {
  VerificationRequestEvent,
  VerificationResultEvent,
  VerificationSmsDeliveredEvent,
} from '../validations/sinch-events.validation';
import { checkNumberPolicy } from './number-policy';

export interface SinchEventsService {
  /** Answers a VerificationRequestEvent: a method on offer (OTP_METHODS), to a number our policy allows. */
  decide(event: VerificationRequestEvent): 'allow' | 'deny';
  /**
   * Applies a final result to the Verification (and the User on success). A copy of a result
   * already applied (a replay, or Sinch retrying) changes nothing.
   */
  applyResult(event: VerificationResultEvent): Promise<void>;
  /**
   * Records whether the SMS reached the handset; a failed one starts the fallback method when one is
   * configured. A copy of a report already recorded changes nothing.
   */
  recordDelivery(event: VerificationSmsDeliveredEvent): Promise<void>;
}

/**
 * The memory key of a callback: what it reports, hashed. An exact replay and a retry by Sinch
 * (same report, new x-timestamp and signature) share it; a different report about the same
 * verification does not.
 */
export function callbackKey(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** Sinch's verdict as the final status it gives a verification; PENDING (or an unknown status) changes nothing. */
function finalStatus(status: string, reason?: string): VerificationStatus | undefined {
  const verdict = verdictOf(status, reason);
  switch (verdict?.result) {
    case 'SUCCESSFUL':
    case 'EXPIRED':
    case 'ABORTED':
      return verdict.result;
    case 'INVALID_CODE':
    case 'REJECTED':
      return 'FAILED';
    default:
      return undefined;
  }
}

/** A method on offer (OTP_METHODS), to a number our policy allows; an unreadable number is denied. */
function decideRequest(event: VerificationRequestEvent, config: Config, logger: Logger): 'allow' | 'deny' {
  const method = event.method.toLowerCase();
  if (!(config.otp.methods as readonly string[]).includes(method)) return 'deny';
  try {
    const phone = normalizePhone(event.identity.endpoint);
    const refusal = checkNumberPolicy(phone, config.numberPolicy);
    if (refusal) logger.warn('Sinch asked about a number our policy refuses: deny', { reason: refusal });
    return refusal ? 'deny' : 'allow';
  } catch (error) {
    if (error instanceof AppError) return 'deny';
    throw error;
  }
}

export function createSinchEventsService(deps: {
  verifications: VerificationQueries;
  config: Config;
  logger: Logger;
  clock: Clock;
  /** Starts OTP_FALLBACK_METHOD for the verification whose SMS (Sinch's id) failed; a refusal is logged, not thrown. */
  fallBack?: (sinchId: string) => Promise<void>;
}): SinchEventsService {
  const { verifications, config, logger, clock } = deps;
  // A copy of a signed callback passes the signature check while its x-timestamp is within the skew
  // of the receiving instance's clock: at most 2 x skew after the first copy arrived anywhere.
  const memoryMs = 2 * config.sinch.callbackMaxSkewSeconds * 1000;

  async function once(
    key: string,
    apply: (at: Date, memory: { key: string; expiresAt: Date }) => Promise<CallbackOutcome>,
  ) {
    const now = clock.now();
    return apply(new Date(now), { key, expiresAt: new Date(now + memoryMs) });
  }

  function duplicate(event: string): void {
    logger.info('Sinch callback already processed: acknowledged, nothing changed', { event });
  }

  return {
    decide: (event) => decideRequest(event, config, logger),

    async applyResult(event) {
      const status = finalStatus(event.status, event.reason);
      if (!status) return;
      const key = callbackKey([event.event, event.id, event.status, event.reason ?? '']);
      const outcome = await once(key, (at, memory) => verifications.applyResult(event.id, status, at, memory));
      if (!outcome.first) return duplicate(event.event);
      logger.info('Sinch result event', { sinchStatus: event.status, applied: outcome.applied, status });
    },

    async recordDelivery(event) {
      const delivered = event.smsResult.toLowerCase() === 'successful';
      const key = callbackKey([event.event, event.id, event.smsResult]);
      const outcome = await once(key, (at, memory) => verifications.recordDelivery(event.id, delivered, at, memory));
      if (!outcome.first) return duplicate(event.event);
      (delivered ? logger.info : logger.warn)('Sinch SMS delivery report', {
        smsResult: event.smsResult,
        applied: outcome.applied,
      });
      if (!delivered && outcome.applied) await deps.fallBack?.(event.id);
    },
  };
}
