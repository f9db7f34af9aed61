/**
 * Every log line written by every test app of a run, and every code and secret those apps saw,
 * are appended to files in one run directory; global-teardown then checks that no log line
 * holds a code, a secret or a full phone number. The log hygiene rule is checked over the whole
 * run, not just over the tests that think about logs.
 */
import fs from 'node:fs';
import path from 'node:path';

export function auditDir(): string | undefined {
  return process.env.TEST_LOG_AUDIT_DIR;
}

function append(file: string, text: string): void {
  const dir = auditDir();
  if (dir) fs.appendFileSync(path.join(dir, `${file}-${process.pid}.txt`), text);
}

export const audit = {
  logLine(line: string): void {
    append('logs', `${line}\n`);
  },
  /** A value that must never appear in a log line (codes, secrets). */
  forbidden(value: string): void {
    if (value) append('forbidden', `${value}\n`);
  },
};

export interface AuditFinding {
  line: string;
  problem: string;
}

/**
 * Full E.164 numbers and bare Swedish mobile digits (the numbers tests use). A bare number must
 * stand alone: inside a token (a request-id UUID such as ...-46951221025a) it is a false alarm,
 * which about one random UUID in 23,000 would raise.
 */
const FULL_PHONE = /(?:\+|%2B)\d{8,15}\b|(?<![\w.-])46\d{9}(?!\w)/i;

export function auditRun(dir: string): AuditFinding[] {
  const files = fs.readdirSync(dir);
  const read = (prefix: string) =>
    files
      .filter((f) => f.startsWith(prefix))
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
      .filter(Boolean);
  const lines = read('logs-');
  const forbidden = [...new Set(read('forbidden-'))];
  const findings: AuditFinding[] = [];
  for (const line of lines) {
    if (FULL_PHONE.test(line)) findings.push({ line, problem: 'full phone number' });
    for (const value of forbidden) {
      const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (new RegExp(`(^|[^A-Za-z0-9])${escaped}([^A-Za-z0-9]|$)`).test(line))
        findings.push({ line, problem: `forbidden value ${value.slice(0, 2)}…` });
    }
  }
  return findings;
}
