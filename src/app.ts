import express, { type Express } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import type { AppDeps } from './app-deps';
import { errorHandler } from './middlewares/error-handler';
import { notFound } from './middlewares/not-found';
import { requestContext } from './middlewares/request-context';
import { requestLogger } from './middlewares/request-logger';
import { requestTimeout } from './middlewares/request-timeout';
import { routes } from './routes';

/** Builds the Express app. It never listens and never touches `process`: server.ts does. */
export function createApp(deps: AppDeps): Express {
  const { config, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', config.server.trustProxy);

  app.use(requestContext());
  app.use(requestLogger(logger, deps.metrics?.observeRequest));
  app.use(requestTimeout(config.server.requestTimeoutMs));
  // No upgrade-insecure-requests: the demo and docs pages are often opened over plain http on a
  // LAN address in development, where upgraded asset URLs would leave them blank. HSTS covers TLS.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  // No origins configured means no CORS headers at all; skip the middleware rather than run it for nothing.
  if (config.server.corsOrigins.length)
    app.use(cors({ origin: config.server.corsOrigins, methods: ['GET', 'POST'], maxAge: 600 }));
  const { rawBody, parsed } = routes(deps);
  // Before the JSON parser: Sinch signs the raw bytes of its callbacks.
  app.use(rawBody);
  app.use(express.json({ limit: '10kb' }));
  app.use(parsed);
  app.use(notFound());
  app.use(errorHandler(logger));
  return app;
}
