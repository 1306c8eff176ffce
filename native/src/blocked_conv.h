// Register-blocked direct convolution for stride-1, ungrouped convs with few channels (the NB201 and CIFAR
// learners' shapes), where im2col + GEMM spends its time copying the 9x larger column matrix.
#pragma once
#include "conv.h"

namespace gtn {

// Turns the blocked kernels on or off (default: GTN_BLOCKED_CONV=1 turns them on).
void set_blocked_conv(bool on);
bool blocked_conv_enabled();

// Whether the blocked kernels handle this geometry (stride 1, one group, channels and kernel small enough).
bool blocked_conv_applies(const ConvGeom& g);

void blocked_conv_forward(const float* x, const float* w, float* out, const ConvGeom& g);
void blocked_conv_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g);
void blocked_conv_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g);

}  // namespace gtn
