import { randomUUID } from 'node:crypto';
import type { Config, FallbackMethod, OtpMethod } from '../config';
import type { Logger } from '../config/logger';
import type { AttemptClaim, SendClaim, VerificationQueries, VerificationRow } from '../db/queries/verifications';
import type { VerificationStatus } from '../models';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import { normalizePhone } from '../utils/phone';
import { chooseLocale, chooseMethod, codeTypeOf, type Channel, type ChannelRequest } from './channels';
import { fingerprintOf, type IdempotencyService } from './idempotency.service';
import { assertNumberAllowed } from './number-policy';
import type { ReportOutcome, SinchClient, StartResult } from '../clients/sinch/sinch.client';
import { createTestNumbers, TEST_VERIFICATION_PREFIX, type TestNumbers } from './test-numbers';
import type { UserService } from './user.service';
import type { VerificationTokenService } from './verification-token.service';
import {
  budgetExhausted,
  cannotResend,
  endedByProvider,
  expiryOf,
  failureReason,
  notFound,
  refusalError,
  sendReference,
  superseded,
  unusable,
  wrongCode,
} from './verification.rules';
import type {
  OtpEventLabels,
  OtpEvents,
  RequestCodeInput,
  RequestCodeResult,
  ResendCodeInput,
  VerifyCodeInput,
  VerifyCodeResult,
} from './verification.types';

export type {
  OtpEventLabels,
  OtpEvents,
  RequestCodeInput,
  RequestCodeResult,
  ResendCodeInput,
  VerifyCodeInput,
  VerifyCodeResult,
} from './verification.types';

const noEvents: OtpEvents = { requested() {}, sent() {}, refused() {}, verified() {}, failed() {} };

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

export interface VerificationServiceDeps {
  verifications: VerificationQueries;
  sinch: SinchClient;
  users: UserService;
  config: Config;
  logger: Logger;
  clock: Clock;
  events?: OtpEvents;
  idempotency?: IdempotencyService;
  /** OTP_TEST_NUMBERS; built from config when absent. */
  testNumbers?: TestNumbers;
  /** Signs the token of a successful verification; none: verify-otp returns no token. */
  tokens?: VerificationTokenService;
}

export function createVerificationService(deps: VerificationServiceDeps): VerificationService {
  const { verifications, sinch, users, config, logger, clock } = deps;
  const events = deps.events ?? noEvents;
  const { otp } = config;
  const testNumbers = deps.testNumbers ?? createTestNumbers(otp.testNumbers);
  let lastCeilingAlert = -1;

  const labelsOf = (e164: string | undefined, purpose: string | null = null): OtpEventLabels => ({
    purpose,
    testNumber: e164 !== undefined && testNumbers.has(e164),
  });

  // ---- request: normalise -> policy -> channel -> (idempotency) -> reserve -> send -> activate

  /** E.164 of a number the policy allows. */
  function normaliseAllowed(phoneNumber: string, purpose: string | null): string {
    try {
      const phone = normalizePhone(phoneNumber, otp.defaultCountry);
      assertNumberAllowed(phone, config.numberPolicy);
      return phone.e164;
    } catch (error) {
      const policy = error instanceof AppError && error.code === 'PHONE_NUMBER_NOT_ALLOWED';
      events.refused(policy ? 'number_policy' : 'invalid_number', labelsOf(undefined, purpose));
      throw error;
    }
  }

  /** The method (422 METHOD_NOT_ENABLED when not on offer) and the language of a send. */
  function channelOf(request: ChannelRequest, labels: OtpEventLabels, current?: VerificationRow): Channel {
    try {
      const method = chooseMethod(request.method ?? current?.method, otp);
      return { method, locale: chooseLocale(request, otp, current?.locale ?? undefined) };
    } catch (error) {
      events.refused('method_not_enabled', labels);
      throw error;
    }
  }

  async function requestCode(input: RequestCodeInput): Promise<{ result: RequestCodeResult; replayed: boolean }> {
    const purpose = knownPurpose(input.purpose);
    // A test number skips the validity and policy checks: it is often fictional, and never sent anything.
    const test = testNumbers.match(input.phoneNumber, otp.defaultCountry);
    events.requested(labelsOf(test, purpose));
    const e164 = test ?? normaliseAllowed(input.phoneNumber, purpose);
    const labels = labelsOf(e164, purpose);
    const channel = channelOf(input, labels);
    const key = input.idempotencyKey;
    const run = () => send(e164, channel, purpose);
    if (key === undefined || !deps.idempotency) return { result: await run(), replayed: false };
    // The same number for another purpose, by another method or in another language is another request.
    const fingerprint = fingerprintOf(
      e164,
      channel.method,
      ...(purpose === null ? [] : [purpose]),
      ...(channel.locale === undefined ? [] : [`locale:${channel.locale}`]),
    );
    return once(deps.idempotency, key, fingerprint, labels, run);
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
    labels: OtpEventLabels,
    fn: () => Promise<RequestCodeResult>,
  ): Promise<{ result: RequestCodeResult; replayed: boolean }> {
    const started = await idempotency.begin<RequestCodeResult>(key, fingerprint);
    switch (started.state) {
      case 'replay':
        return { result: started.data, replayed: true };
      case 'mismatch':
        events.refused('idempotency_key_reused', labels);
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
  async function send(e164: string, channel: Channel, purpose: string | null): Promise<RequestCodeResult> {
    const reservation = await reserve(e164, purpose);
    const verificationId = randomUUID();
    const started = await start(e164, channel, verificationId, reservation, purpose);
    const now = reservation.reservedAt;
    const expiresAt = expiryOf(now, otp);
    // Every lost race on the one-PENDING index is another request's committed send, and at most
    // maxSendsPerNumberHour pass reserveSend per number, so that many retries always suffice.
    const aborted = await verifications.activate(
      {
        id: verificationId,
        sinchId: started.id,
        phoneNumber: e164,
        method: channel.method,
        locale: started.contentLanguage,
        purpose,
        expiresAt,
        now,
      },
      otp.maxSendsPerNumberHour,
    );
    logger.info('verification started', {
      verificationId,
      phoneNumber: e164,
      method: channel.method,
      abortedOlder: aborted,
    });
    return answer({ id: verificationId, phoneNumber: e164, purpose }, channel.method, started, now);
  }

  /** request-otp's and resend-otp's answer for a code that went out at `sentAt`. */
  function answer(
    v: { id: string; phoneNumber: string; purpose: string | null },
    method: OtpMethod,
    started: StartResult,
    sentAt: Date,
  ): RequestCodeResult {
    return {
      verificationId: v.id,
      phoneNumber: v.phoneNumber,
      method,
      locale: started.contentLanguage ?? null,
      codeType: codeTypeOf(method, otp),
      methods: [...otp.methods],
      purpose: v.purpose,
      expiresAt: expiryOf(sentAt, otp).toISOString(),
      resendAvailableAt: users.resendAvailableAt(sentAt).toISOString(),
    };
  }

  /**
   * Starts the code at Sinch with a `reference` unique to this send, or at the test-number stand-in,
   * which never reaches Sinch. A send Sinch certainly did not make is given back to the limits.
   */
  async function start(
    e164: string,
    channel: Channel,
    reference: string,
    reservation: { reservedAt: Date; shard: number },
    purpose: string | null,
  ): Promise<StartResult> {
    const labels = labelsOf(e164, purpose);
    const request = {
      phoneNumber: e164,
      ...channel,
      reference,
      expirySeconds: otp.ttlSeconds,
      codeType: otp.codeType,
    };
    let started: StartResult;
    try {
      started = labels.testNumber ? testNumbers.start(request) : await sinch.start(request);
    } catch (error) {
      // Sinch answered with an error or was never reached: nothing was sent, so the send is not counted.
      if (!sinch.mayHaveActed(error)) await users.releaseSend(e164, reservation);
      events.refused(error instanceof AppError ? error.code.toLowerCase() : 'error', labels);
      throw error;
    }
    events.sent({ ...labels, method: channel.method });
    if (labels.testNumber) {
      logger.info('test number: fixed code, nothing sent to Sinch', { phoneNumber: e164, method: channel.method });
    }
    return started;
  }

  async function reserve(e164: string, purpose: string | null): Promise<{ reservedAt: Date; shard: number }> {
    const reservation = await users.reserveSend(e164);
    if (reservation.ok) return reservation;
    events.refused(reservation.refusal.limit, labelsOf(e164, purpose));
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

  // ---- resend: claim -> judge -> reserve -> send -> replace

  async function resendCode(input: ResendCodeInput): Promise<RequestCodeResult> {
    const now = new Date(clock.now());
    const { target, send: number } = await verifications.claimResend(input.verificationId, now);
    const labels = labelsOf(target?.phoneNumber, target?.purpose);
    events.requested(labels);
    const problem = cannotResend(target, now.getTime(), otp.maxAttempts);
    if (problem || !target || number === null) {
      const error = problem ?? notFound();
      events.refused(failureReason(error), labels);
      throw error;
    }
    const channel = channelOf(input, labels, target);
    const reservation = await reserve(target.phoneNumber, target.purpose);
    const reference = sendReference(target.id, number);
    const started = await start(target.phoneNumber, channel, reference, reservation, target.purpose);
    await replace({ target, send: number }, channel, started, reservation.reservedAt, 'resend');
    logger.info('verification resent', {
      verificationId: target.id,
      phoneNumber: target.phoneNumber,
      method: channel.method,
      send: number,
    });
    return answer(target, channel.method, started, reservation.reservedAt);
  }

  /** Sinch wants a unique reference per start: the first send's is our id, later ones are numbered. */

  /** Points the verification at the new Sinch verification; its old code stops being accepted. */
  async function replace(
    claim: SendClaim,
    channel: Channel,
    started: StartResult,
    sentAt: Date,
    why: 'resend' | 'fallback',
  ): Promise<void> {
    const { target, send: number } = claim;
    const replaced = await verifications.replaceSend({
      id: target.id,
      send: number,
      why,
      sinchId: started.id,
      method: channel.method,
      locale: started.contentLanguage,
      expiresAt: expiryOf(sentAt, otp),
      now: sentAt,
    });
    if (replaced) return;
    // A later resend, or the end of the verification, came first: the code just sent is not the one in force.
    const current = await verifications.findById(target.id);
    throw cannotResend(current, clock.now(), otp.maxAttempts) ?? superseded();
  }

  // ---- fallback: claim -> reserve -> send -> replace (nobody waits for it: problems are logged)

  async function fallBackAfterFailedSms(sinchId: string): Promise<void> {
    const method = otp.fallbackMethod;
    if (method === undefined) return;
    const claim = await verifications.claimFallback(sinchId, new Date(clock.now()));
    if (claim) await fallBack(claim, method, 'sms_failed');
  }

  async function fallBackOverdue(limit = 100): Promise<number> {
    const method = otp.fallbackMethod;
    if (method === undefined || otp.fallbackAfterSeconds === 0) return 0;
    const now = clock.now();
    const claims = await verifications.claimOverdueFallbacks(
      new Date(now),
      new Date(now - otp.fallbackAfterSeconds * 1000),
      otp.ttlSeconds,
      testNumbers.numbers,
      limit,
    );
    await Promise.all(claims.map((claim) => fallBack(claim, method, 'sms_unreported')));
    return claims.length;
  }

  /** Starts `method` for a claimed verification, under the same limits as any send; at most once. */
  async function fallBack(claim: SendClaim, method: FallbackMethod, why: string): Promise<void> {
    const { target, send: number } = claim;
    const facts = { verificationId: target.id, phoneNumber: target.phoneNumber, method, why };
    const channel: Channel = { method, locale: target.locale ?? otp.defaultLocale };
    try {
      const reservation = await reserve(target.phoneNumber, target.purpose);
      const reference = sendReference(target.id, number);
      const started = await start(target.phoneNumber, channel, reference, reservation, target.purpose);
      await replace(claim, channel, started, reservation.reservedAt, 'fallback');
      logger.info('fell back to another method', facts);
    } catch (error) {
      // A refusal (a limit, Sinch) is the fallback's outcome, not a fault; anything else is one.
      if (error instanceof AppError && !error.isServerError)
        logger.warn('fallback not started', { ...facts, refusal: error.code });
      else logger.error('fallback failed', { ...facts, error });
    }
  }

  // ---- verify: claim -> judge -> report -> settle

  async function verifyCode(input: VerifyCodeInput): Promise<VerifyCodeResult> {
    const phoneNumber = input.phoneNumber === undefined ? undefined : normaliseForVerify(input.phoneNumber);
    const now = new Date(clock.now());
    const claim = await verifications.claimAttempt({ verificationId: input.verificationId, phoneNumber }, now, {
      maxFailuresPerHour: otp.maxFailuresPerNumberHour,
      maxAttempts: otp.maxAttempts,
    });
    const { target, attempts } = await judge(claim, now);
    const outcome = await report(target, input.code, now);
    return settle(target, attempts, outcome, now);
  }

  /** A test number is never checked for validity: it is usually a fictional one. */
  function normaliseForVerify(phoneNumber: string): string {
    return testNumbers.match(phoneNumber, otp.defaultCountry) ?? normalizePhone(phoneNumber, otp.defaultCountry).e164;
  }

  function refuse(reason: string, error: AppError, target: VerificationRow | undefined): AppError {
    events.failed(reason, labelsOf(target?.phoneNumber, target?.purpose));
    return error;
  }

  /** Whether the claimed verification may take this code; throws the client's answer when not. */
  async function judge(claim: AttemptClaim, now: Date): Promise<{ target: VerificationRow; attempts: number }> {
    const { target } = claim;
    const problem = unusable(target, now.getTime(), otp);
    if (problem || !target) {
      if (target?.status === 'PENDING' && problem?.code === 'VERIFICATION_EXPIRED') {
        await verifications.settle(target, 'EXPIRED', undefined, now);
      }
      const error = problem ?? notFound();
      throw refuse(failureReason(error), error, target);
    }
    if (!claim.charged) {
      logger.warn('failure budget exhausted for number', { phoneNumber: target.phoneNumber });
      throw refuse('failure_budget', budgetExhausted(claim.budgetOpensAt, now, otp), target);
    }
    if (claim.attempts === null) {
      // A parallel request changed the verification between the statement's read and its update.
      await users.refundFailure(target.phoneNumber, now);
      const lost = unusable(await verifications.findById(target.id), now.getTime(), otp) ?? notFound();
      throw refuse(failureReason(lost), lost, target);
    }
    return { target, attempts: claim.attempts };
  }

  /**
   * Sinch's judgement of the code, reported with the method it went out by; a verification the
   * test-number stand-in started is judged by it. If Sinch did not judge the code (or may not
   * have), the failure is refunded.
   */
  async function report(target: VerificationRow, code: string, now: Date): Promise<ReportOutcome> {
    if (target.sinchVerificationId.startsWith(TEST_VERIFICATION_PREFIX)) {
      return testNumbers.report(target.phoneNumber, code);
    }
    try {
      return await sinch.report(target.sinchVerificationId, target.method, code);
    } catch (error) {
      await users.refundFailure(target.phoneNumber, now);
      if (!sinch.mayHaveActed(error)) await verifications.returnAttempt(target.id);
      events.failed('provider_error', labelsOf(target.phoneNumber, target.purpose));
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
        throw refuse('invalid_code', wrongCode(attemptsRemaining, target.method), target);
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
    events.verified(labelsOf(target.phoneNumber, target.purpose));
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

  return { requestCode, verifyCode, resendCode, fallBackAfterFailedSms, fallBackOverdue };
}
