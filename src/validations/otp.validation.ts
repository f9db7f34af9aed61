import { z } from 'zod';
import { e164, successEnvelope } from './api.validation';

const requiredString = (field: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .trim()
    .min(1, `${field} must not be empty`)
    .max(max, `${field} must be at most ${max} characters`);

export const requestOtpBody = z.strictObject({
  phoneNumber: requiredString('phoneNumber', 32),
  method: z.literal('sms', { error: 'method must be "sms" (the only method this service sends)' }).optional(),
});
export type RequestOtpBody = z.infer<typeof requestOtpBody>;

export const verifyOtpBody = z.strictObject({
  phoneNumber: requiredString('phoneNumber', 32),
  code: requiredString('code', 64).regex(/^[A-Za-z0-9]{4,10}$/, 'code must be 4 to 10 letters or digits'),
  verificationId: z.uuid({ error: 'verificationId must be the UUID returned by /api/request-otp' }).optional(),
});
export type VerifyOtpBody = z.infer<typeof verifyOtpBody>;

/** Idempotency-Key: what clients commonly send (UUIDs, ULIDs, random tokens): printable ASCII, 1-255 chars. */
export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7E]{1,255}$/, 'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces');

const dateTime = z.iso.datetime();

export const requestOtpData = z
  .strictObject({
    verificationId: z.uuid().meta({ description: "This service's id of the verification; pass it to verify-otp." }),
    phoneNumber: e164.meta({
      description: 'The number the code was sent to, normalised to E.164; show it back to the user.',
    }),
    method: z.literal('sms'),
    expiresAt: dateTime.meta({ description: 'When the code stops working.' }),
    resendAvailableAt: dateTime.meta({
      description: 'When a new code may be requested (the resend cooldown). Drive the resend countdown from this.',
    }),
  })
  .meta({ id: 'RequestOtpData' });
export type RequestOtpData = z.infer<typeof requestOtpData>;

export const verifyOtpData = z
  .strictObject({ phoneNumber: e164, verified: z.literal(true), verifiedAt: dateTime })
  .meta({ id: 'VerifyOtpData' });
export type VerifyOtpData = z.infer<typeof verifyOtpData>;

export const requestOtpResponse = successEnvelope(requestOtpData);
export const verifyOtpResponse = successEnvelope(verifyOtpData);

export const idempotentReplayedHeader = z.literal('true').optional().meta({
  description:
    '`true` when this is the stored first response to a repeated `Idempotency-Key` (no new SMS was sent); absent otherwise.',
});
