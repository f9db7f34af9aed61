/**
 * Conformance: Sinch's official Node SDK, pointed at the emulator, must work end to end. If the
 * SDK (which encodes Sinch's wire contract) and the emulator disagree, the emulator is wrong.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestFailedError, SinchClient, VerificationCallbackWebhooks } from '@sinch/sdk-core';
import {
  createSinchEmulator,
  sandboxNumber,
  type EmulatorOptions,
  type SinchEmulator,
} from '../../src/emulator/sinch-emulator';

const applicationKey = 'sdk-conformance-key';
const applicationSecret = Buffer.from('sdk-conformance-secret').toString('base64');

// The SDK writes a console.debug block for every non-2xx answer; these tests provoke several on purpose.
beforeAll(() => jest.spyOn(console, 'debug').mockImplementation(() => undefined));
afterAll(() => jest.restoreAllMocks());

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(options: Partial<EmulatorOptions> = {}): Promise<{ emulator: SinchEmulator; sinch: SinchClient }> {
  const emulator = await createSinchEmulator({ applicationKey, applicationSecret, ...options });
  cleanups.push(() => emulator.close());
  const sinch = new SinchClient({ applicationKey, applicationSecret, verificationHostname: emulator.url });
  return { emulator, sinch };
}

let counter = 0;
function phone(): string {
  counter += 1;
  return `+4676${String(process.pid % 1000).padStart(3, '0')}${String(8000 + counter).padStart(4, '0')}`;
}

/** Runs `fn`, expecting the SDK's RequestFailedError, and returns its status and parsed body. */
async function sdkFailure(fn: () => Promise<unknown>): Promise<{ statusCode: number; body: unknown }> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RequestFailedError);
    const failed = error as RequestFailedError<unknown>;
    return { statusCode: failed.statusCode, body: JSON.parse(failed.data ?? 'null') };
  }
  throw new Error('expected the SDK call to fail');
}

describe('Sinch Node SDK against the emulator', () => {
  test("When the SDK runs start, wrong code, right code and every status query, then each answer has Sinch's shape", async () => {
    const { emulator, sinch } = await setup();
    const { verifications, verificationStatus } = sinch.verification;
    const endpoint = phone();
    const reference = `sdk-${Date.now()}`;

    const started = await verifications.startSms({
      startVerificationWithSmsRequestBody: {
        identity: { type: 'number', endpoint },
        reference,
        smsOptions: { expiry: '00:05:00', codeType: 'Numeric', locale: 'sv-SE' },
      },
    });
    const id = started.id!;
    const code = emulator.lastCodeFor(endpoint)!;
    const wrong = await verifications.reportSmsById({
      id,
      reportSmsVerificationByIdRequestBody: { sms: { code: code === '0000' ? '1111' : '0000' } },
    });
    const right = await verifications.reportSmsById({ id, reportSmsVerificationByIdRequestBody: { sms: { code } } });
    const byId = await verificationStatus.getById({ id });
    const byIdentity = await verificationStatus.getByIdentity({ method: 'sms', endpoint });
    const wrongByIdentity = await sdkFailure(() =>
      verifications.reportSmsByIdentity({
        endpoint,
        reportSmsVerificationByIdentityRequestBody: { sms: { code: 'nope' } },
      }),
    );
    const byReference = await verificationStatus.getByReference({ reference });

    expect(started).toMatchObject({
      id: expect.any(String),
      method: 'sms',
      sms: { interceptionTimeout: 300, codeType: 'Numeric', template: expect.stringContaining('{{CODE}}') },
      _links: [
        { rel: 'status', href: `${emulator.url}/verification/v1/verifications/id/${id}`, method: 'GET' },
        { rel: 'report', href: `${emulator.url}/verification/v1/verifications/id/${id}`, method: 'PUT' },
      ],
    });
    expect(emulator.requests[0]).toMatchObject({
      json: {
        identity: { endpoint },
        reference,
        method: 'sms',
        smsOptions: { expiry: '00:05:00', codeType: 'Numeric' },
      },
      headers: {
        'accept-language': 'sv-SE',
        authorization: expect.stringMatching(/^Application sdk-conformance-key:/),
      },
    });
    // The SDK moves smsOptions.locale out of the body into the header.
    expect((emulator.requests[0]!.json as { smsOptions: object }).smsOptions).not.toHaveProperty('locale');
    expect(emulator.inbox).toEqual([expect.objectContaining({ to: endpoint, method: 'sms', locale: 'sv-SE' })]);
    expect(wrong).toEqual({ id, method: 'sms', status: 'FAIL', reason: 'Invalid code' });
    expect(right).toEqual({ id, method: 'sms', status: 'SUCCESSFUL' });
    const expectedStatus = {
      id,
      method: 'sms',
      status: 'SUCCESSFUL',
      reference,
      identity: { type: 'number', endpoint },
      countryId: 'SE',
      source: 'manual',
      // The SDK revives the Z-less timestamp into a Date.
      verificationTimestamp: expect.any(Date),
      price: { verificationPrice: { currencyId: 'EUR', amount: expect.any(Number) } },
    };
    expect(byId).toEqual(expectedStatus);
    expect(byIdentity).toEqual(expectedStatus);
    expect(byReference).toEqual(expectedStatus);
    expect(wrongByIdentity).toEqual({
      statusCode: 400,
      body: { errorCode: 40003, message: 'Invalid identity or code.', reference: expect.any(String) },
    });
    expect(emulator.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 400, 200]);
  });

  test("When wrongCodeById is 40003, then the SDK's reportSmsById throws RequestFailedError 400 40003", async () => {
    const { emulator, sinch } = await setup({ wrongCodeById: '40003' });
    const endpoint = phone();
    const started = await sinch.verification.verifications.startSms({
      startVerificationWithSmsRequestBody: { identity: { type: 'number', endpoint } },
    });
    const code = emulator.lastCodeFor(endpoint)!;

    const failure = await sdkFailure(() =>
      sinch.verification.verifications.reportSmsById({
        id: started.id!,
        reportSmsVerificationByIdRequestBody: { sms: { code: code === '0000' ? '1111' : '0000' } },
      }),
    );

    expect(failure).toEqual({
      statusCode: 400,
      body: { errorCode: 40003, message: 'Invalid identity or code.', reference: expect.any(String) },
    });
  });

  test('When the SDK passes smsOptions.expiry as a Date, then the emulator applies the HH:MM:SS it sends', async () => {
    const { emulator, sinch } = await setup();

    const started = await sinch.verification.verifications.startSms({
      startVerificationWithSmsRequestBody: {
        identity: { type: 'number', endpoint: phone() },
        smsOptions: { expiry: new Date('2024-01-01T00:02:03Z') },
      },
    });

    expect(started.sms?.interceptionTimeout).toBe(123);
    expect(emulator.requests[0]!.json).toMatchObject({ smsOptions: { expiry: '00:02:03' } });
  });

  test('When the SDK uses flashcall, phone call and WhatsApp, then start and report work for each', async () => {
    const { emulator, sinch } = await setup();
    const { verifications } = sinch.verification;
    const [flash, call, whatsapp] = [phone(), phone(), phone()];

    const flashStart = await verifications.startFlashCall({
      startVerificationWithFlashCallRequestBody: {
        identity: { type: 'number', endpoint: flash },
        flashCallOptions: { dialTimeout: 10 },
      },
    });
    const flashReport = await verifications.reportFlashCallById({
      id: flashStart.id!,
      reportFlashCallVerificationByIdRequestBody: { flashCall: { cli: emulator.lastCodeFor(flash)! } },
    });
    const callStart = await verifications.startPhoneCall({
      startVerificationWithPhoneCallRequestBody: {
        identity: { type: 'number', endpoint: call },
        phoneCallOptions: { speech: { locale: 'sv-SE' } },
      },
    });
    const callReport = await verifications.reportPhoneCallByIdentity({
      endpoint: call,
      reportPhoneCallVerificationByIdentityRequestBody: { phoneCall: { code: emulator.lastCodeFor(call)! } },
    });
    const whatsappStart = await verifications.startWhatsApp({
      startVerificationWithWhatsAppRequestBody: { identity: { type: 'number', endpoint: whatsapp } },
    });
    const whatsappReport = await verifications.reportWhatsAppById({
      id: whatsappStart.id!,
      reportWhatsAppVerificationByIdRequestBody: { whatsapp: { code: emulator.lastCodeFor(whatsapp)! } },
    });

    expect(flashStart).toMatchObject({ method: 'flashcall', flashCall: { cliFilter: expect.any(String) } });
    expect(flashReport).toMatchObject({ status: 'SUCCESSFUL', callComplete: true });
    expect(callStart).toMatchObject({ method: 'callout' });
    expect(callReport).toMatchObject({ status: 'SUCCESSFUL', callComplete: true });
    expect(whatsappStart).toMatchObject({ method: 'whatsapp', whatsapp: { codeType: 'Numeric' } });
    expect(whatsappReport).toMatchObject({ status: 'SUCCESSFUL' });
  });

  test('When the SDK starts calls with a speech locale (startPhoneCall and the older startCallout) and reports them by id, then each call is in that language and verifies', async () => {
    const { emulator, sinch } = await setup({ codeLength: 6 });
    const { verifications } = sinch.verification;
    const [first, second] = [phone(), phone()];

    const phoneCall = await verifications.startPhoneCall({
      startVerificationWithPhoneCallRequestBody: {
        identity: { type: 'number', endpoint: first },
        reference: `sdk-call-${Date.now()}`,
        phoneCallOptions: { speech: { locale: 'sv-SE' } },
      },
    });
    const phoneCallReport = await verifications.reportPhoneCallById({
      id: phoneCall.id!,
      reportPhoneCallVerificationByIdRequestBody: { phoneCall: { code: emulator.lastCodeFor(first)! } },
    });
    const callout = await verifications.startCallout({
      startVerificationWithCalloutRequestBody: {
        identity: { type: 'number', endpoint: second },
        calloutOptions: { speech: { locale: 'es-ES' } },
      },
    });
    const calloutReport = await verifications.reportCalloutById({
      id: callout.id!,
      reportCalloutVerificationByIdRequestBody: { callout: { code: emulator.lastCodeFor(second)! } },
    });

    // The SDK renames phoneCallOptions / phoneCall to Sinch's calloutOptions / callout on the wire.
    expect(emulator.requests.map((r) => r.json)).toEqual([
      expect.objectContaining({ method: 'callout', calloutOptions: { speech: { locale: 'sv-SE' } } }),
      { method: 'callout', callout: { code: expect.stringMatching(/^\d{6}$/) } },
      expect.objectContaining({ method: 'callout', calloutOptions: { speech: { locale: 'es-ES' } } }),
      { method: 'callout', callout: { code: expect.stringMatching(/^\d{6}$/) } },
    ]);
    expect(emulator.inbox.map(({ to, method, locale }) => ({ to, method, locale }))).toEqual([
      { to: first, method: 'callout', locale: 'sv-SE' },
      { to: second, method: 'callout', locale: 'es-ES' },
    ]);
    expect(phoneCall).toMatchObject({ id: expect.any(String), method: 'callout' });
    expect(callout).toMatchObject({ id: expect.any(String), method: 'callout' });
    expect(phoneCallReport).toEqual({ id: phoneCall.id, method: 'callout', status: 'SUCCESSFUL', callComplete: true });
    expect(calloutReport).toEqual({ id: callout.id, method: 'callout', status: 'SUCCESSFUL', callComplete: true });
  });

  test('When the SDK starts WhatsApp with Alphanumeric codes and reports by id, then a wrong code fails and the right one verifies', async () => {
    const { emulator, sinch } = await setup({ codeLength: 6 });
    const { verifications } = sinch.verification;
    const endpoint = phone();

    const started = await verifications.startWhatsApp({
      startVerificationWithWhatsAppRequestBody: {
        identity: { type: 'number', endpoint },
        whatsappOptions: { codeType: 'Alphanumeric' },
      },
    });
    const code = emulator.lastCodeFor(endpoint)!;
    const wrong = await verifications.reportWhatsAppById({
      id: started.id!,
      reportWhatsAppVerificationByIdRequestBody: { whatsapp: { code: code === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA' } },
    });
    const right = await verifications.reportWhatsAppById({
      id: started.id!,
      reportWhatsAppVerificationByIdRequestBody: { whatsapp: { code } },
    });

    expect(started).toMatchObject({ method: 'whatsapp', whatsapp: { codeType: 'Alphanumeric' } });
    expect(emulator.requests[0]!.json).toMatchObject({
      method: 'whatsapp',
      whatsappOptions: { codeType: 'Alphanumeric' },
    });
    expect(emulator.requests[1]!.json).toEqual({ method: 'whatsapp', whatsapp: { code: expect.any(String) } });
    expect(code).toMatch(/^[A-Z0-9]{6}$/);
    expect(emulator.inbox).toEqual([expect.objectContaining({ to: endpoint, method: 'whatsapp', delivered: true })]);
    expect(wrong).toEqual({ id: started.id, method: 'whatsapp', status: 'FAIL', reason: 'Invalid code' });
    expect(right).toEqual({ id: started.id, method: 'whatsapp', status: 'SUCCESSFUL' });
  });

  test('When the SDK hits a failing sandbox number or an unknown id, then it throws RequestFailedError with the Sinch error body', async () => {
    const { sinch } = await setup();

    const unavailable = await sdkFailure(() =>
      sinch.verification.verifications.startSms({
        startVerificationWithSmsRequestBody: { identity: { type: 'number', endpoint: sandboxNumber('unavailable') } },
      }),
    );
    const unknown = await sdkFailure(() => sinch.verification.verificationStatus.getById({ id: 'no-such-id' }));

    expect(unavailable).toMatchObject({ statusCode: 503, body: { errorCode: 50300 } });
    expect(unknown).toMatchObject({
      statusCode: 404,
      body: { errorCode: 40400, message: 'Requested resource was not found.' },
    });
  });

  test("When the emulator delivers a callback, then the SDK's VerificationCallbackWebhooks validates and parses it", async () => {
    const received: { headers: IncomingHttpHeaders; rawBody: string; path: string }[] = [];
    const receiver = createServer((req, res) => {
      let rawBody = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (rawBody += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, rawBody, path: new URL(req.url ?? '/', 'http://x').pathname });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"action":"allow"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          receiver.close(() => resolve());
          receiver.closeAllConnections();
        }),
    );
    const { emulator, sinch } = await setup({
      callbackUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/sinch/verification`,
    });
    const webhooks = new VerificationCallbackWebhooks({ applicationKey, applicationSecret });

    await sinch.verification.verifications.startSms({
      startVerificationWithSmsRequestBody: { identity: { type: 'number', endpoint: phone() } },
    });
    await emulator.flushCallbacks();

    expect(received.map((r) => webhooks.parseEvent(r.rawBody).event)).toEqual([
      'VerificationRequestEvent',
      'VerificationSmsDeliveredEvent',
    ]);
    for (const r of received) {
      expect(webhooks.validateAuthenticationHeader(r.headers, r.rawBody, r.path, 'POST')).toBe(true);
      expect(webhooks.validateAuthenticationHeader(r.headers, `${r.rawBody} `, r.path, 'POST')).toBe(false);
    }
  });
});
