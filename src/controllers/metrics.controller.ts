import type { Request, Response } from 'express';
import type { Metrics } from '../observability/metrics';
import { safeEqual } from '../clients/sinch/sinch.signer';
import { AppError } from '../utils/app-error';

/** Prometheus text format; with METRICS_TOKEN set, only `Authorization: Bearer <token>` may scrape. */
export function metricsController(metrics: Metrics, token: string | undefined) {
  return {
    scrape: async (req: Request, res: Response): Promise<void> => {
      if (token !== undefined) {
        const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
        if (!safeEqual(given, token)) {
          throw new AppError('UNAUTHORIZED', {
            message: 'Scraping /metrics needs Authorization: Bearer <METRICS_TOKEN>.',
            headers: { 'WWW-Authenticate': 'Bearer' },
          });
        }
      }
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    },
  };
}
