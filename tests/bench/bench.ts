/**
 * `npm run bench`: the service against two floors (tests/bench/floor.mjs), all backed by PostgreSQL
 * and the Sinch emulator on loopback, driven by wrk (a C load generator: a Node one would eat the
 * cores the service needs and compress every ratio). The floor does a request's irreducible work on
 * node:http and pg; the stack floor does the same work on Express 5 and axios, the stack issue 2
 * requires, so the table separates what the stack costs from what the product's own code costs.
 *
 *   npm run bench                      saturation (32 connections) and light load (4) for both endpoints
 *   npm run bench -- --quick           shorter phases
 *   npm run bench -- --service-only    skip both floors
 *   npm run bench -- --growth          also: seed 1,000,000 verifications / 500,000 users, re-measure,
 *                                      and EXPLAIN ANALYZE every hot-path statement on the big tables
 *   npm run bench -- --rss-minutes 5   also: 5 minutes of saturation, sampling the service's RSS
 *   npm run bench -- --profile         run the service under `node --cpu-prof` and print where its time goes
 *
 * Results are printed as a table and written to artifacts/bench/<time>.json. Needs wrk
 * (`apt-get install wrk`) and PostgreSQL (BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/otp_bench; the database is recreated).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes, Sequelize } from 'sequelize';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/config/logger';
import { migrateUp } from '../../src/db/migrator';
import { createSinchEmulator } from '../../src/emulator/sinch-emulator';
import { createServices } from '../../src/services';
import { recreateDatabase } from '../helpers/database';
import { freePort } from '../helpers/net';
import { summarise } from './profile-summary';

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_DIR = __dirname;
const KEY = 'bench-key';
const SECRET = Buffer.from('bench-secret').toString('base64');
const CODE = '123456';
const THREADS = 2;

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const QUICK = flag('--quick');
const GROWTH = flag('--growth');
const RSS_MINUTES = option('--rss-minutes', 0);
const PROFILE = flag('--profile');
const DURATION = { warmup: QUICK ? 3 : 5, saturation: QUICK ? 8 : 20, light: QUICK ? 6 : 15 };
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/otp_bench';

type Endpoint = 'request-otp' | 'verify-otp';
type Shape = 'warmup' | 'saturation' | 'light';
type Target = 'floor' | 'stack floor' | 'service';
interface Phase {
  target: Target;
  endpoint: Endpoint;
  shape: Shape;
  label?: string;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  peakRssMb?: number;
  /** CPU milliseconds per request, by process: the target itself, PostgreSQL (all its processes), the emulator, wrk. */
  cpuMsPerRequest?: { target: number; postgres: number; emulator: number; wrk: number };
}

function cpuText(cpu: Phase['cpuMsPerRequest']): string {
  return cpu
    ? `; CPU ms/request: ${cpu.target} target, ${cpu.postgres} postgres, ${cpu.emulator} emulator, ${cpu.wrk} wrk`
    : '';
}

function log(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** utime + stime of a process in milliseconds (0 once it is gone). */
function cpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces), counted from field 3.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU ms of every PostgreSQL process on this machine (backends, WAL writer, checkpointer...): the database's whole cost. */
function postgresCpuMs(): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
        byPid.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // exited meanwhile
    }
  }
  return byPid;
}

/** CPU PostgreSQL spent between two readings: processes that started meanwhile count whole, ones that exited are lost. */
function postgresDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** Runs wrk and parses its summary; samples the service's RSS meanwhile and, given cpuPid, CPU per request by process. */
async function wrk(
  url: string,
  script: string,
  scriptArgs: string[],
  connections: number,
  seconds: number,
  rssPid?: number,
  cpuPid?: number,
) {
  let peak = 0;
  let wrkCpu = 0;
  const before = {
    target: cpuPid ? cpuMs(cpuPid) : 0,
    postgres: cpuPid ? postgresCpuMs() : new Map<number, number>(),
    emulator: process.cpuUsage(),
  };
  let after = before;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', [
      `-t${THREADS}`,
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      '--timeout',
      '5s',
      '-s',
      path.join(BENCH_DIR, script),
      url,
      '--',
      ...scriptArgs,
    ]);
    // wrk's own CPU is read while it runs (a child's /proc entry is gone once it has been reaped).
    const sampler = setInterval(() => {
      if (rssPid) peak = Math.max(peak, rssMb(rssPid));
      wrkCpu = Math.max(wrkCpu, cpuMs(child.pid!));
    }, 250);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      clearInterval(sampler);
      // Read the moment the load stops: the requests wrk abandons finish during the pause below.
      if (cpuPid) after = { target: cpuMs(cpuPid), postgres: postgresCpuMs(), emulator: process.cpuUsage() };
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited ${code}:\n${out}`));
    });
  });
  // wrk abandons its in-flight requests at the end; let the server finish them before anyone reads
  // the database (the next verify pool must not contain numbers those requests just verified).
  await new Promise((r) => setTimeout(r, 1000));
  if (output.includes('POOL EXHAUSTED'))
    throw new Error('verify pool exhausted: seed more numbers (this run is not valid)');
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0),
    p50Ms: toMs(/ 50%\s+(\S+)/.exec(output)?.[1] ?? ''),
    p99Ms: toMs(/ 99%\s+(\S+)/.exec(output)?.[1] ?? ''),
    errors: non2xx + socketErrors,
    peakRssMb: rssPid ? Math.round(peak) : undefined,
    cpuMsPerRequest:
      cpuPid && requests > 0
        ? {
            target: round3((after.target - before.target) / requests),
            postgres: round3(postgresDelta(before.postgres, after.postgres) / requests),
            // The emulator runs in this process; its bookkeeping while wrk runs is negligible.
            emulator: round3(
              (after.emulator.user + after.emulator.system - before.emulator.user - before.emulator.system) /
                1000 /
                requests,
            ),
            wrk: round3(wrkCpu / requests),
          }
        : undefined,
    raw: output,
  };
}

function start(command: string, argv: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'w');
  return spawn(command, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', out, out],
  });
}

async function prepareDatabase(): Promise<Sequelize> {
  await recreateDatabase(DATABASE_URL);
  const sequelize = new Sequelize(DATABASE_URL, { logging: false });
  await migrateUp(sequelize);
  await sequelize.query(`CREATE TABLE "FloorVerifications" (id uuid PRIMARY KEY, phone varchar(16) NOT NULL, sinch_id varchar(64) NOT NULL,
    attempts int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL DEFAULT now())`);
  await sequelize.query('CREATE INDEX ON "FloorVerifications" (phone)');
  return sequelize;
}

/** Where a target's numbers that request-otp created and nobody verified yet are: both floors share one table. */
function unverified(target: Target): { phone: string; id: string; from: string } {
  return target === 'service'
    ? { phone: '"phoneNumber"', id: '"id"', from: `"Verifications" WHERE status = 'PENDING'` }
    : { phone: 'phone', id: 'id', from: `"FloorVerifications" WHERE attempts = 0` };
}

/** Those numbers and their verification ids, `phone,id` one per line, for verify-otp.lua. */
async function writePool(sequelize: Sequelize, target: Target, limit: number): Promise<{ file: string; size: number }> {
  const { phone, id, from } = unverified(target);
  const rows = await sequelize.query<{ phone: string; id: string }>(
    `SELECT ${phone} AS phone, ${id} AS id FROM ${from} ORDER BY random() LIMIT ${limit}`,
    { type: QueryTypes.SELECT },
  );
  const file = path.join(os.tmpdir(), `bench-pool-${target.replace(' ', '-')}-${Date.now()}.txt`);
  fs.writeFileSync(file, rows.map((r) => `${r.phone},${r.id}`).join('\n') + '\n');
  return { file, size: rows.length };
}

async function poolSize(sequelize: Sequelize, target: Target): Promise<number> {
  const [row] = await sequelize.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${unverified(target).from}`, {
    type: QueryTypes.SELECT,
  });
  return row?.n ?? 0;
}

let numberBase = 0;
function nextBase(): string {
  numberBase += THREADS * 500_000;
  return String(numberBase % 10_000_000);
}

async function measure(
  sequelize: Sequelize,
  target: Target,
  url: string,
  pids: { rss?: number; cpu: number },
  shapes: Shape[],
  label?: string,
): Promise<Phase[]> {
  const phases: Phase[] = [];
  const connectionsFor = (shape: Shape) => (shape === 'light' ? 4 : 32);
  for (const shape of shapes) {
    const seconds = DURATION[shape];
    const result = await wrk(url, 'request-otp.lua', [nextBase()], connectionsFor(shape), seconds, pids.rss, pids.cpu);
    phases.push({
      target,
      endpoint: 'request-otp',
      shape,
      label,
      connections: connectionsFor(shape),
      seconds,
      ...result,
    });
    log(
      `${target} request-otp ${shape}${label ? ` (${label})` : ''}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors}${cpuText(result.cpuMsPerRequest)}`,
    );
  }
  // verify-otp needs numbers request-otp created and nobody verified yet: seed enough first, through
  // the same target's request-otp (the real path), assuming verify runs up to twice as fast.
  const requestRps = Math.max(...phases.map((p) => p.rps), 100);
  const needed = Math.ceil(2 * requestRps * shapes.reduce((sum, shape) => sum + DURATION[shape], 0) * 1.2);
  const available = await poolSize(sequelize, target);
  if (available < needed) {
    const seconds = Math.ceil((needed - available) / requestRps) + 1;
    log(`${target}: seeding ${needed - available} numbers for verify-otp (${seconds} s of request-otp)`);
    await wrk(url, 'request-otp.lua', [nextBase()], 32, seconds);
  }
  for (const shape of shapes) {
    const seconds = DURATION[shape];
    const pool = await writePool(sequelize, target, 400_000);
    const result = await wrk(
      url,
      'verify-otp.lua',
      [pool.file, CODE, String(THREADS)],
      connectionsFor(shape),
      seconds,
      pids.rss,
      pids.cpu,
    );
    fs.rmSync(pool.file);
    phases.push({
      target,
      endpoint: 'verify-otp',
      shape,
      label,
      connections: connectionsFor(shape),
      seconds,
      ...result,
    });
    log(
      `${target} verify-otp ${shape}${label ? ` (${label})` : ''}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, errors ${result.errors} (pool ${pool.size})${cpuText(result.cpuMsPerRequest)}`,
    );
  }
  return phases.map(({ raw: _raw, ...p }: Phase & { raw?: string }) => p);
}

/** Bulk-loads 500,000 users and 1,000,000 verifications through the migrations' schema. */
async function seedGrowth(sequelize: Sequelize): Promise<void> {
  log('seeding 500,000 users and 1,000,000 verifications...');
  const started = Date.now();
  await sequelize.query(`INSERT INTO "Users" ("id", "phoneNumber", "isVerified", "verifiedAt", "otpSendTimes", "otpFailureTimes", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), '+4676' || lpad(i::text, 7, '0'), i % 2 = 0, CASE WHEN i % 2 = 0 THEN now() - interval '2 days' END,
      ARRAY[now() - interval '2 days'], '{}', now() - interval '20 days', now() - interval '2 days'
    FROM generate_series(0, 499999) AS i`);
  // Two finished verifications per number (none PENDING: one PENDING per number is the live state).
  await sequelize.query(`INSERT INTO "Verifications" ("id", "sinchVerificationId", "phoneNumber", "method", "status", "attempts", "expiresAt", "verifiedAt", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), 'seed-' || i, '+4676' || lpad((i % 500000)::text, 7, '0'), 'sms',
      (ARRAY['SUCCESSFUL', 'EXPIRED', 'ABORTED', 'FAILED'])[1 + i % 4], i % 3,
      now() - (i % 2592000) * interval '1 second' + interval '10 minutes', NULL,
      now() - (i % 2592000) * interval '1 second', now() - (i % 2592000) * interval '1 second'
    FROM generate_series(0, 999999) AS i`);
  // Measure the big tables, not the bulk load's aftermath (autovacuum and checkpoint writes).
  await sequelize.query('VACUUM (ANALYZE) "Users"');
  await sequelize.query('VACUUM (ANALYZE) "Verifications"');
  await sequelize.query('CHECKPOINT');
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Drives the real service code in-process on the seeded tables and EXPLAIN ANALYZEs every statement
 * it sends through the hot-path runner (inside a rolled-back transaction, so the plan's execution
 * leaves nothing behind), then runs the statement for real.
 */
async function explainHotPaths(emulatorUrl: string): Promise<string[]> {
  const sequelize = new Sequelize(DATABASE_URL, { logging: false, pool: { max: 2 } });
  const plans: string[] = [];
  type Query = (config: unknown, values?: unknown[]) => Promise<{ rows: Array<Record<string, string>> }>;
  const manager = sequelize.connectionManager as unknown as {
    getConnection: (o?: unknown) => Promise<{ query: Query; explained?: boolean }>;
  };
  const getConnection = manager.getConnection.bind(manager);
  manager.getConnection = async (options?: unknown) => {
    const client = await getConnection(options);
    if (!client.explained) {
      const query = client.query.bind(client);
      client.query = async (config: unknown, values?: unknown[]) => {
        const statement = config as { name?: string; text?: string; values?: unknown[] };
        if (statement.text && /^\s*(WITH|SELECT|UPDATE|INSERT|DELETE)\b/i.test(statement.text)) {
          await query('BEGIN');
          try {
            const { rows } = await query({
              text: `EXPLAIN (ANALYZE, BUFFERS) ${statement.text}`,
              values: statement.values,
            });
            plans.push(`${statement.name ?? '(unnamed)'}:\n${rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n')}`);
          } finally {
            await query('ROLLBACK');
          }
        }
        return query(config, values);
      };
      client.explained = true;
    }
    return client;
  };
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL,
    SINCH_API_BASE_URL: emulatorUrl,
    SINCH_APPLICATION_KEY: KEY,
    SINCH_APPLICATION_SECRET: SECRET,
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    OTP_MAX_SENDS_PER_NUMBER_HOUR: '1000000',
    OTP_MAX_SENDS_PER_NUMBER_DAY: '1000000',
    OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
  });
  const services = createServices({
    config,
    logger: createLogger({ level: 'error', format: 'json', silent: true }),
    sequelize,
  });
  // A number from the seeded range (it has history) and a fresh one: request, a wrong code, the right code.
  for (const phone of ['+46760001234', '+46709999001']) {
    const { result } = await services.verifications.requestCode({ phoneNumber: phone });
    await services.verifications.verifyCode({ phoneNumber: phone, code: '000001' }).catch(() => undefined);
    await services.verifications.verifyCode({ phoneNumber: phone, code: CODE, verificationId: result.verificationId });
  }
  services.sinch.close();
  await sequelize.close();
  // One plan per statement (the second number's, on tables that now hold its history too).
  const byName = new Map(plans.map((p) => [p.split(':')[0], p]));
  return [...byName.values()];
}

function table(phases: Phase[]): string {
  const baseline = (target: Target, p: Phase) =>
    phases.find(
      (f) => f.target === target && f.endpoint === p.endpoint && f.shape === p.shape && f.label === undefined,
    );
  const ratio = (p: Phase, target: Target) => {
    const base = p.target !== target && p.label === undefined ? baseline(target, p) : undefined;
    return base ? (p.rps / base.rps).toFixed(2) + 'x' : '';
  };
  const rows = phases
    .filter((p) => p.shape !== 'warmup')
    .map((p) => {
      const cpu = p.cpuMsPerRequest;
      const cpuCell = cpu ? [cpu.target, cpu.postgres, cpu.emulator, cpu.wrk].map((n) => n.toFixed(2)).join(' / ') : '';
      const vsStack = p.target === 'service' ? ratio(p, 'stack floor') : '';
      return [
        p.endpoint,
        p.target + (p.label ? ` (${p.label})` : ''),
        `${p.shape} c=${p.connections}`,
        p.rps.toFixed(0),
        p.p50Ms.toFixed(2),
        p.p99Ms.toFixed(2),
        String(p.errors),
        p.peakRssMb !== undefined ? p.peakRssMb.toFixed(0) : '',
        ratio(p, 'floor'),
        vsStack,
        cpuCell,
      ];
    });
  const header = [
    'endpoint',
    'target',
    'load',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    'peak RSS MB',
    'x floor',
    'x stack floor',
    'CPU ms/req: target / postgres / emulator / wrk',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (error) {
    // wrk prints its version and exits 1; only a missing binary is a problem.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('wrk is not installed: apt-get install wrk');
  }
  const artifacts = path.join(ROOT, 'artifacts', 'bench');
  fs.mkdirSync(artifacts, { recursive: true });
  const sequelize = await prepareDatabase();
  const children: ChildProcess[] = [];
  const stopAll = () => children.forEach((c) => c.exitCode === null && c.kill('SIGTERM'));
  process.on('exit', stopAll);

  try {
    // The emulator runs in this process: it is shared by the floors and the service, so its cost is common to all.
    const emulator = await createSinchEmulator({
      applicationKey: KEY,
      applicationSecret: SECRET,
      fixedCode: CODE,
      sandbox: false,
      recordLimit: 10,
      maxVerifications: 2_000_000,
    });
    const floorPort = await freePort();
    const stackPort = await freePort();
    const servicePort = await freePort();
    const floorArgs = [DATABASE_URL, emulator.url, KEY, SECRET, '10'];
    const floor = start(
      process.execPath,
      [path.join(BENCH_DIR, 'floor.mjs'), 'plain', String(floorPort), ...floorArgs],
      {},
      path.join(artifacts, 'floor.log'),
    );
    const stack = start(
      process.execPath,
      [path.join(BENCH_DIR, 'floor.mjs'), 'stack', String(stackPort), ...floorArgs],
      {},
      path.join(artifacts, 'stack-floor.log'),
    );
    children.push(floor, stack);
    const profileDir = path.join(artifacts, 'profile');
    if (PROFILE) fs.rmSync(profileDir, { recursive: true, force: true });
    // The same V8 flags as `npm start`: explicit heap sizes keep RSS flat at no measured cost.
    const service = start(
      process.execPath,
      [
        '--max-semi-space-size=8',
        '--max-old-space-size=256',
        ...(PROFILE ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
        'dist/server.js',
      ],
      {
        NODE_ENV: 'production',
        PORT: String(servicePort),
        HOST: '127.0.0.1',
        DATABASE_URL,
        DB_POOL_MAX: '10',
        SINCH_API_BASE_URL: emulator.url,
        SINCH_APPLICATION_KEY: KEY,
        SINCH_APPLICATION_SECRET: SECRET,
        SINCH_AUTH_SCHEME: 'basic',
        // Raised so the benchmark measures work, not refusals.
        OTP_RESEND_COOLDOWN_SECONDS: '0',
        OTP_MAX_SENDS_PER_NUMBER_HOUR: '1000000',
        OTP_MAX_SENDS_PER_NUMBER_DAY: '1000000',
        OTP_GLOBAL_SENDS_PER_MINUTE: '100000000',
        RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR: '100000000',
        RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR: '100000000',
        OTP_MAX_FAILURES_PER_NUMBER_HOUR: '1000000',
        PURGE_INTERVAL_MINUTES: '0',
        LOG_LEVEL: 'info',
        // Production needs a token signing key; each successful verify-otp signs one (Ed25519).
        VERIFICATION_TOKEN_PRIVATE_KEY: generateKeyPairSync('ed25519')
          .privateKey.export({ format: 'pem', type: 'pkcs8' })
          .toString(),
      },
      path.join(artifacts, 'service.log'),
    );
    children.push(service);
    const floorUrl = `http://127.0.0.1:${floorPort}`;
    const stackUrl = `http://127.0.0.1:${stackPort}`;
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    await waitForHttp(`${floorUrl}/`);
    await waitForHttp(`${stackUrl}/`);
    await waitForHttp(`${serviceUrl}/health/live`);
    log(
      `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}; phases ${JSON.stringify(DURATION)} s`,
    );

    const phases: Phase[] = [];
    if (!flag('--service-only')) {
      phases.push(
        ...(await measure(sequelize, 'floor', floorUrl, { cpu: floor.pid! }, ['warmup', 'saturation', 'light'])),
      );
      phases.push(
        ...(await measure(sequelize, 'stack floor', stackUrl, { cpu: stack.pid! }, ['warmup', 'saturation', 'light'])),
      );
    }
    phases.push(
      ...(await measure(sequelize, 'service', serviceUrl, { rss: service.pid, cpu: service.pid! }, [
        'warmup',
        'saturation',
        'light',
      ])),
    );

    let growth: { emptyP50: Record<string, number>; seededP50: Record<string, number>; plans: string[] } | undefined;
    if (GROWTH) {
      const light = (label?: string) =>
        phases.filter((p) => p.target === 'service' && p.shape === 'light' && p.label === label);
      await seedGrowth(sequelize);
      phases.push(
        ...(await measure(
          sequelize,
          'service',
          serviceUrl,
          { rss: service.pid, cpu: service.pid! },
          ['light'],
          'seeded 1M',
        )),
      );
      const plans = await explainHotPaths(emulator.url);
      growth = {
        emptyP50: Object.fromEntries(light().map((p) => [p.endpoint, p.p50Ms])),
        seededP50: Object.fromEntries(light('seeded 1M').map((p) => [p.endpoint, p.p50Ms])),
        plans,
      };
    }

    let rss: number[] | undefined;
    if (RSS_MINUTES > 0) {
      log(`${RSS_MINUTES} minutes of request-otp saturation, sampling RSS every 10 s...`);
      rss = [];
      const sampler = setInterval(() => rss!.push(Math.round(rssMb(service.pid!))), 10_000);
      await wrk(serviceUrl, 'request-otp.lua', [nextBase()], 32, RSS_MINUTES * 60);
      clearInterval(sampler);
    }

    process.stdout.write(`\n${table(phases)}\n`);
    if (growth) {
      process.stdout.write('\nGrowth (light load p50, empty tables -> 1M verifications / 500k users):\n');
      for (const endpoint of ['request-otp', 'verify-otp']) {
        const before = growth.emptyP50[endpoint] ?? NaN;
        const after = growth.seededP50[endpoint] ?? NaN;
        process.stdout.write(
          `  ${endpoint}: ${before.toFixed(2)} ms -> ${after.toFixed(2)} ms (${(after / before).toFixed(2)}x)\n`,
        );
      }
      process.stdout.write(`\nQuery plans of the hot paths on the seeded tables:\n${growth.plans.join('\n\n')}\n`);
    }
    if (rss) process.stdout.write(`\nRSS over ${RSS_MINUTES} min (MB, every 10 s): ${rss.join(' ')}\n`);
    if (PROFILE) {
      // The profile is written when the service exits.
      service.kill('SIGTERM');
      await new Promise((resolve) => service.once('exit', resolve));
      const profile = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (profile)
        process.stdout.write(
          `\nService CPU profile (${path.relative(ROOT, path.join(profileDir, profile))}):\n${summarise(path.join(profileDir, profile))}\n`,
        );
    }

    const file = path.join(artifacts, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const commit = (() => {
      try {
        return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
      } catch {
        return 'unknown';
      }
    })();
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          commit,
          at: new Date().toISOString(),
          cores: os.cpus().length,
          node: process.version,
          durations: DURATION,
          phases,
          growth: growth && { emptyP50: growth.emptyP50, seededP50: growth.seededP50 },
          rss,
        },
        null,
        2,
      ),
    );
    log(`results written to ${path.relative(ROOT, file)}`);
    await emulator.close();
  } finally {
    stopAll();
    await sequelize.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[bench] ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
