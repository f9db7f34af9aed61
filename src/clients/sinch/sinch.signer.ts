import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The parts of an HTTP request that Sinch's application signature covers. */
export interface SignableRequest {
  method: string;
  /** URL path only: no scheme, host or query string. */
  path: string;
  /** The Content-Type header exactly as sent; empty when none is sent. */
  contentType: string;
  /** The x-timestamp header exactly as sent. */
  timestamp: string;
  /** The raw body bytes; empty for requests without a body. */
  body: string | Buffer;
}

/** Base64 of the MD5 of the body, or '' when there is no body (Sinch's rule for GET). */
export function contentMd5(body: string | Buffer): string {
  if (body.length === 0) return '';
  return createHash('md5').update(body).digest('base64');
}

/** The exact string Sinch signs: verb, Content-MD5, Content-Type, x-timestamp and path. */
export function stringToSign(req: SignableRequest): string {
  return [
    req.method.toUpperCase(),
    contentMd5(req.body),
    req.contentType,
    `x-timestamp:${req.timestamp}`,
    req.path,
  ].join('\n');
}

/**
 * Signs a request with Sinch's "Application signed request" scheme.
 * The secret is base64 as Sinch issues it; the HMAC key is its decoded bytes.
 */
export function signRequest(req: SignableRequest, applicationSecret: string): string {
  const key = Buffer.from(applicationSecret, 'base64');
  return createHmac('sha256', key).update(stringToSign(req), 'utf8').digest('base64');
}

/** The full Authorization header value: `Application {key}:{signature}`. */
export function applicationAuthorization(
  req: SignableRequest,
  applicationKey: string,
  applicationSecret: string,
): string {
  return `Application ${applicationKey}:${signRequest(req, applicationSecret)}`;
}

export type SignatureCheck =
  | { ok: true; applicationKey: string }
  | {
      ok: false;
      reason:
        | 'missing_header'
        | 'malformed_header'
        | 'missing_timestamp'
        | 'unknown_key'
        | 'bad_signature'
        | 'stale_timestamp';
    };

/**
 * Verifies an `Application {key}:{signature}` header against the raw request.
 * `maxSkewSeconds` bounds how far x-timestamp may be from `nowMs` (replay protection).
 */
export function verifyApplicationSignature(
  authorization: string | undefined,
  req: SignableRequest,
  credentials: { applicationKey: string; applicationSecret: string },
  options: { nowMs: number; maxSkewSeconds: number },
): SignatureCheck {
  if (!authorization) return { ok: false, reason: 'missing_header' };
  const match = /^application\s+([^:\s]+):(\S+)$/i.exec(authorization.trim());
  if (!match) return { ok: false, reason: 'malformed_header' };
  const [, key = '', signature = ''] = match;
  if (!req.timestamp) return { ok: false, reason: 'missing_timestamp' };
  if (!safeEqual(key, credentials.applicationKey)) return { ok: false, reason: 'unknown_key' };
  const expected = signRequest(req, credentials.applicationSecret);
  if (!safeEqual(signature, expected)) return { ok: false, reason: 'bad_signature' };
  const sentAt = Date.parse(req.timestamp);
  if (Number.isNaN(sentAt) || Math.abs(options.nowMs - sentAt) > options.maxSkewSeconds * 1000) {
    return { ok: false, reason: 'stale_timestamp' };
  }
  return { ok: true, applicationKey: key };
}

/** Constant-time string comparison that does not leak length through an exception. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
