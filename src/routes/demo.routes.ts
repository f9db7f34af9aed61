import path from 'node:path';
import { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { demoPageController, emulatorInboxController } from '../controllers/demo.controller';
import { methodNotAllowed } from '../middlewares/not-found';

/** src/public when run from sources, dist/public once built (the build compiles and copies the page there). */
const PUBLIC_DIR = path.resolve(__dirname, '../public');

/** The demo page at / and, only when the service runs on the in-process emulator, the emulated inbox it shows. */
export function demoRoutes(deps: AppDeps): Router {
  const router = Router();
  const page = demoPageController(PUBLIC_DIR);
  router.get('/', page.page);
  router.get('/demo/demo.css', page.stylesheet);
  router.get('/demo/demo.js', page.script);
  if (deps.emulator) {
    const inbox = emulatorInboxController(deps.emulator, deps.config.otp.defaultCountry);
    router
      .route('/api/emulator/inbox')
      .get(inbox.inbox)
      .all(methodNotAllowed(['GET']));
  }
  return router;
}
