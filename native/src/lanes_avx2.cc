// Channels-in-lanes convolutions on AVX2 + FMA (16 ymm registers). On these CPUs the register-blocked kernels
// of blocked_conv.cc (16 output columns in two ymm per accumulator, 8 channels) spill and ran at half the speed of
// im2col + GEMM, and GEMM itself reaches only 10-25% of peak on the NB201 proxy's 4-16-channel convs (K = 36..144
// terms per output, one small product per image). Here a register block holds NP output columns x the L * NV
// output channels of the pass in the lanes (L = 8: ymm; L = 4: xmm, for 4-channel convs): per (input channel,
// tap), NV weight vectors are loaded and each input value is broadcast once for all of them. The weight gradient
// puts output channels in the lanes too, with (channel, row, tap) accumulators. Each output sums its terms in a
// fixed order with FMAs, whatever the thread count (its bits differ from the other paths', never between runs).
#include "lanes_avx2.h"

#include <algorithm>
#include <vector>

#include "lanes_weight_grad.h"
#include "pool.h"
#include "x86_intrinsics.h"

namespace gtn {

#if defined(__x86_64__) && defined(__linux__)
#define GTN_AVX2 __attribute__((target("avx2,fma")))

namespace {

// The two vector widths, as the kernels use them.
struct Y8 {
  typedef __m256 V;
  static constexpr int L = 8;
  GTN_AVX2 static inline V zero() { return _mm256_setzero_ps(); }
  GTN_AVX2 static inline V load(const float* p) { return _mm256_loadu_ps(p); }
  GTN_AVX2 static inline V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  GTN_AVX2 static inline V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  GTN_AVX2 static inline V add(V a, V b) { return _mm256_add_ps(a, b); }
  GTN_AVX2 static inline void store(float* p, V v) { _mm256_storeu_ps(p, v); }
};
struct X4 {
  typedef __m128 V;
  static constexpr int L = 4;
  GTN_AVX2 static inline V zero() { return _mm_setzero_ps(); }
  GTN_AVX2 static inline V load(const float* p) { return _mm_loadu_ps(p); }
  GTN_AVX2 static inline V bcast(const float* p) { return _mm_broadcast_ss(p); }
  GTN_AVX2 static inline V fma(V a, V b, V c) { return _mm_fmadd_ps(a, b, c); }
  GTN_AVX2 static inline V add(V a, V b) { return _mm_add_ps(a, b); }
  GTN_AVX2 static inline void store(float* p, V v) { _mm_storeu_ps(p, v); }
};

// Output columns per register block: 12 accumulators (NV = 1) or 2 x 6, leaving registers for the weights and
// the broadcast input.
constexpr int max_np(int NV) { return NV == 2 ? 6 : 12; }

// out[o][oh][ow0 + p] for p < NP and the B = L * NV channels of block wt ([C][kh][kw][B]); o < nob are written.
// The window of output (oh, ow) starts at framed row oh, column ow (stride 1).
template <class I, int NV, int NP>
GTN_AVX2 void fwd_block(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t kh, int64_t kw,
                        int64_t oh, int64_t ow0, float* out, int64_t HoWo, int64_t Wo, int64_t nob) {
  constexpr int B = I::L * NV;
  typename I::V a[NV][NP];
  for (int v = 0; v < NV; ++v)
    for (int p = 0; p < NP; ++p) a[v][p] = I::zero();
  const float* wv = wt;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < kh; ++i) {
      const float* xr = xp + (c * Hp + oh + i) * Wp + ow0;
      for (int64_t j = 0; j < kw; ++j, wv += B) {
        typename I::V w[NV];
        for (int v = 0; v < NV; ++v) w[v] = I::load(wv + I::L * v);
        for (int p = 0; p < NP; ++p) {
          const typename I::V xb = I::bcast(xr + p + j);
          for (int v = 0; v < NV; ++v) a[v][p] = I::fma(w[v], xb, a[v][p]);
        }
      }
    }
  alignas(32) float t[NP][B];
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < NV; ++v) I::store(t[p] + I::L * v, a[v][p]);
  float* o = out + oh * Wo + ow0;
  for (int64_t b = 0; b < nob; ++b)
    for (int p = 0; p < NP; ++p) o[b * HoWo + p] = t[p][b];
}

template <class I, int NV, int NP>
void fwd_dispatch(int np, const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t kh, int64_t kw,
                  int64_t oh, int64_t ow0, float* out, int64_t HoWo, int64_t Wo, int64_t nob) {
  if constexpr (NP > 1) {
    if (np < NP) return fwd_dispatch<I, NV, NP - 1>(np, xp, C, Hp, Wp, wt, kh, kw, oh, ow0, out, HoWo, Wo, nob);
  }
  fwd_block<I, NV, NP>(xp, C, Hp, Wp, wt, kh, kw, oh, ow0, out, HoWo, Wo, nob);
}

// One framed image [C][Hp][Wp] -> out [O][Ho][Wo].
template <class I, int NV>
void fwd_image(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t O, int64_t kh, int64_t kw,
               int64_t Ho, int64_t Wo, float* out) {
  for_each_lanes_block(wt, C * kh * kw, O, I::L * NV, Ho, Wo, max_np(NV),
                       [&](const float* wblk, int64_t ob0, int64_t nob, int64_t oh, int64_t ow0, int64_t np) {
                         fwd_dispatch<I, NV, max_np(NV)>((int)np, xp, C, Hp, Wp, wblk, kh, kw, oh, ow0,
                                                         out + ob0 * Ho * Wo, Ho * Wo, Wo, nob);
                       });
}

// Blocks of 4 channels (4-channel NB201 stages) fill only half a ymm with channels; there the lanes hold 8 output
// columns instead, and a register block is 4 channels x NC column vectors: per (input channel, tap), NC input
// vectors are loaded and each of the 4 weights broadcast once. Rows are framed to whole vectors (zeros past the
// image); `ncols` of the block's 8 * NC columns are stored.
template <int NC>
GTN_AVX2 void cols_block(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t kh, int64_t kw,
                         int64_t oh, int64_t ow0, float* out, int64_t HoWo, int64_t Wo, int64_t nob, int64_t ncols) {
  __m256 a[4][NC];
  for (int b = 0; b < 4; ++b)
    for (int v = 0; v < NC; ++v) a[b][v] = _mm256_setzero_ps();
  const float* wv = wt;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < kh; ++i) {
      const float* xr = xp + (c * Hp + oh + i) * Wp + ow0;
      for (int64_t j = 0; j < kw; ++j, wv += 4) {
        __m256 x[NC];
        for (int v = 0; v < NC; ++v) x[v] = _mm256_loadu_ps(xr + j + 8 * v);
        for (int b = 0; b < 4; ++b) {
          const __m256 w = _mm256_broadcast_ss(wv + b);
          for (int v = 0; v < NC; ++v) a[b][v] = _mm256_fmadd_ps(w, x[v], a[b][v]);
        }
      }
    }
  float* o = out + oh * Wo + ow0;
  for (int64_t b = 0; b < nob; ++b)
    for (int v = 0; v < NC; ++v) {
      const int64_t n = std::min<int64_t>(8, ncols - 8 * v);
      if (n == 8) {
        _mm256_storeu_ps(o + b * HoWo + 8 * v, a[b][v]);
      } else if (n > 0) {
        alignas(32) float t[8];
        _mm256_store_ps(t, a[b][v]);
        std::copy(t, t + n, o + b * HoWo + 8 * v);
      }
    }
}

// One image framed to rows of whole vectors -> out [O][Ho][Wo], blocks of 4 channels, 16 columns at a time.
void cols_image(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t O, int64_t kh, int64_t kw,
                int64_t Ho, int64_t Wo, float* out) {
  for (int64_t ob0 = 0; ob0 < O; ob0 += 4) {
    const float* wblk = wt + (ob0 / 4) * C * kh * kw * 4;
    const int64_t nob = std::min<int64_t>(4, O - ob0);
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow0 = 0; ow0 < Wo; ow0 += 16) {
        const int64_t n = std::min<int64_t>(16, Wo - ow0);
        if (n > 8) cols_block<2>(xp, C, Hp, Wp, wblk, kh, kw, oh, ow0, out + ob0 * Ho * Wo, Ho * Wo, Wo, nob, n);
        else cols_block<1>(xp, C, Hp, Wp, wblk, kh, kw, oh, ow0, out + ob0 * Ho * Wo, Ho * Wo, Wo, nob, n);
      }
  }
}

// Vectors per block for `lanes` output channels of a pass: 16 -> two ymm, 8 -> one ymm, 4 -> columns in the lanes.
enum class Width { kY8x2, kY8, kCols };
Width width_for(int64_t lanes) { return lanes % 16 == 0 ? Width::kY8x2 : lanes % 8 == 0 ? Width::kY8 : Width::kCols; }
int64_t block_of(Width w) { return w == Width::kY8x2 ? 16 : w == Width::kY8 ? 8 : 4; }

// Every image of `in` ([N][Ci][H][W]) framed by (top, bottom, left, right) and convolved at stride 1 into
// out [N][Co][Ho][Wo], with the weights already regrouped by block_weights for blocks of block_of(wd) channels.
void convolve(const float* in, int64_t N, int64_t Ci, int64_t H, int64_t W, int64_t top, int64_t bottom, int64_t left,
              int64_t right, const std::vector<float>& wb, int64_t Co, int64_t kh, int64_t kw, Width wd, float* out) {
  const int64_t Hp = H + top + bottom, Ho = Hp - kh + 1, Wo = W + left + right - kw + 1;
  // The columns kernel reads whole vectors of 8 output columns: its rows are framed to that width.
  const int64_t Wp = wd == Width::kCols ? (Wo + 7) / 8 * 8 + kw - 1 : W + left + right;
  const bool pad = top || bottom || Wp != W;
  auto image = [&](int64_t n) {
    const float* xp = in + n * Ci * H * W;
    if (pad) {
      float* buf = scratch(kScratchImage, (size_t)(Ci * Hp * Wp));
      frame(xp, Ci, H, W, top, left, Hp, Wp, buf);
      xp = buf;
    }
    float* o = out + n * Co * Ho * Wo;
    switch (wd) {
      case Width::kY8x2: return fwd_image<Y8, 2>(xp, Ci, Hp, Wp, wb.data(), Co, kh, kw, Ho, Wo, o);
      case Width::kY8: return fwd_image<Y8, 1>(xp, Ci, Hp, Wp, wb.data(), Co, kh, kw, Ho, Wo, o);
      case Width::kCols: return cols_image(xp, Ci, Hp, Wp, wb.data(), Co, kh, kw, Ho, Wo, o);
    }
  };
  for_each_index(N, true, image);
}

// The weight gradient, output channels in the lanes: dw[o][c][i][j] = sum over images and output pixels of
// gy[o][pixel] * x[c][pixel's window + (i, j)]. A register block is NT (c, i) rows x KW taps x L * NV channels;
// per pixel the channels' gradients (gy transposed to [pixel][O]) are loaded once and each input value broadcast
// once. Registers sum one image, then are added to `sum` ([NT][KW][B]).
template <class I, int NV, int NT, int KW>
GTN_AVX2 void wg_image(const float* xn, const float* gn, int64_t O, int64_t Wp, int64_t Ho, int64_t Wo, int64_t sh,
                       int64_t sw, const int64_t* toff, float* sum) {
  constexpr int B = I::L * NV;
  typename I::V a[NV][NT][KW];
  for (int v = 0; v < NV; ++v)
    for (int t = 0; t < NT; ++t)
      for (int j = 0; j < KW; ++j) a[v][t][j] = I::zero();
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const float* gp = gn + (oh * Wo + ow) * O;
      typename I::V gv[NV];
      for (int v = 0; v < NV; ++v) gv[v] = I::load(gp + I::L * v);
      const float* xb = xn + oh * sh * Wp + ow * sw;
      for (int t = 0; t < NT; ++t)
        for (int j = 0; j < KW; ++j) {
          const typename I::V xv = I::bcast(xb + toff[t] + j);
          for (int v = 0; v < NV; ++v) a[v][t][j] = I::fma(gv[v], xv, a[v][t][j]);
        }
    }
  for (int t = 0; t < NT; ++t)
    for (int j = 0; j < KW; ++j)
      for (int v = 0; v < NV; ++v) {
        float* s = sum + (t * KW + j) * B + I::L * v;
        I::store(s, I::add(I::load(s), a[v][t][j]));
      }
}

// (c, i) rows per register block: 12 accumulators in all.
constexpr int wg_nt(int NV, int KW) { return 12 / (NV * KW); }

template <class I, int NV, int KW, int NT>
void wg_dispatch(int nt, const float* xn, const float* gn, int64_t O, int64_t Wp, int64_t Ho, int64_t Wo, int64_t sh,
                 int64_t sw, const int64_t* toff, float* sum) {
  if constexpr (NT > 1) {
    if (nt < NT) return wg_dispatch<I, NV, KW, NT - 1>(nt, xn, gn, O, Wp, Ho, Wo, sh, sw, toff, sum);
  }
  wg_image<I, NV, NT, KW>(xn, gn, O, Wp, Ho, Wo, sh, sw, toff, sum);
}

// gy [O][P] -> [P][O], float by float (a few channels: the transpose is a small part of the kernel's time).
void transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

template <class I, int NV, int KW>
void weight_grad(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  constexpr int kNT = wg_nt(NV, KW);
  lanes_weight_grad(x, gy, dw, g, I::L * NV, kNT, KW, transpose,
                    [&](int nt, const float* xn, const float* gn, int64_t Wp, const int64_t* toff, float* sum) {
                      wg_dispatch<I, NV, KW, kNT>(nt, xn, gn, g.O, Wp, g.Ho, g.Wo, g.sh, g.sw, toff, sum);
                    });
}

// The weight gradient of stride-1 convs with 4-channel blocks, columns in the lanes: per vector of 8 output
// columns, the gradients of 2 output channels are loaded once and each of NI (c, i) rows' KW shifted input
// vectors once (2 x NI x KW accumulators: 12). Rows are framed to whole vectors, gy with zero columns past Wo.
// Each lane sums its (image, row, column vector) terms in order; the 8 lanes are added in order at the end.
template <int KW, int NI>
GTN_AVX2 void wgc_rows(const float* xn, const float* g0, int64_t Ho, int64_t Wp, int64_t WoP, int64_t plane,
                       const int64_t* toff, float* acc) {
  __m256 a[2][NI][KW];
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < NI; ++t)
      for (int j = 0; j < KW; ++j) a[b][t][j] = _mm256_loadu_ps(acc + ((b * NI + t) * KW + j) * 8);
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow0 = 0; ow0 < WoP; ow0 += 8) {
      const __m256 gv0 = _mm256_loadu_ps(g0 + oh * WoP + ow0), gv1 = _mm256_loadu_ps(g0 + plane + oh * WoP + ow0);
      for (int t = 0; t < NI; ++t) {
        const float* xr = xn + toff[t] + oh * Wp + ow0;
        for (int j = 0; j < KW; ++j) {
          const __m256 xv = _mm256_loadu_ps(xr + j);
          a[0][t][j] = _mm256_fmadd_ps(gv0, xv, a[0][t][j]);
          a[1][t][j] = _mm256_fmadd_ps(gv1, xv, a[1][t][j]);
        }
      }
    }
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < NI; ++t)
      for (int j = 0; j < KW; ++j) _mm256_storeu_ps(acc + ((b * NI + t) * KW + j) * 8, a[b][t][j]);
}

template <int KW, int NI>
void wgc_dispatch(int ni, const float* xn, const float* g0, int64_t Ho, int64_t Wp, int64_t WoP, int64_t plane,
                  const int64_t* toff, float* acc) {
  if constexpr (NI > 1) {
    if (ni < NI) return wgc_dispatch<KW, NI - 1>(ni, xn, g0, Ho, Wp, WoP, plane, toff, acc);
  }
  wgc_rows<KW, NI>(xn, g0, Ho, Wp, WoP, plane, toff, acc);
}

template <int KW>
void weight_grad_cols(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  constexpr int NI = 6 / KW;
  const int64_t WoP = (g.Wo + 7) / 8 * 8, Hp = g.H + g.pt + g.pb, Wp = WoP + KW - 1, T = g.C * g.kh;
  float* xp = scratch(kScratchBatch, (size_t)(g.N * g.C * Hp * Wp));
  float* gp = scratch(kScratchBatch2, (size_t)(g.N * g.O * g.Ho * WoP));
  parallel_for(g.N, 1, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      frame(x + n * g.C * g.H * g.W, g.C, g.H, g.W, g.pt, g.pl, Hp, Wp, xp + n * g.C * Hp * Wp);
      frame(gy + n * g.O * g.Ho * g.Wo, g.O, g.Ho, g.Wo, 0, 0, g.Ho, WoP, gp + n * g.O * g.Ho * WoP);
    }
  });
  // Tasks: (pair of output channels, chunk of row blocks); images in order within a task.
  for_each_group_chunk(g.O / 2, (T + NI - 1) / NI, [&](int64_t pair, int64_t rb0, int64_t rb1) {
    const int64_t o0 = pair * 2;
    const int64_t t0 = rb0 * NI, t1 = std::min(T, rb1 * NI);
    std::vector<float> acc((size_t)((rb1 - rb0) * 2 * NI * KW * 8), 0.f);
    std::vector<int64_t> toff((size_t)((rb1 - rb0) * NI), 0);
    for (int64_t t = t0; t < t1; ++t) toff[t - t0] = (t / g.kh * Hp + t % g.kh) * Wp;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xn = xp + n * g.C * Hp * Wp;
      const float* g0 = gp + (n * g.O + o0) * g.Ho * WoP;
      for (int64_t rb = rb0; rb < rb1; ++rb)
        wgc_dispatch<KW, NI>((int)std::min<int64_t>(NI, T - rb * NI), xn, g0, g.Ho, Wp, WoP, g.Ho * WoP,
                             toff.data() + (rb - rb0) * NI, acc.data() + (rb - rb0) * 2 * NI * KW * 8);
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t rb = (t - t0) / NI, q = (t - t0) % NI, ni = std::min<int64_t>(NI, T - (rb0 + rb) * NI);
      for (int64_t bo = 0; bo < 2; ++bo)
        for (int64_t j = 0; j < KW; ++j) {
          const float* l = acc.data() + rb * 2 * NI * KW * 8 + ((bo * ni + q) * KW + j) * 8;
          float sum = 0.f;
          for (int k = 0; k < 8; ++k) sum += l[k];
          dw[(o0 + bo) * T * KW + t * KW + j] = sum;
        }
    }
  });
}

template <int KW>
void weight_grad_width(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  switch (width_for(g.O)) {
    case Width::kY8x2: return weight_grad<Y8, 2, KW>(x, gy, dw, g);
    case Width::kY8: return weight_grad<Y8, 1, KW>(x, gy, dw, g);
    case Width::kCols:
      if (g.sh == 1 && g.sw == 1) return weight_grad_cols<KW>(x, gy, dw, g);
      return weight_grad<X4, 1, KW>(x, gy, dw, g);
  }
}

bool cpu_ok() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

}  // namespace

bool lanes_avx2_on() { return cpu_ok() && lanes_conv_switch(); }

bool lanes_avx2_applies(const ConvGeom& g, ConvPass pass) {
  if (!lanes_avx2_on() || !blocked_conv_enabled() || g.G != 1) return false;
  const bool framed = g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw;
  if (!framed || g.kh > 7 || g.kw > 7) return false;
  const bool unit = g.sh == 1 && g.sw == 1;
  // 1x1 convs: a few FMAs per output between its scattered stores; im2col + GEMM is as fast or faster there
  // (the weight gradient's kernel is not: 5.3 vs 3.2 GFLOP/s at 4 channels, 32x32, batch 32).
  const bool taps = g.kh * g.kw > 1;
  // Measured against im2col + GEMM (`npm run bench -- --kernels-only`): the forward and input-gradient kernels
  // win up to 32 channels a side and lose from 64 (MNIST's 32 -> 64 at 14x14: 87 vs 103 GFLOP/s), and with a single
  // input channel (9 terms per output) tie; the weight gradient wins from 3 input channels, not at 1 (14 vs 20).
  switch (pass) {
    case ConvPass::kForward: return unit && taps && g.O % 4 == 0 && g.O <= 32 && g.C <= 32 && g.C * g.kh * g.kw >= 16;
    case ConvPass::kInputGrad: return unit && taps && g.C % 4 == 0 && g.C <= 32 && g.O <= 32;
    case ConvPass::kWeightGrad: return g.O % 4 == 0 && g.O <= 64 && g.C >= 3 && g.C <= 64 && (g.kw == 1 || g.kw == 3);
  }
  return false;
}

void lanes_avx2_forward(const float* x, const float* w, float* out, const ConvGeom& g) {
  const Width wd = width_for(g.O);
  convolve(x, g.N, g.C, g.H, g.W, g.pt, g.pb, g.pl, g.pr, block_weights(w, g.O, g.C, g.kh, g.kw, false, block_of(wd)), g.O,
           g.kh, g.kw, wd, out);
}

void lanes_avx2_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  // dx = gy convolved with the flipped, transposed weights over a frame of k-1-pad on each side.
  const Width wd = width_for(g.C);
  convolve(gy, g.N, g.O, g.Ho, g.Wo, g.kh - 1 - g.pt, g.kh - 1 - g.pb, g.kw - 1 - g.pl, g.kw - 1 - g.pr,
           block_weights(w, g.O, g.C, g.kh, g.kw, true, block_of(wd)), g.C, g.kh, g.kw, wd, dx);
}

void lanes_avx2_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  if (g.kw == 1) return weight_grad_width<1>(x, gy, dw, g);
  weight_grad_width<3>(x, gy, dw, g);
}

#else
bool lanes_avx2_on() { return false; }
bool lanes_avx2_applies(const ConvGeom&, ConvPass) { return false; }
void lanes_avx2_forward(const float*, const float*, float*, const ConvGeom&) {}
void lanes_avx2_backward_input(const float*, const float*, float*, const ConvGeom&) {}
void lanes_avx2_backward_weight(const float*, const float*, float*, const ConvGeom&) {}
#endif

}  // namespace gtn
