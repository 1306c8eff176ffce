// The x86 intrinsics headers, included the one way the AVX-512 kernels need them.
#pragma once

// GCC 12's AVX-512 headers hand _mm512_undefined_*() to the builtins behind shuffles, unpacks and max, which
// -Wmaybe-uninitialized then reports inside the headers (GCC bug 105593): nothing of ours is uninitialised. The
// pragmas hold for the rest of the including file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(__x86_64__)
#include <immintrin.h>
#endif
