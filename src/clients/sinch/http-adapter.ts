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

/**
 * A lean axios adapter for the Sinch client: one `http(s).request` on the instance's keep-alive
 * agents, a total-time timeout, the body as text. Profiling the service under load put axios's
 * stock Node adapter (proxy lookup from the environment on every call, redirect and decompression
 * machinery, stream plumbing) at a sixth of all CPU per request-otp; the Sinch API needs none of it.
 * Everything else stays axios: the instance, its config, headers and errors (AxiosError with
 * ECONNABORTED on timeout and the socket's code otherwise), so callers cannot tell the difference.
 */
export function leanHttpAdapter(agents: { http: http.Agent; https: https.Agent }): AxiosAdapter {
  return (config: InternalAxiosRequestConfig) =>
    new Promise<AxiosResponse<string>>((resolve, reject) => {
      const url = new URL(`${config.baseURL ?? ''}${config.url ?? ''}`);
      const secure = url.protocol === 'https:';
      const body = typeof config.data === 'string' ? config.data : undefined;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(AxiosHeaders.from(config.headers).toJSON())) {
        if (value !== undefined && value !== null) headers[name] = String(value);
      }
      if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));

      let settled = false;
      const fail = (error: AxiosError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      const request = (secure ? https : http).request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: (config.method ?? 'get').toUpperCase(),
          headers,
          agent: secure ? agents.https : agents.http,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              request.destroy();
              fail(new AxiosError('Sinch answer too large', AxiosError.ERR_BAD_RESPONSE, config, request));
              return;
            }
            chunks.push(chunk);
          });
          response.on('error', (error: NodeJS.ErrnoException) =>
            fail(new AxiosError(error.message, error.code, config, request)),
          );
          response.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve({
              data: Buffer.concat(chunks).toString('utf8'),
              status: response.statusCode ?? 0,
              statusText: response.statusMessage ?? '',
              headers: AxiosHeaders.from(response.headers as Record<string, string>),
              config,
              request,
            });
          });
        },
      );
      // A total deadline (not an idle-socket timeout): a slow trickle must not hold a request.
      const timer = setTimeout(() => {
        fail(new AxiosError(`timeout of ${config.timeout} ms exceeded`, AxiosError.ECONNABORTED, config, request));
        request.destroy();
      }, config.timeout || 60_000);
      request.on('error', (error: NodeJS.ErrnoException) =>
        fail(new AxiosError(error.message, error.code ?? AxiosError.ERR_NETWORK, config, request)),
      );
      request.end(body);
    });
}
