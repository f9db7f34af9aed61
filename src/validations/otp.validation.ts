import { z } from 'zod';
import { OTP_METHODS, type CodeType, type OtpMethod } from '../config';
import { localeSchema } from '../utils/locale';

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

const CODE_SHAPES: Readonly<Record<CodeType, { pattern: RegExp; what: string }>> = {
  Numeric: { pattern: /^\d{4,10}$/, what: 'digits' },
  Alpha: { pattern: /^[A-Za-z]{4,10}$/, what: 'letters' },
  Alphanumeric: { pattern: /^[A-Za-z0-9]{4,10}$/, what: 'letters or digits' },
};

/**
 * A code of OTP_CODE_TYPE's alphabet, 4 to 10 characters; also digits when calls are on offer,
 * because a call reads a code of digits whatever the type.
 */
export function codeSchema(options: { codeType: CodeType; methods: readonly OtpMethod[] }) {
  const shapes = [CODE_SHAPES[options.codeType]];
  if (options.methods.includes('callout') && options.codeType === 'Alpha') shapes.push(CODE_SHAPES.Numeric);
  const what = shapes.map((shape) => shape.what).join(', or ');
  return requiredString('code', 64).refine((value) => shapes.some((shape) => shape.pattern.test(value)), {
    message: `code must be 4 to 10 ${what}`,
  });
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

/** The verify-otp bodies with any code type's code; the route validates with the configured type's (…For). */
export const verifyOtpBody = verifyOtpBodyFor({ codeType: 'Alphanumeric', methods: [] });
export const verifyOtpByPhoneBody = verifyOtpByPhoneBodyFor({ codeType: 'Alphanumeric', methods: [] });
export type VerifyOtpBody = z.infer<typeof verifyOtpByPhoneBody>;

/** Idempotency-Key: what clients commonly send (UUIDs, ULIDs, random tokens): printable ASCII, 1-255 chars. */
export const idempotencyKeyHeader = z
  .string()
  .regex(/^[\x21-\x7E]{1,255}$/, 'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces');
