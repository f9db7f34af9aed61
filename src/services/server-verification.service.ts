import type { Config } from '../config';
import type { Logger } from '../config/logger';
import type { VerificationQueries, VerificationRecord } from '../db/queries/verifications';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import type { VerificationTokenClaims, VerificationTokenService } from './verification-token.service';

/**
 * A verification's state as a backend sees it: the stored status, except that a PENDING one past
 * its expiry reads EXPIRED (the row itself moves only when a code is next checked).
 */
export type ReportedStatus = 'PENDING' | 'SUCCESSFUL' | 'FAILED' | 'EXPIRED' | 'CANCELLED' | 'ABORTED';

export interface VerificationReport {
  verificationId: string;
  phoneNumber: string;
  method: string;
  purpose: string | null;
  status: ReportedStatus;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  expiresAt: string;
  verifiedAt: string | null;
  smsDeliveryStatus: 'DELIVERED' | 'FAILED' | null;
  tokenRedeemedAt: string | null;
}

/** The server-side API's domain: read a verification, cancel it, redeem its token. */
export interface ServerVerificationService {
  get(verificationId: string): Promise<VerificationReport>;
  /** PENDING becomes CANCELLED; a SUCCESSFUL one cannot be cancelled; other ended ones are reported as they are. */
  cancel(verificationId: string): Promise<VerificationReport>;
  /** Checks the token and marks it used, once (its route exists only while tokens are on). */
  redeem(token: string): Promise<VerificationTokenClaims>;
}

export interface ServerVerificationDeps {
  queries: VerificationQueries;
  tokens?: VerificationTokenService;
  config: Config;
  logger: Logger;
  clock: Clock;
}

export function createServerVerificationService(deps: ServerVerificationDeps): ServerVerificationService {
  const { queries, tokens, config, logger, clock } = deps;

  function report(v: VerificationRecord): VerificationReport {
    const expired = v.status === 'PENDING' && new Date(v.expiresAt).getTime() <= clock.now();
    return {
      verificationId: v.id,
      phoneNumber: v.phoneNumber,
      method: v.method,
      purpose: v.purpose,
      status: expired ? 'EXPIRED' : v.status,
      attempts: v.attempts,
      maxAttempts: config.otp.maxAttempts,
      createdAt: new Date(v.createdAt).toISOString(),
      expiresAt: new Date(v.expiresAt).toISOString(),
      verifiedAt: v.verifiedAt && new Date(v.verifiedAt).toISOString(),
      smsDeliveryStatus: v.smsDeliveryStatus,
      tokenRedeemedAt: v.tokenRedeemedAt && new Date(v.tokenRedeemedAt).toISOString(),
    };
  }

  async function get(verificationId: string): Promise<VerificationReport> {
    const record = await queries.findReport(verificationId);
    if (!record) throw new AppError('VERIFICATION_NOT_FOUND', { message: 'No verification has this id.' });
    return report(record);
  }

  async function cancel(verificationId: string): Promise<VerificationReport> {
    const outcome = await queries.cancel(verificationId, new Date(clock.now()));
    if (!outcome) throw new AppError('VERIFICATION_NOT_FOUND', { message: 'No verification has this id.' });
    if (outcome.record.status === 'SUCCESSFUL')
      throw new AppError('ALREADY_VERIFIED', {
        message: 'This verification has already succeeded and cannot be cancelled.',
      });
    if (outcome.cancelled) logger.info('verification cancelled', { verificationId });
    return report(outcome.record);
  }

  async function redeem(token: string): Promise<VerificationTokenClaims> {
    if (!tokens) throw new Error('redeem() needs the token service (VERIFICATION_TOKENS=on)');
    const claims = await tokens.verify(token);
    switch (await queries.redeemToken(claims.jti, claims.sub, new Date(clock.now()))) {
      case 'redeemed':
        logger.info('verification token redeemed', { verificationId: claims.jti });
        return claims;
      case 'already_redeemed':
        throw new AppError('TOKEN_ALREADY_REDEEMED');
      case 'not_found':
        // Signed by us, but the verification is gone (purged after VERIFICATION_RETENTION_DAYS).
        throw new AppError('INVALID_TOKEN', { details: [{ field: 'token', reason: 'verification_not_found' }] });
    }
  }

  return { get, cancel, redeem };
}
