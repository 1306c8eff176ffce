// conv2d via im2col + GEMM (1x1 stride-1 unpadded convs are plain GEMMs).
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
#include "lanes_avx2.h"
#include "pool.h"
#include "simd_clones.h"

namespace gtn {
namespace {

// im2col's columns, in this thread's scratch memory
float* col_buf(size_t n) { return scratch(kScratchImage, n); }

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
  for_each_index(g.N, (double)g.N * g.O * P * Kd > 2e5, image);
}

// The AVX2 channels-in-lanes kernels run on AVX-512 CPUs too, but only for passes the AVX-512 kernels do not
// take (`avx512_kernel`): 4-channel convs (the full-depth proxy network's first stage) and pointwise weight
// gradients, where the direct loops and GEMM ran at 2-5% of peak (`npm run bench -- --kernels-only`).
bool use_lanes_avx2(const ConvGeom& g, ConvPass pass, bool avx512_kernel) {
  static const bool avx512 = cpu_has_avx512();
  return lanes_avx2_applies(g, pass) && !(avx512 && avx512_kernel);
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* out, const ConvGeom& g) {
  if (single_out_applies(g)) return single_out_forward(x, w, out, g);
  // With fewer than 16 terms per output (a 3x3 conv on one grey channel) the blocked kernels spend their time
  // storing outputs, and im2col + GEMM measured 1.5-2x faster (`npm run bench`, conv lines).
  const bool blocked = blocked_conv_applies(g, ConvPass::kForward) && (g.C / g.G) * g.kh * g.kw >= 16;
  if (use_lanes_avx2(g, ConvPass::kForward, blocked)) return lanes_avx2_forward(x, w, out, g);
  if (blocked) return blocked_conv_forward(x, w, out, g);
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
  // dx comes uninitialised: the channels-in-lanes kernel (a forward convolution) and pointwise GEMM write every
  // element; the other paths add into it, so they zero it first (per image where they go image by image).
  const auto zeroed = [&] { return (float*)std::memset(dx, 0, sizeof(float) * (size_t)(g.N * g.C * g.H * g.W)); };
  if (single_out_applies(g)) return single_out_backward_input(gy, w, zeroed(), g);
  // The blocked kernel's registers hold output channels, which here are the C input channels: with few of them
  // (a first layer on grey images: C = 1) it wastes most lanes and measured 3-4x slower than the direct path.
  const bool blocked = blocked_conv_applies(g, ConvPass::kInputGrad) && g.C >= 5;
  if (use_lanes_avx2(g, ConvPass::kInputGrad, blocked)) return lanes_avx2_backward_input(gy, w, dx, g);
  if (blocked) return blocked_conv_backward_input(gy, w, zeroed(), g);
  const int64_t Og = g.O / g.G, P = g.Ho * g.Wo, Kd = (g.C / g.G) * g.kh * g.kw;
  const bool overwrites = is_pointwise(g) && !use_direct(g);
  for_each_image_group(g, [&](int64_t n, int64_t gi) {
    float* dxg = dx + x_offset(g, n, gi);
    const float* A = w + w_offset(g, gi);  // [Og, Kd], used transposed
    const float* B = gy + y_offset(g, n, gi);
    if (!overwrites) std::memset(dxg, 0, sizeof(float) * (size_t)((g.C / g.G) * g.H * g.W));
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
  const bool blocked = blocked_conv_applies(g, ConvPass::kWeightGrad);
  if (use_lanes_avx2(g, ConvPass::kWeightGrad, blocked)) return lanes_avx2_backward_weight(x, gy, dw, g);
  if (blocked) return blocked_conv_backward_weight(x, gy, dw, g);
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

}  // namespace gtn
