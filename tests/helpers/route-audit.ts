/**
 * Every route a test app answered must be in the OpenAPI document that app serves. Checked when the
 * app closes (tests/helpers/test-app.ts), from its request log lines, whose `route` is the pattern of
 * the route Express matched (`req.route`): a route served outside the route table fails every test
 * file that reaches it. The demo page's stylesheet and script are files, not API operations.
 */
import type { Express } from 'express';
import type { LogCapture } from './log-capture';
import { servedDocument } from './openapi';

const STATIC_FILE = /\/[^/]+\.(css|js|mjs|map|png|ico|svg|webp|woff2?|txt|html)$/;

export interface AnsweredRoute {
  method: string;
  /** As an OpenAPI path template: `:id` becomes `{id}`. */
  path: string;
  status: number;
}

/** The method, route pattern and status of every request the app logged as answered by a route. */
export function answeredRoutes(logs: LogCapture): AnsweredRoute[] {
  return logs
    .entries()
    .filter((e) => e.message === 'request completed' && typeof e.route === 'string' && e.route !== 'unmatched')
    .map((e) => ({
      method: String(e.method),
      path: String(e.route).replace(/:(\w+)/g, '{$1}'),
      status: Number(e.status),
    }));
}

/** The answered routes the document does not describe, as `METHOD /path`, once each. */
export function undocumentedRoutes(
  document: { paths: Record<string, Record<string, unknown>> },
  answered: readonly AnsweredRoute[],
): string[] {
  const undocumented = new Set<string>();
  for (const { method, path, status } of answered) {
    if (STATIC_FILE.test(path)) continue;
    const item = document.paths[path];
    // Express answers HEAD with the GET handler; any other method of a documented path gets 405.
    const verb = method === 'HEAD' ? 'get' : method.toLowerCase();
    if (item && (item[verb] !== undefined || status === 405)) continue;
    undocumented.add(`${method} ${path}`);
  }
  return [...undocumented];
}

/** The routes `app` answered (per `logs`) that its served document lacks. */
export async function auditRoutes(app: Express, logs: LogCapture): Promise<string[]> {
  const answered = answeredRoutes(logs);
  return answered.length ? undocumentedRoutes(await servedDocument(app), answered) : [];
}
