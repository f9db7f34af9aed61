/**
 * Real sockets on 127.0.0.1: ports nothing listens on, connection probes, and JSON over HTTP to a
 * server started as a child process (where supertest cannot reach).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** A loopback port nothing listens on (bound, then released): connections to it are refused at once. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A port for a server about to start: nothing listens on it, so the server can take it. */
export const freePort = closedPort;

/**
 * Resolves with the connect error code (ECONNREFUSED...), or 'connected' when something accepts
 * connections on `host`:`port` (127.0.0.1 unless given).
 */
export function tryConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

/**
 * Probes `port` until a connection fails or `timeoutMs` pass (a server closes its listening socket
 * a moment after it decides to); resolves with the last outcome, 'connected' if it never closed.
 */
export async function connectOutcomeWithin(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let outcome: string;
  do outcome = await tryConnect(port);
  while (outcome === 'connected' && Date.now() < deadline);
  return outcome;
}

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
}

function jsonAnswer(resolve: (answer: JsonAnswer) => void, reject: (error: unknown) => void) {
  return (res: http.IncomingMessage) => {
    let text = '';
    res.on('data', (c: Buffer) => (text += c.toString('utf8')));
    res.on('end', () => {
      try {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
      } catch (error) {
        reject(error);
      }
    });
  };
}

/** POSTs `body` as JSON to 127.0.0.1:`port` through `agent` (keep-alive or not, as the test needs). */
export function postJson(port: number, agent: http.Agent, urlPath: string, body: unknown): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      jsonAnswer(resolve, reject),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** GETs a JSON answer from 127.0.0.1:`port` through `agent`. */
export function getJson(port: number, agent: http.Agent, urlPath: string): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent }, jsonAnswer(resolve, reject)).on('error', reject);
  });
}
