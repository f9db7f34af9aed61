import { z } from 'zod';
import type { RequestHandler } from 'express';
import type { serverApiController } from '../controllers/server-api.controller';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateParams } from '../middlewares/validate';
import { AppError } from '../utils/app-error';
import { EXAMPLE } from '../validations/api.validation';
import {
  redeemBody,
  redeemResponse,
  verificationIdParam,
  verificationIdParams,
  verificationReportResponse,
  type VerificationReportData,
} from '../validations/server-api.validation';
import { json, jsonBody, STRAY_BODY_ERRORS, type Operation, type Route, type RouteError } from './route-table';

export interface ServerApiOptions {
  /** API key authentication, then the per-key limit: the first handlers of every route here. */
  guards: RequestHandler[];
  /** Whether verification tokens are on; with them off, redeem answers 404. */
  tokens: boolean;
}

const API_KEY = [{ apiKey: [] as [] }];

const wwwAuthenticate = z.literal('Bearer').meta({ description: 'The scheme to use: `Bearer`.' });

/** Every route here can refuse the key, or the key's rate. */
const GUARD_ERRORS: RouteError[] = [
  {
    code: 'UNAUTHORIZED',
    when: 'The `Authorization: Bearer <api key>` header is missing, or the key is unknown or revoked: the same answer in each case.',
    headers: { 'WWW-Authenticate': wwwAuthenticate },
  },
  {
    code: 'RATE_LIMITED',
    when: 'This API key made more than RATE_LIMIT_SERVER_API_PER_KEY_MINUTE requests this minute (`details[0].limit: api-key`); wait `Retry-After` seconds.',
  },
  'INTERNAL_ERROR',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
];

const REPORT: VerificationReportData = {
  verificationId: EXAMPLE.verificationId,
  phoneNumber: EXAMPLE.phoneNumber,
  method: 'sms',
  purpose: 'signup',
  status: 'SUCCESSFUL',
  attempts: 1,
  maxAttempts: 5,
  createdAt: '2026-11-25T18:00:00.000Z',
  expiresAt: '2026-11-25T18:10:00.000Z',
  verifiedAt: '2026-11-25T18:01:12.000Z',
  smsDeliveryStatus: 'DELIVERED',
  tokenRedeemedAt: null,
};

function tokensOff(): RequestHandler {
  return (_req, _res, next) =>
    next(
      new AppError('NOT_FOUND', {
        message: 'Verification tokens are turned off (VERIFICATION_TOKENS=off): there is no token to redeem.',
      }),
    );
}

type ServerApiController = ReturnType<typeof serverApiController>;

/** The server-side API, for backends (never browsers): Authorization: Bearer <api key>. */
export function serverApiRoutes(controller: ServerApiController, options: ServerApiOptions): Route[] {
  return [
    // Before /{id}, which "redeem" would otherwise match.
    redeemRoute(controller, options),
    getVerificationRoute(controller, options.guards),
    cancelVerificationRoute(controller, options.guards),
  ];
}

/** The `{id}` path parameter of the routes of one verification. */
const params = { id: verificationIdParam };

const redeemOperation: Operation = {
  method: 'post',
  path: '/api/verifications/redeem',
  operationId: 'redeemVerificationToken',
  tag: 'Server API',
  summary: 'Check a verification token and use it up (single use)',
  description: [
    'For backends that want a proof to work exactly once, on top of its short lifetime. Checks the token (signature, `exp`, `iss`, `aud` when the server sets VERIFICATION_TOKEN_AUDIENCE, and that its verification still exists), then marks it redeemed, atomically: of any number of calls with one token, even at the same moment, exactly one gets 200.',
    '',
    "- 200: `data` holds the token's claims. **Check `data.purpose`** against the action you are about to take.",
    '- Any later call with the same token: 409 `TOKEN_ALREADY_REDEEMED`.',
    '- A bad, expired or foreign token: 401 `INVALID_TOKEN` (`details[0].reason` says why).',
  ].join('\n'),
  security: API_KEY,
  request: {
    body: jsonBody(redeemBody, {
      description: 'Send as `Content-Type: application/json`.',
      fields: { token: 'The `verificationToken` verify-otp returned.' },
      examples: { token: { value: { token: EXAMPLE.verificationToken } } },
    }),
  },
  responses: {
    200: {
      description: 'The token was genuine and unused; it is now redeemed.',
      content: json(redeemResponse, {
        redeemed: {
          value: {
            status: 'success',
            message: 'Verification token redeemed.',
            data: {
              iss: 'otp-verification-service',
              sub: EXAMPLE.phoneNumber,
              phone_number: EXAMPLE.phoneNumber,
              phone_number_verified: true,
              iat: 1795629672,
              exp: 1795630272,
              jti: EXAMPLE.verificationId,
              purpose: 'signup',
              method: 'sms',
            },
          },
        },
      }),
    },
  },
  errors: [
    'INVALID_JSON',
    'VALIDATION_ERROR',
    'INVALID_TOKEN',
    { code: 'NOT_FOUND', when: 'The server runs with VERIFICATION_TOKENS=off: there are no tokens to redeem.' },
    'TOKEN_ALREADY_REDEEMED',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    // Both 401s share one response in the document: the header comes with UNAUTHORIZED only
    // (INVALID_TOKEN is about the body's token, not the API key).
    {
      code: 'UNAUTHORIZED',
      when: 'The `Authorization: Bearer <api key>` header is missing, or the key is unknown or revoked: the same answer in each case (with `WWW-Authenticate: Bearer`).',
      headers: { 'WWW-Authenticate': wwwAuthenticate.optional() },
    },
    ...GUARD_ERRORS.slice(1),
  ],
};

function redeemRoute(controller: ServerApiController, { guards, tokens }: ServerApiOptions): Route {
  return {
    ...redeemOperation,
    handlers: tokens
      ? [...guards, requireJson(), validateBody(redeemBody), controller.redeem]
      : [...guards, tokensOff()],
  };
}

const getVerificationOperation: Operation = {
  method: 'get',
  path: '/api/verifications/{id}',
  operationId: 'getVerification',
  tag: 'Server API',
  summary: 'A verification as it stands',
  description:
    'Everything this service knows about one verification: the number, purpose and method, the status (a PENDING one past `expiresAt` reads EXPIRED), attempts, times, the SMS delivery report, and whether its token was redeemed.',
  security: API_KEY,
  request: { params },
  responses: {
    200: {
      description: 'The verification.',
      content: json(verificationReportResponse, {
        verified: { value: { status: 'success', message: 'Verification found.', data: REPORT } },
      }),
    },
  },
  errors: [
    ...STRAY_BODY_ERRORS,
    { code: 'VALIDATION_ERROR', when: '`id` is not a UUID.' },
    { code: 'VERIFICATION_NOT_FOUND', when: 'No verification has this id (never issued, or purged).' },
    ...GUARD_ERRORS,
  ],
};

function getVerificationRoute(controller: ServerApiController, guards: RequestHandler[]): Route {
  return {
    ...getVerificationOperation,
    handlers: [...guards, validateParams(verificationIdParams), controller.get],
  };
}

const cancelVerificationOperation: Operation = {
  method: 'post',
  path: '/api/verifications/{id}/cancel',
  operationId: 'cancelVerification',
  tag: 'Server API',
  summary: 'Cancel a pending verification',
  description: [
    'A PENDING verification becomes CANCELLED: verify-otp then answers 410 `VERIFICATION_CANCELLED` even to the right code, and Sinch is not asked (Sinch has no cancel; the code expires there on its own). The number may request a new code at once.',
    '',
    '- Cancelling again answers the same 200. A verification that already ended (FAILED, EXPIRED, ABORTED) is reported as it is.',
    '- A SUCCESSFUL verification cannot be cancelled: 409 `ALREADY_VERIFIED`. A cancel that lands while Sinch is judging the right code wins.',
  ].join('\n'),
  security: API_KEY,
  request: { params },
  responses: {
    200: {
      description: 'The verification, now CANCELLED (or as it ended, when it had already ended).',
      content: json(verificationReportResponse, {
        cancelled: {
          value: {
            status: 'success',
            message: 'Verification cancelled.',
            data: {
              ...REPORT,
              status: 'CANCELLED',
              attempts: 0,
              verifiedAt: null,
              smsDeliveryStatus: null,
            },
          },
        },
      }),
    },
  },
  errors: [
    ...STRAY_BODY_ERRORS,
    { code: 'VALIDATION_ERROR', when: '`id` is not a UUID.' },
    { code: 'VERIFICATION_NOT_FOUND', when: 'No verification has this id (never issued, or purged).' },
    { code: 'ALREADY_VERIFIED', when: 'The verification already succeeded; it cannot be cancelled.' },
    ...GUARD_ERRORS,
  ],
};

function cancelVerificationRoute(controller: ServerApiController, guards: RequestHandler[]): Route {
  return {
    ...cancelVerificationOperation,
    handlers: [...guards, validateParams(verificationIdParams), controller.cancel],
  };
}
