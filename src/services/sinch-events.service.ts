import { QueryTypes, type Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
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
  /** Applies a final result to the Verification (and the User on success). */
  applyResult(event: VerificationResultEvent): Promise<void>;
  /** Records whether the SMS reached the handset. */
  recordDelivery(event: VerificationSmsDeliveredEvent): Promise<void>;
}

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
      const now = new Date(clock.now());
      // Only a PENDING verification moves: a late or repeated event never undoes a final state.
      const rows = await sequelize.query<{ phoneNumber: string }>(
        `UPDATE "Verifications" SET "status" = $2::varchar, "updatedAt" = $3, "verifiedAt" = CASE WHEN $2::varchar = 'SUCCESSFUL' THEN $3::timestamptz ELSE "verifiedAt" END
         WHERE "sinchVerificationId" = $1 AND "status" = 'PENDING'
         RETURNING "phoneNumber"`,
        { bind: [event.id, status, now], type: QueryTypes.SELECT },
      );
      const phoneNumber = rows[0]?.phoneNumber;
      if (phoneNumber && status === 'SUCCESSFUL') {
        await sequelize.query(
          `UPDATE "Users" SET "isVerified" = true, "verifiedAt" = $2, "updatedAt" = $2 WHERE "phoneNumber" = $1`,
          { bind: [phoneNumber, now] },
        );
      }
      logger.info('Sinch result event', { sinchStatus: event.status, applied: Boolean(phoneNumber), status });
    },

    async recordDelivery(event) {
      const delivered = event.smsResult.toLowerCase() === 'successful';
      const [, updated] = await sequelize.query(
        `UPDATE "Verifications" SET "smsDeliveryStatus" = $2, "smsDeliveryReportedAt" = $3, "updatedAt" = $3 WHERE "sinchVerificationId" = $1`,
        { bind: [event.id, delivered ? 'DELIVERED' : 'FAILED', new Date(clock.now())], type: QueryTypes.UPDATE },
      );
      (delivered ? logger.info : logger.warn)('Sinch SMS delivery report', {
        smsResult: event.smsResult,
        applied: updated > 0,
      });
    },
  };
}
