// A scoring worker process of the local pool (see evaluator.ts): builds the proxy it is told, then scores one
// cell per message.
import { parseCell } from '../models/index.js';
import { buildProxy, type Proxy, type ProxySpec } from './proxies/index.js';

let proxy: Proxy | null = null;

process.on('message', async (m: { type: 'init'; spec: ProxySpec } | { type: 'score'; arch: string }) => {
  try {
    if (m.type === 'init') {
      proxy = await buildProxy(m.spec);
      process.send!({ type: 'ready' });
    } else {
      process.send!({ type: 'result', arch: m.arch, result: proxy!.score(parseCell(m.arch)) });
    }
  } catch (err) {
    process.send!({ type: 'error', message: (err as Error).message });
  }
});
process.on('disconnect', () => process.exit(0));
