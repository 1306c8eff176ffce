// GTN_SIMD_CLONES: one copy of a function per SIMD level (AVX-512, AVX2, baseline), picked at load time, on
// x86-64 Linux; elsewhere the function is built once. For plain loops the compiler vectorises: each copy runs the
// same operations in the same order (no FMA contraction: the build passes -ffp-contract=off), so the bits do
// not depend on the copy.
#pragma once

#if defined(__x86_64__) && defined(__linux__)
#define GTN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GTN_SIMD_CLONES
#endif
