import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { signingAlgorithm, type Config } from '../config';
import type { Logger } from '../config/logger';

/** A public key as the JWKS lists it: kid is its RFC 7638 thumbprint, alg the one algorithm it signs with. */
export interface PublicSigningKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  jwk: JWK & { kid: string; alg: string; use: 'sig' };
}

/** The key tokens are signed with now, and the older public keys still listed for rotation. */
export interface SigningKeys {
  current: PublicSigningKey & { privateKey: KeyObject };
  previous: PublicSigningKey[];
}

type TokenSettings = Config['verificationToken'];

/** Describes a public key for the JWKS; `what` names where it came from in the start-up error. */
async function describe(publicKey: KeyObject, what: string): Promise<PublicSigningKey> {
  const alg = signingAlgorithm(publicKey);
  if (!alg) throw new Error(`${what} must be an Ed25519 or P-256 key`);
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  const base: JWK = y === undefined ? { kty, crv, x } : { kty, crv, x, y };
  const kid = await calculateJwkThumbprint(base, 'sha256');
  return { kid, alg, jwk: { ...base, kid, alg, use: 'sig' } };
}

/**
 * Outside production with no key configured: the key generated on the first start, kept next to
 * the embedded database so tokens stay valid across restarts. Written with O_EXCL, so two
 * processes starting together keep whichever key was written first.
 */
async function developmentKey(file: string, logger: Logger): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await fs.mkdir(path.dirname(file), { recursive: true });
  try {
    await fs.writeFile(file, pem, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFile(file, 'utf8');
    throw error;
  }
  logger.warn(
    'verification tokens: generated a development signing key; set VERIFICATION_TOKEN_PRIVATE_KEY in production',
    {
      file,
    },
  );
  return pem;
}

async function privateKeyPem(settings: TokenSettings, logger: Logger): Promise<string> {
  if (settings.privateKeyPem !== undefined) return settings.privateKeyPem;
  if (settings.privateKeyFile !== undefined) {
    try {
      return await fs.readFile(settings.privateKeyFile, 'utf8');
    } catch (error) {
      throw new Error(
        `VERIFICATION_TOKEN_PRIVATE_KEY_FILE cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${settings.privateKeyFile}`,
      );
    }
  }
  return developmentKey(settings.generatedKeyFile, logger);
}

/**
 * The token signing keys, or undefined when VERIFICATION_TOKENS=off. Reads the configured key (inline
 * or from its file) or the development key, and fails start-up when it is not an Ed25519 or P-256
 * PKCS#8 private key.
 */
export async function loadSigningKeys(settings: TokenSettings, logger: Logger): Promise<SigningKeys | undefined> {
  if (!settings.enabled) return undefined;
  const source = settings.privateKeyFile ? 'VERIFICATION_TOKEN_PRIVATE_KEY_FILE' : 'VERIFICATION_TOKEN_PRIVATE_KEY';
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: await privateKeyPem(settings, logger), format: 'pem' });
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('VERIFICATION_TOKEN')) throw error;
    throw new Error(`${source} must hold a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)`);
  }
  const current = { ...(await describe(createPublicKey(privateKey), source)), privateKey };
  const previous: PublicSigningKey[] = [];
  for (const jwk of settings.previousPublicKeys) {
    const key = await describe(createPublicKey({ key: jwk, format: 'jwk' }), 'VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS');
    // Listing the current key again, or one key twice, would only repeat a kid in the JWKS.
    if (key.kid !== current.kid && !previous.some((p) => p.kid === key.kid)) previous.push(key);
  }
  return { current, previous };
}
