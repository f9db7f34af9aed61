import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, calculateJwkThumbprint, SignJWT } from 'jose';
import { loadConfig, secretValues, type RawEnv } from '../../src/config';
import { problemsOf } from '../helpers/config';
import { createLogger } from '../../src/config/logger';
import { loadSigningKeys, type SigningKeys } from '../../src/services/signing-keys';
import {
  createVerificationTokenService,
  type VerificationTokenService,
} from '../../src/services/verification-token.service';
import { AppError } from '../../src/utils/app-error';
import { FakeClock } from '../helpers/clock';
import { LogCapture } from '../helpers/log-capture';

const ed25519 = () => generateKeyPairSync('ed25519');
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const privatePem = (pair: ReturnType<typeof ed25519>) =>
  pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const publicPem = (pair: ReturnType<typeof ed25519>) =>
  pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();

const VERIFIED = {
  verificationId: '5f0c2d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f',
  phoneNumber: '+46701234567',
  purpose: 'signup',
  method: 'sms' as const,
};

async function keysFrom(env: RawEnv, logs = new LogCapture()): Promise<SigningKeys> {
  const keys = await loadSigningKeys(
    loadConfig(env).verificationToken,
    createLogger({ level: 'info', format: 'json', stream: logs }),
  );
  if (!keys) throw new Error('tokens are off');
  return keys;
}

async function tokensFrom(env: RawEnv, clock = new FakeClock()): Promise<VerificationTokenService> {
  const config = loadConfig(env);
  return createVerificationTokenService({
    keys: await keysFrom(env),
    issuer: config.verificationToken.issuer,
    audience: config.verificationToken.audience,
    ttlSeconds: config.verificationToken.ttlSeconds,
    clock,
  });
}

/** The service's refusal of a token, as the code and reason a backend would see. */
async function refusalOf(tokens: VerificationTokenService, token: string) {
  const error = await tokens.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return { code: (error as AppError).code, reason: ((error as AppError).details?.[0] as { reason: string }).reason };
}

describe('verification token settings', () => {
  test('When nothing is set, then tokens are on with the documented defaults', () => {
    expect(loadConfig({}).verificationToken).toMatchObject({
      enabled: true,
      issuer: 'otp-verification-service',
      audience: undefined,
      ttlSeconds: 600,
      privateKeyPem: undefined,
      previousPublicKeys: [],
      generatedKeyFile: path.resolve('./data', 'verification-token-key.pem'),
    });
    expect(loadConfig({}).otp.purposes).toEqual(['signup', 'login', 'password_reset', 'phone_change', 'transaction']);
  });

  test('When NODE_ENV=production has no key but VERIFICATION_TOKENS=off, then it loads with tokens off', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/otp',
      SINCH_APPLICATION_KEY: 'k',
      SINCH_APPLICATION_SECRET: 'c2VjcmV0',
      VERIFICATION_TOKENS: 'off',
    });

    expect(config.verificationToken.enabled).toBe(false);
  });

  test.each([
    ['3600', 3600],
    ['60', 60],
  ])('When VERIFICATION_TOKEN_TTL_SECONDS=%s, then tokens live %i s', (value, seconds) => {
    expect(loadConfig({ VERIFICATION_TOKEN_TTL_SECONDS: value }).verificationToken.ttlSeconds).toBe(seconds);
  });

  test.each([
    ['VERIFICATION_TOKEN_TTL_SECONDS', '3601', /between 10 and 3600/],
    ['VERIFICATION_TOKENS', 'maybe', /on or off/],
    ['VERIFICATION_TOKEN_PRIVATE_KEY', 'not a pem', /PKCS#8 PEM/],
    [
      'VERIFICATION_TOKEN_PRIVATE_KEY',
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
      /Ed25519 or P-256/,
    ],
    ['VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS', privatePem(ed25519()), /never a private key/],
    ['VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS', '{"keys": [{"kty": "OKP"}]}', /cannot be read/],
    ['OTP_PURPOSES', 'signup,Password Reset', /purpose "password reset"/],
  ])('When %s is %j, then start-up refuses it', (key, value, problem) => {
    expect(problemsOf({ [key]: value })).toEqual([expect.stringMatching(new RegExp(`^${key}: .*${problem.source}`))]);
  });

  test('When both the inline key and the key file are set, then that is refused', () => {
    expect(
      problemsOf({
        VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(ed25519()),
        VERIFICATION_TOKEN_PRIVATE_KEY_FILE: '/k.pem',
      }),
    ).toEqual([expect.stringContaining('not both')]);
  });

  test('When the PEM comes with literal \\n instead of newlines (as many secret stores pass it), then it is read', () => {
    const pem = privatePem(ed25519());

    const config = loadConfig({ VERIFICATION_TOKEN_PRIVATE_KEY: pem.trim().replace(/\n/g, '\\n') });

    expect(config.verificationToken.privateKeyPem).toBe(pem.trim());
  });

  test('When the private key PEM is configured, then it is one of the secrets the logger scrubs', () => {
    const pem = privatePem(ed25519());

    expect(secretValues(loadConfig({ VERIFICATION_TOKEN_PRIVATE_KEY: pem }))).toContain(pem.trim());
  });
});

describe('signing keys', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-token-keys-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  test('When an Ed25519 key is configured, then tokens are EdDSA and kid is the RFC 7638 thumbprint of the public key', async () => {
    const pair = ed25519();

    const keys = await keysFrom({ VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(pair) });

    const jwk = pair.publicKey.export({ format: 'jwk' });
    expect(keys.current).toMatchObject({
      alg: 'EdDSA',
      kid: await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'sha256'),
      jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, alg: 'EdDSA', use: 'sig' },
    });
    expect(keys.current.jwk).not.toHaveProperty('d');
  });

  test('When a P-256 key is given as a file, then tokens are ES256', async () => {
    const file = path.join(tempDir(), 'key.pem');
    fs.writeFileSync(file, privatePem(p256()));

    const keys = await keysFrom({ VERIFICATION_TOKEN_PRIVATE_KEY_FILE: file });

    expect(keys.current).toMatchObject({ alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', alg: 'ES256' } });
    expect(keys.current.jwk).not.toHaveProperty('d');
  });

  test('When the key file is missing, then start-up fails naming the setting and the path', async () => {
    await expect(keysFrom({ VERIFICATION_TOKEN_PRIVATE_KEY_FILE: '/nonexistent/key.pem' })).rejects.toThrow(
      'VERIFICATION_TOKEN_PRIVATE_KEY_FILE cannot be read (ENOENT): /nonexistent/key.pem',
    );
  });

  test('When the key file holds no private key, then start-up fails saying what it must hold', async () => {
    const file = path.join(tempDir(), 'public.pem');
    fs.writeFileSync(file, publicPem(ed25519()));

    await expect(keysFrom({ VERIFICATION_TOKEN_PRIVATE_KEY_FILE: file })).rejects.toThrow(
      'VERIFICATION_TOKEN_PRIVATE_KEY_FILE must hold a PKCS#8 PEM private key',
    );
  });

  test('When no key is configured outside production, then one is generated into DATA_DIR once and reused after a restart', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const logs = new LogCapture();

    const first = await keysFrom({ DATA_DIR: dataDir }, logs);
    const second = await keysFrom({ DATA_DIR: dataDir });

    const file = path.join(dataDir, 'verification-token-key.pem');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(second.current.kid).toBe(first.current.kid);
    expect(first.current.alg).toBe('EdDSA');
    expect(logs.entries()).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('generated a development signing key'),
      }),
    ]);
  });

  test('When two processes start together with no key, then both end up with the same key', async () => {
    const dataDir = path.join(tempDir(), 'data');

    const [a, b, c] = await Promise.all([1, 2, 3].map(() => keysFrom({ DATA_DIR: dataDir })));

    expect(new Set([a?.current.kid, b?.current.kid, c?.current.kid]).size).toBe(1);
  });

  test('When VERIFICATION_TOKENS=off, then no key is loaded or generated', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const config = loadConfig({ VERIFICATION_TOKENS: 'off', DATA_DIR: dataDir });

    expect(
      await loadSigningKeys(config.verificationToken, createLogger({ level: 'error', format: 'json', silent: true })),
    ).toBeUndefined();
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  test('When previous public keys are given as PEM or as a JWK Set, then each is listed after the current key, once', async () => {
    const current = ed25519();
    const older = ed25519();
    const oldest = p256();
    const oldestJwk = { ...oldest.publicKey.export({ format: 'jwk' }), kid: 'whatever', alg: 'ES256' };

    const fromPem = await keysFrom({
      VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(current),
      VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS: `${publicPem(older)}${publicPem(older)}${publicPem(current)}`,
    });
    const fromJwks = await keysFrom({
      VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(current),
      VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS: JSON.stringify({ keys: [oldestJwk] }),
    });

    expect(fromPem.previous).toHaveLength(1);
    expect(fromPem.previous[0]).toMatchObject({
      alg: 'EdDSA',
      jwk: { x: older.publicKey.export({ format: 'jwk' }).x },
    });
    expect(fromJwks.previous).toEqual([
      expect.objectContaining({
        alg: 'ES256',
        kid: await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: oldestJwk.x, y: oldestJwk.y }),
      }),
    ]);
  });
});

describe('verification tokens', () => {
  const current = ed25519();
  const previous = ed25519();
  const env = {
    VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(current),
    VERIFICATION_TOKEN_AUDIENCE: 'https://api.example.com',
  };

  test('When a token is issued, then any JOSE library verifies it against the JWKS and reads every documented claim', async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const tokens = await tokensFrom(env, clock);

    const token = await tokens.issue(VERIFIED);

    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(tokens.jwks()), {
      issuer: 'otp-verification-service',
      audience: 'https://api.example.com',
      currentDate: new Date(clock.now()),
    });
    const iat = Date.UTC(2030, 0, 1) / 1000;
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: tokens.jwks().keys[0]?.kid, typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'otp-verification-service',
      aud: 'https://api.example.com',
      sub: '+46701234567',
      phone_number: '+46701234567',
      phone_number_verified: true,
      iat,
      exp: iat + 600,
      jti: VERIFIED.verificationId,
      purpose: 'signup',
      method: 'sms',
    });
    expect(await tokens.verify(token)).toEqual(payload);
  });

  test('When the key is P-256, then the token is ES256 and any JOSE library verifies it against the JWKS', async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const tokens = await tokensFrom({ VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(p256()) }, clock);

    const token = await tokens.issue(VERIFIED);

    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(tokens.jwks()), {
      issuer: 'otp-verification-service',
      algorithms: ['ES256'],
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: tokens.jwks().keys[0]?.kid, typ: 'JWT' });
    expect(payload).toMatchObject({ sub: '+46701234567', jti: VERIFIED.verificationId, purpose: 'signup' });
    // JWS carries the P-256 signature as r || s: 64 bytes, not DER.
    expect(Buffer.from(token.split('.')[2] ?? '', 'base64url')).toHaveLength(64);
    expect(await tokens.verify(token)).toEqual(payload);
  });

  test('When no audience is configured and the verification has no purpose, then the token has neither claim', async () => {
    const tokens = await tokensFrom({ VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(current) });

    const claims = await tokens.verify(await tokens.issue({ ...VERIFIED, purpose: null }));

    expect(claims).not.toHaveProperty('aud');
    expect(claims).not.toHaveProperty('purpose');
  });

  test('When a claim of the token is changed, then the signature no longer matches and it is refused', async () => {
    const tokens = await tokensFrom(env);
    const [header, payload, signature] = (await tokens.issue(VERIFIED)).split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, purpose: 'password_reset' })).toString('base64url');

    expect(await refusalOf(tokens, `${header}.${forged}.${signature}`)).toEqual({
      code: 'INVALID_TOKEN',
      reason: 'signature',
    });
  });

  test('When the token is past its exp, then it is refused as expired', async () => {
    const clock = new FakeClock();
    const tokens = await tokensFrom(env, clock);
    const token = await tokens.issue(VERIFIED);

    clock.advance(600_000 - 1000);
    await expect(tokens.verify(token)).resolves.toMatchObject({ jti: VERIFIED.verificationId });
    clock.advance(1000);
    expect(await refusalOf(tokens, token)).toEqual({ code: 'INVALID_TOKEN', reason: 'expired' });
  });

  test('When a token is signed by another key, even with our kid, iss and claims, then it is refused', async () => {
    const tokens = await tokensFrom(env);
    const genuine = await tokens.issue(VERIFIED);
    const claims = await tokens.verify(genuine);
    const stranger = ed25519();

    const forged = await new SignJWT({ ...claims })
      .setProtectedHeader({ ...decodeProtectedHeader(genuine), alg: 'EdDSA' })
      .sign(stranger.privateKey);

    expect(await refusalOf(tokens, forged)).toEqual({ code: 'INVALID_TOKEN', reason: 'signature' });
  });

  test.each([
    ['another issuer', { VERIFICATION_TOKEN_ISSUER: 'someone-else' }, 'claim_iss'],
    ['another audience', { VERIFICATION_TOKEN_AUDIENCE: 'https://other.example.com' }, 'claim_aud'],
  ])('When a token made by our key for %s is presented, then it is refused', async (_what, other, reason) => {
    const issuer = await tokensFrom({ ...env, ...other });
    const tokens = await tokensFrom(env);

    expect(await refusalOf(tokens, await issuer.issue(VERIFIED))).toEqual({ code: 'INVALID_TOKEN', reason });
  });

  test.each(['', 'not-a-jwt', 'a.b.c', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'])(
    'When the token is %j, then it is refused as malformed',
    async (token) => {
      const tokens = await tokensFrom(env);

      expect(await refusalOf(tokens, token)).toEqual({ code: 'INVALID_TOKEN', reason: 'malformed' });
    },
  );

  test('When the key is rotated, then tokens signed with the previous key verify while it is listed, and not after', async () => {
    const old = await tokensFrom({ ...env, VERIFICATION_TOKEN_PRIVATE_KEY: privatePem(previous) });
    const oldToken = await old.issue(VERIFIED);

    const rotated = await tokensFrom({ ...env, VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS: publicPem(previous) });
    const afterRotation = await tokensFrom(env);

    expect(rotated.jwks().keys.map((k) => k.kid)).toEqual([afterRotation.jwks().keys[0]?.kid, old.jwks().keys[0]?.kid]);
    await expect(rotated.verify(oldToken)).resolves.toMatchObject({ jti: VERIFIED.verificationId });
    expect(decodeProtectedHeader(await rotated.issue(VERIFIED)).kid).toBe(afterRotation.jwks().keys[0]?.kid);
    expect(await refusalOf(afterRotation, oldToken)).toEqual({ code: 'INVALID_TOKEN', reason: 'signature' });
  });
});
