// Where the dashboard's static files are at run time: the page in the package's dashboard-public/ folder, and
// uPlot from node_modules (served by the dashboard itself: no CDN, works offline).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/src/dashboard/assets.js; the package root is three folders up.
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

export const publicDir = join(packageRoot, 'dashboard-public');

export const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
