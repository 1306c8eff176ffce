// N-API bindings of the gtn native backend. Inputs are taken zero-copy from the JS typed arrays; outputs are
// fresh ArrayBuffers (zero-filled by V8) written in place. Shapes arrive as JS number arrays.
#include <node_api.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstring>
#include <string>
#include <vector>

#include "conv.h"
#include "blocked_conv.h"
#include "gemm.h"
#include "norm.h"
#include "ops.h"
#include "pool.h"

using namespace gtn;

namespace {

struct ArgError {
  std::string msg;
};

#define NAPI_OK(call)                                          \
  do {                                                         \
    if ((call) != napi_ok) throw ArgError{"N-API call failed: " #call}; \
  } while (0)

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  const char* fname;
  Args(napi_env e, napi_callback_info info, const char* name) : env(e), fname(name) {
    NAPI_OK(napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr));
  }
  [[noreturn]] void fail(const std::string& m) const { throw ArgError{std::string("gtn native ") + fname + ": " + m}; }
  napi_value at(size_t i) const {
    if (i >= argc) fail("missing argument " + std::to_string(i));
    return argv[i];
  }
  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, int64_t* len) const {
    bool is = false;
    NAPI_OK(napi_is_typedarray(env, at(i), &is));
    if (!is) fail("argument " + std::to_string(i) + " must be a typed array");
    napi_typedarray_type t;
    size_t n;
    void* data;
    napi_value ab;
    size_t off;
    NAPI_OK(napi_get_typedarray_info(env, argv[i], &t, &n, &data, &ab, &off));
    if (t != want)
      fail("argument " + std::to_string(i) + (want == napi_float32_array ? " must be a Float32Array" : " must be an Int32Array"));
    *len = (int64_t)n;
    return (T*)data;
  }
  const float* f32(size_t i, int64_t* len) const { return typed<float>(i, napi_float32_array, len); }
  const int32_t* i32(size_t i, int64_t* len) const { return typed<int32_t>(i, napi_int32_array, len); }
  double num(size_t i) const {
    double v;
    if (napi_get_value_double(env, at(i), &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  int64_t integer(size_t i) const {
    double v = num(i);
    if (!(v == std::floor(v)) || std::fabs(v) > 9e15) fail("argument " + std::to_string(i) + " must be an integer");
    return (int64_t)v;
  }
  bool boolean(size_t i) const {
    bool b;
    if (napi_get_value_bool(env, at(i), &b) != napi_ok) fail("argument " + std::to_string(i) + " must be a boolean");
    return b;
  }
  Dims ints(napi_value v, const std::string& what) const {
    bool isArr = false;
    NAPI_OK(napi_is_array(env, v, &isArr));
    if (!isArr) fail(what + " must be an array");
    uint32_t n;
    NAPI_OK(napi_get_array_length(env, v, &n));
    Dims d(n);
    for (uint32_t k = 0; k < n; ++k) {
      napi_value e;
      NAPI_OK(napi_get_element(env, v, k, &e));
      double x;
      if (napi_get_value_double(env, e, &x) != napi_ok || x != std::floor(x) || x < -9e15 || x > 9e15)
        fail(what + " must hold integers");
      d[k] = (int64_t)x;
    }
    return d;
  }
  Dims ints(size_t i, const std::string& what) const { return ints(at(i), what); }
  Dims shape(size_t i, const std::string& what) const {
    Dims d = ints(i, what);
    if (d.size() > 16) fail(what + " has more than 16 axes");
    for (int64_t v : d)
      if (v < 0) fail(what + " has a negative dimension");
    return d;
  }
};

int64_t prod(const Dims& d) {
  int64_t p = 1;
  for (int64_t v : d) p *= v;
  return p;
}

std::string dstr(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

// ---------------------------------------------------------------- output buffers
// Outputs of 64 KiB and more come from a recycling pool of aligned blocks handed to JS as external
// ArrayBuffers; when V8 collects one, its block goes back to the pool. Fresh memory costs a page fault per
// 4 KiB page on first touch (measured here: ~40 ms to allocate and fill 12.8 MB from JS), recycled memory
// none; blocks of 2 MiB and more are also advised as transparent huge pages. The pool keeps at most
// GTN_POOL_MB (default 1024) MiB of idle blocks. V8 is told about the memory (napi_adjust_external_memory)
// so that its GC runs under the same pressure as with ordinary ArrayBuffers.
struct BufPool {
  std::mutex m;
  std::map<size_t, std::vector<void*>> idle;
  size_t cached = 0;
  size_t cap = 0;
  std::atomic<int64_t> released{0};  // bytes given back by finalizers, not yet reported to V8
};
BufPool& bufpool() {
  static BufPool* p = [] {
    BufPool* b = new BufPool();
    const char* env = std::getenv("GTN_POOL_MB");
    long mb = env && *env ? std::atol(env) : 1024;
    b->cap = (size_t)(mb < 0 ? 0 : mb) << 20;
    return b;
  }();
  return *p;
}
constexpr size_t kPoolMin = 64 << 10;
constexpr size_t kHuge = 2 << 20;
size_t bucket_of(size_t bytes) {
  size_t p = kPoolMin;
  while (p < bytes) p <<= 1;
  // quarter steps between powers of two: p/2 + k*p/8 ... keep waste under 25%
  size_t half = p >> 1, step = p >> 3;
  if (half >= kPoolMin)
    for (size_t b = half + step; b < p; b += step)
      if (b >= bytes) return b;
  return p;
}
void* pool_get(size_t bucket) {
  BufPool& P = bufpool();
  {
    std::lock_guard<std::mutex> lk(P.m);
    auto it = P.idle.find(bucket);
    if (it != P.idle.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      P.cached -= bucket;
      return p;
    }
  }
  size_t align = bucket >= kHuge ? kHuge : 64;
  void* p = std::aligned_alloc(align, (bucket + align - 1) / align * align);
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  static const bool thp = [] {
    const char* e = std::getenv("GTN_THP");
    return e && *e == '1';
  }();
  if (thp && bucket >= kHuge) madvise(p, bucket / kHuge * kHuge, MADV_HUGEPAGE);
#endif
  return p;
}
void pool_put(void* p, size_t bucket) {
  BufPool& P = bufpool();
  P.released.fetch_add((int64_t)bucket);
  {
    std::lock_guard<std::mutex> lk(P.m);
    if (P.cached + bucket <= P.cap) {
      P.idle[bucket].push_back(p);
      P.cached += bucket;
      return;
    }
  }
  std::free(p);
}
void pool_finalize(node_api_basic_env, void* data, void* hint) { pool_put(data, (size_t)hint); }

bool use_external_pool() {
  static const bool on = [] {
    const char* e = std::getenv("GTN_EXTERNAL_POOL");
    return e && *e == '1';
  }();
  return on;
}

void* new_buffer(napi_env env, size_t bytes, bool zero, napi_value* ab) {
  void* p = nullptr;
  if (bytes >= kPoolMin && use_external_pool()) {
    size_t bucket = bucket_of(bytes);
    p = pool_get(bucket);
    napi_status st = napi_create_external_arraybuffer(env, p, bytes, pool_finalize, (void*)bucket, ab);
    if (st == napi_ok) {
      int64_t rel = bufpool().released.exchange(0);
      int64_t ignored;
      napi_adjust_external_memory(env, (int64_t)bucket - rel, &ignored);
      if (zero) std::memset(p, 0, bytes);
      return p;
    }
    pool_put(p, bucket);  // external buffers not allowed here: fall back to V8 memory
    bufpool().released.fetch_sub((int64_t)bucket);
  }
  NAPI_OK(napi_create_arraybuffer(env, bytes, &p, ab));  // zero-filled by V8
  return p;
}

napi_value new_f32(napi_env env, int64_t n, float** data, bool zero = true) {
  napi_value ab, ta;
  *data = (float*)new_buffer(env, (size_t)n * sizeof(float), zero, &ab);
  NAPI_OK(napi_create_typedarray(env, napi_float32_array, (size_t)n, ab, 0, &ta));
  return ta;
}
napi_value new_i32(napi_env env, int64_t n, int32_t** data, bool zero = true) {
  napi_value ab, ta;
  *data = (int32_t*)new_buffer(env, (size_t)n * sizeof(int32_t), zero, &ab);
  NAPI_OK(napi_create_typedarray(env, napi_int32_array, (size_t)n, ab, 0, &ta));
  return ta;
}

void check_len(const Args& a, int64_t len, const Dims& shape, const char* what) {
  if (len != prod(shape))
    a.fail(std::string(what) + " has " + std::to_string(len) + " elements but its shape " + dstr(shape) + " needs " +
           std::to_string(prod(shape)));
}

template <typename F>
napi_value guard(napi_env env, F f) {
  try {
    return f();
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, e.msg.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "gtn native: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// ---------------------------------------------------------------- kernels
napi_value Unary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "unary");
    int64_t op = a.integer(0), n;
    const float* x = a.f32(1, &n);
    double p = a.argc > 2 ? a.num(2) : 0.0;
    if (op < 0 || op >= U_COUNT) a.fail("unknown op code");
    float* o;
    napi_value r = new_f32(env, n, &o, false);
    unary((int)op, x, o, n, (float)p);
    return r;
  });
}

bool broadcastable(const Dims& s, const Dims& out) {
  if (s.size() > out.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t a = s[s.size() - 1 - i], b = out[out.size() - 1 - i];
    if (a != b && a != 1) return false;
  }
  return true;
}

napi_value Binary(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "binary");
    int64_t op = a.integer(0), na, nb;
    const float* x = a.f32(1, &na);
    Dims as = a.shape(2, "aShape");
    const float* y = a.f32(3, &nb);
    Dims bs = a.shape(4, "bShape");
    Dims os = a.shape(5, "outShape");
    if (op < 0 || op >= B_COUNT) a.fail("unknown op code");
    check_len(a, na, as, "a");
    check_len(a, nb, bs, "b");
    if (!broadcastable(as, os) || !broadcastable(bs, os))
      a.fail("shapes " + dstr(as) + " and " + dstr(bs) + " do not broadcast to " + dstr(os));
    float* o;
    napi_value r = new_f32(env, prod(os), &o, false);
    if (prod(os) > 0) binary((int)op, x, as, y, bs, o, os);
    return r;
  });
}

napi_value Where(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "where");
    int64_t nc, na, nb;
    const float* c = a.f32(0, &nc);
    Dims cs = a.shape(1, "condShape");
    const float* x = a.f32(2, &na);
    Dims as = a.shape(3, "aShape");
    const float* y = a.f32(4, &nb);
    Dims bs = a.shape(5, "bShape");
    Dims os = a.shape(6, "outShape");
    check_len(a, nc, cs, "cond");
    check_len(a, na, as, "a");
    check_len(a, nb, bs, "b");
    if (!broadcastable(cs, os) || !broadcastable(as, os) || !broadcastable(bs, os))
      a.fail("shapes do not broadcast to " + dstr(os));
    float* o;
    napi_value r = new_f32(env, prod(os), &o, false);
    if (prod(os) > 0) where(c, cs, x, as, y, bs, o, os);
    return r;
  });
}

napi_value Reduce(napi_env env, napi_callback_info info, bool isMax) {
  return guard(env, [&] {
    Args a(env, info, isMax ? "reduceMax" : "reduceSum");
    int64_t n;
    const float* x = a.f32(0, &n);
    Dims s = a.shape(1, "shape");
    Dims axes = a.ints(2, "axes");
    check_len(a, n, s, "x");
    std::vector<bool> red(s.size(), false);
    for (int64_t ax : axes) {
      if (ax < 0 || ax >= (int64_t)s.size()) a.fail("axis out of range");
      red[ax] = true;
    }
    int64_t kept = 1;
    for (size_t i = 0; i < s.size(); ++i)
      if (!red[i]) kept *= s[i];
    float* o;
    napi_value r = new_f32(env, kept, &o, false);
    if (kept > 0) reduce(isMax, x, s, red, o);
    return r;
  });
}
napi_value ReduceSum(napi_env env, napi_callback_info info) { return Reduce(env, info, false); }
napi_value ReduceMax(napi_env env, napi_callback_info info) { return Reduce(env, info, true); }

napi_value ArgMax(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "argMax");
    int64_t n;
    const float* x = a.f32(0, &n);
    Dims s = a.shape(1, "shape");
    int64_t axis = a.integer(2);
    check_len(a, n, s, "x");
    if (axis < 0 || axis >= (int64_t)s.size()) a.fail("axis out of range");
    int32_t* o;
    napi_value r = new_i32(env, s[axis] ? n / s[axis] : 0, &o, false);
    if (n > 0) argmax(x, s, (int)axis, o);
    return r;
  });
}

napi_value Matmul(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "matmul");
    int64_t na, nb;
    const float* x = a.f32(0, &na);
    const float* y = a.f32(1, &nb);
    int64_t batch = a.integer(2), m = a.integer(3), k = a.integer(4), n = a.integer(5);
    bool tA = a.boolean(6), tB = a.boolean(7);
    int64_t sa = a.integer(8), sb = a.integer(9);
    if (batch < 0 || m < 0 || k < 0 || n < 0 || sa < 0 || sb < 0) a.fail("negative size");
    if (batch > 0 && (sa * (batch - 1) + m * k > na || sb * (batch - 1) + k * n > nb))
      a.fail("inputs too short for batch " + std::to_string(batch) + " of " + std::to_string(m) + "x" +
             std::to_string(k) + " @ " + std::to_string(k) + "x" + std::to_string(n));
    float* o;
    napi_value r = new_f32(env, batch * m * n, &o, false);
    matmul_batched(x, y, o, batch, m, k, n, tA, tB, sa, sb);
    return r;
  });
}

napi_value Permute(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "permute");
    int64_t n;
    const float* x = a.f32(0, &n);
    Dims s = a.shape(1, "shape");
    Dims p = a.ints(2, "perm");
    check_len(a, n, s, "x");
    if (p.size() != s.size()) a.fail("perm rank differs from shape rank");
    std::vector<bool> seen(s.size(), false);
    for (int64_t v : p) {
      if (v < 0 || v >= (int64_t)s.size() || seen[v]) a.fail("perm is not a permutation");
      seen[v] = true;
    }
    float* o;
    napi_value r = new_f32(env, n, &o, false);
    permute(x, s, p, o);
    return r;
  });
}

napi_value Slice(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "slice");
    int64_t n;
    const float* x = a.f32(0, &n);
    Dims s = a.shape(1, "shape");
    Dims b = a.ints(2, "begin");
    Dims z = a.shape(3, "size");
    check_len(a, n, s, "x");
    if (b.size() != s.size() || z.size() != s.size()) a.fail("begin/size rank differs from shape rank");
    for (size_t i = 0; i < s.size(); ++i)
      if (b[i] < 0 || b[i] + z[i] > s[i]) a.fail("slice out of bounds on axis " + std::to_string(i));
    float* o;
    napi_value r = new_f32(env, prod(z), &o, false);
    slice(x, s, b, z, o);
    return r;
  });
}

napi_value PadZero(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "padZero");
    int64_t n;
    const float* x = a.f32(0, &n);
    Dims s = a.shape(1, "shape");
    Dims b = a.shape(2, "before");
    Dims e = a.shape(3, "after");
    check_len(a, n, s, "x");
    if (b.size() != s.size() || e.size() != s.size()) a.fail("before/after rank differs from shape rank");
    Dims os(s.size());
    for (size_t i = 0; i < s.size(); ++i) os[i] = s[i] + b[i] + e[i];
    float* o;
    napi_value r = new_f32(env, prod(os), &o);
    pad_zero(x, s, b, e, o);
    return r;
  });
}

napi_value Concat(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "concat");
    napi_value xsv = a.at(0), ssv = a.at(1);
    int64_t axis = a.integer(2);
    uint32_t nx, ns;
    bool isArr = false;
    NAPI_OK(napi_is_array(env, xsv, &isArr));
    if (!isArr) a.fail("xs must be an array");
    NAPI_OK(napi_is_array(env, ssv, &isArr));
    if (!isArr) a.fail("shapes must be an array");
    NAPI_OK(napi_get_array_length(env, xsv, &nx));
    NAPI_OK(napi_get_array_length(env, ssv, &ns));
    if (nx != ns || nx == 0) a.fail("xs and shapes must be non-empty and of equal length");
    std::vector<const float*> xs(nx);
    std::vector<Dims> shapes(nx);
    for (uint32_t i = 0; i < nx; ++i) {
      napi_value xv, sv;
      NAPI_OK(napi_get_element(env, xsv, i, &xv));
      NAPI_OK(napi_get_element(env, ssv, i, &sv));
      bool is = false;
      NAPI_OK(napi_is_typedarray(env, xv, &is));
      if (!is) a.fail("xs must hold Float32Arrays");
      napi_typedarray_type t;
      size_t len, off;
      void* data;
      napi_value ab;
      NAPI_OK(napi_get_typedarray_info(env, xv, &t, &len, &data, &ab, &off));
      if (t != napi_float32_array) a.fail("xs must hold Float32Arrays");
      shapes[i] = a.ints(sv, "shape");
      check_len(a, (int64_t)len, shapes[i], "input");
      xs[i] = (const float*)data;
      if (shapes[i].size() != shapes[0].size()) a.fail("ranks differ");
    }
    int64_t r = (int64_t)shapes[0].size();
    if (axis < 0 || axis >= r) a.fail("axis out of range");
    Dims os = shapes[0];
    os[axis] = 0;
    for (auto& s : shapes) {
      for (int64_t i = 0; i < r; ++i)
        if (i != axis && s[i] != shapes[0][i]) a.fail("shapes differ off the concat axis");
      os[axis] += s[axis];
    }
    float* o;
    napi_value res = new_f32(env, prod(os), &o, false);
    if (prod(os) > 0) concat(xs, shapes, (int)axis, o);
    return res;
  });
}

napi_value Gather(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "gather");
    int64_t n, ni;
    const float* x = a.f32(0, &n);
    const int32_t* idx = a.i32(1, &ni);
    for (int64_t i = 0; i < ni; ++i)
      if (idx[i] < 0 || idx[i] >= n) a.fail("index " + std::to_string(idx[i]) + " out of range [0, " + std::to_string(n) + ")");
    float* o;
    napi_value r = new_f32(env, ni, &o, false);
    gather(x, idx, ni, o);
    return r;
  });
}

napi_value ScatterAdd(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "scatterAdd");
    int64_t n, ni;
    const float* g = a.f32(0, &n);
    const int32_t* idx = a.i32(1, &ni);
    int64_t size = a.integer(2);
    if (ni != n) a.fail("g and idx differ in length");
    if (size < 0) a.fail("negative size");
    for (int64_t i = 0; i < ni; ++i)
      if (idx[i] < 0 || idx[i] >= size) a.fail("index " + std::to_string(idx[i]) + " out of range [0, " + std::to_string(size) + ")");
    float* o;
    napi_value r = new_f32(env, size, &o);
    scatter_add(g, idx, n, o);
    return r;
  });
}

// conv args: (..., stride[2], pad[4], groups)
ConvGeom conv_geom(const Args& a, const Dims& xs, const Dims& ws, size_t iStride) {
  Dims st = a.ints(iStride, "stride"), pd = a.ints(iStride + 1, "pad");
  int64_t G = a.integer(iStride + 2);
  if (xs.size() != 4 || ws.size() != 4) a.fail("x and w must be 4-D");
  if (st.size() != 2 || pd.size() != 4) a.fail("stride must have 2 entries and pad 4");
  if (st[0] < 1 || st[1] < 1 || pd[0] < 0 || pd[1] < 0 || pd[2] < 0 || pd[3] < 0) a.fail("bad stride/pad");
  ConvGeom g{xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], st[0], st[1], pd[0], pd[1], pd[2], pd[3], G, 0, 0};
  if (G < 1 || g.C % G || g.O % G || ws[1] != g.C / G)
    a.fail("groups " + std::to_string(G) + " do not fit x " + dstr(xs) + " and w " + dstr(ws));
  if (g.kh < 1 || g.kw < 1) a.fail("empty kernel");
  g.Ho = (g.H + g.pt + g.pb - g.kh) / g.sh + 1;
  g.Wo = (g.W + g.pl + g.pr - g.kw) / g.sw + 1;
  if (g.H + g.pt + g.pb < g.kh || g.W + g.pl + g.pr < g.kw) a.fail("kernel larger than padded input");
  return g;
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "conv2d");
    int64_t nx, nw;
    const float* x = a.f32(0, &nx);
    Dims xs = a.shape(1, "xShape");
    const float* w = a.f32(2, &nw);
    Dims ws = a.shape(3, "wShape");
    check_len(a, nx, xs, "x");
    check_len(a, nw, ws, "w");
    ConvGeom g = conv_geom(a, xs, ws, 4);
    float* o;
    napi_value r = new_f32(env, g.N * g.O * g.Ho * g.Wo, &o, false);
    if (g.N * g.O * g.Ho * g.Wo > 0) conv2d_forward(x, w, o, g);
    return r;
  });
}

napi_value Conv2dBackwardInput(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "conv2dBackwardInput");
    int64_t ng, nw;
    const float* gy = a.f32(0, &ng);
    Dims gs = a.shape(1, "gShape");
    const float* w = a.f32(2, &nw);
    Dims ws = a.shape(3, "wShape");
    Dims xs = a.shape(4, "xShape");
    check_len(a, ng, gs, "g");
    check_len(a, nw, ws, "w");
    ConvGeom g = conv_geom(a, xs, ws, 5);
    if (gs != Dims{g.N, g.O, g.Ho, g.Wo}) a.fail("gShape " + dstr(gs) + " does not match the conv output");
    float* o;
    napi_value r = new_f32(env, prod(xs), &o);
    if (prod(xs) > 0) conv2d_backward_input(gy, w, o, g);
    return r;
  });
}

napi_value Conv2dBackwardWeight(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "conv2dBackwardWeight");
    int64_t nx, ng;
    const float* x = a.f32(0, &nx);
    Dims xs = a.shape(1, "xShape");
    const float* gy = a.f32(2, &ng);
    Dims gs = a.shape(3, "gShape");
    Dims ws = a.shape(4, "wShape");
    check_len(a, nx, xs, "x");
    check_len(a, ng, gs, "g");
    ConvGeom g = conv_geom(a, xs, ws, 5);
    if (gs != Dims{g.N, g.O, g.Ho, g.Wo}) a.fail("gShape " + dstr(gs) + " does not match the conv output");
    float* o;
    napi_value r = new_f32(env, prod(ws), &o);
    if (prod(ws) > 0) conv2d_backward_weight(x, gy, o, g);
    return r;
  });
}

// pool args: (..., kernel[2], stride[2], pad[4])
PoolGeom pool_geom(const Args& a, const Dims& xs, size_t i) {
  Dims k = a.ints(i, "kernel"), st = a.ints(i + 1, "stride"), pd = a.ints(i + 2, "pad");
  if (xs.size() != 4) a.fail("x must be 4-D");
  if (k.size() != 2 || st.size() != 2 || pd.size() != 4) a.fail("kernel/stride need 2 entries, pad 4");
  if (k[0] < 1 || k[1] < 1 || st[0] < 1 || st[1] < 1 || pd[0] < 0 || pd[1] < 0 || pd[2] < 0 || pd[3] < 0)
    a.fail("bad window");
  PoolGeom p{xs[0], xs[1], xs[2], xs[3], k[0], k[1], st[0], st[1], pd[0], pd[1], pd[2], pd[3], 0, 0};
  if (p.H + p.pt + p.pb < p.kh || p.W + p.pl + p.pr < p.kw) a.fail("window larger than padded input");
  p.Ho = (p.H + p.pt + p.pb - p.kh) / p.sh + 1;
  p.Wo = (p.W + p.pl + p.pr - p.kw) / p.sw + 1;
  return p;
}

napi_value MaxPool2d(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "maxPool2d");
    int64_t nx;
    const float* x = a.f32(0, &nx);
    Dims xs = a.shape(1, "xShape");
    check_len(a, nx, xs, "x");
    PoolGeom p = pool_geom(a, xs, 2);
    int64_t no = p.N * p.C * p.Ho * p.Wo;
    float* o;
    int32_t* am;
    napi_value ro = new_f32(env, no, &o, false), ra = new_i32(env, no, &am, false), arr;
    if (no > 0) maxpool2d(x, o, am, p);
    NAPI_OK(napi_create_array_with_length(env, 2, &arr));
    NAPI_OK(napi_set_element(env, arr, 0, ro));
    NAPI_OK(napi_set_element(env, arr, 1, ra));
    return arr;
  });
}

napi_value AvgPool2d(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "avgPool2d");
    int64_t nx;
    const float* x = a.f32(0, &nx);
    Dims xs = a.shape(1, "xShape");
    check_len(a, nx, xs, "x");
    PoolGeom p = pool_geom(a, xs, 2);
    int64_t no = p.N * p.C * p.Ho * p.Wo;
    float* o;
    napi_value r = new_f32(env, no, &o, false);
    if (no > 0) avgpool2d(x, o, p);
    return r;
  });
}

napi_value AvgPool2dBackward(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "avgPool2dBackward");
    int64_t ng;
    const float* gy = a.f32(0, &ng);
    Dims gs = a.shape(1, "gShape");
    Dims xs = a.shape(2, "xShape");
    check_len(a, ng, gs, "g");
    PoolGeom p = pool_geom(a, xs, 3);
    if (gs != Dims{p.N, p.C, p.Ho, p.Wo}) a.fail("gShape " + dstr(gs) + " does not match the pooled output");
    float* o;
    napi_value r = new_f32(env, prod(xs), &o);
    if (prod(xs) > 0) avgpool2d_backward(gy, o, p);
    return r;
  });
}

// ---------------------------------------------------------------- batch norm
// x viewed as [N, C, S]; gamma, beta, mean, var are [C].
struct BnGeom {
  int64_t N, C, S;
};
BnGeom bn_geom(const Args& a, size_t i, int64_t nx) {
  Dims d = a.shape(i, "xShape");
  if (d.size() < 2) a.fail("xShape must have at least 2 axes, got " + dstr(d));
  check_len(a, nx, d, "x");
  int64_t S = 1;
  for (size_t k = 2; k < d.size(); ++k) S *= d[k];
  return {d[0], d[1], S};
}
const float* per_channel(const Args& a, size_t i, int64_t C, const char* what, bool optional = false) {
  napi_valuetype t;
  NAPI_OK(napi_typeof(a.env, a.at(i), &t));
  if (optional && (t == napi_null || t == napi_undefined)) return nullptr;
  int64_t n;
  const float* p = a.f32(i, &n);
  if (n != C) a.fail(std::string(what) + " must hold one value per channel (" + std::to_string(C) + "), got " + std::to_string(n));
  return p;
}

napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNorm");
    int64_t nx;
    const float* x = a.f32(0, &nx);
    BnGeom g = bn_geom(a, 1, nx);
    const float* gamma = per_channel(a, 2, g.C, "gamma");
    const float* beta = per_channel(a, 3, g.C, "beta");
    float eps = (float)a.num(4);
    float *y, *mean, *var;
    napi_value ry = new_f32(env, nx, &y, false), rm = new_f32(env, g.C, &mean, false), rv = new_f32(env, g.C, &var, false), arr;
    if (nx > 0) batchnorm_forward(x, g.N, g.C, g.S, gamma, beta, eps, y, mean, var);
    NAPI_OK(napi_create_array_with_length(env, 3, &arr));
    NAPI_OK(napi_set_element(env, arr, 0, ry));
    NAPI_OK(napi_set_element(env, arr, 1, rm));
    NAPI_OK(napi_set_element(env, arr, 2, rv));
    return arr;
  });
}

napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "batchNormBackward");
    int64_t nx;
    const float* x = a.f32(0, &nx);
    BnGeom g = bn_geom(a, 1, nx);
    const float* gamma = per_channel(a, 2, g.C, "gamma");
    const float* mean = per_channel(a, 3, g.C, "mean");
    const float* var = per_channel(a, 4, g.C, "variance");
    float eps = (float)a.num(5);
    napi_valuetype t;
    NAPI_OK(napi_typeof(env, a.at(6), &t));
    const float* gy = nullptr;
    if (t != napi_null && t != napi_undefined) {
      int64_t ng;
      gy = a.f32(6, &ng);
      if (ng != nx) a.fail("gy must have the shape of x");
    }
    const float* gmean = per_channel(a, 7, g.C, "gmean", true);
    const float* gvar = per_channel(a, 8, g.C, "gvar", true);
    float *dx, *dgamma, *dbeta;
    napi_value rx = new_f32(env, nx, &dx, false), rg = new_f32(env, g.C, &dgamma, false), rb = new_f32(env, g.C, &dbeta, false), arr;
    if (nx > 0) batchnorm_backward(x, g.N, g.C, g.S, gamma, mean, var, eps, gy, gmean, gvar, dx, dgamma, dbeta);
    NAPI_OK(napi_create_array_with_length(env, 3, &arr));
    NAPI_OK(napi_set_element(env, arr, 0, rx));
    NAPI_OK(napi_set_element(env, arr, 1, rg));
    NAPI_OK(napi_set_element(env, arr, 2, rb));
    return arr;
  });
}

// ---------------------------------------------------------------- configuration / measurement
napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "setThreads");
    set_threads((int)a.integer(0));
    napi_value r;
    NAPI_OK(napi_create_int32(env, num_threads(), &r));
    return r;
  });
}
napi_value SetBlockedConv(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "setBlockedConv");
    set_blocked_conv(a.boolean(0));
    napi_value r;
    NAPI_OK(napi_get_boolean(env, blocked_conv_enabled(), &r));
    return r;
  });
}
napi_value GetThreads(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, num_threads(), &r);
  return r;
}
napi_value SimdPath(napi_env env, napi_callback_info) {
  napi_value r;
  const char* s = simd_path();
  napi_create_string_utf8(env, s, std::strlen(s), &r);
  return r;
}
napi_value ForceSimdPath(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "forceSimdPath");
    const char* s = force_simd_path((int)a.integer(0));
    napi_value r;
    NAPI_OK(napi_create_string_utf8(env, s, std::strlen(s), &r));
    return r;
  });
}
napi_value SimdLanes(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_int32(env, simd_lanes(), &r);
  return r;
}
// measurePeak(seconds): runs the FMA loop on every pool thread at once; returns
// [clockHz, FMA FLOP/s of the slowest thread, summed over threads, threads, of the fastest thread]
napi_value MeasurePeak(napi_env env, napi_callback_info info) {
  return guard(env, [&] {
    Args a(env, info, "measurePeak");
    double sec = a.num(0);
    double hz = measure_clock_hz(sec * 0.3);
    int nt = num_threads();
    std::vector<double> f(nt, 0.0);
    parallel(nt, [&](int t, int) { f[t] = fma_flops_per_sec(sec); });
    double mn = f[0], mx = f[0], sum = 0;
    for (double v : f) {
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      sum += v;
    }
    napi_value arr, v;
    NAPI_OK(napi_create_array_with_length(env, 5, &arr));
    NAPI_OK(napi_create_double(env, hz, &v));
    NAPI_OK(napi_set_element(env, arr, 0, v));
    NAPI_OK(napi_create_double(env, mn, &v));
    NAPI_OK(napi_set_element(env, arr, 1, v));
    NAPI_OK(napi_create_double(env, sum, &v));
    NAPI_OK(napi_set_element(env, arr, 2, v));
    NAPI_OK(napi_create_int32(env, nt, &v));
    NAPI_OK(napi_set_element(env, arr, 3, v));
    NAPI_OK(napi_create_double(env, mx, &v));
    NAPI_OK(napi_set_element(env, arr, 4, v));
    return arr;
  });
}

napi_value Init(napi_env env, napi_value exports) {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  // Output arrays are V8 ArrayBuffers whose memory comes from glibc malloc. By default glibc serves blocks
  // above its (dynamic) mmap threshold with fresh mmaps, so every large output pays a page fault per 4 KiB
  // page on first touch (measured on this VM: ~100 ms for a 25 MB output). Keeping blocks up to 32 MiB in
  // the heap and not trimming it lets freed tensors' memory be reused. GTN_MALLOC_TUNE=0 turns this off.
  {
    const char* e = std::getenv("GTN_MALLOC_TUNE");
    if (!(e && *e == '0')) {
      mallopt(M_MMAP_THRESHOLD, 32 << 20);
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
  }
#endif
  struct {
    const char* name;
    napi_callback cb;
  } fns[] = {
      {"unary", Unary},
      {"binary", Binary},
      {"where", Where},
      {"reduceSum", ReduceSum},
      {"reduceMax", ReduceMax},
      {"argMax", ArgMax},
      {"matmul", Matmul},
      {"permute", Permute},
      {"slice", Slice},
      {"padZero", PadZero},
      {"concat", Concat},
      {"gather", Gather},
      {"scatterAdd", ScatterAdd},
      {"conv2d", Conv2d},
      {"conv2dBackwardInput", Conv2dBackwardInput},
      {"conv2dBackwardWeight", Conv2dBackwardWeight},
      {"maxPool2d", MaxPool2d},
      {"avgPool2d", AvgPool2d},
      {"avgPool2dBackward", AvgPool2dBackward},
      {"batchNorm", BatchNorm},
      {"batchNormBackward", BatchNormBackward},
      {"setThreads", SetThreads},
      {"getThreads", GetThreads},
      {"setBlockedConv", SetBlockedConv},
      {"simdPath", SimdPath},
      {"forceSimdPath", ForceSimdPath},
      {"simdLanes", SimdLanes},
      {"measurePeak", MeasurePeak},
  };
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
