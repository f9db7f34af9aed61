import request from 'supertest';
import { ERROR_CATALOGUE } from '../../src/utils/app-error';
import type { Fault } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import { reportsFor, requestCode, requestOtp, rowsFor, startsFor, until, verifyOtp } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const SINCH_TIMEOUT_MS = 300;

interface FaultCase {
  what: string;
  fault: Fault;
  status: number;
  code: keyof typeof ERROR_CATALOGUE;
  /** Whether Sinch may have acted on the request (so it must count as sent / as a judged attempt). */
  mayHaveActed: boolean;
}

const FAULTS: FaultCase[] = [
  {
    what: 'a 500',
    fault: { kind: 'status', status: 500 },
    status: 503,
    code: 'SMS_PROVIDER_UNAVAILABLE',
    mayHaveActed: false,
  },
  {
    what: 'a 503',
    fault: { kind: 'status', status: 503 },
    status: 503,
    code: 'SMS_PROVIDER_UNAVAILABLE',
    mayHaveActed: false,
  },
  {
    what: 'a 502 HTML page from a gateway in front of Sinch',
    fault: { kind: 'status', status: 502, body: '<html><h1>502 Bad Gateway</h1></html>' },
    status: 503,
    code: 'SMS_PROVIDER_UNAVAILABLE',
    mayHaveActed: false,
  },
  { what: 'a 429', fault: { kind: 'status', status: 429 }, status: 429, code: 'RATE_LIMITED', mayHaveActed: false },
  {
    what: 'a 429 with a text body',
    fault: { kind: 'status', status: 429, body: 'Too Many Requests' },
    status: 429,
    code: 'RATE_LIMITED',
    mayHaveActed: false,
  },
  {
    what: 'no answer within SINCH_TIMEOUT_MS',
    fault: { kind: 'delay', ms: 3 * SINCH_TIMEOUT_MS },
    status: 503,
    code: 'SMS_PROVIDER_UNAVAILABLE',
    mayHaveActed: true,
  },
  {
    what: 'a malformed (non-JSON) 200',
    fault: { kind: 'malformed' },
    status: 502,
    code: 'SMS_PROVIDER_ERROR',
    mayHaveActed: true,
  },
  { what: 'an empty 200 ({})', fault: { kind: 'empty' }, status: 502, code: 'SMS_PROVIDER_ERROR', mayHaveActed: true },
  {
    what: 'a dropped connection',
    fault: { kind: 'drop' },
    status: 503,
    code: 'SMS_PROVIDER_UNAVAILABLE',
    mayHaveActed: true,
  },
];

/** The error envelope with the status's documented code; Retry-After wherever waiting helps. */
function expectDocumentedError(res: request.Response, c: FaultCase): void {
  expect({ status: res.status, body: res.body }).toMatchObject({
    status: c.status,
    body: { status: 'error', code: c.code, message: expect.any(String), requestId: res.headers['x-request-id'] },
  });
  expect(JSON.stringify(res.body)).not.toMatch(/stack|axios|ECONN|sinch\s(start|report)|<html/i);
  if (c.status !== 502) expect(res.headers['retry-after']).toMatch(/^[1-9]\d*$/);
}

describe(`Sinch faults on the start (SINCH_TIMEOUT_MS=${SINCH_TIMEOUT_MS}, OTP_RESEND_COOLDOWN_SECONDS=30)`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SINCH_TIMEOUT_MS: String(SINCH_TIMEOUT_MS), OTP_RESEND_COOLDOWN_SECONDS: '30' } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each(FAULTS)(
    'When Sinch answers the start with $what, then $status $code, no Verification row, and the service keeps serving',
    async (c) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', c.fault);

      const res = await requestOtp(t, phone);

      expectDocumentedError(res, c);
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
      expect((await rowsFor(t, phone)).verifications).toEqual([]);
      const next = await requestOtp(t, uniquePhone());
      expect(next.status).toBe(200);
    },
  );

  test.each(FAULTS.filter((c) => !c.mayHaveActed))(
    'When Sinch answered the start with $what (nothing sent), then the send is not counted and an immediate retry reaches Sinch',
    async (c) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', c.fault);
      await requestOtp(t, phone);

      const retry = await requestOtp(t, phone);

      expect(retry.status).toBe(200);
      expect(startsFor(t.emulator, phone)).toHaveLength(2);
      expect((await rowsFor(t, phone)).user?.otpSendTimes).toHaveLength(1);
    },
  );

  test.each(FAULTS.filter((c) => c.mayHaveActed))(
    'When the start ended with $what (Sinch may have sent), then the send IS counted and an immediate retry meets the cooldown',
    async (c) => {
      const phone = uniquePhone();
      t.emulator.injectFault('start', c.fault);
      await requestOtp(t, phone);

      const retry = await requestOtp(t, phone);

      expect(retry.status).toBe(429);
      expect(retry.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'number_cooldown' }] });
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
      expect((await rowsFor(t, phone)).verifications).toEqual([]);
    },
  );
});

describe(`Sinch faults on the report (SINCH_TIMEOUT_MS=${SINCH_TIMEOUT_MS})`, () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { SINCH_TIMEOUT_MS: String(SINCH_TIMEOUT_MS) } });
  });

  afterAll(async () => {
    await t.close();
  });

  test.each(FAULTS)(
    'When Sinch answers the report with $what, then $status $code, the verification stays PENDING, and the right code works on retry',
    async (c) => {
      const sent = await requestCode(t, uniquePhone());
      t.emulator.injectFault('report', c.fault);

      const res = await verifyOtp(t, { verificationId: sent.verificationId, phoneNumber: sent.phone, code: sent.code });

      expectDocumentedError(res, c);
      expect(reportsFor(t.emulator, sent.sinchId)).toHaveLength(1);
      const after = await rowsFor(t, sent.phone);
      expect(after.user).toMatchObject({ isVerified: false });
      // Sinch did not judge the code as wrong: it is never a failure against the number's budget ...
      expect(after.user?.otpFailureTimes).toEqual([]);
      // ... and the attempt is given back only when Sinch certainly did not see the code.
      expect(after.verifications).toEqual([
        expect.objectContaining({ status: 'PENDING', attempts: c.mayHaveActed ? 1 : 0 }),
      ]);

      const retry = await verifyOtp(t, {
        verificationId: sent.verificationId,
        phoneNumber: sent.phone,
        code: sent.code,
      });

      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ status: 'success', data: { phoneNumber: sent.phone, verified: true } });
    },
  );
});

describe('Sinch circuit breaker (SINCH_CIRCUIT_FAILURE_THRESHOLD=2, SINCH_CIRCUIT_COOLDOWN_SECONDS=1)', () => {
  const env = { SINCH_CIRCUIT_FAILURE_THRESHOLD: '2', SINCH_CIRCUIT_COOLDOWN_SECONDS: '1' };
  let t: TestApp;

  beforeEach(async () => {
    t = await createTestApp({ env });
  });

  afterEach(async () => {
    await t.close();
  });

  async function openCircuit(): Promise<void> {
    t.emulator.injectFault('start', { kind: 'status', status: 503 }, 2);
    for (let i = 0; i < 2; i += 1) expect((await requestOtp(t, uniquePhone())).status).toBe(503);
  }

  async function untilProbeAllowed(): Promise<void> {
    const { retryAt } = t.services.sinch.circuit();
    await until(() => Date.now() >= (retryAt ?? 0), 3000, 'circuit cooldown over');
  }

  test('When Sinch failed twice in a row, then requests fail fast with 503 and Retry-After, nothing reaches Sinch, and /health shows sinch DOWN', async () => {
    const sent = await requestCode(t, uniquePhone());
    await openCircuit();
    const before = t.emulator.requests.length;
    const phone = uniquePhone();

    const res = await requestOtp(t, phone);
    const verify = await verifyOtp(t, {
      verificationId: sent.verificationId,
      phoneNumber: sent.phone,
      code: sent.code,
    });
    const health = await request(t.app).get('/health');

    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'SMS_PROVIDER_UNAVAILABLE',
      requestId: res.headers['x-request-id'],
    });
    expect(res.headers['retry-after']).toBe('1');
    expect(verify.status).toBe(503);
    expect(verify.body).toMatchObject({ code: 'SMS_PROVIDER_UNAVAILABLE' });
    expect(t.emulator.requests).toHaveLength(before);
    expect((await rowsFor(t, phone)).verifications).toEqual([]);
    expect((await rowsFor(t, sent.phone)).verifications).toEqual([
      expect.objectContaining({ status: 'PENDING', attempts: 0 }),
    ]);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: 'DEGRADED',
      checks: { database: 'UP', sinch: 'DOWN' },
      details: { sinch: { circuit: 'open', retryAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) } },
    });
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'Sinch circuit opened: failing fast',
        consecutiveFailures: 2,
        cooldownSeconds: 1,
      }),
    );
  });

  test('After the cooldown one probe goes through: a failed probe re-opens the circuit at once, a successful one closes it', async () => {
    await openCircuit();
    await untilProbeAllowed();
    t.emulator.injectFault('start', { kind: 'status', status: 503 });
    const before = t.emulator.requests.length;

    const whileProbing = await Promise.all([
      requestOtp(t, uniquePhone()),
      requestOtp(t, uniquePhone()),
      requestOtp(t, uniquePhone()),
    ]);

    expect(whileProbing.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(t.emulator.requests).toHaveLength(before + 1);
    expect(t.services.sinch.circuit()).toMatchObject({ state: 'open' });
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'Sinch circuit half-open: probing with the next request' }),
    );

    await untilProbeAllowed();
    const phone = uniquePhone();
    const probe = await requestOtp(t, phone);
    const health = await request(t.app).get('/health');
    const next = await requestOtp(t, uniquePhone());

    expect(probe.status).toBe(200);
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    expect(health.body).toMatchObject({ status: 'UP', checks: { database: 'UP', sinch: 'UP' } });
    expect(health.body.details).toBeUndefined();
    expect(next.status).toBe(200);
    expect(t.logs.entries()).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'Sinch circuit closed: Sinch answers again' }),
    );
  });

  test('When Sinch refuses numbers (4xx), then the circuit stays closed: only outages open it', async () => {
    t.emulator.injectFault('start', { kind: 'status', status: 422 }, 3);
    for (let i = 0; i < 3; i += 1) await requestOtp(t, uniquePhone());

    const res = await requestOtp(t, uniquePhone());

    expect(res.status).toBe(200);
    expect(t.services.sinch.circuit()).toEqual({ state: 'closed' });
  });
});
