import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Config } from '../../config';
import { leanHttpAdapter } from './http-adapter';
import { isTimeout, transportError } from './sinch.errors';
import { API_PREFIX } from './sinch.requests';
import { applicationAuthorization } from './sinch.signer';
import type { SinchCallObserver, SinchContext, SinchOperation } from './sinch.types';

export interface SinchTransport {
  /**
   * One authenticated call to Sinch; whatever status it answers with is returned. Its duration and
   * outcome go to the observer; no answer at all (timeout, network error) is an AppError.
   */
  send(
    operation: SinchOperation,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    payload?: unknown,
    extraHeaders?: Record<string, string>,
  ): Promise<AxiosResponse<string>>;
  /** Closes the keep-alive connections. */
  close(): void;
}

/**
 * One axios instance with keep-alive, Basic or Application-signed authentication and a timeout.
 * It never logs the Authorization header, the secret or a whole axios error.
 */
export function createSinchTransport({ sinch, logger }: SinchContext, observe: SinchCallObserver): SinchTransport {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  const api = createApi(sinch, { http: httpAgent, https: httpsAgent });

  async function send(
    operation: SinchOperation,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    payload?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<AxiosResponse<string>> {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    const contentType = 'application/json; charset=utf-8';
    const timestamp = new Date().toISOString();
    const started = performance.now();
    let outcome = 'error';
    try {
      const response = await api.request<string>({
        method,
        url: path,
        data: payload === undefined ? undefined : body,
        headers: {
          ...extraHeaders,
          'Content-Type': contentType,
          'x-timestamp': timestamp,
          Authorization: authorization(sinch, method, path, body, contentType, timestamp),
        },
      });
      outcome = String(response.status);
      return response;
    } catch (error) {
      outcome = isTimeout(error) ? 'timeout' : 'network_error';
      throw transportError(logger, operation, error);
    } finally {
      observe({ operation, outcome, durationMs: performance.now() - started });
    }
  }

  return {
    send,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function createApi(sinch: Config['sinch'], agents: { http: http.Agent; https: https.Agent }): AxiosInstance {
  return axios.create({
    baseURL: `${sinch.baseUrl}${API_PREFIX}`,
    timeout: sinch.timeoutMs,
    httpAgent: agents.http,
    httpsAgent: agents.https,
    // Raw text in, so a non-JSON answer is detected here rather than surfacing as a parse crash.
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    maxRedirects: 0,
    headers: { Accept: 'application/json' },
    adapter: leanHttpAdapter(agents),
  });
}

function authorization(
  sinch: Config['sinch'],
  method: string,
  path: string,
  body: string,
  contentType: string,
  timestamp: string,
): string {
  if (sinch.authScheme === 'basic') {
    return `Basic ${Buffer.from(`${sinch.applicationKey}:${sinch.applicationSecret}`).toString('base64')}`;
  }
  return applicationAuthorization(
    { method, path: `${API_PREFIX}${path}`, body, contentType, timestamp },
    sinch.applicationKey,
    sinch.applicationSecret,
  );
}
