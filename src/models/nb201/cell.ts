// The NAS-Bench-201 cell (Dong & Yang, ICLR 2020): a DAG of 4 nodes where node j is the sum of op(node i) over
// i < j, written `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. The six edges are kept in that string's order:
// (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2).
import { GtnError } from '../../errors.js';
import type { Rng } from '../../tensor/rng.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** Edge k joins node EDGES[k].from to node EDGES[k].to. */
export const EDGES: readonly { from: number; to: number }[] = [
  { from: 0, to: 1 },
  { from: 0, to: 2 },
  { from: 1, to: 2 },
  { from: 0, to: 3 },
  { from: 1, to: 3 },
  { from: 2, to: 3 },
];

export type Cell = readonly Nb201Op[]; // one op per edge, length 6

const isOp = (s: string): s is Nb201Op => (NB201_OPS as readonly string[]).includes(s);

/** Parses a cell string; a malformed one gets an error naming the node, the edge and what is wrong. */
export function parseCell(text: string): Cell {
  const s = text.trim();
  const nodes = s.split('+');
  const where = `cell '${s}'`;
  if (nodes.length !== 3) throw new GtnError(`${where}: expected 3 nodes separated by '+', found ${nodes.length}`);
  const ops: Nb201Op[] = [];
  nodes.forEach((node, j) => {
    if (!node.startsWith('|') || !node.endsWith('|') || node.length < 2) throw new GtnError(`${where}: node ${j + 1} must look like |op~0|...|, got '${node}'`);
    const edges = node.slice(1, -1).split('|');
    if (edges.length !== j + 1) throw new GtnError(`${where}: node ${j + 1} needs ${j + 1} input edge(s), found ${edges.length}`);
    edges.forEach((e, i) => {
      const [op, from, ...rest] = e.split('~');
      if (rest.length || from === undefined) throw new GtnError(`${where}: edge '${e}' into node ${j + 1} must be op~input`);
      if (from !== String(i)) throw new GtnError(`${where}: edge '${e}' into node ${j + 1} must come from node ${i}, not '${from}'`);
      if (!isOp(op)) throw new GtnError(`${where}: edge ${i}->${j + 1} has unknown op '${op}' (known: ${NB201_OPS.join(', ')})`);
      ops.push(op);
    });
  });
  return ops;
}

export function formatCell(cell: Cell): string {
  if (cell.length !== EDGES.length) throw new GtnError(`an NB201 cell has ${EDGES.length} edges, got ${cell.length}`);
  const nodes = [1, 2, 3].map((to) => `|${EDGES.map((e, k) => ({ ...e, k })).filter((e) => e.to === to).map((e) => `${cell[e.k]}~${e.from}`).join('|')}|`);
  return nodes.join('+');
}

/** A uniformly random cell (each edge's op drawn independently). */
export function randomCell(rng: Rng): Cell {
  return EDGES.map(() => NB201_OPS[rng.int(NB201_OPS.length)]);
}

/**
 * A string that two cells share exactly when they compute the same expression of the input: each node is the
 * multiset of its non-zero terms, where `none` and anything applied to a zero node vanish, `skip_connect` passes
 * its input's terms through, and sums are flattened and sorted. Parameterised ops keep their own terms, so
 * conv(x) + conv(x) (two convolutions) differs from conv(x). A cell whose output is zero maps to '0'.
 */
export function canonicalCell(cell: Cell): string {
  const terms: string[][] = [['x']];
  for (let to = 1; to <= 3; to++) {
    const t: string[] = [];
    EDGES.forEach((e, k) => {
      if (e.to !== to) return;
      const src = terms[e.from];
      const op = cell[k];
      if (op === 'none' || src.length === 0) return;
      if (op === 'skip_connect') t.push(...src);
      else t.push(`${op}(${src.join('+')})`);
    });
    terms.push(t.sort());
  }
  return terms[3].length ? terms[3].join('+') : '0';
}

/** Canonical form of a cell string. */
export const canonicalArch = (arch: string): string => canonicalCell(parseCell(arch));
