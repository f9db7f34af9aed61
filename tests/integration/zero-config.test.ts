import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniquePhone } from '../factories/phone.factory';
import { startServerProcess, type ServerProcess } from '../helpers/server-process';

/**
 * The first five minutes: `npm start` with no .env, no database server and no Sinch credentials
 * runs on embedded PostgreSQL (PGlite) and the in-process Sinch emulator, whose console is the
 * only place a code is printed. Runs the real server process.
 */
async function post(port: number, route: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { code?: string; data: { verificationId: string } } };
}

describe('zero-config start', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-zero-config-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('When nothing is configured, then a code can be requested and verified with the code the emulator printed, and the data survives a restart', async () => {
    // No HOST either: the zero-config run listens on loopback only, since its inbox route shows every code.
    server = await startServerProcess({ DATA_DIR: dataDir, PORT: '0' });
    const phone = uniquePhone();
    const masked = `+${phone.slice(1, 5)}*****${phone.slice(-2)}`;

    expect(server.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: expect.stringMatching(/^database: embedded PostgreSQL \(PGlite\)/) }),
        expect.objectContaining({ message: expect.stringMatching(/Sinch EMULATOR \(nothing configured/) }),
        expect.objectContaining({ message: expect.stringMatching(/^listening on /), host: '127.0.0.1' }),
      ]),
    );
    const requested = await post(server.port, '/api/request-otp', { phoneNumber: phone });
    expect(requested).toMatchObject({ status: 200, body: { status: 'success', data: { phoneNumber: phone } } });

    const printed = await server.waitForLine(
      (l) => typeof l.raw === 'string' && l.raw.includes(`EMULATED SMS (not sent) to ${masked}`),
    );
    const code = /(\d{4,10})\s*$/.exec(String(printed.raw))?.[1];
    expect(code).toBeDefined();
    const verified = await post(server.port, '/api/verify-otp', {
      verificationId: requested.body.data.verificationId,
      code,
    });
    expect(verified).toMatchObject({ status: 200, body: { data: { phoneNumber: phone, verified: true } } });

    await server.stop();
    expect((await server.exited).code).toBe(0);

    server = await startServerProcess({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    const again = await post(server.port, '/api/verify-otp', {
      phoneNumber: phone,
      code,
      verificationId: requested.body.data.verificationId,
    });
    expect(again).toMatchObject({ status: 409, body: { code: 'ALREADY_VERIFIED' } });
    // The code appears on the emulator's console line and nowhere in the service's own log.
    const serviceLog = server.lines
      .filter((l) => !('raw' in l))
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(serviceLog).not.toContain(phone);
  }, 90_000);

  test('When NODE_ENV=production and neither a database nor Sinch is configured, then start-up stops with one message naming both', async () => {
    await expect(startServerProcess({ NODE_ENV: 'production', PORT: '0' }, { timeoutMs: 20_000 })).rejects.toThrow(
      /DATABASE_URL \(or DB_HOST\) is required when NODE_ENV=production[\s\S]*SINCH_APPLICATION_KEY and SINCH_APPLICATION_SECRET are required when NODE_ENV=production/,
    );
  }, 30_000);
});
