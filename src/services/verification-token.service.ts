import { sign } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';
import type { SigningKeys } from './signing-keys';

/** The claims of a verification token: OpenID Connect's phone claims plus what was verified and why. */
export interface VerificationTokenClaims {
  iss: string;
  aud?: string;
  /** The E.164 number, as sub and as OpenID Connect's phone_number. */
  sub: string;
  phone_number: string;
  phone_number_verified: true;
  iat: number;
  exp: number;
  /** The verificationId: one token per verification, so it also identifies the token. */
  jti: string;
  purpose?: string;
  /** How the code reached the person: sms (or another of OTP_METHODS). */
  method: string;
}

export interface VerifiedPhone {
  verificationId: string;
  phoneNumber: string;
  purpose: string | null;
  method: string;
}

export interface VerificationTokenService {
  /** Signs the token a successful verify-otp returns. */
  issue(verified: VerifiedPhone): Promise<string>;
  /** The public keys as a JWK Set: the current key first, then the previous ones still valid. */
  jwks(): JSONWebKeySet;
  /** Checks signature, algorithm, exp, iss and aud (when configured); INVALID_TOKEN otherwise. */
  verify(token: string): Promise<VerificationTokenClaims>;
}

export interface VerificationTokenOptions {
  keys: SigningKeys;
  issuer: string;
  audience?: string;
  ttlSeconds: number;
  clock: Clock;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Why a token was refused, for details[0].reason: a small fixed set, never the token itself. */
function refusal(error: unknown): AppError {
  const code = (error as { code?: unknown }).code;
  const claim = (error as { claim?: unknown }).claim;
  const reason =
    code === 'ERR_JWT_EXPIRED'
      ? 'expired'
      : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
        ? `claim_${typeof claim === 'string' ? claim : 'invalid'}`
        : code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
          ? 'signature'
          : 'malformed';
  return new AppError('INVALID_TOKEN', { details: [{ field: 'token', reason }] });
}

/**
 * A compact JWS (RFC 7515): base64url(header).base64url(claims).base64url(signature), signed with
 * node:crypto. jose checks every token handed back to this service (verify, below), and the tests
 * check the issued tokens with jose; signing goes around it because jose signs through WebCrypto,
 * whose thread-pool job cost about four times node's synchronous sign: 0.2 ms of CPU on every
 * successful verify-otp (docs/performance.md).
 */
function signCompact(encodedHeader: string, claims: VerificationTokenClaims, key: SigningKeys['current']): string {
  const input = `${encodedHeader}.${base64urlJson(claims)}`;
  // ES256 signatures are r || s (JWS), not the DER that node:crypto writes by default.
  const signature =
    key.alg === 'EdDSA'
      ? sign(null, Buffer.from(input), key.privateKey)
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function createVerificationTokenService(options: VerificationTokenOptions): VerificationTokenService {
  const { keys, issuer, audience, ttlSeconds, clock } = options;
  const set: JSONWebKeySet = { keys: [keys.current.jwk, ...keys.previous.map((k) => k.jwk)] };
  const localKeys = createLocalJWKSet(set);
  // The same for every token this key signs.
  const header = base64urlJson({ alg: keys.current.alg, kid: keys.current.kid, typ: 'JWT' });

  return {
    issue(verified) {
      const iat = Math.floor(clock.now() / 1000);
      const claims: VerificationTokenClaims = {
        phone_number: verified.phoneNumber,
        phone_number_verified: true,
        ...(verified.purpose ? { purpose: verified.purpose } : {}),
        method: verified.method,
        iss: issuer,
        sub: verified.phoneNumber,
        ...(audience !== undefined ? { aud: audience } : {}),
        iat,
        exp: iat + ttlSeconds,
        jti: verified.verificationId,
      };
      return Promise.resolve(signCompact(header, claims, keys.current));
    },

    jwks: () => set,

    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, localKeys, {
          issuer,
          audience,
          algorithms: ['EdDSA', 'ES256'],
          currentDate: new Date(clock.now()),
          requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        }));
      } catch (error) {
        throw refusal(error);
      }
      // Signed by our key, so these hold for every token we issued; checked all the same, so a
      // future change to issue() cannot hand a backend claims of the wrong shape.
      if (
        payload.phone_number_verified !== true ||
        payload.phone_number !== payload.sub ||
        typeof payload.method !== 'string' ||
        !UUID.test(String(payload.jti))
      )
        throw new AppError('INVALID_TOKEN', { details: [{ field: 'token', reason: 'claims' }] });
      return payload as unknown as VerificationTokenClaims;
    },
  };
}
