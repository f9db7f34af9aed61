import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import type { CountryCode } from 'libphonenumber-js/max';
import type { AppDeps } from '../app-deps';
import { demoPageController, emulatorInboxController } from '../controllers/demo.controller';
import type { SinchEmulator } from '../emulator/sinch-emulator';
import { EXAMPLE } from '../validations/api.validation';
import { emulatorInboxQuery, emulatorInboxResponse } from '../validations/demo.validation';
import { json, PUBLIC, STRAY_BODY_ERRORS, type Operation, type Route } from './route-table';

/**
 * The page as `npm run build` leaves it (the tests' global setup builds it too). From src/routes
 * (sources) and from dist/routes (built) alike, the project root is two levels up.
 */
const PUBLIC_DIR = path.resolve(__dirname, '..', '..', 'dist', 'public');

/**
 * The demo page at / and, only when the service runs on the in-process emulator, the emulated inbox
 * it shows. `files` serves the page's stylesheet and script: files, not API operations.
 */
export function demoRoutes(deps: AppDeps): { routes: Route[]; files: Router } {
  const page = demoPageController(PUBLIC_DIR);
  const files = Router();
  files.get('/demo/demo.css', page.stylesheet);
  files.get('/demo/demo.js', page.script);
  const routes: Route[] = [{ ...demoPageOperation, handlers: [page.page] }];
  if (deps.emulator) routes.push(emulatorInboxRoute(deps.emulator, deps.config.otp.defaultCountry));
  return { routes, files };
}

const demoPageOperation: Operation = {
  method: 'get',
  path: '/',
  operationId: 'demoPage',
  tag: 'Demo',
  summary: 'Demo page',
  description:
    'A small page to try the whole flow by hand: enter a number, request a code, type it in, and see every error message the API can return (cooldown countdown, attempts remaining, expiry). In emulator mode it also shows the emulated inbox, so no phone is needed. Its stylesheet and script are served from `/demo/` (not listed separately).',
  security: PUBLIC,
  responses: { 200: { description: 'An HTML page.', content: { 'text/html': { schema: z.string() } } } },
  errors: [
    ...STRAY_BODY_ERRORS,
    { code: 'NOT_FOUND', when: "The page's files are missing from this build (run `npm run build`)." },
    'INTERNAL_ERROR',
  ],
};

const emulatorInboxOperation: Operation = {
  method: 'get',
  path: '/api/emulator/inbox',
  operationId: 'emulatorInbox',
  tag: 'Emulator',
  summary: 'The emulated SMS inbox of one number (emulator mode only)',
  description: [
    '**This instance runs the built-in Sinch emulator: no real SMS is sent.** Without it (a real Sinch account) this path does not exist.',
    '',
    'The messages the emulator "sent" to `phoneNumber`, newest first, at most 10, so a person can finish the flow without a phone (the demo page shows them). Answers carry `Cache-Control: no-store`: they hold codes.',
  ].join('\n'),
  security: PUBLIC,
  request: { query: emulatorInboxQuery.shape },
  responses: {
    200: {
      description: 'The emulated inbox of the number.',
      content: json(emulatorInboxResponse, {
        success: {
          summary: 'Success',
          value: {
            status: 'success',
            message: 'Messages the emulator sent to this number (emulated: no real SMS was sent).',
            data: {
              messages: [
                { to: EXAMPLE.phoneNumber, code: '4821', sentAt: EXAMPLE.time, delivered: true, method: 'sms' },
              ],
            },
          },
        },
      }),
    },
  },
  errors: [
    ...STRAY_BODY_ERRORS,
    { code: 'VALIDATION_ERROR', when: 'The `phoneNumber` query parameter is missing or given twice.' },
    'INVALID_PHONE_NUMBER',
    'INTERNAL_ERROR',
  ],
};

function emulatorInboxRoute(emulator: SinchEmulator, defaultCountry?: CountryCode): Route {
  const inbox = emulatorInboxController(emulator, defaultCountry);
  return { ...emulatorInboxOperation, handlers: [inbox.inbox] };
}
