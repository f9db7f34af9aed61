import { serverOnlyTest } from '../helpers/database';
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { fingerprintOf } from '../../src/services/idempotency.service';
import { formatted, uniquePhone } from '../factories/phone.factory';
import { requestOtp, rowsFor, startsFor } from '../helpers/otp-flow';
import { createTestApp, type TestApp } from '../helpers/test-app';

const TTL_SECONDS = 600;

async function keyRows(t: TestApp, key: string) {
  return t.sequelize.query<{ state: string }>(`SELECT "state" FROM "IdempotencyKeys" WHERE "key" = $1`, {
    bind: [key],
    type: QueryTypes.SELECT,
  });
}

describe('Idempotency-Key on POST /api/request-otp', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS) } });
  });

  afterAll(async () => {
    await t.close();
  });

  test('When the same key and number come again within 10 minutes, then the first response is replayed with Idempotent-Replayed and Sinch is asked once', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    const first = await requestOtp(t, phone, { 'Idempotency-Key': key });
    t.clock.advance((TTL_SECONDS - 1) * 1000);

    const replay = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(replay.body).toMatchObject({
      status: 'success',
      data: { verificationId: first.body.data.verificationId, phoneNumber: phone },
    });
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    expect(t.emulator.inbox.filter((m) => m.to === phone)).toHaveLength(1);
    expect((await rowsFor(t, phone)).verifications).toHaveLength(1);
    expect(await keyRows(t, key)).toEqual([{ state: 'done' }]);
  });

  test('When the number is written differently but is the same number, then it is the same request and is replayed', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    const first = await requestOtp(t, phone, { 'Idempotency-Key': key });

    const replay = await requestOtp(t, formatted(phone), { 'Idempotency-Key': key });

    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.data.verificationId).toBe(first.body.data.verificationId);
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test('When the same key comes with another number, then 422 IDEMPOTENCY_KEY_REUSED and nothing is sent to the other number', async () => {
    const phone = uniquePhone();
    const other = uniquePhone();
    const key = randomUUID();
    await requestOtp(t, phone, { 'Idempotency-Key': key });

    const res = await requestOtp(t, other, { 'Idempotency-Key': key });

    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      status: 'error',
      code: 'IDEMPOTENCY_KEY_REUSED',
      message: 'This Idempotency-Key was already used with a different request body.',
      requestId: res.headers['x-request-id'],
      details: [{ field: 'Idempotency-Key', reason: 'different_request' }],
    });
    expect(startsFor(t.emulator, other)).toHaveLength(0);
    expect(await rowsFor(t, other)).toEqual({ user: undefined, verifications: [] });
  });

  serverOnlyTest(
    'When 10 identical requests with one key arrive at once, then exactly one SMS is sent and every 200 carries the same verification',
    async () => {
      const phone = uniquePhone();
      const key = randomUUID();
      // A slow Sinch keeps the first request in flight while the others arrive.
      t.emulator.injectFault('start', { kind: 'delay', ms: 300 });

      const responses = await Promise.all(
        Array.from({ length: 10 }, () => requestOtp(t, phone, { 'Idempotency-Key': key })),
      );

      expect(startsFor(t.emulator, phone)).toHaveLength(1);
      expect(t.emulator.inbox.filter((m) => m.to === phone)).toHaveLength(1);
      const ok = responses.filter((r) => r.status === 200);
      const busy = responses.filter((r) => r.status === 409);
      expect(ok.length + busy.length).toBe(10);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ok.map((r) => r.body.data.verificationId as string)).size).toBe(1);
      for (const r of busy) {
        expect(r.body).toMatchObject({ status: 'error', code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS' });
        expect(r.headers['retry-after']).toBe('1');
      }
      const { verifications } = await rowsFor(t, phone);
      expect(verifications).toHaveLength(1);
      expect(verifications[0]?.id).toBe(ok[0]?.body.data.verificationId);

      const retry = await requestOtp(t, phone, { 'Idempotency-Key': key });

      expect(retry.status).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.body.data.verificationId).toBe(verifications[0]?.id);
      expect(startsFor(t.emulator, phone)).toHaveLength(1);
    },
  );

  test('When a key is still "in progress" long after any request could run (its process died), then a retry takes it over and sends', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    // What a crash mid-request leaves behind: a claimed key with no response.
    const claimedAt = new Date(t.clock.now());
    await t.sequelize.query(
      `INSERT INTO "IdempotencyKeys" ("key", "fingerprint", "state", "createdAt", "expiresAt") VALUES ($1, $2, 'in_progress', $3, $4)`,
      { bind: [key, fingerprintOf(phone, 'sms'), claimedAt, new Date(claimedAt.getTime() + TTL_SECONDS * 1000)] },
    );
    const busy = await requestOtp(t, phone, { 'Idempotency-Key': key });
    t.clock.advance(2 * t.config.server.requestTimeoutMs + 1000);

    const retry = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(busy.status).toBe(409);
    expect(busy.body).toMatchObject({ code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS' });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
    expect(await keyRows(t, key)).toEqual([{ state: 'done' }]);
  });

  test('When IDEMPOTENCY_TTL_SECONDS have passed, then the key is fresh: a new code is sent, not replayed', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    const first = await requestOtp(t, phone, { 'Idempotency-Key': key });
    t.clock.advance(TTL_SECONDS * 1000);

    const res = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(res.status).toBe(200);
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect(res.body.data.verificationId).not.toBe(first.body.data.verificationId);
    expect(startsFor(t.emulator, phone)).toHaveLength(2);
  });

  test('When the key has expired, then it may even be used for another number', async () => {
    const key = randomUUID();
    await requestOtp(t, uniquePhone(), { 'Idempotency-Key': key });
    t.clock.advance(TTL_SECONDS * 1000);
    const other = uniquePhone();

    const res = await requestOtp(t, other, { 'Idempotency-Key': key });

    expect(res.status).toBe(200);
    expect(startsFor(t.emulator, other)).toHaveLength(1);
  });

  test('When the first attempt fails at Sinch (503), then the key is freed and a retry with it sends the code', async () => {
    const phone = uniquePhone();
    const key = randomUUID();
    t.emulator.injectFault('start', { kind: 'status', status: 503 });

    const failed = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ status: 'error', code: 'SMS_PROVIDER_UNAVAILABLE' });
    expect(await keyRows(t, key)).toEqual([]);

    const retry = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(startsFor(t.emulator, phone).map((r) => r.status)).toEqual([503, 200]);
    expect((await rowsFor(t, phone)).verifications).toEqual([
      expect.objectContaining({ id: retry.body.data.verificationId, status: 'PENDING' }),
    ]);
  });

  test('When the request is refused before sending (invalid number), then the key is not used up', async () => {
    const key = randomUUID();
    const invalid = await requestOtp(t, '+4613', { 'Idempotency-Key': key });
    const phone = uniquePhone();

    const res = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(invalid.status).toBe(400);
    expect(res.status).toBe(200);
    expect(startsFor(t.emulator, phone)).toHaveLength(1);
  });

  test.each([
    ['contains a space', 'my key'],
    ['is empty', ''],
    ['is longer than 255 characters', 'k'.repeat(256)],
    ['holds a non-ASCII character', 'cl\u00e9'],
    ['holds a control character', 'a\tb'],
  ])(
    'When the key %s, then 400 VALIDATION_ERROR for Idempotency-Key and nothing is sent or stored',
    async (_what, key) => {
      const phone = uniquePhone();

      const res = await requestOtp(t, phone, { 'Idempotency-Key': key });

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        status: 'error',
        code: 'VALIDATION_ERROR',
        message: expect.any(String),
        requestId: res.headers['x-request-id'],
        details: [
          {
            field: 'Idempotency-Key',
            message: 'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces',
          },
        ],
      });
      expect(startsFor(t.emulator, phone)).toHaveLength(0);
      expect(await rowsFor(t, phone)).toEqual({ user: undefined, verifications: [] });
    },
  );

  test('When the key is 255 printable characters, then it is accepted', async () => {
    const phone = uniquePhone();
    const key = `${randomUUID()}~!#`.padEnd(255, 'x');

    const res = await requestOtp(t, phone, { 'Idempotency-Key': key });

    expect(res.status).toBe(200);
    expect(await keyRows(t, key)).toEqual([{ state: 'done' }]);
  });
});
