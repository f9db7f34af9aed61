import type { AttemptClaim, VerificationRow } from '../../db/queries/verifications';
import type { VerificationStatus } from '../../models';
import type { ReportOutcome } from '../../clients/sinch/sinch.client';
import { AppError } from '../../utils/app-error';
import { normalizePhone } from '../../utils/phone';
import { TEST_VERIFICATION_PREFIX } from '../test-numbers';
import { labelsOf, type VerificationContext } from './verification.context';
import {
  budgetExhausted,
  endedByProvider,
  failureReason,
  notFound,
  superseded,
  unusable,
  wrongCode,
} from './verification.rules';
import type { VerifyCodeInput, VerifyCodeResult } from './verification.types';

// verify-otp: claim -> judge -> report -> settle

/** Checks a code: claim an attempt in the database, judge it, report it to Sinch, settle the outcome. */
export async function verifyCode(ctx: VerificationContext, input: VerifyCodeInput): Promise<VerifyCodeResult> {
  const phoneNumber = input.phoneNumber === undefined ? undefined : normaliseForVerify(ctx, input.phoneNumber);
  const now = new Date(ctx.clock.now());
  const claim = await claimAttempt(ctx, input.verificationId, phoneNumber, now);
  const { target, attempts } = await judge(ctx, claim, now);
  const outcome = await report(ctx, target, input.code, now);
  return settle(ctx, target, attempts, outcome, now);
}

/** A test number is never checked for validity: it is usually a fictional one. */
function normaliseForVerify({ otp, testNumbers }: VerificationContext, phoneNumber: string): string {
  return testNumbers.match(phoneNumber, otp.defaultCountry) ?? normalizePhone(phoneNumber, otp.defaultCountry).e164;
}

/** Takes an attempt at the verification and charges a failure to the number's budget, when both have room. */
function claimAttempt(
  { verifications, otp }: VerificationContext,
  verificationId: string | undefined,
  phoneNumber: string | undefined,
  now: Date,
): Promise<AttemptClaim> {
  return verifications.claimAttempt({ verificationId, phoneNumber }, now, {
    maxFailuresPerHour: otp.maxFailuresPerNumberHour,
    maxAttempts: otp.maxAttempts,
  });
}

/** Counts the failure and hands back `error` for the caller to throw. */
function refuse(
  ctx: VerificationContext,
  reason: string,
  error: AppError,
  target: VerificationRow | undefined,
): AppError {
  ctx.events.failed(reason, labelsOf(ctx, target?.phoneNumber, target?.purpose));
  return error;
}

/** Whether the claimed verification may take this code; throws the client's answer when not. */
async function judge(
  ctx: VerificationContext,
  claim: AttemptClaim,
  now: Date,
): Promise<{ target: VerificationRow; attempts: number }> {
  const { verifications, otp } = ctx;
  const { target } = claim;
  const problem = unusable(target, now.getTime(), otp);
  if (problem || !target) {
    if (target?.status === 'PENDING' && problem?.code === 'VERIFICATION_EXPIRED') {
      await verifications.settle(target, 'EXPIRED', undefined, now);
    }
    const error = problem ?? notFound();
    throw refuse(ctx, failureReason(error), error, target);
  }
  if (!claim.charged) {
    ctx.logger.warn('failure budget exhausted for number', { phoneNumber: target.phoneNumber });
    throw refuse(ctx, 'failure_budget', budgetExhausted(claim.budgetOpensAt, now, otp), target);
  }
  if (claim.attempts === null) {
    // A parallel request changed the verification between the statement's read and its update.
    await ctx.users.refundFailure(target.phoneNumber, now);
    const lost = unusable(await verifications.findById(target.id), now.getTime(), otp) ?? notFound();
    throw refuse(ctx, failureReason(lost), lost, target);
  }
  return { target, attempts: claim.attempts };
}

/**
 * Sinch's judgement of the code, reported with the method it went out by; a verification the
 * test-number stand-in started is judged by it. If Sinch did not judge the code (or may not
 * have), the failure is refunded.
 */
async function report(
  ctx: VerificationContext,
  target: VerificationRow,
  code: string,
  now: Date,
): Promise<ReportOutcome> {
  const { sinch } = ctx;
  if (target.sinchVerificationId.startsWith(TEST_VERIFICATION_PREFIX)) {
    return ctx.testNumbers.report(target.phoneNumber, code);
  }
  try {
    return await sinch.report(target.sinchVerificationId, target.method, code);
  } catch (error) {
    await ctx.users.refundFailure(target.phoneNumber, now);
    if (!sinch.mayHaveActed(error)) await ctx.verifications.returnAttempt(target.id);
    ctx.events.failed('provider_error', labelsOf(ctx, target.phoneNumber, target.purpose));
    throw error;
  }
}

/** Acts on Sinch's judgement: a success is recorded, anything else ends or charges the verification and is thrown. */
async function settle(
  ctx: VerificationContext,
  target: VerificationRow,
  attempts: number,
  outcome: ReportOutcome,
  now: Date,
): Promise<VerifyCodeResult> {
  const end = (
    status: VerificationStatus,
    refund: boolean,
    failedBecause?: 'attempts_exhausted' | 'ended_by_provider',
  ) => ctx.verifications.settle(target, status, refund ? now : undefined, now, failedBecause);
  switch (outcome.result) {
    case 'SUCCESSFUL':
      return succeed(ctx, target, attempts, now);
    case 'INVALID_CODE': {
      const attemptsRemaining = Math.max(0, ctx.otp.maxAttempts - attempts);
      if (attemptsRemaining === 0) await end('FAILED', false, 'attempts_exhausted');
      throw refuse(ctx, 'invalid_code', wrongCode(attemptsRemaining, target.method), target);
    }
    case 'EXPIRED':
    case 'NOT_FOUND':
      await end('EXPIRED', true);
      throw refuse(ctx, 'expired', new AppError('VERIFICATION_EXPIRED'), target);
    case 'ABORTED':
      await end('ABORTED', true);
      throw refuse(ctx, 'aborted', superseded(), target);
    case 'REJECTED':
      await end('FAILED', true, 'ended_by_provider');
      ctx.logger.warn('Sinch ended the verification', {
        verificationId: target.id,
        sinchStatus: outcome.status,
        sinchReason: outcome.reason,
      });
      throw refuse(ctx, 'rejected', endedByProvider(), target);
  }
}

/** Records the success and signs the token; a cancellation that won the race is a 410 instead. */
async function succeed(
  ctx: VerificationContext,
  target: VerificationRow,
  attempts: number,
  now: Date,
): Promise<VerifyCodeResult> {
  if (!(await ctx.verifications.succeed(target, now)))
    throw refuse(ctx, 'cancelled', new AppError('VERIFICATION_CANCELLED'), target);
  ctx.events.verified(labelsOf(ctx, target.phoneNumber, target.purpose));
  ctx.logger.info('verification succeeded', { verificationId: target.id, phoneNumber: target.phoneNumber, attempts });
  const verificationToken = await ctx.tokens?.issue({
    verificationId: target.id,
    phoneNumber: target.phoneNumber,
    purpose: target.purpose,
    method: target.method,
  });
  return {
    verificationId: target.id,
    phoneNumber: target.phoneNumber,
    verified: true,
    verifiedAt: now.toISOString(),
    verificationToken,
  };
}
