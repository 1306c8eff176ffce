// PLACEHOLDER until the native addon wrapper lands (owned by the native-backend work).
import type { Backend } from './backend.js';

export function loadNativeBackend(): { backend: Backend } | { error: string } {
  return { error: 'the native addon is not built yet' };
}
