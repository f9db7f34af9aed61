import { Router, type RequestHandler } from 'express';
import type { serverApiController } from '../controllers/server-api.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import { AppError } from '../utils/app-error';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateParams } from '../middlewares/validate';
import { redeemBody, verificationIdParams } from '../validations/server-api.validation';

export interface ServerApiOptions {
  /** API key authentication, then the per-key limit: they guard every path under /api/verifications. */
  guards: RequestHandler[];
  /** POST /api/verifications/redeem exists only while verification tokens are on. */
  redeem: boolean;
}

/** The server-side API, for backends (never browsers): Authorization: Bearer <api key>. */
export function serverApiRoutes(controller: ReturnType<typeof serverApiController>, options: ServerApiOptions): Router {
  const router = Router();
  router.use('/api/verifications', ...options.guards);
  // Before /:id, which "redeem" would otherwise match.
  const redeem = router.route('/api/verifications/redeem');
  if (options.redeem)
    redeem.post(requireJson(), validateBody(redeemBody), controller.redeem).all(methodNotAllowed(['POST']));
  else redeem.all(tokensOff());
  router
    .route('/api/verifications/:id')
    .get(validateParams(verificationIdParams), controller.get)
    .all(methodNotAllowed(['GET']));
  router
    .route('/api/verifications/:id/cancel')
    .post(validateParams(verificationIdParams), controller.cancel)
    .all(methodNotAllowed(['POST']));
  return router;
}

function tokensOff(): RequestHandler {
  return (_req, _res, next) =>
    next(
      new AppError('NOT_FOUND', {
        message: 'Verification tokens are turned off (VERIFICATION_TOKENS=off): there is no token to redeem.',
      }),
    );
}
