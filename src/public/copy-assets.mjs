// Build step for the demo page: tsc compiles demo.ts to dist/public/demo.js (src/public/tsconfig.json)
// but does not copy the page and its stylesheet, which the built service serves from dist/public.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const source = dirname(fileURLToPath(import.meta.url));
const target = resolve(source, '../../dist/public');

mkdirSync(target, { recursive: true });
for (const file of ['index.html', 'demo.css']) copyFileSync(join(source, file), join(target, file));
