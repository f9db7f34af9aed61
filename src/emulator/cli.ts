/* eslint-disable no-console -- this is the standalone emulator's own console, not the service's logger */
import { config as loadDotenv } from 'dotenv';
import type { EmulatorOptions } from './sinch-emulator';
import { createSinchEmulator } from './sinch-emulator';

/** Documented defaults: the emulator's credentials are not secrets, they only have to match the client's. */
export const CLI_DEFAULTS = Object.freeze({
  port: 4010,
  host: '127.0.0.1',
  applicationKey: 'emulator-key',
  applicationSecret: 'ZW11bGF0b3Itc2VjcmV0', // base64 of "emulator-secret"
});

export type EnvParseResult = { ok: true; options: EmulatorOptions } | { ok: false; errors: string[] };

/**
 * Reads the SINCH_EMULATOR_* variables (see src/emulator/README.md) into emulator options,
 * reporting every problem at once instead of stopping at the first.
 */
export function emulatorOptionsFromEnv(env: NodeJS.ProcessEnv): EnvParseResult {
  const read = envReader(env);
  const port = read.integer('SINCH_EMULATOR_PORT', CLI_DEFAULTS.port, 0, 65535);
  const codeLength = read.integer('SINCH_EMULATOR_CODE_LENGTH', 4, 1, 12);
  const secret = readSecret(read);
  const wrongCode = readWrongCode(read);
  const callbackUrl = readCallbackUrl(read);
  const printCodes = read.flag('SINCH_EMULATOR_PRINT_CODES', true);
  const sandbox = read.flag('SINCH_EMULATOR_SANDBOX', true);
  const undeliveredNumbers = readUndeliveredNumbers(read);
  if (read.errors.length > 0) return { ok: false, errors: read.errors };

  return {
    ok: true,
    options: {
      applicationKey: read.value('SINCH_EMULATOR_KEY') ?? CLI_DEFAULTS.applicationKey,
      applicationSecret: secret,
      host: read.value('SINCH_EMULATOR_HOST') ?? CLI_DEFAULTS.host,
      port,
      codeLength,
      wrongCodeById: wrongCode === '40003' ? '40003' : 'fail',
      printCodes,
      sandbox,
      ...(undeliveredNumbers.length > 0 ? { undeliveredNumbers } : {}),
      ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    },
  };
}

/** Reads variables one by one, collecting each problem in `errors` and going on with a fallback. */
interface EnvReader {
  readonly errors: string[];
  /** The trimmed value; an empty one counts as unset. */
  value(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  flag(name: string, fallback: boolean): boolean;
}

function envReader(env: NodeJS.ProcessEnv): EnvReader {
  const errors: string[] = [];
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === '' ? undefined : raw;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!/^\d+$/.test(raw) || parsed < min || parsed > max)
      errors.push(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
    return parsed;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = value(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    errors.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  return { errors, value, integer, flag };
}

function readSecret(read: EnvReader): string {
  const secret = read.value('SINCH_EMULATOR_SECRET') ?? CLI_DEFAULTS.applicationSecret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret) || secret.length % 4 !== 0) {
    read.errors.push('SINCH_EMULATOR_SECRET must be base64, as Sinch issues application secrets');
  }
  return secret;
}

function readWrongCode(read: EnvReader): string {
  const wrongCode = read.value('SINCH_EMULATOR_WRONG_CODE') ?? 'fail';
  if (wrongCode !== 'fail' && wrongCode !== '40003')
    read.errors.push(`SINCH_EMULATOR_WRONG_CODE must be "fail" or "40003", got "${wrongCode}"`);
  return wrongCode;
}

function readCallbackUrl(read: EnvReader): string | undefined {
  const callbackUrl = read.value('SINCH_EMULATOR_CALLBACK_URL');
  if (callbackUrl !== undefined && !/^https?:\/\//.test(callbackUrl)) {
    read.errors.push('SINCH_EMULATOR_CALLBACK_URL must be an http(s) URL');
  }
  return callbackUrl;
}

function readUndeliveredNumbers(read: EnvReader): string[] {
  const undeliveredNumbers = (read.value('SINCH_EMULATOR_UNDELIVERED_NUMBERS') ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const number of undeliveredNumbers) {
    if (!/^\+\d{1,15}$/.test(number))
      read.errors.push(`SINCH_EMULATOR_UNDELIVERED_NUMBERS: "${number}" is not an E.164 number such as +46701234567`);
  }
  return undeliveredNumbers;
}

async function main(): Promise<void> {
  loadDotenv({ quiet: true });
  const parsed = emulatorOptionsFromEnv(process.env);
  if (!parsed.ok) {
    for (const error of parsed.errors) console.error(`[sinch-emulator] ${error}`);
    process.exitCode = 1;
    return;
  }
  const emulator = await createSinchEmulator(parsed.options);
  console.log(
    `[sinch-emulator] listening on ${emulator.url} (Sinch API under /verification/v1, test control under /_emulator)`,
  );
  console.log(`[sinch-emulator] application key: ${parsed.options.applicationKey} (secret not printed)`);
  if (parsed.options.callbackUrl !== undefined)
    console.log(`[sinch-emulator] callbacks go to ${parsed.options.callbackUrl}`);

  const shutdown = (signal: NodeJS.Signals): void => {
    console.log(`[sinch-emulator] ${signal} received, closing`);
    // Held sockets are destroyed by close(); the timer only guards against a stuck callback receiver.
    setTimeout(() => process.exit(1), 5000).unref();
    emulator.close().then(
      () => undefined,
      (error: unknown) => {
        console.error('[sinch-emulator] close failed', error);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error('[sinch-emulator] failed to start:', error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
