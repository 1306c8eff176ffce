// Batch normalisation, forward and backward, in two passes over the activations each (the composite of
// elementwise ops and reductions it replaces makes a dozen). Parallel over channels; within a channel the
// summation order is fixed (images in order, 16 partial sums over positions), so results do not depend on the
// thread count.
#include "norm.h"

#include <cmath>
#include <vector>

#include "pool.h"
#include "simd_clones.h"

namespace gtn {
namespace {

// The per-channel loops of the [N, C, S] case, one copy per SIMD level (GTN_SIMD_CLONES: the baseline build is
// SSE2, and these loops were 11% of the full-depth proxy's time there). `x` points at the channel's first row; row n
// starts at x + n * CS. A row's sum runs in 16 float partial sums folded pairwise, and rows are added in double,
// images in order: the same bits in every copy and at every thread count.
#define GTN_ROW_SUM(TERM)                            \
  double total = 0;                                \
  for (int64_t n = 0; n < N; ++n) {                \
    const int64_t base = n * CS;                   \
    float acc[16] = {};                            \
    int64_t s = 0;                                 \
    for (; s + 16 <= S; s += 16)                   \
      for (int j = 0; j < 16; ++j) {               \
        const int64_t i = base + s + j;            \
        acc[j] += TERM;                            \
      }                                            \
    for (int j = 0; s < S; ++s, ++j) {             \
      const int64_t i = base + s;                  \
      acc[j] += TERM;                              \
    }                                              \
    for (int w = 8; w >= 1; w >>= 1)               \
      for (int j = 0; j < w; ++j) acc[j] += acc[j + w]; \
    total += acc[0];                               \
  }                                                \
  return total;

GTN_SIMD_CLONES double sum_rows(const float* x, int64_t N, int64_t CS, int64_t S) {
  GTN_ROW_SUM(x[i])
}

GTN_SIMD_CLONES double sum_sq_dev_rows(const float* x, int64_t N, int64_t CS, int64_t S, float m) {
  GTN_ROW_SUM((x[i] - m) * (x[i] - m))
}

// The sum of gy * (x - m). (Fused with the sum of gy into one pass, 16 x 2 partial sums, it ran 2x slower.)
GTN_SIMD_CLONES double sum_gyc_rows(const float* gy, const float* x, int64_t N, int64_t CS, int64_t S, float m) {
  GTN_ROW_SUM(gy[i] * (x[i] - m))
}
#undef GTN_ROW_SUM

GTN_SIMD_CLONES void scale_shift_rows(const float* x, float* y, int64_t N, int64_t CS, int64_t S, float m, float scale, float shift) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) y[n * CS + s] = (x[n * CS + s] - m) * scale + shift;
}

// dx = a * (g - b - (x - m) * k) + gm + gv * (x - m), g = gy (0 without one).
GTN_SIMD_CLONES void dx_rows(const float* gy, const float* x, float* dx, int64_t N, int64_t CS, int64_t S, float m, float a,
                             float b, float k, float gm, float gv) {
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = n * CS;
    if (gy) {
      for (int64_t s = 0; s < S; ++s) {
        const float d = x[base + s] - m;
        dx[base + s] = a * (gy[base + s] - b - d * k) + gm + gv * d;
      }
    } else {
      for (int64_t s = 0; s < S; ++s) {
        const float d = x[base + s] - m;
        dx[base + s] = a * (0.f - b - d * k) + gm + gv * d;
      }
    }
  }
}

int64_t grain(int64_t N, int64_t S) { return N * S >= 4096 ? 1 : 64; }

// Per-channel sums of term(i) for channels [c0, c1) of a [N, C] array (one position per channel: batch norm after a
// linear layer), in double, images in order: the same sums as sum_rows (whose 16 partial sums then hold one
// term each), but walking rows so the loop runs over contiguous channels instead of folding 16 lanes per term.
template <typename F>
void row_sums(int64_t N, int64_t C, int64_t c0, int64_t c1, double* out, F term) {
  for (int64_t c = c0; c < c1; ++c) out[c - c0] = 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = c0; c < c1; ++c) out[c - c0] += (double)term(n * C + c, c);
}

// Channel ranges of [N, C] arrays: whole cache lines of channels per task.
constexpr int64_t kRowGrain = 64;

// The backward pass of channel c once its sums are known: writes dgamma[c] and dbeta[c], and holds the
// coefficients of dx = gamma*invstd*(gy - sgy/M - (x-m)*invstd^2*sgyc/M) + gmean/M + 2*gvar*(x-m)/M.
struct BnBackward {
  float a, b, k, gm, gv;
  BnBackward(int64_t c, double sgy, double sgyc, double M, const float* gamma, const float* var, float eps,
             const float* gmean, const float* gvar, float* dgamma, float* dbeta) {
    const float invstd = 1.f / std::sqrt(var[c] + eps);
    dbeta[c] = (float)sgy;
    dgamma[c] = (float)(sgyc * invstd);
    a = gamma[c] * invstd;
    b = (float)(sgy / M);
    k = (float)(sgyc / M) * invstd * invstd;
    gm = gmean ? (float)(gmean[c] / M) : 0.f;
    gv = gvar ? (float)(2.0 * gvar[c] / M) : 0.f;
  }
  // d = x - mean, g = gy (0 without one)
  float dx(float g, float d) const { return a * (g - b - d * k) + gm + gv * d; }
};

}  // namespace

void batchnorm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta, float eps,
                       float* y, float* mean, float* var) {
  const double M = (double)(N * S);
  if (S == 1) {
    parallel_for(C, kRowGrain, 1, [&](int64_t c0, int64_t c1) {
      std::vector<double> acc((size_t)(c1 - c0));
      row_sums(N, C, c0, c1, acc.data(), [&](int64_t i, int64_t) { return x[i]; });
      for (int64_t c = c0; c < c1; ++c) mean[c] = (float)(acc[c - c0] / M);
      row_sums(N, C, c0, c1, acc.data(), [&](int64_t i, int64_t c) {
        const float d = x[i] - mean[c];
        return d * d;
      });
      for (int64_t c = c0; c < c1; ++c) var[c] = (float)(acc[c - c0] / M);
      std::vector<float> scale((size_t)(c1 - c0));
      for (int64_t c = c0; c < c1; ++c) scale[c - c0] = gamma[c] / std::sqrt(var[c] + eps);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) y[n * C + c] = (x[n * C + c] - mean[c]) * scale[c - c0] + beta[c];
    });
    return;
  }
  parallel_for(C, grain(N, S), 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float* xc = x + c * S;
      const float m = (float)(sum_rows(xc, N, C * S, S) / M);
      const float v = (float)(sum_sq_dev_rows(xc, N, C * S, S, m) / M);
      mean[c] = m;
      var[c] = v;
      scale_shift_rows(xc, y + c * S, N, C * S, S, m, gamma[c] / std::sqrt(v + eps), beta[c]);
    }
  });
}

void batchnorm_backward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* mean,
                        const float* var, float eps, const float* gy, const float* gmean, const float* gvar, float* dx,
                        float* dgamma, float* dbeta) {
  const double M = (double)(N * S);
  if (S == 1) {
    parallel_for(C, kRowGrain, 1, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      std::vector<double> sgy((size_t)w, 0.0), sgyc((size_t)w, 0.0);
      if (gy) {
        row_sums(N, C, c0, c1, sgy.data(), [&](int64_t i, int64_t) { return gy[i]; });
        row_sums(N, C, c0, c1, sgyc.data(), [&](int64_t i, int64_t c) { return gy[i] * (x[i] - mean[c]); });
      }
      std::vector<BnBackward> bw;
      bw.reserve((size_t)w);
      for (int64_t c = c0; c < c1; ++c) bw.emplace_back(c, sgy[c - c0], sgyc[c - c0], M, gamma, var, eps, gmean, gvar, dgamma, dbeta);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t i = n * C + c;
          dx[i] = bw[c - c0].dx(gy ? gy[i] : 0.f, x[i] - mean[c]);
        }
    });
    return;
  }
  parallel_for(C, grain(N, S), 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float m = mean[c];
      double sums[2] = {0, 0};
      if (gy) {
        sums[0] = sum_rows(gy + c * S, N, C * S, S);
        sums[1] = sum_gyc_rows(gy + c * S, x + c * S, N, C * S, S, m);
      }
      const BnBackward bw(c, sums[0], sums[1], M, gamma, var, eps, gmean, gvar, dgamma, dbeta);
      dx_rows(gy ? gy + c * S : nullptr, x + c * S, dx + c * S, N, C * S, S, m, bw.a, bw.b, bw.k, bw.gm, bw.gv);
    }
  });
}

}  // namespace gtn
