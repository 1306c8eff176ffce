// Reading the run records: what `gtn runs list` prints and what the dashboard's API returns. Plain objects with
// camelCase keys; JSON columns parsed.
import { hostname } from 'node:os';
import type { RecordsDb } from './db.js';

export type RunStatus = 'running' | 'finished' | 'stopped';

export interface RunSummary {
  id: number;
  name: string;
  dir: string;
  dataset: string | null;
  teacher: string | null;
  curriculum: string | null;
  status: RunStatus;
  iterations: number;
  plannedIterations: number | null;
  bestValidation: number | null;
  bestIteration: number | null;
  checkpointIteration: number | null;
  /** The latest test evaluation (`gtn eval`), if any. */
  test: { accuracyMean: number | null; accuracyStd: number | null; steps: number | null; command: string } | null;
  evaluations: number;
  updatedMs: number;
}

interface RunRow {
  id: number;
  name: string;
  dir: string;
  dataset: string | null;
  teacher: string | null;
  curriculum: string | null;
  planned_iterations: number | null;
  iterations: number;
  best_validation: number | null;
  best_iteration: number | null;
  checkpoint_iteration: number | null;
  pid: number | null;
  host: string | null;
  updated_ms: number;
  config: string;
}

// A run with no live `gtn train` mark (e.g. indexed only by the dashboard) counts as running while its files
// changed this recently: longer than one outer iteration of the slowest preset on a CPU.
const RECENT_MS = 10 * 60 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function status(r: RunRow, now: number): RunStatus {
  if (r.planned_iterations !== null && r.iterations >= r.planned_iterations) return 'finished';
  if (r.pid !== null && r.host === hostname()) return alive(r.pid) ? 'running' : 'stopped';
  return now - r.updated_ms < RECENT_MS ? 'running' : 'stopped';
}

function summary(db: RecordsDb, r: RunRow, now: number): RunSummary {
  const ev = db.prepare('SELECT accuracy_mean, accuracy_std, steps, command, (SELECT count(*) FROM evaluations WHERE run_id = ?) AS n FROM evaluations WHERE run_id = ? ORDER BY seq DESC LIMIT 1').get(r.id, r.id) as
    | { accuracy_mean: number | null; accuracy_std: number | null; steps: number | null; command: string; n: number }
    | undefined;
  return {
    id: r.id,
    name: r.name,
    dir: r.dir,
    dataset: r.dataset,
    teacher: r.teacher,
    curriculum: r.curriculum,
    status: status(r, now),
    iterations: r.iterations,
    plannedIterations: r.planned_iterations,
    bestValidation: r.best_validation,
    bestIteration: r.best_iteration,
    checkpointIteration: r.checkpoint_iteration,
    test: ev ? { accuracyMean: ev.accuracy_mean, accuracyStd: ev.accuracy_std, steps: ev.steps, command: ev.command } : null,
    evaluations: ev?.n ?? 0,
    updatedMs: r.updated_ms,
  };
}

export function listRuns(db: RecordsDb): RunSummary[] {
  const now = Date.now();
  return (db.prepare('SELECT * FROM runs ORDER BY name').all() as RunRow[]).map((r) => summary(db, r, now));
}

export interface RunDetail extends RunSummary {
  config: Record<string, unknown>;
  samples: { file: string; iteration: number }[];
}

export function getRun(db: RecordsDb, id: number): RunDetail | null {
  const r = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  if (!r) return null;
  const samples = db.prepare('SELECT file, iteration FROM samples WHERE run_id = ? ORDER BY iteration').all(id) as RunDetail['samples'];
  return { ...summary(db, r, Date.now()), config: JSON.parse(r.config) as Record<string, unknown>, samples };
}

/** The run folder of a run id (for serving its files), or null. */
export function runDir(db: RecordsDb, id: number): string | null {
  return (db.prepare('SELECT dir FROM runs WHERE id = ?').get(id) as { dir: string } | undefined)?.dir ?? null;
}

export function hasSample(db: RecordsDb, id: number, file: string): boolean {
  return db.prepare('SELECT 1 FROM samples WHERE run_id = ? AND file = ?').get(id, file) !== undefined;
}

export interface RunMetrics {
  id: number;
  name: string;
  teacher: string | null;
  iterations: { iteration: number; metaLoss: number | null; gradNorm: number | null; seconds: number | null; skipped: boolean }[];
  validations: { iteration: number; accuracy: number; best: boolean }[];
}

export function runMetrics(db: RecordsDb, id: number): RunMetrics | null {
  const r = db.prepare('SELECT id, name, teacher FROM runs WHERE id = ?').get(id) as { id: number; name: string; teacher: string | null } | undefined;
  if (!r) return null;
  const its = db.prepare('SELECT iteration, meta_loss, grad_norm, seconds, skipped FROM iterations WHERE run_id = ? ORDER BY iteration').all(id) as {
    iteration: number;
    meta_loss: number | null;
    grad_norm: number | null;
    seconds: number | null;
    skipped: number;
  }[];
  const vals = db.prepare('SELECT iteration, accuracy, best FROM validations WHERE run_id = ? ORDER BY iteration').all(id) as { iteration: number; accuracy: number; best: number }[];
  return {
    ...r,
    iterations: its.map((i) => ({ iteration: i.iteration, metaLoss: i.meta_loss, gradNorm: i.grad_norm, seconds: i.seconds, skipped: i.skipped === 1 })),
    validations: vals.map((v) => ({ iteration: v.iteration, accuracy: v.accuracy, best: v.best === 1 })),
  };
}

export interface RunSchedule {
  /** Outer iterations with a known schedule, ascending. */
  iterations: number[];
  /** lr[k][t]: inner learning rate of inner step t after iteration iterations[k]. */
  lr: (number[] | null)[];
  /** Inner momenta likewise (null where only the learning rates were logged). */
  momentum: (number[] | null)[];
}

export function runSchedule(db: RecordsDb, id: number): RunSchedule | null {
  if (!runDir(db, id)) return null;
  const rows = db.prepare('SELECT iteration, inner_lr, inner_momentum FROM iterations WHERE run_id = ? AND (inner_lr IS NOT NULL OR inner_momentum IS NOT NULL) ORDER BY iteration').all(id) as {
    iteration: number;
    inner_lr: string | null;
    inner_momentum: string | null;
  }[];
  const parse = (s: string | null) => (s === null ? null : (JSON.parse(s) as number[]));
  return { iterations: rows.map((r) => r.iteration), lr: rows.map((r) => parse(r.inner_lr)), momentum: rows.map((r) => parse(r.inner_momentum)) };
}

export interface Evaluation {
  seq: number;
  at: string | null;
  command: string;
  checkpointIteration: number | null;
  steps: number | null;
  accuracyMean: number | null;
  accuracyStd: number | null;
  result: Record<string, unknown>;
}

export function runEvaluations(db: RecordsDb, id: number): Evaluation[] | null {
  if (!runDir(db, id)) return null;
  const rows = db.prepare('SELECT * FROM evaluations WHERE run_id = ? ORDER BY seq').all(id) as {
    seq: number;
    at: string | null;
    command: string;
    checkpoint_iteration: number | null;
    steps: number | null;
    accuracy_mean: number | null;
    accuracy_std: number | null;
    result: string;
  }[];
  return rows.map((e) => ({
    seq: e.seq,
    at: e.at,
    command: e.command,
    checkpointIteration: e.checkpoint_iteration,
    steps: e.steps,
    accuracyMean: e.accuracy_mean,
    accuracyStd: e.accuracy_std,
    result: JSON.parse(e.result) as Record<string, unknown>,
  }));
}
