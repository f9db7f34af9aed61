/**
 * Runs once per `npm test`: prepares ONE database and applies the migrations ONCE.
 * - TEST_DATABASE_URL set: that PostgreSQL database is dropped, recreated and migrated (CI does this).
 * - unset: an embedded PostgreSQL (PGlite, in memory) is started and served on a loopback port,
 *   so `npm test` passes on a machine with no database server at all.
 * It also builds the demo page, which the service serves from dist/public.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Sequelize } from 'sequelize';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { migrateUp } from '../../src/db/migrator';
import buildPage from './build-page';
import { recreateDatabase } from './database';

declare global {
  var __EMBEDDED_PG__: EmbeddedPostgres | undefined;
}

export default async function globalSetup(): Promise<void> {
  buildPage();
  process.env.TEST_LOG_AUDIT_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-log-audit-'));
  let url = process.env.TEST_DATABASE_URL;
  if (url) {
    await recreateDatabase(url);
  } else {
    const embedded = await startEmbeddedPostgres('memory://', { maxConnections: 64 });
    globalThis.__EMBEDDED_PG__ = embedded;
    url = `postgres://postgres@${embedded.host}:${embedded.port}/postgres`;
    // Workers are started after global setup and inherit this environment.
    process.env.TEST_DATABASE_URL = url;
    process.env.TEST_DATABASE_EMBEDDED = '1';
    process.stdout.write(
      `\n[tests] no TEST_DATABASE_URL: using embedded PostgreSQL (PGlite) on ${embedded.host}:${embedded.port}\n`,
    );
  }
  const sequelize = new Sequelize(url, { logging: false });
  try {
    await migrateUp(sequelize);
  } finally {
    await sequelize.close();
  }
}
