/**
 * An integrator's webhook endpoint on 127.0.0.1: records every delivery with its raw body and
 * headers (signatures are checked by the tests with the `standardwebhooks` package), answers as
 * the test decides, and measures how many deliveries of one webhook-id overlap.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { audit } from './log-audit';

export interface WebhookBody {
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { verificationId: string };
}

export interface ReceivedWebhook {
  id: string;
  headers: Record<string, string>;
  raw: string;
  body: WebhookBody;
  /** 1 for the first delivery of this webhook-id that reached the receiver. */
  nth: number;
  receivedAt: number;
}

/** A status code, a dropped connection (network error) or no answer at all. */
export type Answer = number | 'drop' | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** How to answer a delivery; 200 unless the test says otherwise. May wait before answering. */
  answer: (hook: ReceivedWebhook) => Answer | Promise<Answer>;
  /** The most deliveries of one webhook-id that were ever in progress at the same time. */
  maxOverlapPerId(): number;
  deliveriesOf(predicate: (hook: ReceivedWebhook) => boolean): ReceivedWebhook[];
  close(): Promise<void>;
}

/** A fresh Standard Webhooks secret, registered with the run-wide log audit (it must never be logged). */
export function newWebhookSecret(): string {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  audit.forbidden(secret);
  audit.forbidden(secret.slice('whsec_'.length));
  return secret;
}

/** Checks a delivery exactly as an integrator would, with the `standardwebhooks` package; throws if it fails. */
export function verifyWebhook(hook: ReceivedWebhook, secret: string): WebhookBody {
  return new Webhook(secret).verify(hook.raw, hook.headers) as WebhookBody;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const inProgress = new Map<string, number>();
  const open = new Set<http.ServerResponse>();
  let maxOverlap = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      const id = headers['webhook-id'] ?? '';
      const overlap = (inProgress.get(id) ?? 0) + 1;
      inProgress.set(id, overlap);
      maxOverlap = Math.max(maxOverlap, overlap);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        inProgress.set(id, (inProgress.get(id) ?? 1) - 1);
        open.delete(res);
      };
      res.on('close', finish);
      open.add(res);
      const hook: ReceivedWebhook = {
        id,
        headers,
        raw,
        body: JSON.parse(raw) as WebhookBody,
        nth: received.filter((r) => r.id === id).length + 1,
        receivedAt: Date.now(),
      };
      received.push(hook);
      void Promise.resolve(receiver.answer(hook)).then((answer) => {
        if (answer === 'hang') return;
        if (answer === 'drop') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer, { 'content-type': 'application/json' }).end('{"ok":true}', finish);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks/otp`,
    received,
    answer: () => 200,
    maxOverlapPerId: () => maxOverlap,
    deliveriesOf: (predicate) => received.filter(predicate),
    async close() {
      for (const res of open) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}
