import type { FallbackMethod } from '../../config';
import type { SendClaim } from '../../db/queries/verifications';
import type { StartResult } from '../../clients/sinch/sinch.client';
import { AppError } from '../../utils/app-error';
import type { Channel } from '../channels';
import { labelsOf, type VerificationContext } from './verification.context';
import { cannotResend, expiryOf, failureReason, notFound, sendReference, superseded } from './verification.rules';
import { answer, channelOf, reserve, start } from './verification.send';
import type { RequestCodeResult, ResendCodeInput } from './verification.types';

// A new code for an existing verification, keeping its id: resend-otp, asked for by the client, and
// the fallbacks, started by the service when an SMS failed or went unreported.

// ---- resend: claim -> judge -> reserve -> send -> replace

/**
 * Sends a new code for a verification, keeping its id: claim a send number, judge the verification,
 * reserve a send, start it (a new Sinch verification), replace the old one, whose code stops working.
 */
export async function resendCode(ctx: VerificationContext, input: ResendCodeInput): Promise<RequestCodeResult> {
  const claim = await claimResend(ctx, input.verificationId);
  const { target, send: number } = claim;
  const channel = channelOf(ctx, input, labelsOf(ctx, target.phoneNumber, target.purpose), target);
  const reservation = await reserve(ctx, target.phoneNumber, target.purpose);
  const reference = sendReference(target.id, number);
  const started = await start(ctx, target.phoneNumber, channel, reference, reservation, target.purpose);
  await replace(ctx, claim, channel, started, reservation.reservedAt, 'resend');
  ctx.logger.info('verification resent', {
    verificationId: target.id,
    phoneNumber: target.phoneNumber,
    method: channel.method,
    send: number,
  });
  return answer(ctx, target, channel.method, started, reservation.reservedAt);
}

/** Counts the request and claims the verification's next send number; throws resend-otp's answer when it takes none. */
async function claimResend(ctx: VerificationContext, verificationId: string): Promise<SendClaim> {
  const now = new Date(ctx.clock.now());
  const { target, send: number } = await ctx.verifications.claimResend(verificationId, now);
  const labels = labelsOf(ctx, target?.phoneNumber, target?.purpose);
  ctx.events.requested(labels);
  const problem = cannotResend(target, now.getTime(), ctx.otp.maxAttempts);
  if (problem || !target || number === null) {
    const error = problem ?? notFound();
    ctx.events.refused(failureReason(error), labels);
    throw error;
  }
  return { target, send: number };
}

/** Points the verification at the new Sinch verification; its old code stops being accepted. */
async function replace(
  ctx: VerificationContext,
  claim: SendClaim,
  channel: Channel,
  started: StartResult,
  sentAt: Date,
  why: 'resend' | 'fallback',
): Promise<void> {
  const { target, send: number } = claim;
  const replaced = await ctx.verifications.replaceSend({
    id: target.id,
    send: number,
    why,
    sinchId: started.id,
    method: channel.method,
    locale: started.contentLanguage,
    expiresAt: expiryOf(sentAt, ctx.otp),
    now: sentAt,
  });
  if (replaced) return;
  // A later resend, or the end of the verification, came first: the code just sent is not the one in force.
  const current = await ctx.verifications.findById(target.id);
  throw cannotResend(current, ctx.clock.now(), ctx.otp.maxAttempts) ?? superseded();
}

// ---- fallback: claim -> reserve -> send -> replace (nobody waits for it: problems are logged)

/** After Sinch reported this SMS (Sinch's id) failed: starts OTP_FALLBACK_METHOD once, under the same limits. */
export async function fallBackAfterFailedSms(ctx: VerificationContext, sinchId: string): Promise<void> {
  const method = ctx.otp.fallbackMethod;
  if (method === undefined) return;
  const claim = await ctx.verifications.claimFallback(sinchId, new Date(ctx.clock.now()));
  if (claim) await fallBack(ctx, claim, method, 'sms_failed');
}

/** Starts OTP_FALLBACK_METHOD for up to `limit` SMS unreported after OTP_FALLBACK_AFTER_SECONDS; resolves how many. */
export async function fallBackOverdue(ctx: VerificationContext, limit = 100): Promise<number> {
  const { otp } = ctx;
  const method = otp.fallbackMethod;
  if (method === undefined || otp.fallbackAfterSeconds === 0) return 0;
  const now = ctx.clock.now();
  const claims = await ctx.verifications.claimOverdueFallbacks(
    new Date(now),
    new Date(now - otp.fallbackAfterSeconds * 1000),
    otp.ttlSeconds,
    ctx.testNumbers.numbers,
    limit,
  );
  await Promise.all(claims.map((claim) => fallBack(ctx, claim, method, 'sms_unreported')));
  return claims.length;
}

/** Starts `method` for a claimed verification, under the same limits as any send; at most once. */
async function fallBack(
  ctx: VerificationContext,
  claim: SendClaim,
  method: FallbackMethod,
  why: string,
): Promise<void> {
  const { target, send: number } = claim;
  const facts = { verificationId: target.id, phoneNumber: target.phoneNumber, method, why };
  const channel: Channel = { method, locale: target.locale ?? ctx.otp.defaultLocale };
  try {
    const reservation = await reserve(ctx, target.phoneNumber, target.purpose);
    const reference = sendReference(target.id, number);
    const started = await start(ctx, target.phoneNumber, channel, reference, reservation, target.purpose);
    await replace(ctx, claim, channel, started, reservation.reservedAt, 'fallback');
    ctx.logger.info('fell back to another method', facts);
  } catch (error) {
    // A refusal (a limit, Sinch) is the fallback's outcome, not a fault; anything else is one.
    if (error instanceof AppError && !error.isServerError)
      ctx.logger.warn('fallback not started', { ...facts, refusal: error.code });
    else ctx.logger.error('fallback failed', { ...facts, error });
  }
}
