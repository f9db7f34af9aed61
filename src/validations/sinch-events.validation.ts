import { z } from 'zod';

/** Sinch adds fields over time: unknown keys are kept, not refused (loose objects). */
const identity = z.looseObject({ type: z.string().optional(), endpoint: z.string().min(1).max(32) });

export const verificationRequestEvent = z
  .looseObject({
    event: z.literal('VerificationRequestEvent'),
    id: z.string().min(1).max(64),
    method: z.string().min(1).max(32),
    identity,
    reference: z.string().max(256).optional(),
  })
  .meta({
    id: 'SinchVerificationRequestEvent',
    description: 'Sent when a verification starts. Sinch adds fields over time; unknown fields are accepted.',
  });

export const verificationResultEvent = z
  .looseObject({
    event: z.literal('VerificationResultEvent'),
    id: z.string().min(1).max(64),
    method: z.string().max(32).optional(),
    identity: identity.optional(),
    status: z.string().min(1).max(32),
    reason: z.string().max(128).optional(),
    reference: z.string().max(256).optional(),
  })
  .meta({ id: 'SinchVerificationResultEvent', description: 'The final result of a verification.' });

export const verificationSmsDeliveredEvent = z
  .looseObject({
    event: z.literal('VerificationSmsDeliveredEvent'),
    id: z.string().min(1).max(64),
    smsResult: z.string().min(1).max(32),
    reference: z.string().max(256).optional(),
  })
  .meta({
    id: 'SinchVerificationSmsDeliveredEvent',
    description: 'Whether the SMS reached the handset (`smsResult`: `Successful` or `Failed`).',
  });

export const sinchEvent = z.discriminatedUnion('event', [
  verificationRequestEvent,
  verificationResultEvent,
  verificationSmsDeliveredEvent,
]);

export type VerificationRequestEvent = z.infer<typeof verificationRequestEvent>;
export type VerificationResultEvent = z.infer<typeof verificationResultEvent>;
export type VerificationSmsDeliveredEvent = z.infer<typeof verificationSmsDeliveredEvent>;
export const KNOWN_EVENTS = [
  'VerificationRequestEvent',
  'VerificationResultEvent',
  'VerificationSmsDeliveredEvent',
] as const;

/** What a callback is answered with: Sinch's own format, not this API's envelope (Sinch reads it). */
export const sinchCallbackAnswer = z.strictObject({ action: z.enum(['allow', 'deny']).optional() }).meta({
  id: 'SinchCallbackAnswer',
  description:
    '`{"action":"allow"}` or `{"action":"deny"}` for a VerificationRequestEvent; `{}` for every other event.',
});
export type SinchCallbackAnswer = z.infer<typeof sinchCallbackAnswer>;
