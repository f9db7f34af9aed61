import express from 'express';
import { z } from 'zod';
import type { AppDeps } from '../app-deps';
import { sinchEventsController } from '../controllers/sinch-events.controller';
import { verifySinchSignature } from '../middlewares/sinch-signature';
import { systemClock } from '../utils/clock';
import { EXAMPLE } from '../validations/api.validation';
import { sinchCallbackAnswer, sinchEvent } from '../validations/sinch-events.validation';
import { json, type Operation, type Route } from './route-table';

const identity = { type: 'number', endpoint: EXAMPLE.phoneNumber };

/** What Sinch calls: the callbacks of the Verification application. */
export function sinchEventsRoutes(deps: AppDeps): Route[] {
  return [sinchEventsRoute(deps)];
}

const sinchEventsOperation: Operation = {
  method: 'post',
  path: '/api/sinch/events',
  operationId: 'sinchEvents',
  tag: 'Sinch callbacks',
  summary: 'Callbacks from Sinch (not for frontends)',
  description: [
    "Configure this URL as the callback URL of the Sinch Verification application. Every call must carry Sinch's application signature over the raw body and this path (`Authorization: Application {key}:{signature}` plus `x-timestamp`); anything else gets 401 `UNAUTHORIZED` and changes nothing.",
    '',
    '- `VerificationRequestEvent`: answered with `{"action":"allow"}`, or `{"action":"deny"}` for numbers this service\'s policy refuses (non-SMS methods, invalid numbers, blocked countries, prefixes or number types).',
    '- `VerificationResultEvent`: the final result is applied to the verification (and the user on success); answered with `{}`.',
    '- `VerificationSmsDeliveredEvent`: the delivery outcome is recorded; answered with `{}`.',
    '- Any other `event` name is acknowledged with `{}` and ignored, so a new Sinch event type never causes retries.',
    '',
    'A result or delivery report already processed (a replayed request, or Sinch retrying with a new timestamp) is answered `{}` again and changes nothing; every instance shares that memory (see docs/callbacks-and-retention.md).',
    '',
    "Answers use Sinch's callback format, not this API's success envelope; errors use the error envelope.",
  ].join('\n'),
  security: [{ sinchApplicationSignature: [] }],
  request: {
    headers: {
      'x-timestamp': z.string().meta({
        description:
          'ISO 8601 time the request was signed; part of the signature and checked against the server clock.',
        examples: ['2026-11-25T18:00:00.123Z'],
      }),
    },
    body: {
      schema: sinchEvent,
      description:
        'A Sinch verification event, signed byte for byte (at most 10 kB). Sinch sends `Content-Type: application/json; charset=utf-8`.',
      examples: {
        request: {
          summary: 'VerificationRequestEvent',
          value: {
            id: '1234567890',
            event: 'VerificationRequestEvent',
            method: 'sms',
            identity,
            reference: EXAMPLE.verificationId,
          },
        },
        result: {
          summary: 'VerificationResultEvent',
          value: {
            id: '1234567890',
            event: 'VerificationResultEvent',
            method: 'sms',
            identity,
            status: 'SUCCESSFUL',
            reference: EXAMPLE.verificationId,
            source: 'manual',
          },
        },
        delivered: {
          summary: 'VerificationSmsDeliveredEvent',
          value: {
            id: '1234567890',
            event: 'VerificationSmsDeliveredEvent',
            method: 'sms',
            identity,
            smsResult: 'Successful',
            reference: EXAMPLE.verificationId,
          },
        },
      },
    },
  },
  responses: {
    200: {
      description:
        'Accepted. For a VerificationRequestEvent the body is the decision; for other events it is an empty acknowledgement `{}`.',
      content: json(sinchCallbackAnswer, {
        allow: { summary: 'VerificationRequestEvent, number allowed', value: { action: 'allow' } },
        deny: { summary: 'VerificationRequestEvent, number refused by policy', value: { action: 'deny' } },
        ack: { summary: 'Any other event', value: {} },
      }),
    },
  },
  errors: [
    { code: 'INVALID_JSON', when: 'The (correctly signed) body is not JSON.' },
    { code: 'VALIDATION_ERROR', when: 'A known event lacks a required field, e.g. `id` or `identity.endpoint`.' },
    {
      code: 'UNAUTHORIZED',
      when: 'The signature is missing, malformed, for another application key, wrong, or its `x-timestamp` is too far from the server clock (SINCH_CALLBACK_MAX_SKEW_SECONDS). The answer is the same whichever check failed (the server log names it). Nothing is changed.',
    },
    'PAYLOAD_TOO_LARGE',
    { code: 'UNSUPPORTED_MEDIA_TYPE', when: 'The body uses a Content-Encoding the server does not read.' },
    'INTERNAL_ERROR',
    'SERVICE_UNAVAILABLE',
    'REQUEST_TIMEOUT',
  ],
};

/**
 * POST /api/sinch/events. Served BEFORE the app's JSON parser (`rawBody`): the signature covers the
 * raw bytes, so the body is read raw, authenticated, and only then parsed.
 */
function sinchEventsRoute(deps: AppDeps): Route {
  const clock = deps.clock ?? systemClock;
  const controller = sinchEventsController(deps.sinchEvents, deps.logger);
  return {
    ...sinchEventsOperation,
    rawBody: true,
    handlers: [
      express.raw({ type: () => true, limit: '10kb' }),
      verifySinchSignature(deps.config.sinch, deps.logger, clock),
      controller.receive,
    ],
  };
}
