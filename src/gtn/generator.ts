// The GTN generator G(z, y) (shared/reference/GTN.md): noise ++ one-hot label -> WN-Linear -> BN -> LReLU ->
// WN-Linear -> BN -> LReLU -> reshape C x w x w -> upsample x2 -> reflect pad -> WN-Conv3x3 C -> C/2 -> BN ->
// LReLU -> upsample x2 -> reflect pad -> WN-Conv3x3 C/2 -> channels -> tanh -> x2.
import { Rng, Tensor, concat, mulScalar, ones, oneHot, pad, reshape, tanh, upsampleNearest, zeros, leakyRelu } from '../tensor/index.js';
import { batchNorm, conv, initConv, initLinear, linear, type ConvParams, type LinearParams } from '../nn/index.js';
import { GtnError } from '../errors.js';

export interface GeneratorConfig {
  noiseDim: number;
  classes: number;
  /** Width of the first hidden layer (paper: 1024). */
  hidden: number;
  /** Channels of the first feature map (paper: 128); the next conv has half as many. */
  channels: number;
  /** Output image [C, H, W]; H and W must be divisible by 4. */
  imageShape: readonly [number, number, number];
  weightNorm: boolean;
}

export type BnParams = {
  gamma: Tensor;
  beta: Tensor;
};

export type GeneratorParams = {
  fc1: LinearParams;
  bn1: BnParams;
  fc2: LinearParams;
  bn2: BnParams;
  conv1: ConvParams;
  bn3: BnParams;
  conv2: ConvParams;
};

const SLOPE = 0.1;

function bn(n: number): BnParams {
  return { gamma: ones([n]), beta: zeros([n]) };
}

export function initGenerator(cfg: GeneratorConfig, rng: Rng): GeneratorParams {
  const [c, h, w] = cfg.imageShape;
  if (h % 4 !== 0 || w % 4 !== 0) throw new GtnError(`generator: image size ${h}x${w} must be divisible by 4`);
  const half = Math.max(1, Math.floor(cfg.channels / 2));
  const wn = { weightNorm: cfg.weightNorm, slope: SLOPE };
  return {
    fc1: initLinear(cfg.noiseDim + cfg.classes, cfg.hidden, rng.fork('fc1'), wn),
    bn1: bn(cfg.hidden),
    fc2: initLinear(cfg.hidden, (cfg.channels * h * w) / 16, rng.fork('fc2'), wn),
    bn2: bn((cfg.channels * h * w) / 16),
    conv1: initConv(cfg.channels, half, 3, rng.fork('conv1'), { ...wn, bias: false }),
    bn3: bn(half),
    conv2: initConv(half, c, 3, rng.fork('conv2'), { weightNorm: cfg.weightNorm }),
  };
}

/** z [B, noiseDim] and labels (int32 [B] or one-hot/soft [B, classes]) -> images [B, C, H, W]. */
export function generate(cfg: GeneratorConfig, p: GeneratorParams, z: Tensor, labels: Tensor): Tensor {
  const [, h, w] = cfg.imageShape;
  const b = z.shape[0];
  const y = labels.dtype === 'int32' ? oneHot(labels, cfg.classes) : labels;
  let x = concat([z, y], 1);
  x = leakyRelu(batchNorm(linear(p.fc1, x), p.bn1.gamma, p.bn1.beta), SLOPE);
  x = leakyRelu(batchNorm(linear(p.fc2, x), p.bn2.gamma, p.bn2.beta), SLOPE);
  x = reshape(x, [b, cfg.channels, h / 4, w / 4]);
  const reflect1 = [[0, 0], [0, 0], [1, 1], [1, 1]] as const;
  x = pad(upsampleNearest(x, 2), reflect1, 'reflect');
  x = leakyRelu(batchNorm(conv(p.conv1, x), p.bn3.gamma, p.bn3.beta), SLOPE);
  x = pad(upsampleNearest(x, 2), reflect1, 'reflect');
  return mulScalar(tanh(conv(p.conv2, x)), 2);
}
