// N-API bindings of the gtn native backend. Inputs are taken zero-copy from the JS typed arrays; outputs are
// fresh ArrayBuffers written in place (see "output buffers" for their memory and for when V8 collects them).
// Shapes arrive as JS number arrays.
//
// Every JS function goes through one callback, `dispatch`, which finds its entry of the binding table (at the
// bottom of this file), parses the arguments with an `Args` named after the JS function (so that errors read
// "gtn native <fname>: ...") and turns C++ exceptions into JS errors. The entries themselves only parse and
// check their arguments, allocate the outputs and call the kernels.
#include <node_api.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
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
#include "pooling.h"

using namespace gtn;

namespace {

struct ArgError {
  std::string msg;
};

#define NAPI_OK(call)                                          \
  do {                                                         \
    if ((call) != napi_ok) throw ArgError{"N-API call failed: " #call}; \
  } while (0)

std::string dstr(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

// A Float32Array argument together with the shape argument that follows it; `what` names it in errors.
struct Input {
  const float* p;
  int64_t n;
  Dims s;
  const char* what;
};

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
  // null or undefined (an optional argument left out)
  bool absent(size_t i) const {
    napi_valuetype t;
    NAPI_OK(napi_typeof(env, at(i), &t));
    return t == napi_null || t == napi_undefined;
  }
  // The data, length and element type of a typed array; false if v is not one.
  bool typed_array(napi_value v, napi_typedarray_type* t, size_t* n, void** data) const {
    bool is = false;
    NAPI_OK(napi_is_typedarray(env, v, &is));
    if (!is) return false;
    napi_value ab;
    size_t off;
    NAPI_OK(napi_get_typedarray_info(env, v, t, n, data, &ab, &off));
    return true;
  }
  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, int64_t* len) const {
    napi_typedarray_type t;
    size_t n;
    void* data;
    if (!typed_array(at(i), &t, &n, &data)) fail("argument " + std::to_string(i) + " must be a typed array");
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
  // Float32Array at i, its shape (named shapeName) at i + 1. The length is checked apart (check_lens), after the
  // remaining arguments are read, so that errors come in argument order.
  Input input(size_t i, const char* shapeName, const char* what) const {
    Input t;
    t.p = f32(i, &t.n);
    t.s = shape(i + 1, shapeName);
    t.what = what;
    return t;
  }
  void check_len(int64_t len, const Dims& shape, const char* what) const {
    if (len != prod(shape))
      fail(std::string(what) + " has " + std::to_string(len) + " elements but its shape " + dstr(shape) + " needs " +
           std::to_string(prod(shape)));
  }
  template <typename... In>
  void check_lens(const In&... in) const {
    (check_len(in.n, in.s, in.what), ...);
  }
};

// ---------------------------------------------------------------- output buffers
// Every output is a V8 ArrayBuffer, and V8 counts ArrayBuffer bytes as external memory: each time that count
// has grown 64 MB past its level at the last full collection, V8 starts another. A meta-step's graph grows by
// gigabytes of live tensors, so V8 ran ~70 full collections per cpu-preset step that found almost nothing to
// free (~1 s of a 4.2 s step on this 2-core VM). With a collection budget (setGcBudget(gc, MiB); the JS side
// passes V8's own gc()), outputs leave V8's count and the addon runs one full collection per budget of output
// bytes instead: dead tensors never hold more than about the budget, however the graph grows.
struct GcSchedule {
  napi_ref gc = nullptr;  // the JS function that runs a full collection
  size_t budget = 0;      // bytes of outputs between collections; 0: V8 schedules its own
  size_t since = 0;
};
GcSchedule* gc_schedule(napi_env env) {
  void* d = nullptr;
  NAPI_OK(napi_get_instance_data(env, &d));
  return static_cast<GcSchedule*>(d);
}

// Tests set this: outputs the kernel should write in full come uninitialised at every size and filled with
// 0xff bytes (NaN / -1), so that an element a kernel leaves unwritten shows.
std::atomic<bool> g_poison_outputs{false};

// Outputs from this size up that the kernel writes in full skip the zero fill. Below it the fill costs about
// what the Node Buffer object does; above, the memset shows: on the NB201 proxy's 512 KiB activations it took
// half of an elementwise op's time (add 69 -> 37 us, 2 threads, AVX2 VM, 2026-11-29; the proxy cell 10% faster).
constexpr size_t kMinUnzeroedBytes = 16 << 10;

// A fresh ArrayBuffer of `bytes` and its data: zero-filled by V8, or, for outputs of kMinUnzeroedBytes and more
// that the kernel writes in full, left as malloc gave it (a Node Buffer's memory: no memset).
void* new_buffer(napi_env env, size_t bytes, bool zero, napi_value* ab) {
  void* p = nullptr;
  const bool poison = !zero && bytes > 0 && g_poison_outputs.load(std::memory_order_relaxed);
  if (zero || (bytes < kMinUnzeroedBytes && !poison)) {
    NAPI_OK(napi_create_arraybuffer(env, bytes, &p, ab));
  } else {
    napi_value buf;
    NAPI_OK(napi_create_buffer(env, bytes, &p, &buf));
    napi_typedarray_type t;
    size_t len, off;
    void* data;
    NAPI_OK(napi_get_typedarray_info(env, buf, &t, &len, &data, ab, &off));
    if (off != 0) NAPI_OK(napi_create_arraybuffer(env, bytes, &p, ab));  // a slice of Node's pool: not ours
    if (poison) std::memset(p, 0xff, bytes);
  }
  GcSchedule* g = gc_schedule(env);
  if (g && g->budget > 0) {
    int64_t ignored;
    NAPI_OK(napi_adjust_external_memory(env, -(int64_t)bytes, &ignored));
    g->since += bytes;
    if (g->since >= g->budget) {
      g->since = 0;
      napi_value fn, recv, res;
      NAPI_OK(napi_get_reference_value(env, g->gc, &fn));
      NAPI_OK(napi_get_undefined(env, &recv));
      NAPI_OK(napi_call_function(env, recv, fn, 0, nullptr, &res));  // `ab` is held by this call's scope
    }
  }
  return p;
}

template <typename T> constexpr napi_typedarray_type kArrayType = napi_float32_array;
template <> constexpr napi_typedarray_type kArrayType<int32_t> = napi_int32_array;

// A fresh Float32Array / Int32Array of n elements: zero-filled (kZeroed: the kernel adds into its output) or
// uninitialised (kOverwritten: the kernel writes every element).
template <typename T>
napi_value new_array(napi_env env, int64_t n, T** data, bool zero) {
  napi_value ab, ta;
  *data = (T*)new_buffer(env, (size_t)n * sizeof(T), zero, &ab);
  NAPI_OK(napi_create_typedarray(env, kArrayType<T>, (size_t)n, ab, 0, &ta));
  return ta;
}

constexpr bool kZeroed = true;        // the kernel adds into its output
constexpr bool kOverwritten = false;  // the kernel writes every element

// One output array of n elements, filled by fill(data) unless it is empty.
template <typename T = float, typename Fill>
napi_value result(napi_env env, int64_t n, bool zero, Fill fill) {
  T* o;
  napi_value r = new_array<T>(env, n, &o, zero);
  if (n > 0) fill(o);
  return r;
}

// A JS array of the given values.
napi_value tuple(napi_env env, std::initializer_list<napi_value> vs) {
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, vs.size(), &arr));
  uint32_t i = 0;
  for (napi_value v : vs) NAPI_OK(napi_set_element(env, arr, i++, v));
  return arr;
}
// A JS number, boolean or string.
template <typename T>
napi_value js_value(napi_env env, napi_status (*make)(napi_env, T, napi_value*), T v) {
  napi_value r;
  NAPI_OK(make(env, v, &r));
  return r;
}
napi_value js_int(napi_env env, int32_t v) { return js_value(env, napi_create_int32, v); }
napi_value js_num(napi_env env, double v) { return js_value(env, napi_create_double, v); }
napi_value js_bool(napi_env env, bool v) { return js_value(env, napi_get_boolean, v); }
napi_value js_str(napi_env env, const char* s) {
  return js_value<const char*>(
      env, [](napi_env e, const char* v, napi_value* r) { return napi_create_string_utf8(e, v, std::strlen(v), r); }, s);
}

bool broadcastable(const Dims& s, const Dims& out) {
  if (s.size() > out.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t a = s[s.size() - 1 - i], b = out[out.size() - 1 - i];
    if (a != b && a != 1) return false;
  }
  return true;
}

// ---------------------------------------------------------------- kernels
// Each takes the parsed call (a.env, arguments) and returns the JS result; the JS names are in the table below.

napi_value Unary(const Args& a) {
  int64_t op = a.integer(0), n;
  const float* x = a.f32(1, &n);
  double p = a.argc > 2 ? a.num(2) : 0.0;
  if (op < 0 || op >= U_COUNT) a.fail("unknown op code");
  return result(a.env, n, kOverwritten, [&](float* o) { unary((int)op, x, o, n, (float)p); });
}

napi_value Binary(const Args& a) {
  int64_t op = a.integer(0);
  Input x = a.input(1, "aShape", "a"), y = a.input(3, "bShape", "b");
  Dims os = a.shape(5, "outShape");
  double p = a.argc > 6 ? a.num(6) : 0.0;
  if (op < 0 || op >= B_COUNT) a.fail("unknown op code");
  a.check_lens(x, y);
  if (!broadcastable(x.s, os) || !broadcastable(y.s, os))
    a.fail("shapes " + dstr(x.s) + " and " + dstr(y.s) + " do not broadcast to " + dstr(os));
  return result(a.env, prod(os), kOverwritten, [&](float* o) { binary((int)op, x.p, x.s, y.p, y.s, o, os, (float)p); });
}

napi_value Where(const Args& a) {
  Input c = a.input(0, "condShape", "cond"), x = a.input(2, "aShape", "a"), y = a.input(4, "bShape", "b");
  Dims os = a.shape(6, "outShape");
  a.check_lens(c, x, y);
  if (!broadcastable(c.s, os) || !broadcastable(x.s, os) || !broadcastable(y.s, os))
    a.fail("shapes do not broadcast to " + dstr(os));
  return result(a.env, prod(os), kOverwritten, [&](float* o) { where(c.p, c.s, x.p, x.s, y.p, y.s, o, os); });
}

napi_value Reduce(const Args& a, bool isMax) {
  Input x = a.input(0, "shape", "x");
  Dims axes = a.ints(2, "axes");
  a.check_lens(x);
  std::vector<bool> red(x.s.size(), false);
  for (int64_t ax : axes) {
    if (ax < 0 || ax >= (int64_t)x.s.size()) a.fail("axis out of range");
    red[ax] = true;
  }
  int64_t kept = 1;
  for (size_t i = 0; i < x.s.size(); ++i)
    if (!red[i]) kept *= x.s[i];
  return result(a.env, kept, kOverwritten, [&](float* o) { reduce(isMax, x.p, x.s, red, o); });
}

napi_value ArgMax(const Args& a) {
  Input x = a.input(0, "shape", "x");
  int64_t axis = a.integer(2);
  a.check_lens(x);
  if (axis < 0 || axis >= (int64_t)x.s.size()) a.fail("axis out of range");
  int64_t len = x.s[axis];
  return result<int32_t>(a.env, len ? x.n / len : 0, kOverwritten, [&](int32_t* o) { argmax(x.p, x.s, (int)axis, o); });
}

napi_value Matmul(const Args& a) {
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
  return result(a.env, batch * m * n, kOverwritten,
                [&](float* o) { matmul_batched(x, y, o, batch, m, k, n, tA, tB, sa, sb); });
}

napi_value Permute(const Args& a) {
  Input x = a.input(0, "shape", "x");
  Dims p = a.ints(2, "perm");
  a.check_lens(x);
  if (p.size() != x.s.size()) a.fail("perm rank differs from shape rank");
  std::vector<bool> seen(x.s.size(), false);
  for (int64_t v : p) {
    if (v < 0 || v >= (int64_t)x.s.size() || seen[v]) a.fail("perm is not a permutation");
    seen[v] = true;
  }
  return result(a.env, x.n, kOverwritten, [&](float* o) { permute(x.p, x.s, p, o); });
}

// Checks x's length and that the per-axis lists p and q have x's rank (`pq` names them in the error).
void check_axes(const Args& a, const Input& x, const Dims& p, const Dims& q, const char* pq) {
  a.check_lens(x);
  if (p.size() != x.s.size() || q.size() != x.s.size()) a.fail(std::string(pq) + " rank differs from shape rank");
}

napi_value Slice(const Args& a) {
  Input x = a.input(0, "shape", "x");
  Dims b = a.ints(2, "begin"), z = a.shape(3, "size");
  check_axes(a, x, b, z, "begin/size");
  for (size_t i = 0; i < x.s.size(); ++i)
    if (b[i] < 0 || b[i] + z[i] > x.s[i]) a.fail("slice out of bounds on axis " + std::to_string(i));
  return result(a.env, prod(z), kOverwritten, [&](float* o) { slice(x.p, x.s, b, z, o); });
}

napi_value PadZero(const Args& a) {
  Input x = a.input(0, "shape", "x");
  Dims b = a.shape(2, "before"), e = a.shape(3, "after");
  check_axes(a, x, b, e, "before/after");
  Dims os(x.s.size());
  for (size_t i = 0; i < os.size(); ++i) os[i] = x.s[i] + b[i] + e[i];
  return result(a.env, prod(os), kZeroed, [&](float* o) { pad_zero(x.p, x.s, b, e, o); });
}

napi_value Concat(const Args& a) {
  napi_env env = a.env;
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
    napi_typedarray_type t;
    size_t len;
    void* data;
    if (!a.typed_array(xv, &t, &len, &data) || t != napi_float32_array) a.fail("xs must hold Float32Arrays");
    shapes[i] = a.ints(sv, "shape");
    a.check_len((int64_t)len, shapes[i], "input");
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
  return result(env, prod(os), kOverwritten, [&](float* o) { concat(xs, shapes, (int)axis, o); });
}

// Every index in [0, size).
void check_indices(const Args& a, const int32_t* idx, int64_t n, int64_t size) {
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || idx[i] >= size)
      a.fail("index " + std::to_string(idx[i]) + " out of range [0, " + std::to_string(size) + ")");
}

napi_value Gather(const Args& a) {
  int64_t n, ni;
  const float* x = a.f32(0, &n);
  const int32_t* idx = a.i32(1, &ni);
  bool ok = true;
  napi_value r = result(a.env, ni, kOverwritten, [&](float* o) { ok = gather(x, n, idx, ni, o); });
  if (!ok) check_indices(a, idx, ni, n);  // names the first bad index
  return r;
}

napi_value ScatterAdd(const Args& a) {
  int64_t n, ni;
  const float* g = a.f32(0, &n);
  const int32_t* idx = a.i32(1, &ni);
  int64_t size = a.integer(2);
  if (ni != n) a.fail("g and idx differ in length");
  if (size < 0) a.fail("negative size");
  bool ok = true;
  napi_value r = result(a.env, size, kZeroed, [&](float* o) { ok = scatter_add(g, idx, n, o, size); });
  if (!ok || (size == 0 && ni > 0)) check_indices(a, idx, ni, size);  // names the first bad index
  return r;
}

// ---------------------------------------------------------------- convolution and pooling
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

// The output gradient must have the shape of the conv output.
void check_conv_grad(const Args& a, const Input& gy, const ConvGeom& g) {
  if (gy.s != Dims{g.N, g.O, g.Ho, g.Wo}) a.fail("gShape " + dstr(gy.s) + " does not match the conv output");
}

napi_value Conv2d(const Args& a) {
  Input x = a.input(0, "xShape", "x"), w = a.input(2, "wShape", "w");
  a.check_lens(x, w);
  ConvGeom g = conv_geom(a, x.s, w.s, 4);
  return result(a.env, g.N * g.O * g.Ho * g.Wo, kOverwritten, [&](float* o) { conv2d_forward(x.p, w.p, o, g); });
}

napi_value Conv2dBackwardInput(const Args& a) {
  Input gy = a.input(0, "gShape", "g"), w = a.input(2, "wShape", "w");
  Dims xs = a.shape(4, "xShape");
  a.check_lens(gy, w);
  ConvGeom g = conv_geom(a, xs, w.s, 5);
  check_conv_grad(a, gy, g);
  return result(a.env, prod(xs), kOverwritten, [&](float* o) { conv2d_backward_input(gy.p, w.p, o, g); });
}

napi_value Conv2dBackwardWeight(const Args& a) {
  Input x = a.input(0, "xShape", "x"), gy = a.input(2, "gShape", "g");
  Dims ws = a.shape(4, "wShape");
  a.check_lens(x, gy);
  ConvGeom g = conv_geom(a, x.s, ws, 5);
  check_conv_grad(a, gy, g);
  return result(a.env, prod(ws), kZeroed, [&](float* o) { conv2d_backward_weight(x.p, gy.p, o, g); });
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

// The (x, xShape, kernel, stride, pad) arguments of the forward pools.
PoolGeom pool_input(const Args& a, Input* x) {
  *x = a.input(0, "xShape", "x");
  a.check_lens(*x);
  return pool_geom(a, x->s, 2);
}

napi_value MaxPool2d(const Args& a) {
  Input x;
  PoolGeom p = pool_input(a, &x);
  int64_t no = p.N * p.C * p.Ho * p.Wo;
  float* o;
  int32_t* am;
  napi_value ro = new_array(a.env, no, &o, kOverwritten), ra = new_array(a.env, no, &am, kOverwritten);
  if (no > 0) maxpool2d(x.p, o, am, p);
  return tuple(a.env, {ro, ra});
}

napi_value MaxPool2dBackward(const Args& a) {
  Input gy = a.input(0, "gShape", "g");
  int64_t na;
  const int32_t* arg = a.i32(2, &na);
  Dims xs = a.shape(3, "xShape");
  a.check_lens(gy);
  PoolGeom p = pool_geom(a, xs, 4);
  if (gy.s != Dims{p.N, p.C, p.Ho, p.Wo}) a.fail("gShape " + dstr(gy.s) + " does not match the pooled output");
  if (na != prod(gy.s)) a.fail("argmax and g differ in length");
  bool ok = true;
  napi_value r = result(a.env, prod(xs), kOverwritten, [&](float* o) { ok = maxpool2d_backward(gy.p, arg, o, p); });
  if (!ok) a.fail("an argmax index lies outside its own plane of x");
  return r;
}

// An average pool's optional last argument: whether padding counts in the divisor (default true).
bool count_pad_arg(const Args& a, size_t i) { return a.argc > i ? a.boolean(i) : true; }

napi_value AvgPool2d(const Args& a) {
  Input x;
  PoolGeom p = pool_input(a, &x);
  p.count_pad = count_pad_arg(a, 5);
  return result(a.env, p.N * p.C * p.Ho * p.Wo, kOverwritten, [&](float* o) { avgpool2d(x.p, o, p); });
}

napi_value AvgPool2dBackward(const Args& a) {
  Input gy = a.input(0, "gShape", "g");
  Dims xs = a.shape(2, "xShape");
  a.check_lens(gy);
  PoolGeom p = pool_geom(a, xs, 3);
  p.count_pad = count_pad_arg(a, 6);
  if (gy.s != Dims{p.N, p.C, p.Ho, p.Wo}) a.fail("gShape " + dstr(gy.s) + " does not match the pooled output");
  return result(a.env, prod(xs), kOverwritten, [&](float* o) { avgpool2d_backward(gy.p, o, p); });
}

// ---------------------------------------------------------------- batch norm
// x viewed as [N, C, S]; gamma, beta, mean, var are [C].
const float* per_channel(const Args& a, size_t i, int64_t C, const char* what, bool optional = false) {
  if (optional && a.absent(i)) return nullptr;
  int64_t n;
  const float* p = a.f32(i, &n);
  if (n != C) a.fail(std::string(what) + " must hold one value per channel (" + std::to_string(C) + "), got " + std::to_string(n));
  return p;
}

// The arguments both batch norm functions start with: (x, xShape, gamma, ...). Their three outputs (one the
// size of x, two per channel) are allocated here too, and returned as a JS array.
struct BnCall {
  const float* x;
  int64_t nx, N, C, S;
  const float* gamma;
  float *full, *c1, *c2;
  explicit BnCall(const Args& a) {
    x = a.f32(0, &nx);
    Dims d = a.shape(1, "xShape");
    if (d.size() < 2) a.fail("xShape must have at least 2 axes, got " + dstr(d));
    a.check_len(nx, d, "x");
    N = d[0];
    C = d[1];
    S = 1;
    for (size_t k = 2; k < d.size(); ++k) S *= d[k];
    gamma = per_channel(a, 2, C, "gamma");
  }
  napi_value outputs(napi_env env) {
    napi_value r0 = new_array(env, nx, &full, kOverwritten), r1 = new_array(env, C, &c1, kOverwritten),
               r2 = new_array(env, C, &c2, kOverwritten);
    return tuple(env, {r0, r1, r2});
  }
};

napi_value BatchNorm(const Args& a) {
  BnCall b(a);
  const float* beta = per_channel(a, 3, b.C, "beta");
  float eps = (float)a.num(4);
  napi_value r = b.outputs(a.env);  // y, mean, var
  if (b.nx > 0) batchnorm_forward(b.x, b.N, b.C, b.S, b.gamma, beta, eps, b.full, b.c1, b.c2);
  return r;
}

napi_value BatchNormBackward(const Args& a) {
  BnCall b(a);
  const float* mean = per_channel(a, 3, b.C, "mean");
  const float* var = per_channel(a, 4, b.C, "variance");
  float eps = (float)a.num(5);
  const float* gy = nullptr;
  if (!a.absent(6)) {
    int64_t ng;
    gy = a.f32(6, &ng);
    if (ng != b.nx) a.fail("gy must have the shape of x");
  }
  const float* gmean = per_channel(a, 7, b.C, "gmean", true);
  const float* gvar = per_channel(a, 8, b.C, "gvar", true);
  napi_value r = b.outputs(a.env);  // dx, dgamma, dbeta
  if (b.nx > 0)
    batchnorm_backward(b.x, b.N, b.C, b.S, b.gamma, mean, var, eps, gy, gmean, gvar, b.full, b.c1, b.c2);
  return r;
}

// ---------------------------------------------------------------- configuration / measurement
napi_value SetThreads(const Args& a) {
  set_threads((int)a.integer(0));
  return js_int(a.env, num_threads());
}
napi_value SetOutputPoison(const Args& a) {
  g_poison_outputs = a.boolean(0);
  return js_bool(a.env, g_poison_outputs);
}

// setGcBudget(gc, mib): run gc() once per mib MiB of outputs, outputs uncounted by V8; mib = 0: V8's schedule.
napi_value SetGcBudget(const Args& a) {
  GcSchedule* g = gc_schedule(a.env);
  const double mib = a.num(1);
  if (!(mib >= 0 && mib < 1e9)) a.fail("the budget must be a number of MiB >= 0");
  napi_valuetype t;
  NAPI_OK(napi_typeof(a.env, a.at(0), &t));
  if (mib > 0 && t != napi_function) a.fail("the first argument must be the function that collects");
  if (g->gc) NAPI_OK(napi_delete_reference(a.env, g->gc));
  g->gc = nullptr;
  g->budget = g->since = 0;
  if (mib > 0) {
    NAPI_OK(napi_create_reference(a.env, a.at(0), 1, &g->gc));
    g->budget = (size_t)(mib * 1048576.0);
  }
  return js_num(a.env, (double)g->budget / 1048576.0);
}
napi_value GetThreads(const Args& a) { return js_int(a.env, num_threads()); }
napi_value SetBlockedConv(const Args& a) {
  set_blocked_conv(a.boolean(0));
  return js_bool(a.env, blocked_conv_enabled());
}
napi_value SetLanesConv(const Args& a) {
  set_lanes_conv(a.boolean(0));
  return js_bool(a.env, lanes_conv_enabled());
}
napi_value SimdPath(const Args& a) { return js_str(a.env, simd_path()); }
napi_value ForceSimdPath(const Args& a) { return js_str(a.env, force_simd_path((int)a.integer(0))); }
napi_value SimdLanes(const Args& a) { return js_int(a.env, simd_lanes()); }

// measurePeak(seconds): runs the FMA loop on every pool thread at once; returns
// [clockHz, FMA FLOP/s of the slowest thread, summed over threads, threads, of the fastest thread]
napi_value MeasurePeak(const Args& a) {
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
  napi_env env = a.env;
  return tuple(env, {js_num(env, hz), js_num(env, mn), js_num(env, sum), js_int(env, nt), js_num(env, mx)});
}

// ---------------------------------------------------------------- binding table
struct Binding {
  const char* name;  // the JS name, also the <fname> of its error messages
  napi_value (*fn)(const Args&);
};

const Binding kBindings[] = {
    {"unary", Unary},
    {"binary", Binary},
    {"where", Where},
    {"reduceSum", [](const Args& a) { return Reduce(a, false); }},
    {"reduceMax", [](const Args& a) { return Reduce(a, true); }},
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
    {"maxPool2dBackward", MaxPool2dBackward},
    {"avgPool2d", AvgPool2d},
    {"avgPool2dBackward", AvgPool2dBackward},
    {"batchNorm", BatchNorm},
    {"batchNormBackward", BatchNormBackward},
    {"setThreads", SetThreads},
    {"getThreads", GetThreads},
    {"setBlockedConv", SetBlockedConv},
    {"setLanesConv", SetLanesConv},
    {"setGcBudget", SetGcBudget},
    {"setOutputPoison", SetOutputPoison},
    {"simdPath", SimdPath},
    {"forceSimdPath", ForceSimdPath},
    {"simdLanes", SimdLanes},
    {"measurePeak", MeasurePeak},
};

// The one N-API callback: `data` is the function's Binding. C++ exceptions become JS errors.
napi_value dispatch(napi_env env, napi_callback_info info) {
  try {
    void* data = nullptr;
    size_t argc = 0;
    NAPI_OK(napi_get_cb_info(env, info, &argc, nullptr, nullptr, &data));
    const Binding* b = (const Binding*)data;
    return b->fn(Args(env, info, b->name));
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, e.msg.c_str());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, nullptr, "gtn native: out of memory");
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
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
  NAPI_OK(napi_set_instance_data(
      env, new GcSchedule(), [](napi_env, void* d, void*) { delete static_cast<GcSchedule*>(d); }, nullptr));
  for (const Binding& b : kBindings) {
    napi_value fn;
    napi_create_function(env, b.name, NAPI_AUTO_LENGTH, dispatch, (void*)&b, &fn);
    napi_set_named_property(env, exports, b.name, fn);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
