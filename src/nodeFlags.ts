// V8 flags gtn runs under: bin/gtn.js's first line (`#!/usr/bin/env -S node FLAGS`) and the bench's workers.
//
// --single-threaded-gc: every tensor's storage is an ArrayBuffer, and V8 starts a collection for every 64 MB of
// them, so a meta-step runs ~800 collections. With V8's parallel and concurrent GC threads those compete with
// the native thread pool for the same cores, and the main thread waits on descheduled helpers. Measured on an
// idle 2-core machine, cpu preset meta-step over 7 steps: 5.8-6.4 s with the flag against 6.9-7.3 s without
// (GC pauses 0.7-0.8 s against 1.7-2.1 s per step); `gtn train` iterations 5.9-6.4 s against 7.2-7.7 s.
// (A larger young generation, --max-semi-space-size=128, was tried too: faster for two steps, slower after.)
export const DEFAULT_NODE_FLAGS = '--single-threaded-gc';
export const NODE_FLAGS = DEFAULT_NODE_FLAGS.split(' ');
