// Cephes' single-precision exp after range reduction, shared by the scalar
// loops (recurrence.cpp: exp_f, which the compiler vectorises) and the fused
// tiles (fused_tile.h: exp_v, in explicit vector lanes). The callers differ in
// how they clamp x and round x log2(e) to fx, and in how they build 2^fx.
#pragma once

namespace lstmkit_exp {

// e^(x - fx ln 2) for fx = round(x log2 e): ln 2 split in two parts (Cody and
// Waite) and the degree-5 polynomial on [-ln2/2, ln2/2], relative error
// ~1e-7. T is float or a GCC vector of floats (scalars broadcast).
template <typename T>
__attribute__((always_inline)) inline T exp_reduced(T x, T fx) {
  x = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  const T z = x * x;
  T y = x * 1.9875691500E-4f + 1.3981999507E-3f;
  y = y * x + 8.3334519073E-3f;
  y = y * x + 4.1665795894E-2f;
  y = y * x + 1.6666665459E-1f;
  y = y * x + 5.0000001201E-1f;
  return y * z + x + 1.0f;
}

}  // namespace lstmkit_exp
