// A SIMD pack over one native x86 vector register (__m256: 8 floats, AVX2; __m512: 16 floats,
// AVX-512F) for the instruction-set-specific builds of the layer kernels. Include ONLY from
// layer_kernels_avx2.cc / layer_kernels_avx512.cc, after defining MEMSPICE_NATIVE_LANES (8 or 16):
// the pack lives in an anonymous namespace so that every template instantiated with it has
// internal linkage (see layer_kernels.h). exp comes from glibc's vector math library (libmvec,
// the functions GCC itself calls when it vectorises expf), so no Eigen code is compiled with these
// flags. Semantics as simd_pack.h: comparisons hold only if they hold in every lane, exp saturates
// its argument at +80.
#ifndef MEMSPICE_TRAINING_NATIVE_PACK_H_
#define MEMSPICE_TRAINING_NATIVE_PACK_H_

#include <immintrin.h>

#include <type_traits>

#if MEMSPICE_NATIVE_LANES == 16
using NativeFloatVec = __m512;
extern "C" __m512 _ZGVeN16v_expf(__m512);  // libmvec, AVX-512 variant
#elif MEMSPICE_NATIVE_LANES == 8
using NativeFloatVec = __m256;
extern "C" __m256 _ZGVdN8v_expf(__m256);  // libmvec, AVX2 variant
#else
#error "define MEMSPICE_NATIVE_LANES to 8 (AVX2) or 16 (AVX-512F) before including native_pack.h"
#endif

namespace {

struct NativePack {
  static constexpr int kLanes = MEMSPICE_NATIVE_LANES;
  NativeFloatVec a;  // GCC vector extension: + - * / act per lane, scalars broadcast

  NativePack() = default;
  template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>>
  NativePack(A s) : a(Splat(float(s))) {}  // NOLINT: scalars convert implicitly, as for double
  explicit NativePack(NativeFloatVec v) : a(v) {}

  static NativeFloatVec Splat(float s) {
#if MEMSPICE_NATIVE_LANES == 16
    return _mm512_set1_ps(s);
#else
    return _mm256_set1_ps(s);
#endif
  }
  static NativePack Load(const float* p) {
#if MEMSPICE_NATIVE_LANES == 16
    return NativePack(_mm512_loadu_ps(p));
#else
    return NativePack(_mm256_loadu_ps(p));
#endif
  }
  void Store(float* p) const {
#if MEMSPICE_NATIVE_LANES == 16
    _mm512_storeu_ps(p, a);
#else
    _mm256_storeu_ps(p, a);
#endif
  }
  // True if x[i] `pred` y holds in every lane.
  template <int kPred>
  static bool All(NativeFloatVec x, NativeFloatVec y) {
#if MEMSPICE_NATIVE_LANES == 16
    return _mm512_cmp_ps_mask(x, y, kPred) == 0xFFFF;
#else
    return _mm256_movemask_ps(_mm256_cmp_ps(x, y, kPred)) == 0xFF;
#endif
  }

  NativePack operator-() const { return NativePack(-a); }
  NativePack& operator+=(const NativePack& o) {
    a += o.a;
    return *this;
  }
  NativePack& operator-=(const NativePack& o) {
    a -= o.a;
    return *this;
  }
  NativePack& operator*=(const NativePack& o) {
    a *= o.a;
    return *this;
  }
};

#define MEMSPICE_NATIVE_BINOP(op)                                             \
  inline NativePack operator op(const NativePack& x, const NativePack& y) {   \
    return NativePack(x.a op y.a);                                            \
  }                                                                           \
  template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  NativePack operator op(const NativePack& x, A y) {                          \
    return NativePack(x.a op NativePack::Splat(float(y)));                    \
  }                                                                           \
  template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  NativePack operator op(A x, const NativePack& y) {                          \
    return NativePack(NativePack::Splat(float(x)) op y.a);                    \
  }
MEMSPICE_NATIVE_BINOP(+)
MEMSPICE_NATIVE_BINOP(-)
MEMSPICE_NATIVE_BINOP(*)
MEMSPICE_NATIVE_BINOP(/)
#undef MEMSPICE_NATIVE_BINOP

#define MEMSPICE_NATIVE_CMP(op, pred)                                         \
  template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  bool operator op(const NativePack& x, A y) {                                \
    return NativePack::All<pred>(x.a, NativePack::Splat(float(y)));           \
  }
MEMSPICE_NATIVE_CMP(>=, _CMP_GE_OQ)
MEMSPICE_NATIVE_CMP(<=, _CMP_LE_OQ)
MEMSPICE_NATIVE_CMP(>, _CMP_GT_OQ)
MEMSPICE_NATIVE_CMP(<, _CMP_LT_OQ)
#undef MEMSPICE_NATIVE_CMP

inline NativePack exp(const NativePack& x) {
#if MEMSPICE_NATIVE_LANES == 16
  return NativePack(_ZGVeN16v_expf(_mm512_min_ps(x.a, NativePack::Splat(80.0f))));
#else
  return NativePack(_ZGVdN8v_expf(_mm256_min_ps(x.a, NativePack::Splat(80.0f))));
#endif
}

}  // namespace

#endif  // MEMSPICE_TRAINING_NATIVE_PACK_H_
