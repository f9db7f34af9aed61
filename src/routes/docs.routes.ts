import { Router, type RequestHandler } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import type { AppDeps } from '../app-deps';
import { openApiDocument } from '../docs/openapi';
import { methodNotAllowed } from '../middlewares/not-found';

/** The files the Swagger UI page loads; the rest of swagger-ui-dist (its stock petstore page) stays unreachable. */
const SWAGGER_ASSET =
  /^\/(swagger-ui\.css|swagger-ui-bundle\.js|swagger-ui-standalone-preset\.js|swagger-ui-init\.js|favicon-(16x16|32x32)\.png)(\.map)?$/;

/**
 * helmet's app-wide CSP stays as it is everywhere else; the docs page needs inline styles (its
 * template has <style> blocks and Swagger UI sets style attributes) and data: images (its icons).
 * Scripts stay 'self' only: the page loads its scripts, including the init script, as files.
 * upgrade-insecure-requests is left out because the docs are mostly read on plain-http dev servers
 * reached by LAN address, where upgrading the asset URLs to https would leave the page blank.
 */
const docsCsp = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'", 'data:'],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
  },
});

/**
 * GET /api/openapi.json (the document) and GET /api/docs (Swagger UI). Full paths, like every
 * other router, so logs and metrics label them the same way on every outcome.
 * The inbox route is documented only when this instance actually runs the emulator.
 */
export function docsRoutes(deps: AppDeps): Router {
  const document = openApiDocument({ emulatorMode: deps.emulator !== undefined });
  const uiOptions = {
    customSiteTitle: 'OTP verification service: API',
    swaggerOptions: { validatorUrl: null, displayRequestDuration: true },
  };
  // Swagger UI's page links its assets as "./swagger-ui.css": from /api/docs (no trailing slash) the
  // browser would look for /api/swagger-ui.css. Pointing them under /api/docs/ serves both spellings
  // with 200 and no redirect hop.
  const template = swaggerUi.generateHTML(document, uiOptions);
  const page: RequestHandler = (_req, res) => {
    res.type('html').send(template.replace(/(href|src)="\.\//g, '$1="/api/docs/'));
  };

  const router = Router();
  router
    .route('/api/openapi.json')
    .get((_req, res) => {
      res.json(document);
    })
    .all(methodNotAllowed(['GET']));

  router.use('/api/docs', docsCsp);
  router
    .route('/api/docs')
    .get(page)
    .all(methodNotAllowed(['GET']));
  // serveFiles, not the shared `serve`: `serve` answers swagger-ui-init.js from module-global state
  // that the last setup() call in the process wrote, so two apps in one process (tests) would mix docs.
  const onlySwaggerAssets: RequestHandler = (req, _res, next) => {
    // Anything else under /api/docs leaves this router and ends in the app's JSON 404.
    next(SWAGGER_ASSET.test(req.path) ? undefined : 'router');
  };
  router.use('/api/docs', onlySwaggerAssets, ...swaggerUi.serveFiles(document, uiOptions));
  return router;
}
