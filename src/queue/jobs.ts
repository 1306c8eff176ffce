// What travels through the queue: one job per candidate evaluation, its id a content hash of everything that
// decides the score (the cell, the proxy's settings, the teacher's content hash), so that submitting the same
// evaluation twice, from any machine, is one job whose result is reused.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ProxyResult, ProxySpec } from '../nas/proxies/index.js';

export const GTN_VERSION: string = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Workers listen on the queue of their own version only: another version may score differently. */
export const QUEUE_NAME = `gtn-nas-v${GTN_VERSION}`;

/** The proxy's description without the teacher's folder, which is local to the submitting machine. */
export type JobSpec = Omit<ProxySpec, 'run'>;

export interface ScoreJob {
  /** The cell string as the client formatted it. */
  arch: string;
  spec: JobSpec;
  /** gtn proxy: the content hash of the teacher (see teacherStore.ts); null for the other proxies. */
  teacher: string | null;
}

export function jobSpec(spec: ProxySpec): JobSpec {
  const { run: _run, ...rest } = spec;
  return rest;
}

/** JSON with object keys sorted, so that equal descriptions hash equally whatever order they were built in. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** 'e' + 40 hex digits: never a plain integer and free of ':', as BullMQ requires of custom ids. */
export function jobId(job: ScoreJob): string {
  return `e${createHash('sha256').update(stableJson(job)).digest('hex').slice(0, 40)}`;
}

/** Attempts, backoff and retention of every job: finished jobs are kept, as the record of their result. */
export const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: false,
  removeOnFail: false,
} as const;

// Results go through JSON, which has no NaN or infinities; a diverged training scores -Infinity or NaN.
const NON_FINITE = '$nonfinite';

export function encodeResult(r: ProxyResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v));
}

export function decodeResult(text: string): ProxyResult {
  return JSON.parse(text, (_k, v: unknown) => (v !== null && typeof v === 'object' && NON_FINITE in v ? Number((v as Record<string, string>)[NON_FINITE]) : v)) as ProxyResult;
}
