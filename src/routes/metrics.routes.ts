import { Router } from 'express';
import { metricsController } from '../controllers/metrics.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import type { Metrics } from '../observability/metrics';

export function metricsRoutes(metrics: Metrics, token: string | undefined): Router {
  const controller = metricsController(metrics, token);
  const router = Router();
  router
    .route('/metrics')
    .get(controller.scrape)
    .all(methodNotAllowed(['GET']));
  return router;
}
