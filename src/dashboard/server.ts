// The dashboard: a Fastify server over the run records, with the page and uPlot served from the package. It
// re-syncs the runs folder when polled (at most once per syncIntervalMs), so a `gtn train` writing into the
// folder shows up, and its curves grow, without any hook in the command.
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import { openRecords, type RecordsDb } from '../records/db.js';
import { syncTree } from '../records/syncTree.js';
import { HttpError, registerApi } from './api.js';
import { publicDir, uplotDir } from './assets.js';

export interface DashboardOptions {
  runsDir: string;
  dbFile: string;
  /** Minimum time between two syncs of the runs folder (default 1000 ms; 0: every request). */
  syncIntervalMs?: number;
  /** Called with the folders that could not be indexed (default: printed once each). */
  onSyncError?: (message: string) => void;
}

export interface Dashboard {
  app: FastifyInstance;
  db: RecordsDb;
  close(): Promise<void>;
}

export async function createDashboard(o: DashboardOptions): Promise<Dashboard> {
  const runsDir = resolve(o.runsDir);
  const db = openRecords(o.dbFile);
  const interval = o.syncIntervalMs ?? 1000;
  const reported = new Set<string>();
  const onError = o.onSyncError ?? ((m: string) => console.error(`gtn dashboard: skipped ${m}`));
  let last = Number.NEGATIVE_INFINITY;
  const refresh = () => {
    if (performance.now() - last < interval) return;
    last = performance.now();
    for (const e of syncTree(db, runsDir).errors) {
      if (!reported.has(e)) onError(e);
      reported.add(e);
    }
  };

  const app = Fastify({ logger: false });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof HttpError ? err.status : err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    void reply.status(status).send({ error: status === 500 ? `internal error: ${err.message}` : err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `not found: ${req.method} ${req.url.split('?')[0]}` });
  });
  await app.register(fastifyStatic, { root: publicDir, prefix: '/', index: 'index.html', wildcard: false });
  await app.register(fastifyStatic, { root: uplotDir, prefix: '/vendor/uplot/', decorateReply: false, wildcard: false });
  registerApi(app, { db, runsDir, refresh });
  return {
    app,
    db,
    async close() {
      await app.close();
      db.close();
    },
  };
}

/** Starts the dashboard on host:port (port 0: any free port) and returns its URL. */
export async function startDashboard(o: DashboardOptions & { host?: string; port?: number }): Promise<Dashboard & { url: string }> {
  const d = await createDashboard(o);
  try {
    await d.app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 8080 });
  } catch (err) {
    await d.close();
    throw err;
  }
  const addr = d.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = (o.host ?? '127.0.0.1').includes(':') ? `[${o.host}]` : (o.host ?? '127.0.0.1');
  return { ...d, url: `http://${host}:${port}/` };
}
