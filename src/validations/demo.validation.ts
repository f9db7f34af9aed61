import { z } from 'zod';
import { e164, successEnvelope } from './api.validation';

export const emulatorInboxQuery = z.object({
  phoneNumber: z.string({ error: 'phoneNumber is required, once, as a query parameter' }).meta({
    description:
      'The number, formatted as for request-otp. URL-encode the `+` as `%2B` (an unencoded `+` that arrives as a leading space is tolerated).',
    examples: ['+46701234567'],
  }),
});

/** What the page is told about a message (its `verificationId` and `reference` are emulator internals). */
export const inboxEntry = z.strictObject({
  to: e164.meta({ description: 'The number the message was sent to.' }),
  code: z.string().meta({ description: 'The code in the message; empty when the message was never delivered.' }),
  sentAt: z.iso.datetime(),
  delivered: z.boolean(),
  method: z
    .enum(['sms', 'callout', 'whatsapp', 'flashcall', 'seamless'])
    .meta({ description: 'How it reached the phone: `sms`, a voice `callout` reading the code, or `whatsapp`.' }),
  locale: z
    .string()
    .optional()
    .meta({ description: "Its language (BCP 47); absent when none was asked for and Sinch's default applies." }),
});
export type InboxEntry = z.infer<typeof inboxEntry>;

export const emulatorInbox = z
  .strictObject({ messages: z.array(inboxEntry).max(10).meta({ description: 'Newest first.' }) })
  .meta({ id: 'EmulatorInbox' });

export const emulatorInboxResponse = successEnvelope(emulatorInbox);
export type EmulatorInbox = z.infer<typeof emulatorInbox>;
