// Max and average pooling over [N, C, H, W] planes, each plane on one thread.
#include "pooling.h"

#include "x86_intrinsics.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

#include "gemm.h"
#include "pool.h"
#include "simd_clones.h"

namespace gtn {
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

#if defined(__x86_64__)
// One window row's scan for maxpool_row16: the strict maximum over the row's valid taps, from (m, mi); indices
// are offsets into the plane.
__attribute__((target("avx512f"), always_inline)) inline void maxpool_scan_row(const float* row, __mmask16 in0, __mmask16 in1,
                                                                              const __m512i* pick, const __mmask16* valid,
                                                                              int64_t kw, int32_t off, __m512& m, __m512i& mi) {
  const __m512 v0 = _mm512_maskz_loadu_ps(in0, row), v1 = _mm512_maskz_loadu_ps(in1, row + 16);
  const __m512i offv = _mm512_set1_epi32(off);
  for (int64_t dw = 0; dw < kw; ++dw) {
    const __m512 v = _mm512_permutex2var_ps(v0, pick[dw], v1);
    const __mmask16 take = _mm512_mask_cmp_ps_mask(valid[dw], v, m, _CMP_GT_OQ);
    m = _mm512_mask_mov_ps(m, take, v);
    mi = _mm512_mask_add_epi32(mi, take, pick[dw], offv);
  }
}

// Up to 16 neighbouring outputs of one row (the lanes), for windows whose reads for the lanes span at most 32
// columns and that each hold at least one pixel: per window row, two masked loads (columns outside the image are
// never read) and a permute per window column. The result is maxpool_one's: its scan keeps the first maximum
// in row-major order and starts from the window's first pixel (kept if NaN). Here the first row scans from that
// pixel, every later row from -inf (so its NaNs never win), and a later row replaces the result only when its
// maximum is strictly larger: the same winner, with the rows' scans independent of each other (the scalar
// chain of kh * kw dependent compares was the cost).
__attribute__((target("avx512f"))) void maxpool_row16(const float* xp, const PoolGeom& p, int64_t hb, int64_t he,
                                                       int64_t ow0, int64_t cnt, float* o, int32_t* a, int64_t base) {
  const int64_t c0 = ow0 * p.sw - p.pl;  // the image column lane 0's window starts at
  const __m512i step = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                          _mm512_set1_epi32((int32_t)p.sw));
  const __mmask16 live = (__mmask16)((1u << cnt) - 1);
  // Which of the loaded columns c0 .. c0 + 31 lie inside the image, as the two loads' masks.
  const int64_t lo = std::max<int64_t>(0, -c0), hi = std::min<int64_t>(32, p.W - c0);
  const uint32_t in = hi > lo ? (uint32_t)((hi - lo >= 32 ? ~0ull : (1ull << (hi - lo)) - 1) << lo) : 0u;
  const __mmask16 in0 = (__mmask16)in, in1 = (__mmask16)(in >> 16);
  // Per window column: the loaded column each lane reads and whether it lies inside the image.
  __m512i pick[32];
  __mmask16 valid[32];
  for (int64_t dw = 0; dw < p.kw; ++dw) {
    pick[dw] = _mm512_add_epi32(step, _mm512_set1_epi32((int32_t)dw));
    const __m512i col = _mm512_add_epi32(pick[dw], _mm512_set1_epi32((int32_t)c0));
    valid[dw] = live & _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) &
                _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32((int32_t)p.W));
  }
  for (int64_t h = he + 2; h < he + 2 + p.sh; ++h) {  // the rows two output rows on (the prefetcher misses them)
    _mm_prefetch((const char*)(xp + h * p.W), _MM_HINT_T0);
    _mm_prefetch((const char*)(xp + h * p.W + 16), _MM_HINT_T0);
  }
  // The first row starts from each lane's first pixel: column max(c0 + lane * sw, 0).
  const __m512i first = _mm512_max_epi32(step, _mm512_set1_epi32((int32_t)-c0));
  const float* row0 = xp + hb * p.W + c0;
  __m512 m = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(in0, row0), first, _mm512_maskz_loadu_ps(in1, row0 + 16));
  __m512i mi = _mm512_add_epi32(first, _mm512_set1_epi32((int32_t)(hb * p.W + c0)));
  maxpool_scan_row(row0, in0, in1, pick, valid, p.kw, (int32_t)(hb * p.W + c0), m, mi);
  for (int64_t h = hb + 1; h < he; ++h) {
    __m512 r = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512i ri = _mm512_setzero_si512();
    maxpool_scan_row(xp + h * p.W + c0, in0, in1, pick, valid, p.kw, (int32_t)(h * p.W + c0), r, ri);
    const __mmask16 later = _mm512_cmp_ps_mask(r, m, _CMP_GT_OQ);
    m = _mm512_mask_mov_ps(m, later, r);
    mi = _mm512_mask_mov_epi32(mi, later, ri);
  }
  _mm512_mask_storeu_ps(o, live, m);
  _mm512_mask_storeu_epi32(a, live, _mm512_add_epi32(mi, _mm512_set1_epi32((int32_t)base)));
}
#endif

// Whether max pooling runs maxpool_row16: an AVX-512 CPU whose GEMM path is AVX-512 (forceSimdPath(1 or 2) turns
// it off with the GEMM's, so the tests reach the SSE path too).
bool maxpool_avx512() { return simd_lanes() >= 16; }

}  // namespace

void maxpool2d(const float* x, float* out, int32_t* arg, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
#if defined(__x86_64__)
  // Lanes per vector: lane L-1's window must end within the 32 columns loaded.
  const int64_t lanes = std::min<int64_t>(16, (32 - p.kw) / p.sw + 1);
  const bool filled = p.pt < p.kh && p.pb < p.kh && p.pl < p.kw && p.pr < p.kw;  // no window all padding
  if (lanes >= 4 && filled && maxpool_avx512()) {
    for_each_plane(p, [&](int64_t pl) {
      for (int64_t oh = 0; oh < p.Ho; ++oh) {
        const int64_t h0 = oh * p.sh - p.pt;
        const int64_t hb = std::max<int64_t>(h0, 0), he = std::min<int64_t>(h0 + p.kh, p.H);
        for (int64_t ow = 0; ow < p.Wo; ow += lanes)
          maxpool_row16(x + pl * HW, p, hb, he, ow, std::min(lanes, p.Wo - ow), out + pl * P + oh * p.Wo + ow,
                        arg + pl * P + oh * p.Wo + ow, pl * HW);
      }
    });
    return;
  }
#endif
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

bool maxpool2d_backward(const float* gy, const int32_t* arg, float* dx, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  // Plane by plane, so each plane of dx is zeroed and scattered into while it sits in L1 (a scatter into a
  // zeroed [N, C, H, W] array costs two passes over it in memory), and the planes run in parallel.
  std::atomic<bool> ok{true};
  for_each_plane(p, [&](int64_t pl) {
    float* d = dx + pl * HW;
    const float* g = gy + pl * P;
    const int32_t* a = arg + pl * P;
    std::memset(d, 0, sizeof(float) * HW);
    bool inside = true;
    for (int64_t j = 0; j < P; ++j) {
      const uint64_t k = (uint64_t)((int64_t)a[j] - pl * HW);
      if (k < (uint64_t)HW)
        d[k] += g[j];
      else
        inside = false;
    }
    if (!inside) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

namespace {
// Stride-1 average pooling as a separable box filter over a zero-padded plane: a row pass then a column pass.
// `src` is an Hs x Ws plane placed at (top, left) inside a zero frame of Hp x Wp; out (Hp-kh+1) x (Wp-kw+1) =
// inv * box sums, times post[o] where given; pre (Hs x Ws), where given, scales src on its way in. Both passes
// run as flat loops over the padded plane (sums that straddle two rows are computed and never read): NB201's
// planes are 8-32 wide, and one short loop per row and pass cost more than the arithmetic.
GTN_SIMD_CLONES
void box_filter(const float* src, int64_t Hs, int64_t Ws, int64_t top, int64_t left, int64_t Hp, int64_t Wp, int64_t kh,
                int64_t kw, float inv, const float* pre, const float* post, float* out) {
  const int64_t Ho = Hp - kh + 1, Wo = Wp - kw + 1;
  const int64_t nr = Hp * Wp - (kw - 1);  // row sums at every start of the flat padded plane
  const int64_t nc = (Ho - 1) * Wp + Wo;  // column sums up to the last output
  float* pd = scratch(kScratchImage, (size_t)(Hp * Wp + nr + nc));
  float* r = pd + Hp * Wp;
  float* c = r + nr;
  // Only the frame is zeroed; the plane is copied (or scaled) into the rest.
  std::fill(pd, pd + top * Wp, 0.f);
  std::fill(pd + (top + Hs) * Wp, pd + Hp * Wp, 0.f);
  for (int64_t h = 0; h < Hs; ++h) {
    float* d = pd + (h + top) * Wp;
    const float* x = src + h * Ws;
    std::fill(d, d + left, 0.f);
    if (pre) {
      const float* q = pre + h * Ws;
      for (int64_t w = 0; w < Ws; ++w) d[left + w] = x[w] * q[w];
    } else {
      std::memcpy(d + left, x, sizeof(float) * Ws);
    }
    std::fill(d + left + Ws, d + Wp, 0.f);
  }
  if (kw == 3) {
    for (int64_t i = 0; i < nr; ++i) r[i] = pd[i] + pd[i + 1] + pd[i + 2];
  } else {
    for (int64_t i = 0; i < nr; ++i) r[i] = pd[i];
    for (int64_t j = 1; j < kw; ++j)
      for (int64_t i = 0; i < nr; ++i) r[i] += pd[i + j];
  }
  if (kh == 3) {
    for (int64_t i = 0; i < nc; ++i) c[i] = r[i] + r[i + Wp] + r[i + 2 * Wp];
  } else {
    for (int64_t i = 0; i < nc; ++i) c[i] = r[i];
    for (int64_t j = 1; j < kh; ++j)
      for (int64_t i = 0; i < nc; ++i) c[i] += r[i + j * Wp];
  }
  for (int64_t h = 0; h < Ho; ++h) {
    float* o = out + h * Wo;
    const float* cs = c + h * Wp;
    if (post) {
      const float* q = post + h * Wo;
      for (int64_t w = 0; w < Wo; ++w) o[w] = cs[w] * inv * q[w];
    } else {
      for (int64_t w = 0; w < Wo; ++w) o[w] = cs[w] * inv;
    }
  }
}

// The rescaling that leaves padding out of the divisor, per output: kh * kw / (the window's positions inside the
// image), 1 where none are padding. Applied after the 1 / (kh * kw) of the box sum, so the result rounds exactly
// as average pooling followed by a multiply by this map did when the model composed the two.
std::vector<float> inside_rescale(const PoolGeom& p) {
  std::vector<float> s((size_t)(p.Ho * p.Wo));
  for_each_window(p, [&](int64_t i, int64_t hb, int64_t he, int64_t wb, int64_t we) {
    const int64_t n = (he - hb) * (we - wb);
    s[(size_t)i] = n > 0 ? (float)((double)(p.kh * p.kw) / (double)n) : 0.f;
  });
  return s;
}
}  // namespace

void avgpool2d(const float* x, float* out, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  const float inv = 1.f / (float)(p.kh * p.kw);
  const std::vector<float> rescale = p.count_pad ? std::vector<float>() : inside_rescale(p);
  const float* post = p.count_pad ? nullptr : rescale.data();
  if (p.sh == 1 && p.sw == 1) {
    for_each_plane(p, [&](int64_t pl) {
      box_filter(x + pl * HW, p.H, p.W, p.pt, p.pl, p.H + p.pt + p.pb, p.W + p.pl + p.pr, p.kh, p.kw, inv, nullptr, post,
                 out + pl * P);
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
      op[i] = post ? s * inv * post[i] : s * inv;
    });
  });
}

void avgpool2d_backward(const float* gy, float* dx, const PoolGeom& p) {
  const int64_t HW = p.H * p.W, P = p.Ho * p.Wo;
  const float inv = 1.f / (float)(p.kh * p.kw);
  const std::vector<float> rescale = p.count_pad ? std::vector<float>() : inside_rescale(p);
  const float* pre = p.count_pad ? nullptr : rescale.data();
  if (p.sh == 1 && p.sw == 1) {
    // The transpose of a stride-1 box filter is a box filter of g framed by kh-1-pt rows and kw-1-pl columns.
    const int64_t top = p.kh - 1 - p.pt, left = p.kw - 1 - p.pl;
    for_each_plane(p, [&](int64_t pl) {
      box_filter(gy + pl * P, p.Ho, p.Wo, top, left, p.H + p.kh - 1, p.W + p.kw - 1, p.kh, p.kw, inv, pre, nullptr,
                 dx + pl * HW);
    });
    return;
  }
  for_each_plane(p, [&](int64_t pl) {
    float* xp = dx + pl * HW;
    const float* gp = gy + pl * P;
    std::memset(xp, 0, sizeof(float) * HW);
    for_each_window(p, [&](int64_t i, int64_t hb, int64_t he, int64_t wb, int64_t we) {
      float v = pre ? gp[i] * pre[i] * inv : gp[i] * inv;
      for (int64_t h = hb; h < he; ++h)
        for (int64_t w = wb; w < we; ++w) xp[h * p.W + w] += v;
    });
  });
}

}  // namespace gtn
