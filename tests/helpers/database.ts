import { Client } from 'pg';

/** The database the integration suite uses; global-setup fills TEST_DATABASE_URL in for PGlite runs. */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error('TEST_DATABASE_URL is not set: run the suite through jest (global-setup prepares the database)');
  return url;
}

/** Drops and recreates the database named in `url`, through the server's maintenance database. */
export async function recreateDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`Refusing to recreate a database named ${JSON.stringify(name)}`);
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Whether this run uses the embedded database (PGlite) rather than a PostgreSQL server. */
export const embeddedDatabase = process.env.TEST_DATABASE_EMBEDDED === '1';

/**
 * `test` for a concurrency test: it proves atomicity only on a PostgreSQL server. PGlite serialises
 * every client on one session, so with a guard removed the test would still pass there: on PGlite it
 * is skipped, and its name says why (CI runs it against PostgreSQL).
 */
export function serverOnlyTest(name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  if (embeddedDatabase) {
    test.skip(
      `${name} [PostgreSQL server only: PGlite runs every client on one session, so it proves nothing here]`,
      fn,
      timeout,
    );
  } else {
    test(name, fn, timeout);
  }
}
