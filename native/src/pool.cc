#include "pool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#ifdef __linux__
#include <sched.h>
#endif

namespace gtn {
namespace {

int default_threads() {
  const char* env = std::getenv("GTN_THREADS");
  if (env && *env) {
    int n = std::atoi(env);
    if (n >= 1) return n > 256 ? 256 : n;
  }
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c >= 1) return c;
  }
#endif
  unsigned h = std::thread::hardware_concurrency();
  return h >= 1 ? (int)h : 1;
}

thread_local bool tl_in_parallel = false;

struct Pool {
  int nthreads = 1;
  std::vector<std::thread> workers;
  std::mutex m;
  std::condition_variable cv;
  std::atomic<uint64_t> gen{0};
  const std::function<void(int, int)>* job = nullptr;
  int job_nt = 0;
  bool stop = false;

  // Tasks are fixed ranges (static partitioning: the results never depend on who runs a task), but they are
  // claimed dynamically: whichever thread is on a core takes the next unclaimed task, so a worker that the OS
  // has descheduled (a busy machine) does not stall the region. The ticket packs (generation, next task) so
  // that a late worker can never claim a task of a newer region.
  std::atomic<uint64_t> ticket{0};
  std::atomic<int> done{0};

  void run_tasks(uint64_t g, const std::function<void(int, int)>& fn, int nt) {
    for (;;) {
      uint64_t v = ticket.load(std::memory_order_acquire);
      if ((v >> 16) != (g & 0xFFFFFFFFFFFFull)) return;
      int idx = (int)(v & 0xFFFF);
      if (idx >= nt) return;
      if (!ticket.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
      fn(idx, nt);
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void worker(int id, uint64_t seen) {
    tl_in_parallel = true;
    (void)id;
    for (;;) {
      // Spin briefly (low latency for back-to-back kernels), then block.
      for (int i = 0; i < 20000 && gen.load(std::memory_order_acquire) == seen; ++i) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      const std::function<void(int, int)>* j;
      int nt;
      uint64_t g;
      {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return stop || gen.load() != seen; });
        if (stop) return;
        g = seen = gen.load();
        j = job;
        nt = job_nt;
      }
      run_tasks(g, *j, nt);
    }
  }

  void start(int n) {
    nthreads = n < 1 ? 1 : n;
    stop = false;
    uint64_t g0 = gen.load();
    for (int i = 1; i < nthreads; ++i) workers.emplace_back([this, i, g0] { worker(i, g0); });
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(m);
      stop = true;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
  }

  void run(int nt, const std::function<void(int, int)>& fn) {
    uint64_t g;
    {
      std::lock_guard<std::mutex> lk(m);
      job = &fn;
      job_nt = nt;
      done.store(0);
      g = gen.load() + 1;
      ticket.store((g & 0xFFFFFFFFFFFFull) << 16, std::memory_order_release);
      gen.store(g, std::memory_order_release);
    }
    cv.notify_all();
    tl_in_parallel = true;
    run_tasks(g, fn, nt);
    tl_in_parallel = false;
    int spins = 0;
    while (done.load(std::memory_order_acquire) < nt) {
      if (++spins > 100000) std::this_thread::yield();
#if defined(__x86_64__) || defined(__i386__)
      else __builtin_ia32_pause();
#endif
    }
  }
};

Pool* g_pool = nullptr;
int g_threads = 0;
// One parallel region at a time: a second JS thread (worker_threads) that finds the pool busy runs its
// kernel on its own thread instead (same partition-independent results).
std::mutex g_run_mutex;

Pool* pool() {
  if (!g_pool) {
    g_pool = new Pool();  // intentionally leaked: workers die with the process
    g_pool->start(g_threads > 0 ? g_threads : default_threads());
    g_threads = g_pool->nthreads;
  }
  return g_pool;
}

}  // namespace

int num_threads() {
  if (g_threads <= 0) g_threads = default_threads();
  return g_threads;
}

void set_threads(int n) {
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  std::lock_guard<std::mutex> lk(g_run_mutex);
  if (g_pool) {
    if (g_pool->nthreads == n) return;
    g_pool->shutdown();
    g_pool->start(n);
  }
  g_threads = n;
}

bool in_parallel() { return tl_in_parallel; }

void parallel(int max_tasks, const std::function<void(int, int)>& fn) {
  int nt = num_threads();
  if (max_tasks < nt) nt = max_tasks;
  if (nt <= 1 || tl_in_parallel) {
    fn(0, 1);
    return;
  }
  std::unique_lock<std::mutex> lk(g_run_mutex, std::try_to_lock);
  if (!lk.owns_lock()) {
    tl_in_parallel = true;
    fn(0, 1);
    tl_in_parallel = false;
    return;
  }
  pool()->run(nt, fn);
}

void parallel_tasks(int ntasks, const std::function<void(int, int)>& fn) {
  if (ntasks <= 0) return;
  if (ntasks > 65535) ntasks = 65535;
  auto serial = [&] {
    for (int t = 0; t < ntasks; ++t) fn(t, ntasks);
  };
  if (ntasks == 1 || num_threads() <= 1 || tl_in_parallel) {
    serial();
    return;
  }
  std::unique_lock<std::mutex> lk(g_run_mutex, std::try_to_lock);
  if (!lk.owns_lock()) {
    tl_in_parallel = true;
    serial();
    tl_in_parallel = false;
    return;
  }
  pool()->run(ntasks, fn);
}

void parallel_for(int64_t n, int64_t min_parallel, int64_t align, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (n < min_parallel || num_threads() <= 1 || tl_in_parallel) {
    fn(0, n);
    return;
  }
  int64_t units = (n + align - 1) / align;
  int maxt = units > 256 ? 256 : (int)units;
  parallel(maxt, [&](int t, int nt) {
    int64_t b, e;
    split_range(n, t, nt, align, b, e);
    if (b < e) fn(b, e);
  });
}

float* scratch(ScratchSlot slot, size_t n) {
  thread_local std::vector<float> bufs[kScratchSlots];
  std::vector<float>& b = bufs[slot];
  if (b.size() < n) {
    b = std::vector<float>();  // free the old one first: what it held need not be copied
    b.resize(n);
  }
  return b.data();
}

}  // namespace gtn
