/**
 * What the domain reports for observability to count: declared here, beside the metrics that
 * implement it, so the services depend on observability and never the other way round.
 */
import type { OtpMethod } from '../config';

/** What an event is about, as bounded metric labels. */
export interface OtpEventLabels {
  /** One of OTP_PURPOSES; null or absent: the verification has none, or is not known yet. */
  purpose?: string | null;
  /** OTP_TEST_NUMBERS, counted apart. */
  testNumber?: boolean;
}

/** What the funnel metrics and logs count; reasons are a small fixed set. Labels absent: a real number, no purpose. */
export interface OtpEvents {
  requested(labels?: OtpEventLabels): void;
  sent(labels?: OtpEventLabels & { method: OtpMethod }): void;
  refused(reason: string, labels?: OtpEventLabels): void;
  verified(labels?: OtpEventLabels): void;
  failed(reason: string, labels?: OtpEventLabels): void;
}

export type WebhookDeliveryOutcome = 'delivered' | 'retrying' | 'failed';

/** Counts each attempt by event type and outcome (the metrics). */
export type WebhookDeliveryObserver = (type: string, outcome: WebhookDeliveryOutcome) => void;
