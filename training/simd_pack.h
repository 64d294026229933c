// A fixed-width SIMD value (W lanes of float or double) that behaves like a scalar for the
// templated device equations in devices/mss_model.h, so the layer kernels evaluate W neurons per
// call of the same code the MNA device uses (one source of truth) while the compiler emits AVX
// instructions through Eigen's packet math.
//
// Branches: mss::Sigmoid branches on `z >= 0` only to avoid overflow; its two branches are the same
// function. Comparisons here are true only if they hold in every lane, so a mixed pack takes the
// e^z / (1 + e^z) branch, and exp() saturates its argument at +80 so that branch stays finite for
// every lane (error < 1e-34). Functions whose branches differ (mss::LimitedExp, used only by the
// diode term when phi != 1) are NOT lane-safe: kernels use packs only when phi == 1 and fall back
// to scalars otherwise.
#ifndef MEMSPICE_TRAINING_SIMD_PACK_H_
#define MEMSPICE_TRAINING_SIMD_PACK_H_

#include <Eigen/Core>
#include <type_traits>

namespace memspice::training::simd {

template <typename S, int W>
struct Pack {
  using Array = Eigen::Array<S, W, 1>;
  static constexpr int kLanes = W;
  Array a;

  Pack() = default;
  template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>>
  Pack(A s) : a(Array::Constant(S(s))) {}  // NOLINT: scalars convert implicitly, as for double
  explicit Pack(const Array& v) : a(v) {}

  static Pack Load(const S* p) { return Pack(Array(Eigen::Map<const Array>(p))); }
  void Store(S* p) const {
    Eigen::Map<Array> m(p);
    m = a;
  }

  Pack operator-() const { return Pack(Array(-a)); }
  Pack& operator+=(const Pack& o) {
    a += o.a;
    return *this;
  }
  Pack& operator-=(const Pack& o) {
    a -= o.a;
    return *this;
  }
  Pack& operator*=(const Pack& o) {
    a *= o.a;
    return *this;
  }
};

#define MEMSPICE_PACK_BINOP(op)                                                                  \
  template <typename S, int W>                                                                   \
  Pack<S, W> operator op(const Pack<S, W>& x, const Pack<S, W>& y) {                             \
    return Pack<S, W>(typename Pack<S, W>::Array(x.a op y.a));                                   \
  }                                                                                              \
  template <typename S, int W, typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  Pack<S, W> operator op(const Pack<S, W>& x, A y) {                                             \
    return Pack<S, W>(typename Pack<S, W>::Array(x.a op S(y)));                                  \
  }                                                                                              \
  template <typename S, int W, typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  Pack<S, W> operator op(A x, const Pack<S, W>& y) {                                             \
    return Pack<S, W>(typename Pack<S, W>::Array(S(x) op y.a));                                  \
  }
MEMSPICE_PACK_BINOP(+)
MEMSPICE_PACK_BINOP(-)
MEMSPICE_PACK_BINOP(*)
MEMSPICE_PACK_BINOP(/)
#undef MEMSPICE_PACK_BINOP

// All-lanes comparisons (see the file comment).
#define MEMSPICE_PACK_CMP(op)                                                                    \
  template <typename S, int W, typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>> \
  bool operator op(const Pack<S, W>& x, A y) {                                                   \
    return (x.a op S(y)).all();                                                                  \
  }
MEMSPICE_PACK_CMP(>=)
MEMSPICE_PACK_CMP(<=)
MEMSPICE_PACK_CMP(>)
MEMSPICE_PACK_CMP(<)
#undef MEMSPICE_PACK_CMP

// Vectorised exp (Eigen's packet exp), argument saturated at +80.
template <typename S, int W>
Pack<S, W> exp(const Pack<S, W>& x) {
  return Pack<S, W>(typename Pack<S, W>::Array(x.a.min(S(80)).exp()));
}

template <typename S>
inline constexpr int kLanes = std::is_same_v<S, float> ? 8 : 4;  // two SSE or one AVX register

}  // namespace memspice::training::simd

#endif  // MEMSPICE_TRAINING_SIMD_PACK_H_
