// Persistent thread pool with static partitioning (gtn native backend).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace gtn {

int num_threads();
void set_threads(int n);
bool in_parallel();

// Runs fn(t, nt) for t in [0, nt), nt = min(num_threads(), max_tasks). The calling thread runs t = 0.
// Runs inline (nt = 1) when nested inside another parallel region or when max_tasks <= 1.
void parallel(int max_tasks, const std::function<void(int, int)>& fn);

// Runs fn(task, ntasks) for every task in [0, ntasks) (ntasks may exceed the thread count; at most 65535):
// tasks are claimed dynamically by whichever pool thread is free. Inline and in order when nested.
void parallel_tasks(int ntasks, const std::function<void(int, int)>& fn);

// fn(i) for every i in [0, n): as pool tasks (one per index, strided past 65535) claimed by whichever thread is
// free when `threaded`, n >= 2 and the pool has more than one thread; else in order on this thread. The kernels'
// per-image loops: each image is computed the same way whoever runs it.
template <typename Fn>
void for_each_index(int64_t n, bool threaded, const Fn& fn) {
  if (threaded && n >= 2 && num_threads() > 1)
    parallel_tasks((int)std::min<int64_t>(n, 65535), [&](int t, int nt) {
      for (int64_t i = t; i < n; i += nt) fn(i);
    });
  else
    for (int64_t i = 0; i < n; ++i) fn(i);
}

// Static partition of [0, n) into nt parts, boundaries on multiples of `align` (the last part takes the rest).
inline void split_range(int64_t n, int t, int nt, int64_t align, int64_t& b, int64_t& e) {
  int64_t units = (n + align - 1) / align;
  int64_t per = units / nt, rem = units % nt;
  int64_t ub = t * per + (t < rem ? t : rem);
  int64_t ue = ub + per + (t < rem ? 1 : 0);
  b = ub * align;
  e = ue * align;
  if (b > n) b = n;
  if (e > n) e = n;
}

// Convenience: parallel loop over [0, n) with static chunks aligned to `align`; runs single-threaded when
// n < min_parallel. fn(begin, end).
void parallel_for(int64_t n, int64_t min_parallel, int64_t align, const std::function<void(int64_t, int64_t)>& fn);

// Scratch memory of the calling thread: at least n floats in `slot`, uninitialised, kept from call to call (a
// fresh std::vector per call cost a memset and, as glibc returned freed memory to the kernel, page faults on the
// next: 10% of the full-depth proxy's page faults, 2026-12-07). Slots a thread holds at once must differ:
// kScratchBatch and kScratchBatch2 hold a whole batch's framed copies (the weight gradients, on the calling
// thread); kScratchImage one image's or plane's working copy (framed images, im2col columns, box filter sums).
enum ScratchSlot { kScratchBatch, kScratchBatch2, kScratchImage, kScratchSlots };
float* scratch(ScratchSlot slot, size_t n);

}  // namespace gtn
