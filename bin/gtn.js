#!/usr/bin/env node
// The `gtn` command: runs the compiled CLI (npm install builds it into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('gtn: the TypeScript sources are not built yet; run `npm install` (or `npm run build`) in the gtn folder.');
  process.exit(1);
}
await import(entry.href);
