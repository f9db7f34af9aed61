import { z } from 'zod';

/** Sinch adds fields over time: unknown keys are kept, not refused (loose objects). */
const identity = z.looseObject({ type: z.string().optional(), endpoint: z.string().min(1).max(32) });

export const verificationRequestEvent = z.looseObject({
  event: z.literal('VerificationRequestEvent'),
  id: z.string().min(1).max(64),
  method: z.string().min(1).max(32),
  identity,
  reference: z.string().max(256).optional(),
});

export const verificationResultEvent = z.looseObject({
  event: z.literal('VerificationResultEvent'),
  id: z.string().min(1).max(64),
  method: z.string().max(32).optional(),
  identity: identity.optional(),
  status: z.string().min(1).max(32),
  reason: z.string().max(128).optional(),
  reference: z.string().max(256).optional(),
});

export const verificationSmsDeliveredEvent = z.looseObject({
  event: z.literal('VerificationSmsDeliveredEvent'),
  id: z.string().min(1).max(64),
  smsResult: z.string().min(1).max(32),
  reference: z.string().max(256).optional(),
});

export const sinchEvent = z.discriminatedUnion('event', [
  verificationRequestEvent,
  verificationResultEvent,
  verificationSmsDeliveredEvent,
]);

export type VerificationRequestEvent = z.infer<typeof verificationRequestEvent>;
export type VerificationResultEvent = z.infer<typeof verificationResultEvent>;
export type VerificationSmsDeliveredEvent = z.infer<typeof verificationSmsDeliveredEvent>;
export type SinchEvent = z.infer<typeof sinchEvent>;
export const KNOWN_EVENTS = [
  'VerificationRequestEvent',
  'VerificationResultEvent',
  'VerificationSmsDeliveredEvent',
] as const;
