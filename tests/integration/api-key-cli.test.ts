/**
 * `npm run api-key -- create|list|revoke`: the real script (src/scripts/api-key.ts through tsx, as
 * the built dist/scripts/api-key.js runs it) against the test database, and the keys it makes
 * used against the real app.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import request from 'supertest';
import { testDatabaseUrl } from '../helpers/database';
import { audit } from '../helpers/log-audit';
import { requestCode } from '../helpers/otp-flow';
import { ROOT } from '../helpers/server-process';
import { createTestApp, type TestApp } from '../helpers/test-app';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the script with only the database in its environment (no .env, nothing from this shell). */
function apiKeyCli(args: string[], env: Record<string, string> = { DATABASE_URL: testDatabaseUrl() }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src', 'scripts', 'api-key.ts'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const unique = (what: string) => `${what}-${Math.random().toString(36).slice(2, 10)}`;

describe('npm run api-key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  test('When a key is created, then it is printed alone on the last line, once, and the database holds only its hash', async () => {
    const name = unique('billing');

    const run = await apiKeyCli(['create', name]);

    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trimEnd().split('\n');
    const key = lines.at(-1) ?? '';
    audit.forbidden(key);
    expect(key).toMatch(/^otp_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    expect(lines.slice(0, -1).join('\n')).not.toContain(key);
    const row = await t.models.ApiKey.findOne({ where: { name } });
    expect(row?.toJSON()).toMatchObject({ name, prefix: key.slice(0, 12), revokedAt: null, lastUsedAt: null });
    expect(JSON.stringify(row?.toJSON())).not.toContain(key.slice(12));
  }, 30_000);

  test('When keys are listed, then name, prefix, created and last used are shown, never the key', async () => {
    const name = unique('listed');
    const created = await apiKeyCli(['create', name]);
    const key = created.stdout.trimEnd().split('\n').at(-1) ?? '';
    audit.forbidden(key);
    const { verificationId } = await requestCode(t);
    await request(t.app).get(`/api/verifications/${verificationId}`).set('Authorization', `Bearer ${key}`).expect(200);

    const run = await apiKeyCli(['list']);

    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME +PREFIX +CREATED +LAST USED +REVOKED$/);
    const row = rows.find((r) => r.startsWith(`${name} `)) ?? '';
    expect(row.split(/ {2,}/)).toEqual([
      name,
      key.slice(0, 12),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      new Date(t.clock.now()).toISOString(),
      '-',
    ]);
    expect(run.stdout).not.toContain(key.slice(12));
  }, 30_000);

  test('When a key is revoked, then it gets 401 at once, the listing says when, and its name can be reused', async () => {
    const name = unique('revoked');
    const key = (await apiKeyCli(['create', name])).stdout.trimEnd().split('\n').at(-1) ?? '';
    audit.forbidden(key);
    const { verificationId } = await requestCode(t);
    const get = () => request(t.app).get(`/api/verifications/${verificationId}`).set('Authorization', `Bearer ${key}`);
    expect((await get()).status).toBe(200);

    const revoked = await apiKeyCli(['revoke', name]);
    const again = await apiKeyCli(['revoke', name]);
    const reused = await apiKeyCli(['create', name]);

    expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`Revoked API key "${name}"`) });
    expect((await get()).status).toBe(401);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining(`No API key in use is named "${name}"`) });
    expect(reused.code).toBe(0);
    audit.forbidden(reused.stdout.trimEnd().split('\n').at(-1) ?? '');
    const listing = (await apiKeyCli(['list'])).stdout.split('\n').filter((l) => l.startsWith(`${name} `));
    expect(listing).toHaveLength(2);
    expect(listing[0]).toMatch(/\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect(listing[1]).toMatch(/ -$/);
  }, 60_000);

  test.each([
    [['create', 'already-taken'], 1, 'already in use'],
    [['create', 'has space'], 1, 'An API key name is'],
    [['create'], 2, 'Usage:'],
    [['rotate', 'x'], 2, 'Usage:'],
  ])(
    'When run with %j, then it exits %i saying why',
    async (args, code, message) => {
      if (args[1] === 'already-taken')
        await apiKeyCli(['create', 'already-taken']).then((r) =>
          audit.forbidden(r.stdout.trimEnd().split('\n').at(-1) ?? ''),
        );

      const run = await apiKeyCli(args);

      expect(run.code).toBe(code);
      expect(run.stderr).toContain(message);
      expect(run.stdout).not.toMatch(/otp_[A-Za-z0-9_-]{43}/);
    },
    30_000,
  );

  test('When no database is configured, then it refuses to touch the embedded one', async () => {
    const run = await apiKeyCli(['list'], {});

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('api-key needs DATABASE_URL');
  }, 30_000);
});
