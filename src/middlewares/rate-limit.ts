import type { Request, RequestHandler, Response } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { AppError } from '../utils/app-error';
import type { StoreFactory } from '../clients/redis/rate-limit-store';

/** One fixed-window limit, refused with RATE_LIMITED naming the limit, its quota and when to retry. */
function windowLimiter(
  logger: Logger,
  options: {
    name: string;
    windowSeconds: number;
    limit: number;
    store: Store | undefined;
    /** The message's subject: "Too many <what>. Try again in N s." */
    what: string;
    keyGenerator?: (req: Request, res: Response) => string;
  },
): RequestHandler {
  const { name, windowSeconds, limit } = options;
  return rateLimit({
    windowMs: windowSeconds * 1000,
    limit,
    identifier: name,
    ...(options.keyGenerator && { keyGenerator: options.keyGenerator }),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: options.store,
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
          message: `Too many ${options.what}. Try again in ${String(res.getHeader('Retry-After') ?? 'a while')} s.`,
          details: [
            {
              limit: name,
              retryAfterSeconds: Number(res.getHeader('Retry-After')) || undefined,
              quota: limit,
              windowSeconds,
            },
          ],
        }),
      );
    },
  });
}

/**
 * Per-client-IP limits on both endpoints (express-rate-limit). The client IP is the socket address
 * unless TRUST_PROXY says which proxies may set X-Forwarded-For, so a forged header cannot dodge it.
 */
export function ipRateLimiters(
  config: Config,
  logger: Logger,
  storeFor: StoreFactory = () => undefined,
): { requestOtp: RequestHandler[]; verifyOtp: RequestHandler[] } {
  const perHour = (name: string, limit: number, what: string): RequestHandler =>
    windowLimiter(logger, { name, windowSeconds: 3600, limit, store: storeFor(`rl:${name}:`), what });
  return {
    requestOtp: [perHour('ip-request-otp', config.rateLimit.requestOtpPerIpHour, 'code requests from this network')],
    verifyOtp: [
      perHour('ip-verify-otp', config.rateLimit.verifyOtpPerIpHour, 'verification attempts from this network'),
    ],
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
  return windowLimiter(logger, {
    name: 'api-key',
    windowSeconds: 60,
    limit: config.rateLimit.serverApiPerKeyMinute,
    store: storeFor('rl:api-key:'),
    what: 'requests with this API key',
    keyGenerator: (_req, res) => String((res.locals.apiKey as { id?: string } | undefined)?.id),
  });
}
