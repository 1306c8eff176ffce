// Every learner family behind one interface: a spec, `initLearner` and a pure `learnerForward`. The GTN
// method asks for a learner by spec and never needs to know which family it is.
import { treeLeaves, type Rng, type Tensor, type Tree } from '../tensor/index.js';
import { GtnError } from '../errors.js';
import { classicForward, initClassic, type ClassicParams } from './classic.js';
import { initNb201, nb201Forward, type Nb201Params } from './nb201/network.js';
import { canonicalCell, formatCell, randomCell } from './nb201/cell.js';
import type { LearnerSampling, LearnerSpec } from './spec.js';

export { learnerSpecSchema, LEARNER_SAMPLING, type LearnerSpec, type LearnerSampling } from './spec.js';
export { NB201_OPS, EDGES, parseCell, formatCell, randomCell, canonicalCell, canonicalArch, type Cell, type Nb201Op } from './nb201/cell.js';
export { initNb201, nb201Forward, parseReduction, reductionField, REDUCTIONS, type Nb201Spec, type Nb201Params, type Nb201Taps, type Reduction } from './nb201/network.js';

export type LearnerParams = ClassicParams | Nb201Params;

export interface LearnerOutput {
  logits: Tensor;
  /**
   * The batch statistics its batch-norm layers used, in order. Passed back to `learnerForward` they replace the
   * batch's own: that is evaluation mode.
   */
  stats: Tensor[];
}

export function initLearner(spec: LearnerSpec, inShape: readonly number[], classes: number, rng: Rng, weightNorm = true): LearnerParams {
  return spec.kind === 'nb201' ? initNb201(spec, inShape, classes, rng, weightNorm) : initClassic(spec, inShape, classes, rng, weightNorm);
}

export function learnerForward(spec: LearnerSpec, params: LearnerParams, x: Tensor, stats?: readonly Tensor[]): LearnerOutput {
  return spec.kind === 'nb201' ? nb201Forward(spec, params as Nb201Params, x, stats) : classicForward(spec, params as ClassicParams, x, stats);
}

/** Number of trainable scalars. */
export function paramCount(params: LearnerParams): number {
  return treeLeaves(params as unknown as Tree).reduce((s, t) => s + t.size, 0);
}

/**
 * The learner of one outer iteration. 'widths': conv widths as in the paper (conv1 in [32,128), conv2 in
 * [64,256), fc in [64,256)); CIFAR widths each in [w/2, 2w). 'cells': a uniformly random NB201 cell whose
 * canonical form is not in `heldOut` (cells kept out of meta-training, e.g. the ones a proxy is evaluated on).
 */
export function sampleLearner(spec: LearnerSpec, sampling: LearnerSampling, rng: Rng, heldOut: ReadonlySet<string> = new Set()): LearnerSpec {
  if (sampling === 'fixed') return spec;
  if (sampling === 'widths') {
    if (spec.kind === 'conv') return { kind: 'conv', widths: [32 + rng.int(96), 64 + rng.int(192), 64 + rng.int(192)] };
    if (spec.kind === 'cifar') return { kind: 'cifar', widths: spec.widths.map((w) => Math.max(1, Math.floor(w / 2)) + rng.int(Math.max(1, 2 * w - Math.floor(w / 2)))) };
    throw new GtnError(`learner sampling 'widths' needs a conv or cifar learner, not '${spec.kind}'`);
  }
  if (spec.kind !== 'nb201') throw new GtnError(`learner sampling 'cells' needs an nb201 learner, not '${spec.kind}'`);
  // Redraw from the same stream: with nothing held out the first draw is the cell it always was.
  for (let tries = 0; tries < 10_000; tries++) {
    const cell = randomCell(rng);
    if (!heldOut.has(canonicalCell(cell))) return { ...spec, cell: formatCell(cell) };
  }
  throw new GtnError(`learner sampling 'cells': 10,000 random cells in a row were held out (${heldOut.size} networks are)`);
}

/** A short human-readable name of a learner. */
export function learnerName(spec: LearnerSpec): string {
  switch (spec.kind) {
    case 'conv':
    case 'cifar':
      return `${spec.kind} ${spec.widths.join('-')}`;
    case 'mlp':
      return `mlp ${spec.hidden.join('-')}`;
    case 'nb201':
      return `nb201 C=${spec.channels} N=${spec.cells}${spec.reduction === 'pool' ? ' pool-reduction' : ''} ${spec.cell}`;
  }
}
