// Reading the NAS records for the dashboard: proxy score against true accuracy per rank log (with its rank
// correlations), and the best-found cell of each search as its evaluations arrive.
import { kendall, spearman } from '../nas/rankStats.js';
import type { RecordsDb } from './db.js';

export interface NasSource {
  id: number;
  kind: 'rank' | 'search';
  name: string;
  path: string;
  strategy: string | null;
  proxy: string | null;
  evaluations: number;
  updatedMs: number;
}

export function listNasSources(db: RecordsDb): NasSource[] {
  return (
    db
      .prepare('SELECT s.id, s.kind, s.name, s.path, s.strategy, s.proxy, s.updated_ms, (SELECT count(*) FROM nas_evaluations e WHERE e.source_id = s.id) AS n FROM nas_sources s ORDER BY s.kind, s.name')
      .all() as { id: number; kind: 'rank' | 'search'; name: string; path: string; strategy: string | null; proxy: string | null; updated_ms: number; n: number }[]
  ).map((s) => ({ id: s.id, kind: s.kind, name: s.name, path: s.path, strategy: s.strategy, proxy: s.proxy, evaluations: s.n, updatedMs: s.updated_ms }));
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

export interface RankScatter {
  id: number;
  name: string;
  /** One group per proxy in the log. */
  groups: {
    proxy: string;
    proxyKey: string | null;
    settings: Record<string, unknown> | null;
    /** Cells with a known true accuracy (test, 200 epochs). */
    points: { arch: string; score: number; truth: number; seconds: number | null; host: string | null }[];
    /** Cells scored without a known true accuracy. */
    withoutTruth: number;
    spearman: number | null;
    kendall: number | null;
  }[];
}

export function rankScatter(db: RecordsDb, id: number): RankScatter | null {
  const src = db.prepare("SELECT id, name FROM nas_sources WHERE id = ? AND kind = 'rank'").get(id) as { id: number; name: string } | undefined;
  if (!src) return null;
  const rows = db
    .prepare('SELECT e.arch, e.proxy, e.proxy_key, e.settings, e.score, e.seconds, e.host, t.test200 FROM nas_evaluations e LEFT JOIN nas_truth t ON t.arch = e.arch WHERE e.source_id = ? ORDER BY e.seq')
    .all(id) as { arch: string; proxy: string | null; proxy_key: string | null; settings: string | null; score: number | null; seconds: number | null; host: string | null; test200: number | null }[];
  const groups = new Map<string, RankScatter['groups'][number]>();
  for (const r of rows) {
    const key = r.proxy_key ?? r.proxy ?? '?';
    let g = groups.get(key);
    if (!g) {
      g = { proxy: r.proxy ?? key, proxyKey: r.proxy_key, settings: r.settings ? (JSON.parse(r.settings) as Record<string, unknown>) : null, points: [], withoutTruth: 0, spearman: null, kendall: null };
      groups.set(key, g);
    }
    if (r.test200 === null || r.score === null || !Number.isFinite(r.score)) g.withoutTruth++;
    else g.points.push({ arch: r.arch, score: r.score, truth: r.test200, seconds: r.seconds, host: r.host });
  }
  for (const g of groups.values()) {
    if (g.points.length < 2) continue;
    const xs = g.points.map((p) => p.score);
    const ys = g.points.map((p) => p.truth);
    g.spearman = finite(spearman(xs, ys));
    g.kendall = finite(kendall(xs, ys));
  }
  return { id: src.id, name: src.name, groups: [...groups.values()] };
}

export interface SearchProgress {
  id: number;
  name: string;
  strategy: string | null;
  proxy: string | null;
  /** In the order results arrived: the best-so-far by proxy score, and its true accuracy when known. */
  points: { evaluations: number; elapsed: number | null; n: number; arch: string; score: number | null; bestArch: string; bestScore: number | null; bestTruth: number | null }[];
}

export function searchProgress(db: RecordsDb, id: number): SearchProgress | null {
  const src = db.prepare("SELECT id, name, strategy, proxy FROM nas_sources WHERE id = ? AND kind = 'search'").get(id) as Omit<SearchProgress, 'points'> | undefined;
  if (!src) return null;
  const rows = db.prepare('SELECT e.seq, e.arch, e.score, e.elapsed, t.test200 FROM nas_evaluations e LEFT JOIN nas_truth t ON t.arch = e.arch WHERE e.source_id = ? ORDER BY e.elapsed, e.seq').all(id) as {
    seq: number;
    arch: string;
    score: number | null;
    elapsed: number | null;
    test200: number | null;
  }[];
  let best: (typeof rows)[number] | null = null;
  const points = rows.map((r, k) => {
    if (r.score !== null && (best === null || best.score === null || r.score > best.score)) best = r;
    const b = best ?? r;
    return { evaluations: k + 1, elapsed: r.elapsed, n: r.seq, arch: r.arch, score: r.score !== null && Number.isFinite(r.score) ? r.score : null, bestArch: b.arch, bestScore: b.score !== null && Number.isFinite(b.score) ? b.score : null, bestTruth: b.test200 };
  });
  return { ...src, points };
}
