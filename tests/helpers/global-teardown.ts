import fs from 'node:fs';
import { auditRun } from './log-audit';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__EMBEDDED_PG__?.stop();
  const dir = process.env.TEST_LOG_AUDIT_DIR;
  if (!dir || !fs.existsSync(dir)) return;
  const findings = auditRun(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (findings.length) {
    const sample = findings
      .slice(0, 10)
      .map((f) => `  - ${f.problem}: ${f.line.slice(0, 300)}`)
      .join('\n');
    throw new Error(
      `Log hygiene: ${findings.length} log line(s) of this run hold a code, a secret or a full phone number:\n${sample}`,
    );
  }
}
