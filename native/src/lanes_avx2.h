// Channels-in-lanes convolutions for CPUs with AVX2 and FMA (the AVX-512 kernels are in blocked_conv.cc): the
// small-channel convs of the NB201 proxy networks (C = 4..32). On AVX-512 CPUs conv.cc gives them only the passes
// the AVX-512 kernels do not take (4-channel convs, pointwise weight gradients).
#pragma once
#include "blocked_conv.h"

namespace gtn {

// Whether these kernels can take this pass of this geometry: the CPU has AVX2 + FMA, the blocked and
// lanes switches are on, one group, and the channels that fill the lanes (the outputs of the pass) come in 4s.
// Measured against im2col + GEMM on the NB201 shapes: README, "Speed".
bool lanes_avx2_applies(const ConvGeom& g, ConvPass pass);

void lanes_avx2_forward(const float* x, const float* w, float* out, const ConvGeom& g);
void lanes_avx2_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g);  // every dx written
void lanes_avx2_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g);

}  // namespace gtn
