/**
 * `npm run webhooks -- <command>`: the operator's view of the webhook outbox (docs/webhooks.md).
 *
 *   failed               lists events whose retry schedule is spent
 *   replay <event id>    puts one failed event back in the queue (same webhook-id, fresh schedule)
 *   replay --all         puts every failed event back
 *
 * A replayed event is delivered by the running service's worker, like any other.
 */
import { config as loadDotenv } from 'dotenv';
import { loadDatabaseConfig } from '../config';
import { createLogger } from '../config/logger';
import { createWebhookOutbox, type FailedEvent, type WebhookOutbox } from '../db/queries/webhook-outbox';
import { createSequelize } from '../db/sequelize';
import { createStatements } from '../db/statements';
import { runScript } from './run-script';

const USAGE = `Usage:
  npm run webhooks -- failed               list webhook events whose retries are spent
  npm run webhooks -- replay <event id>    queue one failed event again (same webhook-id)
  npm run webhooks -- replay --all         queue every failed event again`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function formatFailed(events: FailedEvent[]): string {
  if (!events.length) return 'No failed webhook events.';
  const rows = events.map((e) => [
    e.id,
    e.type,
    e.verificationId ?? '-',
    String(e.attempts),
    new Date(e.failedAt).toISOString(),
    e.lastError ?? '-',
  ]);
  const header = ['EVENT ID (webhook-id)', 'TYPE', 'VERIFICATION ID', 'ATTEMPTS', 'FAILED AT', 'LAST ERROR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line), `${events.length} failed event(s).`].join('\n');
}

async function run(outbox: WebhookOutbox, args: string[]): Promise<number> {
  const [command, target] = args;
  if (command === 'failed' && args.length === 1) {
    process.stdout.write(`${formatFailed(await outbox.listFailed())}\n`);
    return 0;
  }
  if (command === 'replay' && args.length === 2 && (target === '--all' || UUID.test(target ?? ''))) {
    const ids = await outbox.replayFailed(target === '--all' ? undefined : target);
    if (!ids.length) {
      process.stderr.write(
        target === '--all' ? 'No failed webhook events to replay.\n' : `No failed webhook event ${target}.\n`,
      );
      return target === '--all' ? 0 : 1;
    }
    process.stdout.write(
      `Queued again (the running service delivers them): ${ids.length} event(s)\n${ids.join('\n')}\n`,
    );
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

async function main(): Promise<number> {
  loadDotenv({ quiet: true });
  const database = loadDatabaseConfig(process.env);
  if (database.mode === 'embedded') {
    process.stderr.write(
      'npm run webhooks needs DATABASE_URL (or DB_HOST): the embedded database belongs to the running service\n',
    );
    return 1;
  }
  const logger = createLogger({ level: 'warn', format: 'json' });
  const sequelize = createSequelize(database, logger);
  try {
    const outbox = createWebhookOutbox(createStatements(sequelize, { prepared: database.preparedStatements }));
    return await run(outbox, process.argv.slice(2));
  } finally {
    await sequelize.close();
  }
}

runScript(main);
