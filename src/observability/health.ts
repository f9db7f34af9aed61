import type { Sequelize } from 'sequelize';
import type { RedisConnection } from '../clients/redis/redis.client';
import type { SinchClient } from '../clients/sinch/sinch.client';

export type CheckState = 'UP' | 'DOWN' | 'DEGRADED';

/** One dependency's health. Only `critical` checks turn /health into 503 DOWN. */
export interface HealthCheck {
  name: string;
  critical: boolean;
  check(): Promise<{ state: CheckState; detail?: Record<string, unknown> }>;
}

const DB_CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The database must answer `SELECT 1` within a short timeout; without it nothing works. */
export function databaseCheck(sequelize: Sequelize): HealthCheck {
  return {
    name: 'database',
    critical: true,
    async check() {
      try {
        await withTimeout(sequelize.query('SELECT 1'), DB_CHECK_TIMEOUT_MS);
        return { state: 'UP' };
      } catch {
        return { state: 'DOWN' };
      }
    },
  };
}

/**
 * The Sinch circuit breaker's state. Not critical: taking every instance out of rotation because
 * Sinch is down would also stop verifications of codes already sent.
 */
export function sinchCheck(sinch: Pick<SinchClient, 'circuit'>): HealthCheck {
  return {
    name: 'sinch',
    critical: false,
    check() {
      const circuit = sinch.circuit();
      if (circuit.state === 'closed') return Promise.resolve({ state: 'UP' as const });
      return Promise.resolve({
        state: circuit.state === 'open' ? ('DOWN' as const) : ('DEGRADED' as const),
        detail: {
          circuit: circuit.state,
          ...(circuit.retryAt ? { retryAt: new Date(circuit.retryAt).toISOString() } : {}),
        },
      });
    },
  };
}

const REDIS_CHECK_TIMEOUT_MS = 500;

/**
 * Redis shares the per-IP limits; while it is away they are counted per instance (see README).
 * A PING, not just the connection state: a Redis that is connected but hangs fails every limiter
 * command too, and the limits fall back to memory just the same.
 */
export function redisCheck(redis: Pick<RedisConnection, 'isReady' | 'send'>): HealthCheck {
  const down = { state: 'DOWN' as const, detail: { fallback: "per-IP limits counted in this instance's memory" } };
  return {
    name: 'redis',
    critical: false,
    async check() {
      if (!redis.isReady()) return down;
      try {
        await redis.send(['PING'], REDIS_CHECK_TIMEOUT_MS);
        return { state: 'UP' };
      } catch {
        return down;
      }
    },
  };
}
