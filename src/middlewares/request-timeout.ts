import type { RequestHandler } from 'express';
import { AppError } from '../utils/app-error';

/**
 * Answers 503 REQUEST_TIMEOUT when a request runs longer than `ms` (a stuck dependency), so the
 * client is never left hanging; the late handler's own answer is then dropped by the error handler.
 */
export function requestTimeout(ms: number): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) next(new AppError('REQUEST_TIMEOUT', { retryAfterSeconds: 5 }));
    }, ms);
    timer.unref();
    res.once('finish', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    next();
  };
}
