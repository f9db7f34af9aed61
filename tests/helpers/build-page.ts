import { execFileSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The service serves the demo page from dist/public, which only a build writes. Tests run the service
 * from its sources, so they build the page (and only the page, in well under a second) before they start.
 */
export default function buildPage(): void {
  execFileSync(process.execPath, [path.join(ROOT, 'build.mjs'), 'page'], { cwd: ROOT, stdio: 'inherit' });
}
