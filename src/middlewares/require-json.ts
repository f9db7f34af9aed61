import type { RequestHandler } from 'express';
import { AppError } from '../utils/app-error';

/** POST bodies must be JSON; anything else gets 415 before validation runs. */
export function requireJson(): RequestHandler {
  return (req, _res, next) => {
    next(req.is('application/json') ? undefined : new AppError('UNSUPPORTED_MEDIA_TYPE'));
  };
}
