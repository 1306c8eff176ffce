// The addon's collection schedule (native/src/addon.cc, "output buffers"): with a budget, kernel outputs leave
// V8's external-memory count and the addon calls the collector it was given once per budget of output bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_GC_BUDGET_MIB,
  gcBudgetMiB,
  loadNativeAddon,
  scheduleNativeCollections,
} from '../../src/tensor/backends/native.js';

const r = loadNativeAddon();
const skip = 'error' in r ? `native addon not built (${r.error})` : false;
const MiB = 1 << 20;
// 1 MiB outputs: unary op 0 on 256 Ki floats
const x = new Float32Array(MiB / 4);

test('GTN_GC_BUDGET_MB: default, numbers, and a clear error for anything else', () => {
  assert.equal(gcBudgetMiB(undefined), DEFAULT_GC_BUDGET_MIB);
  assert.equal(gcBudgetMiB(''), DEFAULT_GC_BUDGET_MIB);
  assert.equal(gcBudgetMiB('0'), 0);
  assert.equal(gcBudgetMiB('64.5'), 64.5);
  for (const bad of ['-1', 'lots', 'NaN', 'Infinity']) {
    assert.throws(() => gcBudgetMiB(bad), /GTN_GC_BUDGET_MB must be a number of MiB >= 0.*got/);
  }
});

test('with a budget the addon calls its collector once per budget of outputs', { skip }, () => {
  if ('error' in r) return;
  let calls = 0;
  try {
    assert.equal(r.addon.setGcBudget(() => void calls++, 4), 4);
    for (let i = 0; i < 40; i++) r.addon.unary(0, x, 0);
    assert.equal(calls, 10);
    assert.equal(r.addon.setGcBudget(null, 0), 0);
    for (let i = 0; i < 40; i++) r.addon.unary(0, x, 0);
    assert.equal(calls, 10, 'budget 0 hands scheduling back to V8');
    assert.throws(() => r.addon.setGcBudget(null, 4), /gtn native setGcBudget: the first argument must be the function/);
    assert.throws(() => r.addon.setGcBudget(null, -1), /gtn native setGcBudget: the budget must be/);
  } finally {
    scheduleNativeCollections();
  }
});

test('V8 schedules full collections for retained outputs without a budget, and none with one', { skip }, async () => {
  if ('error' in r) return;
  let majors = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  // Keeps 256 MiB of outputs alive (a graph growing): V8 starts a full collection per 64 MB of counted growth.
  const grow = async (mib: number) => {
    scheduleNativeCollections(mib);
    await sleep(20);
    majors = 0;
    const kept = Array.from({ length: 256 }, () => r.addon.unary(0, x, 0));
    await sleep(20); // gc entries arrive on a later turn of the event loop
    assert.equal(kept.length, 256);
    return majors;
  };
  try {
    assert.ok((await grow(0)) >= 1, 'V8 collects as counted outputs grow');
    assert.equal(await grow(1e6), 0, 'outputs outside V8\'s count start no collection');
  } finally {
    obs.disconnect();
    scheduleNativeCollections();
  }
});
