// Batch normalisation, forward and backward, in two passes over the activations each (the composite of
// elementwise ops and reductions it replaces makes a dozen). Parallel over channels; within a channel the
// summation order is fixed (images in order, 16 partial sums over positions), so results do not depend on the
// thread count.
#include "norm.h"

#include <cmath>
#include <vector>

#include "pool.h"

namespace gtn {
namespace {

// Sum of x[n*C*S + c*S + s] over n, s with 16 partial sums per row combined pairwise.
template <typename F>
double channel_sum(int64_t N, int64_t C, int64_t S, int64_t c, F term) {
  double total = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * S;
    float acc[16] = {0};
    int64_t s = 0;
    for (; s + 16 <= S; s += 16)
      for (int j = 0; j < 16; ++j) acc[j] += term(base + s + j);
    for (int j = 0; s < S; ++s, ++j) acc[j] += term(base + s);
    for (int w = 8; w >= 1; w >>= 1)
      for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
    total += acc[0];
  }
  return total;
}

int64_t grain(int64_t N, int64_t S) { return N * S >= 4096 ? 1 : 64; }

// Per-channel sums of term(i) for channels [c0, c1) of a [N, C] array (one position per channel: batch norm after a
// linear layer), in double, images in order: the same sums as channel_sum (whose 16 partial sums then hold one
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
      const float m = (float)(channel_sum(N, C, S, c, [&](int64_t i) { return x[i]; }) / M);
      const float v = (float)(channel_sum(N, C, S, c, [&](int64_t i) {
                                const float d = x[i] - m;
                                return d * d;
                              }) /
                              M);
      mean[c] = m;
      var[c] = v;
      const float scale = gamma[c] / std::sqrt(v + eps);
      const float shift = beta[c];
      for (int64_t n = 0; n < N; ++n) {
        const int64_t base = (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s) y[base + s] = (x[base + s] - m) * scale + shift;
      }
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
      const double sgy = gy ? channel_sum(N, C, S, c, [&](int64_t i) { return gy[i]; }) : 0.0;
      const double sgyc = gy ? channel_sum(N, C, S, c, [&](int64_t i) { return gy[i] * (x[i] - m); }) : 0.0;
      const BnBackward bw(c, sgy, sgyc, M, gamma, var, eps, gmean, gvar, dgamma, dbeta);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t base = (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s) dx[base + s] = bw.dx(gy ? gy[base + s] : 0.f, x[base + s] - m);
      }
    }
  });
}

}  // namespace gtn
