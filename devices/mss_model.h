// Mean metastable-switch (MSS) memristor equations, written once as templates over the scalar
// type so that the MNA device, the derivative tests (ceres::Jet) and the MEMprop layer kernels
// share one source of truth. Nothing here knows about MNA, nodes or matrices.
//
// Model (spec models.md section 1; Knowm mean MSS, volatile form; Table III defaults):
//
//   u        = V(p) - V(n)                                   voltage across the device
//   G(x)     = x / R_on + (1 - x) / R_off                    conductance
//   i(x, u)  = phi G(x) u + (1 - phi) (a_f e^{b_f u} - a_r e^{-b_r u})     current p -> n
//   P_on(u)  = sigma((u - V_on) / (k V_T))
//   P_off(u) = sigma((V_off - u) / (k V_T))                  memspice/MEMprop convention
//            = 1 - sigma((u + V_off) / (k V_T))              Knowm convention (convention=knowm)
//   dx/dt    = ((1 - x) P_on(u) - x P_off(u)) / tau
//
// The two P_off spellings are the same function with V_off -> -V_off, so the Knowm convention is
// handled by negating V_off once (EffectiveVoff()). The diode exponentials of the generalized form
// are continued linearly beyond exp(kMaxExpArg) so that a wild Newton iterate cannot overflow.
//
// Scalar types: T is the type of the state x and voltage u (double or ceres::Jet<double, N>);
// P is the parameter type, either double or the same T (to differentiate with respect to
// parameters, cast the parameters with MssParamsT<T>::Cast). Only +, -, *, /, exp and comparisons
// are used; exp is found by ADL (ceres::exp for Jets) or std::exp.
#ifndef MEMSPICE_DEVICES_MSS_MODEL_H_
#define MEMSPICE_DEVICES_MSS_MODEL_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>

namespace memspice::devices::mss {

// Model parameters. Defaults are MEMprop Table III (the neuron memristor).
template <typename P>
struct MssParamsT {
  P ron = P(1e3);      // ON resistance [Ohm]
  P roff = P(1e5);     // OFF resistance [Ohm]
  P von = P(0.110);    // ON switching threshold [V]
  P voff = P(0.005);   // OFF switching threshold [V] (meaning depends on `knowm`)
  P tau = P(1e-3);     // state time constant [s]
  P vt = P(0.025);     // thermal voltage [V]
  P k = P(0.6);        // volatility constant, 0 < k <= 1 (smaller: more retentive)
  P phi = P(1.0);      // memristive fraction of the generalized MSS current, 0 <= phi <= 1
  P af = P(1e-7);      // forward diode prefactor [A] (used only when phi < 1)
  P bf = P(10.0);      // forward diode exponent [1/V]
  P ar = P(1e-7);      // reverse diode prefactor [A]
  P br = P(10.0);      // reverse diode exponent [1/V]
  bool knowm = false;  // true: voff is Knowm's V_off (P_off = 1 - sigma((u + voff)/(k V_T)))

  // The same parameters in another scalar type (e.g. Jet, to get parameter derivatives).
  template <typename Q>
  MssParamsT<Q> Cast() const {
    MssParamsT<Q> q;
    q.ron = Q(ron);
    q.roff = Q(roff);
    q.von = Q(von);
    q.voff = Q(voff);
    q.tau = Q(tau);
    q.vt = Q(vt);
    q.k = Q(k);
    q.phi = Q(phi);
    q.af = Q(af);
    q.bf = Q(bf);
    q.ar = Q(ar);
    q.br = Q(br);
    q.knowm = knowm;
    return q;
  }
};

using MssParams = MssParamsT<double>;

// The numeric parameters by index (kMssParamNames order), for code that addresses them by name.
inline constexpr int kNumMssParams = 12;
inline constexpr const char* kMssParamNames[kNumMssParams] = {
    "ron", "roff", "von", "voff", "tau", "vt", "k", "phi", "af", "bf", "ar", "br"};
template <typename P>
P& MssParam(MssParamsT<P>& p, int index) {
  P* fields[kNumMssParams] = {&p.ron, &p.roff, &p.von, &p.voff, &p.tau, &p.vt,
                              &p.k,   &p.phi,  &p.af,  &p.bf,   &p.ar,  &p.br};
  return *fields[index];
}

// The diode branch of the current is skipped at phi = 1, where its weight (1 - phi) vanishes;
// with a parameter type that carries derivatives (Jet) it is kept, since d/dphi of
// (1 - phi) D(u) is -D(u) there too.
template <typename P>
bool HasDiodeBranch(const P& phi) {
  if constexpr (std::is_arithmetic_v<P>) {
    return phi != 1.0;
  } else {
    return true;
  }
}

// Returns an empty string if the parameters are usable, else a message naming the first bad
// parameter, its value and the rule.
std::string ValidateMssParams(const MssParams& p);

// Beyond this argument exponentials are continued linearly (exp(80) ~ 5.5e34 is still finite
// after multiplication by any sensible prefactor).
inline constexpr double kMaxExpArg = 80.0;

// Logistic function 1 / (1 + e^-z), never overflowing: for z < 0 it is evaluated as
// e^z / (1 + e^z), so exp only ever sees a non-positive argument.
template <typename T>
T Sigmoid(const T& z) {
  using std::exp;
  if (z >= 0.0) {
    return T(1.0) / (T(1.0) + exp(-z));
  }
  const T e = exp(z);
  return e / (T(1.0) + e);
}

// d sigma / dz = sigma(z) sigma(-z), computed without cancellation for large |z|.
template <typename T>
T SigmoidDerivative(const T& z) {
  return Sigmoid(z) * Sigmoid(T(-z));
}

// exp(z) for z <= kMaxExpArg, continued with its tangent beyond (C1, monotone, finite).
template <typename T>
T LimitedExp(const T& z) {
  using std::exp;
  if (z <= kMaxExpArg) return exp(z);
  const double e = std::exp(kMaxExpArg);
  return e * (T(1.0) + (z - kMaxExpArg));
}

template <typename T>
T LimitedExpDerivative(const T& z) {
  using std::exp;
  if (z <= kMaxExpArg) return exp(z);
  return T(std::exp(kMaxExpArg));
}

// V_off in the P_off = sigma((V_off - u)/(k V_T)) form, whatever the card's convention.
template <typename P>
P EffectiveVoff(const MssParamsT<P>& p) {
  return p.knowm ? P(-p.voff) : p.voff;
}

template <typename T, typename P>
T Conductance(const MssParamsT<P>& p, const T& x) {
  return x / p.ron + (T(1.0) - x) / p.roff;
}

// dG/dx = 1/R_on - 1/R_off.
template <typename P>
P ConductanceSlope(const MssParamsT<P>& p) {
  return P(1.0) / p.ron - P(1.0) / p.roff;
}

// Probability rate of OFF -> ON switching.
template <typename T, typename P>
T ProbabilityOn(const MssParamsT<P>& p, const T& u) {
  return Sigmoid(T((u - p.von) / (p.k * p.vt)));
}

// Probability rate of ON -> OFF switching (convention-aware).
template <typename T, typename P>
T ProbabilityOff(const MssParamsT<P>& p, const T& u) {
  return Sigmoid(T((EffectiveVoff(p) - u) / (p.k * p.vt)));
}

// Current from p to n.
template <typename T, typename P>
T Current(const MssParamsT<P>& p, const T& x, const T& u) {
  T i = p.phi * Conductance(p, x) * u;
  if (HasDiodeBranch(p.phi)) {
    i += (P(1.0) - p.phi) * (p.af * LimitedExp(T(p.bf * u)) - p.ar * LimitedExp(T(-(p.br * u))));
  }
  return i;
}

// State rate dx/dt.
template <typename T, typename P>
T StateRate(const MssParamsT<P>& p, const T& x, const T& u) {
  return ((T(1.0) - x) * ProbabilityOn(p, u) - x * ProbabilityOff(p, u)) / p.tau;
}

// Current, rate and their analytic partial derivatives, evaluated together (the MNA device and
// the layer kernels need all six at once; shared sigmoids are computed once).
template <typename T>
struct MssEval {
  T i;         // current p -> n [A]
  T di_du;     // [S]
  T di_dx;     // [A]
  T rate;      // dx/dt [1/s]
  T drate_du;  // [1/(V s)]
  T drate_dx;  // [1/s]
};

template <typename T, typename P>
MssEval<T> Evaluate(const MssParamsT<P>& p, const T& x, const T& u) {
  MssEval<T> e;
  const T g = Conductance(p, x);
  e.i = p.phi * g * u;
  e.di_du = p.phi * g;
  e.di_dx = p.phi * ConductanceSlope(p) * u;
  if (HasDiodeBranch(p.phi)) {
    const T zf = p.bf * u;
    const T zr = -(p.br * u);
    e.i += (P(1.0) - p.phi) * (p.af * LimitedExp(zf) - p.ar * LimitedExp(zr));
    e.di_du += (P(1.0) - p.phi) *
               (p.af * p.bf * LimitedExpDerivative(zf) + p.ar * p.br * LimitedExpDerivative(zr));
  }
  const P kvt = p.k * p.vt;
  const T z_on = (u - p.von) / kvt;
  const T z_off = (EffectiveVoff(p) - u) / kvt;
  const T s_on = Sigmoid(z_on);
  const T s_off = Sigmoid(z_off);
  // sigma'(z) = sigma(z) sigma(-z); dz_on/du = 1/kvt, dz_off/du = -1/kvt.
  const T ds_on_du = s_on * Sigmoid(T(-z_on)) / kvt;
  const T ds_off_du = -(s_off * Sigmoid(T(-z_off))) / kvt;
  e.rate = ((T(1.0) - x) * s_on - x * s_off) / p.tau;
  e.drate_dx = -(s_on + s_off) / p.tau;
  e.drate_du = ((T(1.0) - x) * ds_on_du - x * ds_off_du) / p.tau;
  return e;
}

// Plain partial derivatives (each a thin wrapper over Evaluate, for callers that need one).
template <typename T, typename P>
T CurrentDu(const MssParamsT<P>& p, const T& x, const T& u) {
  return Evaluate(p, x, u).di_du;
}
template <typename T, typename P>
T CurrentDx(const MssParamsT<P>& p, const T& x, const T& u) {
  return p.phi * ConductanceSlope(p) * u;
}
template <typename T, typename P>
T StateRateDu(const MssParamsT<P>& p, const T& x, const T& u) {
  return Evaluate(p, x, u).drate_du;
}
template <typename T, typename P>
T StateRateDx(const MssParamsT<P>& p, const T& x, const T& u) {
  return -(ProbabilityOn(p, u) + ProbabilityOff(p, u)) / p.tau;
}

// State the device relaxes to at constant u: dx/dt = 0 gives x = P_on / (P_on + P_off).
template <typename T, typename P>
T EquilibriumState(const MssParamsT<P>& p, const T& u) {
  const T on = ProbabilityOn(p, u);
  const T off = ProbabilityOff(p, u);
  return on / (on + off);
}

inline std::string ValidateMssParams(const MssParams& p) {
  auto bad = [](const char* name, double v, const char* rule) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", v);
    return std::string("parameter ") + name + " = " + buf + " must be " + rule;
  };
  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(p.ron) || p.ron <= 0) return bad("ron", p.ron, "> 0");
  if (!finite(p.roff) || p.roff <= 0) return bad("roff", p.roff, "> 0");
  if (!finite(p.von)) return bad("von", p.von, "finite");
  if (!finite(p.voff)) return bad("voff", p.voff, "finite");
  if (!finite(p.tau) || p.tau <= 0) return bad("tau", p.tau, "> 0");
  if (!finite(p.vt) || p.vt <= 0) return bad("vt", p.vt, "> 0");
  if (!finite(p.k) || p.k <= 0 || p.k > 1) return bad("k", p.k, "in (0, 1]");
  if (!finite(p.phi) || p.phi < 0 || p.phi > 1) return bad("phi", p.phi, "in [0, 1]");
  if (!finite(p.af) || p.af < 0) return bad("af", p.af, ">= 0");
  if (!finite(p.bf) || p.bf < 0) return bad("bf", p.bf, ">= 0");
  if (!finite(p.ar) || p.ar < 0) return bad("ar", p.ar, ">= 0");
  if (!finite(p.br) || p.br < 0) return bad("br", p.br, ">= 0");
  return {};
}

}  // namespace memspice::devices::mss

#endif  // MEMSPICE_DEVICES_MSS_MODEL_H_
