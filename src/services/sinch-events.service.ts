import { createHash } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { claimedCte } from '../db/queries/processed-callbacks';
import { isoTimestamp, outboxCte } from '../db/queries/webhook-outbox';
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
  /** Answers a VerificationRequestEvent with this service's own number policy. */
  decide(event: VerificationRequestEvent): 'allow' | 'deny';
  /**
   * Applies a final result to the Verification (and the User on success). A copy of a result
   * already applied (a replay, or Sinch retrying) changes nothing.
   */
  applyResult(event: VerificationResultEvent): Promise<void>;
  /** Records whether the SMS reached the handset. A copy of a report already recorded changes nothing. */
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

/** Webhook events recorded with the changes below when webhooks are on ($6): docs/webhooks.md. */
const WEBHOOK_SUCCEEDED = outboxCte({
  name: 'succeeded_event',
  type: 'verification.succeeded',
  source: 'moved',
  occurredAt: '$3',
  enabled: '$6',
  when: `s."status" = 'SUCCESSFUL'`,
  extra: { verifiedAt: isoTimestamp('s."verifiedAt"'), attempts: 's."attempts"' },
});
const WEBHOOK_FAILED = outboxCte({
  name: 'failed_event',
  type: 'verification.failed',
  source: 'moved',
  occurredAt: '$3',
  enabled: '$6',
  when: `s."status" = 'FAILED'`,
  extra: { reason: `'ended_by_provider'`, attempts: 's."attempts"' },
});
const WEBHOOK_DELIVERY = outboxCte({
  name: 'delivery_event',
  type: 'verification.delivery',
  source: 'recorded',
  occurredAt: '$3',
  enabled: '$6',
  extra: {
    smsDeliveryStatus: 's."smsDeliveryStatus"',
    smsDeliveryReportedAt: isoTimestamp('s."smsDeliveryReportedAt"'),
  },
});

/**
 * Claims the result's key, then moves a PENDING verification to its final status and, on success,
 * marks the user verified: one statement, so the claim and the change commit together. The user
 * row is locked before the verification row, like every statement that touches both.
 * $1 Sinch id, $2 our status, $3 now, $4 key, $5 memory expiry.
 */
const APPLY_RESULT = `WITH ${claimedCte({ key: '$4', expiresAt: '$5', now: '$3' })},
   target AS (
     SELECT "phoneNumber" FROM "Verifications"
     WHERE "sinchVerificationId" = $1 AND "status" = 'PENDING' AND EXISTS (SELECT 1 FROM claimed)
   ), locked_user AS (
     SELECT 1 FROM "Users" WHERE "phoneNumber" = (SELECT "phoneNumber" FROM target) FOR UPDATE
   ), moved AS (
     UPDATE "Verifications"
     SET "status" = $2::varchar, "updatedAt" = $3,
       "verifiedAt" = CASE WHEN $2::varchar = 'SUCCESSFUL' THEN $3::timestamptz ELSE "verifiedAt" END
     WHERE "sinchVerificationId" = $1 AND "status" = 'PENDING' AND EXISTS (SELECT 1 FROM claimed)
       AND (SELECT count(*) FROM locked_user) >= 0
     RETURNING *
   ), verified_user AS (
     UPDATE "Users" SET "isVerified" = true, "verifiedAt" = $3, "updatedAt" = $3
     WHERE $2::varchar = 'SUCCESSFUL' AND "phoneNumber" = (SELECT "phoneNumber" FROM moved)
     RETURNING 1
   ), ${WEBHOOK_SUCCEEDED}, ${WEBHOOK_FAILED}
   SELECT EXISTS (SELECT 1 FROM claimed) AS "first", EXISTS (SELECT 1 FROM moved) AS "applied"`;

/**
 * Claims the report's key, then records the delivery result unless it is already the recorded one.
 * $1 Sinch id, $2 DELIVERED | FAILED, $3 now, $4 key, $5 memory expiry.
 */
const RECORD_DELIVERY = `WITH ${claimedCte({ key: '$4', expiresAt: '$5', now: '$3' })},
   recorded AS (
     UPDATE "Verifications" SET "smsDeliveryStatus" = $2, "smsDeliveryReportedAt" = $3, "updatedAt" = $3
     WHERE "sinchVerificationId" = $1 AND "smsDeliveryStatus" IS DISTINCT FROM $2 AND EXISTS (SELECT 1 FROM claimed)
     RETURNING *
   ), ${WEBHOOK_DELIVERY}
   SELECT EXISTS (SELECT 1 FROM claimed) AS "first", EXISTS (SELECT 1 FROM recorded) AS "applied"`;

/** Sinch's final statuses in our vocabulary; PENDING changes nothing. */
function statusFromSinch(status: string, reason?: string): VerificationStatus | undefined {
  switch (status.toUpperCase()) {
    case 'SUCCESSFUL':
      return 'SUCCESSFUL';
    case 'FAIL':
      return reason?.toLowerCase() === 'expired' ? 'EXPIRED' : 'FAILED';
    case 'DENIED':
    case 'ERROR':
      return 'FAILED';
    case 'ABORTED':
      return 'ABORTED';
    default:
      return undefined;
  }
}

export function createSinchEventsService(deps: {
  sequelize: Sequelize;
  config: Config;
  logger: Logger;
  clock: Clock;
}): SinchEventsService {
  const { sequelize, config, logger, clock } = deps;
  // A copy of a signed callback passes the signature check while its x-timestamp is within the skew
  // of the receiving instance's clock: at most 2 x skew after the first copy arrived anywhere.
  const memoryMs = 2 * config.sinch.callbackMaxSkewSeconds * 1000;

  async function claimAndApply(sql: string, bind: unknown[], key: string) {
    const now = clock.now();
    const [row] = await sequelize.query<{ first: boolean; applied: boolean }>(sql, {
      bind: [...bind, new Date(now), key, new Date(now + memoryMs), config.webhooks.enabled],
      type: QueryTypes.SELECT,
    });
    return { first: row?.first === true, applied: row?.applied === true };
  }

  function duplicate(event: string): void {
    logger.info('Sinch callback already processed: acknowledged, nothing changed', { event });
  }

  return {
    decide(event) {
      if (event.method.toLowerCase() !== 'sms') return 'deny';
      try {
        const phone = normalizePhone(event.identity.endpoint);
        const refusal = checkNumberPolicy(phone, config.numberPolicy);
        if (refusal) logger.warn('Sinch asked about a number our policy refuses: deny', { reason: refusal });
        return refusal ? 'deny' : 'allow';
      } catch (error) {
        if (error instanceof AppError) return 'deny';
        throw error;
      }
    },

    async applyResult(event) {
      const status = statusFromSinch(event.status, event.reason);
      if (!status) return;
      const key = callbackKey([event.event, event.id, event.status, event.reason ?? '']);
      const outcome = await claimAndApply(APPLY_RESULT, [event.id, status], key);
      if (!outcome.first) return duplicate(event.event);
      logger.info('Sinch result event', { sinchStatus: event.status, applied: outcome.applied, status });
    },

    async recordDelivery(event) {
      const delivered = event.smsResult.toLowerCase() === 'successful';
      const key = callbackKey([event.event, event.id, event.smsResult]);
      const outcome = await claimAndApply(RECORD_DELIVERY, [event.id, delivered ? 'DELIVERED' : 'FAILED'], key);
      if (!outcome.first) return duplicate(event.event);
      (delivered ? logger.info : logger.warn)('Sinch SMS delivery report', {
        smsResult: event.smsResult,
        applied: outcome.applied,
      });
    },
  };
}
