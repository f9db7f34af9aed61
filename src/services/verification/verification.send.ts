import type { OtpMethod } from '../../config';
import type { VerificationRow } from '../../db/queries/verifications';
import type { StartResult } from '../../clients/sinch/sinch.client';
import { AppError } from '../../utils/app-error';
import { chooseLocale, chooseMethod, codeTypeOf, type Channel, type ChannelRequest } from '../channels';
import { labelsOf, type VerificationContext } from './verification.context';
import { expiryOf, refusalError } from './verification.rules';
import type { OtpEventLabels, RequestCodeResult } from './verification.types';

// The steps every send shares (request-otp, resend-otp, the fallbacks): choose the channel, reserve
// the send under the limits, start it at Sinch, answer.

/** A send counted against the limits; given back when Sinch certainly sent nothing. */
export interface Reservation {
  reservedAt: Date;
  shard: number;
}

/** The method (422 METHOD_NOT_ENABLED when not on offer) and the language of a send. */
export function channelOf(
  ctx: VerificationContext,
  request: ChannelRequest,
  labels: OtpEventLabels,
  current?: VerificationRow,
): Channel {
  try {
    const method = chooseMethod(request.method ?? current?.method, ctx.otp);
    return { method, locale: chooseLocale(request, ctx.otp, current?.locale ?? undefined) };
  } catch (error) {
    ctx.events.refused('method_not_enabled', labels);
    throw error;
  }
}

export async function reserve(ctx: VerificationContext, e164: string, purpose: string | null): Promise<Reservation> {
  const reservation = await ctx.users.reserveSend(e164);
  if (reservation.ok) return reservation;
  ctx.events.refused(reservation.refusal.limit, labelsOf(ctx, e164, purpose));
  // Once per minute window and instance: under a pumping attack every request is refused here,
  // and one line per refusal would flood the log (the refusals are counted in the metrics).
  const window = Math.floor(ctx.clock.now() / 60_000);
  if (reservation.refusal.limit === 'global_minute' && window !== ctx.lastCeilingAlert) {
    ctx.lastCeilingAlert = window;
    ctx.logger.error('Global send ceiling reached: refusing to send codes (possible SMS pumping)', {
      ceilingPerMinute: ctx.otp.globalSendsPerMinute,
    });
  }
  throw refusalError(reservation.refusal);
}

/**
 * Starts the code at Sinch with a `reference` unique to this send, or at the test-number stand-in,
 * which never reaches Sinch. A send Sinch certainly did not make is given back to the limits.
 */
export async function start(
  ctx: VerificationContext,
  e164: string,
  channel: Channel,
  reference: string,
  reservation: Reservation,
  purpose: string | null,
): Promise<StartResult> {
  const { otp, sinch, events } = ctx;
  const labels = labelsOf(ctx, e164, purpose);
  const request = {
    phoneNumber: e164,
    ...channel,
    reference,
    expirySeconds: otp.ttlSeconds,
    codeType: otp.codeType,
  };
  let started: StartResult;
  try {
    started = labels.testNumber ? ctx.testNumbers.start(request) : await sinch.start(request);
  } catch (error) {
    // Sinch answered with an error or was never reached: nothing was sent, so the send is not counted.
    if (!sinch.mayHaveActed(error)) await ctx.users.releaseSend(e164, reservation);
    events.refused(error instanceof AppError ? error.code.toLowerCase() : 'error', labels);
    throw error;
  }
  events.sent({ ...labels, method: channel.method });
  if (labels.testNumber) {
    ctx.logger.info('test number: fixed code, nothing sent to Sinch', { phoneNumber: e164, method: channel.method });
  }
  return started;
}

/** request-otp's and resend-otp's answer for a code that went out at `sentAt`. */
export function answer(
  ctx: VerificationContext,
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
    codeType: codeTypeOf(method, ctx.otp),
    methods: [...ctx.otp.methods],
    purpose: v.purpose,
    expiresAt: expiryOf(sentAt, ctx.otp).toISOString(),
    resendAvailableAt: ctx.users.resendAvailableAt(sentAt).toISOString(),
  };
}
