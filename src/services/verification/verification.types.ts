import type { CodeType, OtpMethod } from '../../config';
import type { ChannelRequest } from '../channels';

// What the verification flows take and answer, and the funnel events they count: the shapes the flow
// modules share. verification.service.ts re-exports them; code outside the service imports them from there.

export interface RequestCodeInput extends ChannelRequest {
  phoneNumber: string;
  /** What the code is for: one of OTP_PURPOSES; stored, echoed, and put in the verification token. */
  purpose?: string;
  /** Idempotency-Key header: a repeat within the TTL replays the first result and sends nothing. */
  idempotencyKey?: string;
}

/** A new code for an existing verification, by the same method or another one on offer. */
export interface ResendCodeInput extends ChannelRequest {
  verificationId: string;
}

/** The answer of request-otp and resend-otp. */
export interface RequestCodeResult {
  verificationId: string;
  phoneNumber: string;
  /** How this code goes out, so a page can say "we are calling you". */
  method: OtpMethod;
  /** The language Sinch said it used (canonical BCP 47); null when it named none. */
  locale: string | null;
  /** The code's alphabet: OTP_CODE_TYPE, or Numeric for a call (a voice reads digits). */
  codeType: CodeType;
  /** The methods on offer (OTP_METHODS), for a resend by another one. */
  methods: OtpMethod[];
  purpose: string | null;
  expiresAt: string;
  resendAvailableAt: string;
}

/**
 * `verificationId` binds the attempt to whoever requested the code. Without it (only when
 * VERIFY_BY_PHONE_NUMBER=true) the number's latest verification is checked.
 */
export interface VerifyCodeInput {
  verificationId?: string;
  phoneNumber?: string;
  code: string;
}

export interface VerifyCodeResult {
  verificationId: string;
  phoneNumber: string;
  verified: true;
  verifiedAt: string;
  /** The signed proof for the integrator's backend; absent when VERIFICATION_TOKENS=off. */
  verificationToken?: string;
}

export type { OtpEventLabels, OtpEvents } from '../../observability/events';
