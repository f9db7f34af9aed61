import type { Request, Response } from 'express';
import type { HealthCheck } from '../observability/health';
import type { Health, Liveness } from '../validations/health.validation';

export function healthController(checks: HealthCheck[], startedAt: number) {
  return {
    live: (_req: Request, res: Response): void => {
      const body: Liveness = { status: 'UP', timestamp: new Date().toISOString() };
      res.status(200).json(body);
    },

    /** 503 DOWN when a critical dependency fails; 200 DEGRADED when only an optional one does. */
    ready: async (_req: Request, res: Response): Promise<void> => {
      const results = await Promise.all(checks.map(async (c) => ({ c, result: await c.check() })));
      const down = results.some(({ c, result }) => c.critical && result.state === 'DOWN');
      const degraded = results.some(({ result }) => result.state !== 'UP');
      const details = results.filter(({ result }) => result.detail);
      if (down) res.setHeader('Retry-After', '5');
      const body: Health = {
        status: down ? 'DOWN' : degraded ? 'DEGRADED' : 'UP',
        timestamp: new Date().toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        // routes/index.ts always passes the database check first.
        checks: Object.fromEntries(results.map(({ c, result }) => [c.name, result.state])) as Health['checks'],
        ...(details.length
          ? { details: Object.fromEntries(details.map(({ c, result }) => [c.name, result.detail ?? {}])) }
          : {}),
      };
      res.status(down ? 503 : 200).json(body);
    },
  };
}
