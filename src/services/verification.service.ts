import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import type { AttemptClaim, VerificationQueries, VerificationRow } from '../db/queries/verifications';
import type { VerificationStatus } from '../models';
import { AppError, retryAfterSeconds } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import { normalizePhone, type NormalizedPhone } from '../utils/phone';
import { fingerprintOf, type IdempotencyService } from './idempotency.service';
import { assertNumberAllowed } from './number-policy';
import type { ReportOutcome, SinchClient } from '../clients/sinch/sinch.client';
import type { LimitRefusal, UserService } from './user.service';
import type { VerificationTokenService } from './verification-token.service';

export interface RequestCodeInput {
  phoneNumber: string;
  method?: 'sms';
  /** What the code is for: one of OTP_PURPOSES; stored, echoed, and put in the verification token. */
  purpose?: string;
  /** Idempotency-Key header: a repeat within the TTL replays the first result and sends nothing. */
  idempotencyKey?: string;
}

export interface RequestCodeResult {
  verificationId: string;
  phoneNumber: string;
  method: 'sms';
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

/**
 * What the funnel metrics and logs count; reasons are a small fixed set, and `purpose` is one of
 * OTP_PURPOSES (null or absent: the verification has none, or is not known yet).
 */
export interface OtpEvents {
  requested(purpose?: string | null): void;
  sent(purpose?: string | null): void;
  refused(reason: string, purpose?: string | null): void;
  verified(purpose?: string | null): void;
  failed(reason: string, purpose?: string | null): void;
}

const noEvents: OtpEvents = { requested() {}, sent() {}, refused() {}, verified() {}, failed() {} };

export interface VerificationService {
  /** Sends a code: normalise, number policy, idempotency, reserve a send, start it at Sinch, record it. */
  requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }>;
  /** Checks a code: claim an attempt in the database, judge it, report it to Sinch, settle the outcome. */
  verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult>;
}

export interface VerificationServiceDeps {
  verifications: VerificationQueries;
  sinch: SinchClient;
  users: UserService;
  config: Config;
  logger: Logger;
  clock: Clock;
  events?: OtpEvents;
  idempotency?: IdempotencyService;
  /** Signs the token of a successful verification; none: verify-otp returns no token. */
  tokens?: VerificationTokenService;
}

/** The one answer for "no such verification": identical whether the id was never issued, is another number's, or was purged. */
const notFound = () => new AppError('VERIFICATION_NOT_FOUND');

const superseded = () =>
  new AppError('VERIFICATION_NOT_FOUND', {
    message: 'This code was replaced by a newer one. Use the most recent code sent to this number.',
    details: [{ reason: 'superseded' }],
  });

const endedByProvider = () =>
  new AppError('VERIFICATION_EXPIRED', {
    message: 'This code can no longer be used. Request a new code.',
    details: [{ reason: 'ended_by_provider' }],
  });

/** Metric reasons for verifications that could not take a code: a fixed, small set. */
function failureReason(error: AppError): string {
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

function refusalError(refusal: LimitRefusal): AppError {
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

export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const { verifications, sinch, users, config, logger, clock } = deps;
  const events = deps.events ?? noEvents;
  const { otp } = config;
  let lastCeilingAlert = -1;

  // ---- request: normalise -> policy -> (idempotency) -> reserve -> send -> activate

  function normaliseAllowed(phoneNumber: string, purpose: string | null): NormalizedPhone {
    try {
      const phone = normalizePhone(phoneNumber, otp.defaultCountry);
      assertNumberAllowed(phone, config.numberPolicy);
      return phone;
    } catch (error) {
      const policy = error instanceof AppError && error.code === 'PHONE_NUMBER_NOT_ALLOWED';
      events.refused(policy ? 'number_policy' : 'invalid_number', purpose);
      throw error;
    }
  }

  async function requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }> {
    const purpose = knownPurpose(input.purpose);
    events.requested(purpose);
    const phone = normaliseAllowed(input.phoneNumber, purpose);
    const key = input.idempotencyKey;
    if (key === undefined || !deps.idempotency) return { result: await send(phone.e164, purpose), replayed: false };
    const fingerprint = purpose === null ? fingerprintOf(phone.e164, 'sms') : fingerprintOf(phone.e164, 'sms', purpose);
    return once(deps.idempotency, key, fingerprint, purpose, () => send(phone.e164, purpose));
  }

  /** The purpose, when it is one of OTP_PURPOSES: the field's VALIDATION_ERROR otherwise. */
  function knownPurpose(purpose: string | undefined): string | null {
    if (purpose === undefined) return null;
    if (otp.purposes.includes(purpose)) return purpose;
    throw new AppError('VALIDATION_ERROR', {
      details: [{ field: 'purpose', message: `purpose must be one of: ${otp.purposes.join(', ')}` }],
    });
  }

  /** Runs `fn` once per idempotency key; a repeat replays its result. */
  async function once(
    idempotency: IdempotencyService,
    key: string,
    fingerprint: string,
    purpose: string | null,
    fn: () => Promise<RequestCodeResult>,
  ): Promise<{ result: RequestCodeResult; replayed: boolean }> {
    const started = await idempotency.begin<RequestCodeResult>(key, fingerprint);
    switch (started.state) {
      case 'replay':
        return { result: started.data, replayed: true };
      case 'mismatch':
        events.refused('idempotency_key_reused', purpose);
        throw new AppError('IDEMPOTENCY_KEY_REUSED', {
          details: [{ field: 'Idempotency-Key', reason: 'different_request' }],
        });
      case 'in_progress':
        throw new AppError('IDEMPOTENCY_REQUEST_IN_PROGRESS', { retryAfterSeconds: 1 });
      case 'new':
        break;
    }
    try {
      const result = await fn();
      await idempotency.complete(key, result);
      return { result, replayed: false };
    } catch (error) {
      await idempotency.abandon(key);
      throw error;
    }
  }

  /** Claims a send under the limits, starts it at Sinch, records it. */
  async function send(e164: string, purpose: string | null): Promise<RequestCodeResult> {
    const reservation = await reserve(e164, purpose);
    const verificationId = randomUUID();
    let sinchId: string;
    try {
      ({ id: sinchId } = await sinch.startSms(e164, { reference: verificationId, expirySeconds: otp.ttlSeconds }));
    } catch (error) {
      // Sinch answered with an error or was never reached: nothing was sent, so the send is not counted.
      if (!sinch.mayHaveActed(error)) await users.releaseSend(e164, reservation);
      events.refused(error instanceof AppError ? error.code.toLowerCase() : 'error', purpose);
      throw error;
    }
    events.sent(purpose);
    const now = reservation.reservedAt;
    const expiresAt = new Date(now.getTime() + otp.ttlSeconds * 1000);
    // Every lost race on the one-PENDING index is another request's committed send, and at most
    // maxSendsPerNumberHour pass reserveSend per number, so that many retries always suffice.
    const aborted = await verifications.activate(
      { id: verificationId, sinchId, phoneNumber: e164, method: 'sms', purpose, expiresAt, now },
      otp.maxSendsPerNumberHour,
    );
    logger.info('verification started', { verificationId, phoneNumber: e164, abortedOlder: aborted });
    return {
      verificationId,
      phoneNumber: e164,
      method: 'sms',
      purpose,
      expiresAt: expiresAt.toISOString(),
      resendAvailableAt: users.resendAvailableAt(now).toISOString(),
    };
  }

  async function reserve(e164: string, purpose: string | null): Promise<{ reservedAt: Date; shard: number }> {
    const reservation = await users.reserveSend(e164);
    if (reservation.ok) return reservation;
    events.refused(reservation.refusal.limit, purpose);
    // Once per minute window and instance: under a pumping attack every request is refused here,
    // and one line per refusal would flood the log (the refusals are counted in the metrics).
    const window = Math.floor(clock.now() / 60_000);
    if (reservation.refusal.limit === 'global_minute' && window !== lastCeilingAlert) {
      lastCeilingAlert = window;
      logger.error('Global send ceiling reached: refusing to send codes (possible SMS pumping)', {
        ceilingPerMinute: otp.globalSendsPerMinute,
      });
    }
    throw refusalError(reservation.refusal);
  }

  // ---- verify: claim -> judge -> report -> settle

  async function verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult> {
    const phoneNumber =
      input.phoneNumber === undefined ? undefined : normalizePhone(input.phoneNumber, otp.defaultCountry).e164;
    const now = new Date(clock.now());
    const claim = await verifications.claimAttempt({ verificationId: input.verificationId, phoneNumber }, now, {
      maxFailuresPerHour: otp.maxFailuresPerNumberHour,
      maxAttempts: otp.maxAttempts,
    });
    const { target, attempts } = await judge(claim, now);
    const outcome = await report(target, input.code, now);
    return settle(target, attempts, outcome, now);
  }

  function refuse(reason: string, error: AppError, target: VerificationRow | undefined): AppError {
    events.failed(reason, target?.purpose);
    return error;
  }

  /** Whether the claimed verification may take this code; throws the client's answer when not. */
  async function judge(claim: AttemptClaim, now: Date): Promise<{ target: VerificationRow; attempts: number }> {
    const { target } = claim;
    const problem = unusable(target, now.getTime());
    if (problem || !target) {
      if (target?.status === 'PENDING' && problem?.code === 'VERIFICATION_EXPIRED') {
        await verifications.settle(target, 'EXPIRED', undefined, now);
      }
      const error = problem ?? notFound();
      throw refuse(failureReason(error), error, target);
    }
    if (!claim.charged) {
      logger.warn('failure budget exhausted for number', { phoneNumber: target.phoneNumber });
      throw refuse('failure_budget', budgetExhausted(claim.budgetOpensAt, now), target);
    }
    if (claim.attempts === null) {
      // A parallel request changed the verification between the statement's read and its update.
      await users.refundFailure(target.phoneNumber, now);
      const lost = unusable(await verifications.findById(target.id), now.getTime()) ?? notFound();
      throw refuse(failureReason(lost), lost, target);
    }
    return { target, attempts: claim.attempts };
  }

  /** Sinch's judgement of the code. If Sinch did not judge it (or may not have), the failure is refunded. */
  async function report(target: VerificationRow, code: string, now: Date): Promise<ReportOutcome> {
    try {
      return await sinch.reportSmsCode(target.sinchVerificationId, code);
    } catch (error) {
      await users.refundFailure(target.phoneNumber, now);
      if (!sinch.mayHaveActed(error)) await verifications.returnAttempt(target.id);
      events.failed('provider_error', target.purpose);
      throw error;
    }
  }

  async function settle(
    target: VerificationRow,
    attempts: number,
    outcome: ReportOutcome,
    now: Date,
  ): Promise<VerifyCodeResult> {
    const end = (
      status: VerificationStatus,
      refund: boolean,
      failedBecause?: 'attempts_exhausted' | 'ended_by_provider',
    ) => verifications.settle(target, status, refund ? now : undefined, now, failedBecause);
    switch (outcome.result) {
      case 'SUCCESSFUL':
        return succeed(target, attempts, now);
      case 'INVALID_CODE': {
        const attemptsRemaining = Math.max(0, otp.maxAttempts - attempts);
        if (attemptsRemaining === 0) await end('FAILED', false, 'attempts_exhausted');
        throw refuse('invalid_code', wrongCode(attemptsRemaining), target);
      }
      case 'EXPIRED':
      case 'NOT_FOUND':
        await end('EXPIRED', true);
        throw refuse('expired', new AppError('VERIFICATION_EXPIRED'), target);
      case 'ABORTED':
        await end('ABORTED', true);
        throw refuse('aborted', superseded(), target);
      case 'REJECTED':
        await end('FAILED', true, 'ended_by_provider');
        logger.warn('Sinch ended the verification', {
          verificationId: target.id,
          sinchStatus: outcome.status,
          sinchReason: outcome.reason,
        });
        throw refuse('rejected', endedByProvider(), target);
    }
  }

  /** Records the success and signs the token; a cancellation that won the race is a 410 instead. */
  async function succeed(target: VerificationRow, attempts: number, now: Date): Promise<VerifyCodeResult> {
    if (!(await verifications.succeed(target, now)))
      throw refuse('cancelled', new AppError('VERIFICATION_CANCELLED'), target);
    events.verified(target.purpose);
    logger.info('verification succeeded', { verificationId: target.id, phoneNumber: target.phoneNumber, attempts });
    const verificationToken = await deps.tokens?.issue({
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

  /** Why a verification cannot take a code now, as the client's answer; undefined when it can. */
  function unusable(v: VerificationRow | undefined, now: number): AppError | undefined {
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
        return v.attempts >= otp.maxAttempts ? attemptsExhausted(v, now) : endedByProvider();
      case 'PENDING':
        if (new Date(v.expiresAt).getTime() <= now) return new AppError('VERIFICATION_EXPIRED');
        if (v.attempts >= otp.maxAttempts) return attemptsExhausted(v, now);
        return undefined;
    }
  }

  function attemptsExhausted(v: VerificationRow, now: number): AppError {
    // The way forward is a new code, so Retry-After says when one can be requested.
    const waitMs = new Date(v.createdAt).getTime() + otp.resendCooldownSeconds * 1000 - now;
    return new AppError('TOO_MANY_ATTEMPTS', {
      message: `Too many wrong codes for this verification (${otp.maxAttempts} allowed). Request a new code.`,
      retryAfterSeconds: retryAfterSeconds(waitMs),
      limit: { name: 'verification-attempts', quota: otp.maxAttempts, windowSeconds: otp.ttlSeconds },
      details: [{ reason: 'verification_attempts_exhausted', maxAttempts: otp.maxAttempts, attemptsRemaining: 0 }],
    });
  }

  function budgetExhausted(opensAt: Date | undefined, now: Date): AppError {
    const retry = retryAfterSeconds((opensAt?.getTime() ?? now.getTime() + 3_600_000) - now.getTime());
    return new AppError('TOO_MANY_ATTEMPTS', {
      message: `Too many wrong codes for this number in the last hour. Try again in ${retry} s.`,
      retryAfterSeconds: retry,
      limit: { name: 'number-failures', quota: otp.maxFailuresPerNumberHour, windowSeconds: 3600 },
      details: [{ reason: 'failure_budget_exhausted', retryAfterSeconds: retry }],
    });
  }

  return { requestCode, verifyCode };
}

function wrongCode(attemptsRemaining: number): AppError {
  return new AppError('INVALID_CODE', {
    message:
      attemptsRemaining > 0
        ? `The code is not correct. ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} left.`
        : 'The code is not correct and no attempts are left. Request a new code.',
    details: [{ field: 'code', attemptsRemaining }],
  });
}
