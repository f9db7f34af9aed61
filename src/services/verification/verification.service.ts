import { createVerificationContext, type VerificationServiceDeps } from './verification.context';
import { requestCode } from './verification.request';
import { fallBackAfterFailedSms, fallBackOverdue, resendCode } from './verification.resend';
import type {
  RequestCodeInput,
  RequestCodeResult,
  ResendCodeInput,
  VerifyCodeInput,
  VerifyCodeResult,
} from './verification.types';
import { verifyCode } from './verification.verify';

// The phone-verification domain. Each flow lives in its own module, its steps named in order:
//   verification.request.ts  request-otp: normalise -> policy -> reserve -> send -> activate (once per Idempotency-Key)
//   verification.verify.ts   verify-otp:  claim -> judge -> report -> settle
//   verification.resend.ts   resend-otp:  claim -> judge -> reserve -> send -> replace; and the fallbacks
//   verification.send.ts     the steps every send shares: channel, reserve, start at Sinch, answer
//   verification.rules.ts    the decisions without I/O: which error for which state, refusals, expiries
//   verification.context.ts  what every step is handed: the deps, their defaults, the metric labels
//   verification.types.ts    the flows' inputs, results and funnel events

export type { VerificationServiceDeps } from './verification.context';
export type {
  OtpEventLabels,
  OtpEvents,
  RequestCodeInput,
  RequestCodeResult,
  ResendCodeInput,
  VerifyCodeInput,
  VerifyCodeResult,
} from './verification.types';

export interface VerificationService {
  /** Sends a code: normalise, number policy, idempotency, reserve a send, start it at Sinch, record it. */
  requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }>;
  /** Checks a code: claim an attempt in the database, judge it, report it to Sinch, settle the outcome. */
  verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult>;
  /**
   * Sends a new code for a verification, keeping its id: claim a send number, judge the verification,
   * reserve a send, start it (a new Sinch verification), replace the old one, whose code stops working.
   */
  resendCode(input: ResendCodeInput): Promise<RequestCodeResult>;
  /** After Sinch reported this SMS (Sinch's id) failed: starts OTP_FALLBACK_METHOD once, under the same limits. */
  fallBackAfterFailedSms(sinchId: string): Promise<void>;
  /** Starts OTP_FALLBACK_METHOD for up to `limit` SMS unreported after OTP_FALLBACK_AFTER_SECONDS; resolves how many. */
  fallBackOverdue(limit?: number): Promise<number>;
}

/** The verification flows over one shared context (deps with defaults, and the send-ceiling alert's state). */
export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const ctx = createVerificationContext(deps);
  return {
    requestCode: (input) => requestCode(ctx, input),
    verifyCode: (input) => verifyCode(ctx, input),
    resendCode: (input) => resendCode(ctx, input),
    fallBackAfterFailedSms: (sinchId) => fallBackAfterFailedSms(ctx, sinchId),
    fallBackOverdue: (limit) => fallBackOverdue(ctx, limit),
  };
}
