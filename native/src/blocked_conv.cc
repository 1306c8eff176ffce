// Register-blocked direct convolution (stride 1, one group). Each output row segment of VW floats for OB output
// channels is accumulated in registers over every input channel and kernel tap, reading each input vector once
// for all OB channels; inputs are first copied into zero-framed planes so the inner loops have no bounds
// checks. The backward pass with respect to the input is the same kernel on the gradient with the weights
// flipped and transposed. Sums run over (channel, tap) in a fixed order per output, whatever the thread count;
// arithmetic is mul-then-add (contraction is off), so every SIMD clone computes the same bits.
// On AVX-512 machines, convolutions whose output channels fill 16-channel vectors take the channels-in-lanes
// kernels further down instead (FMA, like the GEMM: their bits differ from the other SIMD levels', never between
// runs or thread counts), and 3x3 convs with one channel on a side the one-channel kernels after those. Strided
// convs (the reductions of NB201 and the CIFAR learner) take the channels-in-lanes forward and weight-gradient
// kernels too, and an input gradient split by phases (cbt_block).
#include "blocked_conv.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "lanes_weight_grad.h"
#include "pool.h"
#include "simd_clones.h"
#include "x86_intrinsics.h"

namespace gtn {

// Copies a C x H x W image into a zero frame [C][Hp][Wp] with the image at (top, left).
void frame(const float* src, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp, int64_t Wp, float* dst) {
  const int64_t right = Wp - left - W;  // zero only the frame: dst may be reused scratch
  for (int64_t c = 0; c < C; ++c) {
    float* d = dst + c * Hp * Wp;
    std::fill(d, d + top * Wp, 0.f);
    for (int64_t h = 0; h < H; ++h) {
      float* row = d + (h + top) * Wp;
      std::fill(row, row + left, 0.f);
      std::memcpy(row + left, src + (c * H + h) * W, sizeof(float) * W);
      std::fill(row + left + W, row + left + W + right, 0.f);
    }
    std::fill(d + (H + top) * Wp, d + Hp * Wp, 0.f);
  }
}

// Weights [O][C][kh][kw] (or, with flip, the transposed and rotated weights of the input gradient:
// w'[c][o][kh-1-i][kw-1-j] = w[o][c][i][j]) regrouped as [O/B][C'][kh][kw][B] (zeros past O).
std::vector<float> block_weights(const float* w, int64_t O, int64_t C, int64_t kh, int64_t kw, bool flip, int64_t B) {
  const int64_t Oo = flip ? C : O, Ci = flip ? O : C;  // output / input channels of the kernel that runs
  std::vector<float> wb((size_t)((Oo + B - 1) / B * B * Ci * kh * kw), 0.f);
  for (int64_t o = 0; o < Oo; ++o)
    for (int64_t c = 0; c < Ci; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          const float v = flip ? w[((c * C + o) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)] : w[((o * C + c) * kh + i) * kw + j];
          wb[(size_t)((((o / B) * Ci + c) * kh + i) * kw + j) * B + (o % B)] = v;
        }
  return wb;
}

namespace {

constexpr int OB = 8;   // output channels per register block
constexpr int VW = 16;  // output columns per register block
constexpr int BW = 4;   // output channels per block of the weight gradient (its kw x BW accumulators)

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// 16 floats: one zmm register on AVX-512, two ymm on AVX2, four xmm otherwise (GCC vector extension).
typedef float vf __attribute__((vector_size(VW * sizeof(float))));
inline vf loadu(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// out[o][oh][ow] = sum_{c,i,j} w[o][c][i][j] * xp[c][oh+i][ow+j] for one image; wb holds the weights of each
// output block as [block][c][i][j][OB] (zeros past O).
GTN_SIMD_CLONES
void forward_image(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wb, int64_t O, int64_t kh, int64_t kw,
                   int64_t Ho, int64_t Wo, float* out) {
  const int64_t taps = C * kh * kw;
  for (int64_t ob0 = 0; ob0 < O; ob0 += OB) {
    const float* wblk = wb + (ob0 / OB) * taps * OB;
    const int64_t nob = std::min<int64_t>(OB, O - ob0);
    for (int64_t oh = 0; oh < Ho; ++oh) {
      for (int64_t ow0 = 0; ow0 < Wo; ow0 += VW) {
        vf acc[OB];
        for (int b = 0; b < OB; ++b) acc[b] = vf{};
        const float* wv = wblk;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < kh; ++i) {
            const float* xr = xp + (c * Hp + oh + i) * Wp + ow0;
            for (int64_t j = 0; j < kw; ++j, wv += OB) {
              const vf xv = loadu(xr + j);
              for (int b = 0; b < OB; ++b) acc[b] = acc[b] + wv[b] * xv;
            }
          }
        const int64_t n = std::min<int64_t>(VW, Wo - ow0);
        for (int64_t b = 0; b < nob; ++b) std::memcpy(out + ((ob0 + b) * Ho + oh) * Wo + ow0, &acc[b], sizeof(float) * n);
      }
    }
  }
}

#if defined(__x86_64__) && defined(__linux__)
// ---------------------------------------------------------------- AVX-512: output channels in the vector lanes
// The kernel above puts output columns in the lanes: every FMA needs its own broadcast weight load, and rows
// narrower than 16 columns (14x14 maps) waste lanes. Here a register block is NP output columns x 16 * NV output
// channels (NV x NP zmm accumulators; NV = 2: up to 14 columns, NV = 1: up to 24): per (channel, tap), NV weight
// vectors are loaded and every input value is broadcast once for all of them, so with NV = 2 loads per FMA drop
// from ~1.1 to ~0.6, and no lane is wasted on any width. Each output sums its (c, i, j) terms in order with FMAs,
// whatever the thread count. `npm run bench` prints each kernel path's GFLOP/s on the workloads' shapes.

std::atomic<int> lanes_mode{-1};  // -1: not yet read from GTN_LANES_CONV

// Whether the channels-in-lanes kernels run: the CPU has AVX-512 and GTN_LANES_CONV=0 / setLanesConv did not
// turn them off (the bench's A/B against the kernels they replace).
bool lanes_on() {
  static const bool cpu = cpu_has_avx512() && __builtin_cpu_supports("fma");
  int m = lanes_mode.load(std::memory_order_relaxed);
  if (m < 0) {
    const char* e = std::getenv("GTN_LANES_CONV");
    m = e && *e == '0' ? 0 : 1;
    lanes_mode.store(m);
  }
  return cpu && m == 1;
}

// out[o][oh][ow0 + p] for p < NP and the 16 * NV channels of block wt ([C][kh][kw][16 * NV]), o < nob valid; the
// window of output (oh, ow) starts at framed row oh * sh, column ow * SW.
template <int NV, int NP, int SW>
__attribute__((target("avx512f,fma"), optimize("no-predictive-commoning"))) void cb_block(
    const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t kh, int64_t kw, int64_t sh, int64_t oh,
    int64_t ow0, float* out, int64_t HoWo, int64_t Wo, int64_t nob) {
  constexpr int B = 16 * NV;
  __m512 a[NV][NP];
  for (int v = 0; v < NV; ++v)
    for (int p = 0; p < NP; ++p) a[v][p] = _mm512_setzero_ps();
  const float* wv = wt;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < kh; ++i) {
      const float* xr = xp + (c * Hp + oh * sh + i) * Wp + ow0 * SW;
      for (int64_t j = 0; j < kw; ++j, wv += B) {
        __m512 w[NV];
        for (int v = 0; v < NV; ++v) w[v] = _mm512_loadu_ps(wv + 16 * v);
        for (int p = 0; p < NP; ++p) {
          const __m512 xb = _mm512_set1_ps(xr[p * SW + j]);
          for (int v = 0; v < NV; ++v) a[v][p] = _mm512_fmadd_ps(w[v], xb, a[v][p]);
        }
      }
    }
  alignas(64) float t[NP][B];
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < NV; ++v) _mm512_store_ps(t[p] + 16 * v, a[v][p]);
  float* o = out + oh * Wo + ow0;
  for (int64_t b = 0; b < nob; ++b)
    for (int p = 0; p < NP; ++p) o[b * HoWo + p] = t[p][b];
}

// Columns per register block: 2 x 14 or 1 x 24 accumulators of the 32 zmm registers.
constexpr int max_np(int NV) { return NV == 2 ? 14 : 24; }

template <int NV, int NP, int SW>
void cb_dispatch(int np, const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t kh, int64_t kw,
                 int64_t sh, int64_t oh, int64_t ow0, float* out, int64_t HoWo, int64_t Wo, int64_t nob) {
  if constexpr (NP > 1) {
    if (np < NP) return cb_dispatch<NV, NP - 1, SW>(np, xp, C, Hp, Wp, wt, kh, kw, sh, oh, ow0, out, HoWo, Wo, nob);
  }
  cb_block<NV, NP, SW>(xp, C, Hp, Wp, wt, kh, kw, sh, oh, ow0, out, HoWo, Wo, nob);
}

// The whole image: output columns in blocks of at most max_np, as even as possible (28 -> 14 + 14); strides
// (sh, SW), SW 1 or 2.
template <int NV, int SW>
void forward_image_cb(const float* xp, int64_t C, int64_t Hp, int64_t Wp, const float* wt, int64_t O, int64_t kh,
                      int64_t kw, int64_t sh, int64_t Ho, int64_t Wo, float* out) {
  for_each_lanes_block(wt, C * kh * kw, O, 16 * NV, Ho, Wo, max_np(NV),
                       [&](const float* wblk, int64_t ob0, int64_t nob, int64_t oh, int64_t ow0, int64_t np) {
                         cb_dispatch<NV, max_np(NV), SW>((int)np, xp, C, Hp, Wp, wblk, kh, kw, sh, oh, ow0,
                                                         out + ob0 * Ho * Wo, Ho * Wo, Wo, nob);
                       });
}

// The input gradient of a strided conv with input channels in the lanes, by phases: dx[c][h][w] sums
// w[o][c][i][j] * gy[o][oh][ow] over the taps with oh * sh + i = h + pt and ow * sw + j = w + pl, so the columns w
// with one residue r of (w + pl) mod sw share their valid taps j (j = r, r + sw, ...) and, for consecutive such
// columns, read consecutive ow. A register block is NP columns of one phase x 16 * NV channels; `taps` lists the
// valid (i, j) of the row's phase as (offset into the framed gy plane, offset into a channel's weights). No
// zero is multiplied (a zero-stuffed gy would be 75% zeros at stride 2).
template <int NV, int NP>
__attribute__((target("avx512f,fma"), optimize("no-predictive-commoning"))) void cbt_block(
    const float* gp, int64_t O, int64_t plane, const float* wt, int64_t wstride, const int64_t (*taps)[2], int64_t ntaps,
    int64_t q0, float* dx, int64_t HW, int64_t sw, int64_t nob) {
  constexpr int B = 16 * NV;
  __m512 a[NV][NP];
  for (int v = 0; v < NV; ++v)
    for (int p = 0; p < NP; ++p) a[v][p] = _mm512_setzero_ps();
  for (int64_t o = 0; o < O; ++o) {
    const float* go = gp + o * plane + q0;
    const float* wo = wt + o * wstride;
    for (int64_t t = 0; t < ntaps; ++t) {
      const float* row = go + taps[t][0];
      __m512 w[NV];
      for (int v = 0; v < NV; ++v) w[v] = _mm512_loadu_ps(wo + taps[t][1] + 16 * v);
      for (int p = 0; p < NP; ++p) {
        const __m512 xb = _mm512_set1_ps(row[p]);
        for (int v = 0; v < NV; ++v) a[v][p] = _mm512_fmadd_ps(w[v], xb, a[v][p]);
      }
    }
  }
  alignas(64) float t[NP][B];
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < NV; ++v) _mm512_store_ps(t[p] + 16 * v, a[v][p]);
  for (int64_t b = 0; b < nob; ++b)
    for (int p = 0; p < NP; ++p) dx[b * HW + p * sw] = t[p][b];
}

template <int NV, int NP>
void cbt_dispatch(int np, const float* gp, int64_t O, int64_t plane, const float* wt, int64_t wstride,
                  const int64_t (*taps)[2], int64_t ntaps, int64_t q0, float* dx, int64_t HW, int64_t sw, int64_t nob) {
  if constexpr (NP > 1) {
    if (np < NP) return cbt_dispatch<NV, NP - 1>(np, gp, O, plane, wt, wstride, taps, ntaps, q0, dx, HW, sw, nob);
  }
  cbt_block<NV, NP>(gp, O, plane, wt, wstride, taps, ntaps, q0, dx, HW, sw, nob);
}

// One image: gy [O][Ho][Wo] framed in gp ([O][Hg][Wg], the plane at (mh, mw)) -> dx [C][H][W] (every element
// written). wt: the weights as [C / B][O][kh][kw][B] with the taps rotated (block_weights' input-gradient layout).
template <int NV>
void input_grad_strided_image(const float* gp, int64_t Hg, int64_t Wg, int64_t mh, int64_t mw, const float* wt,
                              const ConvGeom& g, float* dx) {
  constexpr int B = 16 * NV;
  const int64_t nblk_max = max_np(NV), HW = g.H * g.W, plane = Hg * Wg, wstride = g.kh * g.kw * B;
  int64_t taps[49][2];
  for (int64_t cb0 = 0; cb0 < g.C; cb0 += B) {
    const float* wblk = wt + (cb0 / B) * g.O * wstride;
    const int64_t nob = std::min<int64_t>(B, g.C - cb0);
    for (int64_t h = 0; h < g.H; ++h) {
      const int64_t v = h + g.pt;
      for (int64_t r = 0; r < g.sw; ++r) {
        // this phase's taps: rows i = v mod sh + k sh (oh = (v - i) / sh), columns j = r + k sw (ow = q - (j - r) / sw)
        int64_t nt = 0;
        for (int64_t i = v % g.sh; i < g.kh; i += g.sh)
          for (int64_t j = r; j < g.kw; j += g.sw) {
            taps[nt][0] = (mh + (v - i) / g.sh) * Wg + mw - (j - r) / g.sw;
            taps[nt][1] = ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * B;  // rotated taps
            ++nt;
          }
        // columns w = q sw + r - pl inside [0, W)
        const int64_t qlo = (g.pl - r + g.sw - 1) / g.sw, qhi = (g.W + g.pl - 1 - r) / g.sw;  // pl >= r or qlo >= 0
        if (qhi < qlo) continue;
        const int64_t n = qhi - qlo + 1, nblk = (n + nblk_max - 1) / nblk_max, np = (n + nblk - 1) / nblk;
        for (int64_t q0 = qlo; q0 <= qhi; q0 += np)
          cbt_dispatch<NV, max_np(NV)>((int)std::min<int64_t>(np, qhi + 1 - q0), gp, g.O, plane, wblk, wstride, taps, nt,
                                       q0, dx + cb0 * HW + h * g.W + q0 * g.sw + r - g.pl, HW, g.sw, nob);
      }
    }
  }
}

bool input_grad_strided_applies(const ConvGeom& g) {
  return lanes_on() && (g.sh > 1 || g.sw > 1) && g.G == 1 && g.C % 16 == 0 && g.kh <= 7 && g.kw <= 7 && g.O <= 256 &&
         g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw;
}

template <int NV>
void input_grad_strided(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  // The weights as the stride-1 input gradient takes them: [C / B][O][kh][kw][B], taps rotated.
  const std::vector<float> wt = block_weights(w, g.O, g.C, g.kh, g.kw, true, 16 * NV);
  // gy framed so that every tap reads inside: oh from -(kh - 1) / sh to (H + pt - 1) / sh, ow likewise.
  const int64_t mh = (g.kh - 1) / g.sh, mw = (g.kw - 1) / g.sw;
  const int64_t Hg = mh + std::max(g.Ho, (g.H + g.pt - 1) / g.sh + 1), Wg = mw + std::max(g.Wo, (g.W + g.pl - 1) / g.sw + 1);
  auto image = [&](int64_t n) {
    float* gp = scratch(kScratchImage, (size_t)(g.O * Hg * Wg));
    frame(gy + n * g.O * g.Ho * g.Wo, g.O, g.Ho, g.Wo, mh, mw, Hg, Wg, gp);
    input_grad_strided_image<NV>(gp, Hg, Wg, mh, mw, wt.data(), g, dx + n * g.C * g.H * g.W);
  };
  for_each_index(g.N, true, image);
}

// The weight gradient with output channels in the lanes: dw[o][c][i][j] = sum over images and output pixels of
// gy[o][pixel] * x[c][pixel shifted by (i, j)]. A register block is NT (c, i) pairs x 3 taps j x 32 channels
// (2 x 3 x NT zmm); per pixel, the 32 gradients (gy transposed to [pixel][O]) are loaded once and each input
// value broadcast once. Registers sum one image, then are added to `sum`: a task walks the images in order and,
// for each, all of its (c, i) blocks while that image's gradients (Ho * Wo * 32 floats) sit in L1. Every dw
// element sums its terms in (image, row, column) order, whatever the partition.
template <int NV, int NT>
__attribute__((target("avx512f,fma"), optimize("no-predictive-commoning"))) void wg_image(
    const float* xn, const float* gn, int64_t O, int64_t Wp, int64_t Ho, int64_t Wo, int64_t sh, int64_t sw,
    const int64_t* toff, float* sum) {
  constexpr int KW = 3, B = 16 * NV;
  __m512 a[NV][NT][KW];
  for (int v = 0; v < NV; ++v)
    for (int t = 0; t < NT; ++t)
      for (int j = 0; j < KW; ++j) a[v][t][j] = _mm512_setzero_ps();
  for (int64_t oh = 0; oh < Ho; ++oh)
    for (int64_t ow = 0; ow < Wo; ++ow) {
      const float* gp = gn + (oh * Wo + ow) * O;
      __m512 gv[NV];
      for (int v = 0; v < NV; ++v) gv[v] = _mm512_loadu_ps(gp + 16 * v);
      const float* xb = xn + oh * sh * Wp + ow * sw;
      for (int t = 0; t < NT; ++t)
        for (int j = 0; j < KW; ++j) {
          const __m512 xv = _mm512_set1_ps(xb[toff[t] + j]);
          for (int v = 0; v < NV; ++v) a[v][t][j] = _mm512_fmadd_ps(gv[v], xv, a[v][t][j]);
        }
    }
  for (int t = 0; t < NT; ++t)
    for (int j = 0; j < KW; ++j)
      for (int v = 0; v < NV; ++v) {
        float* s0 = sum + (t * KW + j) * B + 16 * v;
        _mm512_storeu_ps(s0, _mm512_add_ps(_mm512_loadu_ps(s0), a[v][t][j]));
      }
}

// (c, i) pairs per register block: 2 x 3 x 4 or 1 x 3 x 8 accumulators.
constexpr int wg_nt(int NV) { return NV == 2 ? 4 : 8; }

template <int NV, int NT>
void wg_dispatch(int nt, const float* xn, const float* gn, int64_t O, int64_t Wp, int64_t Ho, int64_t Wo, int64_t sh,
                 int64_t sw, const int64_t* toff, float* sum) {
  if constexpr (NT > 1) {
    if (nt < NT) return wg_dispatch<NV, NT - 1>(nt, xn, gn, O, Wp, Ho, Wo, sh, sw, toff, sum);
  }
  wg_image<NV, NT>(xn, gn, O, Wp, Ho, Wo, sh, sw, toff, sum);
}

bool wg_cb_applies(const ConvGeom& g) {
  return lanes_on() && g.C >= 4 && g.G == 1 && g.kw == 3 && g.kh <= 7 && g.O % 16 == 0 &&
         g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw;
}

// dst [cols][rows] = src [rows][cols] (rows a multiple of 16): 16 x 16 tiles transposed in registers (a float-
// by-float transpose of the weight gradient's gy was a quarter of its time).
__attribute__((target("avx512f"))) void transpose_cb(const float* src, int64_t rows, int64_t cols, float* dst) {
  int64_t c0 = 0;
  for (; c0 + 16 <= cols; c0 += 16)
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
      __m512 t[16], u[16];
      for (int i = 0; i < 16; ++i) t[i] = _mm512_loadu_ps(src + (r0 + i) * cols + c0);
      // Pairs of rows interleaved, then pairs of pairs, then 128-bit lanes across 4 and 8 rows.
      for (int i = 0; i < 16; i += 2) {
        u[i] = _mm512_unpacklo_ps(t[i], t[i + 1]);
        u[i + 1] = _mm512_unpackhi_ps(t[i], t[i + 1]);
      }
      for (int i = 0; i < 16; i += 4)
        for (int k = 0; k < 2; ++k) {
          t[i + k] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[i + k]), _mm512_castps_pd(u[i + 2 + k])));
          t[i + 2 + k] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[i + k]), _mm512_castps_pd(u[i + 2 + k])));
        }
      for (int i = 0; i < 16; i += 8)
        for (int k = 0; k < 4; ++k) {
          u[i + k] = _mm512_shuffle_f32x4(t[i + k], t[i + 4 + k], 0x88);
          u[i + 4 + k] = _mm512_shuffle_f32x4(t[i + k], t[i + 4 + k], 0xdd);
        }
      for (int k = 0; k < 8; ++k) {
        t[k] = _mm512_shuffle_f32x4(u[k], u[8 + k], 0x88);
        t[8 + k] = _mm512_shuffle_f32x4(u[k], u[8 + k], 0xdd);
      }
      // t[j] now holds column c0 + perm(j) of the 16 rows.
      static constexpr int kCol[16] = {0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15};
      for (int j = 0; j < 16; ++j) _mm512_storeu_ps(dst + (c0 + kCol[j]) * rows + r0, t[j]);
    }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = c0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

template <int NV>
void weight_grad_cb(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  constexpr int B = 16 * NV, kNT = wg_nt(NV);
  lanes_weight_grad(x, gy, dw, g, B, kNT, 3, transpose_cb,
                    [&](int nt, const float* xn, const float* gn, int64_t Wp, const int64_t* toff, float* sum) {
                      wg_dispatch<NV, kNT>(nt, xn, gn, g.O, Wp, g.Ho, g.Wo, g.sh, g.sw, toff, sum);
                    });
}

// The weight gradient of a 3x3 conv with one channel on either side (a first layer on grey images, a generator's
// last layer), where the channels-in-lanes kernel has no channels to fill its lanes and the others re-read or
// copy the large side: per (output, input) channel pair, the 9 tap sums run over the image rows with up to 32
// output columns in two vectors and 9 x 2 accumulators in registers. Masked loads stand in for the zero frame
// (lanes past the row or over the padding read nothing), so neither side is copied. Each pair is one task,
// summed over the images in order: the bits do not depend on the thread count.
bool wg_pairs_applies(const ConvGeom& g) {
  return lanes_on() && (g.C == 1 || g.O == 1) && g.G == 1 && g.sh == 1 && g.sw == 1 && g.kh == 3 && g.kw == 3 &&
         g.Wo <= 32 && g.pt < 3 && g.pb < 3 && g.pl < 3 && g.pr < 3;
}

// Lane masks of a row of `cols` outputs read from a row of `width` at offset j - off: lanes with ow < cols and
// 0 <= ow + j - off < width.
template <int NV>
inline void row_masks(int64_t cols, int64_t width, int64_t off, __mmask16 (&m)[3][NV], __mmask16 (&mo)[NV]) {
  for (int v = 0; v < NV; ++v) {
    mo[v] = 0;
    for (int j = 0; j < 3; ++j) m[j][v] = 0;
    for (int q = 0; q < 16; ++q) {
      if (16 * v + q >= cols) continue;
      mo[v] |= (__mmask16)(1u << q);
      for (int j = 0; j < 3; ++j) {
        const int64_t col = 16 * v + q + j - off;
        if (col >= 0 && col < width) m[j][v] |= (__mmask16)(1u << q);
      }
    }
  }
}

// Pairs [p0, p1) of one task (pair p: output o = p / C, input c = p % C); images in order, and for each image the
// pairs in order, so that consecutive planes of the large side are read one after the other. Each pair's 9 x NV
// accumulators live in `acc` between images (L1: 1.2 KB per pair).
template <int NV>
__attribute__((target("avx512f,fma"))) void wg_pairs_task(const float* x, const float* gy, const ConvGeom& g, int64_t p0,
                                                        int64_t p1, float* acc, float* dw) {
  const int64_t HW = g.H * g.W, P = g.Ho * g.Wo;
  __mmask16 mx[3][NV], mg[NV];
  row_masks<NV>(g.Wo, g.W, g.pl, mx, mg);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t p = p0; p < p1; ++p) {
      const float* xn = x + (n * g.C + p % g.C) * HW;
      const float* gn = gy + (n * g.O + p / g.C) * P;
      float* ap = acc + (p - p0) * 9 * NV * 16;
      __m512 a[3][3][NV];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          for (int v = 0; v < NV; ++v) a[i][j][v] = _mm512_loadu_ps(ap + ((i * 3 + j) * NV + v) * 16);
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        __m512 gv[NV];
        for (int v = 0; v < NV; ++v) gv[v] = _mm512_maskz_loadu_ps(mg[v], gn + oh * g.Wo + 16 * v);
        for (int i = 0; i < 3; ++i) {
          const int64_t r = oh + i - g.pt;
          if (r < 0 || r >= g.H) continue;
          const float* xr = xn + r * g.W - g.pl;  // xr[ow + j]: the input under output column ow, tap column j
          for (int j = 0; j < 3; ++j)
            for (int v = 0; v < NV; ++v)
              a[i][j][v] = _mm512_fmadd_ps(gv[v], _mm512_maskz_loadu_ps(mx[j][v], xr + 16 * v + j), a[i][j][v]);
        }
      }
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          for (int v = 0; v < NV; ++v) _mm512_storeu_ps(ap + ((i * 3 + j) * NV + v) * 16, a[i][j][v]);
    }
  for (int64_t p = p0; p < p1; ++p)
    for (int t = 0; t < 9; ++t) {
      const float* l = acc + ((p - p0) * 9 + t) * NV * 16;
      float sum = 0.f;
      for (int q = 0; q < 16 * NV; ++q) sum += l[q];
      dw[p * 9 + t] = sum;
    }
}

void weight_grad_pairs(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  parallel_for(g.O * g.C, 1, 1, [&](int64_t p0, int64_t p1) {
    std::vector<float> acc((size_t)((p1 - p0) * 9 * 32), 0.f);
    if (g.Wo > 16) wg_pairs_task<2>(x, gy, g, p0, p1, acc.data(), dw);
    else wg_pairs_task<1>(x, gy, g, p0, p1, acc.data(), dw);
  });
}

// A 3x3 conv to one output channel (a generator's last layer) and its input gradient, with the columns of a row
// (up to 32) in masked vectors and the input channels' taps as broadcast weights: each output element sums its
// (channel, tap) terms in a fixed order in one task (an image, or an image's input channel), reading the large
// side once. The im2col + GEMM path copied 9x the input for a one-row matrix product.
bool so_applies(const ConvGeom& g) {
  return lanes_on() && g.O == 1 && g.G == 1 && g.sh == 1 && g.sw == 1 && g.kh == 3 && g.kw == 3 && g.Wo <= 32 &&
         g.W <= 32 && g.pt < 3 && g.pb < 3 && g.pl < 3 && g.pr < 3;
}

template <int NV>
__attribute__((target("avx512f,fma"))) void single_out_forward_image(const float* xn, const float* w, float* on,
                                                                   const ConvGeom& g) {
  __mmask16 mx[3][NV], mo[NV];
  row_masks<NV>(g.Wo, g.W, g.pl, mx, mo);
  for (int64_t oh = 0; oh < g.Ho; ++oh) {
    __m512 a[NV];
    for (int v = 0; v < NV; ++v) a[v] = _mm512_setzero_ps();
    for (int64_t c = 0; c < g.C; ++c)
      for (int i = 0; i < 3; ++i) {
        const int64_t r = oh + i - g.pt;
        if (r < 0 || r >= g.H) continue;
        const float* xr = xn + (c * g.H + r) * g.W - g.pl;
        for (int j = 0; j < 3; ++j) {
          const __m512 wv = _mm512_set1_ps(w[(c * 3 + i) * 3 + j]);
          for (int v = 0; v < NV; ++v) a[v] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mx[j][v], xr + 16 * v + j), a[v]);
        }
      }
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(on + oh * g.Wo + 16 * v, mo[v], a[v]);
  }
}

// dx[c][r][col] = sum_{i,j} w[c][i][j] gy[r - i + pt][col - j + pl]: the same loop with the kernel flipped.
template <int NV>
__attribute__((target("avx512f,fma"))) void single_out_backward_input_plane(const float* gn, const float* wc, float* dxc,
                                                                          const ConvGeom& g) {
  __mmask16 mg[3][NV], mo[NV];
  row_masks<NV>(g.W, g.Wo, 2 - g.pl, mg, mo);  // tap column j reads gy column col + j - (2 - pl), i.e. kernel column 2 - j
  for (int64_t r = 0; r < g.H; ++r) {
    __m512 a[NV];
    for (int v = 0; v < NV; ++v) a[v] = _mm512_setzero_ps();
    for (int i = 0; i < 3; ++i) {
      const int64_t oh = r - i + g.pt;
      if (oh < 0 || oh >= g.Ho) continue;
      const float* gr = gn + oh * g.Wo - (2 - g.pl);
      for (int j = 0; j < 3; ++j) {
        const __m512 wv = _mm512_set1_ps(wc[i * 3 + 2 - j]);
        for (int v = 0; v < NV; ++v) a[v] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(mg[j][v], gr + 16 * v + j), a[v]);
      }
    }
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(dxc + r * g.W + 16 * v, mo[v], a[v]);
  }
}

void so_forward(const float* x, const float* w, float* out, const ConvGeom& g) {
  parallel_for(g.N, 1, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const float* xn = x + n * g.C * g.H * g.W;
      float* on = out + n * g.Ho * g.Wo;
      if (g.Wo > 16) single_out_forward_image<2>(xn, w, on, g);
      else single_out_forward_image<1>(xn, w, on, g);
    }
  });
}

void so_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  parallel_for(g.N * g.C, 1, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* gn = gy + (p / g.C) * g.Ho * g.Wo;
      float* dxc = dx + p * g.H * g.W;
      if (g.W > 16) single_out_backward_input_plane<2>(gn, w + (p % g.C) * 9, dxc, g);
      else single_out_backward_input_plane<1>(gn, w + (p % g.C) * 9, dxc, g);
    }
  });
}
#else
bool lanes_on() { return false; }
std::atomic<int> lanes_mode{0};
bool wg_cb_applies(const ConvGeom&) { return false; }
bool wg_pairs_applies(const ConvGeom&) { return false; }
void weight_grad_pairs(const float*, const float*, float*, const ConvGeom&) {}
bool so_applies(const ConvGeom&) { return false; }
void so_forward(const float*, const float*, float*, const ConvGeom&) {}
void so_backward_input(const float*, const float*, float*, const ConvGeom&) {}
template <int NV>
void weight_grad_cb(const float*, const float*, float*, const ConvGeom&) {}
bool input_grad_strided_applies(const ConvGeom&) { return false; }
template <int NV>
void input_grad_strided(const float*, const float*, float*, const ConvGeom&) {}
template <int NV, int SW>
void forward_image_cb(const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                      float*) {}
#endif

// Runs the forward kernel over every image of `in` ([N][C][H][W]) framed by (top, left, bottom, right), at strides
// (sh, sw); strides other than 1 only with the channels-in-lanes kernel (nv > 0) and sw <= 2.
void convolve(const float* in, int64_t N, int64_t C, int64_t H, int64_t W, int64_t top, int64_t bottom, int64_t left, int64_t right,
              const std::vector<float>& wb, int64_t O, int64_t kh, int64_t kw, float* out, int nv, int64_t sh = 1,
              int64_t sw = 1) {
  const int64_t Hp = H + top + bottom, Ho = (Hp - kh) / sh + 1, Wo = (W + left + right - kw) / sw + 1;
  // Vector loads of the last block stay inside the frame (the lanes kernels read single floats).
  const int64_t Wp = nv ? W + left + right : round_up(Wo, VW) + kw - 1;
  auto image = [&](int64_t n) {
    float* xp = scratch(kScratchImage, (size_t)(C * Hp * Wp));
    frame(in + n * C * H * W, C, H, W, top, left, Hp, Wp, xp);
    const float* w = wb.data();
    float* o = out + n * O * Ho * Wo;
    if (nv == 0)
      forward_image(xp, C, Hp, Wp, w, O, kh, kw, Ho, Wo, o);
    else if (sw == 2)
      (nv == 2 ? forward_image_cb<2, 2> : forward_image_cb<1, 2>)(xp, C, Hp, Wp, w, O, kh, kw, sh, Ho, Wo, o);
    else
      (nv == 2 ? forward_image_cb<2, 1> : forward_image_cb<1, 1>)(xp, C, Hp, Wp, w, O, kh, kw, sh, Ho, Wo, o);
  };
  for_each_index(N, true, image);
}

// dw[o][c][i][j] for input channels [c0, c1): sums over images, rows and column blocks of gy[o] * xp[c] shifted
// into BW x KW vector accumulators (KW = the kernel width, fixed at compile time so they sit in registers), kept
// between images in `acc` so each image's planes are read while they are in cache; folded pairwise at the end.
// Every lane adds its terms in (image, row, column block) order, whatever the thread count.
template <int KW>
GTN_SIMD_CLONES void weight_grad(const float* xp, const float* gp, int64_t N, int64_t C, int64_t O, int64_t Hp, int64_t Wp, int64_t Ho,
                            int64_t WoP, int64_t kh, int64_t c0, int64_t c1, float* dw) {
  const int64_t blocks = (O + BW - 1) / BW;
  // Plain floats (read and written unaligned): a std::vector of vf need not be aligned to the vector's size.
  std::vector<float> acc((size_t)((c1 - c0) * kh * blocks * BW * KW * VW), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t ob = 0; ob < blocks; ++ob) {
          const int64_t o0 = ob * BW, nb = std::min<int64_t>(BW, O - o0);
          float* a = &acc[(size_t)((((c - c0) * kh + i) * blocks + ob) * BW * KW * VW)];
          vf r[BW][KW];
          for (int b = 0; b < BW; ++b)
            for (int j = 0; j < KW; ++j) r[b][j] = loadu(a + (b * KW + j) * VW);
          for (int64_t oh = 0; oh < Ho; ++oh) {
            const float* xr = xp + ((n * C + c) * Hp + oh + i) * Wp;
            const float* g[BW];
            for (int b = 0; b < BW; ++b) g[b] = gp + ((n * O + o0 + std::min<int64_t>(b, nb - 1)) * Ho + oh) * WoP;
            for (int64_t ow0 = 0; ow0 < WoP; ow0 += VW) {
              vf gv[BW];
              for (int b = 0; b < BW; ++b) gv[b] = loadu(g[b] + ow0);
              for (int j = 0; j < KW; ++j) {
                const vf xv = loadu(xr + ow0 + j);
                for (int b = 0; b < BW; ++b) r[b][j] = r[b][j] + gv[b] * xv;
              }
            }
          }
          for (int b = 0; b < BW; ++b)
            for (int j = 0; j < KW; ++j) std::memcpy(a + (b * KW + j) * VW, &r[b][j], sizeof(vf));
        }
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t ob = 0; ob < blocks; ++ob)
        for (int64_t b = 0; b < std::min<int64_t>(BW, O - ob * BW); ++b)
          for (int j = 0; j < KW; ++j) {
            float v[VW];
            std::memcpy(v, &acc[(size_t)(((((c - c0) * kh + i) * blocks + ob) * BW * KW + b * KW + j) * VW)], sizeof v);
            for (int w = VW / 2; w >= 1; w /= 2)
              for (int q = 0; q < w; ++q) v[q] = v[q] + v[q + w];
            dw[(((ob * BW + b) * C + c) * kh + i) * KW + j] = v[0];
          }
}

// The channels-in-lanes kernel on AVX-512 machines: vectors of output channels per block (2: 32 channels, 1: 16),
// or 0 where the outputs do not fill whole vectors.
int use_cb(int64_t outChannels) { return !lanes_on() ? 0 : outChannels % 32 == 0 ? 2 : outChannels % 16 == 0 ? 1 : 0; }

std::atomic<int> mode{-1};  // -1: not yet read from GTN_BLOCKED_CONV

bool enabled() {
  int m = mode.load(std::memory_order_relaxed);
  if (m < 0) {
    const char* e = std::getenv("GTN_BLOCKED_CONV");
    m = e && *e == '0' ? 0 : 1;
    mode.store(m);
  }
  return m == 1;
}

}  // namespace

bool cpu_has_avx512() {
#if defined(__x86_64__) && defined(__linux__)
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool single_out_applies(const ConvGeom& g) { return enabled() && so_applies(g); }
void single_out_forward(const float* x, const float* w, float* out, const ConvGeom& g) { so_forward(x, w, out, g); }
void single_out_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  so_backward_input(gy, w, dx, g);
}

void set_blocked_conv(bool on) { mode.store(on ? 1 : 0); }
bool blocked_conv_enabled() { return enabled(); }
void set_lanes_conv(bool on) { lanes_mode.store(on ? 1 : 0); }
bool lanes_conv_enabled() { return lanes_on() || lanes_avx2_on(); }
bool lanes_conv_switch() {
  lanes_on();  // reads GTN_LANES_CONV on first use
  return lanes_mode.load(std::memory_order_relaxed) == 1;
}

bool blocked_conv_applies(const ConvGeom& g, ConvPass pass) {
  const bool weight = pass == ConvPass::kWeightGrad;
  const bool pointwise = g.kh == 1 && g.kw == 1 && g.pt == 0 && g.pb == 0 && g.pl == 0 && g.pr == 0;
  const bool framed = g.pt < g.kh && g.pb < g.kh && g.pl < g.kw && g.pr < g.kw;
  if (weight && enabled() && (wg_cb_applies(g) || wg_pairs_applies(g))) return true;
  // Without AVX-512 the blocked weight gradient's accumulators spill: at one input channel (MNIST's first layer) it
  // ran at a third of im2col + GEMM's speed (7 vs 23 GFLOP/s; two channels go to GEMM alike, unmeasured; from 3,
  // lanes_avx2.cc takes over).
  static const bool avx512 = cpu_has_avx512();
  if (weight && g.C < 3 && !avx512) return false;
  // Strided passes (NB201's and the CIFAR learner's reductions; im2col + GEMM reached 15-35% of peak on them):
  // the input gradient by phases, the forward pass on the channels-in-lanes kernel.
  if (pass == ConvPass::kInputGrad && (g.sh > 1 || g.sw > 1)) return enabled() && input_grad_strided_applies(g);
  if (pass == ConvPass::kForward && (g.sh > 1 || g.sw > 1))
    return enabled() && use_cb(g.O) && g.sw <= 2 && g.G == 1 && !pointwise && g.kw <= 7 && g.kh <= 7 && g.C <= 64 &&
           g.O <= 128 && g.Wo >= 4 && framed;
  // Rows shorter than a vector waste lanes (8x8 maps measured slower than im2col + GEMM); the weight gradient's
  // kernel re-reads the gradient once per input channel and loses to GEMM from 32 input channels on.
  return enabled() && g.sh == 1 && g.sw == 1 && g.G == 1 && !pointwise && g.kw <= 7 && g.kh <= 7 && g.O >= 5 &&
         ((g.Wo >= VW && g.W >= VW) || (!weight && use_cb(g.O) && use_cb(g.C) && g.Wo >= 4 && g.W >= 4)) && g.C <= (weight ? 16 : 64) && g.O <= 128 && framed;
}

void blocked_conv_forward(const float* x, const float* w, float* out, const ConvGeom& g) {
  const int nv = use_cb(g.O);
  convolve(x, g.N, g.C, g.H, g.W, g.pt, g.pb, g.pl, g.pr, block_weights(w, g.O, g.C, g.kh, g.kw, false, nv ? 16 * nv : OB),
           g.O, g.kh, g.kw, out, nv, g.sh, g.sw);
}

void blocked_conv_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g) {
  if (g.sh > 1 || g.sw > 1) return g.C % 32 == 0 ? input_grad_strided<2>(gy, w, dx, g) : input_grad_strided<1>(gy, w, dx, g);
  // dx = gy convolved with the flipped, transposed weights over a frame of k-1-pad on each side.
  convolve(gy, g.N, g.O, g.Ho, g.Wo, g.kh - 1 - g.pt, g.kh - 1 - g.pb, g.kw - 1 - g.pl, g.kw - 1 - g.pr,
           block_weights(w, g.O, g.C, g.kh, g.kw, true, use_cb(g.C) ? 16 * use_cb(g.C) : OB), g.C, g.kh, g.kw, dx, use_cb(g.C));
}

void blocked_conv_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g) {
  if (wg_cb_applies(g)) return g.O % 32 == 0 ? weight_grad_cb<2>(x, gy, dw, g) : weight_grad_cb<1>(x, gy, dw, g);
  if (wg_pairs_applies(g)) return weight_grad_pairs(x, gy, dw, g);
  const int64_t WoP = round_up(g.Wo, VW), Hp = g.H + g.pt + g.pb, Wp = WoP + g.kw - 1;
  float* xp = scratch(kScratchBatch, (size_t)(g.N * g.C * Hp * Wp));
  float* gp = scratch(kScratchBatch2, (size_t)(g.N * g.O * g.Ho * WoP));
  parallel_for(g.N, 1, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      frame(x + n * g.C * g.H * g.W, g.C, g.H, g.W, g.pt, g.pl, Hp, Wp, xp + n * g.C * Hp * Wp);
      frame(gy + n * g.O * g.Ho * g.Wo, g.O, g.Ho, g.Wo, 0, 0, g.Ho, WoP, gp + n * g.O * g.Ho * WoP);
    }
  });
  parallel_for(g.C, 1, 1, [&](int64_t c0, int64_t c1) {
    auto run = [&](auto fn) { fn(xp, gp, g.N, g.C, g.O, Hp, Wp, g.Ho, WoP, g.kh, c0, c1, dw); };
    switch (g.kw) {
      case 1: return run(weight_grad<1>);
      case 2: return run(weight_grad<2>);
      case 3: return run(weight_grad<3>);
      case 4: return run(weight_grad<4>);
      case 5: return run(weight_grad<5>);
      case 6: return run(weight_grad<6>);
      default: return run(weight_grad<7>);
    }
  });
}

}  // namespace gtn
