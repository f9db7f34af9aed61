import type { Logger } from '../config/logger';
import { everyWithTimers, type Every } from './retention.service';

/** How often to look for SMS that went unreported: often enough that a fallback is at most this late. */
const MAX_INTERVAL_SECONDS = 5;

/**
 * With OTP_FALLBACK_AFTER_SECONDS > 0, runs `sweep` (VerificationService.fallBackOverdue) every few
 * seconds: SMS with no delivery report after that long fall back to OTP_FALLBACK_METHOD. Each sweep
 * claims its verifications in the database, so instances sweeping at once never both fall back, and
 * an instance runs one sweep at a time. A failed sweep is logged and tried again at the next tick.
 * Returns what stops it; the promise resolves once a sweep in progress has finished (before the pool closes).
 */
export function scheduleFallbackSweep(
  sweep: () => Promise<number>,
  options: { afterSeconds: number; logger: Logger },
  every: Every = everyWithTimers,
): () => Promise<void> {
  if (options.afterSeconds <= 0) return () => Promise.resolve();
  let running: Promise<void> | undefined;
  const stop = every(Math.min(options.afterSeconds, MAX_INTERVAL_SECONDS) * 1000, () => {
    running ??= sweep()
      .then(
        () => undefined,
        (error: unknown) => {
          options.logger.error('fallback sweep failed; will retry at the next interval', { error });
        },
      )
      .finally(() => {
        running = undefined;
      });
  });
  return async () => {
    stop();
    await running;
  };
}
