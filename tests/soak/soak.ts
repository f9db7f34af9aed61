import { randomUUID } from 'node:crypto';
/**
 * `npm run soak`: minutes of mixed traffic against a RUNNING instance, to show that it keeps
 * serving and that its memory stays flat. Not part of `npm test`.
 *
 *   npm run soak -- [URL] [--minutes 3] [--concurrency 8] [--pid PID] [--emulator URL]
 *                   [--metrics-token TOKEN] [--interval 10] [--max-growth 20]
 *
 * URL (default http://localhost:3000) is the service. Codes are read from the Sinch emulator's
 * control API (`--emulator http://127.0.0.1:4010`, GET /_emulator/inbox?to=) or, when the service
 * runs zero-config on its in-process emulator, from its own GET /api/emulator/inbox. Memory is the
 * service's RSS: process_resident_memory_bytes from /metrics (with --metrics-token if METRICS_TOKEN
 * is set), else VmRSS of --pid from /proc.
 *
 * The traffic mix: full flows on new numbers (request, read the code, verify it), flows with a
 * wrong code first, invalid input of several kinds, and checks for numbers that have no code.
 * Each number is used once, so per-number limits are not what it measures; the per-IP and global
 * limits must be lifted on the instance under test, e.g.
 *
 *   RATE_LIMIT_REQUEST_OTP_PER_IP_HOUR=100000000 RATE_LIMIT_VERIFY_OTP_PER_IP_HOUR=100000000 \
 *   OTP_GLOBAL_SENDS_PER_MINUTE=100000000 npm start
 *
 * Every ~10 s it prints requests served, answers by code, and RSS; at the end the RSS growth from
 * the end of warm-up (the first fifth of the run, at least one interval) to the end, compared over
 * the median of three samples each side. Exit 0 when memory is flat (growth below --max-growth %)
 * and no request got a 5xx or a network error; 1 otherwise.
 */
import fs from 'node:fs';

const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
const positional = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));

const BASE = (positional[0] ?? option('--url') ?? 'http://localhost:3000').replace(/\/+$/, '');
const MINUTES = Number(option('--minutes') ?? 3);
const CONCURRENCY = Number(option('--concurrency') ?? 8);
const PID = option('--pid');
const EMULATOR = option('--emulator')?.replace(/\/+$/, '');
const METRICS_TOKEN = option('--metrics-token');
const INTERVAL_S = Number(option('--interval') ?? 10);
const MAX_GROWTH_PCT = Number(option('--max-growth') ?? 20);

if (!(MINUTES > 0) || !(CONCURRENCY >= 1) || !(INTERVAL_S >= 1)) {
  process.stderr.write(
    'usage: soak [URL] [--minutes N] [--concurrency N] [--pid PID] [--emulator URL] [--metrics-token T] [--interval S] [--max-growth PCT]\n',
  );
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Counting

const answers = new Map<string, number>();
let served = 0;
let unexpected = 0;
let noCode = 0;

function record(label: string, status: number): void {
  served += 1;
  answers.set(label, (answers.get(label) ?? 0) + 1);
  if (status >= 500 || status === 0) unexpected += 1;
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

async function call(
  path: string,
  init: { method?: string; body?: string; contentType?: string } = {},
): Promise<Answer> {
  try {
    const res = await fetch(`${BASE}${path}`, {
      method: init.method ?? 'POST',
      headers:
        init.contentType === undefined
          ? { 'content-type': 'application/json' }
          : init.contentType
            ? { 'content-type': init.contentType }
            : {},
      body: init.body,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const code = body?.status === 'success' ? 'success' : typeof body?.code === 'string' ? body.code : 'non_json';
    record(`${res.status} ${code}`, res.status);
    return { status: res.status, body };
  } catch (error) {
    record(`network ${error instanceof Error ? error.name : 'error'}`, 0);
    return { status: 0, body: undefined };
  }
}

// ---------------------------------------------------------------------------------------------
// Traffic

/** Distinct valid Swedish mobiles (+4672...), a fresh block per run. */
let counter = Math.floor(Math.random() * 9_000_000);
function nextPhone(): string {
  counter = (counter + 1) % 10_000_000;
  return `+4672${String(counter).padStart(7, '0')}`;
}

let inboxUnavailable = false;

async function codeFor(phone: string): Promise<string | undefined> {
  if (inboxUnavailable) return undefined;
  const url = EMULATOR
    ? `${EMULATOR}/_emulator/inbox?to=${encodeURIComponent(phone)}`
    : `${BASE}/api/emulator/inbox?phoneNumber=${encodeURIComponent(phone)}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) {
      inboxUnavailable = true;
      process.stdout.write(
        `[soak] no inbox at ${url.split('?')[0]}: right codes cannot be verified (pass --emulator, or run the service zero-config)\n`,
      );
      return undefined;
    }
    const body = (await res.json()) as {
      messages?: Array<{ code?: string }>;
      data?: { messages?: Array<{ code?: string }> };
    };
    const messages = body.messages ?? body.data?.messages ?? [];
    // The emulator lists oldest first, the service's inbox newest first: each number gets one code here.
    return messages.find((m) => m.code)?.code;
  } catch {
    return undefined;
  }
}

async function fullFlow(wrongFirst: boolean): Promise<void> {
  const phone = nextPhone();
  const sent = await call('/api/request-otp', { body: JSON.stringify({ phoneNumber: phone }) });
  if (sent.status !== 200) return;
  const verificationId = (sent.body?.data as { verificationId?: string } | undefined)?.verificationId;
  const code = await codeFor(phone);
  if (!code) {
    noCode += 1;
    return;
  }
  if (wrongFirst) {
    const wrong = code === '000000' ? '111111' : '000000';
    await call('/api/verify-otp', { body: JSON.stringify({ verificationId, code: wrong.slice(0, code.length) }) });
  }
  await call('/api/verify-otp', { body: JSON.stringify({ phoneNumber: phone, code, verificationId }) });
}

const INVALID: Array<() => Promise<unknown>> = [
  () => call('/api/request-otp', { body: '{"phoneNumber": ' }),
  () => call('/api/request-otp', { body: JSON.stringify({ phoneNumber: '+4613' }) }),
  () => call('/api/request-otp', { body: JSON.stringify({ phoneNumber: nextPhone(), admin: true }) }),
  () => call('/api/request-otp', { body: 'phoneNumber=1', contentType: 'application/x-www-form-urlencoded' }),
  () => call('/api/request-otp', { body: JSON.stringify({ phoneNumber: '+46900123456' }) }),
  () => call('/api/verify-otp', { body: JSON.stringify({ verificationId: randomUUID(), code: '12' }) }),
  () => call('/api/verify-otp', { body: JSON.stringify({ phoneNumber: 'x'.repeat(20_000) }) }),
  () => call('/api/nothing-here', { method: 'GET' }),
];

async function oneAction(): Promise<void> {
  const roll = Math.random();
  if (roll < 0.5) return fullFlow(false);
  if (roll < 0.65) return fullFlow(true);
  if (roll < 0.85) {
    await INVALID[Math.floor(Math.random() * INVALID.length)]!();
    return;
  }
  await call('/api/verify-otp', { body: JSON.stringify({ verificationId: randomUUID(), code: '123456' }) });
}

// ---------------------------------------------------------------------------------------------
// Memory

async function rssBytes(): Promise<{ bytes: number; source: string } | undefined> {
  try {
    const res = await fetch(`${BASE}/metrics`, {
      headers: METRICS_TOKEN ? { authorization: `Bearer ${METRICS_TOKEN}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    if (res.ok) {
      const match = /^process_resident_memory_bytes\s+(\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(await res.text());
      if (match?.[1]) return { bytes: Number(match[1]), source: '/metrics' };
    }
  } catch {
    // fall back to /proc
  }
  if (PID) {
    try {
      const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(`/proc/${PID}/status`, 'utf8'));
      if (match?.[1]) return { bytes: Number(match[1]) * 1024, source: `/proc/${PID}` };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const health = await fetch(`${BASE}/health`)
    .then((r) => r.status)
    .catch(() => 0);
  if (health !== 200) {
    process.stderr.write(`[soak] ${BASE}/health answered ${health || 'nothing'}: start the service first\n`);
    process.exit(2);
  }
  const durationMs = MINUTES * 60_000;
  const started = Date.now();
  const deadline = started + durationMs;
  const warmupMs = Math.max(INTERVAL_S * 1000, durationMs / 5);
  const samples: Array<{ at: number; bytes: number }> = [];
  const first = await rssBytes();
  process.stdout.write(
    `[soak] ${BASE} for ${MINUTES} min, ${CONCURRENCY} clients; memory from ${first?.source ?? 'nowhere (no /metrics, no --pid)'}${first ? `, ${mb(first.bytes)} at start` : ''}\n`,
  );

  let lastServed = 0;
  const report = setInterval(() => {
    void rssBytes().then((rss) => {
      const elapsed = Math.round((Date.now() - started) / 1000);
      if (rss) samples.push({ at: Date.now() - started, bytes: rss.bytes });
      const rate = ((served - lastServed) / INTERVAL_S).toFixed(1);
      lastServed = served;
      const byCode = [...answers]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      process.stdout.write(
        `[soak] ${elapsed}s served ${served} (${rate}/s) rss ${rss ? mb(rss.bytes) : 'n/a'} | ${byCode}\n`,
      );
    });
  }, INTERVAL_S * 1000);

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) await oneAction();
    }),
  );
  clearInterval(report);
  const last = await rssBytes();
  if (last) samples.push({ at: Date.now() - started, bytes: last.bytes });

  const afterWarmup = samples.filter((s) => s.at >= warmupMs);
  const baseline = median(afterWarmup.slice(0, 3).map((s) => s.bytes));
  const final = median(afterWarmup.slice(-3).map((s) => s.bytes));
  const growthPct = ((final - baseline) / baseline) * 100;
  const flat = Number.isFinite(growthPct) && growthPct < MAX_GROWTH_PCT;
  process.stdout.write(
    `\n[soak] done: ${served} requests in ${((Date.now() - started) / 1000).toFixed(0)} s; 5xx or network errors: ${unexpected}; flows without a readable code: ${noCode}\n`,
  );
  process.stdout.write(`[soak] answers: ${JSON.stringify(Object.fromEntries([...answers].sort()))}\n`);
  if (afterWarmup.length < 2) {
    process.stdout.write(
      '[soak] memory: FAIL (too few samples after warm-up: run longer, or give /metrics or --pid)\n',
    );
  } else {
    process.stdout.write(
      `[soak] memory: ${mb(baseline)} after warm-up -> ${mb(final)} at the end: ${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)}% (limit ${MAX_GROWTH_PCT}%): ${flat ? 'PASS (flat)' : 'FAIL (growing)'}\n`,
    );
  }
  const ok = flat && afterWarmup.length >= 2 && unexpected === 0;
  process.stdout.write(`[soak] ${ok ? 'PASS' : 'FAIL'}\n`);
  process.exit(ok ? 0 : 1);
}

void main();
