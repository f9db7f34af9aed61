import type { IncomingHttpHeaders } from 'node:http';
import { safeEqual, verifyApplicationSignature } from '../clients/sinch/sinch.signer';
import { SinchApiError } from './errors';

export interface AuthInput {
  method: string;
  /** The request path exactly as received (no query string). */
  rawPath: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface AuthSettings {
  applicationKey: string;
  applicationSecret: string;
  timestampSkewSeconds: number;
  /** Whether the public scheme (`Application {key}` without signature) may be used. */
  publicAllowed: boolean;
  /** Wall clock for timestamp freshness; clients sign with real time, not the emulator's clock. */
  wallClock: () => number;
}

/** First value of a header that may have been sent more than once. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks the Authorization header the way Sinch documents it (reference doc §7) and throws a
 * 401 SinchApiError otherwise. Accepts Basic, Application-signed and, when allowed, public.
 */
export function authenticate(input: AuthInput, settings: AuthSettings): void {
  const authorization = headerValue(input.headers, 'authorization')?.trim();
  if (!authorization) throw new SinchApiError(401, 40100, 'Authorization header is missing.');
  const match = /^(\S+)\s+(\S+)$/.exec(authorization);
  if (!match) throw new SinchApiError(401, 40100);
  const [, scheme = '', credentials = ''] = match;
  switch (scheme.toLowerCase()) {
    case 'basic':
      return checkBasic(credentials, settings);
    case 'application':
      if (!credentials.includes(':')) return checkPublic(credentials, settings);
      return checkSigned(authorization, input, settings);
    default:
      throw new SinchApiError(401, 40100);
  }
}

function checkBasic(credentials: string, settings: AuthSettings): void {
  // The secret is compared as the dashboard shows it (still base64), like Sinch's Basic scheme.
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new SinchApiError(401, 40100);
  const keyOk = safeEqual(decoded.slice(0, colon), settings.applicationKey);
  const secretOk = safeEqual(decoded.slice(colon + 1), settings.applicationSecret);
  if (!keyOk || !secretOk) throw new SinchApiError(401, 40102, 'Invalid credentials.');
}

function checkPublic(key: string, settings: AuthSettings): void {
  if (!safeEqual(key, settings.applicationKey)) throw new SinchApiError(401, 40102, 'Invalid credentials.');
  if (!settings.publicAllowed) throw new SinchApiError(403, 40303);
}

function checkSigned(authorization: string, input: AuthInput, settings: AuthSettings): void {
  const signable = {
    method: input.method,
    path: input.rawPath,
    contentType: headerValue(input.headers, 'content-type') ?? '',
    timestamp: headerValue(input.headers, 'x-timestamp') ?? '',
    body: input.rawBody,
  };
  const credentials = { applicationKey: settings.applicationKey, applicationSecret: settings.applicationSecret };
  const clock = { nowMs: settings.wallClock(), maxSkewSeconds: settings.timestampSkewSeconds };
  let check = verifyApplicationSignature(authorization, signable, credentials, clock);
  // Java clients sign the decoded path, the Node SDK its unencoded template: accept either form.
  const decodedPath = safeDecode(input.rawPath);
  if (!check.ok && check.reason === 'bad_signature' && decodedPath !== undefined && decodedPath !== input.rawPath) {
    check = verifyApplicationSignature(authorization, { ...signable, path: decodedPath }, credentials, clock);
  }
  if (check.ok) return;
  switch (check.reason) {
    case 'missing_header':
    case 'malformed_header':
      throw new SinchApiError(401, 40100);
    case 'missing_timestamp':
      throw new SinchApiError(401, 40101);
    case 'stale_timestamp':
      throw new SinchApiError(401, 40102, 'Invalid signature. x-timestamp is outside the allowed clock skew.');
    case 'unknown_key':
    case 'bad_signature':
      throw new SinchApiError(401, 40102);
  }
}

/** decodeURIComponent that answers undefined instead of throwing on a malformed escape. */
export function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
