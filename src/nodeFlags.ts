// V8 flags gtn runs under: bin/gtn.js's first line (`#!/usr/bin/env -S node FLAGS`) and the bench's workers.
//
// --single-threaded-gc: every tensor's storage is an ArrayBuffer, and V8 starts a collection for every 64 MB of
// them, so a meta-step runs ~800 collections. With V8's parallel and concurrent GC threads those compete with
// the native thread pool for the same cores, and the main thread waits on descheduled helpers. Measured on an
// idle 2-core machine (bench/gcPerStep.ts, cpu preset meta-step): 6.10-6.15 s per step with the flag against
// 6.64-6.78 s without (GC pauses 0.82-0.84 s against 1.65-1.72 s); `gtn train`: median 6.47 s per iteration
// against 7.53 s.
// (A larger young generation, --max-semi-space-size=128, was tried too: faster for two steps, slower after.)
export const DEFAULT_NODE_FLAGS = '--single-threaded-gc';
export const NODE_FLAGS = DEFAULT_NODE_FLAGS.split(' ');
