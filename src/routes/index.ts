import type { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { healthController } from '../controllers/health.controller';
import { otpController } from '../controllers/otp.controller';
import { serverApiController } from '../controllers/server-api.controller';
import { requireApiKey } from '../middlewares/api-key-auth';
import { apiKeyRateLimiter, ipRateLimiters } from '../middlewares/rate-limit';
import { databaseCheck } from '../observability/health';
import { demoRoutes } from './demo.routes';
import { docsRoutes } from './docs.routes';
import { healthRoutes } from './health.routes';
import { jwksRoutes } from './jwks.routes';
import { metricsRoutes } from './metrics.routes';
import { otpRoutes } from './otp.routes';
import { routerFor, type Route } from './route-table';
import { serverApiRoutes } from './server-api.routes';
import { sinchEventsRoutes } from './sinch-events.routes';

export interface AppRoutes {
  /** The routes that read the raw body: mounted before the app's JSON parser. */
  rawBody: Router;
  /** Every other route, and the files of the demo and docs pages. */
  parsed: Router[];
}

/**
 * Every route of the service, from one table: the routers serve it and /api/openapi.json describes
 * it (the docs routes add themselves), so a served route cannot be missing from the document.
 */
export function routes(deps: AppDeps): AppRoutes {
  const health = healthController([databaseCheck(deps.sequelize), ...(deps.healthChecks ?? [])], Date.now());
  const demo = demoRoutes(deps);
  const table = [
    ...otpRoutes(otpController(deps.verifications), ipRateLimiters(deps.config, deps.logger, deps.rateLimitStore), {
      verifyByPhoneNumber: deps.config.otp.verifyByPhoneNumber,
      codeType: deps.config.otp.codeType,
      methods: deps.config.otp.methods,
    }),
    ...backendRoutes(deps),
    ...healthRoutes(health),
    // Off (so the ordinary 404) unless a token guards it or the config says it is meant to be open.
    ...(deps.metrics && deps.config.metrics.enabled ? metricsRoutes(deps.metrics, deps.config.metrics.token) : []),
    ...demo.routes,
    ...sinchEventsRoutes(deps),
  ];
  const docs = docsRoutes(table);
  const served = [...table, ...docs.routes];
  return {
    rawBody: routerFor(served.filter((route) => route.rawBody)),
    parsed: [docs.files, routerFor(served.filter((route) => !route.rawBody)), demo.files],
  };
}

/**
 * What the integrator's backend calls: the JWKS (absent, so 404, with VERIFICATION_TOKENS=off) and
 * the server API, with API keys and a per-key limit instead of the public routes' per-IP limits.
 */
function backendRoutes(deps: AppDeps): Route[] {
  const jwks = deps.verificationTokens ? jwksRoutes(deps.verificationTokens) : [];
  if (!deps.apiKeys || !deps.serverVerifications) return jwks;
  return [
    ...jwks,
    ...serverApiRoutes(serverApiController(deps.serverVerifications), {
      guards: [requireApiKey(deps.apiKeys), apiKeyRateLimiter(deps.config, deps.logger, deps.rateLimitStore)],
      tokens: deps.verificationTokens !== undefined,
    }),
  ];
}
