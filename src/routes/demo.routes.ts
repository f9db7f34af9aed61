import path from 'node:path';
import { Router } from 'express';
import type { AppDeps } from '../app-deps';
import { demoPageController, emulatorInboxController } from '../controllers/demo.controller';
import { methodNotAllowed } from '../middlewares/not-found';

/**
 * The page as `npm run build` leaves it (the tests' global setup builds it too). From src/routes
 * (sources) and from dist/routes (built) alike, the project root is two levels up.
 */
const PUBLIC_DIR = path.resolve(__dirname, '..', '..', 'dist', 'public');

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
