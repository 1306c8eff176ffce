// Register-blocked direct convolution for ungrouped convs with few channels (the NB201 and CIFAR
// learners' shapes), where im2col + GEMM spends its time copying the 9x larger column matrix.
#pragma once
#include <vector>

#include "conv.h"

namespace gtn {

// Turns the blocked kernels on or off (default on; GTN_BLOCKED_CONV=0 turns them off).
void set_blocked_conv(bool on);
bool blocked_conv_enabled();
// Turns the channels-in-lanes kernels (AVX-512, or AVX2 + FMA: lanes_avx2.h) on or off (default on;
// GTN_LANES_CONV=0 turns them off); reads false on CPUs with neither.
void set_lanes_conv(bool on);
bool lanes_conv_enabled();
// The switch alone, whatever the CPU.
bool lanes_conv_switch();
// Whether the AVX2 channels-in-lanes kernels run (lanes_avx2.cc).
bool lanes_avx2_on();
// Whether the CPU has AVX-512 (F), whatever the switches.
bool cpu_has_avx512();

// Copies a C x H x W image into a zero frame [C][Hp][Wp] with the image at (top, left) (writes every element).
void frame(const float* src, int64_t C, int64_t H, int64_t W, int64_t top, int64_t left, int64_t Hp, int64_t Wp, float* dst);
// Weights [O][C][kh][kw] (or, with flip, the transposed and rotated weights of the input gradient:
// w'[c][o][kh-1-i][kw-1-j] = w[o][c][i][j]) regrouped as [O/B][C'][kh][kw][B] (zeros past O).
std::vector<float> block_weights(const float* w, int64_t O, int64_t C, int64_t kh, int64_t kw, bool flip, int64_t B);

// The register blocks of a channels-in-lanes forward pass over one image: blocks of B output channels (nob of them
// valid; their weights at wt + (ob0 / B) * taps * B), every output row, and the row's columns in blocks of at most
// max_np, as even as possible (28 -> 14 + 14). block(wblk, ob0, nob, oh, ow0, np).
template <class Block>
void for_each_lanes_block(const float* wt, int64_t taps, int64_t O, int64_t B, int64_t Ho, int64_t Wo, int64_t max_np,
                          Block block) {
  const int64_t nblk = (Wo + max_np - 1) / max_np, np = (Wo + nblk - 1) / nblk;
  for (int64_t ob0 = 0; ob0 < O; ob0 += B) {
    const float* wblk = wt + (ob0 / B) * taps * B;
    const int64_t nob = O - ob0 < B ? O - ob0 : B;
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow0 = 0; ow0 < Wo; ow0 += np) block(wblk, ob0, nob, oh, ow0, Wo - ow0 < np ? Wo - ow0 : np);
  }
}

enum class ConvPass { kForward, kInputGrad, kWeightGrad };

// Whether the blocked kernels handle this pass of this geometry and are the faster path for it (stride 1, one
// group, output rows of at least one full vector, few channels; the weight gradient's kernel wins only at smaller
// channel counts; on AVX-512, also narrower maps, and the forward pass and weight gradient of strided convs (the
// forward at column stride 1 or 2) when the output channels fill 16 or 32 lanes). Measured: README, "Speed".
bool blocked_conv_applies(const ConvGeom& g, ConvPass pass);

// 3x3 convs to a single output channel on AVX-512 (a generator's last layer): forward and input gradient.
bool single_out_applies(const ConvGeom& g);
void single_out_forward(const float* x, const float* w, float* out, const ConvGeom& g);
void single_out_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g);

void blocked_conv_forward(const float* x, const float* w, float* out, const ConvGeom& g);
void blocked_conv_backward_input(const float* gy, const float* w, float* dx, const ConvGeom& g);
void blocked_conv_backward_weight(const float* x, const float* gy, float* dw, const ConvGeom& g);

}  // namespace gtn
