import type { IncomingMessage, ServerResponse } from 'node:http';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * Beyond the body limit the emulator keeps reading (and discarding) this much more before it
 * gives up on the connection: answering 413 while the client is still uploading makes most
 * clients report a reset socket instead of the answer.
 */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'too-large'; drained: boolean } | { kind: 'aborted' };

/** Reads the whole request body, up to `limit` bytes. Never rejects. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit + DRAIN_LIMIT_BYTES) {
    return Promise.resolve({ kind: 'too-large', drained: false });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > limit + DRAIN_LIMIT_BYTES) settle({ kind: 'too-large', drained: false });
    });
    req.on('end', () =>
      settle(size > limit ? { kind: 'too-large', drained: true } : { kind: 'ok', body: Buffer.concat(chunks) }),
    );
    req.on('error', () => settle({ kind: 'aborted' }));
    req.on('close', () => settle({ kind: 'aborted' }));
  });
}

/** True when an answer can still be written (the client may have hung up meanwhile). */
export function canAnswer(res: ServerResponse): boolean {
  return !res.headersSent && !res.writableEnded && !res.destroyed;
}

/** Writes a complete answer; silently skips it when the client is already gone. */
export function writeAnswer(
  res: ServerResponse,
  status: number,
  contentType: string,
  payload: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (!canAnswer(res)) return;
  res.writeHead(status, {
    ...headers,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(payload)),
  });
  res.end(payload);
}
