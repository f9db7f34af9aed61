/**
 * The server-side API for backends: API keys, GET /api/verifications/:id, cancel, and redeem, on
 * the real app, the real database and the Sinch emulator.
 */
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { decodeJwt, SignJWT } from 'jose';
import { uniquePhone } from '../factories/phone.factory';
import { audit } from '../helpers/log-audit';
import { servedSpec } from '../helpers/openapi';
import { newWebhookSecret } from '../helpers/webhook-receiver';
import { reportsFor, requestCode, requestOtp, until, verifyOtp } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

/** A fresh API key (it is registered with the run-wide log audit: no log line may ever hold it). */
async function apiKey(t: TestApp, name = `backend-${Math.random().toString(36).slice(2, 10)}`): Promise<string> {
  const { key } = await t.services.apiKeys.create(name);
  audit.forbidden(key);
  return key;
}

/** Requests a code and verifies it: the verification id and the token verify-otp handed out. */
async function verified(t: TestApp, purpose?: string) {
  const phone = uniquePhone();
  const sent = await request(t.app)
    .post('/api/request-otp')
    .send({ phoneNumber: phone, ...(purpose ? { purpose } : {}) })
    .expect(200);
  const verificationId = sent.body.data.verificationId as string;
  const res = await verifyOtp(t, { phoneNumber: phone, code: t.emulator.lastCodeFor(phone), verificationId });
  expect(res.status).toBe(200);
  return { phone, verificationId, token: res.body.data.verificationToken as string };
}

describe('server-side API', () => {
  let t: TestApp;
  let key: string;
  const api = () => ({
    get: (path: string) => request(t.app).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string, body?: object) =>
      request(t.app)
        .post(path)
        .set('Authorization', `Bearer ${key}`)
        .send(body ?? {}),
  });

  beforeAll(async () => {
    t = await createTestApp({ env: { OTP_PURPOSES: 'signup,password_reset', OTP_MAX_ATTEMPTS: '3' } });
    key = await apiKey(t);
  });
  afterAll(() => t.close());

  describe('API keys', () => {
    test('When the key is missing, malformed, unknown, wrong or revoked, then every answer is the same 401 with WWW-Authenticate: Bearer', async () => {
      const { verificationId } = await requestCode(t);
      const revoked = await apiKey(t, 'to-be-revoked');
      await t.services.apiKeys.revoke('to-be-revoked');
      const path = `/api/verifications/${verificationId}`;
      const sameKeyOtherSecret = `${key.slice(0, 12)}${'A'.repeat(key.length - 12)}`;

      const answers = await Promise.all([
        request(t.app).get(path),
        request(t.app).get(path).set('Authorization', 'Basic dXNlcjpwdw=='),
        request(t.app).get(path).set('Authorization', 'Bearer not-a-key'),
        request(t.app)
          .get(path)
          .set('Authorization', `Bearer otp_${'x'.repeat(43)}`),
        request(t.app).get(path).set('Authorization', `Bearer ${sameKeyOtherSecret}`),
        request(t.app).get(path).set('Authorization', `Bearer ${revoked}`),
      ]);

      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.body).toEqual({
          status: 'error',
          code: 'UNAUTHORIZED',
          message: 'This route needs a valid API key: Authorization: Bearer <api key>.',
          requestId: expect.any(String),
        });
      }
    });

    test('When the key is valid, then the request is served and the key is marked used', async () => {
      const own = await apiKey(t, 'marks-used');
      const { verificationId } = await requestCode(t);

      const res = await request(t.app)
        .get(`/api/verifications/${verificationId}`)
        .set('Authorization', `Bearer ${own}`);

      expect(res.status).toBe(200);
      const row = await t.models.ApiKey.findOne({ where: { name: 'marks-used' } });
      expect(row?.lastUsedAt).toEqual(new Date(t.clock.now()));
      expect(row?.keyHash).not.toContain(own);
    });

    test('When a key passes its per-minute limit, then it gets 429 while another key and the public per-IP limits are unaffected', async () => {
      const limited = await createTestApp({
        env: { RATE_LIMIT_SERVER_API_PER_KEY_MINUTE: '3', RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '1' },
      });
      try {
        const first = await apiKey(limited);
        const second = await apiKey(limited);
        const { verificationId } = await requestCode(limited); // the IP's only request-otp this hour
        const get = (k: string) =>
          request(limited.app).get(`/api/verifications/${verificationId}`).set('Authorization', `Bearer ${k}`);

        const allowed = [await get(first), await get(first), await get(first)];
        const refused = await get(first);
        const other = await get(second);

        expect(allowed.map((r) => r.status)).toEqual([200, 200, 200]);
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({
          code: 'RATE_LIMITED',
          details: [{ limit: 'api-key', quota: 3, windowSeconds: 60 }],
        });
        expect(refused.headers['retry-after']).toMatch(/^\d+$/);
        expect(other.status).toBe(200);
        expect((await requestOtp(limited)).status).toBe(429);
      } finally {
        await limited.close();
      }
    });
  });

  describe('GET /api/verifications/:id', () => {
    test('When a code was requested with a purpose, then the verification is reported PENDING with every documented field', async () => {
      const phone = uniquePhone();
      const sent = await request(t.app)
        .post('/api/request-otp')
        .send({ phoneNumber: phone, purpose: 'password_reset' })
        .expect(200);
      const { verificationId, expiresAt } = sent.body.data as { verificationId: string; expiresAt: string };

      const res = await api().get(`/api/verifications/${verificationId}`);

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        status: 'success',
        message: 'Verification found.',
        data: {
          verificationId,
          phoneNumber: phone,
          method: 'sms',
          purpose: 'password_reset',
          status: 'PENDING',
          attempts: 0,
          maxAttempts: 3,
          createdAt: new Date(t.clock.now()).toISOString(),
          expiresAt,
          verifiedAt: null,
          smsDeliveryStatus: null,
          tokenRedeemedAt: null,
        },
      });
    });

    test('When the verification succeeded, then it is SUCCESSFUL with verifiedAt and the attempts used', async () => {
      const { verificationId } = await verified(t, 'signup');

      const res = await api().get(`/api/verifications/${verificationId}`);

      expect(res.body.data).toMatchObject({
        status: 'SUCCESSFUL',
        purpose: 'signup',
        attempts: 1,
        verifiedAt: new Date(t.clock.now()).toISOString(),
      });
    });

    test('When a PENDING verification is past its expiry, then it is reported EXPIRED', async () => {
      const own = await createTestApp();
      try {
        const ownKey = await apiKey(own);
        const { verificationId } = await requestCode(own);
        own.clock.advance(own.config.otp.ttlSeconds * 1000);

        const res = await request(own.app)
          .get(`/api/verifications/${verificationId}`)
          .set('Authorization', `Bearer ${ownKey}`);

        expect(res.body.data).toMatchObject({ status: 'EXPIRED', purpose: null });
        expect((await own.models.Verification.findByPk(verificationId))?.status).toBe('PENDING');
      } finally {
        await own.close();
      }
    });

    test('When the id is unknown, then 404 VERIFICATION_NOT_FOUND; when it is not a UUID, 400 naming the field', async () => {
      const unknown = await api().get('/api/verifications/00000000-0000-4000-8000-000000000000');
      const malformed = await api().get('/api/verifications/12345');

      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND', message: 'No verification has this id.' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({ code: 'VALIDATION_ERROR', details: [{ field: 'id' }] });
    });
  });

  describe('POST /api/verifications/:id/cancel', () => {
    test('When a PENDING verification is cancelled, then it is CANCELLED and even the right code gets 410 without Sinch being asked', async () => {
      const { phone, verificationId, sinchId, code } = await requestCode(t);

      const cancelled = await api().post(`/api/verifications/${verificationId}/cancel`);
      const again = await api().post(`/api/verifications/${verificationId}/cancel`);
      const verify = await verifyOtp(t, { phoneNumber: phone, code, verificationId });

      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({
        status: 'success',
        message: 'Verification cancelled.',
        data: { verificationId, status: 'CANCELLED', attempts: 0 },
      });
      expect(again.status).toBe(200);
      expect(again.body.data.status).toBe('CANCELLED');
      expect(verify.status).toBe(410);
      expect(verify.body).toMatchObject({ code: 'VERIFICATION_CANCELLED' });
      expect(reportsFor(t.emulator, sinchId)).toEqual([]);
      const row = await t.models.Verification.findByPk(verificationId);
      expect(row?.toJSON()).toMatchObject({ status: 'CANCELLED', attempts: 0 });
      const user = await t.models.User.findOne({ where: { phoneNumber: phone } });
      expect(user?.toJSON()).toMatchObject({ isVerified: false, otpFailureTimes: [] });
    });

    test('When a verification was cancelled, then the number can request a new code at once', async () => {
      const { phone, verificationId } = await requestCode(t);
      await api().post(`/api/verifications/${verificationId}/cancel`).expect(200);

      const next = await requestCode(t, phone);
      const res = await verifyOtp(t, { phoneNumber: phone, code: next.code, verificationId: next.verificationId });

      expect(res.status).toBe(200);
    });

    test('When the verification already succeeded, then 409 ALREADY_VERIFIED and it stays SUCCESSFUL', async () => {
      const { verificationId } = await verified(t);

      const res = await api().post(`/api/verifications/${verificationId}/cancel`);

      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'ALREADY_VERIFIED' });
      expect((await t.models.Verification.findByPk(verificationId))?.status).toBe('SUCCESSFUL');
    });

    test('When it is cancelled while Sinch is judging the right code, then the cancellation wins: 410 and no token', async () => {
      const { phone, verificationId, sinchId, code } = await requestCode(t);
      t.emulator.injectFault('report', { kind: 'delay', ms: 400 });

      const verifying = verifyOtp(t, { phoneNumber: phone, code, verificationId }).then((r) => r);
      await until(() => reportsFor(t.emulator, sinchId).length === 1, 5000, 'the report to reach Sinch');
      const cancelled = await api().post(`/api/verifications/${verificationId}/cancel`);
      const verify = await verifying;

      expect(cancelled.body.data.status).toBe('CANCELLED');
      expect(verify.status).toBe(410);
      expect(verify.body).toMatchObject({ code: 'VERIFICATION_CANCELLED' });
      expect(verify.body.data).toBeUndefined();
      expect((await t.models.Verification.findByPk(verificationId))?.status).toBe('CANCELLED');
    });

    test('When the id is unknown, then 404 VERIFICATION_NOT_FOUND', async () => {
      const res = await api().post('/api/verifications/00000000-0000-4000-8000-000000000000/cancel');

      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'VERIFICATION_NOT_FOUND' });
    });
  });

  describe('POST /api/verifications/redeem', () => {
    test('When a token is redeemed, then the first call gets its claims and every later call 409 TOKEN_ALREADY_REDEEMED', async () => {
      const { phone, verificationId, token } = await verified(t, 'signup');

      const first = await api().post('/api/verifications/redeem', { token });
      const second = await api().post('/api/verifications/redeem', { token });

      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        status: 'success',
        message: 'Verification token redeemed.',
        data: decodeJwt(token),
      });
      expect(first.body.data).toMatchObject({ sub: phone, jti: verificationId, purpose: 'signup' });
      expect(second.status).toBe(409);
      expect(second.body).toMatchObject({ code: 'TOKEN_ALREADY_REDEEMED' });
      const report = await api().get(`/api/verifications/${verificationId}`);
      expect(report.body.data.tokenRedeemedAt).toBe(new Date(t.clock.now()).toISOString());
    });

    test('When 20 backends redeem the same token at once, then exactly one succeeds and 19 get 409', async () => {
      const { token } = await verified(t);

      const answers = await Promise.all(
        Array.from({ length: 20 }, () => api().post('/api/verifications/redeem', { token })),
      );

      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, ...Array<number>(19).fill(409)]);
      expect(answers.filter((r) => r.status === 409).map((r) => (r.body as { code: string }).code)).toEqual(
        Array<string>(19).fill('TOKEN_ALREADY_REDEEMED'),
      );
    });

    test('When the token is expired, then 401 INVALID_TOKEN and it stays unredeemed', async () => {
      const { verificationId, token } = await verified(t);
      t.clock.advance(t.config.verificationToken.ttlSeconds * 1000);

      const res = await api().post('/api/verifications/redeem', { token });

      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'INVALID_TOKEN', details: [{ field: 'token', reason: 'expired' }] });
      expect((await t.models.Verification.findByPk(verificationId))?.tokenRedeemedAt).toBeNull();
    });

    test('When the token is signed by another key or altered, then 401 INVALID_TOKEN', async () => {
      const { token } = await verified(t);
      const claims = decodeJwt(token);
      const foreign = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
        .sign(generateKeyPairSync('ed25519').privateKey);
      const [header, , signature] = token.split('.');
      const altered = `${header}.${Buffer.from(JSON.stringify({ ...claims, purpose: 'password_reset' })).toString('base64url')}.${signature}`;

      const answers = await Promise.all(
        [foreign, altered, 'garbage'].map((tk) => api().post('/api/verifications/redeem', { token: tk })),
      );

      const outcome = (body: { code: string; details: Array<{ reason: string }> }) => [
        body.code,
        body.details[0]?.reason,
      ];
      expect(answers.map((r) => [r.status, ...outcome(r.body as Parameters<typeof outcome>[0])])).toEqual([
        [401, 'INVALID_TOKEN', 'signature'],
        [401, 'INVALID_TOKEN', 'signature'],
        [401, 'INVALID_TOKEN', 'malformed'],
      ]);
      expect(answers[0]?.headers['www-authenticate']).toBeUndefined();
    });

    test('When the verification behind a genuine token is gone (purged), then 401 INVALID_TOKEN', async () => {
      const { verificationId, token } = await verified(t);
      await t.models.Verification.destroy({ where: { id: verificationId } });

      const res = await api().post('/api/verifications/redeem', { token });

      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ details: [{ reason: 'verification_not_found' }] });
    });

    test('When the body has no token, then 400 VALIDATION_ERROR naming the field', async () => {
      const res = await api().post('/api/verifications/redeem', {});

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_ERROR',
        details: [{ field: 'token', message: 'token is required' }],
      });
    });
  });

  test('When the routes answer, then each answer (success and error, body and headers) matches the OpenAPI document', async () => {
    const spec = await servedSpec(t.app);
    const { verificationId, token } = await verified(t, 'signup');
    const pending = await requestCode(t);
    const unknown = '00000000-0000-4000-8000-000000000000';

    const answers: Array<[request.Response, string, string]> = [
      [await api().get(`/api/verifications/${verificationId}`), 'GET', '/api/verifications/{id}'],
      [await request(t.app).get(`/api/verifications/${verificationId}`), 'GET', '/api/verifications/{id}'],
      [await api().get('/api/verifications/12345'), 'GET', '/api/verifications/{id}'],
      [await api().get(`/api/verifications/${unknown}`), 'GET', '/api/verifications/{id}'],
      [
        await api().post(`/api/verifications/${pending.verificationId}/cancel`),
        'POST',
        '/api/verifications/{id}/cancel',
      ],
      [await api().post(`/api/verifications/${verificationId}/cancel`), 'POST', '/api/verifications/{id}/cancel'],
      [await api().post('/api/verifications/redeem', { token }), 'POST', '/api/verifications/redeem'],
      [await api().post('/api/verifications/redeem', { token }), 'POST', '/api/verifications/redeem'],
      [await api().post('/api/verifications/redeem', { token: 'garbage' }), 'POST', '/api/verifications/redeem'],
      [await request(t.app).get('/.well-known/jwks.json'), 'GET', '/.well-known/jwks.json'],
      [await verifyOtp(t, { verificationId: pending.verificationId, code: pending.code }), 'POST', '/api/verify-otp'],
    ];

    expect(answers.map(([res]) => res.status)).toEqual([200, 401, 400, 404, 200, 409, 200, 409, 401, 200, 410]);
    for (const [res, method, path] of answers) spec.expectMatches(res, method, path);
  });

  test('When webhooks are on and a verification is cancelled, then verification.cancelled is recorded with it, once', async () => {
    // The worker is not started: this is about what the cancel statement records, not its delivery.
    const hooked = await createTestApp({
      env: { WEBHOOK_URL: 'http://127.0.0.1:9/hooks', WEBHOOK_SECRET: newWebhookSecret(), OTP_PURPOSES: 'login' },
    });
    try {
      const hookedKey = await apiKey(hooked);
      const phone = uniquePhone();
      const sent = await request(hooked.app).post('/api/request-otp').send({ phoneNumber: phone, purpose: 'login' });
      const verificationId = sent.body.data.verificationId as string;
      const cancel = () =>
        request(hooked.app)
          .post(`/api/verifications/${verificationId}/cancel`)
          .set('Authorization', `Bearer ${hookedKey}`);

      expect((await cancel()).status).toBe(200);
      expect((await cancel()).status).toBe(200);

      const [events] = await hooked.sequelize.query(
        `SELECT "type", "data" FROM "WebhookEvents" WHERE "data" ->> 'verificationId' = $1 ORDER BY "occurredAt", "type" DESC`,
        { bind: [verificationId] },
      );
      expect(events).toEqual([
        expect.objectContaining({
          type: 'verification.requested',
          data: expect.objectContaining({ purpose: 'login' }),
        }),
        {
          type: 'verification.cancelled',
          data: { verificationId, phoneNumber: phone, purpose: 'login', method: 'sms', status: 'CANCELLED' },
        },
      ]);
    } finally {
      await hooked.close();
    }
  });

  test('When verification tokens are off, then redeem answers 404 and the other routes still work', async () => {
    const off = await createTestApp({ env: { VERIFICATION_TOKENS: 'off' } });
    try {
      const offKey = await apiKey(off);
      const { verificationId } = await requestCode(off);

      const redeem = await request(off.app)
        .post('/api/verifications/redeem')
        .set('Authorization', `Bearer ${offKey}`)
        .send({ token: 'x' });
      const get = await request(off.app)
        .get(`/api/verifications/${verificationId}`)
        .set('Authorization', `Bearer ${offKey}`);

      expect(redeem.status).toBe(404);
      expect(redeem.body).toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringContaining('VERIFICATION_TOKENS=off'),
      });
      expect(get.status).toBe(200);
    } finally {
      await off.close();
    }
  });
});
