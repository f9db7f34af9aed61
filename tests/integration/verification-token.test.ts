/**
 * The verification token end to end: verify-otp hands it out, GET /.well-known/jwks.json serves
 * the keys over real HTTP, and jose (what an integrator's backend would use) checks one against
 * the other. Also the purpose a code is requested for, which the token carries.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { uniquePhone } from '../factories/phone.factory';
import { requestCode, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { createTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app';

interface Running {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

/** A test app listening on a loopback port: JWKS clients fetch over HTTP, as a backend would. */
async function listening(options: TestAppOptions = {}): Promise<Running> {
  const t = await createTestApp(options);
  const server = await new Promise<Server>((resolve) => {
    const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    t,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

/** Requests a code (with a purpose, if given) and verifies it: what verify-otp answered. */
async function verify(t: TestApp, purpose?: string) {
  const phone = uniquePhone();
  const sent = await request(t.app)
    .post('/api/request-otp')
    .send({ phoneNumber: phone, ...(purpose ? { purpose } : {}) });
  expect(sent.status).toBe(200);
  const verificationId = sent.body.data.verificationId as string;
  const res = await verifyOtp(t, { phoneNumber: phone, code: t.emulator.lastCodeFor(phone), verificationId });
  expect(res.status).toBe(200);
  return { phone, verificationId, token: res.body.data.verificationToken as string };
}

const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey' | 'publicKey'], type: 'pkcs8' | 'spki') =>
  key.export({ format: 'pem', type }).toString();

describe('verification tokens over HTTP', () => {
  let s: Running;
  beforeAll(async () => {
    s = await listening({
      env: { VERIFICATION_TOKEN_AUDIENCE: 'https://api.example.com', VERIFICATION_TOKEN_TTL_SECONDS: '300' },
    });
  });
  afterAll(() => s.close());

  test('When the JWKS is fetched, then it lists the public key only, as JSON, cacheable for 5 minutes', async () => {
    const res = await fetch(`${s.url}/.well-known/jwks.json`);
    const body = (await res.json()) as { keys: Array<Record<string, unknown>> };

    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(body).toEqual({
      keys: [{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.any(String), alg: 'EdDSA', use: 'sig' }],
    });
  });

  test('When a number is verified, then verify-otp returns a token that jose verifies against the JWKS fetched over HTTP', async () => {
    const { phone, verificationId, token } = await verify(s.t, 'password_reset');
    const jwks = createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`));

    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: 'otp-verification-service',
      audience: 'https://api.example.com',
      currentDate: new Date(s.t.clock.now()),
    });

    const iat = Math.floor(s.t.clock.now() / 1000);
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'JWT' });
    expect(payload).toEqual({
      iss: 'otp-verification-service',
      aud: 'https://api.example.com',
      sub: phone,
      phone_number: phone,
      phone_number_verified: true,
      iat,
      exp: iat + 300,
      jti: verificationId,
      purpose: 'password_reset',
      method: 'sms',
    });
  });

  test('When the token is checked after its exp, then jose refuses it', async () => {
    const { token } = await verify(s.t);
    const jwks = createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`));

    await expect(
      jwtVerify(token, jwks, { currentDate: new Date(s.t.clock.now() + 300_000), audience: 'https://api.example.com' }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  test('When the code is wrong, then verify-otp returns no token', async () => {
    const { verificationId, code } = await requestCode(s.t);

    const res = await verifyOtp(s.t, { verificationId, code: wrongCode(code) });

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_CODE' });
    expect(JSON.stringify(res.body)).not.toContain('eyJ');
  });
});

describe('key rotation', () => {
  const previous = generateKeyPairSync('ed25519');
  const current = generateKeyPairSync('ed25519');

  test('When the previous public key is still listed, then tokens it signed verify (jose over HTTP, and redeem); once removed, they do not', async () => {
    const before = await listening({ env: { VERIFICATION_TOKEN_PRIVATE_KEY: pem(previous.privateKey, 'pkcs8') } });
    const rotated = await listening({
      env: {
        VERIFICATION_TOKEN_PRIVATE_KEY: pem(current.privateKey, 'pkcs8'),
        VERIFICATION_TOKEN_PREVIOUS_PUBLIC_KEYS: pem(previous.publicKey, 'spki'),
      },
    });
    const after = await listening({ env: { VERIFICATION_TOKEN_PRIVATE_KEY: pem(current.privateKey, 'pkcs8') } });
    try {
      const { token: oldToken, verificationId } = await verify(before.t);
      const { token: newToken } = await verify(rotated.t);
      const { key } = await rotated.t.services.apiKeys.create('rotation');

      const rotatedJwks = createRemoteJWKSet(new URL(`${rotated.url}/.well-known/jwks.json`));
      const afterJwks = createRemoteJWKSet(new URL(`${after.url}/.well-known/jwks.json`));

      await expect(jwtVerify(oldToken, rotatedJwks)).resolves.toMatchObject({ payload: { jti: verificationId } });
      await expect(jwtVerify(newToken, rotatedJwks)).resolves.toBeDefined();
      expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(oldToken).kid);
      const redeemed = await request(rotated.t.app)
        .post('/api/verifications/redeem')
        .set('Authorization', `Bearer ${key}`)
        .send({ token: oldToken });
      expect(redeemed.status).toBe(200);

      await expect(jwtVerify(oldToken, afterJwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      await expect(jwtVerify(newToken, afterJwks)).resolves.toBeDefined();
    } finally {
      await Promise.all([before.close(), rotated.close(), after.close()]);
    }
  });
});

describe('VERIFICATION_TOKENS=off', () => {
  test('When tokens are off, then verify-otp returns no token and the JWKS route answers 404', async () => {
    const t = await createTestApp({ env: { VERIFICATION_TOKENS: 'off' } });
    try {
      const { phone, verificationId, code } = await requestCode(t);

      const verified = await verifyOtp(t, { phoneNumber: phone, code, verificationId });
      const jwks = await request(t.app).get('/.well-known/jwks.json');

      expect(verified.status).toBe(200);
      expect(verified.body.data).not.toHaveProperty('verificationToken');
      expect(jwks.status).toBe(404);
      expect(jwks.body).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await t.close();
    }
  });
});

describe('purpose', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_PURPOSES: 'signup,password_reset' } });
  });
  afterAll(() => t.close());

  test('When a code is requested with a purpose, then it is echoed, stored and counted under that purpose', async () => {
    const phone = uniquePhone();

    const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone, purpose: 'signup' });
    const verified = await verifyOtp(t, {
      verificationId: res.body.data.verificationId,
      code: t.emulator.lastCodeFor(phone),
    });

    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ phoneNumber: phone, purpose: 'signup' });
    expect((await t.models.Verification.findByPk(res.body.data.verificationId))?.purpose).toBe('signup');
    expect(verified.status).toBe(200);
    const metrics = await t.metrics.registry.metrics();
    expect(metrics).toMatch(/^otp_requested_total\{purpose="signup",test_number="false"\} 1$/m);
    expect(metrics).toMatch(/^otp_verified_total\{purpose="signup",test_number="false"\} 1$/m);
  });

  test.each(['login', 'SIGNUP', ''])(
    'When the purpose is %j (not one of OTP_PURPOSES), then 400 VALIDATION_ERROR naming the field and nothing is sent',
    async (purpose) => {
      const phone = uniquePhone();

      const res = await request(t.app).post('/api/request-otp').send({ phoneNumber: phone, purpose });

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'purpose' }] });
      expect(t.emulator.lastCodeFor(phone)).toBeUndefined();
    },
  );

  test('When an Idempotency-Key is reused with another purpose, then 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const phone = uniquePhone();
    const key = `purpose-${Math.random()}`;

    await request(t.app)
      .post('/api/request-otp')
      .set('Idempotency-Key', key)
      .send({ phoneNumber: phone, purpose: 'signup' })
      .expect(200);
    const res = await request(t.app)
      .post('/api/request-otp')
      .set('Idempotency-Key', key)
      .send({ phoneNumber: phone, purpose: 'password_reset' });

    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
