import { Router } from 'express';
import type { AppDeps } from '../app';

/** /api/openapi.json and /api/docs. (Being built.) */
export function docsRoutes(_deps: AppDeps): Router {
  return Router();
}
