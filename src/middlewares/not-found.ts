import type { RequestHandler } from 'express';
import { AppError } from '../utils/app-error';

export function notFound(): RequestHandler {
  return (req, _res, next) => {
    next(
      new AppError('NOT_FOUND', {
        message: `No route for ${req.method} ${req.path.slice(0, 100)}. See /api/docs for the routes this service offers.`,
      }),
    );
  };
}

/** For a known path with the wrong verb: 405 with an Allow header, so the mistake is obvious. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, _res, next) => {
    next(
      new AppError('METHOD_NOT_ALLOWED', {
        message: `${req.method} is not allowed here; use ${allowed.join(' or ')}.`,
        headers: { Allow: allowed.join(', ') },
      }),
    );
  };
}
