import { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { healthController } from '../controllers/health.controller';
import { databaseCheck } from '../observability/health';
import { otpController } from '../controllers/otp.controller';
import { ipRateLimiters } from '../middlewares/rate-limit';
import { demoRoutes } from './demo.routes';
import { docsRoutes } from './docs.routes';
import { healthRoutes } from './health.routes';
import { metricsRoutes } from './metrics.routes';
import { otpRoutes } from './otp.routes';

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
  // Off (so the ordinary 404) unless a token guards it or the config says it is meant to be open.
  if (deps.metrics && deps.config.metrics.enabled) router.use(metricsRoutes(deps.metrics, deps.config.metrics.token));
  router.use(docsRoutes(deps));
  router.use(demoRoutes(deps));
  return router;
}
