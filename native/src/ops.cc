#include "ops.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "pool.h"

namespace gtn {
namespace {

constexpr int64_t kMinParallel = 1 << 15;       // elements, cheap ops
constexpr int64_t kMinParallelHeavy = 1 << 12;  // elements, transcendental ops

// Contiguous strides of `shape` right-aligned to `out` (rank r); broadcast axes get stride 0.
Dims bcast_strides(const Dims& shape, const Dims& out) {
  size_t r = out.size();
  Dims s(r, 0);
  int64_t st = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    size_t si = shape.size() - 1 - i, oi = r - 1 - i;
    s[oi] = shape[si] == 1 ? 0 : st;
    st *= shape[si];
  }
  return s;
}

// Merge adjacent dims where every operand's strides continue contiguously; drops size-1 dims.
void collapse(Dims& d, std::vector<Dims*> strides) {
  Dims nd;
  std::vector<Dims> ns(strides.size());
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == 1) continue;
    bool merge = !nd.empty();
    if (merge)
      for (size_t j = 0; j < strides.size(); ++j)
        if (ns[j].back() != (*strides[j])[i] * d[i]) merge = false;
    if (merge) {
      nd.back() *= d[i];
      for (size_t j = 0; j < strides.size(); ++j) ns[j].back() = (*strides[j])[i];
    } else {
      nd.push_back(d[i]);
      for (size_t j = 0; j < strides.size(); ++j) ns[j].push_back((*strides[j])[i]);
    }
  }
  if (nd.empty()) {
    nd.push_back(1);
    for (auto& s : ns) s.push_back(0);
  }
  d = nd;
  for (size_t j = 0; j < strides.size(); ++j) *strides[j] = ns[j];
}

// Iterate rows (all dims but the last) of a collapsed N-operand strided space, in parallel over rows.
// fn(row_offsets[nops], out_offset) is called for each row; the output is contiguous.
template <int NOPS, typename F>
void for_rows(const Dims& d, const std::vector<Dims*>& strides, int64_t min_parallel, F fn) {
  int r = (int)d.size();
  int64_t inner = d[r - 1];
  int64_t rows = prod(d) / inner;
  int64_t total = rows * inner;
  if (r == 1) {
    // one long row: split it into fixed chunks (offsets scale with the innermost strides)
    auto chunk = [&](int64_t b, int64_t e) {
      int64_t off[NOPS];
      for (int j = 0; j < NOPS; ++j) off[j] = b * (*strides[j])[0];
      fn(off, b, e - b);
    };
    if (total < min_parallel)
      chunk(0, total);
    else
      parallel_for(total, 2, 1024, chunk);
    return;
  }
  int64_t align = std::max<int64_t>(1, 64 / std::max<int64_t>(inner, 1));
  auto body = [&](int64_t r0, int64_t r1) {
    int64_t idx[16];
    int64_t off[NOPS];
    int64_t rem = r0;
    for (int j = 0; j < NOPS; ++j) off[j] = 0;
    for (int i = r - 2; i >= 0; --i) {
      idx[i] = rem % d[i];
      rem /= d[i];
      for (int j = 0; j < NOPS; ++j) off[j] += idx[i] * (*strides[j])[i];
    }
    for (int64_t row = r0; row < r1; ++row) {
      fn(off, row * inner, inner);
      for (int i = r - 2; i >= 0; --i) {
        ++idx[i];
        for (int j = 0; j < NOPS; ++j) off[j] += (*strides[j])[i];
        if (idx[i] < d[i]) break;
        for (int j = 0; j < NOPS; ++j) off[j] -= d[i] * (*strides[j])[i];
        idx[i] = 0;
      }
    }
  };
  if (total < min_parallel || rows < 2)
    body(0, rows);
  else
    parallel_for(rows, 2, align, body);
}

// ------------------------------------------------------------------ unary
template <int OP>
inline float un(float x, float p) {
  switch (OP) {
    case U_NEG: return -x;
    case U_EXP: return std::exp(x);
    case U_LOG: return std::log(x);
    case U_SQRT: return std::sqrt(x);
    case U_TANH: return std::tanh(x);
    case U_SIGMOID: return 1.f / (1.f + std::exp(-x));
    case U_RELU: return x > 0.f ? x : 0.f;
    case U_ABS: return std::fabs(x);
    case U_SIGN: return x > 0.f ? 1.f : (x < 0.f ? -1.f : 0.f);
    case U_SQUARE: return x * x;
    case U_RECIPROCAL: return 1.f / x;
    case U_LEAKYRELU: return x > 0.f ? x : p * x;
    case U_LEAKYRELUMASK: return x > 0.f ? 1.f : p;
    case U_STEP: return x > 0.f ? 1.f : 0.f;
    case U_ADDSCALAR: return x + p;
    case U_MULSCALAR: return x * p;
    case U_POWSCALAR: return std::pow(x, p);
  }
  return 0.f;
}

// LeakyReLU and its mask as x * s and s, s = (x > 0 ? 1 : p), with masks instead of jumps: compilers turn
// the scalar select into a branch, and the signs of activations are a coin flip (measured ~20x slower).
// Same results as un<OP>: x * 1 is exact, and NaN stays NaN.
template <int OP>
int64_t unary_simd(const float* x, float* out, int64_t b, int64_t e, float p) {
#if defined(__SSE2__)
  if (OP == U_LEAKYRELU || OP == U_LEAKYRELUMASK) {
    const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.f), vp = _mm_set1_ps(p);
    for (; b + 4 <= e; b += 4) {
      const __m128 v = _mm_loadu_ps(x + b);
      const __m128 m = _mm_cmpgt_ps(v, zero);
      const __m128 sc = _mm_or_ps(_mm_and_ps(m, one), _mm_andnot_ps(m, vp));
      _mm_storeu_ps(out + b, OP == U_LEAKYRELU ? _mm_mul_ps(v, sc) : sc);
    }
  }
#else
  (void)x, (void)out, (void)e, (void)p;
#endif
  return b;
}

template <int OP>
void unary_t(const float* x, float* out, int64_t n, float p) {
  bool heavy = OP == U_EXP || OP == U_LOG || OP == U_TANH || OP == U_SIGMOID || OP == U_POWSCALAR;
  parallel_for(n, heavy ? kMinParallelHeavy : kMinParallel, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = unary_simd<OP>(x, out, b, e, p); i < e; ++i) out[i] = un<OP>(x[i], p);
  });
}

// ------------------------------------------------------------------ binary
template <int OP>
inline float bin(float a, float b, float p) {
  switch (OP) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return std::pow(a, b);
    case B_MAX: return a >= b ? a : b;
    case B_MIN: return a <= b ? a : b;
    case B_GT: return a > b ? 1.f : 0.f;
    case B_GE: return a >= b ? 1.f : 0.f;
    case B_LT: return a < b ? 1.f : 0.f;
    case B_LE: return a <= b ? 1.f : 0.f;
    case B_EQ: return a == b ? 1.f : 0.f;
    case B_LRELUGRAD: return a > 0.f ? b : p * b;
  }
  return 0.f;
}

template <int OP>
void binary_t(const float* a, Dims sa, const float* b, Dims sb, Dims d, float* out, float p) {
  collapse(d, {&sa, &sb});
  int r = (int)d.size();
  int64_t ia = sa[r - 1], ib = sb[r - 1];
  int64_t minp = OP == B_POW ? kMinParallelHeavy : kMinParallel;
  for_rows<2>(d, {&sa, &sb}, minp, [&](const int64_t* off, int64_t o, int64_t inner) {
    const float* pa = a + off[0];
    const float* pb = b + off[1];
    float* po = out + o;
    if (ia == 1 && ib == 1) {
      int64_t i = 0;
#if defined(__SSE2__)
      // The select as a mask blend: the compiler leaves the scalar form branchy (random signs mispredict).
      if (OP == B_LRELUGRAD) {
        const __m128 zero = _mm_setzero_ps(), one = _mm_set1_ps(1.f), vp = _mm_set1_ps(p);
        for (; i + 4 <= inner; i += 4) {
          const __m128 m = _mm_cmpgt_ps(_mm_loadu_ps(pa + i), zero);
          const __m128 sc = _mm_or_ps(_mm_and_ps(m, one), _mm_andnot_ps(m, vp));
          _mm_storeu_ps(po + i, _mm_mul_ps(_mm_loadu_ps(pb + i), sc));
        }
      }
#endif
      for (; i < inner; ++i) po[i] = bin<OP>(pa[i], pb[i], p);
    } else if (ia == 1 && ib == 0) {
      float vb = pb[0];
      for (int64_t i = 0; i < inner; ++i) po[i] = bin<OP>(pa[i], vb, p);
    } else if (ia == 0 && ib == 1) {
      float va = pa[0];
      for (int64_t i = 0; i < inner; ++i) po[i] = bin<OP>(va, pb[i], p);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = bin<OP>(pa[i * ia], pb[i * ib], p);
    }
  });
}

// ------------------------------------------------------------------ reductions
inline float row_sum(const float* x, int64_t n) {
  // 16 independent partial sums (vectorisable), combined pairwise; depends only on the row.
  float acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += x[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += x[i];
  for (int w = 8; w >= 1; w >>= 1)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}
inline float row_max(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    nan |= v != v;
    m = v > m ? v : m;
  }
  return nan ? std::numeric_limits<float>::quiet_NaN() : m;
}

}  // namespace

void unary(int op, const float* x, float* out, int64_t n, float p) {
  switch (op) {
#define U(C) case C: unary_t<C>(x, out, n, p); break;
    U(U_NEG) U(U_EXP) U(U_LOG) U(U_SQRT) U(U_TANH) U(U_SIGMOID) U(U_RELU) U(U_ABS) U(U_SIGN) U(U_SQUARE)
    U(U_RECIPROCAL) U(U_LEAKYRELU) U(U_LEAKYRELUMASK) U(U_STEP) U(U_ADDSCALAR) U(U_MULSCALAR) U(U_POWSCALAR)
#undef U
  }
}

void binary(int op, const float* a, const Dims& aShape, const float* b, const Dims& bShape, float* out,
            const Dims& outShape, float param) {
  Dims sa = bcast_strides(aShape, outShape), sb = bcast_strides(bShape, outShape);
  switch (op) {
#define B(C) case C: binary_t<C>(a, sa, b, sb, outShape, out, param); break;
    B(B_ADD) B(B_SUB) B(B_MUL) B(B_DIV) B(B_POW) B(B_MAX) B(B_MIN) B(B_GT) B(B_GE) B(B_LT) B(B_LE) B(B_EQ) B(B_LRELUGRAD)
#undef B
  }
}

void where(const float* c, const Dims& cShape, const float* a, const Dims& aShape, const float* b, const Dims& bShape,
           float* out, const Dims& outShape) {
  Dims sc = bcast_strides(cShape, outShape), sa = bcast_strides(aShape, outShape), sb = bcast_strides(bShape, outShape);
  Dims d = outShape;
  collapse(d, {&sc, &sa, &sb});
  int r = (int)d.size();
  int64_t ic = sc[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  for_rows<3>(d, {&sc, &sa, &sb}, kMinParallel, [&](const int64_t* off, int64_t o, int64_t inner) {
    const float* pc = c + off[0];
    const float* pa = a + off[1];
    const float* pb = b + off[2];
    float* po = out + o;
    if (ic == 1 && ia == 1 && ib == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = pc[i] != 0.f ? pa[i] : pb[i];
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = pc[i * ic] != 0.f ? pa[i * ia] : pb[i * ib];
    }
  });
}

void reduce(bool isMax, const float* x, const Dims& shape, const std::vector<bool>& reduced, float* out) {
  // Collapse into alternating runs of kept (K) and reduced (R) axes.
  Dims d;
  std::vector<bool> red;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!d.empty() && red.back() == (bool)reduced[i])
      d.back() *= shape[i];
    else {
      d.push_back(shape[i]);
      red.push_back(reduced[i]);
    }
  }
  int64_t total = prod(d);
  int64_t kept = 1;
  for (size_t i = 0; i < d.size(); ++i)
    if (!red[i]) kept *= d[i];
  const float init = isMax ? -std::numeric_limits<float>::infinity() : 0.f;
  if (total == 0) {
    for (int64_t i = 0; i < kept; ++i) out[i] = init;
    return;
  }
  if (d.empty() || (d.size() == 1 && !red[0])) {  // nothing reduced
    std::memcpy(out, x, sizeof(float) * total);
    return;
  }
  if (d.size() == 1) {  // full reduction: fixed chunks (independent of thread count), partials in order
    const int64_t CH = 1 << 14;
    int64_t nch = (total + CH - 1) / CH;
    std::vector<float> part(nch);
    parallel_for(nch, 4, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        int64_t b = c * CH, n = std::min(CH, total - b);
        part[c] = isMax ? row_max(x + b, n) : row_sum(x + b, n);
      }
    });
    out[0] = isMax ? row_max(part.data(), nch) : row_sum(part.data(), nch);
    return;
  }
  // General: [.., K, R] or [.., R, K] patterns. Input strides and output strides per collapsed axis.
  int r = (int)d.size();
  Dims is(r), os(r);
  {
    int64_t st = 1, ost = 1;
    for (int i = r - 1; i >= 0; --i) {
      is[i] = st;
      st *= d[i];
      os[i] = red[i] ? 0 : ost;
      if (!red[i]) ost *= d[i];
    }
  }
  // Parallelise over the outermost kept axis (each output is owned by one thread; per-output order is the
  // input order, so results do not depend on the thread count).
  int ko = 0;
  while (red[ko]) ++ko;
  for (int64_t i = 0; i < kept; ++i) out[i] = init;
  int64_t inner = d[r - 1];
  bool innerRed = red[r - 1];
  auto run = [&](int64_t k0, int64_t k1) {
    // odometer over all axes, axis ko restricted to [k0, k1)
    int64_t idx[16] = {0};
    idx[ko] = k0;
    for (;;) {
      int64_t io = 0, oo = 0;
      for (int i = 0; i < r - 1; ++i) {
        io += idx[i] * is[i];
        oo += idx[i] * os[i];
      }
      const float* px = x + io;
      if (innerRed) {
        float v = isMax ? row_max(px, inner) : row_sum(px, inner);
        float& o = out[oo];
        o = isMax ? (v > o || v != v ? v : o) : o + v;
      } else {
        float* po = out + oo;
        if (isMax) {
          for (int64_t j = 0; j < inner; ++j) po[j] = (px[j] > po[j] || px[j] != px[j]) ? px[j] : po[j];
        } else {
          for (int64_t j = 0; j < inner; ++j) po[j] += px[j];
        }
      }
      int i = r - 2;
      for (; i >= 0; --i) {
        ++idx[i];
        int64_t lim = i == ko ? k1 : d[i];
        if (idx[i] < lim) break;
        idx[i] = i == ko ? k0 : 0;
      }
      if (i < 0) break;
    }
  };
  if (ko == r - 1) {
    // the only kept axis that can be split is the innermost: split it by columns
    int64_t n = d[ko];
    auto colrun = [&](int64_t c0, int64_t c1) {
      int64_t rows = total / n;
      float* po = out + c0;
      int64_t w = c1 - c0;
      for (int64_t row = 0; row < rows; ++row) {
        const float* px = x + row * n + c0;
        if (isMax) {
          for (int64_t j = 0; j < w; ++j) po[j] = (px[j] > po[j] || px[j] != px[j]) ? px[j] : po[j];
        } else {
          for (int64_t j = 0; j < w; ++j) po[j] += px[j];
        }
      }
    };
    // For [R.., K] collapsed to [R, K] when r == 2.
    if (r == 2) {
      if (total >= kMinParallel)
        parallel_for(n, 2, 16, colrun);
      else
        colrun(0, n);
      return;
    }
  }
  if (total >= kMinParallel && d[ko] >= 2)
    parallel_for(d[ko], 2, 1, run);
  else
    run(0, d[ko]);
}

void argmax(const float* x, const Dims& shape, int axis, int32_t* out) {
  int64_t outer = 1, inner = 1, L = shape[axis];
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  parallel_for(outer, std::max<int64_t>(1, kMinParallel / std::max<int64_t>(1, L * inner)), 1,
               [&](int64_t o0, int64_t o1) {
                 std::vector<float> best(inner);
                 for (int64_t o = o0; o < o1; ++o) {
                   const float* px = x + o * L * inner;
                   int32_t* po = out + o * inner;
                   for (int64_t j = 0; j < inner; ++j) {
                     po[j] = 0;
                     best[j] = L > 0 ? px[j] : 0.f;
                   }
                   for (int64_t l = 1; l < L; ++l) {
                     const float* row = px + l * inner;
                     for (int64_t j = 0; j < inner; ++j)
                       if (row[j] > best[j]) {
                         best[j] = row[j];
                         po[j] = (int32_t)l;
                       }
                   }
                 }
               });
}

// Strided copy: out (contiguous, dims d) <- x with strides s starting at x.
static void strided_copy(const float* x, Dims d, Dims s, float* out) {
  Dims os(d.size());
  {
    int64_t st = 1;
    for (int i = (int)d.size() - 1; i >= 0; --i) {
      os[i] = st;
      st *= d[i];
    }
  }
  collapse(d, {&s, &os});
  int r = (int)d.size();
  int64_t inner = d[r - 1];
  int64_t si = s[r - 1];
  // 2-D blocked transpose when the innermost output axis is strided and another axis is contiguous in x.
  if (si != 1 && r >= 2 && s[r - 2] == 1) {
    int64_t R = d[r - 2], Cn = inner, ld_x = si;  // out[.., i, j] = x[.. + j*ld_x + i]
    Dims od(d.begin(), d.end() - 2), osd(s.begin(), s.end() - 2);
    int64_t outer = prod(od);
    parallel_for(outer * ((R + 31) / 32), 64, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t ob = t / ((R + 31) / 32), ib = (t % ((R + 31) / 32)) * 32;
        int64_t off = 0, rem = ob;
        for (int i = (int)od.size() - 1; i >= 0; --i) {
          off += (rem % od[i]) * osd[i];
          rem /= od[i];
        }
        const float* px = x + off;
        float* po = out + ob * R * Cn;
        int64_t ie = std::min(R, ib + 32);
        for (int64_t jb = 0; jb < Cn; jb += 32) {
          int64_t je = std::min(Cn, jb + 32);
          for (int64_t i = ib; i < ie; ++i)
            for (int64_t j = jb; j < je; ++j) po[i * Cn + j] = px[j * ld_x + i];
        }
      }
    });
    return;
  }
  for_rows<1>(d, {&s}, kMinParallel, [&](const int64_t* off, int64_t o, int64_t inner) {
    const float* px = x + off[0];
    float* po = out + o;
    if (si == 1)
      std::memcpy(po, px, sizeof(float) * inner);
    else
      for (int64_t i = 0; i < inner; ++i) po[i] = px[i * si];
  });
}

void permute(const float* x, const Dims& shape, const Dims& perm, float* out) {
  int r = (int)shape.size();
  Dims st(r);
  int64_t s = 1;
  for (int i = r - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  Dims d(r), ps(r);
  for (int i = 0; i < r; ++i) {
    d[i] = shape[perm[i]];
    ps[i] = st[perm[i]];
  }
  if (prod(d) == 0) return;
  strided_copy(x, d, ps, out);
}

void slice(const float* x, const Dims& shape, const Dims& begin, const Dims& size, float* out) {
  int r = (int)shape.size();
  Dims st(r);
  int64_t s = 1, off = 0;
  for (int i = r - 1; i >= 0; --i) {
    st[i] = s;
    s *= shape[i];
  }
  for (int i = 0; i < r; ++i) off += begin[i] * st[i];
  if (prod(size) == 0) return;
  strided_copy(x + off, size, st, out);
}

void pad_zero(const float* x, const Dims& shape, const Dims& before, const Dims& after, float* out) {
  // out is zero-filled by the caller; copy x into the interior: iterate x rows, write with out strides.
  int r = (int)shape.size();
  if (prod(shape) == 0) return;
  Dims od(r), ost(r), xst(r);
  for (int i = 0; i < r; ++i) od[i] = shape[i] + before[i] + after[i];
  int64_t s = 1, off = 0;
  for (int i = r - 1; i >= 0; --i) {
    ost[i] = s;
    s *= od[i];
  }
  s = 1;
  for (int i = r - 1; i >= 0; --i) {
    xst[i] = s;
    s *= shape[i];
  }
  for (int i = 0; i < r; ++i) off += before[i] * ost[i];
  Dims d = shape;
  collapse(d, {&ost, &xst});
  // rows over d with x contiguous; for_rows gives x offset as the "out" offset since x is contiguous here.
  for_rows<1>(d, {&ost}, kMinParallel, [&](const int64_t* o, int64_t xo, int64_t inner) {
    std::memcpy(out + off + o[0], x + xo, sizeof(float) * inner);
  });
}

void concat(const std::vector<const float*>& xs, const std::vector<Dims>& shapes, int axis, float* out) {
  const Dims& s0 = shapes[0];
  int64_t outer = 1, inner = 1, total_axis = 0;
  for (int i = 0; i < axis; ++i) outer *= s0[i];
  for (size_t i = axis + 1; i < s0.size(); ++i) inner *= s0[i];
  for (auto& s : shapes) total_axis += s[axis];
  int64_t orow = total_axis * inner;
  int64_t total = outer * orow;
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      int64_t pos = 0;
      for (size_t j = 0; j < xs.size(); ++j) {
        int64_t w = shapes[j][axis] * inner;
        if (w) std::memcpy(out + o * orow + pos, xs[j] + o * w, sizeof(float) * w);
        pos += w;
      }
    }
  };
  if (total >= kMinParallel * 4 && outer >= 2)
    parallel_for(outer, 2, 1, body);
  else
    body(0, outer);
}

bool gather(const float* x, int64_t size, const int32_t* idx, int64_t n, float* out) {
  // The range check rides along in the parallel pass (a separate serial pass cost as much as the gather).
  std::atomic<bool> ok{true};
  parallel_for(n, kMinParallel, 64, [&](int64_t b, int64_t e) {
    bool inside = true;
    for (int64_t i = b; i < e; ++i) {
      const bool in = (uint64_t)(int64_t)idx[i] < (uint64_t)size;
      inside = inside && in;
      out[i] = in ? x[idx[i]] : 0.f;
    }
    if (!inside) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

// Every output sums its terms in the serial loop's order, so the bits do not depend on the thread count.
// When the terms split into consecutive chunks (one per thread) whose index ranges do not overlap - max
// pooling's argmax, where each row of windows reads its own rows of the input - every output's terms lie in one
// chunk, and the chunks scatter in parallel. Otherwise each worker owns a range of outputs and adds, in order of
// i, the terms that land in it, reading all of idx.
bool scatter_add(const float* g, const int32_t* idx, int64_t n, float* out, int64_t size) {
  if (n <= 0) return true;
  // Each chunk's index range (in parallel): it checks the indices and tells whether the chunks are disjoint.
  const int64_t K = n < kMinParallel ? 1 : num_threads();
  std::vector<int32_t> lo(K), hi(K);
  parallel_for(K, 1, 1, [&](int64_t a, int64_t b) {
    for (int64_t c = a; c < b; ++c) {
      int32_t mn = idx[n * c / K], mx = mn;
      for (int64_t i = n * c / K, e = n * (c + 1) / K; i < e; ++i) {
        mn = std::min(mn, idx[i]);
        mx = std::max(mx, idx[i]);
      }
      lo[c] = mn;
      hi[c] = mx;
    }
  });
  bool disjoint = true;
  for (int64_t c = 0; c < K; ++c) {
    if (lo[c] < 0 || hi[c] >= size) return false;
    disjoint = disjoint && (c == 0 || lo[c] > hi[c - 1]);
  }
  if (disjoint) {
    parallel_for(K, 1, 1, [&](int64_t a, int64_t b) {
      for (int64_t i = n * a / K, e = n * b / K; i < e; ++i) out[idx[i]] += g[i];
    });
    return true;
  }
  parallel_for(size, 1, 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = idx[i];
      if (j >= lo && j < hi) out[j] += g[i];
    }
  });
  return true;
}

}  // namespace gtn
