import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditRun } from '../helpers/log-audit';

/** The run-wide log audit (global-teardown) must itself catch what it is there to catch. */
describe('log audit', () => {
  function runWith(logs: string[], forbidden: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-test-'));
    fs.writeFileSync(path.join(dir, 'logs-1.txt'), logs.join('\n'));
    fs.writeFileSync(path.join(dir, 'forbidden-1.txt'), forbidden.join('\n'));
    try {
      return auditRun(dir).map((f) => f.problem);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  }

  test.each([
    ['a full E.164 number', '{"message":"sent to +46731234567"}', ['full phone number']],
    ['a URL-encoded number', '{"url":"/number/%2B46731234567"}', ['full phone number']],
    ['a bare number', '{"to":"46731234567"}', ['full phone number']],
    ['a code', '{"message":"code is 482913"}', ['forbidden value 48…']],
    ['a secret', '{"auth":"c2VjcmV0LXZhbHVl"}', ['forbidden value c2…']],
  ])('When a log line holds %s, then the audit reports it', (_what, line, expected) => {
    expect(runWith([line], ['482913', 'c2VjcmV0LXZhbHVl'])).toEqual(expected);
  });

  test('When log lines hold masked numbers, timestamps and durations, then the audit is quiet', () => {
    const clean =
      '{"phoneNumber":"+4673*****67","timestamp":"2026-11-25T17:44:35.168Z","durationMs":482.91,"port":48291}';
    expect(runWith([clean], ['482913'])).toEqual([]);
  });
});
