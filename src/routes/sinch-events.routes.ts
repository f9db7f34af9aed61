import express, { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { sinchEventsController } from '../controllers/sinch-events.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import { verifySinchSignature } from '../middlewares/sinch-signature';
import { systemClock } from '../utils/clock';

/**
 * POST /api/sinch/events. Mounted BEFORE the app's JSON parser: the signature covers the raw
 * bytes, so the body is read raw, authenticated, and only then parsed.
 */
export function sinchEventsRoutes(deps: AppDeps): Router {
  const clock = deps.clock ?? systemClock;
  const controller = sinchEventsController(deps.sinchEvents, deps.logger);
  const router = Router();
  router
    .route('/api/sinch/events')
    .post(
      express.raw({ type: () => true, limit: '10kb' }),
      verifySinchSignature(deps.config.sinch, deps.logger, clock),
      controller.receive,
    )
    .all(methodNotAllowed(['POST']));
  return router;
}
