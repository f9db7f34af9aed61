/**
 * Small helpers shared by the API tests: the two calls, what Sinch received, the rows for a number,
 * the RateLimit header fields, and waiting for a condition without fixed sleeps.
 */
import request from 'supertest';
import type { SinchEmulator } from '../../src/emulator/sinch-emulator';
import { uniquePhone } from '../factories/phone.factory';
import type { FakeClock } from './clock';
import { SINCH_KEY, SINCH_SECRET, type TestApp } from './test-app';

const START_PATH = '/verification/v1/verifications';

/** POST /api/request-otp for one number, with any extra request headers (Idempotency-Key, ...). */
export function requestOtp(t: Pick<TestApp, 'app'>, phoneNumber = uniquePhone(), headers: Record<string, string> = {}) {
  return request(t.app).post('/api/request-otp').set(headers).send({ phoneNumber });
}

/** POST /api/verify-otp with exactly this body. */
export function verifyOtp(t: Pick<TestApp, 'app'>, body: Record<string, unknown>) {
  return request(t.app).post('/api/verify-otp').send(body);
}

/** The start requests the emulator received for one number. */
export function startsFor(emulator: SinchEmulator, e164: string) {
  return emulator.requests.filter(
    (r) =>
      r.method === 'POST' &&
      r.path === START_PATH &&
      (r.json as { identity?: { endpoint?: string } } | undefined)?.identity?.endpoint === e164,
  );
}

/** What Sinch (the emulator) says of one of its verifications, read over its status API. */
export async function sinchStatusOf(emulator: SinchEmulator, sinchId: string): Promise<{ status: string }> {
  const res = await fetch(`${emulator.url}${START_PATH}/id/${sinchId}`, {
    headers: { Authorization: `Basic ${Buffer.from(`${SINCH_KEY}:${SINCH_SECRET}`).toString('base64')}` },
  });
  return (await res.json()) as { status: string };
}

/** Every report that reached the emulator for one Sinch verification id. */
export function reportsFor(emulator: SinchEmulator, sinchId: string) {
  return emulator.requests.filter((r) => r.method === 'PUT' && r.path === `${START_PATH}/id/${sinchId}`);
}

/** The User and Verification rows of one number, oldest verification first. */
export async function rowsFor(t: Pick<TestApp, 'models'>, e164: string) {
  const user = await t.models.User.findOne({ where: { phoneNumber: e164 } });
  const verifications = await t.models.Verification.findAll({
    where: { phoneNumber: e164 },
    order: [['createdAt', 'ASC']],
  });
  return { user: user?.toJSON(), verifications: verifications.map((v) => v.toJSON()) };
}

export interface Requested {
  phone: string;
  verificationId: string;
  sinchId: string;
  code: string;
}

/** Requests a code through the API and reads what the emulator sent: the starting point of every verify test. */
export async function requestCode(t: TestApp, phone = uniquePhone()): Promise<Requested> {
  const res = await requestOtp(t, phone);
  if (res.status !== 200) throw new Error(`request-otp answered ${res.status}: ${JSON.stringify(res.body)}`);
  const verificationId = res.body.data.verificationId as string;
  const row = await t.models.Verification.findByPk(verificationId);
  const code = t.emulator.lastCodeFor(phone);
  if (!row || !code) throw new Error('no verification row or no code for the number');
  return { phone, verificationId, sinchId: row.sinchVerificationId, code };
}

/** A code of the right shape (same length, digits only) that is certainly not the one sent. */
export function wrongCode(code: string): string {
  const zeros = '0'.repeat(code.length);
  return code === zeros ? '1'.repeat(code.length) : zeros;
}

/**
 * The entries of an IETF RateLimit or RateLimit-Policy header (a list, one item per limiter),
 * by name: `"ip-request-otp"; r=0; t=3600` -> { 'ip-request-otp': { r: '0', t: '3600' } }.
 */
export function rateLimitFields(header: string | string[] | undefined): Record<string, Record<string, string>> {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const out: Record<string, Record<string, string>> = {};
  for (const item of text.split(/,\s*(?=")/)) {
    const match = /^"([^"]+)"(.*)$/.exec(item.trim());
    if (!match?.[1]) continue;
    const params: Record<string, string> = {};
    for (const part of (match[2] ?? '').split(';')) {
      const [k, v] = part.split('=');
      if (k?.trim() && v !== undefined) params[k.trim()] = v.trim();
    }
    out[match[1]] = params;
  }
  return out;
}

/** Polls `condition` every 20 ms until it holds, failing after `timeoutMs` with `what`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Moves fake clocks to the same, otherwise unused minute (1 s past its start). The global send
 * ceiling counts per minute in one table shared by every test file running in parallel; a minute
 * of its own, centuries ahead, keeps other files' sends out of this test's count.
 */
export function isolateMinute(...clocks: FakeClock[]): number {
  const minute = 60_000;
  const base = Date.UTC(2200, 0, 1) + Math.floor(Math.random() * 50_000_000) * minute;
  const target = base + 1000;
  for (const clock of clocks) clock.advance(target - clock.now());
  return target;
}
