import { AsyncLocalStorage } from 'node:async_hooks';

/** Per-request facts that every log line and the request log need, without threading `req` through services. */
export interface RequestContext {
  requestId: string;
  /** Milliseconds spent waiting for Sinch during this request (summed over calls). */
  sinchMs: number;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Adds time spent waiting for Sinch to the current request, for its request-log line. */
export function addSinchTime(ms: number): void {
  const context = storage.getStore();
  if (context) context.sinchMs += ms;
}
