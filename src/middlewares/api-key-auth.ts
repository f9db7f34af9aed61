import type { RequestHandler, Response } from 'express';
import type { ApiKeyIdentity, ApiKeyService } from '../services/api-key.service';
import { AppError } from '../utils/app-error';

const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;

/** The key a request was authenticated with (set by requireApiKey). */
export function apiKeyOf(res: Response): ApiKeyIdentity {
  const key = res.locals.apiKey as ApiKeyIdentity | undefined;
  if (!key) throw new Error('apiKeyOf() used on a route without requireApiKey()');
  return key;
}

/**
 * `Authorization: Bearer <api key>`. A missing, malformed, unknown or revoked key gets the same
 * 401, so the answer tells a caller nothing about which keys exist.
 */
export function requireApiKey(apiKeys: ApiKeyService): RequestHandler {
  return async (req, res, next) => {
    const presented = BEARER.exec(req.get('authorization') ?? '')?.[1];
    const identity = presented === undefined ? undefined : await apiKeys.authenticate(presented);
    if (!identity) {
      next(
        new AppError('UNAUTHORIZED', {
          message: 'This route needs a valid API key: Authorization: Bearer <api key>.',
          headers: { 'WWW-Authenticate': 'Bearer' },
        }),
      );
      return;
    }
    res.locals.apiKey = identity;
    next();
  };
}
