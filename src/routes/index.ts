import type { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { healthController } from '../controllers/health.controller';
import { otpController } from '../controllers/otp.controller';
import { ipRateLimiters } from '../middlewares/rate-limit';
import { databaseCheck } from '../observability/health';
import { demoRoutes } from './demo.routes';
import { docsRoutes } from './docs.routes';
import { healthRoutes } from './health.routes';
import { metricsRoutes } from './metrics.routes';
import { otpRoutes } from './otp.routes';
import { routerFor } from './route-table';
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
