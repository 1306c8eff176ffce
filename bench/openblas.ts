// Finds (or fetches into the cache) an OpenBLAS libblas.so.3 for the PyTorch twin, without installing anything:
// Debian's python3-torch links the generic libblas.so.3, the unoptimised reference BLAS by default, which is no
// fair anchor. `apt-get download libopenblas0-pthread` + `dpkg -x` unpack the package into
// $GTN_CACHE_DIR/openblas (default ~/.cache/gtn/openblas); LD_LIBRARY_PATH then points the twin at it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../src/data/cache.js';

/** usr/lib/<multiarch>/openblas-pthread under an unpacked package root, if it holds libblas.so.3. */
function libIn(root: string): string | null {
  const usrLib = join(root, 'usr', 'lib');
  if (!existsSync(usrLib)) return null;
  for (const arch of readdirSync(usrLib)) {
    const dir = join(usrLib, arch, 'openblas-pthread');
    if (existsSync(join(dir, 'libblas.so.3'))) return dir;
  }
  return null;
}

/** The folder holding OpenBLAS's libblas.so.3, or why there is none. */
export function openblasDir(): { dir: string } | { skipped: string } {
  const root = join(cacheDir(), 'openblas');
  const cached = libIn(join(root, 'root'));
  if (cached) return { dir: cached };
  const tmp = join(cacheDir(), `openblas.tmp-${process.pid}`);
  try {
    mkdirSync(tmp, { recursive: true });
    const dl = spawnSync('apt-get', ['download', 'libopenblas0-pthread'], { cwd: tmp, encoding: 'utf8' });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (dl.error || !deb) return { skipped: `could not download libopenblas0-pthread with apt-get (${dl.error?.message ?? dl.stderr.trim().split('\n').pop()})` };
    const x = spawnSync('dpkg', ['-x', deb, 'root'], { cwd: tmp, encoding: 'utf8' });
    if (x.status !== 0) return { skipped: `dpkg -x ${deb} failed: ${(x.stderr ?? '').trim()}` };
    if (!libIn(join(tmp, 'root'))) return { skipped: `${deb} holds no usr/lib/*/openblas-pthread/libblas.so.3` };
    // Rename into place last, so that an interrupted download never leaves a half-unpacked cache behind.
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    return { dir: libIn(join(root, 'root'))! };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
