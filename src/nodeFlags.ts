// V8 flags gtn runs under: bin/gtn.js's first line (`#!/usr/bin/env -S node FLAGS`) and the bench's workers.
//
// Every tensor's storage is an ArrayBuffer, and V8 starts a garbage collection for every 64 MB of them; with the
// default 16 MB semi-space the unroll's short-lived tensor objects get promoted to the old generation and each of
// those collections marks the whole graph. A larger young generation lets them die young. Measured on the cpu
// preset's meta-step (README, "Speed"): GC pauses ~20% of the step with Node's defaults; ~14% less wall time.
export const DEFAULT_NODE_FLAGS = '--max-semi-space-size=128 --min-semi-space-size=64';
export const NODE_FLAGS = DEFAULT_NODE_FLAGS.split(' ');
