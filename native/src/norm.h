// Batch normalisation kernels over x viewed as [N, C, S] (S = spatial positions, 1 for [N, C] inputs).
#pragma once
#include <cstdint>

namespace gtn {

// y = (x - mean_c) * gamma_c / sqrt(var_c + eps) + beta_c with the batch's mean and biased variance per channel.
void batchnorm_forward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* beta, float eps,
                       float* y, float* mean, float* var);

// The vjp of batchnorm_forward: cotangents gy [N,C,S] and, when not null, gmean and gvar [C] (of the returned
// statistics) -> dx [N,C,S], dgamma [C], dbeta [C].
void batchnorm_backward(const float* x, int64_t N, int64_t C, int64_t S, const float* gamma, const float* mean,
                        const float* var, float eps, const float* gy, const float* gmean, const float* gvar, float* dx,
                        float* dgamma, float* dbeta);

}  // namespace gtn
