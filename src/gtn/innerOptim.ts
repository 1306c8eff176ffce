// Inner optimisers: one update of the learner's parameters from its gradient, written in Tensor ops so that
// the meta-gradient flows through it into the learned per-step hyperparameters.
import { Tensor, add, addScalar, div, mul, mulScalar, sqrt, square, sub, zerosLike } from '../tensor/index.js';

export type InnerOptimizer = 'sgd' | 'adam';

/** Per-parameter optimiser state tensors (SGD: velocity; Adam: first and second moments). */
export function stateSize(kind: InnerOptimizer): number {
  return kind === 'sgd' ? 1 : 2;
}

export function initState(kind: InnerOptimizer, params: readonly Tensor[]): Tensor[] {
  return Array.from({ length: stateSize(kind) }, () => params.map(zerosLike)).flat();
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

/**
 * One step at inner step t (0-based). SGD with momentum: v <- m v + g; p <- p - lr v (lr, m are scalar
 * tensors). Adam: the usual bias-corrected update with learned lr (m unused). State is laid out
 * [v_0..v_n] or [m1_0..m1_n, m2_0..m2_n].
 */
export function innerUpdate(kind: InnerOptimizer, t: number, params: Tensor[], grads: Tensor[], state: Tensor[], lr: Tensor, momentum: Tensor): { params: Tensor[]; state: Tensor[] } {
  const n = params.length;
  if (kind === 'sgd') {
    const v = params.map((_, i) => add(mul(momentum, state[i]), grads[i]));
    return { params: params.map((p, i) => sub(p, mul(lr, v[i]))), state: v };
  }
  const c1 = 1 / (1 - BETA1 ** (t + 1));
  const c2 = 1 / (1 - BETA2 ** (t + 1));
  const m1 = params.map((_, i) => add(mulScalar(state[i], BETA1), mulScalar(grads[i], 1 - BETA1)));
  const m2 = params.map((_, i) => add(mulScalar(state[n + i], BETA2), mulScalar(square(grads[i]), 1 - BETA2)));
  const p2 = params.map((p, i) => sub(p, mul(lr, div(mulScalar(m1[i], c1), addScalar(sqrt(addScalar(mulScalar(m2[i], c2), 1e-12)), EPS)))));
  return { params: p2, state: [...m1, ...m2] };
}
