import { randomUUID } from 'node:crypto';
import type { NewVerification } from '../../db/queries/verifications';
import { AppError } from '../../utils/app-error';
import { normalizePhone } from '../../utils/phone';
import type { Channel } from '../channels';
import { fingerprintOf, type IdempotencyService } from '../idempotency.service';
import { assertNumberAllowed } from '../number-policy';
import { labelsOf, type VerificationContext } from './verification.context';
import { expiryOf } from './verification.rules';
import { answer, channelOf, reserve, start } from './verification.send';
import type { OtpEventLabels, RequestCodeInput, RequestCodeResult } from './verification.types';

// request-otp: normalise -> policy -> channel -> (idempotency) -> reserve -> send -> activate

/** `replayed`: an Idempotency-Key repeat, answered with the first request's result. */
type Requested = { result: RequestCodeResult; replayed: boolean };

/** Sends a code: normalise, number policy, idempotency, reserve a send, start it at Sinch, record it. */
export async function requestCode(ctx: VerificationContext, input: RequestCodeInput): Promise<Requested> {
  const purpose = knownPurpose(ctx, input.purpose);
  const e164 = normalise(ctx, input.phoneNumber, purpose);
  const labels = labelsOf(ctx, e164, purpose);
  const channel = channelOf(ctx, input, labels);
  const run = () => send(ctx, e164, channel, purpose);
  const key = input.idempotencyKey;
  if (key === undefined || !ctx.idempotency) return { result: await run(), replayed: false };
  return once(ctx, ctx.idempotency, key, requestFingerprint(e164, channel, purpose), labels, run);
}

/** The purpose, when it is one of OTP_PURPOSES: the field's VALIDATION_ERROR otherwise. */
function knownPurpose({ otp }: VerificationContext, purpose: string | undefined): string | null {
  if (purpose === undefined) return null;
  if (otp.purposes.includes(purpose)) return purpose;
  throw new AppError('VALIDATION_ERROR', {
    details: [{ field: 'purpose', message: `purpose must be one of: ${otp.purposes.join(', ')}` }],
  });
}

/** The number in E.164, counted as requested before it is checked. */
function normalise(ctx: VerificationContext, phoneNumber: string, purpose: string | null): string {
  // A test number skips the validity and policy checks: it is often fictional, and never sent anything.
  const test = ctx.testNumbers.match(phoneNumber, ctx.otp.defaultCountry);
  ctx.events.requested(labelsOf(ctx, test, purpose));
  return test ?? normaliseAllowed(ctx, phoneNumber, purpose);
}

/** E.164 of a number the policy allows. */
function normaliseAllowed(ctx: VerificationContext, phoneNumber: string, purpose: string | null): string {
  try {
    const phone = normalizePhone(phoneNumber, ctx.otp.defaultCountry);
    assertNumberAllowed(phone, ctx.config.numberPolicy);
    return phone.e164;
  } catch (error) {
    const policy = error instanceof AppError && error.code === 'PHONE_NUMBER_NOT_ALLOWED';
    ctx.events.refused(policy ? 'number_policy' : 'invalid_number', labelsOf(ctx, undefined, purpose));
    throw error;
  }
}

/** The same number for another purpose, by another method or in another language is another request. */
function requestFingerprint(e164: string, channel: Channel, purpose: string | null): string {
  return fingerprintOf(
    e164,
    channel.method,
    ...(purpose === null ? [] : [purpose]),
    ...(channel.locale === undefined ? [] : [`locale:${channel.locale}`]),
  );
}

/** Runs `fn` once per idempotency key; a repeat replays its result. */
async function once(
  ctx: VerificationContext,
  idempotency: IdempotencyService,
  key: string,
  fingerprint: string,
  labels: OtpEventLabels,
  fn: () => Promise<RequestCodeResult>,
): Promise<Requested> {
  const started = await idempotency.begin<RequestCodeResult>(key, fingerprint);
  switch (started.state) {
    case 'replay':
      return { result: started.data, replayed: true };
    case 'mismatch':
      ctx.events.refused('idempotency_key_reused', labels);
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
async function send(
  ctx: VerificationContext,
  e164: string,
  channel: Channel,
  purpose: string | null,
): Promise<RequestCodeResult> {
  const reservation = await reserve(ctx, e164, purpose);
  const verificationId = randomUUID();
  const started = await start(ctx, e164, channel, verificationId, reservation, purpose);
  const now = reservation.reservedAt;
  await activate(ctx, {
    id: verificationId,
    sinchId: started.id,
    phoneNumber: e164,
    method: channel.method,
    locale: started.contentLanguage,
    purpose,
    expiresAt: expiryOf(now, ctx.otp),
    now,
  });
  return answer(ctx, { id: verificationId, phoneNumber: e164, purpose }, channel.method, started, now);
}

/** Records the started verification as the number's one PENDING one; older PENDING ones are aborted. */
async function activate(ctx: VerificationContext, verification: NewVerification): Promise<void> {
  // Every lost race on the one-PENDING index is another request's committed send, and at most
  // maxSendsPerNumberHour pass reserveSend per number, so that many retries always suffice.
  const aborted = await ctx.verifications.activate(verification, ctx.otp.maxSendsPerNumberHour);
  ctx.logger.info('verification started', {
    verificationId: verification.id,
    phoneNumber: verification.phoneNumber,
    method: verification.method,
    abortedOlder: aborted,
  });
}
