import type { Config, OtpMethod } from '../../config';
import type { VerificationRow } from '../../db/queries/verifications';
import { AppError, retryAfterSeconds } from '../../utils/app-error';
import type { LimitRefusal } from '../user.service';

// The verification flows' decisions that need no I/O: which answer a verification's state gets,
// the metric reason for it, the limits' refusals, and the arithmetic of expiries and references.

type OtpConfig = Config['otp'];

/** The one answer for "no such verification": identical whether the id was never issued, is another number's, or was purged. */
export const notFound = () => new AppError('VERIFICATION_NOT_FOUND');

export const superseded = () =>
  new AppError('VERIFICATION_NOT_FOUND', {
    message: 'This code was replaced by a newer one. Use the most recent code sent to this number.',
    details: [{ reason: 'superseded' }],
  });

export const endedByProvider = () =>
  new AppError('VERIFICATION_EXPIRED', {
    message: 'This code can no longer be used. Request a new code.',
    details: [{ reason: 'ended_by_provider' }],
  });

/** Metric reasons for verifications that could not take a code: a fixed, small set. */
export function failureReason(error: AppError): string {
  switch (error.code) {
    case 'ALREADY_VERIFIED':
      return 'already_verified';
    case 'VERIFICATION_EXPIRED':
      return 'expired';
    case 'TOO_MANY_ATTEMPTS':
      return 'too_many_attempts';
    case 'VERIFICATION_CANCELLED':
      return 'cancelled';
    default:
      return 'not_found';
  }
}

export function refusalError(refusal: LimitRefusal): AppError {
  const retry = retryAfterSeconds(refusal.retryAfterMs);
  const facts = {
    retryAfterSeconds: retry,
    limit: { name: refusal.limit.replace('_', '-'), quota: refusal.quota, windowSeconds: refusal.windowSeconds },
    details: [
      { limit: refusal.limit, retryAfterSeconds: retry, quota: refusal.quota, windowSeconds: refusal.windowSeconds },
    ],
  };
  if (refusal.limit === 'global_minute') return new AppError('SEND_CAPACITY_EXCEEDED', facts);
  const messages: Record<Exclude<LimitRefusal['limit'], 'global_minute'>, string> = {
    number_cooldown: `A code was just sent to this number. You can request a new one in ${retry} s.`,
    number_hour: `Too many codes were sent to this number in the last hour. Try again in ${retry} s.`,
    number_day: `Too many codes were sent to this number today. Try again in ${retry} s.`,
  };
  return new AppError('RATE_LIMITED', { ...facts, message: messages[refusal.limit] });
}

/** Why a verification cannot take a code now, as the client's answer; undefined when it can. */
export function unusable(v: VerificationRow | undefined, now: number, otp: OtpConfig): AppError | undefined {
  if (!v) return notFound();
  switch (v.status) {
    case 'SUCCESSFUL':
      return new AppError('ALREADY_VERIFIED', {
        message: 'This code has already been used to verify the number. Request a new code to verify again.',
      });
    case 'ABORTED':
      return superseded();
    case 'EXPIRED':
      return new AppError('VERIFICATION_EXPIRED');
    case 'CANCELLED':
      return new AppError('VERIFICATION_CANCELLED');
    case 'FAILED':
      return v.attempts >= otp.maxAttempts ? attemptsExhausted(v, now, otp) : endedByProvider();
    case 'PENDING':
      if (new Date(v.expiresAt).getTime() <= now) return new AppError('VERIFICATION_EXPIRED');
      if (v.attempts >= otp.maxAttempts) return attemptsExhausted(v, now, otp);
      return undefined;
  }
}

function attemptsExhausted(v: VerificationRow, now: number, otp: OtpConfig): AppError {
  // The way forward is a new code, so Retry-After says when one can be requested: a cooldown after
  // the latest send, which expires OTP_TTL_SECONDS after it went out.
  const sentAt = new Date(v.expiresAt).getTime() - otp.ttlSeconds * 1000;
  const waitMs = sentAt + otp.resendCooldownSeconds * 1000 - now;
  return new AppError('TOO_MANY_ATTEMPTS', {
    message: `Too many wrong codes for this verification (${otp.maxAttempts} allowed). Request a new code.`,
    retryAfterSeconds: retryAfterSeconds(waitMs),
    limit: { name: 'verification-attempts', quota: otp.maxAttempts, windowSeconds: otp.ttlSeconds },
    details: [
      {
        reason: 'verification_attempts_exhausted',
        maxAttempts: otp.maxAttempts,
        attemptsRemaining: 0,
        method: v.method,
      },
    ],
  });
}

/** The number's hourly failure budget (OTP_MAX_FAILURES_PER_NUMBER_HOUR) is spent until `opensAt`. */
export function budgetExhausted(opensAt: Date | undefined, now: Date, otp: OtpConfig): AppError {
  const retry = retryAfterSeconds((opensAt?.getTime() ?? now.getTime() + 3_600_000) - now.getTime());
  return new AppError('TOO_MANY_ATTEMPTS', {
    message: `Too many wrong codes for this number in the last hour. Try again in ${retry} s.`,
    retryAfterSeconds: retry,
    limit: { name: 'number-failures', quota: otp.maxFailuresPerNumberHour, windowSeconds: 3600 },
    details: [{ reason: 'failure_budget_exhausted', retryAfterSeconds: retry }],
  });
}

/** `method`: how the code now in force went out (a fallback may have changed it), so a page can say so. */
export function wrongCode(attemptsRemaining: number, method: OtpMethod): AppError {
  return new AppError('INVALID_CODE', {
    message:
      attemptsRemaining > 0
        ? `The code is not correct. ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} left.`
        : 'The code is not correct and no attempts are left. Request a new code.',
    details: [{ field: 'code', attemptsRemaining, method }],
  });
}

/** Why a verification can take no new code, as resend-otp's answer; undefined when it can. */
export function cannotResend(v: VerificationRow | undefined, now: number, maxAttempts: number): AppError | undefined {
  if (!v) return notFound();
  const ended = (reason: string) =>
    new AppError('VERIFICATION_EXPIRED', {
      message: 'This verification has ended and takes no new code. Request a new code for the number.',
      details: [{ reason }],
    });
  switch (v.status) {
    case 'SUCCESSFUL':
      return new AppError('ALREADY_VERIFIED', {
        message: 'This verification is already complete: there is no code to resend.',
      });
    case 'ABORTED':
      return ended('superseded');
    case 'EXPIRED':
      return ended('expired');
    case 'CANCELLED':
      return new AppError('VERIFICATION_CANCELLED', {
        message: 'This verification was cancelled and takes no new code. Request a new code for the number.',
      });
    case 'FAILED':
      return ended(v.attempts >= maxAttempts ? 'attempts_exhausted' : 'ended_by_provider');
    case 'PENDING':
      return new Date(v.expiresAt).getTime() <= now ? ended('expired') : undefined;
  }
}

/** Sinch wants a unique reference per start: the first send's is our id, later ones are numbered. */
export function sendReference(verificationId: string, send: number): string {
  return send <= 1 ? verificationId : `${verificationId}.${send}`;
}

/** When a code sent at `sentAt` stops being accepted: OTP_TTL_SECONDS later. */
export function expiryOf(sentAt: Date, otp: OtpConfig): Date {
  return new Date(sentAt.getTime() + otp.ttlSeconds * 1000);
}
