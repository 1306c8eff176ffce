// Pooling layers over the engine's pooling ops.
import { Tensor, avgPool2d } from '../tensor/index.js';

/**
 * Average pooling 3x3, stride 1, padding 1 whose divisor counts only the window's positions inside the image
 * (PyTorch's count_include_pad=False, as NAS-Bench-201 uses).
 */
export function avgPool3x3ExcludePad(x: Tensor): Tensor {
  return avgPool2d(x, { kernel: 3, stride: 1, padding: 1, countIncludePad: false });
}
