// Softmax family and classification losses, composed from primitive ops so that their higher-order
// gradients come from the primitives' (no hand-written second derivative to get wrong).
import { detach } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, normAxis, shapeStr } from '../tensor.js';
import { exp, log, mul, neg, sub } from './elementwise.js';
import { max, mean, sum } from './reduce.js';

/** log(softmax(x)) along `axis`, stabilised by subtracting the (constant) max. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  assertFloat('logSoftmax', x);
  const a = normAxis('logSoftmax', axis, x.rank);
  const shifted = sub(x, detach(max(detach(x), a, true)));
  return sub(shifted, log(sum(exp(shifted), a, true)));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return exp(logSoftmax(x, axis));
}

/** One-hot float rows from int32 labels: [...] -> [..., classes]. */
export function oneHot(labels: Tensor, classes: number): Tensor {
  if (labels.dtype !== 'int32') throw new ShapeError(`oneHot: labels must be int32, got ${labels.dtype} of shape ${shapeStr(labels.shape)}`);
  const out = new Float32Array(labels.size * classes);
  labels.data.forEach((l, i) => {
    if (l < 0 || l >= classes || !Number.isInteger(l)) throw new ShapeError(`oneHot: label ${l} is outside [0, ${classes})`);
    out[i * classes + l] = 1;
  });
  return new Tensor(out, [...labels.shape, classes]);
}

/**
 * Mean negative log-likelihood of log-probabilities [B, C] against int32 labels [B] or soft targets [B, C]
 * (probability rows; they may carry gradients, e.g. learned soft labels).
 */
export function nllLoss(logp: Tensor, target: Tensor): Tensor {
  assertFloat('nllLoss', logp);
  if (logp.rank !== 2) throw new ShapeError(`nllLoss: log-probabilities must be [B, C], got ${shapeStr(logp.shape)}`);
  const [b, c] = logp.shape;
  let t: Tensor;
  if (target.dtype === 'int32') {
    if (target.rank !== 1 || target.shape[0] !== b) throw new ShapeError(`nllLoss: labels ${shapeStr(target.shape)} do not match log-probabilities ${shapeStr(logp.shape)}`);
    t = oneHot(target, c);
  } else {
    if (target.rank !== 2 || target.shape[0] !== b || target.shape[1] !== c) {
      throw new ShapeError(`nllLoss: soft targets ${shapeStr(target.shape)} do not match log-probabilities ${shapeStr(logp.shape)}`);
    }
    t = target;
  }
  return neg(mean(sum(mul(logp, t), 1)));
}

/** Cross-entropy of logits [B, C] against int32 labels [B] or soft targets [B, C]. */
export function crossEntropy(logits: Tensor, target: Tensor): Tensor {
  return nllLoss(logSoftmax(logits, 1), target);
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const [b, c] = logits.shape;
  let right = 0;
  for (let i = 0; i < b; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits.data[i * c + j] > logits.data[i * c + best]) best = j;
    if (best === labels.data[i]) right++;
  }
  return right / b;
}
