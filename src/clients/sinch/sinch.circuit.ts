import { CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, isBrokenCircuitError } from 'cockatiel';
import { AppError, retryAfterSeconds } from '../../utils/app-error';
import { isOutage } from './sinch.errors';
import type { CircuitInfo, SinchContext } from './sinch.types';

export interface SinchCircuit {
  /** Runs one call through the breaker; while it is open, fails fast with SMS_PROVIDER_UNAVAILABLE. */
  guarded<T>(fn: () => Promise<T>): Promise<T>;
  info(): CircuitInfo;
}

/**
 * The circuit breaker in front of Sinch: SINCH_CIRCUIT_FAILURE_THRESHOLD outages in a row open it for
 * the cooldown, then one probe decides. Each change of state is logged once.
 */
export function createSinchCircuit({ sinch, logger }: SinchContext): SinchCircuit {
  const cooldownMs = sinch.circuitCooldownSeconds * 1000;
  const breaker = circuitBreaker(handleWhen(isOutage), {
    halfOpenAfter: cooldownMs,
    breaker: new ConsecutiveBreaker(sinch.circuitFailureThreshold),
  });
  let openedAt = 0;
  breaker.onBreak(() => {
    openedAt = Date.now();
    logger.error('Sinch circuit opened: failing fast', {
      consecutiveFailures: sinch.circuitFailureThreshold,
      cooldownSeconds: sinch.circuitCooldownSeconds,
    });
  });
  breaker.onHalfOpen(() => logger.warn('Sinch circuit half-open: probing with the next request'));
  breaker.onReset(() => logger.info('Sinch circuit closed: Sinch answers again'));

  return {
    async guarded<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await breaker.execute(fn);
      } catch (error) {
        if (isBrokenCircuitError(error)) {
          const waitMs = Math.max(0, openedAt + cooldownMs - Date.now());
          throw new AppError('SMS_PROVIDER_UNAVAILABLE', {
            message: 'The SMS provider is failing; requests are paused briefly. Try again shortly.',
            retryAfterSeconds: retryAfterSeconds(waitMs),
            cause: error,
          });
        }
        throw error;
      }
    },

    info() {
      const state =
        breaker.state === CircuitState.Closed
          ? 'closed'
          : breaker.state === CircuitState.HalfOpen
            ? 'half-open'
            : 'open';
      return state === 'open' ? { state, retryAt: openedAt + cooldownMs } : { state };
    },
  };
}
