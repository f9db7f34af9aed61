import { z } from 'zod';
import { e164, successEnvelope } from './api.validation';

/**
 * The server-side API's contract (/api/verifications/*, for backends with an API key) and the
 * verification token's, as zod schemas: requests are validated with them, responses and the JWKS
 * are documented from them.
 */

export const verificationIdParam = z
  .uuid({ error: 'id must be a verificationId (a UUID, as request-otp returned it)' })
  .meta({ description: 'The `verificationId` request-otp returned.' });

export const verificationIdParams = z.strictObject({ id: verificationIdParam });
export type VerificationIdParams = z.infer<typeof verificationIdParams>;

export const redeemBody = z.strictObject({
  token: z
    .string({ error: (issue) => (issue.input === undefined ? 'token is required' : 'token must be a string') })
    .min(1, 'token must not be empty')
    .max(4096, 'token must be at most 4096 characters'),
});
export type RedeemBody = z.infer<typeof redeemBody>;

const dateTime = z.iso.datetime();

export const verificationStatus = z.enum(['PENDING', 'SUCCESSFUL', 'FAILED', 'EXPIRED', 'CANCELLED', 'ABORTED']).meta({
  description:
    'PENDING: a code was sent and can still be checked. SUCCESSFUL: the right code was given. FAILED: the attempts ran out, or Sinch refused the verification. EXPIRED: past `expiresAt` without success. CANCELLED: cancelled through this API. ABORTED: replaced by a newer code for the same number.',
});

/** data of GET /api/verifications/{id} and of POST /api/verifications/{id}/cancel. */
export const verificationReport = z
  .strictObject({
    verificationId: z.uuid(),
    phoneNumber: e164,
    method: z.string().meta({ description: '`sms` (or another of OTP_METHODS).' }),
    purpose: z.string().nullable().meta({ description: 'One of OTP_PURPOSES, or null when request-otp named none.' }),
    status: verificationStatus,
    attempts: z.int().min(0).meta({ description: 'Codes checked so far.' }),
    maxAttempts: z.int().min(1),
    createdAt: dateTime,
    expiresAt: dateTime,
    verifiedAt: dateTime.nullable(),
    smsDeliveryStatus: z
      .enum(['DELIVERED', 'FAILED'])
      .nullable()
      .meta({ description: "From Sinch's delivery report; null until it arrives." }),
    tokenRedeemedAt: dateTime
      .nullable()
      .meta({ description: 'When POST /api/verifications/redeem accepted its token; null before.' }),
  })
  .meta({ id: 'VerificationReport' });
export type VerificationReportData = z.infer<typeof verificationReport>;

/** The verification token's payload: data of POST /api/verifications/redeem, and what a backend's JOSE library reads. */
export const verificationTokenClaims = z
  .strictObject({
    iss: z.string().meta({ description: 'VERIFICATION_TOKEN_ISSUER (default `otp-verification-service`).' }),
    aud: z.string().optional().meta({ description: 'VERIFICATION_TOKEN_AUDIENCE; absent when it is not set.' }),
    sub: e164.meta({ description: 'The verified number.' }),
    phone_number: e164.meta({ description: 'The verified number (the OpenID Connect claim).' }),
    phone_number_verified: z.literal(true),
    iat: z.int(),
    exp: z.int().meta({ description: '`iat` + VERIFICATION_TOKEN_TTL_SECONDS (default 600, at most 3600).' }),
    jti: z.uuid().meta({ description: 'The `verificationId`: one token per verification.' }),
    purpose: z
      .string()
      .optional()
      .meta({ description: 'What the code was requested for, when request-otp named it. Check it.' }),
    method: z.string().meta({ description: 'How the code was sent: `sms` (or another of OTP_METHODS).' }),
  })
  .meta({ id: 'VerificationTokenClaims' });

/** GET /.well-known/jwks.json (RFC 7517), served bare, without the envelope. */
export const jwks = z
  .strictObject({
    keys: z
      .array(
        z.strictObject({
          kty: z.enum(['OKP', 'EC']),
          crv: z.enum(['Ed25519', 'P-256']),
          x: z.string(),
          y: z.string().optional(),
          kid: z
            .string()
            .meta({ description: "The RFC 7638 SHA-256 thumbprint of the key; the token header's `kid`." }),
          alg: z.enum(['EdDSA', 'ES256']),
          use: z.literal('sig'),
        }),
      )
      .min(1),
  })
  .meta({
    id: 'JsonWebKeySet',
    description:
      'The current signing key first, then previous keys still listed for rotation (VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS).',
  });

export const verificationReportResponse = successEnvelope(verificationReport);
export const redeemResponse = successEnvelope(verificationTokenClaims);
