import type { Config } from '../config';
import type { UserQueries } from '../db/queries/users';
import type { Clock } from '../utils/clock';

const MINUTE_MS = 60_000;

/** A limit that refused a send, with when it will allow one again. */
export interface LimitRefusal {
  limit: 'number_cooldown' | 'number_hour' | 'number_day' | 'global_minute';
  quota: number;
  windowSeconds: number;
  retryAfterMs: number;
}

export type SendReservation = { ok: true; reservedAt: Date; shard: number } | { ok: false; refusal: LimitRefusal };

/** The per-number rules of who may be sent a code: the Sequelize-backed user service of the design. */
export interface UserService {
  /**
   * Creates the user if missing and claims one send for the number, in ONE statement that checks
   * the cooldown and the hourly and daily limits against the row it locks, then counts the send
   * towards the global per-minute ceiling. Parallel requests cannot all pass a limit.
   */
  reserveSend(phoneNumber: string): Promise<SendReservation>;
  /** Gives a reserved send back, and its slot under the global ceiling, when Sinch certainly did not send. */
  releaseSend(phoneNumber: string, reservation: { reservedAt: Date; shard: number }): Promise<void>;
  /** When the number may request its next code, given the send reserved at `reservedAt`. */
  resendAvailableAt(reservedAt: Date): Date;
  /** Refunds one charged failure (the code was right, or Sinch never judged it). */
  refundFailure(phoneNumber: string, chargedAt: Date): Promise<void>;
}

const QUOTAS = {
  number_cooldown: (otp: Config['otp']) => ({ quota: 1, windowSeconds: otp.resendCooldownSeconds }),
  number_hour: (otp: Config['otp']) => ({ quota: otp.maxSendsPerNumberHour, windowSeconds: 3600 }),
  number_day: (otp: Config['otp']) => ({ quota: otp.maxSendsPerNumberDay, windowSeconds: 86_400 }),
};

export function createUserService(queries: UserQueries, otp: Config['otp'], clock: Clock): UserService {
  const cooldownMs = otp.resendCooldownSeconds * 1000;
  const limits = { cooldownMs, maxPerHour: otp.maxSendsPerNumberHour, maxPerDay: otp.maxSendsPerNumberDay };

  async function reserveSend(phoneNumber: string): Promise<SendReservation> {
    const now = new Date(clock.now());
    const reserved = await queries.reserveSend(phoneNumber, now, limits);
    if (!reserved.ok) {
      const { limit, opensAt } = reserved.refusal;
      return { ok: false, refusal: { limit, ...QUOTAS[limit](otp), retryAfterMs: opensAt.getTime() - now.getTime() } };
    }
    if (reserved.globalSends > otp.globalSendsPerMinute) {
      await queries.releaseSend(phoneNumber, reserved);
      const retryAfterMs = MINUTE_MS - (now.getTime() % MINUTE_MS);
      return {
        ok: false,
        refusal: { limit: 'global_minute', quota: otp.globalSendsPerMinute, windowSeconds: 60, retryAfterMs },
      };
    }
    return { ok: true, reservedAt: reserved.reservedAt, shard: reserved.shard };
  }

  return {
    reserveSend,
    // Starts Sinch refused must not use up everyone's capacity under the global ceiling.
    releaseSend: (phoneNumber, reservation) => queries.releaseSend(phoneNumber, reservation),
    resendAvailableAt: (reservedAt) => new Date(reservedAt.getTime() + cooldownMs),
    refundFailure: (phoneNumber, chargedAt) => queries.refundFailure(phoneNumber, chargedAt),
  };
}
