import type { RequestHandler } from 'express';
import type { Config } from '../config';
import type { Logger } from '../config/logger';
import { verifyApplicationSignature } from '../clients/sinch/sinch.signer';
import { AppError } from '../utils/app-error';
import type { Clock } from '../utils/clock';

/** The one answer to every refused callback, whatever failed (key, signature, timestamp, header). */
const REFUSED = 'The callback is not signed by Sinch for this application.';

/**
 * Authenticates a Sinch callback: `Authorization: Application {key}:{signature}` over the RAW body,
 * the Content-Type as received, x-timestamp and this callback's path, with a bounded clock skew.
 * Every refusal gets the same 401 body; the log line names the reason. Needs `req.body` to be the raw Buffer (express.raw on this route). Refusals change nothing.
 */
export function verifySinchSignature(
  sinch: Pick<Config['sinch'], 'applicationKey' | 'applicationSecret' | 'callbackMaxSkewSeconds'>,
  logger: Logger,
  clock: Clock,
): RequestHandler {
  return (req, _res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const check = verifyApplicationSignature(
      req.get('authorization'),
      {
        method: req.method,
        path: req.originalUrl.split('?')[0] ?? req.path,
        contentType: req.get('content-type') ?? '',
        timestamp: req.get('x-timestamp') ?? '',
        body: raw,
      },
      { applicationKey: sinch.applicationKey, applicationSecret: sinch.applicationSecret },
      { nowMs: clock.now(), maxSkewSeconds: sinch.callbackMaxSkewSeconds },
    );
    if (!check.ok) {
      // Which part failed is for the operator's log only: the caller learns nothing it could probe with.
      logger.warn('Sinch callback refused: signature check failed', { reason: check.reason });
      next(new AppError('UNAUTHORIZED', { message: REFUSED }));
      return;
    }
    next();
  };
}
