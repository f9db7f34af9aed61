/**
 * Automatic fallback: an SMS that Sinch reports FAILED (or that goes unreported for
 * OTP_FALLBACK_AFTER_SECONDS) becomes a voice call for the same verification, once.
 * End to end: the emulator posts its signed delivery callbacks to the app over real HTTP.
 */
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { serverOnlyTest } from '../helpers/database';
import { uniquePhone } from '../factories/phone.factory';
import { isolateMinute, requestOtp, rowsFor, startsFor, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { SINCH_KEY, SINCH_SECRET } from '../helpers/test-app';
import { FakeClock } from '../helpers/clock';
import { audit } from '../helpers/log-audit';

const FALLBACK_ENV = { OTP_METHODS: 'sms,callout', OTP_FALLBACK_METHOD: 'callout' };

function methodsSentTo(emulator: SinchEmulator, phone: string) {
  return startsFor(emulator, phone).map((s) => {
    const body = s.json as { method: string; reference: string };
    return [body.method, body.reference];
  });
}

/**
 * Sinch's delivery reports come seconds after the start; one that raced ahead of the row the
 * service writes after Sinch answered would find nothing to record (a case that does not happen).
 */
const DELIVERY_REPORT_DELAY_MS = 150;

/** A loopback server for the emulator's callbacks, answered by whichever app is plugged in later. */
async function callbackReceiver() {
  let target: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = http.createServer((req, res) => target(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/sinch/events`,
    plug(listener: RequestListener) {
      target = listener;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('Fallback when Sinch reports the SMS FAILED (OTP_FALLBACK_METHOD=callout)', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof callbackReceiver>>;
  beforeAll(async () => {
    receiver = await callbackReceiver();
    t = await createTestApp({
      env: FALLBACK_ENV,
      emulator: { callbackUrl: receiver.url, deliveryReportDelayMs: DELIVERY_REPORT_DELAY_MS },
    });
    receiver.plug(t.app);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  test('When the SMS is reported FAILED, then the same verification is called once (a new reference, the same id), a wrong code names callout, and the call’s code verifies', async () => {
    const phone = uniquePhone();
    t.emulator.failSmsDelivery(phone);

    const res = await requestOtp(t, phone);
    await t.emulator.flushCallbacks();

    const { verificationId } = res.body.data as { verificationId: string };
    expect(res.body.data).toMatchObject({ method: 'sms' });
    expect(methodsSentTo(t.emulator, phone)).toEqual([
      ['sms', verificationId],
      ['callout', `${verificationId}.2`],
    ]);
    const delivery = t.emulator.callbackDeliveries.filter((d) => d.event === 'VerificationSmsDeliveredEvent');
    expect(delivery).toEqual([expect.objectContaining({ status: 200 })]);
    // Sinch asked whether to place the call, and the service allowed it: the call reached the phone.
    const inbox = t.emulator.inbox.filter((m) => m.to === phone);
    expect(inbox.map((m) => [m.method, m.delivered])).toEqual([
      ['sms', false],
      ['callout', true],
    ]);
    const { verifications } = await rowsFor(t, phone);
    expect(verifications).toEqual([
      expect.objectContaining({ id: verificationId, method: 'callout', status: 'PENDING', sends: 2 }),
    ]);
    expect(verifications[0]!.fallbackAt).toBeInstanceOf(Date);
    expect(verifications[0]!.smsDeliveryStatus).toBeNull();

    const callCode = t.emulator.lastCodeFor(phone)!;
    const wrong = await verifyOtp(t, { verificationId, code: wrongCode(callCode) });
    const right = await verifyOtp(t, { verificationId, code: callCode });

    expect(wrong.body).toMatchObject({ code: 'INVALID_CODE', details: [{ method: 'callout' }] });
    expect(right.status).toBe(200);
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({ message: 'fell back to another method', method: 'callout', why: 'sms_failed' }),
    );
  });

  test('When the SMS was delivered, then nothing more is sent', async () => {
    const phone = uniquePhone();

    await requestOtp(t, phone).expect(200);
    await t.emulator.flushCallbacks();

    expect(methodsSentTo(t.emulator, phone).map(([method]) => method)).toEqual(['sms']);
    expect((await rowsFor(t, phone)).verifications).toEqual([
      expect.objectContaining({ method: 'sms', smsDeliveryStatus: 'DELIVERED', fallbackAt: null }),
    ]);
  });

  test('When the verification already fell back and a resend by SMS fails again, then it is not called a second time', async () => {
    const phone = uniquePhone();
    t.emulator.failSmsDelivery(phone);
    const res = await requestOtp(t, phone);
    await t.emulator.flushCallbacks();

    await request(t.app)
      .post('/api/resend-otp')
      .send({ verificationId: res.body.data.verificationId, method: 'sms' })
      .expect(200);
    await t.emulator.flushCallbacks();

    expect(methodsSentTo(t.emulator, phone).map(([method]) => method)).toEqual(['sms', 'callout', 'sms']);
    expect((await rowsFor(t, phone)).verifications).toEqual([
      expect.objectContaining({ method: 'sms', smsDeliveryStatus: 'FAILED', sends: 3 }),
    ]);
  });
});

describe('Fallback under the send limits', () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof callbackReceiver>>;
  beforeAll(async () => {
    receiver = await callbackReceiver();
    t = await createTestApp({
      env: { ...FALLBACK_ENV, OTP_MAX_SENDS_PER_NUMBER_HOUR: '1' },
      emulator: { callbackUrl: receiver.url, deliveryReportDelayMs: DELIVERY_REPORT_DELAY_MS },
    });
    receiver.plug(t.app);
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  test('When the number has no send left this hour, then the failed SMS is not followed by a call, and the refusal is logged', async () => {
    const phone = uniquePhone();
    t.emulator.failSmsDelivery(phone);

    await requestOtp(t, phone).expect(200);
    await t.emulator.flushCallbacks();

    expect(methodsSentTo(t.emulator, phone).map(([method]) => method)).toEqual(['sms']);
    expect((await rowsFor(t, phone)).verifications).toEqual([
      expect.objectContaining({ method: 'sms', smsDeliveryStatus: 'FAILED' }),
    ]);
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'fallback not started', refusal: 'RATE_LIMITED' }),
    );
  });
});

describe('Fallback when no delivery report came within OTP_FALLBACK_AFTER_SECONDS', () => {
  const AFTER_SECONDS = 30;
  const TEST_NUMBER = '+15555550142';
  const clock = new FakeClock();
  let emulator: SinchEmulator;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    emulator = await createSinchEmulator({
      applicationKey: SINCH_KEY,
      applicationSecret: SINCH_SECRET,
      now: clock.now,
      codeLength: 6,
      onMessage: (message) => audit.forbidden(message.code),
    });
    audit.forbidden('424242');
    const env = {
      ...FALLBACK_ENV,
      OTP_FALLBACK_AFTER_SECONDS: String(AFTER_SECONDS),
      OTP_TEST_NUMBERS: `${TEST_NUMBER}:424242`,
    };
    // Two instances of the service on one database: each sweeps.
    [a, b] = await Promise.all([
      createTestApp({ env, sharedEmulator: emulator }),
      createTestApp({ env, sharedEmulator: emulator }),
    ]);
    // The sweep looks at every verification in the database: a time of their own (far from the
    // present, where other test files run) keeps their SMS out of these sweeps, and ours out of theirs.
    isolateMinute(a.clock, b.clock, clock);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await emulator.close();
  });

  /** Both instances' clocks and the emulator's move together. */
  function advance(ms: number) {
    for (const c of [a.clock, b.clock, clock]) c.advance(ms);
  }

  test('When an SMS has had no report for 30 s, then one sweep calls the number, exactly once; earlier, nothing happens', async () => {
    const phone = uniquePhone();
    const res = await requestOtp(a, phone);
    const { verificationId } = res.body.data as { verificationId: string };

    advance((AFTER_SECONDS - 1) * 1000);
    const tooEarly = await a.services.verifications.fallBackOverdue();
    const earlyStarts = methodsSentTo(emulator, phone);
    advance(1000);
    await a.services.verifications.fallBackOverdue();
    const again = await b.services.verifications.fallBackOverdue();

    expect(earlyStarts).toEqual([['sms', verificationId]]);
    expect(methodsSentTo(emulator, phone)).toEqual([
      ['sms', verificationId],
      ['callout', `${verificationId}.2`],
    ]);
    expect(tooEarly + again).toBe(0);
    const callCode = emulator.lastCodeFor(phone)!;
    expect((await verifyOtp(b, { verificationId, code: callCode })).status).toBe(200);
  });

  serverOnlyTest(
    'When two instances sweep at the same moment, then each overdue SMS falls back exactly once',
    async () => {
      const phones = [uniquePhone(), uniquePhone(), uniquePhone(), uniquePhone()];
      for (const phone of phones) await requestOtp(a, phone).expect(200);
      advance(AFTER_SECONDS * 1000);

      const [byA, byB] = await Promise.all([
        a.services.verifications.fallBackOverdue(),
        b.services.verifications.fallBackOverdue(),
      ]);

      expect(byA + byB).toBe(phones.length);
      for (const phone of phones) {
        expect(methodsSentTo(emulator, phone).map(([method]) => method)).toEqual(['sms', 'callout']);
      }
    },
  );

  test('When a test number has had no report (it never gets one), then it does not fall back', async () => {
    await requestOtp(a, TEST_NUMBER).expect(200);
    advance(AFTER_SECONDS * 1000);

    await a.services.verifications.fallBackOverdue();

    expect((await rowsFor(a, TEST_NUMBER)).verifications.at(-1)).toMatchObject({ method: 'sms', fallbackAt: null });
    expect(startsFor(emulator, TEST_NUMBER)).toEqual([]);
  });
});
