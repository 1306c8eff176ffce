// A vote of proxies (beyond the paper): every member scores the cell, and cells are compared by their mean rank
// over the members among the cells scored together (rankStats.meanRanks). Proxies that fail in different ways
// add up: a GTN proxy on the full-depth network rewards the residual cells that shallow training undervalues,
// the shallow one and nwot order the rest.
import type { Proxy } from './proxy.js';

export function voteProxy(members: readonly Proxy[]): Proxy {
  return {
    kind: 'vote',
    settings: { members: members.map((m) => ({ kind: m.kind, settings: m.settings })) },
    score(cell) {
      const parts: number[] = [];
      let seconds = 0;
      for (const m of members) {
        const r = m.score(cell);
        parts.push(r.score); // a failed member's NaN / -Infinity ranks lowest (meanRanks)
        seconds += r.seconds;
      }
      return { score: Number.NaN, seconds, parts };
    },
  };
}
