import { Router } from 'express';
import type { healthController } from '../controllers/health.controller';
import { methodNotAllowed } from '../middlewares/not-found';

export function healthRoutes(controller: ReturnType<typeof healthController>): Router {
  const router = Router();
  router
    .route('/health')
    .get(controller.ready)
    .all(methodNotAllowed(['GET']));
  router
    .route('/health/live')
    .get(controller.live)
    .all(methodNotAllowed(['GET']));
  return router;
}
