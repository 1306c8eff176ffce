// A scoring process of a queue worker (see scorerPool.ts): scores one cell per message with the proxy the
// message describes, building each distinct proxy once (and the CIFAR-10 splits once for all of them).
import { loadTrainingSplits, type TrainingSplits } from '../data/load.js';
import { GtnError } from '../errors.js';
import { parseCell } from '../models/index.js';
import { buildProxy, needsData, type Proxy, type ProxySpec } from '../nas/proxies/index.js';
import { encodeResult } from './jobs.js';

export type ScorerRequest = { spec: ProxySpec; arch: string };
/** `fatal`: the job cannot succeed on a retry (a GtnError: bad cell, unusable teacher or data). */
export type ScorerReply = { type: 'result'; result: string } | { type: 'error'; message: string; fatal: boolean };

const MAX_PROXIES = 4;
const proxies = new Map<string, Promise<Proxy>>();
let splits: Promise<TrainingSplits> | null = null;

function cifar(): Promise<TrainingSplits> {
  if (!splits) {
    splits = loadTrainingSplits('cifar10');
    splits.catch(() => (splits = null));
  }
  return splits;
}

function proxyFor(spec: ProxySpec): Promise<Proxy> {
  const key = JSON.stringify(spec);
  let p = proxies.get(key);
  if (!p) {
    if (proxies.size >= MAX_PROXIES) proxies.delete(proxies.keys().next().value!);
    p = (async () => buildProxy(spec, needsData(spec) ? await cifar() : undefined))();
    p.catch(() => proxies.delete(key));
    proxies.set(key, p);
  }
  return p;
}

process.on('message', async (m: ScorerRequest) => {
  let reply: ScorerReply;
  try {
    const cell = parseCell(m.arch);
    const proxy = await proxyFor(m.spec);
    reply = { type: 'result', result: encodeResult(proxy.score(cell)) };
  } catch (err) {
    reply = { type: 'error', message: (err as Error).message, fatal: err instanceof GtnError };
  }
  process.send!(reply);
});
// The worker process is gone (even killed): finish nothing more.
process.on('disconnect', () => process.exit(0));
