#!/usr/bin/env -S node --max-semi-space-size=128 --min-semi-space-size=64
// The `gtn` command: runs the compiled CLI (npm install builds it into dist/).
// The flags on the first line give V8 a larger young generation: less time in garbage collection (src/nodeFlags.ts
// says why). `npx gtn` and `./bin/gtn.js` run under them; `node bin/gtn.js` runs under Node's defaults.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('gtn: the TypeScript sources are not built yet; run `npm install` (or `npm run build`) in the gtn folder.');
  process.exit(1);
}
await import(entry.href);
