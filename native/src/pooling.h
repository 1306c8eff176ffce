#pragma once
#include <cstdint>

namespace gtn {

struct PoolGeom {
  int64_t N, C, H, W, kh, kw, sh, sw, pt, pb, pl, pr, Ho, Wo;
  bool count_pad = true;  // average pooling: padded positions count in the divisor (kh * kw), else only those inside
};

// out and arg [N, C, Ho, Wo]: each window's first maximum in row-major order and its flat index into x (padding
// never wins; a window wholly in padding gives -inf and -1).
void maxpool2d(const float* x, float* out, int32_t* arg, const PoolGeom& p);
// The transpose of max pooling: dx [N, C, H, W] (written in full) = zeros with gy[i] added at arg[i], in the order
// of i. False, and dx unfinished, when some arg[i] lies outside its own plane of x (only max pooling's arg do not).
bool maxpool2d_backward(const float* gy, const int32_t* arg, float* dx, const PoolGeom& p);
// Average pooling: the box sum times 1 / (kh * kw), then, without count_pad, times kh * kw / (positions inside).
void avgpool2d(const float* x, float* out, const PoolGeom& p);
// Its transpose (without count_pad, g is rescaled before the box sum); dx: written in full.
void avgpool2d_backward(const float* gy, float* dx, const PoolGeom& p);

}  // namespace gtn
