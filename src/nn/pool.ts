// Pooling layers composed from the engine's ops (so their gradients of every order come for free).
import { Tensor, avgPool2d, mul, tensor } from '../tensor/index.js';

const divisors = new Map<string, Tensor>();

/**
 * Average pooling 3x3, stride 1, padding 1 whose divisor counts only the window's positions inside the image
 * (PyTorch's count_include_pad=False, as NAS-Bench-201 uses): the zero-padded average times 9 / count.
 */
export function avgPool3x3ExcludePad(x: Tensor): Tensor {
  const [, , h, w] = x.shape;
  const key = `${h}x${w}`;
  let scale = divisors.get(key);
  if (!scale) {
    const d = new Float32Array(h * w);
    const span = (i: number, n: number) => Math.min(i + 1, n - 1) - Math.max(i - 1, 0) + 1;
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) d[i * w + j] = 9 / (span(i, h) * span(j, w));
    scale = tensor(d, [1, 1, h, w]);
    divisors.set(key, scale);
  }
  return mul(avgPool2d(x, { kernel: 3, stride: 1, padding: 1 }), scale);
}
