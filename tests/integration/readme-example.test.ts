/**
 * The README's Node.js backend example, run exactly as printed against the running
 * service (a real process): the docs cannot drift from what the service issues.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniquePhone } from '../factories/phone.factory';
import { testDatabaseUrl } from '../helpers/database';
import { ROOT, startServerProcess, type ServerProcess } from '../helpers/server-process';

const DOC = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The fenced block whose first line is `firstLine`, and the plain block printed right after it. */
function example(firstLine: string): { code: string; output: string } {
  const match = new RegExp(
    '```js\\n(' + firstLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\n[\\s\\S]*?)```[\\s\\S]*?```\\n([\\s\\S]*?)```',
  ).exec(DOC);
  if (!match?.[1] || !match[2]) throw new Error(`README.md has no example starting with ${firstLine}`);
  return { code: match[1], output: match[2] };
}

async function post(port: number, route: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data: Record<string, string> } };
}

describe('README: Integrating with your backend', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-integrating-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('When the Node.js example is run as printed with a signup token, then it accepts it for signup and rejects it for password reset', async () => {
    const { code, output } = example('// verify-phone.mjs: node verify-phone.mjs <verificationToken>');
    server = await startServerProcess({
      DATABASE_URL: testDatabaseUrl(),
      SINCH_EMULATOR: 'true',
      DATA_DIR: path.join(dir, 'data'),
      PORT: '0',
      HOST: '127.0.0.1',
      VERIFICATION_TOKEN_AUDIENCE: 'https://api.example.com',
      // The test database is shared by the whole run: the default global ceiling (100 codes a minute,
      // counted in the database) would refuse this request when other files sent many just before.
      OTP_GLOBAL_SENDS_PER_MINUTE: '1000000',
    });
    const phone = uniquePhone();
    const requested = await post(server.port, '/api/request-otp', { phoneNumber: phone, purpose: 'signup' });
    expect(requested.status).toBe(200);
    const masked = `+${phone.slice(1, 5)}*****${phone.slice(-2)}`;
    const printed = await server.waitForLine(
      (l) => typeof l.raw === 'string' && l.raw.includes(`EMULATED SMS (not sent) to ${masked}`),
    );
    const otp = /(\d{4,10})\s*$/.exec(String(printed.raw))?.[1];
    const verified = await post(server.port, '/api/verify-otp', {
      verificationId: requested.body.data.verificationId,
      code: otp,
    });
    expect(verified.status).toBe(200);

    // The example imports jose as an integrator's project would: from its own node_modules.
    fs.writeFileSync(path.join(dir, 'verify-phone.mjs'), code);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const run = await new Promise<{ error: Error | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['verify-phone.mjs', verified.body.data.verificationToken ?? ''],
        { cwd: dir, env: { PATH: process.env.PATH ?? '', OTP_SERVICE_URL: `http://127.0.0.1:${server?.port}` } },
        (error, stdout, stderr) => resolve({ error, stdout, stderr }),
      );
    });

    expect(run).toEqual({ error: null, stdout: output.replace('+46701234567', phone), stderr: '' });
  }, 90_000);
});
