import { Router, type RequestHandler } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { z } from 'zod';
import { openApiDocumentBody } from '../validations/docs.validation';
import { openApiDocument } from './openapi';
import { json, PUBLIC, STRAY_BODY_ERRORS, type Operation, type Route } from './route-table';

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

const openApiJson: Operation = {
  method: 'get',
  path: '/api/openapi.json',
  operationId: 'openApiDocument',
  tag: 'Documentation',
  summary: 'This document (OpenAPI 3.1, JSON)',
  description:
    'The machine-readable contract: generate clients or validate responses from it. Its schemas use the JSON Schema 2020-12 dialect.',
  security: PUBLIC,
  responses: { 200: { description: 'The OpenAPI document.', content: json(openApiDocumentBody) } },
  errors: [...STRAY_BODY_ERRORS, 'INTERNAL_ERROR'],
};

const apiDocs: Operation = {
  method: 'get',
  path: '/api/docs',
  operationId: 'apiDocs',
  tag: 'Documentation',
  summary: 'This documentation (Swagger UI)',
  description:
    'Renders this document with Swagger UI. Its scripts and styles are served from `/api/docs/` (not listed separately).',
  security: PUBLIC,
  responses: { 200: { description: 'An HTML page.', content: { 'text/html': { schema: z.string() } } } },
  errors: [...STRAY_BODY_ERRORS, 'INTERNAL_ERROR'],
};

/**
 * GET /api/openapi.json (the document of `served` and of these two routes) and GET /api/docs
 * (Swagger UI). `files` serves Swagger UI's assets and gives everything under /api/docs its CSP.
 */
export function docsRoutes(served: readonly Operation[]): { routes: Route[]; files: Router } {
  const uiOptions = {
    customSiteTitle: 'OTP verification service: API',
    swaggerOptions: { validatorUrl: null, displayRequestDuration: true },
  };
  // Built on first use, not with the app: generating it is CPU work no start-up needs, and a busy
  // event loop while the app is assembled delays other start-up I/O (e.g. the Redis limiter scripts).
  let built: { document: object; page: string; assets: Router } | undefined;
  const docs = () => {
    if (built) return built;
    const document = openApiDocument([...served, openApiJson, apiDocs]);
    // Swagger UI's page links its assets as "./swagger-ui.css": from /api/docs (no trailing slash) the
    // browser would look for /api/swagger-ui.css. Pointing them under /api/docs/ serves both spellings
    // with 200 and no redirect hop.
    const page = swaggerUi.generateHTML(document, uiOptions).replace(/(href|src)="\.\//g, '$1="/api/docs/');
    // serveFiles, not the shared `serve`: `serve` answers swagger-ui-init.js from module-global state
    // that the last setup() call in the process wrote, so two apps in one process (tests) would mix docs.
    const assets = Router().use(...swaggerUi.serveFiles(document, uiOptions));
    built = { document, page, assets };
    return built;
  };

  const files = Router();
  files.use('/api/docs', docsCsp);
  const onlySwaggerAssets: RequestHandler = (req, res, next) => {
    // Anything else under /api/docs (the page itself included) leaves this router.
    if (!SWAGGER_ASSET.test(req.path)) return next('router');
    docs().assets(req, res, next);
  };
  files.use('/api/docs', onlySwaggerAssets);

  return {
    routes: [
      {
        ...openApiJson,
        handlers: [
          (_req, res) => {
            res.json(docs().document);
          },
        ],
      },
      {
        ...apiDocs,
        handlers: [
          (_req, res) => {
            res.type('html').send(docs().page);
          },
        ],
      },
    ],
    files,
  };
}
