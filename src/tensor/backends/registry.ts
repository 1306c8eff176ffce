// Which backend runs the kernels. The native backend is the default where it loads; otherwise gtn falls back
// to the TypeScript reference backend with one warning. GTN_BACKEND=js|native forces a choice.
import { GtnError } from '../../errors.js';
import type { Backend } from './backend.js';
import { jsBackend } from './js.js';
import { loadNativeBackend, scheduleNativeCollections } from './native.js';
import { profiled } from './profile.js';
import { counted } from './flops.js';

export type BackendName = 'js' | 'native';

export interface BackendStatus {
  active: BackendName;
  nativeAvailable: boolean;
  /** Why native is not active, when it is not. */
  reason?: string;
}

let current: Backend | null = null;
let status: BackendStatus | null = null;
let nativeCache: ReturnType<typeof loadNativeBackend> | null = null;

function native() {
  nativeCache ??= loadNativeBackend();
  return nativeCache;
}

function choose(): Backend {
  const wanted = process.env.GTN_BACKEND;
  if (wanted !== undefined && wanted !== 'js' && wanted !== 'native') {
    throw new GtnError(`GTN_BACKEND must be 'js' or 'native', got '${wanted}'`);
  }
  if (wanted === 'js') {
    status = { active: 'js', nativeAvailable: 'backend' in native(), reason: 'GTN_BACKEND=js' };
    return jsBackend;
  }
  const n = native();
  if ('backend' in n) {
    scheduleNativeCollections();
    status = { active: 'native', nativeAvailable: true };
    return n.backend;
  }
  if (wanted === 'native') throw new GtnError(`GTN_BACKEND=native but the native backend cannot load: ${n.error}`);
  status = { active: 'js', nativeAvailable: false, reason: n.error };
  process.emitWarning(`gtn: native backend unavailable (${n.error}); using the slower TypeScript backend. Run \`gtn doctor\` for details.`);
  return jsBackend;
}

export function backend(): Backend {
  return (current ??= withProfile(choose()));
}

/** The optional wrappers: FLOP counting (GTN_COUNT_FLOPS=1) and per-kernel timing (GTN_PROFILE=1). */
function withProfile(b: Backend): Backend {
  const c = process.env.GTN_COUNT_FLOPS === '1' ? counted(b) : b;
  return process.env.GTN_PROFILE ? profiled(c) : c;
}

export function backendStatus(): BackendStatus {
  backend();
  return status!;
}

/** Switches backend for everything computed from now on (tensors already made keep their data). */
export function setBackend(name: BackendName): void {
  if (name === 'js') {
    current = withProfile(jsBackend);
    status = { active: 'js', nativeAvailable: 'backend' in native(), reason: 'selected' };
    return;
  }
  const n = native();
  if (!('backend' in n)) throw new Error(`the native backend cannot load: ${n.error}`);
  current = withProfile(n.backend);
  status = { active: 'native', nativeAvailable: true };
}
