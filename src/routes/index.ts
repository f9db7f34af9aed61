import { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { healthController } from '../controllers/health.controller';
import { databaseCheck } from '../observability/health';
import { otpController } from '../controllers/otp.controller';
import { serverApiController } from '../controllers/server-api.controller';
import { requireApiKey } from '../middlewares/api-key-auth';
import { apiKeyRateLimiter, ipRateLimiters } from '../middlewares/rate-limit';
import { demoRoutes } from './demo.routes';
import { docsRoutes } from './docs.routes';
import { healthRoutes } from './health.routes';
import { jwksRoutes } from './jwks.routes';
import { metricsRoutes } from './metrics.routes';
import { otpRoutes } from './otp.routes';
import { serverApiRoutes } from './server-api.routes';

/** Every route of the service, mounted in one place. */
export function routes(deps: AppDeps): Router {
  const router = Router();
  const health = healthController([databaseCheck(deps.sequelize), ...(deps.healthChecks ?? [])], Date.now());
  router.use(healthRoutes(health));
  router.use(
    otpRoutes(otpController(deps.verifications), ipRateLimiters(deps.config, deps.logger, deps.rateLimitStore), {
      verifyByPhoneNumber: deps.config.otp.verifyByPhoneNumber,
    }),
  );
  // For backends: API keys and a per-key limit instead of the public routes' per-IP limits.
  if (deps.apiKeys && deps.serverVerifications)
    router.use(
      serverApiRoutes(serverApiController(deps.serverVerifications), {
        guards: [requireApiKey(deps.apiKeys), apiKeyRateLimiter(deps.config, deps.logger, deps.rateLimitStore)],
        redeem: deps.verificationTokens !== undefined,
      }),
    );
  // With tokens off the JWKS route is not there at all: 404, like any unknown path.
  if (deps.verificationTokens) router.use(jwksRoutes(deps.verificationTokens));
  if (deps.metrics) router.use(metricsRoutes(deps.metrics, deps.config.metrics.token));
  router.use(docsRoutes(deps));
  router.use(demoRoutes(deps));
  return router;
}
