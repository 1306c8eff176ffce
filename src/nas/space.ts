// The NAS-Bench-201 cell space as a search space: all 5^6 = 15,625 cells, uniform sampling, one-edge
// mutation, and a canonical form under which cells that compute the same function collide.
import { EDGES, NB201_OPS, formatCell, parseCell, randomCell, type Cell, type Nb201Op } from '../models/index.js';
import type { Rng } from '../tensor/index.js';

export { parseCell, formatCell, type Cell };

export const SPACE_SIZE = NB201_OPS.length ** EDGES.length;

/** Every cell, in base-5 order of its ops (edge 0 most significant). */
export function enumerateCells(): Cell[] {
  const out: Cell[] = [];
  for (let n = 0; n < SPACE_SIZE; n++) {
    const ops: Nb201Op[] = [];
    let r = n;
    for (let k = EDGES.length - 1; k >= 0; k--) {
      ops[k] = NB201_OPS[r % NB201_OPS.length];
      r = Math.floor(r / NB201_OPS.length);
    }
    out.push(ops);
  }
  return out;
}

export const sampleCell = randomCell;

/** One edge's op changed to a different op (both drawn uniformly). */
export function mutateCell(cell: Cell, rng: Rng): Cell {
  const k = rng.int(EDGES.length);
  const others = NB201_OPS.filter((op) => op !== cell[k]);
  const out = [...cell];
  out[k] = others[rng.int(others.length)];
  return out;
}

/** Edges on which two cells differ. */
export function cellDistance(a: Cell, b: Cell): number {
  let d = 0;
  for (let k = 0; k < EDGES.length; k++) if (a[k] !== b[k]) d++;
  return d;
}

// The canonical form lives with the cell (models/nb201/cell.ts): teachers' cell sampling needs it too.
export { canonicalCell, canonicalArch } from '../models/index.js';
