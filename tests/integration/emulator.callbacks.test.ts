import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applicationAuthorization, verifyApplicationSignature } from '../../src/clients/sinch/sinch.signer';
import {
  createSinchEmulator,
  sandboxNumber,
  type EmulatorOptions,
  type SinchEmulator,
} from '../../src/emulator/sinch-emulator';

const KEY = 'callback-test-key';
const SECRET = Buffer.from('callback-test-secret').toString('base64');
const API = '/verification/v1/verifications';
const CALLBACK_PATH = '/hooks/sinch';

type ParsedJson = ReturnType<typeof JSON.parse>;

interface ReceivedCallback {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  event: ParsedJson;
}

interface ReceiverAnswer {
  status?: number;
  body?: string;
  delayMs?: number;
}

interface Receiver {
  url: string;
  received: ReceivedCallback[];
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** A tiny callback receiver; `answer` decides per event what it replies. */
async function startReceiver(answer: (event: ParsedJson) => ReceiverAnswer = () => ({})): Promise<Receiver> {
  const received: ReceivedCallback[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let rawBody = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (rawBody += chunk));
    req.on('end', () => {
      const event: ParsedJson = JSON.parse(rawBody);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawBody, event });
      const reply = answer(event);
      const send = (): void => {
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) timers.add(setTimeout(send, reply.delayMs));
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${CALLBACK_PATH}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  cleanups.push(() => receiver.close());
  return receiver;
}

async function startEmulator(options: Partial<EmulatorOptions>): Promise<SinchEmulator> {
  const emulator = await createSinchEmulator({ applicationKey: KEY, applicationSecret: SECRET, ...options });
  cleanups.unshift(() => emulator.close());
  return emulator;
}

async function call(
  emulator: SinchEmulator,
  method: string,
  path: string,
  body?: unknown,
  authorization?: string,
  headers: Record<string, string> = {},
) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const timestamp = new Date().toISOString();
  const contentType = 'application/json';
  const response = await fetch(`${emulator.url}${path}`, {
    method,
    headers: {
      ...headers,
      'content-type': contentType,
      'x-timestamp': timestamp,
      authorization:
        authorization ?? applicationAuthorization({ method, path, contentType, timestamp, body: text }, KEY, SECRET),
    },
    ...(body === undefined ? {} : { body: text }),
  });
  const json: ParsedJson = JSON.parse(await response.text());
  return { status: response.status, json };
}

let counter = 0;
function phone(): string {
  counter += 1;
  return `+4676${String(process.pid % 1000).padStart(3, '0')}${String(5000 + counter).padStart(4, '0')}`;
}

function start(
  emulator: SinchEmulator,
  endpoint: string,
  extra: Record<string, unknown> = {},
  authorization?: string,
  headers: Record<string, string> = {},
) {
  return call(
    emulator,
    'POST',
    API,
    { identity: { type: 'number', endpoint }, method: 'sms', ...extra },
    authorization,
    headers,
  );
}

function eventsOf(receiver: Receiver, name: string): ParsedJson[] {
  return receiver.received.filter((r) => r.event.event === name).map((r): ParsedJson => r.event);
}

describe('Callbacks', () => {
  test('When a verification starts, then a signed VerificationRequestEvent reaches the callback URL before the start answers', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: `${receiver.url}?tenant=1` });
    const endpoint = phone();

    const answer = await start(emulator, endpoint, { reference: 'cb-ref', custom: 'cb-custom' }, undefined, {
      'accept-language': 'sv-SE, en',
    });

    expect(answer.status).toBe(200);
    const first = receiver.received[0]!;
    expect(first.method).toBe('POST');
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.headers['x-timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const check = verifyApplicationSignature(
      first.headers.authorization,
      {
        method: 'POST',
        path: CALLBACK_PATH,
        contentType: String(first.headers['content-type']),
        timestamp: String(first.headers['x-timestamp']),
        body: first.rawBody,
      },
      { applicationKey: KEY, applicationSecret: SECRET },
      { nowMs: Date.now(), maxSkewSeconds: 60 },
    );
    expect(check).toEqual({ ok: true, applicationKey: KEY });
    expect(first.event).toEqual({
      id: answer.json.id,
      event: 'VerificationRequestEvent',
      method: 'sms',
      identity: { type: 'number', endpoint },
      price: { amount: expect.any(Number), currencyId: 'EUR' },
      rate: { amount: 0, currencyId: 'EUR' },
      reference: 'cb-ref',
      custom: 'cb-custom',
      acceptLanguage: ['sv-SE', 'en'],
    });
  });

  test('When callbackKey and callbackSecret are set, then callbacks are signed with them', async () => {
    const receiver = await startReceiver();
    const callbackSecret = Buffer.from('other-callback-secret').toString('base64');
    const emulator = await startEmulator({ callbackUrl: receiver.url, callbackKey: 'cb-key', callbackSecret });

    await start(emulator, phone());

    const first = receiver.received[0]!;
    const check = verifyApplicationSignature(
      first.headers.authorization,
      {
        method: 'POST',
        path: CALLBACK_PATH,
        contentType: String(first.headers['content-type']),
        timestamp: String(first.headers['x-timestamp']),
        body: first.rawBody,
      },
      { applicationKey: 'cb-key', applicationSecret: callbackSecret },
      { nowMs: Date.now(), maxSkewSeconds: 60 },
    );
    expect(check.ok).toBe(true);
  });

  test('When the callback answers deny, then the start answers 200 with an id, no SMS is sent, and the verification is DENIED', async () => {
    const receiver = await startReceiver((event) =>
      event.event === 'VerificationRequestEvent' ? { body: '{"action":"deny"}' } : {},
    );
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const endpoint = phone();

    const answer = await start(emulator, endpoint);
    await emulator.flushCallbacks();

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id: expect.any(String), method: 'sms' });
    expect(emulator.inbox).toEqual([]);
    expect(emulator.lastCodeFor(endpoint)).toBeUndefined();
    const status = await call(emulator, 'GET', `${API}/id/${answer.json.id}`);
    expect(status.json).toMatchObject({ status: 'DENIED', reason: 'Denied by callback' });
    const report = await call(emulator, 'PUT', `${API}/id/${answer.json.id}`, { method: 'sms', sms: { code: '1234' } });
    expect(report.json).toEqual({ id: answer.json.id, method: 'sms', status: 'DENIED', reason: 'Denied by callback' });
    expect(eventsOf(receiver, 'VerificationSmsDeliveredEvent')).toEqual([]);
  });

  test('When the callback answers allow with its own code, then that code is sent and verifies', async () => {
    const receiver = await startReceiver(() => ({
      body: JSON.stringify({ action: 'allow', sms: { code: '9876', expiry: '00:00:30' } }),
    }));
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const endpoint = phone();

    const answer = await start(emulator, endpoint);
    const report = await call(emulator, 'PUT', `${API}/number/${endpoint}`, { method: 'sms', sms: { code: '9876' } });

    expect(emulator.inbox).toMatchObject([{ to: endpoint, code: '9876' }]);
    expect(report.json).toEqual({ id: answer.json.id, method: 'sms', status: 'SUCCESSFUL' });
  });

  test('When an SMS is sent, then a VerificationSmsDeliveredEvent says Successful, or Failed for the undelivered sandbox range', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const endpoint = phone();

    const delivered = await start(emulator, endpoint, { reference: 'sms-ok' });
    const lost = await start(emulator, sandboxNumber('undelivered', 4));
    await emulator.flushCallbacks();

    expect(eventsOf(receiver, 'VerificationSmsDeliveredEvent')).toEqual([
      {
        id: delivered.json.id,
        event: 'VerificationSmsDeliveredEvent',
        method: 'sms',
        identity: { type: 'number', endpoint },
        smsResult: 'Successful',
        reference: 'sms-ok',
      },
      {
        id: lost.json.id,
        event: 'VerificationSmsDeliveredEvent',
        method: 'sms',
        identity: { type: 'number', endpoint: sandboxNumber('undelivered', 4) },
        smsResult: 'Failed',
      },
    ]);
  });

  test('When SMS to a number fail by undeliveredNumbers or failSmsDelivery, then the delivery event says Failed; calls and WhatsApp get no delivery event', async () => {
    const receiver = await startReceiver();
    const listed = phone();
    const marked = phone();
    const emulator = await startEmulator({ callbackUrl: receiver.url, undeliveredNumbers: [listed] });
    emulator.failSmsDelivery(marked);

    const first = await start(emulator, listed, { reference: 'lost-1' });
    const second = await start(emulator, marked);
    await start(emulator, marked, { method: 'callout' });
    await start(emulator, marked, { method: 'whatsapp' });
    await emulator.flushCallbacks();

    expect(eventsOf(receiver, 'VerificationSmsDeliveredEvent')).toEqual([
      {
        id: first.json.id,
        event: 'VerificationSmsDeliveredEvent',
        method: 'sms',
        identity: { type: 'number', endpoint: listed },
        smsResult: 'Failed',
        reference: 'lost-1',
      },
      {
        id: second.json.id,
        event: 'VerificationSmsDeliveredEvent',
        method: 'sms',
        identity: { type: 'number', endpoint: marked },
        smsResult: 'Failed',
      },
    ]);
    expect(eventsOf(receiver, 'VerificationRequestEvent').map((e): unknown => e.method)).toEqual([
      'sms',
      'sms',
      'callout',
      'whatsapp',
    ]);
  });

  test('When deliveryReportDelayMs is set, then the delivery event leaves only that long after the start answered', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url, deliveryReportDelayMs: 200 });

    const answer = await start(emulator, phone());
    const answeredAt = Date.now();
    const early = eventsOf(receiver, 'VerificationSmsDeliveredEvent');
    await emulator.flushCallbacks();

    expect(answer.status).toBe(200);
    expect(early).toEqual([]);
    const delivery = emulator.callbackDeliveries.find((d) => d.event === 'VerificationSmsDeliveredEvent')!;
    expect(delivery.at).toBeGreaterThanOrEqual(answeredAt + 150);
    expect(eventsOf(receiver, 'VerificationSmsDeliveredEvent')).toEqual([
      expect.objectContaining({ id: answer.json.id, smsResult: 'Successful' }),
    ]);
  });

  test('When the emulator closes while a delivery report waits for its delay, then the report is dropped and close() does not wait for it', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url, deliveryReportDelayMs: 60_000 });
    await start(emulator, phone());

    const started = Date.now();
    await emulator.close();

    expect(Date.now() - started).toBeLessThan(1000);
    expect(eventsOf(receiver, 'VerificationSmsDeliveredEvent')).toEqual([]);
  });

  test('When the right code is reported, then a VerificationResultEvent with the final status follows', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const endpoint = phone();
    const answer = await start(emulator, endpoint, { reference: 'result-ref', custom: 'c' });

    await call(emulator, 'PUT', `${API}/id/${answer.json.id}`, {
      method: 'sms',
      sms: { code: emulator.lastCodeFor(endpoint) },
    });
    await emulator.flushCallbacks();

    expect(eventsOf(receiver, 'VerificationResultEvent')).toEqual([
      {
        id: answer.json.id,
        event: 'VerificationResultEvent',
        method: 'sms',
        identity: { type: 'number', endpoint },
        status: 'SUCCESSFUL',
        reference: 'result-ref',
        source: 'manual',
        custom: 'c',
      },
    ]);
  });

  test('When wrong codes exhaust the attempts, then one VerificationResultEvent FAIL "Invalid code"; a pending wrong code sends none', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url, maxReportAttempts: 2 });
    const endpoint = phone();
    const answer = await start(emulator, endpoint);
    const wrong = emulator.lastCodeFor(endpoint) === '0000' ? '1111' : '0000';

    await call(emulator, 'PUT', `${API}/id/${answer.json.id}`, { method: 'sms', sms: { code: wrong } });
    await emulator.flushCallbacks();
    expect(eventsOf(receiver, 'VerificationResultEvent')).toEqual([]);
    await call(emulator, 'PUT', `${API}/id/${answer.json.id}`, { method: 'sms', sms: { code: wrong } });
    await call(emulator, 'PUT', `${API}/id/${answer.json.id}`, { method: 'sms', sms: { code: wrong } });
    await emulator.flushCallbacks();

    expect(eventsOf(receiver, 'VerificationResultEvent')).toEqual([
      expect.objectContaining({ status: 'FAIL', reason: 'Invalid code' }),
    ]);
  });

  test('When a report finds the verification expired, then a VerificationResultEvent FAIL "Expired"', async () => {
    let now = Date.now();
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url, now: () => now });
    const endpoint = phone();
    await start(emulator, endpoint);
    now += 601_000;

    await call(emulator, 'PUT', `${API}/number/${endpoint}`, {
      method: 'sms',
      sms: { code: emulator.lastCodeFor(endpoint) },
    });
    await emulator.flushCallbacks();

    expect(eventsOf(receiver, 'VerificationResultEvent')).toEqual([
      expect.objectContaining({ status: 'FAIL', reason: 'Expired' }),
    ]);
  });

  test('When the callback receiver is unreachable, then the start still succeeds and the failed deliveries are recorded', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const endpoint = phone();

    const answer = await start(emulator, endpoint);
    await emulator.flushCallbacks();

    expect(answer.status).toBe(200);
    expect(emulator.lastCodeFor(endpoint)).toMatch(/^\d{4}$/);
    expect(emulator.callbackDeliveries).toEqual([
      expect.objectContaining({
        event: 'VerificationRequestEvent',
        verificationId: answer.json.id,
        error: expect.stringMatching(/ECONNREFUSED|fetch failed/),
      }),
      expect.objectContaining({ event: 'VerificationSmsDeliveredEvent', error: expect.any(String) }),
    ]);
    expect(emulator.callbackDeliveries[0]!.status).toBeUndefined();
  });

  test('When callbackFailure is "deny" and the receiver answers 500, then the verification is DENIED "Invalid callback"', async () => {
    const receiver = await startReceiver(() => ({ status: 500, body: 'oops' }));
    const emulator = await startEmulator({ callbackUrl: receiver.url, callbackFailure: 'deny' });

    const answer = await start(emulator, phone());

    expect(emulator.inbox).toEqual([]);
    expect(emulator.callbackDeliveries[0]).toMatchObject({ status: 500, responseBody: 'oops' });
    expect((await call(emulator, 'GET', `${API}/id/${answer.json.id}`)).json).toMatchObject({
      status: 'DENIED',
      reason: 'Invalid callback',
    });
  });

  test('When the receiver is slower than callbackTimeoutMs, then the start goes on after the timeout and the attempt is recorded as failed', async () => {
    const receiver = await startReceiver(() => ({ delayMs: 2000, body: '{"action":"deny"}' }));
    const emulator = await startEmulator({ callbackUrl: receiver.url, callbackTimeoutMs: 100 });

    const began = Date.now();
    const answer = await start(emulator, phone());

    expect(Date.now() - began).toBeLessThan(1500);
    expect(emulator.inbox).toHaveLength(1);
    expect(emulator.callbackDeliveries[0]).toMatchObject({
      event: 'VerificationRequestEvent',
      error: expect.stringMatching(/timeout|abort/i),
    });
    expect((await call(emulator, 'GET', `${API}/id/${answer.json.id}`)).json.status).toBe('PENDING');
  });

  test('When a callback URL is configured, then public auth (application key only) may start a verification', async () => {
    const receiver = await startReceiver();
    const emulator = await startEmulator({ callbackUrl: receiver.url });

    const answer = await start(emulator, phone(), {}, `Application ${KEY}`);

    expect(answer.status).toBe(200);
  });

  test('When the emulator closes while a callback waits for its receiver, then close() resolves promptly', async () => {
    const receiver = await startReceiver(() => ({ delayMs: 5000 }));
    const emulator = await startEmulator({ callbackUrl: receiver.url });
    const pending = start(emulator, phone()).catch(() => 'failed');
    // Poll rather than sleep: under parallel test load the callback may take a while to arrive.
    while (receiver.received.length === 0) await new Promise((r) => setTimeout(r, 5));

    const began = Date.now();
    await emulator.close();

    expect(Date.now() - began).toBeLessThan(1000);
    expect(await pending).toBe('failed');
    expect(emulator.callbackDeliveries[0]).toMatchObject({ error: expect.stringMatching(/closing|abort/i) });
  });
});
