// conv2d via im2col + GEMM (1x1 stride-1 unpadded convs are plain GEMMs), and pooling.
// Parallel over images (each thread has its own im2col scratch); with a single image the GEMM itself is
// threaded. Every output element is computed by the same operations whatever the partition.
#include "conv.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "blocked_conv.h"
#include "gemm.h"
#include "pool.h"

// One copy of a function per SIMD level, picked at load time (x86-64 Linux only).
#if defined(__x86_64__) && defined(__linux__)
#define GTN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GTN_SIMD_CLONES
#endif

namespace gtn {
namespace {

thread_local std::vector<float> tl_col;

float* col_buf(size_t n) {
  if (tl_col.size() < n) tl_col.resize(n);
  return tl_col.data();
}

bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0;
}

// Offsets of group gi of image n in x (and dx), in the output (and its gradient), and of group gi's weights.
inline int64_t x_offset(const ConvGeom& g, int64_t n, int64_t gi) { return (n * g.C + gi * (g.C / g.G)) * g.H * g.W; }
inline int64_t y_offset(const ConvGeom& g, int64_t n, int64_t gi) { return (n * g.O + gi * (g.O / g.G)) * g.Ho * g.Wo; }
inline int64_t w_offset(const ConvGeom& g, int64_t gi) { return gi * (g.O / g.G) * (g.C / g.G) * g.kh * g.kw; }

// The output columns [owb, owe) whose input column ow*sw - pl + kj lies inside the image (0 <= . < W).
inline void valid_ow(const ConvGeom& g, int64_t kj, int64_t& owb, int64_t& owe) {
  const int64_t lo = g.pl - kj, hi = g.W - 1 + g.pl - kj;  // need lo <= ow*sw <= hi
  if (g.sw == 1) {  // no divisions: the direct convolutions call this once per kernel tap and channel pair
    owb = lo > 0 ? lo : 0;
    owe = hi < 0 ? 0 : std::min<int64_t>(g.Wo, hi + 1);
  } else {
    owb = lo > 0 ? (lo + g.sw - 1) / g.sw : 0;
    owe = hi < 0 ? 0 : std::min<int64_t>(g.Wo, hi / g.sw + 1);
  }
  if (owb > owe) owb = owe;
}

// col rows [r0, r1) of the im2col matrix [Cg*kh*kw, Ho*Wo] for one image/group; xg points at channel 0 of the group.
void im2col(const float* xg, const ConvGeom& g, int64_t r0, int64_t r1, float* col) {
  const int64_t P = g.Ho * g.Wo, kk = g.kh * g.kw;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = r / kk, ki = (r % kk) / g.kw, kj = r % g.kw;
    const float* xc = xg + c * g.H * g.W;
    float* dst = col + (r - r0) * P;
    int64_t owb, owe;
    valid_ow(g, kj, owb, owe);
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      int64_t ih = oh * g.sh - g.pt + ki;
      float* d = dst + oh * g.Wo;
      if (ih < 0 || ih >= g.H) {
        std::memset(d, 0, sizeof(float) * g.Wo);
        continue;
      }
      const float* xr = xc + ih * g.W - g.pl + kj;
      for (int64_t ow = 0; ow < owb; ++ow) d[ow] = 0.f;
      if (g.sw == 1)
        std::memcpy(d + owb, xr + owb, sizeof(float) * (owe - owb));
      else
        for (int64_t ow = owb; ow < owe; ++ow) d[ow] = xr[ow * g.sw];
      for (int64_t ow = owe; ow < g.Wo; ++ow) d[ow] = 0.f;
    }
  }
}

// dx (one image/group) += col2im(col) for col rows [r0, r1) (col holds those rows only)
void col2im(const float* col, const ConvGeom& g, int64_t r0, int64_t r1, float* dxg) {
  const int64_t P = g.Ho * g.Wo, kk = g.kh * g.kw;
  col -= r0 * P;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = r / kk, ki = (r % kk) / g.kw, kj = r % g.kw;
    float* xc = dxg + c * g.H * g.W;
    const float* src = col + r * P;
    int64_t owb, owe;
    valid_ow(g, kj, owb, owe);
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      int64_t ih = oh * g.sh - g.pt + ki;
      if (ih < 0 || ih >= g.H) continue;
      float* xr = xc + ih * g.W - g.pl + kj;
      const float* s = src + oh * g.Wo;
      if (g.sw == 1)
        for (int64_t ow = owb; ow < owe; ++ow) xr[ow] += s[ow];
      else
        for (int64_t ow = owb; ow < owe; ++ow) xr[ow * g.sw] += s[ow];
    }
  }
}


// ---------------------------------------------------------------- direct convolution (few output channels)
// For stride-1 convs with at most kDirectMaxOg output channels per group, im2col + GEMM degenerates into
// matrix-vector work that streams a col matrix 9x the size of the image; the direct loops below touch only
// the image and the (L1-resident) output plane. Arithmetic is plain mul-then-add (contraction is off), so
// every SIMD clone computes the same bits; per-element summation order is fixed by the loops, not by threads.
constexpr int64_t kDirectMaxOg = 4;

bool use_direct(const ConvGeom& g) { return g.sh == 1 && g.sw == 1 && g.O / g.G <= kDirectMaxOg && !is_pointwise(g); }

// The loops of the direct convolutions, inlined into each SIMD clone so that the row loops vectorise there.
#define GTN_INLINE __attribute__((always_inline))

// The rows of kernel tap (ki, kj) of a stride-1 conv: row(xr, orow, owb, owe) for every output row oh whose input
// row oh - pt + ki lies inside the image, where orow is row oh of the output plane `out` and xr is that input row
// of the image plane `img` shifted so that xr[ow] is the input under output column ow (valid for ow in [owb, owe)).
template <typename Img, typename Out, typename Row>
GTN_INLINE inline void for_tap_rows(const ConvGeom& g, int64_t ki, int64_t kj, Img* img, Out* out, Row row) {
  int64_t owb, owe;
  valid_ow(g, kj, owb, owe);
  for (int64_t oh = 0; oh < g.Ho; ++oh) {
    int64_t ih = oh - g.pt + ki;
    if (ih < 0 || ih >= g.H) continue;
    row(img + ih * g.W - g.pl + kj, out + oh * g.Wo, owb, owe);
  }
}

// row(w[ki, kj], xr, orow, owb, owe) for every tap of the kernel w (kh x kw, taps in row-major order) and every
// row of the tap (see for_tap_rows).
template <typename Img, typename Out, typename Row>
GTN_INLINE inline void for_kernel_rows(const ConvGeom& g, const float* w, Img* img, Out* out, Row row) {
  for (int64_t ki = 0; ki < g.kh; ++ki)
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      const float wv = w[ki * g.kw + kj];
      for_tap_rows(g, ki, kj, img, out,
                   [&](Img* xr, Out* orow, int64_t owb, int64_t owe) GTN_INLINE { row(wv, xr, orow, owb, owe); });
    }
}

GTN_SIMD_CLONES void direct_fwd_image(const float* xg, const float* wg, float* og, const ConvGeom& g) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, P = g.Ho * g.Wo;
  for (int64_t o = 0; o < Og; ++o) {
    float* op = og + o * P;
    for (int64_t i = 0; i < P; ++i) op[i] = 0.f;
    for (int64_t c = 0; c < Cg; ++c)
      for_kernel_rows(g, wg + (o * Cg + c) * g.kh * g.kw, xg + c * g.H * g.W, op,
                      [](float wv, const float* xr, float* orow, int64_t owb, int64_t owe) GTN_INLINE {
                        for (int64_t ow = owb; ow < owe; ++ow) orow[ow] = orow[ow] + wv * xr[ow];
                      });
  }
}

GTN_SIMD_CLONES void direct_bwd_input_image(const float* gg, const float* wg, float* dxg, const ConvGeom& g) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, P = g.Ho * g.Wo;
  for (int64_t c = 0; c < Cg; ++c) {
    float* dc = dxg + c * g.H * g.W;
    for (int64_t o = 0; o < Og; ++o)
      for_kernel_rows(g, wg + (o * Cg + c) * g.kh * g.kw, dc, gg + o * P,
                      [](float wv, float* xr, const float* grow, int64_t owb, int64_t owe) GTN_INLINE {
                        for (int64_t ow = owb; ow < owe; ++ow) xr[ow] = xr[ow] + wv * grow[ow];
                      });
  }
}

// dw[o, c, ki, kj] for channels [c0, c1) of one group, all images in order.
GTN_SIMD_CLONES void direct_bwd_weight(const float* x, const float* gy, float* dwg, const ConvGeom& g, int64_t gi,
                                       int64_t c0, int64_t c1) {
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, P = g.Ho * g.Wo;
  std::vector<float> accv(g.Wo + 1);
  float* accbuf = accv.data();
  for (int64_t n = 0; n < g.N; ++n) {
    const float* xg = x + x_offset(g, n, gi);
    const float* ggp = gy + y_offset(g, n, gi);
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = c0; c < c1; ++c) {
        const float* xc = xg + c * g.H * g.W;
        for (int64_t ki = 0; ki < g.kh; ++ki)
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            // per-column partial sums over the rows (vectorised along ow), then a fixed pairwise fold
            float* acc = accbuf;
            for (int64_t q = 0; q < g.Wo; ++q) acc[q] = 0.f;
            for_tap_rows(g, ki, kj, xc, ggp + o * P,
                         [&](const float* xr, const float* grow, int64_t owb, int64_t owe) GTN_INLINE {
                           for (int64_t ow = owb; ow < owe; ++ow) acc[ow] = acc[ow] + grow[ow] * xr[ow];
                         });
            int64_t len = g.Wo;
            while (len > 1) {
              int64_t half = (len + 1) / 2;
              for (int64_t q = 0; q + half < len; ++q) acc[q] = acc[q] + acc[q + half];
              len = half;
            }
            float part0 = acc[0];
            float& d = dwg[((o * Cg + c) * g.kh + ki) * g.kw + kj];
            d = n == 0 ? part0 : d + part0;
          }
      }
  }
}

// fn(n, gi) for every image n and group gi (groups in order within an image). With several images and more than
// 2e5 multiply-adds the images run on the pool, claimed dynamically (a descheduled thread does not stall the
// rest), else in order on this thread. Each image is computed the same way whoever runs it.
template <typename Fn>
void for_each_image_group(const ConvGeom& g, const Fn& fn) {
  const int64_t P = g.Ho * g.Wo, Kd = (g.C / g.G) * g.kh * g.kw;
  auto image = [&](int64_t n) {
    for (int64_t gi = 0; gi < g.G; ++gi) fn(n, gi);
  };
  if (g.N >= 2 && num_threads() > 1 && (double)g.N * g.O * P * Kd > 2e5) {
    parallel_tasks((int)std::min<int64_t>(g.N, 65535), [&](int t, int nt) {
      for (int64_t n = t; n < g.N; n += nt) image(n);
    });
  } else {
    for (int64_t n = 0; n < g.N; ++n) image(n);
  }
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* out, const ConvGeom& g) {
  if (single_out_applies(g)) return single_out_forward(x, w, out, g);
  // With fewer than 16 terms per output (a 3x3 conv on one grey channel) the blocked kernels spend their time
  // storing outputs, and im2col + GEMM measured 1.5-2x faster (`npm run bench`, conv lines).
  if (blocked_conv_applies(g) && (g.C / g.G) * g.kh * g.kw >= 16) return blocked_conv_forward(x, w, out, g);
  const int64_t Og = g.O / g.G, P = g.Ho * g.Wo, Kd = (g.C / g.G) * g.kh * g.kw;
  for_each_image_group(g, [&](int64_t n, int64_t gi) {
    const float* xg = x + x_offset(g, n, gi);
    const float* wg = w + w_offset(g, gi);
    float* og = out + y_offset(g, n, gi);
    if (use_direct(g)) {
      direct_fwd_image(xg, wg, og, g);
    } else if (is_pointwise(g)) {
      sgemm(false, false, Og, P, Kd, wg, Kd, xg, P, og, P, false);
    } else {
      // im2col in chunks of kGemmKC rows, so the chunk stays in L2 while the GEMM packs it. The GEMM splits
      // K at the same multiples of kGemmKC and adds the blocks in the same order, so chunking does not
      // change a single bit of the result (M > 2; the few-row path is deterministic too).
      int64_t ch = std::min<int64_t>(Kd, kGemmKC);
      float* col = col_buf((size_t)(ch * P));
      for (int64_t k0 = 0; k0 < Kd; k0 += kGemmKC) {
        int64_t kc = std::min<int64_t>(kGemmKC, Kd - k0);
        im2col(xg, g, k0, k0 + kc, col);
        sgemm(false, false, Og, P, kc, wg + k0, Kd, col, P, og, P, k0 > 0);
      }
    }
  });
}

void conv2d_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  if (single_out_applies(g)) return single_out_backward_input(gy, w, dx, g);
  // The blocked kernel's registers hold output channels, which here are the C input channels: with few of them
  // (a first layer on grey images: C = 1) it wastes most lanes and measured 3-4x slower than the direct path.
  if (blocked_conv_applies(g) && g.C >= 5) return blocked_conv_backward_input(gy, w, dx, g);
  const int64_t Og = g.O / g.G, P = g.Ho * g.Wo, Kd = (g.C / g.G) * g.kh * g.kw;
  for_each_image_group(g, [&](int64_t n, int64_t gi) {
    float* dxg = dx + x_offset(g, n, gi);
    const float* A = w + w_offset(g, gi);  // [Og, Kd], used transposed
    const float* B = gy + y_offset(g, n, gi);
    if (use_direct(g)) {
      direct_bwd_input_image(B, A, dxg, g);
    } else if (is_pointwise(g)) {
      sgemm(true, false, Kd, P, Og, A, Kd, B, P, dxg, P, false);
    } else {
      // dcol rows in chunks that stay in L2 (rows are independent; col2im adds them in row order as before)
      const int64_t RCH = 256;
      float* col = col_buf((size_t)(std::min(Kd, RCH) * P));
      for (int64_t r0 = 0; r0 < Kd; r0 += RCH) {
        int64_t r1 = std::min(Kd, r0 + RCH);
        sgemm(true, false, r1 - r0, P, Og, A + r0, Kd, B, P, col, P, false);
        col2im(col, g, r0, r1, dxg);
      }
    }
  });
}

void conv2d_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  if (blocked_conv_applies(g, true)) return blocked_conv_backward_weight(x, gy, dw, g);
  // dW_g [Og, Kd] = sum_n gy_ng [Og, P] @ col_ng^T; images accumulated in order 0..N-1.
  // Threads own disjoint column ranges of dW (rows of col), or row ranges of dW when Kd is small.
  const int64_t Cg = g.C / g.G, Og = g.O / g.G, P = g.Ho * g.Wo, Kd = Cg * g.kh * g.kw;
  const bool pw = is_pointwise(g);
  if (use_direct(g)) {
    for (int64_t gi = 0; gi < g.G; ++gi) {
      float* dwg = dw + w_offset(g, gi);
      if (num_threads() > 1 && Cg >= 2 && (double)g.N * Og * P * Kd > 2e5)
        parallel_for(Cg, 2, 1, [&](int64_t c0, int64_t c1) { direct_bwd_weight(x, gy, dwg, g, gi, c0, c1); });
      else
        direct_bwd_weight(x, gy, dwg, g, gi, 0, Cg);
    }
    return;
  }
  for (int64_t gi = 0; gi < g.G; ++gi) {
    float* dwg = dw + w_offset(g, gi);
    bool byCols = Kd >= 64;
    bool threaded = num_threads() > 1 && (double)g.N * Og * P * Kd > 2e5 && (byCols || Og >= 16);
    auto work = [&](int64_t a0, int64_t a1) {  // columns [a0,a1) if byCols else rows
      int64_t c0 = byCols ? a0 : 0, c1 = byCols ? a1 : Kd;
      int64_t r0 = byCols ? 0 : a0, r1 = byCols ? Og : a1;
      for (int64_t n = 0; n < g.N; ++n) {
        const float* xg = x + x_offset(g, n, gi);
        const float* B;
        if (pw) {
          B = xg + c0 * P;
        } else {
          float* col = col_buf((size_t)((c1 - c0) * P));
          im2col(xg, g, c0, c1, col);
          B = col;
        }
        const float* A = gy + (n * g.O + gi * Og + r0) * P;
        sgemm_serial(false, true, r1 - r0, c1 - c0, P, A, P, B, P, dwg + r0 * Kd + c0, Kd, n > 0);
      }
    };
    if (!threaded) {
      work(0, byCols ? Kd : Og);
    } else if (byCols) {
      parallel_for(Kd, 2, 32, work);
    } else {
      parallel_for(Og, 2, 8, work);
    }
  }
}

namespace {

// fn(plane) for every plane (image, channel) of p, on the pool in ranges of about 32K window reads.
template <typename Fn>
void for_each_plane(const PoolGeom& p, const Fn& fn) {
  const int64_t P = p.Ho * p.Wo;
  parallel_for(p.N * p.C, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, P * p.kh * p.kw)), 1,
               [&](int64_t a, int64_t b) {
                 for (int64_t pl = a; pl < b; ++pl) fn(pl);
               });
}

// fn(i, hb, he, wb, we) for every output i = oh * Wo + ow of a plane, in order: its window clipped to the image
// is rows [hb, he) x columns [wb, we).
template <typename Fn>
inline void for_each_window(const PoolGeom& p, const Fn& fn) {
  for (int64_t oh = 0; oh < p.Ho; ++oh) {
    int64_t h0 = oh * p.sh - p.pt;
    int64_t hb = std::max<int64_t>(h0, 0), he = std::min<int64_t>(h0 + p.kh, p.H);
    for (int64_t ow = 0; ow < p.Wo; ++ow) {
      int64_t w0 = ow * p.sw - p.pl;
      int64_t wb = std::max<int64_t>(w0, 0), we = std::min<int64_t>(w0 + p.kw, p.W);
      fn(oh * p.Wo + ow, hb, he, wb, we);
    }
  }
}

// One output of max pooling: the first maximum of the window in row-major order (NaN, once first, stays).
inline void maxpool_one(const float* xp, const PoolGeom& p, int64_t hb, int64_t he, int64_t ow, float* o, int32_t* a,
                        int64_t base) {
  const int64_t w0 = ow * p.sw - p.pl;
  const int64_t wb = std::max<int64_t>(w0, 0), we = std::min<int64_t>(w0 + p.kw, p.W);
  if (hb >= he || wb >= we) {
    *o = -std::numeric_limits<float>::infinity();
    *a = -1;
    return;
  }
  int64_t mi = hb * p.W + wb;
  float m = xp[mi];
  for (int64_t h = hb; h < he; ++h)
    for (int64_t w = wb; w < we; ++w) {
      const int64_t k = h * p.W + w;
      if (xp[k] > m) {
        m = xp[k];
        mi = k;
      }
    }
  *o = m;
  *a = (int32_t)(base + mi);
}

#if defined(__SSE2__)
// Four neighbouring outputs of one row at once (stride 1 or 2, windows inside the row): the same comparisons
// in the same order as maxpool_one, done with masks (the scalar version mispredicts on every other compare).
inline void maxpool_four(const float* xp, const PoolGeom& p, int64_t hb, int64_t he, int64_t ow, float* o, int32_t* a,
                         int64_t base) {
  const int64_t w0 = ow * p.sw - p.pl;
  const __m128i lane = p.sw == 1 ? _mm_setr_epi32(0, 1, 2, 3) : _mm_setr_epi32(0, 2, 4, 6);
  auto load = [&](int64_t k) -> __m128 {
    if (p.sw == 1) return _mm_loadu_ps(xp + k);
    const __m128 lo = _mm_loadu_ps(xp + k), hi = _mm_loadu_ps(xp + k + 4);
    return _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  };
  __m128 m = load(hb * p.W + w0);
  __m128i mi = _mm_add_epi32(_mm_set1_epi32((int32_t)(hb * p.W + w0)), lane);
  for (int64_t h = hb; h < he; ++h)
    for (int64_t dw = 0; dw < p.kw; ++dw) {
      const int64_t k = h * p.W + w0 + dw;
      const __m128 v = load(k);
      const __m128 gt = _mm_cmpgt_ps(v, m);
      const __m128i gti = _mm_castps_si128(gt);
      m = _mm_or_ps(_mm_and_ps(gt, v), _mm_andnot_ps(gt, m));
      const __m128i kv = _mm_add_epi32(_mm_set1_epi32((int32_t)k), lane);
      mi = _mm_or_si128(_mm_and_si128(gti, kv), _mm_andnot_si128(gti, mi));
    }
  _mm_storeu_ps(o, m);
  _mm_storeu_si128((__m128i*)a, _mm_add_epi32(mi, _mm_set1_epi32((int32_t)base)));
}
#endif

}  // namespace

void maxpool2d(const float* x, float* out, int32_t* arg, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  // Blocks of four outputs go through maxpool_four while all four windows lie inside the row (with stride 2
  // its vector load also reads the float after the last window column, which must be inside the row too).
  const bool simd = p.sw == 1 || p.sw == 2;
  const int64_t extra = p.sw == 2 ? 1 : 0;
  const int64_t owA = (p.pl + p.sw - 1) / p.sw;  // first output whose window starts at column >= 0
  auto blockFits = [&](int64_t ow) { return ow + 3 < p.Wo && (ow + 3) * p.sw - p.pl + p.kw - 1 + extra <= p.W - 1; };
  for_each_plane(p, [&](int64_t pl) {
    const float* xp = x + pl * HW;
    float* op = out + pl * P;
    int32_t* ap = arg + pl * P;
    for (int64_t oh = 0; oh < p.Ho; ++oh) {
      const int64_t h0 = oh * p.sh - p.pt;
      const int64_t hb = std::max<int64_t>(h0, 0), he = std::min<int64_t>(h0 + p.kh, p.H);
      float* orow = op + oh * p.Wo;
      int32_t* arow = ap + oh * p.Wo;
      int64_t ow = 0;
#if defined(__SSE2__)
      if (simd && hb < he) {
        for (; ow < owA && ow < p.Wo; ++ow) maxpool_one(xp, p, hb, he, ow, orow + ow, arow + ow, pl * HW);
        for (; blockFits(ow); ow += 4) maxpool_four(xp, p, hb, he, ow, orow + ow, arow + ow, pl * HW);
      }
#else
      (void)simd, (void)extra, (void)owA;
#endif
      for (; ow < p.Wo; ++ow) maxpool_one(xp, p, hb, he, ow, orow + ow, arow + ow, pl * HW);
    }
  });
}

namespace {
// Stride-1 average pooling as a separable box filter over a zero-padded plane: a row pass then a column pass,
// both plain loops over contiguous floats (the generic window loop does not vectorise). `src` is an Hs x Ws
// plane placed at (top, left) inside a zero frame of Hp x Wp; out (Hp-kh+1) x (Wp-kw+1) = inv * box sums.
void box_filter(const float* src, int64_t Hs, int64_t Ws, int64_t top, int64_t left, int64_t Hp, int64_t Wp, int64_t kh,
                int64_t kw, float inv, float* out) {
  thread_local std::vector<float> pad, rows;
  const int64_t Ho = Hp - kh + 1, Wo = Wp - kw + 1;
  if ((int64_t)pad.size() < Hp * Wp) pad.resize(Hp * Wp);
  if ((int64_t)rows.size() < Hp * Wo) rows.resize(Hp * Wo);
  std::fill(pad.begin(), pad.begin() + Hp * Wp, 0.f);
  for (int64_t h = 0; h < Hs; ++h) std::memcpy(&pad[(h + top) * Wp + left], src + h * Ws, sizeof(float) * Ws);
  for (int64_t h = 0; h < Hp; ++h) {
    const float* in = &pad[h * Wp];
    float* r = &rows[h * Wo];
    for (int64_t w = 0; w < Wo; ++w) r[w] = in[w];
    for (int64_t j = 1; j < kw; ++j)
      for (int64_t w = 0; w < Wo; ++w) r[w] += in[w + j];
  }
  for (int64_t h = 0; h < Ho; ++h) {
    float* o = out + h * Wo;
    for (int64_t w = 0; w < Wo; ++w) o[w] = rows[h * Wo + w];
    for (int64_t i = 1; i < kh; ++i)
      for (int64_t w = 0; w < Wo; ++w) o[w] += rows[(h + i) * Wo + w];
    for (int64_t w = 0; w < Wo; ++w) o[w] *= inv;
  }
}
}  // namespace

void avgpool2d(const float* x, float* out, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  const float inv = 1.f / (float)(p.kh * p.kw);
  if (p.sh == 1 && p.sw == 1) {
    for_each_plane(p, [&](int64_t pl) {
      box_filter(x + pl * HW, p.H, p.W, p.pt, p.pl, p.H + p.pt + p.pb, p.W + p.pl + p.pr, p.kh, p.kw, inv, out + pl * P);
    });
    return;
  }
  for_each_plane(p, [&](int64_t pl) {
    const float* xp = x + pl * HW;
    float* op = out + pl * P;
    for_each_window(p, [&](int64_t i, int64_t hb, int64_t he, int64_t wb, int64_t we) {
      float s = 0.f;
      for (int64_t h = hb; h < he; ++h)
        for (int64_t w = wb; w < we; ++w) s += xp[h * p.W + w];
      op[i] = s * inv;
    });
  });
}

void avgpool2d_backward(const float* gy, float* dx, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  const float inv = 1.f / (float)(p.kh * p.kw);
  if (p.sh == 1 && p.sw == 1) {
    // The transpose of a stride-1 box filter is a box filter of g framed by kh-1-pt rows and kw-1-pl columns.
    const int64_t top = p.kh - 1 - p.pt, left = p.kw - 1 - p.pl;
    for_each_plane(p, [&](int64_t pl) {
      box_filter(gy + pl * P, p.Ho, p.Wo, top, left, p.H + p.kh - 1, p.W + p.kw - 1, p.kh, p.kw, inv, dx + pl * HW);
    });
    return;
  }
  for_each_plane(p, [&](int64_t pl) {
    float* xp = dx + pl * HW;
    const float* gp = gy + pl * P;
    for_each_window(p, [&](int64_t i, int64_t hb, int64_t he, int64_t wb, int64_t we) {
      float v = gp[i] * inv;
      for (int64_t h = hb; h < he; ++h)
        for (int64_t w = wb; w < we; ++w) xp[h * p.W + w] += v;
    });
  });
}

}  // namespace gtn
