// The driver of the channels-in-lanes weight gradients (AVX-512: blocked_conv.cc; AVX2: lanes_avx2.cc). Inputs
// are framed and gy transposed to [pixel][O] per image; tasks are (output block of B channels, chunk of (c, i)
// blocks of NT rows), at least four per pool thread when there is enough. A task walks the images in order and,
// for each, all of its (c, i) blocks while that image's gradients sit in L1; `block` adds one image's terms for
// one (c, i) block to its sums ([NT][KW][B]). Every dw element sums its terms in (image, row, column) order,
// whatever the partition.
#pragma once
#include <algorithm>
#include <vector>

#include "blocked_conv.h"
#include "pool.h"

namespace gtn {

// The weight gradients' tasks: (group of output channels, chunk of [0, blocks)), about four per pool thread when
// there are enough blocks; fn(group, b0, b1) for every non-empty chunk. The partition depends on the thread
// count, the sums do not (a task walks the images in order).
template <class Fn>
void for_each_group_chunk(int64_t groups, int64_t blocks, const Fn& fn) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(blocks, (4 * num_threads() + groups - 1) / groups));
  const int64_t per = (blocks + chunks - 1) / chunks;
  parallel_for(chunks * groups, 1, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b0 = (t / groups) * per, b1 = std::min(blocks, b0 + per);
      if (b0 < b1) fn(t % groups, b0, b1);
    }
  });
}

// transpose(src [O][P], O, P, dst [P][O]); block(nt, xn (framed image), gn (its gradients, at the block's first
// channel), Wp, toff (nt row offsets into xn), sum).
template <class Transpose, class Block>
void lanes_weight_grad(const float* x, const float* gy, float* dw, const ConvGeom& g, int64_t B, int64_t NT, int64_t KW,
                       Transpose transpose, Block block) {
  const int64_t Hp = g.H + g.pt + g.pb, Wp = g.W + g.pl + g.pr, P = g.Ho * g.Wo, O = g.O, T = g.C * g.kh;
  float* xp = scratch(kScratchBatch, (size_t)(g.N * g.C * Hp * Wp));
  float* gt = scratch(kScratchBatch2, (size_t)(g.N * P * O));
  parallel_for(g.N, 1, 1, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      frame(x + n * g.C * g.H * g.W, g.C, g.H, g.W, g.pt, g.pl, Hp, Wp, xp + n * g.C * Hp * Wp);
      transpose(gy + n * O * P, O, P, gt + n * P * O);
    }
  });
  for_each_group_chunk(O / B, (T + NT - 1) / NT, [&](int64_t ob, int64_t tb0, int64_t tb1) {
    const int64_t ob0 = ob * B;
    std::vector<float> sum((size_t)((tb1 - tb0) * NT * KW * B), 0.f);
    std::vector<int64_t> toff((size_t)((tb1 - tb0) * NT));
    for (int64_t t = tb0 * NT; t < std::min(T, tb1 * NT); ++t) toff[t - tb0 * NT] = (t / g.kh * Hp + t % g.kh) * Wp;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xn = xp + n * g.C * Hp * Wp;
      const float* gn = gt + n * P * O + ob0;
      for (int64_t tb = tb0; tb < tb1; ++tb) {
        const int64_t q = tb - tb0;
        block((int)std::min<int64_t>(NT, T - tb * NT), xn, gn, Wp, toff.data() + q * NT, sum.data() + q * NT * KW * B);
      }
    }
    for (int64_t t = tb0 * NT; t < std::min(T, tb1 * NT); ++t)
      for (int64_t j = 0; j < KW; ++j)
        for (int64_t o = 0; o < B; ++o) dw[(ob0 + o) * T * KW + t * KW + j] = sum[((t - tb0 * NT) * KW + j) * B + o];
  });
}

}  // namespace gtn
