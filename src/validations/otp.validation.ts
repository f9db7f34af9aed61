import { z } from 'zod';
import { CODE_TYPES, OTP_METHODS, type CodeType, type OtpMethod } from '../config';
import { localeSchema } from '../utils/locale';
import { e164, successEnvelope } from './api.validation';

const requiredString = (field: string, max: number) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? `${field} is required` : `${field} must be a string`) })
    .trim()
    .min(1, `${field} must not be empty`)
    .max(max, `${field} must be at most ${max} characters`);

/** One of the methods this service can send; one the server does not offer (OTP_METHODS) is a 422 METHOD_NOT_ENABLED. */
const method = z
  .enum(OTP_METHODS, { error: `method must be one of ${OTP_METHODS.map((m) => `"${m}"`).join(', ')}` })
  .optional();

/** BCP 47 (`sv-SE`), answered in canonical form; malformed is a 400. Absent: Accept-Language, then OTP_DEFAULT_LOCALE. */
const locale = localeSchema.optional();

export const requestOtpBody = z.strictObject({
  phoneNumber: requiredString('phoneNumber', 32),
  method,
  locale,
  /** One of OTP_PURPOSES (default signup, login, password_reset, phone_change, transaction); checked by the service against the configured list. */
  purpose: requiredString('purpose', 32).optional(),
});
export type RequestOtpBody = z.infer<typeof requestOtpBody>;

/** resend-otp: a new code for the verification, by its method or another one on offer. */
export const resendOtpBody = z.strictObject({
  verificationId: z.uuid({
    error: (issue) =>
      issue.input === undefined
        ? 'verificationId is required: send the verificationId that /api/request-otp returned'
        : 'verificationId must be the UUID returned by /api/request-otp',
  }),
  method,
  locale,
});
export type ResendOtpBody = z.infer<typeof resendOtpBody>;

/** The alphabets of OTP_CODE_TYPE ([0-9] rather than \d: the pattern is also the document's JSON Schema). */
const CODE_ALPHABETS: Readonly<Record<CodeType, { chars: string; what: string }>> = {
  Numeric: { chars: '0-9', what: 'digits' },
  Alpha: { chars: 'A-Za-z', what: 'letters' },
  Alphanumeric: { chars: 'A-Za-z0-9', what: 'letters or digits' },
};

/**
 * A code of OTP_CODE_TYPE's alphabet, 4 to 10 characters; also all digits when calls are on offer,
 * because a call reads a code of digits whatever the type.
 */
export function codeSchema(options: { codeType: CodeType; methods: readonly OtpMethod[] }) {
  const alphabets = [CODE_ALPHABETS[options.codeType]];
  if (options.methods.includes('callout') && options.codeType === 'Alpha') alphabets.push(CODE_ALPHABETS.Numeric);
  const pattern = new RegExp(`^(?:${alphabets.map(({ chars }) => `[${chars}]{4,10}`).join('|')})$`);
  return requiredString('code', 64).regex(
    pattern,
    `code must be 4 to 10 ${alphabets.map(({ what }) => what).join(', or 4 to 10 ')}`,
  );
}

const verificationId = z.uuid({
  error: (issue) =>
    issue.input === undefined
      ? 'verificationId is required: send the verificationId that /api/request-otp returned. ' +
        '(Verifying by phone number alone is off; the server enables it with VERIFY_BY_PHONE_NUMBER=true.)'
      : 'verificationId must be the UUID returned by /api/request-otp',
});

/** verify-otp: the code, for the verification whose id request-otp returned; `phoneNumber`, when given, must match it. */
export function verifyOtpBodyFor(codeType: Parameters<typeof codeSchema>[0]) {
  return z.strictObject({
    verificationId,
    code: codeSchema(codeType),
    phoneNumber: requiredString('phoneNumber', 32).optional(),
  });
}

/** verify-otp with VERIFY_BY_PHONE_NUMBER=true: the id may be left out, then the number's latest verification is checked. */
export function verifyOtpByPhoneBodyFor(codeType: Parameters<typeof codeSchema>[0]) {
  return z
    .strictObject({
      verificationId: verificationId.optional(),
      code: codeSchema(codeType),
      phoneNumber: requiredString('phoneNumber', 32).optional(),
    })
    .refine((body) => body.verificationId !== undefined || body.phoneNumber !== undefined, {
      path: ['phoneNumber'],
      message: 'phoneNumber is required when verificationId is not given',
    });
}

/** A verify-otp body as the controller receives it (the phone-only form's type covers both forms). */
export type VerifyOtpBody = z.infer<ReturnType<typeof verifyOtpByPhoneBodyFor>>;

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
    method: z.enum(OTP_METHODS).meta({
      description:
        'How this code goes out: `sms`, `callout` (a voice call reads it) or `whatsapp`; say so on the page.',
    }),
    locale: z.string().nullable().meta({
      description:
        'The language Sinch used for the message (BCP 47, e.g. `sv-SE`); `null` when it named none (its default).',
    }),
    codeType: z.enum(CODE_TYPES).meta({
      description:
        'The alphabet of this code: `Numeric` (use `inputmode="numeric"`), `Alpha` or `Alphanumeric`. Always `Numeric` for a call.',
    }),
    methods: z.array(z.enum(OTP_METHODS)).meta({
      description: 'The methods this server offers, e.g. for a "call me instead" button (POST /api/resend-otp).',
    }),
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
