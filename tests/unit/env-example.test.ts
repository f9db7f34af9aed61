import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, loadConfig } from '../../src/config';

const example = fs.readFileSync(path.resolve(__dirname, '..', '..', '.env.example'), 'utf8');
/** Keys documented as `KEY=` or `# KEY=` lines. */
const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1] ?? ''));

describe('.env.example', () => {
  test('When the service reads a setting, then .env.example documents it', () => {
    expect(CONFIG_KEYS.filter((key) => !documented.has(key))).toEqual([]);
  });

  test('When .env.example documents a setting, then the service or the emulator reads it', () => {
    const emulatorKeys = [
      ...fs
        .readFileSync(path.resolve(__dirname, '..', '..', 'src', 'emulator', 'cli.ts'), 'utf8')
        .matchAll(/SINCH_EMULATOR_[A-Z_]+/g),
    ].map((m) => m[0]);
    expect([...documented].filter((key) => !CONFIG_KEYS.includes(key) && !emulatorKeys.includes(key))).toEqual([]);
  });

  test('When every documented example value is uncommented, then the config still loads (the examples are valid)', () => {
    const env = Object.fromEntries(
      [...example.matchAll(/^#\s*([A-Z][A-Z0-9_]+)=(.*)$/gm)]
        .map((m): [string, string] => [m[1] ?? '', m[2] ?? ''])
        .filter(([key]) => CONFIG_KEYS.includes(key)),
    );
    expect(() =>
      loadConfig({ ...env, SINCH_APPLICATION_KEY: 'k', SINCH_APPLICATION_SECRET: 'c2VjcmV0' }),
    ).not.toThrow();
  });
});
