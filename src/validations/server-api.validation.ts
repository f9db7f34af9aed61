import { z } from 'zod';

/**
 * The server-side API's contract (/api/verifications/*, for backends with an API key) and the
 * verification token's, as zod schemas: requests are validated with them, responses and the JWKS
 * are documented from them.
 */

export const verificationIdParams = z.strictObject({
  id: z.uuid({ error: 'id must be a verificationId (a UUID, as request-otp returned it)' }),
});
export type VerificationIdParams = z.infer<typeof verificationIdParams>;

export const redeemBody = z.strictObject({
  token: z
    .string({ error: (issue) => (issue.input === undefined ? 'token is required' : 'token must be a string') })
    .min(1, 'token must not be empty')
    .max(4096, 'token must be at most 4096 characters'),
});
export type RedeemBody = z.infer<typeof redeemBody>;

const timestamp = z.iso.datetime();

export const verificationStatus = z
  .enum(['PENDING', 'SUCCESSFUL', 'FAILED', 'EXPIRED', 'CANCELLED', 'ABORTED'])
  .describe(
    'PENDING: a code was sent and can still be checked. SUCCESSFUL: the right code was given. FAILED: the attempts ran out or Sinch refused the verification. EXPIRED: past expiresAt without success. CANCELLED: cancelled through this API. ABORTED: replaced by a newer code for the same number.',
  );

/** data of GET /api/verifications/:id and of POST /api/verifications/:id/cancel. */
export const verificationReport = z.object({
  verificationId: z.uuid(),
  phoneNumber: z.string().describe('E.164'),
  method: z.string().describe('sms, or another of OTP_METHODS'),
  purpose: z.string().nullable().describe('One of OTP_PURPOSES, or null when request-otp named none'),
  status: verificationStatus,
  attempts: z.int().min(0).describe('Codes checked so far'),
  maxAttempts: z.int().min(1),
  createdAt: timestamp,
  expiresAt: timestamp,
  verifiedAt: timestamp.nullable(),
  smsDeliveryStatus: z
    .enum(['DELIVERED', 'FAILED'])
    .nullable()
    .describe("From Sinch's delivery report; null until it arrives"),
  tokenRedeemedAt: timestamp.nullable().describe('When POST /api/verifications/redeem accepted its token'),
});

/** The verification token's payload: data of POST /api/verifications/redeem, and what a backend's JOSE library reads. */
export const verificationTokenClaims = z.object({
  iss: z.string().describe('VERIFICATION_TOKEN_ISSUER'),
  aud: z.string().optional().describe('VERIFICATION_TOKEN_AUDIENCE, when set'),
  sub: z.string().describe('The verified number, E.164'),
  phone_number: z.string().describe('The verified number, E.164 (OpenID Connect claim)'),
  phone_number_verified: z.literal(true),
  iat: z.int(),
  exp: z.int().describe('iat + VERIFICATION_TOKEN_TTL_SECONDS'),
  jti: z.uuid().describe('The verificationId'),
  purpose: z.string().optional().describe('What the code was requested for, when request-otp named it'),
  method: z.string().describe('How the code was sent: sms, or another of OTP_METHODS'),
});

/** GET /.well-known/jwks.json (RFC 7517), served bare, without the envelope. */
export const jwks = z.object({
  keys: z.array(
    z.object({
      kty: z.enum(['OKP', 'EC']),
      crv: z.enum(['Ed25519', 'P-256']),
      x: z.string(),
      y: z.string().optional(),
      kid: z.string().describe('RFC 7638 SHA-256 thumbprint of the key'),
      alg: z.enum(['EdDSA', 'ES256']),
      use: z.literal('sig'),
    }),
  ),
});
