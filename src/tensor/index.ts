// The public face of the tensor engine.
import { installBackwardOps } from './autograd.js';
import { add } from './ops/elementwise.js';
import { zerosLike } from './ops/creation.js';
import { broadcastTo } from './ops/shape.js';

installBackwardOps(add, zerosLike, broadcastTo);

export { Tensor, ShapeError, sizeOf, type DType, type NestedArray } from './tensor.js';
export { Rng } from './rng.js';
export {
  grad,
  valueAndGrad,
  gradients,
  noGrad,
  isRecording,
  checkpoint,
  detach,
  treeLeaves,
  treeUnflatten,
  type Tree,
  type GradOptions,
} from './autograd.js';
export * from './ops/creation.js';
export * from './ops/elementwise.js';
export * from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/matmul.js';
export * from './ops/conv.js';
export * from './ops/pool.js';
export * from './ops/loss.js';
export * from './ops/norm.js';
export { backend, backendStatus, setBackend, type BackendName } from './backends/registry.js';
