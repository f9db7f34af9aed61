import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { UniqueConstraintError } from 'sequelize';
import type { ApiKeyQueries, ApiKeyRecord } from '../db/queries/api-keys';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';

/** `otp_` then 32 random bytes in base64url (43 characters): 256 bits, for grep-ability and secret scanners. */
const KEY_SHAPE = /^otp_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 12;
const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** lastUsedAt is a hint for operators ("is this key still used?"), not an audit log: once a minute is plenty. */
const TOUCH_INTERVAL_MS = 60_000;

/** Who called: what the per-key limit and the logs know of an authenticated key. */
export interface ApiKeyIdentity {
  id: string;
  name: string;
}

/** A key as `api-key list` shows it: never the key, never its hash. */
export type ApiKeyListing = Omit<ApiKeyRecord, 'keyHash' | 'id'>;

export interface ApiKeyService {
  /** Makes a key; the returned `key` exists nowhere else, so it is shown once and never again. */
  create(name: string): Promise<{ key: string; listing: ApiKeyListing }>;
  list(): Promise<ApiKeyListing[]>;
  /** Revokes the key in use with this name; false when there is none. */
  revoke(name: string): Promise<boolean>;
  /** The key's identity, or undefined for a malformed, unknown or revoked key (callers cannot tell which). */
  authenticate(presented: string): Promise<ApiKeyIdentity | undefined>;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compared against when no row matches, so an unknown prefix costs the same work as a wrong key. */
const NO_KEY_HASH = sha256('otp_no-such-key');

const listing = ({ name, prefix, createdAt, lastUsedAt, revokedAt }: ApiKeyRecord): ApiKeyListing => ({
  name,
  prefix,
  createdAt,
  lastUsedAt,
  revokedAt,
});

export function createApiKeyService(queries: ApiKeyQueries, clock: Clock): ApiKeyService {
  async function create(name: string): Promise<{ key: string; listing: ApiKeyListing }> {
    if (!NAME_SHAPE.test(name))
      throw new AppError('VALIDATION_ERROR', {
        message: 'An API key name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.',
        details: [{ field: 'name', message: 'invalid name' }],
      });
    const key = `otp_${randomBytes(32).toString('base64url')}`;
    try {
      const record = await queries.insert({
        name,
        prefix: key.slice(0, PREFIX_LENGTH),
        keyHash: sha256(key).toString('hex'),
        now: new Date(clock.now()),
      });
      return { key, listing: listing(record) };
    } catch (error) {
      // A prefix collision (48 random bits) is not worth a retry loop; a name in use is the real case.
      if (error instanceof UniqueConstraintError)
        throw new AppError('VALIDATION_ERROR', {
          message: `An API key named "${name}" is already in use; revoke it first or choose another name.`,
          details: [{ field: 'name', message: 'already in use' }],
        });
      throw error;
    }
  }

  async function authenticate(presented: string): Promise<ApiKeyIdentity | undefined> {
    const wellFormed = KEY_SHAPE.test(presented);
    const record = wellFormed ? await queries.findActiveByPrefix(presented.slice(0, PREFIX_LENGTH)) : undefined;
    const matches = timingSafeEqual(sha256(presented), record ? Buffer.from(record.keyHash, 'hex') : NO_KEY_HASH);
    if (!record || !matches) return undefined;
    await queries.touch(record.id, new Date(clock.now()), TOUCH_INTERVAL_MS);
    return { id: record.id, name: record.name };
  }

  return {
    create,
    list: async () => (await queries.list()).map(listing),
    revoke: (name) => queries.revoke(name, new Date(clock.now())),
    authenticate,
  };
}
