import { Router } from 'express';
import type { AppDeps } from '../app';

/** The demo page at / and, in emulator mode, the emulated inbox it shows. (Being built.) */
export function demoRoutes(_deps: AppDeps): Router {
  return Router();
}
