// Non-GEMM kernels of the gtn native backend.
#pragma once
#include <cstdint>
#include <vector>

namespace gtn {

typedef std::vector<int64_t> Dims;

// Number of elements of a shape.
inline int64_t prod(const Dims& d) {
  int64_t p = 1;
  for (int64_t v : d) p *= v;
  return p;
}

// Unary op codes (must match src/tensor/backends/native.ts).
enum UnaryCode {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_TANH, U_SIGMOID, U_RELU, U_ABS, U_SIGN, U_SQUARE, U_RECIPROCAL,
  U_LEAKYRELU, U_LEAKYRELUMASK, U_STEP, U_ADDSCALAR, U_MULSCALAR, U_POWSCALAR, U_COUNT
};
// B_LRELUGRAD: a > 0 ? b : param * b (leakyRelu's vjp at a applied to b).
enum BinaryCode { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_GT, B_GE, B_LT, B_LE, B_EQ, B_LRELUGRAD, B_COUNT };

void unary(int op, const float* x, float* out, int64_t n, float param);
void binary(int op, const float* a, const Dims& aShape, const float* b, const Dims& bShape, float* out,
            const Dims& outShape, float param);
void where(const float* c, const Dims& cShape, const float* a, const Dims& aShape, const float* b, const Dims& bShape,
           float* out, const Dims& outShape);
// isMax: reduceMax instead of reduceSum.
void reduce(bool isMax, const float* x, const Dims& shape, const std::vector<bool>& reduced, float* out);
void argmax(const float* x, const Dims& shape, int axis, int32_t* out);
void permute(const float* x, const Dims& shape, const Dims& perm, float* out);
void slice(const float* x, const Dims& shape, const Dims& begin, const Dims& size, float* out);
void pad_zero(const float* x, const Dims& shape, const Dims& before, const Dims& after, float* out);
void concat(const std::vector<const float*>& xs, const std::vector<Dims>& shapes, int axis, float* out);
// out[i] = x[idx[i]] for i < n (x holds size floats); false when some idx[i] lies outside [0, size) (those
// outputs are 0).
bool gather(const float* x, int64_t size, const int32_t* idx, int64_t n, float* out);
// out[idx[i]] += g[i] for i < n (out holds size floats); false, before writing anything, when some idx[i] lies
// outside [0, size).
bool scatter_add(const float* g, const int32_t* idx, int64_t n, float* out, int64_t size);

}  // namespace gtn
