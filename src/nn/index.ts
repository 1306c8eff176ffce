// Functional layers over explicit parameter records: models are pure functions f(params, x).
export * from './init.js';
export * from './weightNorm.js';
export * from './linear.js';
export * from './conv.js';
export * from './norm.js';
export * from './pool.js';
export { leakyRelu, relu, tanh, maxPool2d, avgPool2d } from '../tensor/index.js';
