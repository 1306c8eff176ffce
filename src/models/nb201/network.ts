// The NAS-Bench-201 network as a learner: a pure function of explicit parameters.
//   stem conv3x3 (C) + BN -> N cells (C) -> residual reduction (2C) -> N cells (2C) -> residual reduction (4C)
//   -> N cells (4C) -> BN -> ReLU -> global average pool -> linear.
// Cell ops: none (zero), skip_connect, ReLU-conv1x1-BN, ReLU-conv3x3-BN, avg-pool 3x3 (padding excluded from
// the divisor). The reduction block is ResNet's basic block: ReLU-conv3x3/s2-BN -> ReLU-conv3x3-BN, plus a
// shortcut avg-pool 2x2/s2 -> conv1x1 ('resnet'), or, beyond NAS-Bench-201, a parameter-free one ('pool': avg-pool
// 2x2/s2 with the channels repeated to double them), which leaves every trainable layer between stem and head in the
// cells. BN uses the batch's statistics in training; evaluation passes saved ones.
import { Rng, Tensor, add, avgPool2d, concat, mean, ones, relu, zeros } from '../../tensor/index.js';
import { avgPool3x3ExcludePad, batchNormWithStats, conv, initConv, initLinear, linear, type ConvParams, type LinearParams } from '../../nn/index.js';
import { EDGES, parseCell, type Cell } from './cell.js';
import { GtnError } from '../../errors.js';

export interface Nb201Spec {
  kind: 'nb201';
  /** The cell string, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`. */
  cell: string;
  /** Channels of the first stage (NAS-Bench-201: 16). */
  channels: number;
  /** Cells per stage (NAS-Bench-201: 5). */
  cells: number;
  /** The blocks between stages (absent: 'resnet', NAS-Bench-201's). */
  reduction?: Reduction;
}

/**
 * The reduction blocks between stages: NAS-Bench-201's residual block, or a parameter-free one. A proxy that trains
 * only briefly ranks cells better with 'pool': the residual blocks' convolutions let cells with little in them fit
 * fast, and a cell made mostly of `none` edges then scores as if it were a good one.
 */
export const REDUCTIONS = ['resnet', 'pool'] as const;
export type Reduction = (typeof REDUCTIONS)[number];

/** A reduction named on the command line (`gtn train|nas --reduction`), or an error that names the option. */
export function parseReduction(value: string): Reduction {
  if (!(REDUCTIONS as readonly string[]).includes(value)) throw new GtnError(`--reduction must be one of ${REDUCTIONS.join(', ')}; got '${value}'`);
  return value as Reduction;
}

/** The spec field for a reduction: NB201's residual blocks are spelled by its absence, so specs, configs and proxy keys
 * made before the field existed stay byte-equal. */
export function reductionField(kind: Reduction | undefined): { reduction?: 'pool' } {
  return kind === 'pool' ? { reduction: 'pool' } : {};
}

type Bn = { gamma: Tensor; beta: Tensor };
type ReluConvBn = { conv: ConvParams } & Bn;
type CellParams = { edges: Record<string, ReluConvBn> };
type ReductionParams = { a: ReluConvBn; b: ReluConvBn; down: ConvParams };
type PoolReductionParams = Record<string, never>;

export type Nb201Params = {
  stem: { conv: ConvParams } & Bn;
  blocks: (CellParams | ReductionParams | PoolReductionParams)[];
  head: Bn & { fc: LinearParams };
};

const parsed = new Map<string, Cell>();
function cellOf(spec: Nb201Spec): Cell {
  let c = parsed.get(spec.cell);
  if (!c) {
    c = parseCell(spec.cell);
    parsed.set(spec.cell, c);
  }
  return c;
}

/** The stage layout: 'cell' or 'reduce' blocks with their channel counts. */
function layout(spec: Nb201Spec): { kind: 'cell' | 'reduce'; cin: number; cout: number }[] {
  const out: { kind: 'cell' | 'reduce'; cin: number; cout: number }[] = [];
  let c = spec.channels;
  for (let stage = 0; stage < 3; stage++) {
    if (stage > 0) {
      out.push({ kind: 'reduce', cin: c, cout: 2 * c });
      c *= 2;
    }
    for (let i = 0; i < spec.cells; i++) out.push({ kind: 'cell', cin: c, cout: c });
  }
  return out;
}

const bn = (n: number): Bn => ({ gamma: ones([n]), beta: zeros([n]) });

function initRcb(cin: number, cout: number, k: number, rng: Rng, weightNorm: boolean): ReluConvBn {
  return { conv: initConv(cin, cout, k, rng, { weightNorm, bias: false }), ...bn(cout) };
}

export function initNb201(spec: Nb201Spec, inShape: readonly number[], classes: number, rng: Rng, weightNorm: boolean): Nb201Params {
  const cell = cellOf(spec);
  const blocks = layout(spec).map((b, i): CellParams | ReductionParams | PoolReductionParams => {
    const r = rng.fork(`block${i}`);
    if (b.kind === 'reduce' && spec.reduction === 'pool') return {};
    if (b.kind === 'reduce') {
      return {
        a: initRcb(b.cin, b.cout, 3, r.fork('a'), weightNorm),
        b: initRcb(b.cout, b.cout, 3, r.fork('b'), weightNorm),
        down: initConv(b.cin, b.cout, 1, r.fork('down'), { weightNorm, bias: false }),
      };
    }
    const edges: Record<string, ReluConvBn> = {};
    cell.forEach((op, k) => {
      if (op === 'nor_conv_1x1' || op === 'nor_conv_3x3') edges[`e${k}`] = initRcb(b.cin, b.cout, op === 'nor_conv_1x1' ? 1 : 3, r.fork(k), weightNorm);
    });
    return { edges };
  });
  const last = 4 * spec.channels;
  return {
    stem: { conv: initConv(inShape[0], spec.channels, 3, rng.fork('stem'), { weightNorm, bias: false }), ...bn(spec.channels) },
    blocks,
    head: { ...bn(last), fc: initLinear(last, classes, rng.fork('head'), { weightNorm }) },
  };
}

/** What a zero-cost proxy may watch during a forward pass. */
export interface Nb201Taps {
  /** Every ReLU's input (nwot reads activation patterns). */
  relu?: (pre: Tensor) => void;
  /**
   * Every module's output as NAS-Bench-201's PyTorch network nests its modules (MeCo hooks every module): a
   * Sequential's or a wrapper's output is its last member's again, so it is passed again. Left out, as outputs
   * whose channel correlations are all 0 under MeCo's convention: a `none` edge's zeros, and the global pool's and
   * the classifier's single value per channel.
   */
  module?: (out: Tensor) => void;
}

/** Forward pass; returns the logits and the BN statistics it used, [mean, variance] per BN in order. */
export function nb201Forward(spec: Nb201Spec, p: Nb201Params, x: Tensor, saved?: readonly Tensor[], taps: Nb201Taps = {}): { logits: Tensor; stats: Tensor[] } {
  const cell = cellOf(spec);
  const stats: Tensor[] = [];
  const norm = (h: Tensor, q: Bn): Tensor => {
    const k = stats.length;
    const r = batchNormWithStats(h, q.gamma, q.beta, saved ? { mean: saved[k], variance: saved[k + 1] } : undefined);
    stats.push(r.mean, r.variance);
    return r.y;
  };
  const tap = (t: Tensor, times = 1): Tensor => {
    if (taps.module) for (let i = 0; i < times; i++) taps.module(t);
    return t;
  };
  const act = (h: Tensor): Tensor => {
    taps.relu?.(h);
    return tap(relu(h));
  };
  // ReLUConvBN: the ReLU, the conv, the BN, then its Sequential and the ReLUConvBN module return the BN's output.
  const rcb = (h: Tensor, q: ReluConvBn, k: number, stride = 1): Tensor => tap(norm(tap(conv(q.conv, act(h), { padding: (k - 1) / 2, stride })), q), 3);

  // stem: Sequential(conv, BN)
  let h = tap(norm(tap(conv(p.stem.conv, x, { padding: 1 })), p.stem), 2);
  layout(spec).forEach((b, i) => {
    const q = p.blocks[i];
    if (b.kind === 'reduce' && spec.reduction === 'pool') {
      const pooled = tap(avgPool2d(h, { kernel: 2, stride: 2 }));
      h = tap(concat([pooled, pooled], 1));
      return;
    }
    if (b.kind === 'reduce') {
      const r = q as ReductionParams;
      const main = rcb(rcb(h, r.a, 3, 2), r.b, 3);
      // shortcut: Sequential(avg-pool, conv1x1)
      h = tap(add(tap(conv(r.down, tap(avgPool2d(h, { kernel: 2, stride: 2 }))), 2), main));
      return;
    }
    const edges = (q as CellParams).edges;
    const nodes: Tensor[] = [h];
    for (let to = 1; to <= 3; to++) {
      let sum: Tensor | null = null;
      for (let k = 0; k < EDGES.length; k++) {
        const op = cell[k];
        if (EDGES[k].to !== to || op === 'none') continue;
        const inp = nodes[EDGES[k].from];
        // skip: Identity; pool: AvgPool2d inside the POOLING module
        const y = op === 'skip_connect' ? tap(inp) : op === 'avg_pool_3x3' ? tap(avgPool3x3ExcludePad(inp), 2) : rcb(inp, edges[`e${k}`], op === 'nor_conv_1x1' ? 1 : 3);
        sum = sum ? add(sum, y) : y;
      }
      // A node with only 'none' inputs is zero (NAS-Bench-201 multiplies by 0 and keeps the tensor).
      nodes.push(sum ?? zeros(h.shape));
    }
    h = tap(nodes[3]);
  });
  // lastact: Sequential(BN, ReLU)
  h = tap(act(tap(norm(h, p.head))));
  return { logits: linear(p.head.fc, mean(h, [2, 3])), stats };
}
