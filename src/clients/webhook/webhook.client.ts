import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config';
import { systemClock, type Clock } from '../../utils/clock';

/** One event as the receiver gets it; `id` is the webhook-id, the same on every attempt. */
export interface WebhookMessage {
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export type DeliveryOutcome =
  | { ok: true; status: number }
  /** `error` is short and safe to store and log: "HTTP 503", "timeout", "ECONNREFUSED". */
  | { ok: false; kind: 'http' | 'timeout' | 'network'; error: string };

export interface WebhookClient {
  /** Signs and POSTs one attempt; resolves with its outcome, never rejects. */
  send(message: WebhookMessage): Promise<DeliveryOutcome>;
  close(): void;
}

/** Keys first in a stable, readable order; anything an event type adds follows. */
const DATA_ORDER = ['verificationId', 'phoneNumber', 'purpose', 'method', 'status'];

/** The exact bytes that are signed and sent: `{type, timestamp, data}`. */
export function webhookBody(message: WebhookMessage): string {
  const data: Record<string, unknown> = {};
  for (const key of DATA_ORDER) data[key] = message.data[key] ?? null;
  for (const [key, value] of Object.entries(message.data)) if (!(key in data)) data[key] = value;
  return JSON.stringify({ type: message.type, timestamp: new Date(message.occurredAt).toISOString(), data });
}

/** A receiver's answer body is never read; past this much it is not even drained. */
const MAX_DRAIN_BYTES = 64 * 1024;

/**
 * Delivers webhooks signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature
 * `v1,<base64 HMAC-SHA256>`, made by the `standardwebhooks` package). The timeout is a total
 * deadline for the whole exchange, so a receiver that trickles bytes cannot hold a slot. Nothing
 * here logs: bodies hold phone numbers and the URL may hold credentials.
 */
export function createWebhookClient(config: Config['webhooks'], clock: Clock = systemClock): WebhookClient {
  const signer = new Webhook(config.secret);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const api: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    responseType: 'stream',
    validateStatus: () => true,
    // A redirect is not a delivery: the operator configured this exact URL.
    maxRedirects: 0,
    headers: { 'Content-Type': 'application/json', 'User-Agent': 'otp-verification-service-webhooks' },
  });

  async function send(message: WebhookMessage): Promise<DeliveryOutcome> {
    const body = webhookBody(message);
    const sentAt = new Date(clock.now());
    const headers = {
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
      'webhook-signature': signer.sign(message.id, sentAt, body),
    };
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), config.timeoutMs);
    try {
      const response = await api.post<NodeJS.ReadableStream & { destroy(): void }>(config.url, body, {
        headers,
        signal: deadline.signal,
      });
      await drain(response.data, deadline.signal);
      return response.status >= 200 && response.status < 300
        ? { ok: true, status: response.status }
        : { ok: false, kind: 'http', error: `HTTP ${response.status}` };
    } catch (error) {
      if (deadline.signal.aborted) return { ok: false, kind: 'timeout', error: `timeout after ${config.timeoutMs} ms` };
      const code = error instanceof AxiosError ? error.code : undefined;
      return { ok: false, kind: 'network', error: code ?? 'network error' };
    } finally {
      clearTimeout(timer);
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

/** Reads and discards the answer (so the socket can be reused), up to MAX_DRAIN_BYTES and the deadline. */
function drain(stream: NodeJS.ReadableStream & { destroy(): void }, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let size = 0;
    const done = () => {
      signal.removeEventListener('abort', stop);
      resolve();
    };
    const stop = () => {
      stream.destroy();
      done();
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_DRAIN_BYTES) stop();
    });
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    signal.addEventListener('abort', stop, { once: true });
  });
}
