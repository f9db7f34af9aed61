import { Router } from 'express';
import { jwksController } from '../controllers/jwks.controller';
import { methodNotAllowed } from '../middlewares/not-found';
import type { VerificationTokenService } from '../services/verification-token.service';

/** GET /.well-known/jwks.json: the public keys backends check verification tokens against. */
export function jwksRoutes(tokens: VerificationTokenService): Router {
  const controller = jwksController(tokens);
  const router = Router();
  router
    .route('/.well-known/jwks.json')
    .get(controller.keys)
    .all(methodNotAllowed(['GET']));
  return router;
}
