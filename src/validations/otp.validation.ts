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
  /** One of OTP_PURPOSES (default signup, login, password_reset, phone_change, transaction); checked by the service against the configured list. */
  purpose: requiredString('purpose', 32).optional(),
});
export type RequestOtpBody = z.infer<typeof requestOtpBody>;

const code = requiredString('code', 64).regex(/^[A-Za-z0-9]{4,10}$/, 'code must be 4 to 10 letters or digits');

const verificationId = z.uuid({
  error: (issue) =>
    issue.input === undefined
      ? 'verificationId is required: send the verificationId that /api/request-otp returned. ' +
        '(Verifying by phone number alone is off; the server enables it with VERIFY_BY_PHONE_NUMBER=true.)'
      : 'verificationId must be the UUID returned by /api/request-otp',
});

/** verify-otp: the code, for the verification whose id request-otp returned; `phoneNumber`, when given, must match it. */
export const verifyOtpBody = z.strictObject({
  verificationId,
  code,
  phoneNumber: requiredString('phoneNumber', 32).optional(),
});

/** verify-otp with VERIFY_BY_PHONE_NUMBER=true: the id may be left out, then the number's latest verification is checked. */
export const verifyOtpByPhoneBody = z
  .strictObject({
    verificationId: verificationId.optional(),
    code,
    phoneNumber: requiredString('phoneNumber', 32).optional(),
  })
  .refine((body) => body.verificationId !== undefined || body.phoneNumber !== undefined, {
    path: ['phoneNumber'],
    message: 'phoneNumber is required when verificationId is not given',
  });
export type VerifyOtpBody = z.infer<typeof verifyOtpByPhoneBody>;

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
    purpose: z
      .string()
      .nullable()
      .meta({ description: 'The purpose the request named (one of OTP_PURPOSES), or null when it named none.' }),
    expiresAt: dateTime.meta({ description: 'When the code stops working.' }),
    resendAvailableAt: dateTime.meta({
      description: 'When a new code may be requested (the resend cooldown). Drive the resend countdown from this.',
    }),
  })
  .meta({ id: 'RequestOtpData' });
export type RequestOtpData = z.infer<typeof requestOtpData>;

export const verifyOtpData = z
  .strictObject({
    verificationId: z.uuid(),
    phoneNumber: e164,
    verified: z.literal(true),
    verifiedAt: dateTime,
    verificationToken: z
      .string()
      .regex(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      .optional()
      .meta({
        description:
          'The proof for your backend: a JWT signed by this service (EdDSA or ES256), checked against GET /.well-known/jwks.json. Send it to your backend with the form that needed the verified number; see the VerificationTokenClaims schema and docs/integrating.md. Absent when the server runs with VERIFICATION_TOKENS=off.',
      }),
  })
  .meta({ id: 'VerifyOtpData' });
export type VerifyOtpData = z.infer<typeof verifyOtpData>;

export const requestOtpResponse = successEnvelope(requestOtpData);
export const verifyOtpResponse = successEnvelope(verifyOtpData);

export const idempotentReplayedHeader = z.literal('true').optional().meta({
  description:
    '`true` when this is the stored first response to a repeated `Idempotency-Key` (no new SMS was sent); absent otherwise.',
});
