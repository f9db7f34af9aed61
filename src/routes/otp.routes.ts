import type { RequestHandler } from 'express';
import type { otpController } from '../controllers/otp.controller';
import { requireJson } from '../middlewares/require-json';
import { validateBody, validateHeader } from '../middlewares/validate';
import { EXAMPLE, rateLimitInfoHeaders } from '../validations/api.validation';
import {
  idempotencyKeyHeader,
  idempotentReplayedHeader,
  requestOtpBody,
  requestOtpResponse,
  verifyOtpBody,
  verifyOtpByPhoneBody,
  verifyOtpResponse,
} from '../validations/otp.validation';
import { json, jsonBody, PUBLIC, type Route } from './route-table';

export interface OtpRouteLimits {
  requestOtp: RequestHandler[];
  verifyOtp: RequestHandler[];
}

export function otpRoutes(
  controller: ReturnType<typeof otpController>,
  limits: OtpRouteLimits,
  options: { verifyByPhoneNumber: boolean },
): Route[] {
  const verifyBody = options.verifyByPhoneNumber ? verifyOtpByPhoneBody : verifyOtpBody;
  return [
    {
      method: 'post',
      path: '/api/request-otp',
      operationId: 'requestOtp',
      tag: 'Verification',
      summary: 'Send a one-time code by SMS',
      description: [
        'Sends a code to `phoneNumber` and starts a verification. Next step: `POST /api/verify-otp` with `data.verificationId` and the code the user typed.',
        '',
        '- The number may contain spaces, dashes, dots and parentheses; it is normalised to E.164 and returned in `data.phoneNumber`. Without a leading `+` it is accepted only when the server sets `DEFAULT_COUNTRY`.',
        '- The code works until `data.expiresAt` (at most 10 minutes). Requesting again replaces the previous code, which then stops working.',
        '- Enable the "resend" button at `data.resendAvailableAt`; an earlier request gets 429 `RATE_LIMITED` with `Retry-After`.',
        '- The answer is the same whether or not the number has an account or was verified before.',
        '- Send an `Idempotency-Key` so a retry after a network error cannot send a second SMS.',
      ].join('\n'),
      security: PUBLIC,
      request: {
        headers: {
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
            method: 'Optional; `sms` is the only method.',
            purpose:
              'Optional: what the code is for, one of OTP_PURPOSES (default `signup`, `login`, `password_reset`, `phone_change`, `transaction`; anything else is a 400 `VALIDATION_ERROR` on field `purpose`). Stored, echoed in `data.purpose`, and put in the verification token, so your backend can refuse a proof made for another action.',
          },
          examples: {
            e164: { summary: 'International format', value: { phoneNumber: EXAMPLE.phoneNumber } },
            typed: { summary: 'As a person types it', value: { phoneNumber: '+46 (70) 123-45 67', method: 'sms' } },
            withPurpose: {
              summary: 'For a password reset',
              value: { phoneNumber: EXAMPLE.phoneNumber, purpose: 'password_reset' },
            },
          },
        }),
      },
      responses: {
        200: {
          description:
            'The code was sent. Show the code input and start the resend countdown from `resendAvailableAt`.',
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
                data: {
                  verificationId: EXAMPLE.verificationId,
                  phoneNumber: EXAMPLE.phoneNumber,
                  method: 'sms',
                  purpose: null,
                  expiresAt: '2026-11-25T18:10:00.000Z',
                  resendAvailableAt: '2026-11-25T18:00:30.000Z',
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
        'IDEMPOTENCY_REQUEST_IN_PROGRESS',
        'PAYLOAD_TOO_LARGE',
        'UNSUPPORTED_MEDIA_TYPE',
        'PHONE_NUMBER_NOT_ALLOWED',
        'IDEMPOTENCY_KEY_REUSED',
        {
          code: 'RATE_LIMITED',
          when: 'Too many codes requested; wait `Retry-After` seconds (keep the resend button disabled until then). `details[0].limit` says which limit: `number_cooldown` (a code was just sent to this number), `number_hour` / `number_day` (sends per number), `ip-request-otp` (requests from this network); no `details` when the SMS provider itself refused for load.',
        },
        'INTERNAL_ERROR',
        'SMS_PROVIDER_ERROR',
        'SMS_PROVIDER_UNAVAILABLE',
        'SEND_CAPACITY_EXCEEDED',
        'SERVICE_UNAVAILABLE',
        'REQUEST_TIMEOUT',
      ],
      handlers: [
        ...limits.requestOtp,
        requireJson(),
        validateHeader('Idempotency-Key', idempotencyKeyHeader),
        validateBody(requestOtpBody),
        controller.requestOtp,
      ],
    },
    {
      method: 'post',
      path: '/api/verify-otp',
      operationId: 'verifyOtp',
      tag: 'Verification',
      summary: 'Check the code the user typed',
      description: [
        'Checks `code` for the verification `verificationId` (returned by request-otp only to whoever asked for the code). On success the number is verified.',
        '',
        "- `verificationId` is required; `phoneNumber` is optional and, when given, must match. Without a matching id every answer is the same 404 `VERIFICATION_NOT_FOUND`, whatever the state of the number. (A server started with VERIFY_BY_PHONE_NUMBER=true also accepts `{phoneNumber, code}` and checks the number's latest code.)",
        '- The code is trimmed and must be 4-10 letters or digits; anything else is a 400 `VALIDATION_ERROR`, which does not use up an attempt.',
        '- Each code allows OTP_MAX_ATTEMPTS (default 5) wrong tries: read `details[0].attemptsRemaining` on 400 `INVALID_CODE`. After that every try, even the right code, gets 429 `TOO_MANY_ATTEMPTS`: ask for a new code.',
        '- Wrong codes also count per phone number across new codes (OTP_MAX_FAILURES_PER_NUMBER_HOUR, default 10 per hour); over that, 429 `TOO_MANY_ATTEMPTS` until `Retry-After`.',
      ].join('\n'),
      security: PUBLIC,
      request: {
        body: jsonBody(verifyBody, {
          description: 'Send as `Content-Type: application/json`, at most 10 kB.',
          fields: {
            phoneNumber:
              'Optional: the same number as in request-otp (any formatting); when given it must match the verification.',
            code: 'The code from the SMS: 4-10 letters or digits. Surrounding spaces are trimmed by the server, but send it clean: this schema describes the trimmed value.',
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
      handlers: [...limits.verifyOtp, requireJson(), validateBody(verifyBody), controller.verifyOtp],
    },
  ];
}
