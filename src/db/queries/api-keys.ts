import { Op } from 'sequelize';
import type { Models } from '../../models';

/** An API key row as the service sees it (never the key itself: only its hash is stored). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  keyHash: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface ApiKeyQueries {
  /** Inserts a key; a unique violation (name in use, prefix taken) surfaces as Sequelize's UniqueConstraintError. */
  insert(key: { name: string; prefix: string; keyHash: string; now: Date }): Promise<ApiKeyRecord>;
  /** The key in use with this prefix, if any (revoked keys are never found). */
  findActiveByPrefix(prefix: string): Promise<ApiKeyRecord | undefined>;
  /** Records a use, at most once per `minIntervalMs` per key, so authentication rarely writes. */
  touch(id: string, now: Date, minIntervalMs: number): Promise<void>;
  /** Every key, revoked ones too, oldest first. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes the key in use with this name; false when there is none. */
  revoke(name: string, now: Date): Promise<boolean>;
}

const COLUMNS = ['id', 'name', 'prefix', 'keyHash', 'createdAt', 'lastUsedAt', 'revokedAt'] as const;

/** The only writer of the ApiKeys table. */
export function apiKeyQueries({ ApiKey }: Pick<Models, 'ApiKey'>): ApiKeyQueries {
  const plain = (row: InstanceType<typeof ApiKey>): ApiKeyRecord => ({
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    keyHash: row.keyHash,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt ?? null,
    revokedAt: row.revokedAt ?? null,
  });

  return {
    async insert({ name, prefix, keyHash, now }) {
      // silent: the timestamps are the service clock's, not Sequelize's own new Date().
      return plain(await ApiKey.create({ name, prefix, keyHash, createdAt: now, updatedAt: now }, { silent: true }));
    },

    async findActiveByPrefix(prefix) {
      const row = await ApiKey.findOne({ where: { prefix, revokedAt: null }, attributes: [...COLUMNS] });
      return row ? plain(row) : undefined;
    },

    async touch(id, now, minIntervalMs) {
      await ApiKey.update(
        { lastUsedAt: now },
        {
          where: {
            id,
            [Op.or]: [{ lastUsedAt: null }, { lastUsedAt: { [Op.lt]: new Date(now.getTime() - minIntervalMs) } }],
          },
          silent: true,
        },
      );
    },

    async list() {
      const rows = await ApiKey.findAll({ attributes: [...COLUMNS], order: [['createdAt', 'ASC']] });
      return rows.map(plain);
    },

    async revoke(name, now) {
      const [count] = await ApiKey.update(
        { revokedAt: now, updatedAt: now },
        { where: { name, revokedAt: null }, silent: true },
      );
      return count > 0;
    },
  };
}
