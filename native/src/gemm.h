// Single-precision GEMM for the gtn native backend.
#pragma once
#include <cstdint>

namespace gtn {

// The GEMM's K blocking: C accumulates one block of kGemmKC products at a time, in order. Callers that split
// K themselves at multiples of kGemmKC (and accumulate) get bit-identical results.
constexpr int64_t kGemmKC = 256;

// C[M,N] (row stride ldc) = (accumulate ? C : 0) + op(A)[M,K] * op(B)[K,N]
//   op(A)(i,k) = transA ? A[k*lda + i] : A[i*lda + k]
//   op(B)(k,j) = transB ? B[j*ldb + k] : B[k*ldb + j]
// Every element of C is computed by the same sequence of operations whatever the thread count or the
// partitioning (K is never split across threads), so results are bit-identical across thread counts.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float* C, int64_t ldc, bool accumulate, bool allow_threads = true);

// Same, always on the calling thread.
inline void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                         const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  sgemm(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate, false);
}

// Batched matmul as in Backend.matmul; out is [batch, M, N].
void matmul_batched(const float* a, const float* b, float* out, int64_t batch, int64_t M, int64_t K, int64_t N,
                    bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride);

// 'avx512', 'avx2' or 'portable'.
const char* simd_path();
// Force a path (for tests/benchmarks): 0 = auto, 1 = portable, 2 = avx2, 3 = avx512. Returns the path in use.
const char* force_simd_path(int which);
// Vector lanes (floats) of the chosen path.
int simd_lanes();

// Empirical peak: runs a tight independent-FMA loop with the chosen SIMD path on the calling thread for about
// `seconds`, returns FLOP/s (2 per FMA lane). cycles_per_sec: measured with a dependent integer-add chain.
double fma_flops_per_sec(double seconds);
double measure_clock_hz(double seconds);

}  // namespace gtn
