import type { OtpMethod } from '../../config';
import type { StartRequest } from './sinch.types';

/** Sinch's own path prefix; it is part of the signed path whatever the base URL is. */
export const API_PREFIX = '/verification/v1';

/** `HH:MM:SS`, the format Sinch takes for smsOptions.expiry. */
export function formatExpiry(seconds: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
}

/**
 * The start body and headers of each method (reference §2.1). The language travels in the
 * Accept-Language header for SMS and WhatsApp and in calloutOptions.speech.locale for a call.
 */
export function startRequest(request: StartRequest): {
  body: Record<string, unknown>;
  headers: Record<string, string>;
} {
  const { phoneNumber, method, reference, expirySeconds, locale, codeType } = request;
  const body: Record<string, unknown> = { identity: { type: 'number', endpoint: phoneNumber }, method, reference };
  const headers: Record<string, string> = {};
  switch (method) {
    case 'sms':
      body.smsOptions = { expiry: formatExpiry(expirySeconds), codeType };
      if (locale !== undefined) headers['Accept-Language'] = locale;
      break;
    case 'whatsapp':
      body.whatsappOptions = { codeType };
      if (locale !== undefined) headers['Accept-Language'] = locale;
      break;
    case 'callout':
      if (locale !== undefined) body.calloutOptions = { speech: { locale } };
      break;
  }
  return { body, headers };
}

/** The report path and body: always by Sinch's id, never by number. */
export function reportRequest(sinchId: string, method: OtpMethod, code: string): { path: string; body: unknown } {
  return {
    path: `/verifications/id/${encodeURIComponent(sinchId)}`,
    // Sinch's report body names the method twice: {"method":"callout","callout":{"code":"1234"}}.
    body: { method, [method]: { code } },
  };
}
