import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { CodeType, OtpMethod } from '../config';
import type { otpController } from '../controllers/otp.controller';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateHeader } from '../middlewares/validate';
import { EXAMPLE, rateLimitInfoHeaders } from '../validations/api.validation';
import {
  idempotencyKeyHeader,
  idempotentReplayedHeader,
  requestOtpBody,
  requestOtpResponse,
  resendOtpBody,
  type RequestOtpData,
  verifyOtpBodyFor,
  verifyOtpByPhoneBodyFor,
  verifyOtpResponse,
} from '../validations/otp.validation';
import { json, jsonBody, PUBLIC, type Operation, type Route } from './route-table';

export interface OtpRouteLimits {
  requestOtp: RequestHandler[];
  verifyOtp: RequestHandler[];
}

type OtpController = ReturnType<typeof otpController>;
type VerifyOtpBody = ReturnType<typeof verifyOtpBodyFor> | ReturnType<typeof verifyOtpByPhoneBodyFor>;

/** The public verification routes, for frontends: send a code, send another, check the one typed. */
export function otpRoutes(
  controller: OtpController,
  limits: OtpRouteLimits,
  options: { verifyByPhoneNumber: boolean; codeType: CodeType; methods: readonly OtpMethod[] },
): Route[] {
  // The code's shape follows OTP_CODE_TYPE (and the methods on offer: a call reads digits).
  const codes = { codeType: options.codeType, methods: options.methods };
  const verifyBody = options.verifyByPhoneNumber ? verifyOtpByPhoneBodyFor(codes) : verifyOtpBodyFor(codes);
  return [
    requestOtpRoute(controller, limits),
    resendOtpRoute(controller, limits),
    verifyOtpRoute(controller, limits, verifyBody),
  ];
}

/** The answer of request-otp (and resend-otp, with another method) in the examples. */
const EXAMPLE_SENT: RequestOtpData = {
  verificationId: EXAMPLE.verificationId,
  phoneNumber: EXAMPLE.phoneNumber,
  method: 'sms',
  locale: 'sv-SE',
  codeType: 'Numeric',
  methods: ['sms', 'callout'],
  purpose: null,
  expiresAt: '2026-11-25T18:10:00.000Z',
  resendAvailableAt: '2026-11-25T18:00:30.000Z',
};

/** Never refused: a header that names no language is no preference. */
const acceptLanguageHeader = z
  .string()
  .optional()
  .meta({
    description:
      "The language of the message when the body has no `locale`: the most wanted BCP 47 tag (q-values honoured). A header that names no language (`*`, unreadable entries) is ignored, never an error. Browsers send the user's languages.",
    examples: ['sv-SE,sv;q=0.9,en;q=0.8'],
  });

/** What can go wrong once a code is being sent (request-otp and resend-otp alike). */
const SEND_FAILURES = [
  'INTERNAL_ERROR',
  'SMS_PROVIDER_ERROR',
  'SMS_PROVIDER_UNAVAILABLE',
  'SEND_CAPACITY_EXCEEDED',
  'SERVICE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
] as const;

const requestOtpOperation: Operation = {
  method: 'post',
  path: '/api/request-otp',
  operationId: 'requestOtp',
  tag: 'Verification',
  summary: 'Send a one-time code by SMS, voice call or WhatsApp',
  description: [
    'Sends a code to `phoneNumber` and starts a verification. Next step: `POST /api/verify-otp` with `data.verificationId` and the code the user typed.',
    '',
    '- `method`: `sms` (default), `callout` (a voice call reads the code) or `whatsapp`, among the methods the server offers (`data.methods`; another gets 422 `METHOD_NOT_ENABLED`). `data.method` says how this code goes out, so the page can say "we are calling you"; `data.codeType` which keyboard to show.',
    "- The language: the body's `locale` (BCP 47), else the `Accept-Language` header, else the server default (OTP_DEFAULT_LOCALE). `data.locale` is the language Sinch used (`null`: its default).",
    '- If the code does not arrive, `POST /api/resend-otp` sends a new one for the same `verificationId`, by the same or another method.',
    '- The number may contain spaces, dashes, dots and parentheses; it is normalised to E.164 and returned in `data.phoneNumber`. Without a leading `+` it is accepted only when the server sets `DEFAULT_COUNTRY`.',
    '- The code works until `data.expiresAt` (at most 10 minutes). Requesting again replaces the previous code, which then stops working.',
    '- Enable the "resend" button at `data.resendAvailableAt`; an earlier request gets 429 `RATE_LIMITED` with `Retry-After`.',
    '- The answer is the same whether or not the number has an account or was verified before.',
    '- Send an `Idempotency-Key` so a retry after a network error cannot send a second SMS.',
  ].join('\n'),
  security: PUBLIC,
  request: {
    headers: {
      'Accept-Language': acceptLanguageHeader,
      'Idempotency-Key': idempotencyKeyHeader.optional().meta({
        description:
          'Optional: 1-255 printable ASCII characters without spaces; a fresh UUID per user action works well (anything else is a 400 `VALIDATION_ERROR` on field `Idempotency-Key`). For IDEMPOTENCY_TTL_SECONDS (default 10 minutes), a repeat with the same key for the same phone number gets the first response again, marked `Idempotent-Replayed: true`, and sends no second SMS; the same key with a different phone number gets 422 `IDEMPOTENCY_KEY_REUSED`; while the first request is still running, 409 `IDEMPOTENCY_REQUEST_IN_PROGRESS`. A request that failed frees its key, so retry with the same key.',
        examples: ['5b0c9c1e-2f4a-4d0e-8a51-6f1c3e2d9b77'],
      }),
    },
    body: jsonBody(requestOtpBody, {
      description: 'Send as `Content-Type: application/json`, at most 10 kB.',
      fields: {
        phoneNumber:
          'The number to text, ideally in international format (`+46701234567`); spaces, dashes, dots and parentheses are accepted. Trimmed.',
        method:
          'Optional: `sms` (default), `callout` (a voice call reads the code) or `whatsapp`; one the server does not offer gets 422 `METHOD_NOT_ENABLED`.',
        locale:
          'Optional: the language of the message, a BCP 47 tag such as `sv-SE` (a malformed one is a 400 `VALIDATION_ERROR`). Without it, the `Accept-Language` header decides, then the server default.',
        purpose:
          'Optional: what the code is for, one of OTP_PURPOSES (default `signup`, `login`, `password_reset`, `phone_change`, `transaction`; anything else is a 400 `VALIDATION_ERROR` on field `purpose`). Stored, echoed in `data.purpose`, and put in the verification token, so your backend can refuse a proof made for another action.',
      },
      examples: {
        e164: { summary: 'International format', value: { phoneNumber: EXAMPLE.phoneNumber } },
        typed: { summary: 'As a person types it', value: { phoneNumber: '+46 (70) 123-45 67', method: 'sms' } },
        call: {
          summary: 'A voice call in Swedish',
          value: { phoneNumber: EXAMPLE.phoneNumber, method: 'callout', locale: 'sv-SE' },
        },
        withPurpose: {
          summary: 'For a password reset',
          value: { phoneNumber: EXAMPLE.phoneNumber, purpose: 'password_reset' },
        },
      },
    }),
  },
  responses: {
    200: {
      description: 'The code was sent. Show the code input and start the resend countdown from `resendAvailableAt`.',
      headers: {
        ...rateLimitInfoHeaders,
        'Idempotent-Replayed': idempotentReplayedHeader,
      },
      content: json(requestOtpResponse, {
        success: {
          summary: 'Success',
          value: {
            status: 'success',
            message: 'Verification code sent.',
            data: EXAMPLE_SENT,
          },
        },
      }),
    },
  },
  errors: [
    'INVALID_JSON',
    'VALIDATION_ERROR',
    'INVALID_PHONE_NUMBER',
    'IDEMPOTENCY_REQUEST_IN_PROGRESS',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'PHONE_NUMBER_NOT_ALLOWED',
    'METHOD_NOT_ENABLED',
    'IDEMPOTENCY_KEY_REUSED',
    {
      code: 'RATE_LIMITED',
      when: 'Too many codes requested; wait `Retry-After` seconds (keep the resend button disabled until then). `details[0].limit` says which limit: `number_cooldown` (a code was just sent to this number), `number_hour` / `number_day` (sends per number), `ip-request-otp` (requests from this network); no `details` when the SMS provider itself refused for load.',
    },
    ...SEND_FAILURES,
  ],
};

function requestOtpRoute(controller: OtpController, limits: OtpRouteLimits): Route {
  return {
    ...requestOtpOperation,
    handlers: [
      ...limits.requestOtp,
      requireJson(),
      validateHeader('Idempotency-Key', idempotencyKeyHeader),
      validateBody(requestOtpBody),
      controller.requestOtp,
    ],
  };
}

/** "Call me instead": a new code for the same verification. */
const resendOtpOperation: Operation = {
  method: 'post',
  path: '/api/resend-otp',
  operationId: 'resendOtp',
  tag: 'Verification',
  summary: 'Send a new code for a verification ("call me instead")',
  description: [
    'Sends a new code for the verification `verificationId`, by its current method or another one on offer (`method`). The `verificationId` stays the same; the code sent before stops working.',
    '',
    "- Obeys the resend cooldown and every send limit of request-otp (`data.resendAvailableAt`; earlier gets 429 `RATE_LIMITED`), and counts towards request-otp's per-IP limit.",
    "- The verification gets a fresh attempt count and expiry; wrong codes already typed still count towards the number's hourly budget.",
    "- The language: the body's `locale`, else `Accept-Language`, else the language of the code sent before, else the server default.",
    '- An unknown id gets 404 `VERIFICATION_NOT_FOUND`; a verified one 409 `ALREADY_VERIFIED`; one that has ended 410 `VERIFICATION_EXPIRED`: request a new code with request-otp.',
  ].join('\n'),
  security: PUBLIC,
  request: {
    headers: { 'Accept-Language': acceptLanguageHeader },
    body: jsonBody(resendOtpBody, {
      description: 'Send as `Content-Type: application/json`, at most 10 kB.',
      fields: {
        verificationId: 'The `verificationId` from request-otp.',
        method:
          'Optional: `sms`, `callout` or `whatsapp`, among the methods on offer; without it, the method of the code sent before.',
        locale:
          'Optional: the language, a BCP 47 tag; without it, `Accept-Language`, then the language of the code sent before.',
      },
      examples: {
        callMe: { summary: 'Call me instead', value: { verificationId: EXAMPLE.verificationId, method: 'callout' } },
        again: { summary: 'The same method again', value: { verificationId: EXAMPLE.verificationId } },
      },
    }),
  },
  responses: {
    200: {
      description: 'A new code was sent. Update the method, the expiry and the resend countdown from `data`.',
      headers: rateLimitInfoHeaders,
      content: json(requestOtpResponse, {
        success: {
          summary: 'Success',
          value: {
            status: 'success',
            message: 'A new verification code was sent.',
            data: { ...EXAMPLE_SENT, method: 'callout' },
          },
        },
      }),
    },
  },
  errors: [
    'INVALID_JSON',
    'VALIDATION_ERROR',
    { code: 'VERIFICATION_NOT_FOUND', when: 'No verification has this id (the same answer whatever the reason).' },
    { code: 'ALREADY_VERIFIED', when: 'The verification is complete: there is nothing to resend.' },
    {
      code: 'VERIFICATION_EXPIRED',
      when: 'The verification has ended (`details[0].reason`: `expired`, `superseded` by a newer request-otp, `attempts_exhausted` or `ended_by_provider`): request a new code with request-otp.',
    },
    {
      code: 'VERIFICATION_CANCELLED',
      when: "The integrator's backend cancelled the verification: it takes no new code.",
    },
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    { code: 'PHONE_NUMBER_NOT_ALLOWED', when: 'The SMS provider refuses this number for the method asked for.' },
    'METHOD_NOT_ENABLED',
    {
      code: 'RATE_LIMITED',
      when: 'A new code is not allowed yet; wait `Retry-After` seconds. `details[0].limit`: `number_cooldown`, `number_hour`, `number_day` (the limits of request-otp, which resends count towards) or `ip-request-otp` (shared with request-otp).',
    },
    ...SEND_FAILURES,
  ],
};

function resendOtpRoute(controller: OtpController, limits: OtpRouteLimits): Route {
  return {
    ...resendOtpOperation,
    // A resend sends a code too: it shares request-otp's per-IP limiter (one counter for both routes).
    handlers: [...limits.requestOtp, requireJson(), validateBody(resendOtpBody), controller.resendOtp],
  };
}

/** Its request body follows the server's settings: see verifyOtpRoute. */
const verifyOtpOperation: Operation = {
  method: 'post',
  path: '/api/verify-otp',
  operationId: 'verifyOtp',
  tag: 'Verification',
  summary: 'Check the code the user typed',
  description: [
    'Checks `code` for the verification `verificationId` (returned by request-otp only to whoever asked for the code). On success the number is verified.',
    '',
    "- `verificationId` is required; `phoneNumber` is optional and, when given, must match. Without a matching id every answer is the same 404 `VERIFICATION_NOT_FOUND`, whatever the state of the number. (A server started with VERIFY_BY_PHONE_NUMBER=true also accepts `{phoneNumber, code}` and checks the number's latest code.)",
    "- The code is trimmed and must be 4-10 characters of the server's code type (OTP_CODE_TYPE, said by request-otp's `data.codeType`): digits for `Numeric` (the default), letters for `Alpha` (also digits when calls are offered: a call reads digits), letters or digits for `Alphanumeric`. Anything else is a 400 `VALIDATION_ERROR`, which does not use up an attempt.",
    '- `details[0].method` of `INVALID_CODE` and `TOO_MANY_ATTEMPTS` is how the code in force went out: an automatic fallback may have replaced an SMS that failed with a call ("we are calling you").',
    '- Each code allows OTP_MAX_ATTEMPTS (default 5) wrong tries: read `details[0].attemptsRemaining` on 400 `INVALID_CODE`. After that every try, even the right code, gets 429 `TOO_MANY_ATTEMPTS`: ask for a new code.',
    '- Wrong codes also count per phone number across new codes (OTP_MAX_FAILURES_PER_NUMBER_HOUR, default 10 per hour); over that, 429 `TOO_MANY_ATTEMPTS` until `Retry-After`.',
  ].join('\n'),
  security: PUBLIC,
  responses: {
    200: {
      description: 'The code was right: the number is verified.',
      headers: rateLimitInfoHeaders,
      content: json(verifyOtpResponse, {
        success: {
          summary: 'Success',
          value: {
            status: 'success',
            message: 'Phone number verified.',
            data: {
              verificationId: EXAMPLE.verificationId,
              phoneNumber: EXAMPLE.phoneNumber,
              verified: true,
              verifiedAt: '2026-11-25T18:01:12.000Z',
              verificationToken: EXAMPLE.verificationToken,
            },
          },
        },
      }),
    },
  },
  errors: [
    'INVALID_JSON',
    'VALIDATION_ERROR',
    'INVALID_PHONE_NUMBER',
    'INVALID_CODE',
    'VERIFICATION_NOT_FOUND',
    'ALREADY_VERIFIED',
    'VERIFICATION_EXPIRED',
    'VERIFICATION_CANCELLED',
    'PAYLOAD_TOO_LARGE',
    'UNSUPPORTED_MEDIA_TYPE',
    'TOO_MANY_ATTEMPTS',
    {
      code: 'RATE_LIMITED',
      when: 'Too many verify calls from this network (`details[0].limit: ip-verify-otp`), or the SMS provider refused for load (no `details`). Wait `Retry-After` seconds.',
    },
    'INTERNAL_ERROR',
    'SMS_PROVIDER_ERROR',
    'SMS_PROVIDER_UNAVAILABLE',
    'SERVICE_UNAVAILABLE',
    'REQUEST_TIMEOUT',
  ],
};

/** The body's schema follows OTP_CODE_TYPE, the methods on offer and VERIFY_BY_PHONE_NUMBER. */
function verifyOtpRoute(controller: OtpController, limits: OtpRouteLimits, verifyBody: VerifyOtpBody): Route {
  return {
    ...verifyOtpOperation,
    request: {
      body: jsonBody(verifyBody, {
        description: 'Send as `Content-Type: application/json`, at most 10 kB.',
        fields: {
          phoneNumber:
            'Optional: the same number as in request-otp (any formatting); when given it must match the verification.',
          code: 'The code from the message or the call: 4-10 characters of the code type. Surrounding spaces are trimmed by the server, but send it clean.',
          verificationId:
            'The `verificationId` from request-otp. Required (unless the server runs with VERIFY_BY_PHONE_NUMBER=true).',
        },
        examples: {
          withId: {
            summary: 'The verificationId from request-otp and the code',
            value: { verificationId: EXAMPLE.verificationId, code: '4821' },
          },
          withNumber: {
            summary: 'Also the number, which must match',
            value: { verificationId: EXAMPLE.verificationId, phoneNumber: EXAMPLE.phoneNumber, code: '4821' },
          },
        },
      }),
    },
    handlers: [...limits.verifyOtp, requireJson(), validateBody(verifyBody), controller.verifyOtp],
  };
}
