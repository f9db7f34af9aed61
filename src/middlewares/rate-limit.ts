import type { RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { AppError } from '../utils/app-error';

const HOUR_MS = 3_600_000;

export type StoreFactory = (prefix: string) => Store | undefined;

/**
 * Per-client-IP limits on both endpoints (express-rate-limit). The client IP is the socket address
 * unless TRUST_PROXY says which proxies may set X-Forwarded-For, so a forged header cannot dodge it.
 */
export function ipRateLimiters(
  config: Config,
  logger: Logger,
  storeFor: StoreFactory = () => undefined,
): { requestOtp: RequestHandler[]; verifyOtp: RequestHandler[] } {
  const limiter = (name: string, limit: number, what: string): RequestHandler =>
    rateLimit({
      windowMs: HOUR_MS,
      limit,
      identifier: name,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: storeFor(`rl:${name}:`),
      // We decide deliberately whether X-Forwarded-For is believed (TRUST_PROXY); the library's
      // console warnings about it would only repeat that decision.
      validate: { xForwardedForHeader: false, trustProxy: false, forwardedHeader: false },
      logger: {
        error: (error: unknown, message?: string) => logger.error(message ?? 'rate limiter error', { error }),
        warn: (message: unknown) => logger.warn(String(message)),
      },
      handler: (_req, res, next) => {
        next(
          new AppError('RATE_LIMITED', {
            message: `Too many ${what} from this network. Try again in ${String(res.getHeader('Retry-After') ?? 'a while')} s.`,
            details: [
              {
                limit: name,
                retryAfterSeconds: Number(res.getHeader('Retry-After')) || undefined,
                quota: limit,
                windowSeconds: 3600,
              },
            ],
          }),
        );
      },
    });
  return {
    requestOtp: [limiter('ip-request-otp', config.rateLimit.requestOtpPerIpHour, 'code requests')],
    verifyOtp: [limiter('ip-verify-otp', config.rateLimit.verifyOtpPerIpHour, 'verification attempts')],
  };
}

/**
 * The server-side API's limit: requests per API key per minute. Backends call from a few addresses
 * on behalf of many users, so the per-IP limits of the public routes would be the wrong measure;
 * runs after requireApiKey, which names the key.
 */
export function apiKeyRateLimiter(
  config: Config,
  logger: Logger,
  storeFor: StoreFactory = () => undefined,
): RequestHandler {
  const limit = config.rateLimit.serverApiPerKeyMinute;
  return rateLimit({
    windowMs: 60_000,
    limit,
    identifier: 'api-key',
    keyGenerator: (_req, res) => String((res.locals.apiKey as { id?: string } | undefined)?.id),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: storeFor('rl:api-key:'),
    validate: { xForwardedForHeader: false, trustProxy: false, forwardedHeader: false },
    logger: {
      error: (error: unknown, message?: string) => logger.error(message ?? 'rate limiter error', { error }),
      warn: (message: unknown) => logger.warn(String(message)),
    },
    handler: (_req, res, next) => {
      next(
        new AppError('RATE_LIMITED', {
          message: `Too many requests with this API key. Try again in ${String(res.getHeader('Retry-After') ?? 'a while')} s.`,
          details: [
            {
              limit: 'api-key',
              retryAfterSeconds: Number(res.getHeader('Retry-After')) || undefined,
              quota: limit,
              windowSeconds: 60,
            },
          ],
        }),
      );
    },
  });
}
