import type { Request, Response } from 'express';
import type { Sequelize } from 'sequelize';

export type CheckState = 'UP' | 'DOWN' | 'DEGRADED';

/** Extra checks (Sinch circuit, Redis) report their state; only `critical` ones turn the whole health DOWN. */
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

export function healthController(checks: HealthCheck[], startedAt: number) {
  return {
    live(_req: Request, res: Response): void {
      res.status(200).json({ status: 'UP', timestamp: new Date().toISOString() });
    },

    async ready(_req: Request, res: Response): Promise<void> {
      const results = await Promise.all(checks.map(async (c) => ({ c, result: await c.check() })));
      const down = results.some(({ c, result }) => c.critical && result.state === 'DOWN');
      const body = {
        status: down ? 'DOWN' : 'UP',
        timestamp: new Date().toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        checks: Object.fromEntries(results.map(({ c, result }) => [c.name, result.state])),
        ...(results.some(({ result }) => result.detail)
          ? { details: Object.fromEntries(results.filter(({ result }) => result.detail).map(({ c, result }) => [c.name, result.detail])) }
          : {}),
      };
      res.status(down ? 503 : 200).json(body);
    },
  };
}
