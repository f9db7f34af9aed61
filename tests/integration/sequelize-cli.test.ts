import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { QueryTypes, Sequelize } from 'sequelize';
import { recreateDatabase, testDatabaseUrl } from '../helpers/database';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
/** Only what the CLI needs: nothing from the shell, and a developer's .env is not read (DOTENV_PATH). */
const ISOLATED_ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DOTENV_PATH: '/nonexistent/.env' };
const MIGRATIONS = [
  '20261125000001-create-users.js',
  '20261125000002-create-verifications.js',
  '20261125000003-add-abuse-controls.js',
  '20261125000004-add-sms-delivery.js',
  '20261125000005-one-pending-verification-per-number.js',
  '20261125000006-shard-send-windows.js',
  '20261201000100-create-processed-callbacks.js',
  '20261201000200-create-api-keys.js',
  '20261201000201-verification-purpose-cancel-redeem.js',
  '20261201000300-create-webhook-events.js',
  '20261201000500-verification-channels.js',
];

/**
 * `npm run db:migrate`, `db:migrate:undo` and `db:seed:all` are how operators change the schema:
 * sequelize-cli, through .sequelizerc, against DATABASE_URL. Runs the real CLI on a scratch database.
 */
describe('sequelize-cli (npm run db:migrate, db:migrate:undo, db:seed:all)', () => {
  const embedded = process.env.TEST_DATABASE_EMBEDDED === '1';
  const url = new URL(testDatabaseUrl());
  // PGlite serves one database; on a server, a scratch database keeps the suite's schema untouched.
  if (!embedded) url.pathname = `${url.pathname}_cli`;
  let sequelize: Sequelize;

  beforeAll(async () => {
    if (!embedded) await recreateDatabase(url.toString());
    sequelize = new Sequelize(url.toString(), { logging: false });
  });
  afterAll(() => sequelize.close());

  const cli = (...args: string[]) =>
    run(process.execPath, [path.join(ROOT, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'), ...args], {
      cwd: ROOT,
      env: { ...ISOLATED_ENV, DATABASE_URL: url.toString() },
    });
  const applied = async () =>
    (
      await sequelize.query<{ name: string }>('SELECT name FROM "SequelizeMeta" ORDER BY name', {
        type: QueryTypes.SELECT,
      })
    ).map((r) => r.name);

  test('When the CLI migrates, undoes the last migration and migrates again, then SequelizeMeta follows and the schema is complete', async () => {
    await cli('db:migrate');
    expect(await applied()).toEqual(MIGRATIONS);
    // On embedded PGlite this is the suite's own (only) database: undoing would pull the schema
    // from under the test files running beside this one, so only the server run goes further.
    if (embedded) return;

    await cli('db:migrate:undo');
    expect(await applied()).toEqual(MIGRATIONS.slice(0, -1));

    await cli('db:migrate');
    expect(await applied()).toEqual(MIGRATIONS);
    const columns = await sequelize.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'OtpSendWindows' ORDER BY column_name`,
      { type: QueryTypes.SELECT },
    );
    expect(columns.map((c) => c.column_name)).toEqual(['sends', 'shard', 'windowStart']);
  }, 60_000);

  test('When the seeders run, then they succeed and add no users or verifications (reference data only)', async () => {
    const count = async () =>
      (
        await sequelize.query<{ users: number; verifications: number }>(
          'SELECT (SELECT count(*) FROM "Users")::int AS users, (SELECT count(*) FROM "Verifications")::int AS verifications',
          { type: QueryTypes.SELECT },
        )
      )[0];
    await cli('db:migrate');
    const before = await count();

    const { stdout } = await cli('db:seed:all');

    expect(stdout).toMatch(/Loaded configuration file "src\/config\/sequelize-cli\.cjs"/);
    expect(await count()).toEqual(before);
  }, 60_000);

  test('When no database is configured, then the CLI stops with a message pointing at DATABASE_URL', async () => {
    await expect(
      run(process.execPath, [path.join(ROOT, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'), 'db:migrate'], {
        cwd: ROOT,
        env: ISOLATED_ENV,
      }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/needs a PostgreSQL server: set DATABASE_URL/) });
  }, 60_000);
});
