/**
 * `npm run build`: src/ -> dist/ with esbuild, in well under a second.
 *
 * The service is transpiled file by file, not bundled: dist/ mirrors src/, so paths that count from a
 * module's own folder (the migrations two levels up, the demo page in dist/public) hold in both trees,
 * and node_modules (pg, sequelize and PGlite load files and WASM by path) stay where npm put them.
 * Types are checked by `npm run typecheck` (tsc --noEmit), never here.
 *
 * `node build.mjs --if-changed` (what `npm start` runs) builds only when something under src/ changed
 * since the last full build, like make, so a restart costs no build at all.
 * `node build.mjs page` builds only the demo page, which the service serves from dist/public even when
 * it runs from its TypeScript sources (the tests, `npm run dev`).
 */
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const PAGE_SRC = path.join(SRC, 'public');
const PAGE_DIST = path.join(DIST, 'public');
/** Written by a full build, dated when it started: a file saved during the build is newer. */
const STAMP = path.join(DIST, '.built');

/** Every service module: each .ts file under src/, except the browser page and type declarations. */
function serviceEntryPoints() {
  return readdirSync(SRC, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .filter((file) => !file.startsWith(`public${path.sep}`))
    .map((file) => path.join(SRC, file));
}

async function buildService({ build }) {
  await build({
    entryPoints: serviceEntryPoints(),
    outdir: DIST,
    outbase: SRC,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
}

/** The demo page: demo.ts for browsers (ES modules, like src/public/tsconfig.json), its HTML and CSS beside it. */
async function buildPage({ build }) {
  await build({
    entryPoints: [path.join(PAGE_SRC, 'demo.ts')],
    outdir: PAGE_DIST,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'demo.css']) copyFileSync(path.join(PAGE_SRC, file), path.join(PAGE_DIST, file));
}

/** True when a full build is newer than every input: the files and folders under src/, this file, tsconfig.json. */
function upToDate() {
  let built;
  try {
    built = statSync(STAMP).mtimeMs;
  } catch {
    return false;
  }
  const inputs = [
    SRC,
    ...readdirSync(SRC, { recursive: true, encoding: 'utf8' }).map((file) => path.join(SRC, file)),
    fileURLToPath(import.meta.url),
    path.join(ROOT, 'tsconfig.json'),
  ];
  // A folder's time changes when a file is added, renamed or deleted in it.
  return inputs.every((file) => statSync(file).mtimeMs <= built);
}

async function buildAll(esbuild) {
  const started = new Date();
  // A clean tree: a file deleted from src/ must not live on in dist/.
  rmSync(DIST, { recursive: true, force: true });
  await Promise.all([buildService(esbuild), buildPage(esbuild)]);
  closeSync(openSync(STAMP, 'w'));
  utimesSync(STAMP, started, started);
}

const mode = process.argv[2];
if (mode !== undefined && mode !== 'page' && mode !== '--if-changed') {
  process.stderr.write('usage: node build.mjs [page | --if-changed]\n');
  process.exit(2);
}
if (mode !== '--if-changed' || !upToDate()) {
  // Loaded only to build: the up-to-date check of every restart stays as cheap as starting Node.
  const esbuild = await import('esbuild');
  if (mode === 'page') {
    mkdirSync(PAGE_DIST, { recursive: true });
    await buildPage(esbuild);
  } else {
    await buildAll(esbuild);
  }
}
