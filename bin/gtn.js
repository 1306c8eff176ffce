#!/usr/bin/env -S node --single-threaded-gc
// The `gtn` command: runs the compiled CLI (npm install builds it into dist/).
// The flag on the first line keeps V8's garbage collector off the cores the native kernels use (src/nodeFlags.ts
// says why and what it saves). `npx gtn` and `./bin/gtn.js` run under it; `node bin/gtn.js` runs without it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('gtn: the TypeScript sources are not built yet; run `npm install` (or `npm run build`) in the gtn folder.');
  process.exit(1);
}
await import(entry.href);
