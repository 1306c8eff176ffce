#pragma once
#include <cstdint>

namespace gtn {

struct ConvGeom {
  int64_t N, C, H, W, O, kh, kw, sh, sw, pt, pb, pl, pr, G, Ho, Wo;
};

void conv2d_forward(const float* x, const float* w, float* out, const ConvGeom& g);
void conv2d_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g);   // dx: written in full
void conv2d_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g);

}  // namespace gtn
