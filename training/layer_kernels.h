// The per-neuron MIF kernels of the MEMprop network (forward step, its adjoint, and the loops over
// all T steps of one layer), templated over the value type: a scalar, or a SIMD pack that evaluates
// kLanes neurons per call of the same mss:: device templates (devices/mss_model.h).
//
// This header does not include Eigen on purpose: it is compiled three times, in network.cc with
// the project's flags (Eigen packs, double and the scalar fallback) and in
// layer_kernels_avx2.cc / layer_kernels_avx512.cc with -mavx2 / -mavx512f, where it is
// instantiated only with pack types from an anonymous namespace. Every function those two
// translation units instantiate therefore has internal linkage, and the linker can never merge an
// AVX-encoded copy of a shared template into code that runs on a CPU without AVX (the ODR problem
// of compiling Eigen with mixed -m flags); training/check_isa_symbols.cmake enforces this after
// every build. See docs/training.md, "Precision and threading".
#ifndef MEMSPICE_TRAINING_LAYER_KERNELS_H_
#define MEMSPICE_TRAINING_LAYER_KERNELS_H_

#include <cstddef>

#include "devices/mss_model.h"

namespace memspice::training::kernels {

// Per-layer constants in the kernel's scalar type.
template <typename S>
struct LayerConst {
  S h, dt, v1, v2, vr, x1r, x2r, theta;  // theta = 1 semi-implicit, 0 forward Euler
  // Backward Euler: Newton iterations per step (0 = explicit, theta above). The drive passed for
  // step n is then I[n+1] (the caller shifts it).
  int newton = 0;
  S slope1, slope2;  // phi dG/dx of M1, M2
  devices::mss::MssParamsT<S> m1, m2;
};

// SIMD packs are lane-safe for the MSS equations only without the diode term (see simd_pack.h).
template <typename S>
bool UsePacks(const LayerConst<S>& c) {
  return c.m1.phi == S(1) && c.m2.phi == S(1);
}

// Residual F and Jacobian J = dF/d(v', x1', x2') of the backward-Euler step at (vn, x1n, x2n):
//   F1 = v' - v - h (drive - load (v' - vr) - i(x', v')),  F_k+1 = x_k' - x_k - dt rate_k(x_k', v')
// J has the arrow pattern [a b1 b2; c1 d1 0; c2 0 d2], solved by elimination (no pivoting needed:
// d_k = 1 + dt (P_on + P_off) / tau >= 1).
template <typename T>
struct BeSystem {
  T f1, f2, f3, a, b1, b2, c1, c2, d1, d2;
};
template <typename S, typename T>
inline BeSystem<T> BeResidual(const LayerConst<S>& c, const T& v, const T& x1, const T& x2,
                              const T& drive, const T& load, const T& vn, const T& x1n,
                              const T& x2n) {
  namespace mss = devices::mss;
  const mss::MssEval<T> e1 = mss::Evaluate(c.m1, x1n, T(vn - c.v1));
  const mss::MssEval<T> e2 = mss::Evaluate(c.m2, x2n, T(vn - c.v2));
  BeSystem<T> s;
  s.f1 = vn - v - c.h * (drive - load * (vn - c.vr) - (e1.i + e2.i));
  s.f2 = x1n - x1 - c.dt * e1.rate;
  s.f3 = x2n - x2 - c.dt * e2.rate;
  s.a = S(1) + c.h * (load + e1.di_du + e2.di_du);
  s.b1 = c.h * e1.di_dx;
  s.b2 = c.h * e2.di_dx;
  s.c1 = -c.dt * e1.drate_du;
  s.c2 = -c.dt * e2.drate_du;
  s.d1 = S(1) - c.dt * e1.drate_dx;
  s.d2 = S(1) - c.dt * e2.drate_dx;
  return s;
}

// One forward step of one neuron (T = S, or a SIMD pack of S): the only place the discrete
// recurrence is written (the reverse pass differentiates exactly this). Backward Euler runs a fixed
// number of Newton iterations from state n (branch-free, so SIMD lanes stay in step).
template <typename S, typename T>
inline void NeuronStep(const LayerConst<S>& c, const T& v, const T& x1, const T& x2, const T& drive,
                       const T& load, T* v_next, T* x1_next, T* x2_next) {
  namespace mss = devices::mss;
  if (c.newton > 0) {
    T vn = v, x1n = x1, x2n = x2;
    for (int it = 0; it < c.newton; ++it) {
      const BeSystem<T> s = BeResidual(c, v, x1, x2, drive, load, vn, x1n, x2n);
      const T r1 = s.b1 / s.d1, r2 = s.b2 / s.d2;
      const T dv = (s.f1 - r1 * s.f2 - r2 * s.f3) / (s.a - r1 * s.c1 - r2 * s.c2);
      vn = vn - dv;
      x1n = x1n - (s.f2 - s.c1 * dv) / s.d1;
      x2n = x2n - (s.f3 - s.c2 * dv) / s.d2;
    }
    *v_next = vn;
    *x1_next = x1n;
    *x2_next = x2n;
    return;
  }
  const T u1 = v - c.v1, u2 = v - c.v2;
  const T i = mss::Current(c.m1, x1, u1) + mss::Current(c.m2, x2, u2);
  // di/du = phi G(x) (semi-implicit requires phi = 1, checked in Validate).
  const T g = c.m1.phi * mss::Conductance(c.m1, x1) + c.m2.phi * mss::Conductance(c.m2, x2);
  const T d = S(1) + c.theta * c.h * (g + load);
  *v_next = v + c.h * (drive - load * (v - c.vr) - i) / d;
  *x1_next = x1 + c.dt * mss::StateRate(c.m1, x1, u1);
  *x2_next = x2 + c.dt * mss::StateRate(c.m2, x2, u2);
}

// Adjoint of one NeuronStep (T = S or a pack): given the adjoints of state n+1 in (lv, lx1, lx2),
// returns the adjoints of state n, dL/d(drive of step n) and dL/dL.
template <typename S, typename T>
inline void NeuronAdjoint(const LayerConst<S>& c, const T& v, const T& v_next, const T& x1,
                          const T& x2, const T& x1_next, const T& x2_next, const T& load,
                          const T& direct, T* lv, T* lx1, T* lx2, T* di, T* dload) {
  namespace mss = devices::mss;
  if (c.newton > 0) {
    // Implicit function theorem on F(z', z, drive, load) = 0: mu = J^-T lambda', then
    // dL/dz = -mu^T dF/dz = mu (dF/dz = -1), dL/d drive = h mu_v, dL/dload = -h (v' - vr) mu_v.
    // F at the converged z' does not depend on z or drive, so they are passed as zero.
    const BeSystem<T> s =
        BeResidual(c, v_next, x1_next, x2_next, T(S(0)), load, v_next, x1_next, x2_next);
    const T a_v = *lv, a_x1 = *lx1, a_x2 = *lx2;
    const T q1 = s.c1 / s.d1, q2 = s.c2 / s.d2;
    const T mu_v = (a_v - q1 * a_x1 - q2 * a_x2) / (s.a - q1 * s.b1 - q2 * s.b2);
    *di = c.h * mu_v;
    *dload = *dload - c.h * (v_next - c.vr) * mu_v;
    *lv = mu_v + direct;
    *lx1 = (a_x1 - s.b1 * mu_v) / s.d1;
    *lx2 = (a_x2 - s.b2 * mu_v) / s.d2;
    return;
  }
  const T u1 = v - c.v1, u2 = v - c.v2;
  const mss::MssEval<T> e1 = mss::Evaluate(c.m1, x1, u1);
  const mss::MssEval<T> e2 = mss::Evaluate(c.m2, x2, u2);
  const T g = e1.di_du + e2.di_du;
  const T hd = c.h / (S(1) + c.theta * c.h * (g + load));
  const T delta = c.theta * (v_next - v);
  const T dv_dv = S(1) - hd * (g + load);
  const T dv_dx1 = -hd * (e1.di_dx + delta * c.slope1);
  const T dv_dx2 = -hd * (e2.di_dx + delta * c.slope2);
  const T dv_dl = -hd * ((v - c.vr) + delta);
  const T a_v = *lv, a_x1 = *lx1, a_x2 = *lx2;
  *di = a_v * hd;
  *dload = *dload + a_v * dv_dl;
  *lv = a_v * dv_dv + c.dt * (a_x1 * e1.drate_du + a_x2 * e2.drate_du) + direct;
  *lx1 = a_v * dv_dx1 + a_x1 * (S(1) + c.dt * e1.drate_dx);
  *lx2 = a_v * dv_dx2 + a_x2 * (S(1) + c.dt * e2.drate_dx);
}

// The last `count` < P::kLanes elements as a full pack, padded with copies of the last element (so
// every lane stays finite), and the matching partial store.
template <typename S, typename P>
P LoadTail(const S* p, int count) {
  alignas(64) S buf[P::kLanes];
  for (int i = 0; i < P::kLanes; ++i) buf[i] = p[i < count ? i : count - 1];
  return P::Load(buf);
}
template <typename S, typename P>
void StoreTail(const P& x, S* p, int count) {
  alignas(64) S buf[P::kLanes];
  x.Store(buf);
  for (int i = 0; i < count; ++i) p[i] = buf[i];
}

// Forward pass of one MIF layer over all T steps for N = samples x neurons elements, stored as
// (T+1) x N row-major state arrays. drive: rows (T x N) or, if null, alpha[n] * amp[e]. P is the
// pack type; kScalar allows the scalar path (needed when the packs are not lane-safe, phi != 1).
template <typename S, typename P, bool kScalar>
void ForwardLayer(const LayerConst<S>& c, int steps, int n_el, const S* rows, const S* alpha,
                  const S* amp, const S* load, S* v, S* x1, S* x2) {
  constexpr int kW = P::kLanes;
  for (int e = 0; e < n_el; ++e) {
    v[e] = c.vr;
    x1[e] = c.x1r;
    x2[e] = c.x2r;
  }
  const bool packs = !kScalar || UsePacks(c);
  const int n_vec = packs ? n_el / kW * kW : 0;
  for (int n = 0; n < steps; ++n) {
    const size_t o = static_cast<size_t>(n) * n_el;
    const S* vv = v + o;
    const S* xa = x1 + o;
    const S* xb = x2 + o;
    S* vn = v + o + n_el;
    S* xan = x1 + o + n_el;
    S* xbn = x2 + o + n_el;
    const S* dr = rows ? rows + o : nullptr;
    const S a = rows ? S(0) : alpha[n];
    for (int e = 0; e < n_vec; e += kW) {
      const P drive = dr ? P::Load(dr + e) : P::Load(amp + e) * a;
      P o1, o2, o3;
      NeuronStep(c, P::Load(vv + e), P::Load(xa + e), P::Load(xb + e), drive, P::Load(load + e),
                 &o1, &o2, &o3);
      o1.Store(vn + e);
      o2.Store(xan + e);
      o3.Store(xbn + e);
    }
    if (packs && n_vec < n_el) {
      const int r = n_el - n_vec, e = n_vec;
      const P drive = dr ? LoadTail<S, P>(dr + e, r) : LoadTail<S, P>(amp + e, r) * a;
      P o1, o2, o3;
      NeuronStep(c, LoadTail<S, P>(vv + e, r), LoadTail<S, P>(xa + e, r), LoadTail<S, P>(xb + e, r),
                 drive, LoadTail<S, P>(load + e, r), &o1, &o2, &o3);
      StoreTail(o1, vn + e, r);
      StoreTail(o2, xan + e, r);
      StoreTail(o3, xbn + e, r);
    }
    if constexpr (kScalar) {
      if (!packs)
        for (int e = 0; e < n_el; ++e) {
          const S drive = dr ? dr[e] : a * amp[e];
          NeuronStep(c, vv[e], xa[e], xb[e], drive, load[e], vn + e, xan + e, xbn + e);
        }
    }
  }
}

// Reverse pass of one MIF layer: consumes direct[n] = dL/dv[n] (n = 0..T), produces di[n] =
// dL/dI[n] (n = 0..T-1) and accumulates gload[e] += dL/dL_e. lv, lx1, lx2: N-element scratch.
template <typename S, typename P, bool kScalar>
void BackwardLayer(const LayerConst<S>& c, int steps, int n_el, const S* v, const S* x1,
                   const S* x2, const S* direct, const S* load, S* di, S* lv, S* lx1, S* lx2,
                   S* gload) {
  constexpr int kW = P::kLanes;
  const bool packs = !kScalar || UsePacks(c);
  const int n_vec = packs ? n_el / kW * kW : 0;
  const S* dT = direct + static_cast<size_t>(steps) * n_el;
  for (int e = 0; e < n_el; ++e) {
    lv[e] = dT[e];
    lx1[e] = lx2[e] = S(0);
  }
  for (int n = steps - 1; n >= 0; --n) {
    const size_t o = static_cast<size_t>(n) * n_el;
    const S* vv = v + o;
    const S* vn = v + o + n_el;
    const S* xa = x1 + o;
    const S* xb = x2 + o;
    const S* dd = direct + o;
    S* dio = di + o;
    for (int e = 0; e < n_vec; e += kW) {
      P a_v = P::Load(lv + e), a_x1 = P::Load(lx1 + e), a_x2 = P::Load(lx2 + e), d_i,
        g_l = P::Load(gload + e);
      NeuronAdjoint(c, P::Load(vv + e), P::Load(vn + e), P::Load(xa + e), P::Load(xb + e),
                    P::Load(xa + n_el + e), P::Load(xb + n_el + e), P::Load(load + e),
                    P::Load(dd + e), &a_v, &a_x1, &a_x2, &d_i, &g_l);
      a_v.Store(lv + e);
      a_x1.Store(lx1 + e);
      a_x2.Store(lx2 + e);
      d_i.Store(dio + e);
      g_l.Store(gload + e);
    }
    if (packs && n_vec < n_el) {
      const int r = n_el - n_vec, e = n_vec;
      P a_v = LoadTail<S, P>(lv + e, r), a_x1 = LoadTail<S, P>(lx1 + e, r),
        a_x2 = LoadTail<S, P>(lx2 + e, r), d_i, g_l = LoadTail<S, P>(gload + e, r);
      NeuronAdjoint(c, LoadTail<S, P>(vv + e, r), LoadTail<S, P>(vn + e, r),
                    LoadTail<S, P>(xa + e, r), LoadTail<S, P>(xb + e, r),
                    LoadTail<S, P>(xa + n_el + e, r), LoadTail<S, P>(xb + n_el + e, r),
                    LoadTail<S, P>(load + e, r), LoadTail<S, P>(dd + e, r), &a_v, &a_x1, &a_x2,
                    &d_i, &g_l);
      StoreTail(a_v, lv + e, r);
      StoreTail(a_x1, lx1 + e, r);
      StoreTail(a_x2, lx2 + e, r);
      StoreTail(d_i, dio + e, r);
      StoreTail(g_l, gload + e, r);
    }
    if constexpr (kScalar) {
      if (!packs)
        for (int e = 0; e < n_el; ++e)
          NeuronAdjoint(c, vv[e], vn[e], xa[e], xb[e], xa[n_el + e], xb[n_el + e], load[e], dd[e],
                        lv + e, lx1 + e, lx2 + e, dio + e, gload + e);
    }
  }
}

// Float kernels built for one instruction set (layer_kernels_avx2.cc, layer_kernels_avx512.cc);
// same contracts as ForwardLayer / BackwardLayer with packs (callers check UsePacks first). Call
// only if the CPU supports the instruction set (IsaSupported in network.cc).
#define MEMSPICE_DECLARE_ISA_KERNELS(suffix)                                                    \
  void ForwardLayer##suffix(const LayerConst<float>& c, int steps, int n_el, const float* rows, \
                            const float* alpha, const float* amp, const float* load, float* v,  \
                            float* x1, float* x2);                                              \
  void BackwardLayer##suffix(const LayerConst<float>& c, int steps, int n_el, const float* v,   \
                             const float* x1, const float* x2, const float* direct,             \
                             const float* load, float* di, float* lv, float* lx1, float* lx2,   \
                             float* gload);
MEMSPICE_DECLARE_ISA_KERNELS(Avx2)
MEMSPICE_DECLARE_ISA_KERNELS(Avx512)
#undef MEMSPICE_DECLARE_ISA_KERNELS

}  // namespace memspice::training::kernels

#endif  // MEMSPICE_TRAINING_LAYER_KERNELS_H_
