import { randomUUID } from 'node:crypto';
import { sqlState, type Statement, type Statements } from '../db/statements';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import type { VerificationStatus } from '../models';
import { AppError, retryAfterSeconds } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import { normalizePhone } from '../utils/phone';
import { fingerprintOf, type IdempotencyService } from './idempotency.service';
import { assertNumberAllowed } from './number-policy';
import { sinchMayHaveActed, type SinchClient } from '../clients/sinch/sinch.client';
import { removeOne, type LimitRefusal, type UserService } from './user.service';
import type { VerificationTokenService } from './verification-token.service';

const HOUR_MS = 3_600_000;

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

export interface VerifyCodeInput {
  phoneNumber: string;
  code: string;
  verificationId?: string;
}

export interface VerifyCodeResult {
  phoneNumber: string;
  verified: true;
  verifiedAt: string;
  /** The signed proof for the integrator's backend; absent when VERIFICATION_TOKENS=off. */
  verificationToken?: string;
}

/** What the funnel metrics and logs count; reasons are a small fixed set, purposes one of OTP_PURPOSES. */
export interface OtpEvents {
  requested(purpose?: string): void;
  sent(purpose?: string): void;
  refused(reason: string, purpose?: string): void;
  verified(purpose?: string): void;
  failed(reason: string, purpose?: string): void;
}

/** The same events, each labelled with one verification's purpose. */
function withPurpose(events: OtpEvents, purpose: string | null | undefined): OtpEvents {
  const p = purpose ?? undefined;
  return {
    requested: () => events.requested(p),
    sent: () => events.sent(p),
    refused: (reason) => events.refused(reason, p),
    verified: () => events.verified(p),
    failed: (reason) => events.failed(reason, p),
  };
}

/** Metric reasons for verifications that could not take a code: a fixed, small set. */
function failureReason(error: AppError | undefined): string {
  switch (error?.code) {
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

const noEvents: OtpEvents = { requested() {}, sent() {}, refused() {}, verified() {}, failed() {} };

interface VerificationRow {
  id: string;
  sinchVerificationId: string;
  phoneNumber: string;
  status: VerificationStatus;
  purpose: string | null;
  attempts: number;
  expiresAt: Date;
  verifiedAt: Date | null;
  createdAt: Date;
}

export interface VerificationService {
  /** Sends a code: number rules, idempotency, send limits, the Sinch start, then the Verification row. */
  requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }>;
  /** Checks a code: the attempt is counted in the database before Sinch hears the code. */
  verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult>;
}

export interface VerificationServiceDeps {
  statements: Statements;
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

/** The Retry-After and IETF RateLimit fields for a refusal by one of our own limits. */
export function limitHeaders(
  name: string,
  quota: number,
  windowSeconds: number,
  retryAfterMs: number,
): Record<string, string> {
  const seconds = retryAfterSeconds(retryAfterMs);
  return {
    'Retry-After': String(seconds),
    RateLimit: `"${name}"; r=0; t=${seconds}`,
    'RateLimit-Policy': `"${name}"; q=${quota}; w=${windowSeconds}`,
  };
}

function refusalError(refusal: LimitRefusal): AppError {
  const retry = retryAfterSeconds(refusal.retryAfterMs);
  const headers = limitHeaders(
    refusal.limit.replace('_', '-'),
    refusal.quota,
    refusal.windowSeconds,
    refusal.retryAfterMs,
  );
  const detail = {
    limit: refusal.limit,
    retryAfterSeconds: retry,
    quota: refusal.quota,
    windowSeconds: refusal.windowSeconds,
  };
  if (refusal.limit === 'global_minute') {
    return new AppError('SEND_CAPACITY_EXCEEDED', { headers, details: [detail] });
  }
  const messages: Record<Exclude<LimitRefusal['limit'], 'global_minute'>, string> = {
    number_cooldown: `A code was just sent to this number. You can request a new one in ${retry} s.`,
    number_hour: `Too many codes were sent to this number in the last hour. Try again in ${retry} s.`,
    number_day: `Too many codes were sent to this number today. Try again in ${retry} s.`,
  };
  return new AppError('RATE_LIMITED', { message: messages[refusal.limit], headers, details: [detail] });
}

/**
 * Inserts the new PENDING verification and aborts the number's older one (Sinch aborts it too).
 * The partial unique index allows one PENDING row per number, so a racing insert waits and fails.
 */
const ACTIVATE: Statement = {
  name: 'otp_activate_v2',
  text: `WITH aborted AS (
     UPDATE "Verifications" SET "status" = 'ABORTED', "updatedAt" = $5
     WHERE "phoneNumber" = $3 AND "status" = 'PENDING'
     RETURNING 1
   ), created AS (
     INSERT INTO "Verifications" ("id", "sinchVerificationId", "phoneNumber", "method", "status", "attempts", "expiresAt", "createdAt", "updatedAt", "purpose")
     SELECT $1, $2, $3, 'sms', 'PENDING', 0, $4, $5, $5, $6 FROM (SELECT count(*) FROM aborted) AS after_abort
     RETURNING "id"
   )
   SELECT (SELECT count(*) FROM aborted)::int AS "aborted", (SELECT count(*) FROM created)::int AS "created"`,
};

/**
 * Finds the verification a code is for and, if it can take one, charges one failure to the
 * number's budget and one attempt to the verification, atomically and before Sinch hears the code:
 * parallel guesses each take a slot or are refused here. $1 is the verificationId, or NULL for the
 * number's latest. Codes requested within one millisecond share createdAt: among those the PENDING
 * one is the newest (inserting it aborted the others) and an ABORTED one never is.
 * Locks Users before Verifications, like every statement here, so they never deadlock.
 */
const TARGET = `SELECT "id", "sinchVerificationId", "phoneNumber", "status", "purpose", "attempts", "expiresAt", "verifiedAt", "createdAt"
     FROM "Verifications"
     WHERE "phoneNumber" = $2 AND ($1::uuid IS NULL OR "id" = $1::uuid)
     ORDER BY "createdAt" DESC, ("status" = 'PENDING') DESC, ("status" = 'ABORTED') ASC
     LIMIT 1`;

/** The verification a code is for, read only (after a lost race). */
const FIND_TARGET: Statement = { name: 'otp_find_target_v2', text: TARGET };

const CLAIM_ATTEMPT: Statement = {
  name: 'otp_claim_attempt_v2',
  text: `WITH target AS (${TARGET}), charge AS (
     UPDATE "Users"
     SET "otpFailureTimes" = array_append(ARRAY(SELECT t FROM unnest("otpFailureTimes") AS t WHERE t > $3), $4::timestamptz)
     WHERE "phoneNumber" = $2
       AND (SELECT count(*) FROM unnest("otpFailureTimes") AS t WHERE t > $3) < $5
       AND EXISTS (SELECT 1 FROM target WHERE "status" = 'PENDING' AND "attempts" < $6 AND "expiresAt" > $4)
     RETURNING 1
   ), attempt AS (
     UPDATE "Verifications" SET "attempts" = "attempts" + 1, "updatedAt" = $4
     WHERE "id" = (SELECT "id" FROM target) AND "status" = 'PENDING' AND "attempts" < $6 AND "expiresAt" > $4
       AND EXISTS (SELECT 1 FROM charge)
     RETURNING "attempts"
   )
   SELECT target.*, EXISTS (SELECT 1 FROM charge) AS "charged", (SELECT "attempts" FROM attempt) AS "claimedAttempts"
   FROM (SELECT 1) AS one LEFT JOIN target ON true`,
};

/** Moves a verification out of PENDING, refunding the charged failure ($4) when the code was not judged wrong. */
const SETTLE: Statement = {
  name: 'otp_settle_v1',
  text: `WITH refunded AS (
     UPDATE "Users" SET "otpFailureTimes" = ${removeOne('"otpFailureTimes"', '$4')}
     WHERE "phoneNumber" = $2 AND $4::timestamptz IS NOT NULL
     RETURNING 1
   )
   UPDATE "Verifications" SET "status" = $3::varchar, "updatedAt" = $5
   WHERE "id" = $1 AND "status" = 'PENDING' AND (SELECT count(*) FROM refunded) >= 0`,
};

/**
 * Marks the verification SUCCESSFUL and the user verified; the charged failure ($3) is refunded.
 * A verification the integrator's backend cancelled while Sinch was judging the code stays
 * CANCELLED (no row returned): the backend's decision wins, though the number did prove itself.
 */
const SUCCEED: Statement = {
  name: 'otp_succeed_v2',
  text: `WITH verified_user AS (
     UPDATE "Users" SET "isVerified" = true, "verifiedAt" = $3, "updatedAt" = $3,
       "otpFailureTimes" = ${removeOne('"otpFailureTimes"', '$3')}
     WHERE "phoneNumber" = $2
     RETURNING 1
   )
   UPDATE "Verifications" SET "status" = 'SUCCESSFUL', "verifiedAt" = $3, "updatedAt" = $3
   WHERE "id" = $1 AND "status" <> 'CANCELLED' AND (SELECT count(*) FROM verified_user) >= 0
   RETURNING 1 AS "succeeded"`,
};

/** Gives an attempt back when Sinch certainly never judged the code. */
const RETURN_ATTEMPT: Statement = {
  name: 'otp_return_attempt_v1',
  text: `UPDATE "Verifications" SET "attempts" = "attempts" - 1 WHERE "id" = $1 AND "attempts" > 0`,
};

export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const { statements, sinch, users, config, logger, clock } = deps;
  const allEvents = deps.events ?? noEvents;
  const { otp } = config;
  let lastCeilingAlert = -1;

  async function requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }> {
    const purpose = input.purpose ?? null;
    if (purpose !== null && !otp.purposes.includes(purpose))
      throw new AppError('VALIDATION_ERROR', {
        details: [{ field: 'purpose', message: `purpose must be one of: ${otp.purposes.join(', ')}` }],
      });
    const events = withPurpose(allEvents, purpose);
    events.requested();
    let phone;
    try {
      phone = normalizePhone(input.phoneNumber, otp.defaultCountry);
      assertNumberAllowed(phone, config.numberPolicy);
    } catch (error) {
      events.refused(
        error instanceof AppError && error.code === 'PHONE_NUMBER_NOT_ALLOWED' ? 'number_policy' : 'invalid_number',
      );
      throw error;
    }

    const key = input.idempotencyKey;
    if (key === undefined || !deps.idempotency)
      return { result: await send(phone.e164, purpose, events), replayed: false };
    const idempotency = deps.idempotency;
    const started = await idempotency.begin<RequestCodeResult>(
      key,
      purpose === null ? fingerprintOf(phone.e164, 'sms') : fingerprintOf(phone.e164, 'sms', purpose),
    );
    switch (started.state) {
      case 'replay':
        return { result: started.data, replayed: true };
      case 'mismatch':
        events.refused('idempotency_key_reused');
        throw new AppError('IDEMPOTENCY_KEY_REUSED', {
          details: [{ field: 'Idempotency-Key', reason: 'different_request' }],
        });
      case 'in_progress':
        throw new AppError('IDEMPOTENCY_REQUEST_IN_PROGRESS', { headers: { 'Retry-After': '1' } });
      case 'new':
        break;
    }
    try {
      const result = await send(phone.e164, purpose, events);
      await idempotency.complete(key, result);
      return { result, replayed: false };
    } catch (error) {
      await idempotency.abandon(key);
      throw error;
    }
  }

  /** Claims a send under the limits, starts it at Sinch, records it. */
  async function send(e164: string, purpose: string | null, events: OtpEvents): Promise<RequestCodeResult> {
    const reservation = await users.reserveSend(e164);
    if (!reservation.ok) {
      events.refused(reservation.refusal.limit);
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

    const verificationId = randomUUID();
    let sinchId: string;
    try {
      ({ id: sinchId } = await sinch.startSms(e164, { reference: verificationId, expirySeconds: otp.ttlSeconds }));
    } catch (error) {
      // Sinch answered with an error or was never reached: nothing was sent, so the send is not counted.
      if (!sinchMayHaveActed(error)) await users.releaseSend(e164, reservation);
      events.refused(error instanceof AppError ? error.code.toLowerCase() : 'error');
      throw error;
    }
    events.sent();

    const now = reservation.reservedAt;
    const expiresAt = new Date(now.getTime() + otp.ttlSeconds * 1000);
    const aborted = await activate({ id: verificationId, sinchId, phoneNumber: e164, expiresAt, now, purpose });
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

  /**
   * Each lost race on the one-PENDING index means another request's row was committed meanwhile,
   * and reserveSend lets at most maxSendsPerNumberHour requests per number through, so that many
   * retries always suffice (a fixed 3 turned the 4th loser of a burst into a 500).
   */
  async function activate(
    v: { id: string; sinchId: string; phoneNumber: string; expiresAt: Date; now: Date; purpose: string | null },
    retries = otp.maxSendsPerNumberHour,
  ): Promise<number> {
    try {
      const [row] = await statements.run<{ aborted: number }>(ACTIVATE, [
        v.id,
        v.sinchId,
        v.phoneNumber,
        v.expiresAt,
        v.now,
        v.purpose,
      ]);
      return row?.aborted ?? 0;
    } catch (error) {
      const { code, constraint } = sqlState(error);
      if (retries > 0 && code === '23505' && constraint === 'Verifications_one_pending_per_number')
        return activate(v, retries - 1);
      throw error;
    }
  }

  /** Why a verification cannot take a code now, as the error the client gets; undefined when it can. */
  function unusable(v: VerificationRow | undefined, now: number): AppError | undefined {
    if (!v) return new AppError('VERIFICATION_NOT_FOUND');
    switch (v.status) {
      case 'SUCCESSFUL':
        return new AppError('ALREADY_VERIFIED', {
          message: 'This code has already been used to verify the number. Request a new code to verify again.',
        });
      case 'ABORTED':
        return new AppError('VERIFICATION_NOT_FOUND', {
          message: 'This code was replaced by a newer one. Use the most recent code sent to this number.',
          details: [{ reason: 'superseded' }],
        });
      case 'EXPIRED':
        return new AppError('VERIFICATION_EXPIRED');
      case 'CANCELLED':
        return new AppError('VERIFICATION_CANCELLED');
      case 'FAILED':
        return v.attempts >= otp.maxAttempts
          ? attemptsExhausted(v, now)
          : new AppError('VERIFICATION_EXPIRED', {
              message: 'This code can no longer be used. Request a new code.',
              details: [{ reason: 'ended_by_provider' }],
            });
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
      headers: limitHeaders('verification-attempts', otp.maxAttempts, otp.ttlSeconds, waitMs),
      details: [{ reason: 'verification_attempts_exhausted', maxAttempts: otp.maxAttempts, attemptsRemaining: 0 }],
    });
  }

  async function settle(
    v: VerificationRow,
    status: VerificationStatus,
    chargedAt: Date | undefined,
    at: Date,
  ): Promise<void> {
    await statements.run(SETTLE, [v.id, v.phoneNumber, status, chargedAt ?? null, at]);
  }

  async function claimAttempt(phoneNumber: string, verificationId: string | undefined, now: Date) {
    const [row] = await statements.run<Partial<VerificationRow> & { charged: boolean; claimedAttempts: number | null }>(
      CLAIM_ATTEMPT,
      [
        verificationId ?? null,
        phoneNumber,
        new Date(now.getTime() - HOUR_MS),
        now,
        otp.maxFailuresPerNumberHour,
        otp.maxAttempts,
      ],
    );
    const target = row?.id ? (row as VerificationRow) : undefined;
    return { target, charged: row?.charged === true, attempts: row?.claimedAttempts ?? null };
  }

  async function verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult> {
    const phone = normalizePhone(input.phoneNumber, otp.defaultCountry);
    const now = new Date(clock.now());
    const claim = await claimAttempt(phone.e164, input.verificationId, now);
    const target = claim.target;
    const events = withPurpose(allEvents, target?.purpose);
    const problem = unusable(target, now.getTime());
    if (problem || !target) {
      if (target?.status === 'PENDING' && problem?.code === 'VERIFICATION_EXPIRED')
        await settle(target, 'EXPIRED', undefined, now);
      events.failed(failureReason(problem));
      throw problem ?? new AppError('VERIFICATION_NOT_FOUND');
    }
    if (!claim.charged) {
      const retryAt = (await users.failureBudgetRetryAt(phone.e164)) ?? new Date(now.getTime() + HOUR_MS);
      events.failed('failure_budget');
      logger.warn('failure budget exhausted for number', { phoneNumber: phone.e164 });
      throw new AppError('TOO_MANY_ATTEMPTS', {
        message: `Too many wrong codes for this number in the last hour. Try again in ${retryAfterSeconds(retryAt.getTime() - now.getTime())} s.`,
        headers: limitHeaders('number-failures', otp.maxFailuresPerNumberHour, 3600, retryAt.getTime() - now.getTime()),
        details: [
          {
            reason: 'failure_budget_exhausted',
            retryAfterSeconds: retryAfterSeconds(retryAt.getTime() - now.getTime()),
          },
        ],
      });
    }
    if (claim.attempts === null) {
      // A parallel request changed the verification between the statement's read and its update.
      await users.refundFailure(phone.e164, now);
      const [current] = await statements.run<VerificationRow>(FIND_TARGET, [target.id, phone.e164]);
      const lost = unusable(current, now.getTime()) ?? new AppError('VERIFICATION_NOT_FOUND');
      events.failed(failureReason(lost));
      throw lost;
    }

    const attempts = claim.attempts;
    let outcome;
    try {
      outcome = await sinch.reportSmsCode(target.sinchVerificationId, input.code);
    } catch (error) {
      // Sinch did not judge the code (or may not have): it is not a wrong guess against the budget.
      await users.refundFailure(phone.e164, now);
      if (!sinchMayHaveActed(error)) {
        await statements.run(RETURN_ATTEMPT, [target.id]);
      }
      events.failed('provider_error');
      throw error;
    }

    switch (outcome.result) {
      case 'SUCCESSFUL': {
        const [succeeded] = await statements.run(SUCCEED, [target.id, phone.e164, now]);
        if (!succeeded) {
          events.failed('cancelled');
          throw new AppError('VERIFICATION_CANCELLED');
        }
        events.verified();
        logger.info('verification succeeded', { verificationId: target.id, phoneNumber: phone.e164, attempts });
        const verificationToken = await deps.tokens?.issue({
          verificationId: target.id,
          phoneNumber: phone.e164,
          purpose: target.purpose,
          method: 'sms',
        });
        return { phoneNumber: phone.e164, verified: true, verifiedAt: now.toISOString(), verificationToken };
      }
      case 'INVALID_CODE': {
        const attemptsRemaining = Math.max(0, otp.maxAttempts - attempts);
        if (attemptsRemaining === 0) await settle(target, 'FAILED', undefined, now);
        events.failed('invalid_code');
        throw new AppError('INVALID_CODE', {
          message:
            attemptsRemaining > 0
              ? `The code is not correct. ${attemptsRemaining} attempt${attemptsRemaining === 1 ? '' : 's'} left.`
              : 'The code is not correct and no attempts are left. Request a new code.',
          details: [{ field: 'code', attemptsRemaining }],
        });
      }
      case 'EXPIRED':
      case 'NOT_FOUND':
        await settle(target, 'EXPIRED', now, now);
        events.failed('expired');
        throw new AppError('VERIFICATION_EXPIRED');
      case 'ABORTED':
        await settle(target, 'ABORTED', now, now);
        events.failed('aborted');
        throw new AppError('VERIFICATION_NOT_FOUND', {
          message: 'This code was replaced by a newer one. Use the most recent code sent to this number.',
          details: [{ reason: 'superseded' }],
        });
      case 'REJECTED':
        await settle(target, 'FAILED', now, now);
        events.failed('rejected');
        logger.warn('Sinch ended the verification', {
          verificationId: target.id,
          sinchStatus: outcome.status,
          sinchReason: outcome.reason,
        });
        throw new AppError('VERIFICATION_EXPIRED', {
          message: 'This code can no longer be used. Request a new code.',
          details: [{ reason: 'ended_by_provider' }],
        });
    }
  }

  return { requestCode, verifyCode };
}
