import type { Request, Response } from 'express';
import type { HealthCheck } from '../observability/health';

export function healthController(checks: HealthCheck[], startedAt: number) {
  return {
    live: (_req: Request, res: Response): void => {
      res.status(200).json({ status: 'UP', timestamp: new Date().toISOString() });
    },

    /** 503 DOWN when a critical dependency fails; 200 DEGRADED when only an optional one does. */
    ready: async (_req: Request, res: Response): Promise<void> => {
      const results = await Promise.all(checks.map(async (c) => ({ c, result: await c.check() })));
      const down = results.some(({ c, result }) => c.critical && result.state === 'DOWN');
      const degraded = results.some(({ result }) => result.state !== 'UP');
      const details = results.filter(({ result }) => result.detail);
      if (down) res.setHeader('Retry-After', '5');
      res.status(down ? 503 : 200).json({
        status: down ? 'DOWN' : degraded ? 'DEGRADED' : 'UP',
        timestamp: new Date().toISOString(),
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        checks: Object.fromEntries(results.map(({ c, result }) => [c.name, result.state])),
        ...(details.length
          ? { details: Object.fromEntries(details.map(({ c, result }) => [c.name, result.detail])) }
          : {}),
      });
    },
  };
}
