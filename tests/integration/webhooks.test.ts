/**
 * The webhook outbox and its delivery worker against the real test database and a real receiver on
 * 127.0.0.1; every signature is checked with the `standardwebhooks` package, as integrators do.
 *
 * Every webhook test lives in this one file (run serially): the outbox is one table per database,
 * and a worker started by a parallel file would deliver this file's events to its own receiver.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import http from 'node:http';
import { QueryTypes, Sequelize } from 'sequelize';
import { createSinchEmulator, type SinchEmulator } from '../../src/emulator/sinch-emulator';
import { postJson } from '../helpers/net';
import { outboxCte, type WebhookEventType } from '../../src/db/queries/webhook-outbox';
import { createStatements } from '../../src/db/statements';
import { purgeExpired } from '../../src/services/retention.service';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { requestCode, until, verifyOtp, wrongCode } from '../helpers/otp-flow';
import { applicationAuthorization } from '../../src/clients/sinch/sinch.signer';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process';
import { createTestApp, SINCH_KEY, SINCH_SECRET, type TestApp } from '../helpers/test-app';
import {
  newWebhookSecret,
  startWebhookReceiver,
  verifyWebhook,
  type ReceivedWebhook,
  type WebhookReceiver,
} from '../helpers/webhook-receiver';

const SECRET = newWebhookSecret();
const RETRY_DELAY_S = 0.3;
const TIMEOUT_MS = 1000;

function webhookEnv(url: string) {
  return {
    WEBHOOK_URL: url,
    WEBHOOK_SECRET: SECRET,
    // Three attempts, 0.3 s apart: a whole schedule runs in about a second.
    WEBHOOK_RETRY_DELAYS_SECONDS: `${RETRY_DELAY_S},${RETRY_DELAY_S}`,
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOK_POLL_INTERVAL_MS: '50',
    // Small limits, so the flow tests can spend a verification's attempts and a number's failure budget.
    OTP_MAX_ATTEMPTS: '3',
    OTP_MAX_FAILURES_PER_NUMBER_HOUR: '4',
  };
}

interface OutboxRow {
  status: string;
  attempts: number;
  lastError: string | null;
  deliveredAt: Date | null;
}

async function outboxRow(t: TestApp, id: string): Promise<OutboxRow | undefined> {
  const [row] = await t.sequelize.query<OutboxRow>(
    'SELECT "status", "attempts", "lastError", "deliveredAt" FROM "WebhookEvents" WHERE "id" = $1',
    { bind: [id], type: QueryTypes.SELECT },
  );
  return row;
}

/** The value of one series on GET /metrics, 0 when absent. */
async function metric(t: TestApp, series: string): Promise<number> {
  const text = (await request(t.app).get('/metrics').expect(200)).text;
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** POSTs a Sinch callback signed as Sinch signs it. */
function sinchCallback(t: TestApp, body: string) {
  const contentType = 'application/json; charset=utf-8';
  const timestamp = new Date(t.clock.now()).toISOString();
  const path = '/api/sinch/events';
  return request(t.app)
    .post(path)
    .set('Content-Type', contentType)
    .set('x-timestamp', timestamp)
    .set(
      'Authorization',
      applicationAuthorization({ method: 'POST', path, contentType, timestamp, body }, SINCH_KEY, SINCH_SECRET),
    )
    .send(body);
}

/** `npm run webhooks -- <args>`, run from the sources (the npm script runs the same file, built). */
async function webhooksCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'scripts', 'webhooks.ts'), ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: testDatabaseUrl(),
          DB_PREPARED_STATEMENTS: process.env.TEST_DATABASE_EMBEDDED === '1' ? 'false' : 'true',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('Signed webhooks from the outbox', () => {
  let receiver: WebhookReceiver;
  let t: TestApp;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await createTestApp({ env: webhookEnv(receiver.url) });
    t.services.webhookWorker!.start();
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  /** An event about a verification of its own, so the receiver can tell it from the other tests' events. */
  function newEvent(type: WebhookEventType = 'verification.succeeded') {
    const data = {
      verificationId: randomUUID(),
      phoneNumber: uniquePhone(),
      purpose: null,
      method: 'sms',
      status: 'SUCCESSFUL',
    };
    return { type, data, occurredAt: new Date(t.clock.now()) };
  }
  type NewEvent = ReturnType<typeof newEvent>;
  const isAbout = (event: NewEvent, hook: ReceivedWebhook) =>
    hook.body.data.verificationId === event.data.verificationId;

  /** Records the event through the outbox module; resolves with its id (the webhook-id). */
  async function enqueue(event: NewEvent): Promise<NewEvent & { id: string }> {
    const id = await t.services.webhookOutbox.enqueue(event.type, event.data, event.occurredAt);
    if (!id) throw new Error('the event was not recorded');
    return { ...event, id };
  }

  const deliveriesOf = (id: string) => receiver.deliveriesOf((h: ReceivedWebhook) => h.id === id);

  test('When the receiver answers 503 to the first two attempts, then the third delivers the same signed event with the same webhook-id', async () => {
    const type = 'verification.succeeded';
    const retryingBefore = await metric(t, `webhook_deliveries_total{type="${type}",outcome="retrying"}`);
    const deliveredBefore = await metric(t, `webhook_deliveries_total{type="${type}",outcome="delivered"}`);
    const planned = newEvent(type);
    receiver.answer = (hook) => (isAbout(planned, hook) && hook.nth <= 2 ? 503 : 200);

    const event = await enqueue(planned);
    await until(async () => (await outboxRow(t, event.id))?.status === 'DELIVERED', 5000, 'delivery');

    const hooks = deliveriesOf(event.id);
    expect(hooks.map((h) => h.headers['webhook-id'])).toEqual([event.id, event.id, event.id]);
    for (const hook of hooks) {
      expect(hook.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
      expect(verifyWebhook(hook, SECRET)).toEqual({
        type,
        timestamp: event.occurredAt.toISOString(),
        data: event.data,
      });
    }
    // The schedule is honoured: each retry waits its delay after the failed attempt.
    expect(hooks[1]!.receivedAt - hooks[0]!.receivedAt).toBeGreaterThanOrEqual(RETRY_DELAY_S * 1000 - 50);
    expect(hooks[2]!.receivedAt - hooks[1]!.receivedAt).toBeGreaterThanOrEqual(RETRY_DELAY_S * 1000 - 50);
    // The signature covers the body and depends on the secret.
    const last = hooks[2]!;
    expect(() => verifyWebhook({ ...last, raw: last.raw.replace('SUCCESSFUL', 'FAILED') }, SECRET)).toThrow();
    expect(() => verifyWebhook(last, newWebhookSecret())).toThrow();
    expect(await outboxRow(t, event.id)).toMatchObject({
      status: 'DELIVERED',
      attempts: 3,
      lastError: null,
      deliveredAt: expect.any(Date),
    });
    expect(await metric(t, `webhook_deliveries_total{type="${type}",outcome="retrying"}`)).toBe(retryingBefore + 2);
    expect(await metric(t, `webhook_deliveries_total{type="${type}",outcome="delivered"}`)).toBe(deliveredBefore + 1);
    const lines = t.logs.entries().filter((l) => l.eventId === event.id);
    expect(lines.map((l) => [l.message, l.attempt])).toEqual([
      ['webhook attempt failed; will retry', 1],
      ['webhook attempt failed; will retry', 2],
      ['webhook delivered', 3],
    ]);
  });

  test('When the receiver is down for the whole schedule, then the event is listed as failed and a replay delivers it with the same webhook-id', async () => {
    const type = 'verification.delivery';
    const failedBefore = await metric(t, `webhook_deliveries_total{type="${type}",outcome="failed"}`);
    let down = true;
    const planned = newEvent(type);
    // A dropped connection, then errors: network failures and non-2xx answers both count.
    receiver.answer = (hook) => (!isAbout(planned, hook) || !down ? 200 : hook.nth === 1 ? 'drop' : 503);

    const event = await enqueue(planned);
    await until(async () => (await outboxRow(t, event.id))?.status === 'FAILED', 5000, 'the schedule to run out');

    expect(deliveriesOf(event.id)).toHaveLength(3);
    expect(await outboxRow(t, event.id)).toMatchObject({ status: 'FAILED', attempts: 3, lastError: 'HTTP 503' });
    expect(await metric(t, `webhook_deliveries_total{type="${type}",outcome="failed"}`)).toBe(failedBefore + 1);
    expect(await metric(t, 'webhook_outbox_events{status="FAILED"}')).toBeGreaterThanOrEqual(1);

    const listed = await webhooksCli('failed');
    expect(listed).toMatchObject({ code: 0 });
    const line = listed.stdout.split('\n').find((l) => l.startsWith(event.id));
    expect(line).toEqual(expect.stringContaining(type));
    expect(line).toEqual(expect.stringContaining(event.data.verificationId));
    expect(line).toMatch(/\s3\s.*HTTP 503$/);
    expect(listed.stdout).not.toContain(event.data.phoneNumber);

    down = false;
    const replayed = await webhooksCli('replay', event.id);
    expect(replayed).toMatchObject({ code: 0 });
    expect(replayed.stdout).toContain(event.id);
    await until(async () => (await outboxRow(t, event.id))?.status === 'DELIVERED', 5000, 'the replayed delivery');

    const hooks = deliveriesOf(event.id);
    expect(hooks).toHaveLength(4);
    expect(hooks[3]!.headers['webhook-id']).toBe(event.id);
    expect(verifyWebhook(hooks[3]!, SECRET)).toEqual({
      type,
      timestamp: event.occurredAt.toISOString(),
      data: event.data,
    });
    expect(await outboxRow(t, event.id)).toMatchObject({ status: 'DELIVERED', attempts: 1, lastError: null });
    expect(await webhooksCli('replay', event.id)).toMatchObject({
      code: 1,
      stderr: `No failed webhook event ${event.id}.\n`,
    });
  }, 60_000);

  test('When the receiver never answers, then the attempt times out, other events are still delivered, the outbox gauges show it, and the retry delivers it', async () => {
    const planned = newEvent('verification.requested');
    receiver.answer = (hook) => (isAbout(planned, hook) && hook.nth === 1 ? 'hang' : 200);

    const slow = await enqueue(planned);
    await until(() => deliveriesOf(slow.id).length === 1, 3000, 'the first attempt');
    const other = await enqueue(newEvent('verification.requested'));
    await until(() => deliveriesOf(other.id).length === 1, 3000, 'the other event');
    expect(await outboxRow(t, slow.id)).toMatchObject({ status: 'PENDING', attempts: 1 });
    expect(await metric(t, 'webhook_outbox_events{status="PENDING"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(t, 'webhook_outbox_oldest_pending_age_seconds')).toBeGreaterThan(0);

    await until(async () => (await outboxRow(t, slow.id))?.status === 'DELIVERED', TIMEOUT_MS + 3000, 'the retry');
    const hooks = deliveriesOf(slow.id);
    expect(hooks).toHaveLength(2);
    expect(hooks[1]!.receivedAt - hooks[0]!.receivedAt).toBeGreaterThanOrEqual(TIMEOUT_MS + RETRY_DELAY_S * 1000 - 50);
    expect(t.logs.entries().find((l) => l.eventId === slow.id && l.attempt === 1)).toMatchObject({
      message: 'webhook attempt failed; will retry',
      error: `timeout after ${TIMEOUT_MS} ms`,
    });
  });

  test('When two instances poll one outbox, then every event is delivered once and no attempt is ever delivered twice at the same time', async () => {
    const second = await createTestApp({ env: webhookEnv(receiver.url) });
    try {
      second.services.webhookWorker!.start();
      // Slow answers keep attempts in flight while the other instance polls.
      receiver.answer = async () => {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return 200;
      };
      const events = await Promise.all(Array.from({ length: 40 }, () => enqueue(newEvent('verification.requested'))));
      const ids = new Set(events.map((e) => e.id));

      await until(() => events.every((e) => deliveriesOf(e.id).length > 0), 15_000, 'every delivery');
      await until(
        async () => (await Promise.all(events.map((e) => outboxRow(t, e.id)))).every((r) => r?.status === 'DELIVERED'),
        5000,
        'every event settled',
      );

      expect(events.map((e) => deliveriesOf(e.id).length)).toEqual(events.map(() => 1));
      expect(receiver.maxOverlapPerId()).toBe(1);
      const rows = await Promise.all(events.map((e) => outboxRow(t, e.id)));
      expect(rows.map((r) => r?.attempts)).toEqual(events.map(() => 1));
      const deliveredBy = (app: TestApp) =>
        new Set(
          app.logs
            .entries()
            .filter((l) => l.message === 'webhook delivered' && ids.has(String(l.eventId)))
            .map((l) => String(l.eventId)),
        );
      const first = deliveredBy(t);
      const other = deliveredBy(second);
      expect(first.size + other.size).toBe(events.length);
      expect([...first].filter((id) => other.has(id))).toEqual([]);
      expect(first.size).toBeGreaterThan(0);
      expect(other.size).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  }, 30_000);

  test('When delivered or failed events are older than the retention, then the purge deletes them and keeps undelivered ones', async () => {
    // Paused, so no attempt settles a row while the test ages it.
    await t.services.webhookWorker!.stop();
    const [oldDelivered, oldFailed, oldPending, recentDelivered] = await Promise.all(
      Array.from({ length: 4 }, () => enqueue(newEvent('verification.requested'))),
    );
    const age = async (event: { id: string } | undefined, status: string, days: number) =>
      t.sequelize.query(
        `UPDATE "WebhookEvents" SET "status" = $2, "createdAt" = now() - make_interval(days => $3),
           "nextAttemptAt" = now() + interval '1 day' WHERE "id" = $1`,
        { bind: [event!.id, status, days] },
      );
    await age(oldDelivered, 'DELIVERED', 31);
    await age(oldFailed, 'FAILED', 31);
    await age(oldPending, 'PENDING', 31);
    await age(recentDelivered, 'DELIVERED', 29);

    const result = await purgeExpired(t.sequelize, {
      retentionDays: 30,
      userRetentionDays: 3650,
      clock: { now: () => Date.now() },
    });

    expect(result.webhookEvents).toBeGreaterThanOrEqual(2);
    expect(await outboxRow(t, oldDelivered!.id)).toBeUndefined();
    expect(await outboxRow(t, oldFailed!.id)).toBeUndefined();
    expect(await outboxRow(t, oldPending!.id)).toMatchObject({ status: 'PENDING' });
    expect(await outboxRow(t, recentDelivered!.id)).toMatchObject({ status: 'DELIVERED' });
    await t.sequelize.query('DELETE FROM "WebhookEvents" WHERE "id" = $1', { bind: [oldPending!.id] });
    t.services.webhookWorker!.start();
  });

  describe('Events from the verification flow', () => {
    /** The verified bodies of the events of one type about one verification, in arrival order. */
    const eventsAbout = (verificationId: string, type: string) =>
      receiver
        .deliveriesOf((h) => h.body.data.verificationId === verificationId && h.body.type === type)
        .map((h) => verifyWebhook(h, SECRET));
    const arrived = (verificationId: string, type: string, count = 1) =>
      until(() => eventsAbout(verificationId, type).length >= count, 5000, `${type} for the verification`);

    beforeEach(() => {
      receiver.answer = () => 200;
    });

    test('When a code is requested and verified, then verification.requested and verification.succeeded arrive signed, without the code', async () => {
      const requested = await requestCode(t);
      const requestedAt = new Date(t.clock.now());
      t.clock.advance(1500);
      const res = await verifyOtp(t, { verificationId: requested.verificationId, code: requested.code });
      expect(res.status).toBe(200);

      await arrived(requested.verificationId, 'verification.succeeded');
      await arrived(requested.verificationId, 'verification.requested');
      const common = {
        verificationId: requested.verificationId,
        phoneNumber: requested.phone,
        purpose: null,
        method: 'sms',
      };
      expect(eventsAbout(requested.verificationId, 'verification.requested')).toEqual([
        {
          type: 'verification.requested',
          timestamp: requestedAt.toISOString(),
          data: {
            ...common,
            status: 'PENDING',
            expiresAt: new Date(requestedAt.getTime() + t.config.otp.ttlSeconds * 1000).toISOString(),
          },
        },
      ]);
      const verifiedAt = new Date(t.clock.now()).toISOString();
      expect(eventsAbout(requested.verificationId, 'verification.succeeded')).toEqual([
        {
          type: 'verification.succeeded',
          timestamp: verifiedAt,
          data: { ...common, status: 'SUCCESSFUL', verifiedAt, attempts: 1 },
        },
      ]);
      const raw = receiver.deliveriesOf((h) => h.body.data.verificationId === requested.verificationId);
      expect(raw.map((h) => h.raw).join('\n')).not.toMatch(new RegExp(`"${requested.code}"|:${requested.code}[,}]`));
    });

    test('When a verification runs out of attempts, then one verification.failed arrives with reason attempts_exhausted', async () => {
      const requested = await requestCode(t);
      for (let i = 0; i < 3; i++)
        await verifyOtp(t, { verificationId: requested.verificationId, code: wrongCode(requested.code) }).expect(400);
      await verifyOtp(t, { verificationId: requested.verificationId, code: requested.code }).expect(429);

      await arrived(requested.verificationId, 'verification.failed');
      expect(eventsAbout(requested.verificationId, 'verification.failed')).toEqual([
        {
          type: 'verification.failed',
          timestamp: new Date(t.clock.now()).toISOString(),
          data: {
            verificationId: requested.verificationId,
            phoneNumber: requested.phone,
            purpose: null,
            method: 'sms',
            status: 'FAILED',
            reason: 'attempts_exhausted',
            attempts: 3,
          },
        },
      ]);
      expect(eventsAbout(requested.verificationId, 'verification.succeeded')).toEqual([]);
    });

    test("When the number's failure budget refuses codes, then one verification.failed arrives with reason failure_budget_exhausted, however many are refused", async () => {
      const first = await requestCode(t);
      for (let i = 0; i < 3; i++)
        await verifyOtp(t, { verificationId: first.verificationId, code: wrongCode(first.code) }).expect(400);
      const second = await requestCode(t, first.phone);
      await verifyOtp(t, { verificationId: second.verificationId, code: wrongCode(second.code) }).expect(400);

      for (let i = 0; i < 3; i++)
        await verifyOtp(t, { verificationId: second.verificationId, code: second.code }).expect(429);

      await arrived(second.verificationId, 'verification.failed');
      const pending = await t.sequelize.query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM "WebhookEvents" WHERE "data" ->> 'verificationId' = $1 AND "type" = 'verification.failed'`,
        { bind: [second.verificationId], type: QueryTypes.SELECT },
      );
      expect(pending).toEqual([{ n: 1 }]);
      expect(eventsAbout(second.verificationId, 'verification.failed')).toEqual([
        {
          type: 'verification.failed',
          timestamp: new Date(t.clock.now()).toISOString(),
          data: {
            verificationId: second.verificationId,
            phoneNumber: first.phone,
            purpose: null,
            method: 'sms',
            status: 'PENDING',
            reason: 'failure_budget_exhausted',
            attempts: 1,
          },
        },
      ]);
    });

    test('When Sinch reports the SMS delivered, then verification.delivery arrives; a changed report sends another, a replayed one does not', async () => {
      const requested = await requestCode(t);
      const report = async (smsResult: string) => {
        const body = JSON.stringify({
          id: requested.sinchId,
          event: 'VerificationSmsDeliveredEvent',
          method: 'sms',
          smsResult,
        });
        await sinchCallback(t, body).expect(200, {});
      };

      await report('Failed');
      await report('Failed');
      t.clock.advance(2000);
      await report('Successful');

      await arrived(requested.verificationId, 'verification.delivery', 2);
      const recorded = await t.sequelize.query<{ n: number }>(
        `SELECT count(*)::int AS "n" FROM "WebhookEvents" WHERE "data" ->> 'verificationId' = $1 AND "type" = 'verification.delivery'`,
        { bind: [requested.verificationId], type: QueryTypes.SELECT },
      );
      expect(recorded).toEqual([{ n: 2 }]);
      const firstAt = new Date(t.clock.now() - 2000).toISOString();
      const secondAt = new Date(t.clock.now()).toISOString();
      const common = {
        verificationId: requested.verificationId,
        phoneNumber: requested.phone,
        purpose: null,
        method: 'sms',
        status: 'PENDING',
      };
      expect(eventsAbout(requested.verificationId, 'verification.delivery')).toEqual([
        {
          type: 'verification.delivery',
          timestamp: firstAt,
          data: { ...common, smsDeliveryStatus: 'FAILED', smsDeliveryReportedAt: firstAt },
        },
        {
          type: 'verification.delivery',
          timestamp: secondAt,
          data: { ...common, smsDeliveryStatus: 'DELIVERED', smsDeliveryReportedAt: secondAt },
        },
      ]);
    });

    test("When Sinch's result callback ends a verification, then verification.succeeded or verification.failed arrives", async () => {
      const succeeded = await requestCode(t);
      const failed = await requestCode(t);
      const result = (v: typeof succeeded, status: string) =>
        JSON.stringify({
          id: v.sinchId,
          event: 'VerificationResultEvent',
          method: 'sms',
          identity: { type: 'number', endpoint: v.phone },
          status,
          reference: v.verificationId,
        });

      await sinchCallback(t, result(succeeded, 'SUCCESSFUL')).expect(200, {});
      await sinchCallback(t, result(failed, 'DENIED')).expect(200, {});

      await arrived(succeeded.verificationId, 'verification.succeeded');
      await arrived(failed.verificationId, 'verification.failed');
      const at = new Date(t.clock.now()).toISOString();
      expect(eventsAbout(succeeded.verificationId, 'verification.succeeded')[0]?.data).toEqual({
        verificationId: succeeded.verificationId,
        phoneNumber: succeeded.phone,
        purpose: null,
        method: 'sms',
        status: 'SUCCESSFUL',
        verifiedAt: at,
        attempts: 0,
      });
      expect(eventsAbout(failed.verificationId, 'verification.failed')[0]?.data).toMatchObject({
        status: 'FAILED',
        reason: 'ended_by_provider',
      });
    });
  });

  describe('outboxCte: the event is written by the statement that makes the change', () => {
    const STATEMENT = {
      name: 'test_outbox_cte_v1',
      text: `WITH changed AS (
               SELECT $1::uuid AS "id", $2::varchar AS "phoneNumber", 'sms'::varchar AS "method", 'CANCELLED'::varchar AS "status"
             ), ${outboxCte({
               name: 'cancelled_event',
               type: 'verification.cancelled',
               source: 'changed',
               occurredAt: '$3',
               enabled: '$4',
               extra: { reason: `'test'::text` },
             })}
             SELECT 1 / $5::int AS "ok"`,
    };
    const eventsFor = async (verificationId: string) =>
      t.sequelize.query<{ type: string; data: Record<string, unknown>; occurredAt: Date }>(
        `SELECT "type", "data", "occurredAt" FROM "WebhookEvents" WHERE "data" ->> 'verificationId' = $1`,
        { bind: [verificationId], type: QueryTypes.SELECT },
      );

    test.each([
      { when: 'the statement commits and webhooks are on', enabled: true, divisor: 1, expected: 1 },
      { when: 'webhooks are off', enabled: false, divisor: 1, expected: 0 },
      { when: 'the statement fails after the change', enabled: true, divisor: 0, expected: 0 },
    ])('When $when, then $expected event(s) are recorded', async ({ enabled, divisor, expected }) => {
      const statements = createStatements(t.sequelize, { prepared: false });
      const verificationId = randomUUID();
      const phoneNumber = uniquePhone();
      const at = new Date(t.clock.now());

      const run = statements.run(STATEMENT, [verificationId, phoneNumber, at, enabled, divisor]);
      if (divisor === 0) await expect(run).rejects.toThrow(/division by zero/);
      else await run;

      const rows = await eventsFor(verificationId);
      expect(rows).toHaveLength(expected);
      if (expected)
        expect(rows[0]).toEqual({
          type: 'verification.cancelled',
          occurredAt: at,
          data: { verificationId, phoneNumber, purpose: null, method: 'sms', status: 'CANCELLED', reason: 'test' },
        });
    });

    test('When the same statement runs twice for one verification, then its event is recorded once', async () => {
      const statements = createStatements(t.sequelize, { prepared: false });
      const verificationId = randomUUID();
      const at = new Date(t.clock.now());

      await statements.run(STATEMENT, [verificationId, uniquePhone(), at, true, 1]);
      await statements.run(STATEMENT, [verificationId, uniquePhone(), at, true, 1]);

      expect(await eventsFor(verificationId)).toHaveLength(1);
    });

    test('When a name or type is not a plain identifier, then the builder refuses it', () => {
      const base = { name: 'e', type: 'verification.failed' as const, source: 's', occurredAt: '$1', enabled: '$2' };
      expect(() => outboxCte({ ...base, name: 'e; DROP TABLE x' })).toThrow();
      expect(() => outboxCte({ ...base, type: 'nope' as WebhookEventType })).toThrow();
      expect(() => outboxCte({ ...base, extra: { "x')": '1' } })).toThrow();
    });
  });
});

describe('A verification.succeeded event survives SIGKILL', () => {
  let receiver: WebhookReceiver;
  let emulator: SinchEmulator;
  let sequelize: Sequelize;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    emulator = await createSinchEmulator({ applicationKey: SINCH_KEY, applicationSecret: SINCH_SECRET });
    sequelize = new Sequelize(testDatabaseUrl(), { logging: false });
  });
  afterAll(async () => {
    for (const server of servers)
      if (server.child.exitCode === null && server.child.signalCode === null) await server.stop();
    await sequelize?.close();
    await emulator?.close();
    await receiver?.close();
  });

  const start = async (pollIntervalMs: number) => {
    const server = await startServerProcess({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      DATABASE_URL: testDatabaseUrl(),
      DB_PREPARED_STATEMENTS: process.env.TEST_DATABASE_EMBEDDED === '1' ? 'false' : 'true',
      SINCH_APPLICATION_KEY: SINCH_KEY,
      SINCH_APPLICATION_SECRET: SINCH_SECRET,
      SINCH_API_BASE_URL: emulator.url,
      PURGE_INTERVAL_MINUTES: '0',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
      OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_POLL_INTERVAL_MS: String(pollIntervalMs),
    });
    servers.push(server);
    return server;
  };

  test('When the service is killed right after a verification succeeds, then the restarted service delivers verification.succeeded', async () => {
    // The first instance polls once at start and then not for a minute: the kill comes first, so
    // the event can only reach the receiver through the outbox row and the next instance.
    const first = await start(60_000);
    const agent = new http.Agent({ keepAlive: false });
    const phone = uniquePhone();
    const requested = await postJson(first.port, agent, '/api/request-otp', { phoneNumber: phone });
    expect(requested.status).toBe(200);
    const verificationId = (requested.body.data as { verificationId: string }).verificationId;
    const verified = await postJson(first.port, agent, '/api/verify-otp', {
      verificationId,
      code: emulator.lastCodeFor(phone),
    });
    expect(verified).toMatchObject({ status: 200, body: { data: { verified: true } } });

    first.child.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const about = (h: ReceivedWebhook) => h.body.data.verificationId === verificationId;
    expect(receiver.deliveriesOf(about)).toEqual([]);
    const recorded = await sequelize.query<{ type: string; status: string }>(
      `SELECT "type", "status" FROM "WebhookEvents" WHERE "data" ->> 'verificationId' = $1 ORDER BY "type"`,
      { bind: [verificationId], type: QueryTypes.SELECT },
    );
    expect(recorded).toEqual([
      { type: 'verification.requested', status: 'PENDING' },
      { type: 'verification.succeeded', status: 'PENDING' },
    ]);

    const second = await start(50);
    await until(
      () => receiver.deliveriesOf((h) => about(h) && h.body.type === 'verification.succeeded').length > 0,
      30_000,
      'verification.succeeded from the restarted service',
    );

    const [hook] = receiver.deliveriesOf((h) => about(h) && h.body.type === 'verification.succeeded');
    expect(verifyWebhook(hook!, SECRET)).toMatchObject({
      type: 'verification.succeeded',
      data: { verificationId, phoneNumber: phone, status: 'SUCCESSFUL', attempts: 1 },
    });
    await until(
      () => second.lines.some((l) => l.message === 'webhook delivered' && l.eventId === hook!.id),
      5000,
      'the delivery logged by the restarted service',
    );
    agent.destroy();
    await second.stop();
  }, 120_000);
});
