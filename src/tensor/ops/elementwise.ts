// Elementwise ops with numpy broadcasting. Each vjp is written in these same ops so that it can be
// differentiated again; where a vjp needs the op's output it uses the output tensor itself (a graph node),
// never a detached copy, and comparison masks enter as constants.
import type { BinaryOp, UnaryOp } from '../backends/backend.js';
import { record1 } from '../autograd.js';
import { Tensor, assertFloat, broadcastShapes } from '../tensor.js';
import { sumTo } from './shape.js';
import { B, asTensor, f32 } from './util.js';

function unaryKernel(op: UnaryOp, x: Tensor, param?: number): Tensor {
  return new Tensor(B().unary(op, f32(x), param), x.shape);
}

/** A constant (no gradient) computed elementwise from x's values, e.g. a derivative mask. */
function unaryConst(op: UnaryOp, x: Tensor, param?: number): Tensor {
  return unaryKernel(op, x, param);
}

function unary(name: string, op: UnaryOp, x: Tensor, vjp: (g: Tensor, out: Tensor) => Tensor, param?: number): Tensor {
  assertFloat(name, x);
  const out = unaryKernel(op, x, param);
  // The graph keeps only what the vjp reads: the output only if it takes it (a closure over `out` would keep
  // its data alive for as long as the graph lives).
  return record1(name, [x], out, vjp.length > 1 ? vjpWithOutput(vjp, out) : (g) => [vjp(g, g)]);
}

function vjpWithOutput(vjp: (g: Tensor, out: Tensor) => Tensor, out: Tensor): (g: Tensor) => Tensor[] {
  return (g) => [vjp(g, out)];
}

export const neg = (x: Tensor): Tensor => unary('neg', 'neg', x, (g) => neg(g));
export const exp = (x: Tensor): Tensor => unary('exp', 'exp', x, (g, y) => mul(g, y));
export const log = (x: Tensor): Tensor => unary('log', 'log', x, (g) => div(g, x));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', 'sqrt', x, (g, y) => div(g, mulScalar(y, 2)));
export const tanh = (x: Tensor): Tensor => unary('tanh', 'tanh', x, (g, y) => mul(g, addScalar(neg(square(y)), 1)));
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', 'sigmoid', x, (g, y) => mul(g, mul(y, addScalar(neg(y), 1))));
// The derivative is read off the output (y > 0 exactly where x > 0, for any slope >= 0): the graph keeps y,
// which the next layer keeps anyway, and not x.
export const relu = (x: Tensor): Tensor => unary('relu', 'relu', x, (g, y) => leakyReluGrad(y, g, 0));
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor =>
  // (A negative slope flips the sign: then the input is read. Two functions, so that a closure over x in one
  // does not keep x in the other's context.)
  slope >= 0 ? unary('leakyRelu', 'leakyRelu', x, leakyReluVjpFromOutput(slope), slope) : leakyReluFromInput(x, slope);
const leakyReluVjpFromOutput = (slope: number) => (g: Tensor, y: Tensor) => leakyReluGrad(y, g, slope);
const leakyReluFromInput = (x: Tensor, slope: number): Tensor => unary('leakyRelu', 'leakyRelu', x, (g) => leakyReluGrad(x, g, slope), slope);

/**
 * g scaled by leakyRelu's derivative at x (x > 0 ? g : slope * g), one kernel pass and no mask tensor. x enters as a
 * constant (the derivative is piecewise constant in x), and the map is linear in g, so its own vjp is itself.
 */
function leakyReluGrad(x: Tensor, g: Tensor, slope: number): Tensor {
  const shape = broadcastShapes('leakyRelu', x.shape, g.shape);
  const out = new Tensor(B().binary('leakyReluGrad', f32(x), x.shape, f32(g), g.shape, shape, slope), shape);
  const gShape = g.shape; // the vjp needs x's data, not g's
  return record1('leakyReluGrad', [g], out, (gg) => [sumTo(leakyReluGrad(x, gg, slope), gShape)]);
}
export const abs = (x: Tensor): Tensor => unary('abs', 'abs', x, (g) => mul(g, unaryConst('sign', x)));
export const square = (x: Tensor): Tensor => unary('square', 'square', x, (g) => mul(g, mulScalar(x, 2)));
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', 'reciprocal', x, (g, y) => neg(mul(g, square(y))));
export const addScalar = (x: Tensor, c: number): Tensor => unary('addScalar', 'addScalar', x, (g) => g, c);
export const mulScalar = (x: Tensor, c: number): Tensor => unary('mulScalar', 'mulScalar', x, (g) => mulScalar(g, c), c);
/** x ** p for a constant exponent p. */
export const powScalar = (x: Tensor, p: number): Tensor =>
  unary('powScalar', 'powScalar', x, (g) => mul(g, mulScalar(powScalar(x, p - 1), p)), p);

function binaryKernel(op: BinaryOp, a: Tensor, b: Tensor, name: string): Tensor {
  const shape = broadcastShapes(name, a.shape, b.shape);
  return new Tensor(B().binary(op, f32(a), a.shape, f32(b), b.shape, shape), shape);
}

type Operand = Tensor | number;

type BinaryVjp = (g: Tensor, a: Tensor, b: Tensor, out: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];
/** Which of a, b and out a binary vjp reads; the others are not kept by the graph (it holds their shapes). */
type Saves = { a?: boolean; b?: boolean; out?: boolean };
const SAVES_ALL: Saves = { a: true, b: true, out: true };

function binary(name: string, op: BinaryOp, av: Operand, bv: Operand, vjp: BinaryVjp, saves: Saves = SAVES_ALL): Tensor {
  const a = asTensor(name, av);
  const b = asTensor(name, bv);
  const out = binaryKernel(op, a, b, name);
  return record1(name, [a, b], out, binaryVjp(vjp, a.shape, b.shape, saves.a ? a : null, saves.b ? b : null, saves.out ? out : null));
}

// A function of its own so that the closure's context holds only the saved tensors (a closure made in
// `binary` would share a context holding all three). An unsaved tensor reaches the vjp as a data-less stand-in.
function binaryVjp(vjp: BinaryVjp, aShape: readonly number[], bShape: readonly number[], a: Tensor | null, b: Tensor | null, out: Tensor | null) {
  return (g: Tensor, needs: readonly boolean[]): (Tensor | null)[] => {
    const [ga, gb] = vjp(g, a ?? UNSAVED, b ?? UNSAVED, out ?? UNSAVED, needs);
    return [ga && needs[0] ? sumTo(ga, aShape) : null, gb && needs[1] ? sumTo(gb, bShape) : null];
  };
}
const UNSAVED = new Tensor(new Float32Array(0), [0]);

export const add = (a: Operand, b: Operand): Tensor => binary('add', 'add', a, b, (g) => [g, g], {});
// The negation goes after the sum over b's broadcast axes: on b's (often per-channel) shape, not g's.
export const sub = (a: Operand, b: Operand): Tensor => {
  const bShape = typeof b === 'number' ? [] : b.shape;
  return binary('sub', 'sub', a, b, (g, _a, _b, _o, n) => [g, n[1] ? neg(sumTo(g, bShape)) : null], {});
};
export const mul = (a: Operand, b: Operand): Tensor =>
  binary('mul', 'mul', a, b, (g, x, y, _o, n) => [n[0] ? mul(g, y) : null, n[1] ? mul(g, x) : null], { a: true, b: true });
export const div = (a: Operand, b: Operand): Tensor =>
  binary('div', 'div', a, b, (g, _x, y, out, n) => [n[0] ? div(g, y) : null, n[1] ? neg(mul(g, div(out, y))) : null], { b: true, out: true });
export const pow = (a: Operand, b: Operand): Tensor =>
  binary('pow', 'pow', a, b, (g, x, y, out, n) => [
    n[0] ? mul(g, mul(y, pow(x, sub(y, 1)))) : null,
    n[1] ? mul(g, mul(out, log(x))) : null,
  ]);
/** Elementwise maximum; on ties the gradient goes to a. */
export const maximum = (a: Operand, b: Operand): Tensor =>
  binary('maximum', 'maximum', a, b, (g, x, y) => {
    const m = binaryKernel('ge', x, y, 'maximum');
    return [mul(g, m), mul(g, addScalar(neg(m), 1))];
  });
/** Elementwise minimum; on ties the gradient goes to a. */
export const minimum = (a: Operand, b: Operand): Tensor =>
  binary('minimum', 'minimum', a, b, (g, x, y) => {
    const m = binaryKernel('le', x, y, 'minimum');
    return [mul(g, m), mul(g, addScalar(neg(m), 1))];
  });

// Comparisons give 1/0 float tensors and carry no gradient.
const compare = (op: BinaryOp) => (a: Operand, b: Operand): Tensor => binaryKernel(op, asTensor(op, a), asTensor(op, b), op);
export const gt = compare('gt');
export const ge = compare('ge');
export const lt = compare('lt');
export const le = compare('le');
export const eq = compare('eq');

/** cond != 0 ? a : b, broadcasting all three. cond is a constant (no gradient flows into it). */
export function where(cond: Tensor, av: Operand, bv: Operand): Tensor {
  assertFloat('where', cond);
  const a = asTensor('where', av);
  const b = asTensor('where', bv);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const out = new Tensor(B().where(f32(cond), cond.shape, f32(a), a.shape, f32(b), b.shape, shape), shape);
  return record1('where', [a, b], out, whereVjp(cond, a.shape, b.shape));
}

function whereVjp(cond: Tensor, aShape: readonly number[], bShape: readonly number[]) {
  return (g: Tensor, needs: readonly boolean[]) => [
    needs[0] ? sumTo(where(cond, g, 0), aShape) : null,
    needs[1] ? sumTo(where(cond, 0, g), bShape) : null,
  ];
}
