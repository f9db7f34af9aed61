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
import { QueryTypes } from 'sequelize';
import { outboxCte, type WebhookEventType } from '../../src/db/queries/webhook-outbox';
import { createStatements } from '../../src/db/statements';
import { purgeExpired } from '../../src/services/retention.service';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { until } from '../helpers/otp-flow';
import { ROOT } from '../helpers/server-process';
import { createTestApp, type TestApp } from '../helpers/test-app';
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
