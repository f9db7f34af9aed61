/**
 * OTP_TEST_NUMBERS: fixed-code numbers for app-store reviewers. They never reach Sinch, accept only
 * their code, and otherwise get exactly the answers and limits of a real number.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { maskPhone } from '../../src/utils/mask';
import { audit } from '../helpers/log-audit';
import { rowsFor, verifyOtp } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';
import { metricValue } from '../helpers/metrics';

const COOLDOWN_SECONDS = 30;
/** Fictional numbers (+1 555 01xx), each test its own, with their fixed codes. */
const NUMBERS = {
  flow: ['+15555550100', '482913'],
  attempts: ['+15555550101', '135790'],
  cooldown: ['+15555550102', '246801'],
  idempotency: ['+15555550103', '975310'],
  resend: ['+15555550104', '112233'],
  budget: ['+15555550105', '445566'],
  formatted: ['+15555550106', '778899'],
  metrics: ['+15555550107', '990011'],
} as const;

function requestOtp(t: TestApp, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return request(t.app).post('/api/request-otp').set(headers).send(body);
}

describe('Test numbers (OTP_TEST_NUMBERS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    for (const [, code] of Object.values(NUMBERS)) audit.forbidden(code);
    t = await createTestApp({
      env: {
        OTP_TEST_NUMBERS: Object.values(NUMBERS)
          .map(([number, code]) => `${number}:${code}`)
          .join(','),
        OTP_METHODS: 'sms,callout',
        OTP_MAX_ATTEMPTS: '2',
        OTP_MAX_FAILURES_PER_NUMBER_HOUR: '3',
        OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
      },
    });
  });
  afterAll(() => t.close());

  test('When a test number asks for a code, then no request at all reaches Sinch, the answer has the shape of a real one, a wrong code is refused and only the fixed code verifies', async () => {
    const [phone, code] = NUMBERS.flow;
    const before = t.emulator.requests.length;
    const now = t.clock.now();

    const res = await requestOtp(t, { phoneNumber: '+1 (555) 555-0100', locale: 'sv-SE' });
    const { verificationId } = res.body.data as { verificationId: string };
    const wrong = await verifyOtp(t, { verificationId, code: '000000' });
    const right = await verifyOtp(t, { verificationId, code });

    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      verificationId: expect.any(String),
      phoneNumber: phone,
      method: 'sms',
      locale: 'sv-SE',
      codeType: 'Numeric',
      methods: ['sms', 'callout'],
      purpose: null,
      expiresAt: new Date(now + 600_000).toISOString(),
      resendAvailableAt: new Date(now + COOLDOWN_SECONDS * 1000).toISOString(),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({
      code: 'INVALID_CODE',
      details: [{ field: 'code', attemptsRemaining: 1, method: 'sms' }],
    });
    expect(right.status).toBe(200);
    // The same proof as for a real number: a signed verification token.
    expect(right.body.data).toMatchObject({
      verificationId,
      phoneNumber: phone,
      verified: true,
      verificationToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    expect(t.emulator.requests).toHaveLength(before);
    const rows = await rowsFor(t, phone);
    expect(rows.user).toMatchObject({ isVerified: true });
    expect(rows.verifications).toEqual([expect.objectContaining({ status: 'SUCCESSFUL', attempts: 2 })]);
    expect(rows.verifications[0]!.sinchVerificationId).toMatch(/^test-/);
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: 'test number: fixed code, nothing sent to Sinch',
        phoneNumber: maskPhone(phone),
        requestId: res.headers['x-request-id'],
      }),
    );
    expect(t.logs.text()).not.toContain(phone.slice(1));
  });

  test('When a test number gets too many wrong codes, then even the fixed code is 429 TOO_MANY_ATTEMPTS, as for a real number', async () => {
    const [phone, code] = NUMBERS.attempts;
    const res = await requestOtp(t, { phoneNumber: phone });
    const { verificationId } = res.body.data as { verificationId: string };
    await verifyOtp(t, { verificationId, code: '000000' }).expect(400);
    await verifyOtp(t, { verificationId, code: '000000' }).expect(400);

    const right = await verifyOtp(t, { verificationId, code });

    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({
      code: 'TOO_MANY_ATTEMPTS',
      details: [{ reason: 'verification_attempts_exhausted', maxAttempts: 2 }],
    });
  });

  test("When a test number's wrong codes fill the number's hourly budget across new codes, then 429 failure_budget_exhausted", async () => {
    const [phone, code] = NUMBERS.budget;
    const first = await requestOtp(t, { phoneNumber: phone });
    await verifyOtp(t, { verificationId: first.body.data.verificationId, code: '000000' }).expect(400);
    await verifyOtp(t, { verificationId: first.body.data.verificationId, code: '000000' }).expect(400);
    t.clock.advance(COOLDOWN_SECONDS * 1000);
    const second = await requestOtp(t, { phoneNumber: phone });
    await verifyOtp(t, { verificationId: second.body.data.verificationId, code: '000000' }).expect(400);

    const right = await verifyOtp(t, { verificationId: second.body.data.verificationId, code });

    expect(right.status).toBe(429);
    expect(right.body).toMatchObject({ code: 'TOO_MANY_ATTEMPTS', details: [{ reason: 'failure_budget_exhausted' }] });
  });

  test('When a test number asks again within the cooldown, then 429 RATE_LIMITED number_cooldown', async () => {
    const [phone] = NUMBERS.cooldown;
    await requestOtp(t, { phoneNumber: phone }).expect(200);

    const again = await requestOtp(t, { phoneNumber: phone });

    expect(again.status).toBe(429);
    expect(again.headers['retry-after']).toBe(String(COOLDOWN_SECONDS));
    expect(again.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_cooldown' }] });
  });

  test('When a test number repeats a request with the same Idempotency-Key, then the first answer is replayed', async () => {
    const [phone] = NUMBERS.idempotency;
    const key = randomUUID();
    const first = await requestOtp(t, { phoneNumber: phone }, { 'Idempotency-Key': key });

    const replay = await requestOtp(t, { phoneNumber: phone }, { 'Idempotency-Key': key });

    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.data).toEqual(first.body.data);
    expect((await rowsFor(t, phone)).verifications).toHaveLength(1);
  });

  test('When a test number asks to be called instead, then no call is placed at Sinch, the answer says callout, and the fixed code verifies', async () => {
    const [phone, code] = NUMBERS.resend;
    const first = await requestOtp(t, { phoneNumber: phone });
    const before = t.emulator.requests.length;
    t.clock.advance(COOLDOWN_SECONDS * 1000);

    const resent = await request(t.app)
      .post('/api/resend-otp')
      .send({ verificationId: first.body.data.verificationId, method: 'callout' });
    const right = await verifyOtp(t, { verificationId: first.body.data.verificationId, code });

    expect(resent.status).toBe(200);
    expect(resent.body.data).toMatchObject({ verificationId: first.body.data.verificationId, method: 'callout' });
    expect(right.status).toBe(200);
    expect(t.emulator.requests).toHaveLength(before);
    expect((await rowsFor(t, phone)).verifications).toEqual([
      expect.objectContaining({ method: 'callout', sends: 2, status: 'SUCCESSFUL' }),
    ]);
  });

  test('When verify-otp names a test number as a person types it, then it matches the verification', async () => {
    const [phone, code] = NUMBERS.formatted;
    const res = await requestOtp(t, { phoneNumber: phone });

    const right = await verifyOtp(t, {
      verificationId: res.body.data.verificationId,
      phoneNumber: '+1 555-555-0106',
      code,
    });

    expect(right.status).toBe(200);
  });

  test('When a fictional number is not a test number, then it is refused like any invalid number', async () => {
    const res = await requestOtp(t, { phoneNumber: '+15555550199' });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_PHONE_NUMBER', details: [{ reason: 'invalid_number' }] });
  });

  test('When a test number is sent a code and verified, then the metrics count it apart with test_number="true"', async () => {
    const [phone, code] = NUMBERS.metrics;
    const before = await metricsText(t);

    const res = await requestOtp(t, { phoneNumber: phone });
    await verifyOtp(t, { verificationId: res.body.data.verificationId, code: '000000' }).expect(400);
    await verifyOtp(t, { verificationId: res.body.data.verificationId, code }).expect(200);

    const after = await metricsText(t);
    const delta = (series: string) => metricValue(after, series) - metricValue(before, series);
    expect({
      requested: delta('otp_requested_total{test_number="true"}'),
      sent: delta('otp_sent_total{method="sms",test_number="true"}'),
      failed: delta('otp_verify_failed_total{reason="invalid_code",test_number="true"}'),
      verified: delta('otp_verified_total{test_number="true"}'),
      realSent: delta('otp_sent_total{method="sms",test_number="false"}'),
    }).toEqual({ requested: 1, sent: 1, failed: 1, verified: 1, realSent: 0 });
  });
});

async function metricsText(t: TestApp): Promise<string> {
  return (await request(t.app).get('/metrics').expect(200)).text;
}
