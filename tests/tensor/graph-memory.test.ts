// What the autodiff graph keeps alive: only the data its vjps read (GraphRef), so that an unrolled inner loop
// frees intermediate values no vjp needs as soon as the forward code drops them. Checked with a real garbage
// collection (gc exposed at run time) and WeakRefs on the tensors' data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { leaf } from '../../src/tensor/autograd.js';

setFlagsFromString('--expose-gc');
const rawGc = runInNewContext('gc') as () => void;
/** A full collection once the current job is over (a new WeakRef keeps its target alive until then). */
async function gc(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  rawGc();
}

/** Builds a graph with fn, keeping only its result; returns the result and WeakRefs to the intermediates' data. */
function build(fn: (x: Tensor, keep: (t: Tensor) => Tensor) => Tensor) {
  const weak: WeakRef<object>[] = [];
  const x = leaf(T.randn([4, 3, 6, 6], T.Rng.seeded(1)));
  const out = fn(x, (t) => (weak.push(new WeakRef(t.data)), t));
  return { x, out, weak };
}

describe('graph memory', () => {
  it('drops the data of intermediates no vjp reads, and the gradient is unchanged', async () => {
    // conv output -> max pool (its vjp needs only the indices) -> centring by a mean (sub and sum keep shapes
    // only) -> add: none of these four intermediates is read by a vjp.
    const w = leaf(T.randn([5, 3, 3, 3], T.Rng.seeded(2)));
    const { x, out, weak } = build((x, keep) => {
      const c = keep(T.conv2d(x, w, { padding: 1 }));
      const p = keep(T.maxPool2d(c, { kernel: 2, stride: 2 }));
      const centred = keep(T.sub(p, T.mean(p, [0, 2, 3], true)));
      const shifted = keep(T.add(centred, 1));
      return T.sum(T.square(shifted));
    });
    await gc();
    assert.deepEqual(
      weak.map((r) => r.deref() === undefined),
      [true, true, true, false], // square's vjp reads its input, `shifted`
    );
    const [gx, gw] = T.gradients([out], [T.tensor([1], [])], [x, w]);
    // Against the same function with every intermediate held by the caller.
    const held: Tensor[] = [];
    const ref = T.sum(T.square(T.add(T.sub((held[0] = T.maxPool2d(T.conv2d(x, w, { padding: 1 }), { kernel: 2, stride: 2 })), T.mean(held[0], [0, 2, 3], true)), 1)));
    const [rx, rw] = T.gradients([ref], [T.tensor([1], [])], [x, w]);
    assert.deepEqual(Array.from(gx.data), Array.from(rx.data));
    assert.deepEqual(Array.from(gw.data), Array.from(rw.data));
  });

  it('keeps the data a vjp reads (the input of log, the output of leakyRelu)', async () => {
    const { out, weak } = build((x, keep) => {
      const a = keep(T.addScalar(T.square(x), 1));
      const b = keep(T.log(a)); // log reads its input
      const c = keep(T.mulScalar(b, 2)); // leakyRelu reads its output, not its input
      return T.sum(T.add(keep(T.leakyRelu(c, 0.1)), 0));
    });
    await gc();
    assert.deepEqual(
      weak.map((r) => r.deref() !== undefined),
      [true, false, false, true],
    );
    assert.ok(Number.isFinite(out.item()));
  });
});
