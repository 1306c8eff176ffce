// The FLOP counter (GTN_COUNT_FLOPS=1) counts what the kernels were called with: a matmul of [b,m,k]x[b,k,n] is
// 2bmkn, a convolution 2 x outputs x C/groups x kh x kw per pass, and the backward of a matmul costs twice its
// forward (two matmuls of the same size).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsBackend } from '../../src/tensor/backends/js.js';
import { counted, flopCount, resetFlops } from '../../src/tensor/backends/flops.js';
import { Rng, backendStatus, grad, matmul, randn, setBackend, sum, type Tensor } from '../../src/tensor/index.js';

test('matmul and convolution kernels count 2 FLOPs per multiply-add, from the shapes they are called with', () => {
  const b = counted(jsBackend);
  resetFlops();
  b.matmul(new Float32Array(2 * 3 * 4), new Float32Array(2 * 4 * 5), 2, 3, 4, 5, false, false, 12, 20);
  assert.equal(flopCount().total, 2 * 2 * 3 * 4 * 5);
  resetFlops();
  // x [2, 4, 9, 7], w [6, 2, 3, 3], groups 2, stride 2, pad 1 each side -> y [2, 6, 5, 4]
  const p = { stride: [2, 2] as const, pad: [1, 1, 1, 1] as const, groups: 2 };
  const y = b.conv2d(new Float32Array(2 * 4 * 9 * 7), [2, 4, 9, 7], new Float32Array(6 * 2 * 9), [6, 2, 3, 3], p);
  assert.equal(y.length, 2 * 6 * 5 * 4);
  const perPass = 2 * (2 * 6 * 5 * 4) * 2 * 9;
  assert.equal(flopCount().total, perPass);
  b.conv2dBackwardInput(y, [2, 6, 5, 4], new Float32Array(6 * 2 * 9), [6, 2, 3, 3], [2, 4, 9, 7], p);
  b.conv2dBackwardWeight(new Float32Array(2 * 4 * 9 * 7), [2, 4, 9, 7], y, [2, 6, 5, 4], [6, 2, 3, 3], p);
  assert.equal(flopCount().total, 3 * perPass);
  assert.deepEqual(Object.keys(flopCount().perKernel).sort(), ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight']);
  resetFlops();
  b.permute(new Float32Array(6), [2, 3], [1, 0]);
  assert.equal(flopCount().total, 0, 'data movement counts nothing');
});

test('with GTN_COUNT_FLOPS=1 the active backend counts, and a matmul backward costs two forwards', () => {
  const before = process.env.GTN_COUNT_FLOPS;
  const active = backendStatus().active;
  process.env.GTN_COUNT_FLOPS = '1';
  try {
    setBackend('js');
    const rng = Rng.seeded(1);
    const a = randn([8, 16], rng.fork('a'));
    const w = randn([16, 4], rng.fork('w'));
    resetFlops();
    matmul(a, w);
    const forward = flopCount().perKernel.matmul;
    assert.equal(forward, 2 * 8 * 16 * 4);
    resetFlops();
    grad((p: Tensor) => sum(matmul(a, p)))(w);
    assert.equal(flopCount().perKernel.matmul, 2 * forward, 'the forward again plus one matmul for the weight gradient');
  } finally {
    if (before === undefined) delete process.env.GTN_COUNT_FLOPS;
    else process.env.GTN_COUNT_FLOPS = before;
    setBackend(active);
  }
});
