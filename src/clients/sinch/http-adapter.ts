import http from 'node:http';
import https from 'node:https';
import {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

/** Sinch answers are small JSON documents; anything larger is not Sinch and is cut off. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

type Agents = { http: http.Agent; https: https.Agent };

/**
 * A lean axios adapter for the Sinch client: one `http(s).request` on the instance's keep-alive
 * agents, a total-time timeout, the body as text. Profiling the service under load put axios's
 * stock Node adapter (proxy lookup from the environment on every call, redirect and decompression
 * machinery, stream plumbing) at a sixth of all CPU per request-otp; the Sinch API needs none of it.
 * Everything else stays axios: the instance, its config, headers and errors (AxiosError with
 * ECONNABORTED on timeout and the socket's code otherwise), so callers cannot tell the difference.
 */
export function leanHttpAdapter(agents: Agents): AxiosAdapter {
  return (config: InternalAxiosRequestConfig) =>
    new Promise<AxiosResponse<string>>((resolve, reject) => exchange(config, agents, settleOnce(resolve, reject)));
}

/** The adapter's promise: the first of answer, error or deadline settles it and clears the deadline. */
interface Settle {
  deadline(timer: NodeJS.Timeout): void;
  resolve(response: AxiosResponse<string>): void;
  reject(error: AxiosError): void;
}

function settleOnce(resolve: (response: AxiosResponse<string>) => void, reject: (error: AxiosError) => void): Settle {
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const first = () => {
    if (settled) return false;
    settled = true;
    clearTimeout(timer);
    return true;
  };
  return {
    deadline(t) {
      timer = t;
    },
    resolve(response) {
      if (first()) resolve(response);
    },
    reject(error) {
      if (first()) reject(error);
    },
  };
}

/** Sends one request and reads its answer. */
function exchange(config: InternalAxiosRequestConfig, agents: Agents, settle: Settle): void {
  const url = new URL(`${config.baseURL ?? ''}${config.url ?? ''}`);
  const secure = url.protocol === 'https:';
  const body = typeof config.data === 'string' ? config.data : undefined;
  const request = (secure ? https : http).request(
    {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: (config.method ?? 'get').toUpperCase(),
      headers: requestHeaders(config, body),
      agent: secure ? agents.https : agents.http,
    },
    (response) => readAnswer(config, request, response, settle),
  );
  // A total deadline (not an idle-socket timeout): a slow trickle must not hold a request.
  const timer = setTimeout(() => {
    settle.reject(new AxiosError(`timeout of ${config.timeout} ms exceeded`, AxiosError.ECONNABORTED, config, request));
    request.destroy();
  }, config.timeout || 60_000);
  settle.deadline(timer);
  request.on('error', (error: NodeJS.ErrnoException) =>
    settle.reject(new AxiosError(error.message, error.code ?? AxiosError.ERR_NETWORK, config, request)),
  );
  request.end(body);
}

function requestHeaders(config: InternalAxiosRequestConfig, body: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
    if (value !== undefined && value !== null) headers[name] = String(value);
  }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return headers;
}

/** Collects the answer's body as text, up to MAX_RESPONSE_BYTES. */
function readAnswer(
  config: InternalAxiosRequestConfig,
  request: http.ClientRequest,
  response: http.IncomingMessage,
  settle: Settle,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) {
      request.destroy();
      settle.reject(new AxiosError('Sinch answer too large', AxiosError.ERR_BAD_RESPONSE, config, request));
      return;
    }
    chunks.push(chunk);
  });
  response.on('error', (error: NodeJS.ErrnoException) =>
    settle.reject(new AxiosError(error.message, error.code, config, request)),
  );
  response.on('end', () =>
    settle.resolve({
      data: Buffer.concat(chunks).toString('utf8'),
      status: response.statusCode ?? 0,
      statusText: response.statusMessage ?? '',
      headers: AxiosHeaders.from(response.headers as Record<string, string>),
      config,
      request,
    }),
  );
}
