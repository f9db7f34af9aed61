import { OTP_METHODS, type Config, type OtpMethod } from '../config';
import { AppError } from '../utils/app-error';
import { preferredLocale } from '../utils/locale';

/** How a code goes out: the method, and the language asked of Sinch (undefined: Sinch's default). */
export interface Channel {
  method: OtpMethod;
  locale?: string;
}

/** What a request says about the channel: the body's fields and the Accept-Language header. */
export interface ChannelRequest {
  method?: string;
  /** Already a canonical BCP 47 tag (the body schema checked it). */
  locale?: string;
  acceptLanguage?: string;
}

/**
 * The method asked for, or the default; 422 METHOD_NOT_ENABLED with the methods on offer when it is
 * not one of OTP_METHODS (flashcall and unknown names included: nothing else can be sent).
 */
export function chooseMethod(requested: string | undefined, otp: Config['otp']): OtpMethod {
  if (requested === undefined) return otp.defaultMethod;
  const method = OTP_METHODS.find((m) => m === requested.toLowerCase());
  if (method && otp.methods.includes(method)) return method;
  throw new AppError('METHOD_NOT_ENABLED', {
    message: `Codes cannot be sent by "${requested.slice(0, 32)}" here. Use one of: ${otp.methods.join(', ')}.`,
    details: [{ field: 'method', reason: 'method_not_enabled', enabledMethods: [...otp.methods] }],
  });
}

/**
 * The language, in order: the body's `locale`, the Accept-Language header's most wanted language
 * (a header that names none is no preference, never an error), `fallback`, OTP_DEFAULT_LOCALE.
 */
export function chooseLocale(request: ChannelRequest, otp: Config['otp'], fallback?: string): string | undefined {
  return request.locale ?? preferredLocale(request.acceptLanguage) ?? fallback ?? otp.defaultLocale;
}

/** The code's alphabet for a send: a call reads digits whatever OTP_CODE_TYPE says. */
export function codeTypeOf(method: OtpMethod, otp: Config['otp']): Config['otp']['codeType'] {
  return method === 'callout' ? 'Numeric' : otp.codeType;
}
