/**
 * Instructions per request, counted by valgrind (callgrind): the same total for the same code and
 * workload whatever else the machine is doing, where requests/s moved by a third between runs here.
 * For comparing two commits' own work on request-otp + verify-otp (docs/performance.md).
 *
 *   node tests/bench/instructions.mjs <checkout> [pairs]     (the checkout built: dist/server.js)
 *
 * Starts the Sinch emulator of THIS checkout (dist/, fixed code) in this process, the other
 * checkout's built service under callgrind against a fresh PostgreSQL database (BENCH_DATABASE_URL's
 * server, database otp_instructions), and sends 30 warm-up pairs, then `pairs` more (default 200),
 * one at a time. It runs twice, with and without the measured pairs, and prints the difference per
 * pair: start-up, warm-up and shutdown cancel out. Needs valgrind and psql; takes a few minutes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const [checkout, pairsArg] = process.argv.slice(2);
if (!checkout) throw new Error('usage: node tests/bench/instructions.mjs <checkout> [pairs]');
const SERVICE = path.resolve(checkout);
const PAIRS = Number(pairsArg ?? 200);
const WARM = 30;
const server = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/otp_bench');
const DATABASE_URL = Object.assign(new URL(server), { pathname: '/otp_instructions' }).toString();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'otp-instructions-'));
const keyFile = path.join(work, 'token-key.pem');
fs.writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));

const { createSinchEmulator } = await import(path.join(ROOT, 'dist', 'emulator', 'sinch-emulator.js'));
const secret = Buffer.from('instructions-secret').toString('base64');

function psql(sql) {
  execFileSync('psql', ['-h', server.hostname, '-p', server.port || '5432', '-U', server.username, '-qc', sql], {
    stdio: 'ignore',
  });
}

/** Instructions of one whole service run: start, WARM + extra pairs, SIGTERM. */
async function countRun(extra) {
  const emulator = await createSinchEmulator({
    applicationKey: 'instructions',
    applicationSecret: secret,
    fixedCode: '123456',
    printCodes: false,
    sandbox: false,
  });
  psql('DROP DATABASE IF EXISTS otp_instructions');
  psql('CREATE DATABASE otp_instructions');
  execFileSync('npx', ['sequelize-cli', 'db:migrate'], {
    cwd: SERVICE,
    env: { ...process.env, DATABASE_URL },
    stdio: 'ignore',
  });
  const out = path.join(work, `callgrind.${extra}.out`);
  const port = '3961';
  const env = {
    PATH: process.env.PATH,
    HOME: work,
    NODE_ENV: 'production',
    PORT: port,
    HOST: '127.0.0.1',
    DATABASE_URL,
    SINCH_APPLICATION_KEY: 'instructions',
    SINCH_APPLICATION_SECRET: secret,
    SINCH_API_BASE_URL: emulator.url,
    SINCH_AUTH_SCHEME: 'signed',
    SINCH_TIMEOUT_MS: '60000',
    REQUEST_TIMEOUT_MS: '120000',
    VERIFICATION_TOKEN_PRIVATE_KEY_FILE: keyFile,
    ALLOWED_COUNTRIES: 'SE',
    METRICS_PUBLIC: 'true',
    PURGE_INTERVAL_MINUTES: '0',
    OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
    RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '100000000',
    RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '100000000',
  };
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      `--callgrind-out-file=${out}`,
      'node',
      '--max-semi-space-size=8',
      '--max-old-space-size=256',
      'dist/server.js',
    ],
    { cwd: SERVICE, env, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (
      let tries = 0;
      !(await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      ));
      tries++
    ) {
      if (tries > 600) throw new Error('the service did not start under valgrind');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const post = async (route, body) => {
      const res = await fetch(base + route, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = await res.json();
      if (res.status !== 200) throw new Error(`${route} answered ${res.status} ${answer.code}`);
      return answer.data;
    };
    for (let i = 0; i < WARM + extra; i++) {
      const phoneNumber = `+46701${String(1000000 + i).slice(1)}`;
      const { verificationId } = await post('/api/request-otp', { phoneNumber });
      await post('/api/verify-otp', { verificationId, phoneNumber, code: '123456' });
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    await emulator.close();
  }
  return Number(/^summary: (\d+)/m.exec(fs.readFileSync(out, 'utf8'))?.[1] ?? NaN);
}

const without = await countRun(0);
const withPairs = await countRun(PAIRS);
const perPair = (withPairs - without) / PAIRS;
process.stdout.write(
  `${SERVICE}: ${(perPair / 1e6).toFixed(2)} M instructions per request-otp + verify-otp pair ` +
    `(${without} instructions for start, ${WARM} warm-up pairs and stop; ${withPairs} with ${PAIRS} pairs more)\n`,
);
fs.rmSync(work, { recursive: true, force: true });
