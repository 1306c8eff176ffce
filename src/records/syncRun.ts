// Ingests a run folder into the records, incrementally and idempotently: config.json, the metrics.jsonl lines
// not read before, the evaluation records, the sample grids and the last checkpoint's iteration and inner
// momenta. Each run is synced in one write transaction, and skipped without one when none of its files changed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { peekCheckpointFile } from '../gtn/checkpointFile.js';
import { runFiles } from '../gtn/trainer.js';
import { displayName, type RecordsDb } from './db.js';
import { fileChanged, markSeen, parseLine, readNewLines, statOrNull } from './cursor.js';

export const evaluationsFile = (dir: string) => join(dir, 'evaluations.jsonl');

interface IterationLine {
  kind: 'iteration';
  iteration: number;
  metaLoss?: number;
  gradNorm?: number;
  skipped?: boolean;
  seconds?: number;
  learner?: unknown;
  innerLr?: number[];
  innerMomentum?: number[];
}
interface ValidationLine {
  kind: 'validation';
  iteration: number;
  accuracy: number;
  best?: boolean;
}
export interface EvaluationLine {
  at?: string;
  command: string;
  result: Record<string, unknown>;
}

const SAMPLE = /^iteration-(\d+)\.png$/;

/** The files whose changes a sync of `dir` looks at. */
function watched(dir: string): string[] {
  const f = runFiles(dir);
  return [f.config, f.metrics, evaluationsFile(dir), f.last, f.samples];
}

/** Whether any file of the run changed since its last sync (reads only the files' metadata). */
export function runChanged(db: RecordsDb, dir: string): boolean {
  return watched(resolve(dir)).some((p) => fileChanged(db, p));
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const json = (x: unknown) => (x === undefined ? null : JSON.stringify(x));

/**
 * Brings the records of the run in `dir` up to date and returns its id, or null when `dir` holds no readable
 * config.json (not a run, or not one yet).
 */
export function syncRun(db: RecordsDb, dir: string): number | null {
  const abs = resolve(dir);
  const f = runFiles(abs);
  return db.transaction((): number | null => {
    const cfgStat = statOrNull(f.config);
    let id = (db.prepare('SELECT id FROM runs WHERE dir = ?').get(abs) as { id: number } | undefined)?.id ?? null;
    if (!cfgStat) {
      if (id !== null) forgetRun(db, abs);
      return null;
    }
    if (id === null || fileChanged(db, f.config, cfgStat)) {
      const cfg = parseLine<Record<string, unknown>>(readFileSync(f.config, 'utf8'));
      if (!cfg) return id;
      const meta = (cfg.meta ?? {}) as Record<string, unknown>;
      const fields = [JSON.stringify(cfg), cfg.dataset ?? null, cfg.teacher ?? null, cfg.curriculum ?? null, num(meta.iterations)];
      if (id === null) {
        const name = displayName(db.name, abs);
        id = Number(
          db
            .prepare('INSERT INTO runs (dir, name, config, dataset, teacher, curriculum, planned_iterations, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
            .run(abs, name, ...fields, cfgStat.mtimeMs, cfgStat.mtimeMs).lastInsertRowid,
        );
      } else db.prepare('UPDATE runs SET config = ?, dataset = ?, teacher = ?, curriculum = ?, planned_iterations = ? WHERE id = ?').run(...fields, id);
      markSeen(db, f.config, cfgStat);
    }
    ingestMetrics(db, id, f.metrics);
    ingestEvaluations(db, id, evaluationsFile(abs));
    ingestSamples(db, id, f.samples);
    ingestCheckpoint(db, id, f.last);
    summarise(db, id, abs);
    return id;
  }).immediate();
}

function ingestMetrics(db: RecordsDb, id: number, file: string): void {
  const { reset, lines } = readNewLines(db, file);
  if (reset) {
    db.prepare('DELETE FROM iterations WHERE run_id = ?').run(id);
    db.prepare('DELETE FROM validations WHERE run_id = ?').run(id);
  }
  // A momentum read from a checkpoint is kept when the metrics line does not carry one.
  const it = db.prepare(`
    INSERT INTO iterations (run_id, iteration, meta_loss, grad_norm, skipped, seconds, learner, inner_lr, inner_momentum)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id, iteration) DO UPDATE SET meta_loss = excluded.meta_loss, grad_norm = excluded.grad_norm,
      skipped = excluded.skipped, seconds = excluded.seconds, learner = excluded.learner, inner_lr = excluded.inner_lr,
      inner_momentum = coalesce(excluded.inner_momentum, iterations.inner_momentum)`);
  const val = db.prepare('INSERT OR REPLACE INTO validations (run_id, iteration, accuracy, best) VALUES (?, ?, ?, ?)');
  for (const { text } of lines) {
    const e = parseLine<IterationLine | ValidationLine>(text);
    if (!e || !Number.isInteger(e.iteration)) continue;
    if (e.kind === 'iteration') {
      it.run(id, e.iteration, num(e.metaLoss), num(e.gradNorm), e.skipped ? 1 : 0, num(e.seconds), json(e.learner), json(e.innerLr), json(e.innerMomentum));
    } else if (e.kind === 'validation' && num(e.accuracy) !== null) val.run(id, e.iteration, e.accuracy, e.best ? 1 : 0);
  }
}

function ingestEvaluations(db: RecordsDb, id: number, file: string): void {
  const { reset, lines } = readNewLines(db, file);
  if (reset) db.prepare('DELETE FROM evaluations WHERE run_id = ?').run(id);
  const ins = db.prepare(
    'INSERT OR REPLACE INTO evaluations (run_id, seq, at, command, checkpoint_iteration, steps, accuracy_mean, accuracy_std, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const { n, text } of lines) {
    const e = parseLine<EvaluationLine>(text);
    if (!e || typeof e.result !== 'object' || e.result === null) continue;
    const r = e.result;
    ins.run(id, n, e.at ?? null, String(e.command ?? ''), num(r.iteration), num(r.steps), num(r.accuracy_mean), num(r.accuracy_std), JSON.stringify(r));
  }
}

function ingestSamples(db: RecordsDb, id: number, folder: string): void {
  const st = statOrNull(folder);
  if (!fileChanged(db, folder, st)) return;
  let names: string[] = [];
  try {
    names = readdirSync(folder).filter((n) => SAMPLE.test(n));
  } catch {
    // No samples folder (yet).
  }
  db.prepare('DELETE FROM samples WHERE run_id = ?').run(id);
  const ins = db.prepare('INSERT INTO samples (run_id, file, iteration) VALUES (?, ?, ?)');
  for (const n of names) ins.run(id, n, Number(SAMPLE.exec(n)![1]));
  markSeen(db, folder, st);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The last checkpoint's iteration, and its inner momenta for that iteration (metrics lines carry only the lrs). */
function ingestCheckpoint(db: RecordsDb, id: number, file: string): void {
  const st = statOrNull(file);
  if (!fileChanged(db, file, st)) return;
  markSeen(db, file, st);
  if (!st) {
    db.prepare('UPDATE runs SET checkpoint_iteration = NULL WHERE id = ?').run(id);
    return;
  }
  let ckpt: ReturnType<typeof peekCheckpointFile>;
  try {
    ckpt = peekCheckpointFile(file, ['meta.momentumLogit']);
  } catch {
    return; // Unreadable: loading it says why; the index just does not show it.
  }
  const iteration = num(ckpt.header.iteration);
  db.prepare('UPDATE runs SET checkpoint_iteration = ? WHERE id = ?').run(iteration, id);
  const m = ckpt.tensors.get('meta.momentumLogit');
  if (iteration === null || !m) return;
  const momentum = JSON.stringify(Array.from(m.data, sigmoid));
  db.prepare('UPDATE iterations SET inner_momentum = ? WHERE run_id = ? AND iteration = ? AND inner_momentum IS NULL').run(momentum, id, iteration);
}

/** Derived columns: iterations done, best validation, last change. */
function summarise(db: RecordsDb, id: number, dir: string): void {
  const it = db.prepare('SELECT max(iteration) AS n FROM iterations WHERE run_id = ?').get(id) as { n: number | null };
  const best = db.prepare('SELECT iteration, accuracy FROM validations WHERE run_id = ? ORDER BY accuracy DESC, iteration ASC LIMIT 1').get(id) as { iteration: number; accuracy: number } | undefined;
  const updated = Math.max(0, ...watched(dir).map((p) => statOrNull(p)?.mtimeMs ?? 0));
  db.prepare('UPDATE runs SET iterations = ?, best_validation = ?, best_iteration = ?, updated_ms = max(updated_ms, ?) WHERE id = ?').run(it.n ?? 0, best?.accuracy ?? null, best?.iteration ?? null, updated, id);
}

/** Drops a run (its folder is gone) and the file positions that belonged to it. */
export function forgetRun(db: RecordsDb, dir: string): void {
  db.prepare('DELETE FROM runs WHERE dir = ?').run(dir);
  for (const p of watched(dir)) db.prepare('DELETE FROM files WHERE path = ?').run(p);
}

/** Marks the run as written by this process (so the dashboard can tell it is running), or clears the mark. */
export function markRunProcess(db: RecordsDb, dir: string, pid: number | null, host: string | null): void {
  db.prepare('UPDATE runs SET pid = ?, host = ? WHERE dir = ?').run(pid, host, resolve(dir));
}
