import type { Request, RequestHandler } from 'express';
import type { Logger } from '../config/logger';
import { currentContext } from '../utils/request-context';

/**
 * The route pattern, never the raw URL: bounded and free of user input. Routes are declared with
 * full paths because Express resets req.baseUrl once a router is left (before an error is answered).
 */
export function routeOf(req: Request): string {
  const route = req.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? `${req.baseUrl}${route.path}` : 'unmatched';
}

/** nginx's status for "the client closed the connection before the answer was sent". */
const CLIENT_CLOSED_REQUEST = 499;

/** One line per request when the response is finished: method, route, status, duration, Sinch time. */
export function requestLogger(
  logger: Logger,
  onFinish?: (method: string, route: string, status: number, seconds: number) => void,
): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const context = currentContext();
    let logged = false;
    // 'finish' when the answer went out; only 'close' when the client hung up first (the SMS may
    // still have been sent), and that request must not vanish from the log.
    const complete = () => {
      if (logged) return;
      logged = true;
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_REQUEST;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const route = routeOf(req);
      onFinish?.(req.method, route, status, durationMs / 1000);
      logger.log(status >= 500 ? 'error' : 'info', 'request completed', {
        requestId: context?.requestId,
        method: req.method,
        route,
        status,
        durationMs: Math.round(durationMs * 100) / 100,
        ...(context && context.sinchMs > 0 ? { sinchMs: Math.round(context.sinchMs * 100) / 100 } : {}),
      });
    };
    res.on('finish', complete);
    res.on('close', complete);
    next();
  };
}
