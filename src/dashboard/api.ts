// The dashboard's JSON API. Every handler answers JSON; bad input is a 4xx with {error}, never a crash.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { RecordsDb } from '../records/db.js';
import { listNasSources, rankScatter, searchProgress } from '../records/nasQueries.js';
import { getRun, hasSample, listRuns, runDir, runEvaluations, runMetrics, runSchedule } from '../records/queries.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const ID = /^[1-9]\d{0,9}$/;
const SAMPLE = /^iteration-\d{1,12}\.png$/;

function parseId(raw: unknown, what: string): number {
  if (typeof raw !== 'string' || !ID.test(raw)) throw new HttpError(400, `${what} must be a positive integer, got '${String(raw)}'`);
  return Number(raw);
}

/** `?runs=1,2,3`: up to 20 run ids. */
function parseIdList(raw: unknown): number[] {
  if (typeof raw !== 'string' || !raw) throw new HttpError(400, "the query needs runs=ID[,ID...], e.g. ?runs=1,2");
  const ids = raw.split(',').map((s) => parseId(s, 'each of runs'));
  if (ids.length > 20) throw new HttpError(400, `at most 20 runs at once, got ${ids.length}`);
  return [...new Set(ids)];
}

function found<T>(x: T | null, what: string): T {
  if (x === null) throw new HttpError(404, `no ${what}`);
  return x;
}

/** Whether `file` lies inside `root` once links are resolved (so no path can leave the runs folder). */
function inside(root: string, file: string): boolean {
  try {
    return realpathSync(file).startsWith(realpathSync(root) + sep);
  } catch {
    return false;
  }
}

export interface ApiContext {
  db: RecordsDb;
  runsDir: string;
  /** Brings the records up to date with the runs folder (cheap when nothing changed). */
  refresh(): void;
}

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

export function registerApi(app: FastifyInstance, ctx: ApiContext): void {
  const { db } = ctx;
  const get = (url: string, handler: (p: Params, q: Query, reply: FastifyReply) => unknown) =>
    app.get(url, async (req, reply) => {
      ctx.refresh();
      return handler(req.params as Params, req.query as Query, reply);
    });

  get('/api/runs', () => ({ runsDir: ctx.runsDir, runs: listRuns(db) }));
  get('/api/runs/:id', (p) => found(getRun(db, parseId(p.id, 'run id')), `run ${p.id}`));
  get('/api/runs/:id/metrics', (p) => found(runMetrics(db, parseId(p.id, 'run id')), `run ${p.id}`));
  get('/api/runs/:id/schedule', (p) => found(runSchedule(db, parseId(p.id, 'run id')), `run ${p.id}`));
  get('/api/runs/:id/evaluations', (p) => ({ evaluations: found(runEvaluations(db, parseId(p.id, 'run id')), `run ${p.id}`) }));
  get('/api/runs/:id/samples/:file', (p, _q, reply) => {
    const id = parseId(p.id, 'run id');
    const dir = found(runDir(db, id), `run ${p.id}`);
    if (!SAMPLE.test(p.file)) throw new HttpError(400, `a sample is named iteration-N.png, got '${p.file}'`);
    const file = join(dir, 'samples', p.file);
    if (!hasSample(db, id, p.file) || !inside(ctx.runsDir, file)) throw new HttpError(404, `no sample ${p.file} in run ${id}`);
    return reply.type('image/png').header('cache-control', 'max-age=60').send(readFileSync(file));
  });
  get('/api/metrics', (_p, q) => ({ runs: parseIdList(q.runs).map((id) => found(runMetrics(db, id), `run ${id}`)) }));
  get('/api/nas', () => ({ sources: listNasSources(db) }));
  get('/api/nas/rank/:id', (p) => found(rankScatter(db, parseId(p.id, 'rank log id')), `rank log ${p.id}`));
  get('/api/nas/search/:id', (p) => found(searchProgress(db, parseId(p.id, 'search id')), `search ${p.id}`));
}
