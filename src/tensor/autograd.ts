// Reverse-mode autodiff over the Tensor graph.
//
// Every op records a Node whose vjp is written in Tensor ops. Running the backward pass with recording on
// (createGraph) therefore builds a graph of the backward pass itself, which can be differentiated again: that
// is all second-order (and higher) gradients need. Nested differentiation is torch-style: an inner `grad`
// differentiates with respect to tensors that may themselves sit in an outer graph, and with createGraph the
// inner gradients stay connected to it (the GTN meta-gradient flows through them).
import { GraphRef, ShapeError, Tensor, freshId, sameShape, shapeStr, type Node } from './tensor.js';

// ---------------------------------------------------------------------------------------------- grad mode

let recording = true;

export function isRecording(): boolean {
  return recording;
}

/** Runs fn with recording set to `on`, restoring the previous mode afterwards. */
export function withRecording<T>(on: boolean, fn: () => T): T {
  const prev = recording;
  recording = on;
  try {
    return fn();
  } finally {
    recording = prev;
  }
}

/** Runs fn without building a graph: results are constants, intermediate tensors can be freed at once. */
export function noGrad<T>(fn: () => T): T {
  return withRecording(false, fn);
}

// ------------------------------------------------------------------------------------------- recording

type Vjp = Node['vjp'];

/**
 * Makes an op's outputs, recording a Node when recording is on and some input requires grad. Ops call this
 * with their freshly computed outputs; the vjp closure may capture inputs and outputs (as graph nodes, so
 * that the second-order path through them is kept).
 */
export function record(op: string, inputs: readonly Tensor[], outputs: Tensor[], vjp: Vjp, vjpAccumulate?: Node['vjpAccumulate']): Tensor[] {
  if (!recording || !inputs.some((t) => t.requiresGrad)) return outputs;
  const refs = outputs.map((t) => t.ref);
  const node: Node = { op, inputs: inputs.map((t) => t.ref), vjp, vjpAccumulate, outputs: refs, id: freshId() };
  for (const r of refs) {
    r.requiresGrad = true;
    r.node = node;
  }
  return outputs;
}

/** Single-output form of `record`; the vjp receives the output's cotangent (never null here). */
export function record1(op: string, inputs: readonly Tensor[], out: Tensor, vjp: (g: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[]): Tensor {
  return record(op, inputs, [out], (gs, needs) => vjp(gs[0]!, needs))[0];
}

/** A new leaf sharing x's data, cut off from x's graph. */
export function detach(x: Tensor): Tensor {
  return new Tensor(x.data, x.shape, x.dtype);
}

/** A leaf sharing x's data whose gradient is tracked. */
export function leaf(x: Tensor): Tensor {
  const t = detach(x);
  t.requiresGrad = x.dtype === 'float32';
  return t;
}

// --------------------------------------------------------------------------------------- backward pass

// Whether the backward pass now running builds a graph (read by checkpoint's vjp).
let backwardCreatesGraph = false;

export interface GradientsOptions {
  /** Record the backward pass so that the gradients can be differentiated again. Default false. */
  createGraph?: boolean;
}

// Element-wise sum of two cotangents; lives here (not in ops) to keep autograd free of op imports.
let addFn: ((a: Tensor, b: Tensor) => Tensor) | null = null;
let zerosLikeFn: ((t: Tensor) => Tensor) | null = null;
let broadcastToFn: ((t: Tensor, shape: readonly number[]) => Tensor) | null = null;
/** Installed by ops at load time: the ops the backward pass itself needs. */
export function installBackwardOps(
  add: (a: Tensor, b: Tensor) => Tensor,
  zerosLike: (t: Tensor) => Tensor,
  broadcastTo: (t: Tensor, shape: readonly number[]) => Tensor,
): void {
  addFn = add;
  zerosLikeFn = zerosLike;
  broadcastToFn = broadcastTo;
}

/**
 * Ops whose vjp may return a cotangent of the input's rank with size-1 axes where the input has more (a sum's
 * gradient is its output's gradient repeated along the summed axes). The backward pass keeps it that small:
 * adding it to another cotangent broadcasts in the same pass, so the repeated copy is only made when the
 * cotangent reaches a vjp or is returned, and most often never (batch-norm style centring saves a full pass).
 */
const BROADCAST_COTANGENT = new Set(['sum']);

/** g broadcast to t's shape if a BROADCAST_COTANGENT op left it smaller. */
function fullCotangent(g: Tensor, t: { readonly shape: readonly number[] }): Tensor {
  return sameShape(g.shape, t.shape) ? g : broadcastToFn!(g, t.shape);
}

/**
 * Cotangents of `wrt` given the cotangents of `outputs` (vector-Jacobian product). Tensors in `wrt` that the
 * outputs do not depend on get zeros. Only the part of the graph between `wrt` and `outputs` is visited.
 */
export function gradients(outputs: readonly Tensor[], cotangents: readonly Tensor[], wrt: readonly Tensor[], opts: GradientsOptions = {}): Tensor[] {
  if (outputs.length !== cotangents.length) throw new Error('gradients: need one cotangent per output');
  outputs.forEach((o, i) => {
    if (!sameShape(o.shape, cotangents[i].shape)) {
      throw new ShapeError(`gradients: cotangent ${i} has shape ${shapeStr(cotangents[i].shape)} but the output has ${shapeStr(o.shape)}`);
    }
  });
  const createGraph = opts.createGraph ?? false;
  const prevCreates = backwardCreatesGraph;
  backwardCreatesGraph = createGraph;
  try {
    return withRecording(createGraph, () => backward(outputs, cotangents, wrt, new Map()));
  } finally {
    backwardCreatesGraph = prevCreates;
  }
}

/**
 * The backward pass; `grads` may arrive holding partial sums for some wrt tensors, which it continues.
 * With `local`, wrt tensors are boundaries: paths through the ops that made them are not followed (a
 * checkpoint's vjp is local to its own inputs), otherwise a wrt tensor that depends on another one passes
 * its gradient on, as in torch.autograd.grad.
 */
function backward(outputs: readonly Tensor[], cotangents: readonly Tensor[], wrt: readonly Tensor[], grads: Map<number, Tensor>, local = false): Tensor[] {
  const wrtIds = new Set(wrt.filter((t) => t.requiresGrad).map((t) => t.id));
  if (wrtIds.size > 0) {
    // An input always has a smaller id than the tensors made from it, so nothing older than the oldest wrt
    // tensor can lead to one: the search stops there instead of walking the whole history (an unrolled
    // inner loop can hold thousands of nodes).
    const minId = Math.min(...wrtIds);
    const reaches = new Map<number, boolean>(); // tensor id -> depends on some wrt tensor
    const nodes = new Map<number, Node>();
    // Iterative post-order DFS (graphs can be far deeper than the JS stack).
    const stack: Array<{ t: GraphRef; expanded: boolean }> = outputs.filter((o) => o.requiresGrad).map((t) => ({ t: t.ref, expanded: false }));
    while (stack.length) {
      const top = stack[stack.length - 1];
      const t = top.t;
      if (reaches.has(t.id) && !top.expanded) {
        stack.pop();
        continue;
      }
      const node = local && wrtIds.has(t.id) ? null : t.node;
      if (!top.expanded) {
        top.expanded = true;
        if (node && t.id >= minId) {
          for (const inp of node.inputs) if (inp.requiresGrad && inp.id >= minId && !reaches.has(inp.id)) stack.push({ t: inp, expanded: false });
        }
        continue;
      }
      stack.pop();
      // A node is run only when one of its inputs leads to a wrt tensor: a wrt tensor's own maker is not (an
      // inner grad with respect to the outputs of a checkpointed step must not recompute that step).
      let viaInputs = false;
      if (node && t.id >= minId) {
        for (const inp of node.inputs) if (reaches.get(inp.id)) viaInputs = true;
        if (viaInputs) nodes.set(node.id, node);
      }
      reaches.set(t.id, viaInputs || wrtIds.has(t.id));
    }
    outputs.forEach((o, i) => {
      if (reaches.get(o.id)) accumulate(grads, o, cotangents[i]);
    });
    const order = [...nodes.values()].sort((a, b) => b.id - a.id);
    for (const node of order) {
      const gs = node.outputs.map((o) => {
        const g = grads.get(o.id);
        return g ? fullCotangent(g, o) : null;
      });
      if (gs.every((g) => g === null)) continue;
      // Outputs' cotangents are no longer needed once passed on (unless asked for).
      for (const o of node.outputs) if (!wrtIds.has(o.id)) grads.delete(o.id);
      const needs = node.inputs.map((inp) => reaches.get(inp.id) === true);
      if (node.vjpAccumulate) {
        const sums = node.vjpAccumulate(gs, needs, node.inputs.map((inp) => {
          const g = grads.get(inp.id);
          return g ? fullCotangent(g, inp) : null;
        }));
        node.inputs.forEach((inp, i) => {
          const s = sums[i];
          if (needs[i] && s) grads.set(inp.id, s);
        });
        continue;
      }
      const res = node.vjp(gs, needs);
      node.inputs.forEach((inp, i) => {
        const g = res[i];
        if (!needs[i] || !g) return;
        if (!sameShape(g.shape, inp.shape) && !(BROADCAST_COTANGENT.has(node.op) && broadcastsTo(g.shape, inp.shape))) {
          throw new ShapeError(`${node.op} (backward): cotangent of input ${i} has shape ${shapeStr(g.shape)}, expected ${shapeStr(inp.shape)}`);
        }
        accumulate(grads, inp, g);
      });
    }
  }
  return wrt.map((t) => {
    const g = grads.get(t.id);
    return g ? fullCotangent(g, t) : zerosLikeFn!(t);
  });
}

/** Same rank, and every axis equal or 1 in `small`. */
function broadcastsTo(small: readonly number[], shape: readonly number[]): boolean {
  return small.length === shape.length && small.every((d, i) => d === shape[i] || d === 1);
}

function accumulate(grads: Map<number, Tensor>, t: { readonly id: number }, g: Tensor): void {
  const prev = grads.get(t.id);
  grads.set(t.id, prev ? addFn!(prev, g) : g);
}

// ------------------------------------------------------------------------------------ functional API

/** What `grad` differentiates: a tensor, or arrays / records of them (nested). */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree | undefined };

export function treeLeaves(tree: Tree): Tensor[] {
  if (tree instanceof Tensor) return [tree];
  if (Array.isArray(tree)) return (tree as readonly Tree[]).flatMap(treeLeaves);
  return Object.values(tree as { [k: string]: Tree | undefined }).flatMap((v) => (v === undefined ? [] : treeLeaves(v)));
}

/** Rebuilds `tree`'s structure with leaves taken in order from `leaves`. */
export function treeUnflatten<T extends Tree>(tree: T, leaves: readonly Tensor[]): T {
  let i = 0;
  const build = (t: Tree): Tree => {
    if (t instanceof Tensor) return leaves[i++];
    if (Array.isArray(t)) return (t as readonly Tree[]).map(build);
    return Object.fromEntries(Object.entries(t as { [k: string]: Tree | undefined }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, build(v!)]));
  };
  return build(tree) as T;
}

export interface GradOptions {
  /** Keep the backward pass in the graph, for gradients of gradients. Default false. */
  createGraph?: boolean;
}

/**
 * valueAndGrad(f)(x, ...rest) -> [f(x, ...rest), df/dx], where f returns a scalar tensor and x is a Tree
 * (the gradient has the same structure). Tensors of x that already require grad (they sit in an enclosing
 * graph) are differentiated as they are, so with createGraph the result stays connected to that graph.
 */
export function valueAndGrad<X extends Tree, R extends unknown[]>(
  f: (x: X, ...rest: R) => Tensor,
  opts: GradOptions = {},
): (x: X, ...rest: R) => [Tensor, X] {
  return (x: X, ...rest: R) => {
    const outerRecording = recording;
    const { value, grad } = withRecording(true, () => {
      const leaves = treeLeaves(x).map((t) => (t.requiresGrad ? t : leaf(t)));
      const xs = treeUnflatten(x, leaves);
      const value = f(xs, ...rest);
      if (!(value instanceof Tensor) || value.size !== 1) {
        throw new ShapeError(`grad: the function must return a scalar tensor, got ${value instanceof Tensor ? shapeStr(value.shape) : typeof value}`);
      }
      const ones = new Tensor(new Float32Array([1]), value.shape);
      const g = gradients([value], [ones], leaves, { createGraph: opts.createGraph ?? false });
      return { value, grad: treeUnflatten(x, g) };
    });
    // Without createGraph, or under noGrad, the caller wants numbers: drop the graphs so they can be freed.
    if (!opts.createGraph || !outerRecording) return [detach(value), outerRecording ? grad : treeUnflatten(x, treeLeaves(grad).map(detach))];
    return [value, grad];
  };
}

/** grad(f)(x, ...rest) -> df/dx; see valueAndGrad. */
export function grad<X extends Tree, R extends unknown[]>(f: (x: X, ...rest: R) => Tensor, opts: GradOptions = {}): (x: X, ...rest: R) => X {
  const vg = valueAndGrad(f, opts);
  return (x: X, ...rest: R) => vg(x, ...rest)[1];
}

// ------------------------------------------------------------------------------------------ fused ops

/**
 * A vjp obtained by recomputing `composite` (the op written in other ops) on the op's inputs and running its
 * backward pass locally, inputs being the boundary. Fused kernels use it for the order of derivative they have
 * no kernel for: their results are those of the composite's own vjp, to every order.
 */
export function compositeVjp(composite: (...xs: Tensor[]) => Tensor[], inputs: readonly Tensor[], gs: readonly (Tensor | null)[], needs: readonly boolean[]): (Tensor | null)[] {
  // A tensor passed twice gets its whole gradient once (its first position), so that sums are not doubled.
  const wantedAt = inputs.map((x, i) => needs[i] && inputs.indexOf(x) === i);
  const wanted = inputs.filter((_, i) => wantedAt[i]);
  const creates = backwardCreatesGraph;
  const outs = withRecording(true, () => composite(...inputs));
  const live = outs.map((o, i) => ({ o, g: gs[i] })).filter((p): p is { o: Tensor; g: Tensor } => p.g !== null && p.o.requiresGrad);
  const g = withRecording(creates, () => backward(live.map((p) => p.o), live.map((p) => p.g), wanted, new Map(), true));
  let j = 0;
  return inputs.map((_, i) => (wantedAt[i] ? g[j++] : null));
}

// --------------------------------------------------------------------------------------- checkpointing

/**
 * checkpoint(fn)(...xs): the same values as fn(...xs), but the graph keeps only the inputs; the backward
 * pass recomputes fn (kernels are deterministic, so the gradients are exactly those without checkpointing).
 * fn must be a pure function of its inputs (draw random numbers outside it). It may itself call grad with
 * createGraph, as an inner training step does.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor[]): (...xs: Tensor[]) => Tensor[] {
  return (...xs: Tensor[]) => {
    if (!recording || !xs.some((x) => x.requiresGrad)) return fn(...xs);
    if (new Set(xs).size !== xs.length) throw new Error('checkpoint: pass each input tensor once');
    // Forward on detached leaves: fn can differentiate internally, and its graph is dropped on return.
    const outs = withRecording(true, () => fn(...xs.map((x) => (x.requiresGrad ? leaf(x) : x))));
    const results = outs.map(detach);
    // Recompute fn on the original inputs and run its backward pass, continuing the inputs' gradient sums.
    const recompute = (gs: readonly (Tensor | null)[], needs: readonly boolean[], sums: readonly (Tensor | null)[]) => {
      const wanted = xs.filter((_, i) => needs[i]);
      const creates = backwardCreatesGraph;
      const recomputed = withRecording(true, () => fn(...xs));
      const live = recomputed.map((o, i) => ({ o, g: gs[i] })).filter((p): p is { o: Tensor; g: Tensor } => p.g !== null && p.o.requiresGrad);
      const seed = new Map<number, Tensor>();
      xs.forEach((x, i) => {
        const s = sums[i];
        if (needs[i] && s) seed.set(x.id, s);
      });
      const prevCreates = backwardCreatesGraph;
      try {
        const g = withRecording(creates, () => backward(live.map((p) => p.o), live.map((p) => p.g), wanted, seed, true));
        let j = 0;
        return xs.map((_, i) => (needs[i] ? g[j++] : null));
      } finally {
        backwardCreatesGraph = prevCreates;
      }
    };
    return record('checkpoint', xs, results, (gs, needs) => recompute(gs, needs, xs.map(() => null)), recompute);
  };
}
