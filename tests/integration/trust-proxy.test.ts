import request from 'supertest';
import { uniquePhone } from '../factories/phone.factory';
import { rateLimitFields, startsFor } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const LIMIT = 2;

function requestOtp(t: TestApp, forwardedFor: string | undefined, phoneNumber = uniquePhone()) {
  const req = request(t.app).post('/api/request-otp');
  if (forwardedFor !== undefined) void req.set('X-Forwarded-For', forwardedFor);
  return req.send({ phoneNumber });
}

/** A different documentation address (RFC 5737) on every call, as a client forging the header would send. */
let spoofCounter = 0;
function spoofedAddress(): string {
  spoofCounter += 1;
  return `198.51.100.${spoofCounter % 250}`;
}

describe('TRUST_PROXY unset (default false): X-Forwarded-For is not believed', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: String(LIMIT) } });
  });

  afterAll(async () => {
    await t.close();
  });

  test("When every request forges a new X-Forwarded-For address, then they still share the socket address's budget and the third is refused", async () => {
    const allowed = [await requestOtp(t, spoofedAddress()), await requestOtp(t, spoofedAddress())];
    const phone = uniquePhone();

    const res = await requestOtp(t, spoofedAddress(), phone);

    expect(allowed.map((r) => r.status)).toEqual([200, 200]);
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({
      status: 'error',
      code: 'RATE_LIMITED',
      details: [{ limit: 'ip-request-otp', quota: LIMIT }],
    });
    expect(rateLimitFields(res.headers.ratelimit)['ip-request-otp']).toMatchObject({ r: '0' });
    expect(startsFor(t.emulator, phone)).toHaveLength(0);
  });
});

describe.each(['loopback', '1', '127.0.0.1/8,::1'])(
  'TRUST_PROXY=%s (the test client connects from loopback)',
  (trustProxy) => {
    let t: TestApp;

    beforeAll(async () => {
      t = await createTestApp({ env: { RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: String(LIMIT), TRUST_PROXY: trustProxy } });
    });

    afterAll(async () => {
      await t.close();
    });

    test('When two clients come through the proxy, then each forwarded address has its own budget', async () => {
      const first = [await requestOtp(t, '203.0.113.10'), await requestOtp(t, '203.0.113.10')];
      const phone = uniquePhone();

      const refused = await requestOtp(t, '203.0.113.10', phone);
      const other = await requestOtp(t, '203.0.113.20');

      expect(first.map((r) => r.status)).toEqual([200, 200]);
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', details: [{ limit: 'ip-request-otp' }] });
      expect(startsFor(t.emulator, phone)).toHaveLength(0);
      expect(other.status).toBe(200);
      expect(rateLimitFields(other.headers.ratelimit)['ip-request-otp']).toMatchObject({ r: String(LIMIT - 1) });
    });

    test('When a client prepends forged addresses to the header, then the address the trusted proxy saw still counts', async () => {
      const client = '203.0.113.30';
      const allowed = [
        await requestOtp(t, `${spoofedAddress()}, ${client}`),
        await requestOtp(t, `${spoofedAddress()}, ${client}`),
      ];

      const res = await requestOtp(t, `${spoofedAddress()}, ${client}`);

      expect(allowed.map((r) => r.status)).toEqual([200, 200]);
      expect(res.status).toBe(429);
    });
  },
);
