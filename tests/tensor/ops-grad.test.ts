// Every op's first derivative against central finite differences, and its second derivative
// (Hessian-vector product by grad-of-grad) likewise, on each available backend.
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { availableBackends, checkGrad, checkHvp, distinct, probe, rand } from '../helpers/gradcheck.js';

interface Case {
  name: string;
  inputs: () => Tensor[];
  op: (xs: Tensor[]) => Tensor;
  /** Finite-difference step, where curvature calls for a smaller one than the default 1e-2. */
  eps?: number;
}

const pos = (shape: number[], seed = 5) => T.addScalar(T.abs(rand(shape, seed)), 0.5);
const awayFromZero = (shape: number[], seed = 5) => {
  const x = rand(shape, seed);
  return T.add(x, T.mulScalar(T.where(T.ge(x, 0), 1, -1), 0.2));
};

const cases: Case[] = [
  // elementwise unary
  { name: 'neg', inputs: () => [rand([3, 4])], op: ([x]) => T.neg(x) },
  { name: 'exp', inputs: () => [rand([3, 4], 5, 0.5)], op: ([x]) => T.exp(x) },
  { name: 'log', inputs: () => [pos([3, 4])], op: ([x]) => T.log(x) },
  { name: 'sqrt', inputs: () => [pos([3, 4])], op: ([x]) => T.sqrt(x) },
  { name: 'tanh', inputs: () => [rand([3, 4])], op: ([x]) => T.tanh(x) },
  { name: 'sigmoid', inputs: () => [rand([3, 4])], op: ([x]) => T.sigmoid(x) },
  { name: 'relu', inputs: () => [awayFromZero([3, 4])], op: ([x]) => T.mul(T.relu(x), x) },
  { name: 'leakyRelu', inputs: () => [awayFromZero([3, 4])], op: ([x]) => T.mul(T.leakyRelu(x, 0.1), x) },
  { name: 'abs', inputs: () => [awayFromZero([3, 4])], op: ([x]) => T.mul(T.abs(x), x) },
  { name: 'square', inputs: () => [rand([3, 4])], op: ([x]) => T.square(x) },
  { name: 'reciprocal', inputs: () => [pos([3, 4])], op: ([x]) => T.reciprocal(x) },
  { name: 'addScalar', inputs: () => [rand([3, 4])], op: ([x]) => T.square(T.addScalar(x, 0.3)) },
  { name: 'mulScalar', inputs: () => [rand([3, 4])], op: ([x]) => T.square(T.mulScalar(x, -1.5)) },
  { name: 'powScalar', inputs: () => [pos([3, 4])], op: ([x]) => T.powScalar(x, 2.5) },
  // elementwise binary, with broadcasting
  { name: 'add broadcast', inputs: () => [rand([2, 3, 4]), rand([3, 1], 6)], op: ([a, b]) => T.square(T.add(a, b)) },
  { name: 'sub broadcast', inputs: () => [rand([4]), rand([2, 3, 4], 6)], op: ([a, b]) => T.square(T.sub(a, b)) },
  { name: 'mul broadcast', inputs: () => [rand([2, 3, 4]), rand([1, 4], 6)], op: ([a, b]) => T.mul(a, b) },
  { name: 'div broadcast', inputs: () => [rand([2, 3]), pos([3], 6)], op: ([a, b]) => T.div(a, b) },
  { name: 'pow', inputs: () => [pos([2, 3]), rand([2, 3], 6, 0.5)], op: ([a, b]) => T.pow(a, b) },
  { name: 'maximum', inputs: () => [distinct([2, 3], 1), T.addScalar(distinct([2, 3], 2), 0.05)], op: ([a, b]) => T.mul(T.maximum(a, b), a) },
  { name: 'minimum', inputs: () => [distinct([2, 3], 1), T.addScalar(distinct([3], 2), 0.05)], op: ([a, b]) => T.mul(T.minimum(a, b), a) },
  { name: 'where', inputs: () => [rand([2, 3]), rand([3], 6)], op: ([a, b]) => T.mul(T.where(T.tensor([1, 0, 1]), a, b), a) },
  // fused batch norm: its output and both statistics, for gradients of every order through the composite vjp
  {
    name: 'batchNorm 4d (y, mean, variance)',
    inputs: () => [rand([3, 2, 2, 3]), T.addScalar(rand([2], 6, 0.3), 1), rand([2], 7)],
    op: ([x, g, b]) => {
      const r = T.batchNormTrain(x, g, b);
      return T.add(T.add(probe([3, 2, 2, 3])(r.y), T.sum(T.mul(r.mean, r.mean))), T.sum(T.square(r.variance)));
    },
  },
  { name: 'batchNorm 2d', inputs: () => [rand([5, 3]), T.addScalar(rand([3], 6, 0.3), 1), rand([3], 7)], op: ([x, g, b]) => probe([5, 3])(T.batchNormTrain(x, g, b).y) },
  { name: 'batchNorm statistics only', inputs: () => [rand([4, 3, 2, 2])], op: ([x]) => { const r = T.batchNormTrain(x, T.ones([3]), T.zeros([3])); return T.sum(T.mul(T.tanh(r.mean), r.variance)); } },
  // reductions
  { name: 'sum axes keepdims', inputs: () => [rand([2, 3, 4])], op: ([x]) => T.mul(T.sum(T.square(x), [0, 2], true), x) },
  { name: 'sum all', inputs: () => [rand([2, 3])], op: ([x]) => T.mul(T.sum(x), x) },
  { name: 'mean', inputs: () => [rand([2, 3, 4])], op: ([x]) => T.square(T.mean(x, 1)) },
  { name: 'max axis', inputs: () => [distinct([3, 4])], op: ([x]) => T.square(T.max(x, 1)) },
  { name: 'max keepdims', inputs: () => [distinct([2, 3, 2])], op: ([x]) => T.mul(T.max(x, [0, 2], true), x) },
  // matmul
  { name: 'matmul', inputs: () => [rand([3, 4]), rand([4, 5], 6)], op: ([a, b]) => T.matmul(a, b) },
  { name: 'matmul transA', inputs: () => [rand([4, 3]), rand([4, 5], 6)], op: ([a, b]) => T.matmul(a, b, { transA: true }) },
  { name: 'matmul transB', inputs: () => [rand([3, 4]), rand([5, 4], 6)], op: ([a, b]) => T.matmul(a, b, { transB: true }) },
  { name: 'matmul transA transB', inputs: () => [rand([4, 3]), rand([5, 4], 6)], op: ([a, b]) => T.matmul(a, b, { transA: true, transB: true }) },
  { name: 'matmul batched', inputs: () => [rand([2, 3, 4]), rand([2, 4, 2], 6)], op: ([a, b]) => T.matmul(a, b) },
  { name: 'matmul batch broadcast', inputs: () => [rand([2, 1, 3, 4]), rand([3, 4, 2], 6)], op: ([a, b]) => T.matmul(a, b) },
  { name: 'matmul shared rhs', inputs: () => [rand([2, 3, 4]), rand([2, 4], 6)], op: ([a, b]) => T.matmul(a, b, { transB: true }) },
  // data movement
  { name: 'reshape', inputs: () => [rand([2, 6])], op: ([x]) => T.mul(T.reshape(x, [3, -1]), T.reshape(x, [3, 4])) },
  { name: 'permute', inputs: () => [rand([2, 3, 4])], op: ([x]) => T.square(T.permute(x, [2, 0, 1])) },
  { name: 'transpose', inputs: () => [rand([3, 4])], op: ([x]) => T.matmul(x, T.transpose(x)) },
  { name: 'broadcastTo', inputs: () => [rand([3, 1])], op: ([x]) => T.square(T.broadcastTo(x, [2, 3, 4])) },
  { name: 'slice', inputs: () => [rand([4, 5])], op: ([x]) => T.square(T.slice(x, [1, 2], [2, -1])) },
  { name: 'padZero', inputs: () => [rand([2, 3])], op: ([x]) => T.mul(T.padZero(x, [1, 0], [0, 2]), rand([3, 5], 9)) },
  { name: 'pad reflect', inputs: () => [rand([1, 1, 3, 4])], op: ([x]) => T.square(T.pad(x, [[0, 0], [0, 0], [1, 2], [2, 1]], 'reflect')) },
  { name: 'concat', inputs: () => [rand([2, 3]), rand([2, 2], 6)], op: ([a, b]) => T.square(T.concat([a, b, a], 1)) },
  { name: 'split', inputs: () => [rand([5, 2])], op: ([x]) => T.mul(...(T.split(x, [2, 2, 1], 0).slice(0, 2) as [Tensor, Tensor])) },
  { name: 'indexSelect', inputs: () => [rand([4, 3])], op: ([x]) => T.square(T.indexSelect(x, 0, [3, 0, 3, 1])) },
  { name: 'gather/scatterAdd', inputs: () => [rand([5])], op: ([x]) => T.square(T.scatterAddFlat(T.gatherFlat(x, Int32Array.from([4, 1, 1, 0]), [4]), Int32Array.from([2, 2, 0, 1]), [3])) },
  { name: 'upsampleNearest', inputs: () => [rand([1, 2, 2, 3])], op: ([x]) => T.square(T.upsampleNearest(x, 2)) },
  // convolution
  { name: 'conv2d 3x3 pad 1', inputs: () => [rand([2, 2, 5, 5]), rand([3, 2, 3, 3], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: 1 }), eps: 3e-3 },
  { name: 'conv2d stride 2', inputs: () => [rand([1, 2, 6, 5]), rand([2, 2, 3, 3], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { stride: 2, padding: [1, 0] }), eps: 3e-3 },
  { name: 'conv2d 1x3 same', inputs: () => [rand([1, 2, 4, 5]), rand([2, 2, 1, 3], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: 'same' }), eps: 3e-3 },
  { name: 'conv2d 3x1 same', inputs: () => [rand([1, 2, 5, 4]), rand([2, 2, 3, 1], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: 'same' }), eps: 3e-3 },
  { name: 'conv2d 1x7', inputs: () => [rand([1, 1, 3, 8]), rand([2, 1, 1, 7], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: [0, 0, 3, 3] }), eps: 3e-3 },
  { name: 'conv2d 7x1', inputs: () => [rand([1, 1, 8, 3]), rand([2, 1, 7, 1], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: [3, 3, 0, 0] }), eps: 3e-3 },
  { name: 'conv2d groups', inputs: () => [rand([1, 4, 4, 4]), rand([4, 2, 3, 3], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w, { padding: 1, groups: 2 }), eps: 3e-3 },
  { name: 'conv2d 1x1', inputs: () => [rand([2, 3, 3, 3]), rand([2, 3, 1, 1], 6, 0.5)], op: ([x, w]) => T.conv2d(x, w), eps: 3e-3 },
  // pooling
  { name: 'maxPool2d 2', inputs: () => [distinct([1, 2, 4, 4])], op: ([x]) => T.square(T.maxPool2d(x, { kernel: 2 })) },
  { name: 'maxPool2d 3 s2 p1', inputs: () => [distinct([1, 2, 5, 5])], op: ([x]) => T.square(T.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 })) },
  { name: 'maxPool2d 5 same', inputs: () => [distinct([1, 1, 5, 6])], op: ([x]) => T.square(T.maxPool2d(x, { kernel: 5, stride: 1, padding: 'same' })) },
  { name: 'maxPool2d 2 same', inputs: () => [distinct([1, 1, 3, 4])], op: ([x]) => T.square(T.maxPool2d(x, { kernel: 2, stride: 1, padding: 'same' })) },
  { name: 'avgPool2d 2', inputs: () => [rand([1, 2, 4, 4])], op: ([x]) => T.square(T.avgPool2d(x, { kernel: 2 })) },
  { name: 'avgPool2d 3 same', inputs: () => [rand([1, 2, 4, 5])], op: ([x]) => T.square(T.avgPool2d(x, { kernel: 3, stride: 1, padding: 'same' })) },
  { name: 'avgPool2d 5 s2', inputs: () => [rand([1, 1, 7, 6])], op: ([x]) => T.square(T.avgPool2d(x, { kernel: 5, stride: 2, padding: 2 })) },
  { name: 'avgPool2d 3 exclude-pad', inputs: () => [rand([1, 2, 4, 5])], op: ([x]) => T.square(T.avgPool2d(x, { kernel: 3, stride: 1, padding: 1, countIncludePad: false })) },
  { name: 'avgPool2d 3 s2 exclude-pad', inputs: () => [rand([1, 1, 7, 6])], op: ([x]) => T.square(T.avgPool2d(x, { kernel: 3, stride: 2, padding: 1, countIncludePad: false })) },
  // softmax family and losses
  { name: 'logSoftmax', inputs: () => [rand([3, 5])], op: ([x]) => T.logSoftmax(x) },
  { name: 'softmax axis 0', inputs: () => [rand([3, 4])], op: ([x]) => T.softmax(x, 0) },
  { name: 'crossEntropy labels', inputs: () => [rand([4, 3])], op: ([x]) => T.crossEntropy(x, T.tensor(Int32Array.from([0, 2, 1, 2]))) },
  { name: 'crossEntropy soft', inputs: () => [rand([3, 4]), rand([3, 4], 6)], op: ([x, t]) => T.crossEntropy(x, T.softmax(t)) },
];

for (const be of availableBackends()) {
  describe(`op gradients (${be} backend)`, () => {
    for (const c of cases) {
      it(`${c.name}: first derivative`, () => {
        T.setBackend(be);
        const xs = c.inputs();
        const p = probe(c.op(xs).shape);
        checkGrad(c.name, (ps) => p(c.op(ps)), xs, { eps: c.eps });
      });
      it(`${c.name}: second derivative`, () => {
        T.setBackend(be);
        const xs = c.inputs();
        const p = probe(c.op(xs).shape);
        checkHvp(c.name, (ps) => p(c.op(ps)), xs, { eps: c.eps });
      });
    }
  });
}
