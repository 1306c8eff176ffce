// The Tensor: an immutable, contiguous, row-major array with a shape, plus the autodiff bookkeeping that says
// how it was made. Ops live in ops/; this file holds only the data structure and shape helpers.

export type DType = 'float32' | 'int32';
export type TensorData = Float32Array | Int32Array;

/**
 * A tensor's place in the autodiff graph, without its data. Nodes hold these, not tensors, so that the graph
 * keeps alive only the data its vjps captured (PyTorch's saved tensors): an unrolled inner loop's
 * intermediate values that no vjp reads (a convolution's output before pooling, a gradient passed straight
 * through) are freed as soon as the forward code drops them.
 */
export class GraphRef {
  /** Set by the autodiff recorder when the tensor depends on a tensor whose gradient is tracked. */
  requiresGrad = false;
  node: Node | null = null;
  constructor(
    readonly id: number,
    readonly shape: readonly number[],
  ) {}
}

/** How a tensor was made: its inputs and the vector-Jacobian product of the op, written in Tensor ops. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly GraphRef[];
  /**
   * Cotangents of the outputs (null where an output got none) -> cotangents of the inputs. `needs[i]` says
   * whether input i's cotangent is wanted; the vjp may return null for the others.
   */
  readonly vjp: (gs: readonly (Tensor | null)[], needs: readonly boolean[]) => readonly (Tensor | null)[];
  /**
   * Optional form of the vjp that continues the inputs' gradient sums itself: given the sums so far (null
   * where none), it returns the new sums. Gradient checkpointing uses it so that its recomputed backward
   * pass adds contributions in exactly the order of the plain pass (bit-identical gradients).
   */
  readonly vjpAccumulate?: (gs: readonly (Tensor | null)[], needs: readonly boolean[], sums: readonly (Tensor | null)[]) => readonly (Tensor | null)[];
  /** The outputs, in order (most ops have one). Filled in when the outputs are made. */
  outputs: GraphRef[];
  /** Creation order of the node: larger than every input's id. Descending ids are a topological order. */
  readonly id: number;
}

let nextId = 1;
export function freshId(): number {
  return nextId++;
}

export class Tensor {
  /** Creation order; inputs of an op always have smaller ids than its outputs. */
  readonly id: number = freshId();
  /** Made on first use: most tensors made outside recording never need one. */
  private graph: GraphRef | null = null;

  constructor(
    readonly data: TensorData,
    readonly shape: readonly number[],
    readonly dtype: DType = data instanceof Int32Array ? 'int32' : 'float32',
  ) {
    const n = sizeOf(shape);
    if (n !== data.length) {
      throw new ShapeError(`tensor: shape [${shape.join(', ')}] holds ${n} elements but the data has ${data.length}`);
    }
  }

  /** This tensor's node in the autodiff graph (what graph nodes hold instead of the tensor). */
  get ref(): GraphRef {
    return (this.graph ??= new GraphRef(this.id, this.shape));
  }

  /** Whether this tensor depends on a tensor whose gradient is tracked. */
  get requiresGrad(): boolean {
    return this.graph?.requiresGrad ?? false;
  }

  set requiresGrad(on: boolean) {
    if (on || this.graph) this.ref.requiresGrad = on;
  }

  /** The op that made this tensor (null for leaves and constants). */
  get node(): Node | null {
    return this.graph?.node ?? null;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ShapeError(`item: expected a tensor with one element, got shape [${this.shape.join(', ')}]`);
    return this.data[0];
  }

  /** Nested JS arrays (a number for a scalar). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape.join(', ')}]${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export type NestedArray = number | NestedArray[];

/** A shape or type mismatch at an op boundary; the message names the op and the shapes. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Numpy broadcasting of two shapes; throws naming `op` when they do not broadcast. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, naming `op` when it is out of range. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  return a;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${typeof t}`);
    if (t.dtype !== 'float32') throw new ShapeError(`${op}: expected float32 tensors, got ${t.dtype} of shape ${shapeStr(t.shape)}`);
  }
}
