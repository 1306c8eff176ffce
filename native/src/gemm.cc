// Packed-panel GEMM (BLIS-style loops) with register-blocked micro-kernels:
//   AVX-512: 8 x 32 (16 zmm accumulators), AVX2/FMA: 6 x 16 (12 ymm accumulators), portable: 4 x 16.
// The SIMD variant is chosen at run time with __builtin_cpu_supports; the addon itself is compiled for the
// baseline ISA, only the kernels carry target attributes.
#include "gemm.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GTN_X86 1
#endif

namespace gtn {
namespace {

typedef void (*ukernel_fn)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, int mr, int nr,
                           bool acc);

struct KernelDesc {
  int MR, NR;
  ukernel_fn fn;
  const char* name;
  int lanes;
};

constexpr int64_t KC = kGemmKC;
constexpr int64_t MC = 144;   // multiple of 8 and 6
constexpr int64_t NC = 3072;  // multiple of 32 and 16

// Writes a full tile held in `t` (MR x NR, row stride NR) into C; identical arithmetic to the vector path.
static inline void store_tile(const float* t, int NR, float* C, int64_t ldc, int mr, int nr, bool acc) {
  for (int i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    const float* s = t + i * NR;
    if (acc)
      for (int j = 0; j < nr; ++j) c[j] = c[j] + s[j];
    else
      for (int j = 0; j < nr; ++j) c[j] = s[j];
  }
}

// ---------------------------------------------------------------- portable 4 x 16
static void uk_portable(int64_t kc, const float* A, const float* B, float* C, int64_t ldc, int mr, int nr, bool acc) {
  alignas(64) float c[4][16];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 16; ++j) c[i][j] = 0.f;
  for (int64_t k = 0; k < kc; ++k) {
    const float* b = B + k * 16;
    const float* a = A + k * 4;
    for (int i = 0; i < 4; ++i) {
      float av = a[i];
      for (int j = 0; j < 16; ++j) c[i][j] += av * b[j];
    }
  }
  store_tile(&c[0][0], 16, C, ldc, mr, nr, acc);
}

#ifdef GTN_X86
// ---------------------------------------------------------------- SIMD micro-kernel rows
// The AVX2 and AVX-512 micro-kernels hold accumulator row r of the tile in two vectors c<r>0, c<r>1 of W floats
// each (intrinsics prefix PS: _mm256, _mm512). GTN_ROWS6 / GTN_ROWS8 apply OP(PS, W, r, x0, x1) to every row.
#define GTN_ROWS6(OP, PS, W) \
  OP(PS, W, 0, c00, c01) OP(PS, W, 1, c10, c11) OP(PS, W, 2, c20, c21) OP(PS, W, 3, c30, c31) OP(PS, W, 4, c40, c41) \
  OP(PS, W, 5, c50, c51)
#define GTN_ROWS8(OP, PS, W) GTN_ROWS6(OP, PS, W) OP(PS, W, 6, c60, c61) OP(PS, W, 7, c70, c71)
// declares the row's accumulators, zeroed
#define GTN_ROW_ZERO(PS, W, r, x0, x1) auto x0 = PS##_setzero_ps(), x1 = PS##_setzero_ps();
// row r of a full tile into C (added to C when acc)
#define GTN_ROW_TO_C(PS, W, r, x0, x1)                 \
  {                                                    \
    float* c = C + r * ldc;                            \
    if (acc) {                                         \
      x0 = PS##_add_ps(PS##_loadu_ps(c), x0);          \
      x1 = PS##_add_ps(PS##_loadu_ps(c + W), x1);      \
    }                                                  \
    PS##_storeu_ps(c, x0);                             \
    PS##_storeu_ps(c + W, x1);                         \
  }
// row r into the tile buffer t (row stride 2W)
#define GTN_ROW_TO_T(PS, W, r, x0, x1) PS##_store_ps(t + r * 2 * W, x0); PS##_store_ps(t + r * 2 * W + W, x1);
// The kernels' epilogue: a full MR x 2W tile goes straight to C, a partial one through t and store_tile (same
// arithmetic). Uses the kernel's C, ldc, mr, nr and acc.
#define GTN_STORE_TILE(ROWS, PS, W, MR)                  \
  if (mr == MR && nr == 2 * W) {                         \
    ROWS(GTN_ROW_TO_C, PS, W)                            \
  } else {                                               \
    alignas(64) float t[MR * 2 * W];                     \
    ROWS(GTN_ROW_TO_T, PS, W)                            \
    store_tile(t, 2 * W, C, ldc, mr, nr, acc);           \
  }

// ---------------------------------------------------------------- AVX2/FMA 6 x 16
__attribute__((target("avx2,fma"))) static void uk_avx2(int64_t kc, const float* A, const float* B, float* C,
                                                         int64_t ldc, int mr, int nr, bool acc) {
  GTN_ROWS6(GTN_ROW_ZERO, _mm256, 8)
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(B), b1 = _mm256_load_ps(B + 8);
    __m256 a;
    a = _mm256_broadcast_ss(A + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(A + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(A + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    A += 6;
    B += 16;
  }
  GTN_STORE_TILE(GTN_ROWS6, _mm256, 8, 6)
}

// ---------------------------------------------------------------- AVX-512 8 x 32
__attribute__((target("avx512f,avx512vl,fma"))) static void uk_avx512(int64_t kc, const float* A, const float* B,
                                                                       float* C, int64_t ldc, int mr, int nr,
                                                                       bool acc) {
  GTN_ROWS8(GTN_ROW_ZERO, _mm512, 16)
  if (nr <= 16) {
    // Right-edge panel with at most 16 valid columns: skip the (zero-padded) upper half. The valid lanes see
    // exactly the same FMA sequence as in the full kernel, so results do not depend on which path ran.
#pragma GCC unroll 4
    for (int64_t k = 0; k < kc; ++k) {
      __m512 b0 = _mm512_load_ps(B);
      c00 = _mm512_fmadd_ps(_mm512_set1_ps(A[0]), b0, c00);
      c10 = _mm512_fmadd_ps(_mm512_set1_ps(A[1]), b0, c10);
      c20 = _mm512_fmadd_ps(_mm512_set1_ps(A[2]), b0, c20);
      c30 = _mm512_fmadd_ps(_mm512_set1_ps(A[3]), b0, c30);
      c40 = _mm512_fmadd_ps(_mm512_set1_ps(A[4]), b0, c40);
      c50 = _mm512_fmadd_ps(_mm512_set1_ps(A[5]), b0, c50);
      c60 = _mm512_fmadd_ps(_mm512_set1_ps(A[6]), b0, c60);
      c70 = _mm512_fmadd_ps(_mm512_set1_ps(A[7]), b0, c70);
      A += 8;
      B += 32;
    }
    kc = 0;
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(B), b1 = _mm512_load_ps(B + 16);
    __m512 a;
    a = _mm512_set1_ps(A[0]); c00 = _mm512_fmadd_ps(a, b0, c00); c01 = _mm512_fmadd_ps(a, b1, c01);
    a = _mm512_set1_ps(A[1]); c10 = _mm512_fmadd_ps(a, b0, c10); c11 = _mm512_fmadd_ps(a, b1, c11);
    a = _mm512_set1_ps(A[2]); c20 = _mm512_fmadd_ps(a, b0, c20); c21 = _mm512_fmadd_ps(a, b1, c21);
    a = _mm512_set1_ps(A[3]); c30 = _mm512_fmadd_ps(a, b0, c30); c31 = _mm512_fmadd_ps(a, b1, c31);
    a = _mm512_set1_ps(A[4]); c40 = _mm512_fmadd_ps(a, b0, c40); c41 = _mm512_fmadd_ps(a, b1, c41);
    a = _mm512_set1_ps(A[5]); c50 = _mm512_fmadd_ps(a, b0, c50); c51 = _mm512_fmadd_ps(a, b1, c51);
    a = _mm512_set1_ps(A[6]); c60 = _mm512_fmadd_ps(a, b0, c60); c61 = _mm512_fmadd_ps(a, b1, c61);
    a = _mm512_set1_ps(A[7]); c70 = _mm512_fmadd_ps(a, b0, c70); c71 = _mm512_fmadd_ps(a, b1, c71);
    A += 8;
    B += 32;
  }
  GTN_STORE_TILE(GTN_ROWS8, _mm512, 16, 8)
}
#undef GTN_STORE_TILE
#undef GTN_ROW_TO_T
#undef GTN_ROW_TO_C
#undef GTN_ROW_ZERO
#undef GTN_ROWS8
#undef GTN_ROWS6
#endif

const KernelDesc kPortable = {4, 16, uk_portable, "portable", 4};
#ifdef GTN_X86
const KernelDesc kAvx2 = {6, 16, uk_avx2, "avx2", 8};
const KernelDesc kAvx512 = {8, 32, uk_avx512, "avx512", 16};
#endif

const KernelDesc* detect() {
#ifdef GTN_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return &kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &kAvx2;
#endif
  return &kPortable;
}

const KernelDesc* g_detected = nullptr;
const KernelDesc* g_kernel = nullptr;

const KernelDesc& kernel() {
  if (!g_kernel) {
    if (!g_detected) g_detected = detect();
    g_kernel = g_detected;
  }
  return *g_kernel;
}

// ---------------------------------------------------------------- scratch
struct Scratch {
  float* a = nullptr;
  float* b = nullptr;
  size_t na = 0, nb = 0;
  ~Scratch() {
    std::free(a);
    std::free(b);
  }
};
thread_local Scratch tl_scratch;

float* grow(float*& p, size_t& cap, size_t n) {
  if (cap < n) {
    std::free(p);
    size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    p = (float*)std::aligned_alloc(64, bytes);
    cap = n;
  }
  return p;
}

// ---------------------------------------------------------------- packing
#ifdef GTN_X86
// One full 8-row panel of non-transposed A: 8x8 blocks transposed in registers (pure data movement).
__attribute__((target("avx2"))) void pack_A8_rows_avx2(const float* A, int64_t lda, int64_t kc, float* d) {
  const float* r0 = A;
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    __m256 a0 = _mm256_loadu_ps(r0 + 0 * lda + k), a1 = _mm256_loadu_ps(r0 + 1 * lda + k);
    __m256 a2 = _mm256_loadu_ps(r0 + 2 * lda + k), a3 = _mm256_loadu_ps(r0 + 3 * lda + k);
    __m256 a4 = _mm256_loadu_ps(r0 + 4 * lda + k), a5 = _mm256_loadu_ps(r0 + 5 * lda + k);
    __m256 a6 = _mm256_loadu_ps(r0 + 6 * lda + k), a7 = _mm256_loadu_ps(r0 + 7 * lda + k);
    __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
    __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
    __m256 t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5);
    __m256 t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    float* o = d + k * 8;
    _mm256_storeu_ps(o + 0, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(o + 32, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(o + 40, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(o + 48, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(o + 56, _mm256_permute2f128_ps(u3, u7, 0x31));
  }
  for (; k < kc; ++k)
    for (int r = 0; r < 8; ++r) d[k * 8 + r] = r0[r * lda + k];
}
bool g_has_avx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}();
#endif

// A block (mc x kc) into MR-row panels: dst[panel][k][r].
void pack_A(int MR, bool transA, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc, int64_t kc,
            float* dst) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    int mr = (int)std::min<int64_t>(MR, mc - ir);
    float* d = dst + ir * kc;
    if (transA) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = A + (k0 + k) * lda + i0 + ir;
        float* dk = d + k * MR;
        int r = 0;
        for (; r < mr; ++r) dk[r] = s[r];
        for (; r < MR; ++r) dk[r] = 0.f;
      }
    } else {
#ifdef GTN_X86
      if (MR == 8 && mr == 8 && g_has_avx2) {
        pack_A8_rows_avx2(A + (i0 + ir) * lda + k0, lda, kc, d);
        continue;
      }
#endif
      for (int r = 0; r < mr; ++r) {
        const float* s = A + (i0 + ir + r) * lda + k0;
        for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = s[k];
      }
      for (int r = mr; r < MR; ++r)
        for (int64_t k = 0; k < kc; ++k) d[k * MR + r] = 0.f;
    }
  }
}

// B block (kc x nc) into NR-column panels: dst[panel][k][c].
void pack_B(int NR, bool transB, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc, int64_t nc,
            float* dst) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int nr = (int)std::min<int64_t>(NR, nc - jr);
    float* d = dst + jr * kc;
    if (!transB) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = B + (k0 + k) * ldb + j0 + jr;
        float* dk = d + k * NR;
        if (nr == NR) {
          std::memcpy(dk, s, sizeof(float) * NR);
        } else {
          int c = 0;
          for (; c < nr; ++c) dk[c] = s[c];
          for (; c < NR; ++c) dk[c] = 0.f;
        }
      }
    } else {
      // Transposed source: read rows of B (contiguous in k) in blocks of 8 k to keep writes local.
      for (int c = 0; c < nr; ++c) {
        const float* s = B + (j0 + jr + c) * ldb + k0;
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = s[k];
      }
      for (int c = nr; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = 0.f;
    }
  }
}

void gemm_block(const KernelDesc& kd, bool tA, bool tB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(float) * N);
    return;
  }
  const int MR = kd.MR, NR = kd.NR;
  Scratch& s = tl_scratch;
  int64_t ncmax = std::min<int64_t>(NC, ((N + NR - 1) / NR) * NR);
  int64_t mcmax = std::min<int64_t>(MC, ((M + MR - 1) / MR) * MR);
  int64_t kcmax = std::min<int64_t>(KC, K);
  float* Ap = grow(s.a, s.na, (size_t)(mcmax * kcmax));
  float* Bp = grow(s.b, s.nb, (size_t)(ncmax * kcmax));
  for (int64_t jc = 0; jc < N; jc += NC) {
    int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = std::min(KC, K - pc);
      bool acc = accumulate || pc > 0;
      pack_B(NR, tB, B, ldb, pc, jc, kc, nc, Bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = std::min(MC, M - ic);
        pack_A(MR, tA, A, lda, ic, pc, mc, kc, Ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int nr = (int)std::min<int64_t>(NR, nc - jr);
          const float* bp = Bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int mr = (int)std::min<int64_t>(MR, mc - ir);
            kd.fn(kc, Ap + ir * kc, bp, C + (ic + ir) * ldc + jc + jr, ldc, mr, nr, acc);
          }
        }
      }
    }
  }
}

// Few rows (M <= 2): no packing (it would cost as much as the product); rows of B are streamed once.
// Every C element: the products summed in k order (non-transposed B) or as a 16-way split dot product
// (transposed B), then added to C: fixed per shape, independent of the column partition.
#ifdef GTN_X86
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void gemm_small_m(bool tA, bool tB, int64_t M, int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  alignas(64) float acc[256];
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (!tB) {
      for (int64_t jb = j0; jb < j1; jb += 256) {
        int64_t w = std::min<int64_t>(256, j1 - jb);
        for (int64_t j = 0; j < w; ++j) acc[j] = 0.f;
        for (int64_t k = 0; k < K; ++k) {
          float a = tA ? A[k * lda + i] : A[i * lda + k];
          const float* b = B + k * ldb + jb;
          for (int64_t j = 0; j < w; ++j) acc[j] += a * b[j];
        }
        if (accumulate)
          for (int64_t j = 0; j < w; ++j) c[jb + j] = c[jb + j] + acc[j];
        else
          for (int64_t j = 0; j < w; ++j) c[jb + j] = acc[j];
      }
    } else {
      const float* arow = A + (tA ? i : i * lda);
      int64_t as = tA ? lda : 1;
      for (int64_t j = j0; j < j1; ++j) {
        const float* b = B + j * ldb;
        float p[16] = {0};
        int64_t k = 0;
        for (; k + 16 <= K; k += 16)
          for (int q = 0; q < 16; ++q) p[q] += arow[(k + q) * as] * b[k + q];
        for (int q = 0; k < K; ++k, ++q) p[q] += arow[k * as] * b[k];
        for (int w = 8; w >= 1; w >>= 1)
          for (int q = 0; q < w; ++q) p[q] += p[q + w];
        c[j] = accumulate ? c[j] + p[0] : p[0];
      }
    }
  }
}

// Multi-threaded GEMM with a shared packed B (BLIS-style). Per column block jc: one region packs B for all of K
// (tasks = groups of NR panels), a second runs tasks = (MC row block, group of NR panels), each packing its
// own A blocks and walking the K blocks in order. Tasks are claimed dynamically, so a descheduled thread does
// not stall the others; every C tile is computed exactly as gemm_block computes it.
void gemm_shared_b(const KernelDesc& kd, bool tA, bool tB, int64_t M, int64_t N, int64_t K, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  const int MR = kd.MR, NR = kd.NR;
  const int64_t nkb = (K + KC - 1) / KC;
  int64_t ncb = ((int64_t)(4 << 20) / std::max<int64_t>(K, 1)) / NR * NR;  // shared B under ~16 MB
  ncb = std::max<int64_t>(NR, std::min<int64_t>(ncb, NC));
  ncb = std::min<int64_t>(ncb, (N + NR - 1) / NR * NR);
  Scratch& s = tl_scratch;
  float* Bp = grow(s.b, s.nb, (size_t)(nkb * KC * ncb));
  const int nt = num_threads();
  for (int64_t jc = 0; jc < N; jc += ncb) {
    const int64_t nc = std::min(ncb, N - jc);
    const int64_t npan = (nc + NR - 1) / NR;
    const int64_t ncp = npan * NR;
    // region 1: pack B
    {
      int64_t groups = std::min<int64_t>(npan, 4 * (int64_t)nt);
      int64_t per = (npan + groups - 1) / groups;
      groups = (npan + per - 1) / per;
      parallel_tasks((int)groups, [&](int t, int) {
        int64_t p0 = t * per, p1 = std::min(npan, p0 + per);
        int64_t j0 = p0 * NR, w = std::min(nc, p1 * NR) - j0;
        for (int64_t pb = 0; pb < nkb; ++pb) {
          int64_t kc = std::min(KC, K - pb * KC);
          pack_B(NR, tB, B, ldb, pb * KC, jc + j0, kc, w, Bp + pb * KC * ncp + j0 * kc);
        }
      });
    }
    // region 2: compute
    const int64_t nic = (M + MC - 1) / MC;
    int64_t jg = std::max<int64_t>(1, std::min<int64_t>(npan, (4 * (int64_t)nt + nic - 1) / nic));
    int64_t ppg = (npan + jg - 1) / jg;
    jg = (npan + ppg - 1) / ppg;
    parallel_tasks((int)(nic * jg), [&](int t, int) {
      int64_t ic = (t / jg) * MC, g = t % jg;
      int64_t mc = std::min(MC, M - ic);
      int64_t p0 = g * ppg, p1 = std::min(npan, p0 + ppg);
      Scratch& ls = tl_scratch;
      float* Ap = grow(ls.a, ls.na, (size_t)(((mc + MR - 1) / MR * MR) * std::min(KC, K)));
      for (int64_t pb = 0; pb < nkb; ++pb) {
        int64_t kc = std::min(KC, K - pb * KC);
        bool acc = accumulate || pb > 0;
        pack_A(MR, tA, A, lda, ic, pb * KC, mc, kc, Ap);
        const float* Bblk = Bp + pb * KC * ncp;
        for (int64_t pn = p0; pn < p1; ++pn) {
          int64_t jr = pn * NR;
          int nr = (int)std::min<int64_t>(NR, nc - jr);
          const float* bp = Bblk + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int mr = (int)std::min<int64_t>(MR, mc - ir);
            kd.fn(kc, Ap + ir * kc, bp, C + (ic + ir) * ldc + jc + jr, ldc, mr, nr, acc);
          }
        }
      }
    });
  }
}

}  // namespace

const char* simd_path() { return kernel().name; }
int simd_lanes() { return kernel().lanes; }

const char* force_simd_path(int which) {
  if (!g_detected) g_detected = detect();
  const KernelDesc* want = g_detected;
#ifdef GTN_X86
  if (which == 3 && g_detected == &kAvx512) want = &kAvx512;
  if (which == 2 && (g_detected == &kAvx512 || g_detected == &kAvx2)) want = &kAvx2;
#endif
  if (which == 1) want = &kPortable;
  g_kernel = want;
  return g_kernel->name;
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
           int64_t ldb, float* C, int64_t ldc, bool accumulate, bool allow_threads) {
  if (M <= 0 || N <= 0) return;
  const KernelDesc& kd = kernel();
  double work = (double)M * (double)N * (double)std::max<int64_t>(K, 1);
  int nt = num_threads();
  if (M <= 2 && K > 0) {
    if (!allow_threads || nt <= 1 || in_parallel() || work < 256.0 * 1024 || N < 64) {
      gemm_small_m(transA, transB, M, 0, N, K, A, lda, B, ldb, C, ldc, accumulate);
    } else {
      parallel_for(N, 64, 16, [&](int64_t j0, int64_t j1) {
        gemm_small_m(transA, transB, M, j0, j1, K, A, lda, B, ldb, C, ldc, accumulate);
      });
    }
    return;
  }
  if (!allow_threads || nt <= 1 || in_parallel() || work < 96.0 * 1024) {
    gemm_block(kd, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  if (K > 0 && work >= 2.0e6) {
    gemm_shared_b(kd, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
    return;
  }
  // Split the dimension whose split repacks less: splitting N makes every thread pack all of A (M*K),
  // splitting M makes every thread pack all of B (K*N).
  bool splitN = M <= N;
  int64_t units = splitN ? (N + kd.NR - 1) / kd.NR : (M + kd.MR - 1) / kd.MR;
  if (units < 2) {
    splitN = !splitN;
    units = splitN ? (N + kd.NR - 1) / kd.NR : (M + kd.MR - 1) / kd.MR;
  }
  int maxt = (int)std::min<int64_t>(units, 256);
  parallel(maxt, [&](int t, int nt2) {
    int64_t b, e;
    if (splitN) {
      split_range(N, t, nt2, kd.NR, b, e);
      if (b >= e) return;
      const float* Bs = transB ? B + b * ldb : B + b;
      gemm_block(kd, transA, transB, M, e - b, K, A, lda, Bs, ldb, C + b, ldc, accumulate);
    } else {
      split_range(M, t, nt2, kd.MR, b, e);
      if (b >= e) return;
      const float* As = transA ? A + b : A + b * lda;
      gemm_block(kd, transA, transB, e - b, N, K, As, lda, B, ldb, C + b * ldc, ldc, accumulate);
    }
  });
}

void matmul_batched(const float* a, const float* b, float* out, int64_t batch, int64_t M, int64_t K, int64_t N,
                    bool transA, bool transB, int64_t aBatchStride, int64_t bBatchStride) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  int64_t lda = transA ? M : K;
  int64_t ldb = transB ? K : N;
  // One GEMM when B is shared and the A matrices stack into one taller matrix.
  if (batch > 1 && bBatchStride == 0 && !transA && aBatchStride == M * K) {
    sgemm(false, transB, batch * M, N, K, a, K, b, ldb, out, N, false);
    return;
  }
  double work = (double)M * N * std::max<int64_t>(K, 1);
  if (batch == 1 || work >= 4.0e6 || num_threads() <= 1) {
    for (int64_t i = 0; i < batch; ++i)
      sgemm(transA, transB, M, N, K, a + i * aBatchStride, lda, b + i * bBatchStride, ldb, out + i * M * N, N, false);
    return;
  }
  parallel_tasks((int)std::min<int64_t>(batch, 65535), [&](int t, int nt) {
    for (int64_t i = t; i < batch; i += nt)
      sgemm(transA, transB, M, N, K, a + i * aBatchStride, lda, b + i * bBatchStride, ldb, out + i * M * N, N,
            false, false);
  });
}

// ---------------------------------------------------------------- peak measurement
#ifdef GTN_X86
// fma_loop_512 / fma_loop_256: twelve independent FMA chains of one vector width (enough to hide the FMA
// latency), kept in registers by the empty asm statements. PS is the intrinsics' prefix (_mm512, _mm256), REG
// the asm constraint of its registers.
#define GTN_FMA_LOOP(NAME, TARGET, VEC, PS, LANES, REG)                                                          \
  __attribute__((target(TARGET), noinline)) static double NAME(int64_t iters) {                                  \
    VEC a0 = PS##_set1_ps(1.f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0,  \
        a10 = a0, a11 = a0;                                                                                      \
    const VEC m = PS##_set1_ps(0.9999999f), c = PS##_set1_ps(1e-7f);                                             \
    for (int64_t i = 0; i < iters; ++i) {                                                                        \
      a0 = PS##_fmadd_ps(a0, m, c); a1 = PS##_fmadd_ps(a1, m, c); a2 = PS##_fmadd_ps(a2, m, c);                  \
      a3 = PS##_fmadd_ps(a3, m, c); a4 = PS##_fmadd_ps(a4, m, c); a5 = PS##_fmadd_ps(a5, m, c);                  \
      a6 = PS##_fmadd_ps(a6, m, c); a7 = PS##_fmadd_ps(a7, m, c); a8 = PS##_fmadd_ps(a8, m, c);                  \
      a9 = PS##_fmadd_ps(a9, m, c); a10 = PS##_fmadd_ps(a10, m, c); a11 = PS##_fmadd_ps(a11, m, c);              \
      __asm__ volatile("" : "+" REG(a0), "+" REG(a1), "+" REG(a2), "+" REG(a3), "+" REG(a4), "+" REG(a5));       \
      __asm__ volatile("" : "+" REG(a6), "+" REG(a7), "+" REG(a8), "+" REG(a9), "+" REG(a10), "+" REG(a11));     \
    }                                                                                                            \
    VEC s = PS##_add_ps(PS##_add_ps(PS##_add_ps(a0, a1), PS##_add_ps(a2, a3)),                                   \
                        PS##_add_ps(PS##_add_ps(a4, a5), PS##_add_ps(a6, a7)));                                  \
    s = PS##_add_ps(s, PS##_add_ps(PS##_add_ps(a8, a9), PS##_add_ps(a10, a11)));                                 \
    alignas(64) float t[LANES];                                                                                  \
    PS##_store_ps(t, s);                                                                                         \
    return t[0];                                                                                                 \
  }
GTN_FMA_LOOP(fma_loop_512, "avx512f,fma", __m512, _mm512, 16, "v")
GTN_FMA_LOOP(fma_loop_256, "avx2,fma", __m256, _mm256, 8, "x")
#undef GTN_FMA_LOOP
#endif

static double fma_loop_portable(int64_t iters) {
  float a[12][4];
  for (auto& r : a)
    for (float& v : r) v = 1.f;
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& r : a)
      for (float& v : r) v = v * 0.9999999f + 1e-7f;
    __asm__ volatile("" : : "r"(&a[0][0]) : "memory");
  }
  return a[0][0];
}

static double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

volatile double g_sink = 0;

double fma_flops_per_sec(double seconds) {
  const KernelDesc& kd = kernel();
  int lanes = kd.lanes;
  double (*fn)(int64_t) = fma_loop_portable;
#ifdef GTN_X86
  if (kd.fn == uk_avx512) fn = fma_loop_512;
  else if (kd.fn == uk_avx2) fn = fma_loop_256;
#endif
  int64_t iters = 1 << 16;
  g_sink = fn(iters);  // warm up
  double best = 0;
  double t_end = now_s() + seconds;
  while (now_s() < t_end) {
    double t0 = now_s();
    g_sink = fn(iters);
    double dt = now_s() - t0;
    if (dt < 2e-3) {
      iters *= 2;
      continue;
    }
    double f = (double)iters * 12 * lanes * 2 / dt;
    if (f > best) best = f;
  }
  return best;
}

double measure_clock_hz(double seconds) {
  // A chain of dependent integer adds retires one per cycle on every x86 core of the last 20 years.
  int64_t iters = 1 << 20;
  double best = 0;
  double t_end = now_s() + seconds;
  while (now_s() < t_end) {
    uint64_t x = 0;
    double t0 = now_s();
    for (int64_t i = 0; i < iters; ++i) {
#ifdef GTN_X86
      __asm__ volatile(
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, "
          "%0\n\t"
          "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, "
          "%0\n\t"
          : "+r"(x));
#else
      __asm__ volatile("" : "+r"(x));
      x += 16;
#endif
    }
    double dt = now_s() - t0;
    g_sink = (double)x;
    if (dt < 2e-3) {
      iters *= 2;
      continue;
    }
    double hz = (double)iters * 16 / dt;
    if (hz > best) best = hz;
  }
  return best;
}

}  // namespace gtn
