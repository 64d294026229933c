// Channel equations of the MOSFET levels beyond Shichman-Hodges, as SPICE2/ngspice: level 2
// (Grove-Frohman with Baum's velocity saturation) and level 3 (semi-empirical short-channel
// model). Templated over double or ceres::Jet; the device
// (devices/mosfet.h) adds the junctions, the Meyer capacitances (with the von and vdsat returned
// here) and the NMOS/PMOS and drain/source orientation.
//
// Level 3 (p-space voltages of the current mode: vg, vd >= 0, vb; Leff = L - 2 LD, W, M;
// COX = eps_ox / TOX; VBI = p VTO(T) - GAMMA sqrt(PHI(T)); ALPHA = 2 eps_si / (q NSUB), XD =
// sqrt(ALPHA), both 0 without NSUB):
//   sqphbs = sqrt(PHI - vb) (vb <= 0), sqrt(PHI) / (1 + vb / (2 PHI)) (vb > 0); phibs = sqphbs^2
//   short channel (XJ > 0, NSUB given): wp = XD sqphbs / XJ, wc = c0 + c1 wp + c2 wp^2,
//     c = wp / (1 + wp), fshort = 1 - (XJ/Leff) ((wc + LD/XJ) sqrt(1 - c^2) - LD/XJ), else 1
//     (c0, c1, c2 = 0.0631353, 0.8013292, -0.01110777: the fit of Dang's trapezoid)
//   narrow = DELTA (pi/2) eps_si / (COX W)
//   fbody = GAMMA fshort / (4 sqphbs) + narrow,  qb = GAMMA fshort sqphbs + narrow phibs
//   vth = VBI - ETA 8.15e-22 / (COX Leff^3) vd + qb                      (static feedback)
//   von = vth + Vt xn (NFS > 0: xn = 1 + q NFS Leff W M / Cox + qb / (2 phibs)), else vth and
//     id = 0 for vg <= von
//   vgx = max(vg, von),  fgate = 1 / (1 + THETA (vgx - vth))
//   vdsat = (vgx - vth) / (1 + fbody); VMAX > 0: vc = Leff VMAX / (UO fgate),
//     vdsat = a + vc - sqrt(a^2 + vc^2) with a = (vgx - vth) / (1 + fbody)
//   vx = min(vd, vdsat),  id = KP M W / Leff fgate (vgx - vth - (1 + fbody) vx / 2) vx
//     (VMAX > 0: times fdrain = 1 / (1 + vx / vc))
//   channel shortening dl (KAPPA): VMAX = 0: sqrt(KAPPA ALPHA (vd - vdsat + vdsat/8)) above vdsat,
//     sqrt(KAPPA ALPHA vdsat / 8) (vd / vdsat)^4 below; VMAX > 0 (above vdsat only):
//     gdsat = max(1e-12, id (1 - fdrain) / vc), E = KAPPA id / (Leff gdsat),
//     dl = sqrt((E ALPHA / 2)^2 + KAPPA ALPHA (vd - vdsat)) - E ALPHA / 2;
//     punch-through: dl > Leff/2 becomes Leff - Leff^2 / (4 dl);  id = id / (1 - dl / Leff)
//   weak inversion (vg < von): id = id exp((vg - von) / (Vt xn))
//
// Level 2 (same conventions; factor = (pi/4) DELTA eps_si Leff / Cox, eta = 1 + factor,
// vbin = VBI + factor (PHI - vb), root(v) = sqrt(PHI - v) continued as above):
//   gamasd = GAMMA with charge sharing over root(vb) and root(vb - vd) (XJ, NSUB),
//   von = vbin + gamasd root(vb) (+ Vt xn with NFS), id = 0 for vg <= vbin without NFS;
//   ufact = (UCRIT eps_si / COX / (vg - von))^UEXP above that critical drive;
//   vdsat from the bulk-charge square root (Grove-Frohman) or, with VMAX, the smallest positive
//   root of Baum's quartic; clfact = 1 - lambda vd (LAMBDA, or the depletion width with NSUB),
//   limited at punch-through; id = KP M W / Leff ufact / clfact ((vg - vbin - eta v/2) v -
//   gamasd (root(vb - v)^3 - root(vb)^3) / 1.5) at v = min(vd, vdsat), times
//   exp((vg - von) / (Vt xn)) below von with NFS (at vg = von). docs/devices/mosfet.md has
//   every formula.
// Reference: Vladimirescu & Liu, The Simulation of MOS Integrated Circuits Using SPICE2 (1980).
#ifndef MEMSPICE_DEVICES_MOS_LEVELS_H_
#define MEMSPICE_DEVICES_MOS_LEVELS_H_

#include <cmath>
#include <numbers>

#include "devices/junction.h"

namespace memspice::devices {

inline constexpr double kEpsOx = 3.9 * 8.854214871e-12;   // SiO2 permittivity, F/m
inline constexpr double kEpsSi = 11.7 * 8.854214871e-12;  // Si permittivity, F/m

// The channel's current (mode orientation, p-space) with the threshold and saturation voltages
// the Meyer capacitances use.
template <typename T>
struct MosChannel {
  T id, von, vdsat;
};

// The card values of levels 2 and 3 in the channel equations (MosModelT holds them; mosfet.h).
template <typename T>
struct MosLevelInputs {
  T vbi, phi, gamma, beta, uo;  // V, V, V^0.5, A/V^2 (KP M W / Leff), m^2/Vs
  T leff, w, m, cox, ld, pb;    // m, m, 1, F/m^2, m, V (junction potential at T)
  T alpha, vmax, nfs, xj, delta;
  T lambda, ucrit, uexp, neff;  // level 2
  T theta, eta, kappa;          // level 3
};

namespace mos_detail {

// sqrt(PHI - v), continued for forward bias v > 0 as SPICE2 (levels 2 and 3), and its slope.
template <typename T>
T DepletionRoot(const T& phi, const T& v) {
  using std::sqrt;
  if (v <= 0.0) return sqrt(phi - v);
  return sqrt(phi) / (1.0 + 0.5 * v / phi);
}
template <typename T>
T DepletionRootSlope(const T& phi, const T& v, const T& root) {
  using std::sqrt;
  if (v <= 0.0) return -0.5 / root;
  return -0.5 * root * root / (phi * sqrt(phi));
}

// Dang's trapezoid fit of the depletion charge shared with the drain and source (level 3).
template <typename T>
T ShortChannelFactor(const MosLevelInputs<T>& in, const T& sqphbs) {
  using std::sqrt;
  constexpr double kC0 = 0.0631353, kC1 = 0.8013292, kC2 = -0.01110777;
  if (Value(in.xj) == 0.0 || Value(in.alpha) == 0.0) return T(1.0);
  const T wp = sqrt(in.alpha) * sqphbs / in.xj;
  const T wc = kC0 + kC1 * wp + kC2 * wp * wp;
  const T c = wp / (1.0 + wp);
  const T ldxj = in.ld / in.xj;
  return 1.0 - in.xj / in.leff * ((wc + ldxj) * sqrt(1.0 - c * c) - ldxj);
}

// Channel shortening dl in saturation (and its smooth onset below vdsat without VMAX).
template <typename T>
T ChannelShortening(const MosLevelInputs<T>& in, const T& vd, const T& vdsat, const T& id,
                    const T& fdrain, const T& vc) {
  using std::sqrt;
  constexpr double kMinGdsat = 1e-12;  // floor of the saturation conductance, S (as SPICE)
  const bool has_vmax = Value(in.vmax) > 0.0;
  if (Value(in.alpha) == 0.0) return T(0.0);
  const T ka = in.kappa * in.alpha;
  if (vd <= vdsat) {
    if (has_vmax) return T(0.0);
    const T r = vd / vdsat, r2 = r * r;
    return sqrt(ka * vdsat / 8.0) * r2 * r2;
  }
  if (!has_vmax) return sqrt(ka * (vd - vdsat + vdsat / 8.0));
  T gdsat = id * (1.0 - fdrain) / vc;
  if (gdsat < kMinGdsat) gdsat = T(kMinGdsat);
  const T half_e_alpha = 0.5 * in.kappa * id / (in.leff * gdsat) * in.alpha;
  return sqrt(half_e_alpha * half_e_alpha + ka * (vd - vdsat)) - half_e_alpha;
}

}  // namespace mos_detail

template <typename T>
MosChannel<T> Mos3Channel(const MosLevelInputs<T>& in, const T& vg, const T& vd, const T& vb,
                          double vt) {
  using std::exp;
  using std::sqrt;
  // Fit constant of the static feedback (ETA) term, m^3 F/m^2 (SPICE2's 8.15e-22).
  constexpr double kEtaScale = 8.15e-22;
  constexpr double kCmToM2 = 1e4;  // NFS in 1/cm^2
  const T sqphbs = mos_detail::DepletionRoot(in.phi, vb);
  const T phibs = vb <= 0.0 ? T(in.phi - vb) : T(sqphbs * sqphbs);
  const T gammas = in.gamma * mos_detail::ShortChannelFactor(in, sqphbs);
  const T narrow = in.delta * 0.5 * std::numbers::pi * kEpsSi / (in.cox * in.w);
  const T fbody = 0.25 * gammas / sqphbs + narrow;
  const T qb = gammas * sqphbs + narrow * phibs;
  const T eta = in.eta * kEtaScale / (in.cox * in.leff * in.leff * in.leff);
  const T vth = in.vbi - eta * vd + qb;
  MosChannel<T> out{T(0.0), vth, T(0.0)};
  T xn(1.0);
  if (Value(in.nfs) != 0.0) {
    xn = 1.0 + kCharge * in.nfs * kCmToM2 / in.cox + qb / (2.0 * phibs);
    out.von = vth + vt * xn;
  } else if (vg <= out.von) {
    return out;  // cut-off
  }
  const T vgx = vg > out.von ? vg : out.von;
  const T fgate = 1.0 / (1.0 + in.theta * (vgx - vth));
  const T a = (vgx - vth) / (1.0 + fbody);
  const bool has_vmax = Value(in.vmax) > 0.0;
  T vc(0.0);
  out.vdsat = a;
  if (has_vmax) {
    vc = in.leff * in.vmax / (in.uo * fgate);
    out.vdsat = a + vc - sqrt(a * a + vc * vc);
  }
  const T vx = vd < out.vdsat ? vd : out.vdsat;
  T id = in.beta * fgate * (vgx - vth - 0.5 * (1.0 + fbody) * vx) * vx;
  T fdrain(1.0);
  if (has_vmax) {
    fdrain = 1.0 / (1.0 + vx / vc);
    id = id * fdrain;
  }
  T dl = mos_detail::ChannelShortening(in, vd, out.vdsat, id, fdrain, vc);
  if (dl > 0.5 * in.leff) dl = in.leff - in.leff * in.leff / (4.0 * dl);  // punch-through
  id = id / (1.0 - dl / in.leff);
  if (vg < out.von) id = id * exp((vg - out.von) / (vt * xn));  // weak inversion
  out.id = id;
  return out;
}

namespace mos_detail {

// Real cube root of |x| (SPICE2's Baum solution takes magnitudes).
inline double CubeRootAbs(double x) {
  return x == 0.0 ? 0.0 : std::exp(std::log(std::abs(x)) / 3.0);
}

// Baum's quartic x^4 + a1 x^3 + b1 x^2 + c1 x + d1 in x = sqrt(vdsat + PHI - vb).
template <typename T>
struct BaumQuartic {
  T a1, b1, c1, d1;
  template <typename X>
  T At(const X& x) const {
    return (((x + a1) * x + b1) * x + c1) * x + d1;
  }
};

template <typename T>
BaumQuartic<T> MakeBaumQuartic(const T& gammad, const T& sarg, const T& v1, const T& v2,
                               const T& xv) {
  return {gammad / 0.75, -2.0 * (v1 + xv), -2.0 * gammad * xv,
          2.0 * v1 * (v2 + xv) - v2 * v2 - 4.0 / 3.0 * gammad * sarg * sarg * sarg};
}

// The smallest positive root of Baum's quartic (Ferrari's method, as SPICE2); false if none.
inline bool BaumRoot(const BaumQuartic<double>& q, double* root) {
  using std::sqrt;
  constexpr double kPolyTol = 1e-6;  // residual accepted for a root (as SPICE2)
  constexpr double kSig1[4] = {1.0, -1.0, 1.0, -1.0}, kSig2[4] = {1.0, 1.0, -1.0, -1.0};
  const double a1 = q.a1, b1 = q.b1, c1 = q.c1, d1 = q.d1;
  // Resolvent cubic y^3 - b1 y^2 + (a1 c1 - 4 d1) y - d1 (a1^2 - 4 b1) - c1^2 = 0.
  const double a = -b1, b = a1 * c1 - 4.0 * d1, c = -d1 * (a1 * a1 - 4.0 * b1) - c1 * c1;
  const double r = -a * a / 3.0 + b, s = 2.0 * a * a * a / 27.0 - a * b / 3.0 + c;
  const double p = s * s / 4.0 + r * r * r / 27.0, p2 = sqrt(std::abs(p));
  const double y3 = p < 0.0 ? 2.0 * CubeRootAbs(sqrt(s * s / 4.0 - p)) *
                                      std::cos(std::atan(-2.0 * p2 / s) / 3.0) -
                                  a / 3.0
                            : CubeRootAbs(-s / 2.0 + p2) + CubeRootAbs(-s / 2.0 - p2) - a / 3.0;
  const double a3sq = a1 * a1 / 4.0 - b1 + y3, b3sq = y3 * y3 / 4.0 - d1;
  if (!(a3sq >= 0.0 && b3sq >= 0.0)) return false;
  const double a3 = sqrt(a3sq), b3 = sqrt(b3sq);
  bool found = false;
  for (int i = 0; i < 4; ++i) {
    const double a4 = a1 / 2.0 + kSig1[i] * a3, b4 = y3 / 2.0 + kSig2[i] * b3;
    const double delta4 = a4 * a4 / 4.0 - b4;
    if (delta4 < 0.0) continue;
    for (double x : {-a4 / 2.0 + sqrt(delta4), -a4 / 2.0 - sqrt(delta4)}) {
      if (x <= 0.0 || std::abs(q.At(x)) > kPolyTol) continue;
      if (!found || x < *root) *root = x;
      found = true;
    }
  }
  return found;
}

// The root of `q` near x0 (a root of its value) with the partials of the implicit function
// theorem: dx = -dP / P'(x0) (the closed form's partials break down at repeated roots).
template <typename T>
T RootWithPartials(const BaumQuartic<T>& q, double x0) {
  const BaumQuartic<double> v{Value(q.a1), Value(q.b1), Value(q.c1), Value(q.d1)};
  const double slope = ((4.0 * x0 + 3.0 * v.a1) * x0 + 2.0 * v.b1) * x0 + v.c1;
  const T poly = q.At(x0);
  return x0 - (poly - Value(poly)) / slope;
}

// Level 2's saturation voltage: Grove-Frohman, or Baum's with VMAX.
template <typename T>
T Mos2Vdsat(const MosLevelInputs<T>& in, const T& vgx, const T& vbin, const T& eta, const T& gammad,
            const T& phibs, const T& sarg, const T& ueff) {
  using std::sqrt;
  const T drive = (vgx - vbin) / eta;
  T vdsat = drive;
  if (gammad > 0.0) {
    const T argv = drive + phibs;
    if (argv <= 0.0) {
      vdsat = T(0.0);
    } else {
      const T g2 = gammad * gammad;
      vdsat = drive + 0.5 * g2 * (1.0 - sqrt(1.0 + 4.0 * argv / g2));
    }
  }
  if (vdsat < 0.0) vdsat = T(0.0);
  if (Value(in.vmax) <= 0.0) return vdsat;
  const BaumQuartic<T> q =
      MakeBaumQuartic(gammad, sarg, T(drive + phibs), phibs, T(in.vmax * in.leff / ueff));
  if (Value(gammad) == 0.0) {
    // Without body charge the quartic is quadratic in x^2: its smallest positive root in closed
    // form (Ferrari's method loses or finds these paired roots by round-off).
    const T disc = q.b1 * q.b1 / 4.0 - q.d1;
    if (disc < 0.0) return vdsat;
    const T root = Value(disc) == 0.0 ? T(0.0) : T(sqrt(disc));
    const T lower = -q.b1 / 2.0 - root, upper = -q.b1 / 2.0 + root;
    if (lower > 0.0) return lower - phibs;
    return upper > 0.0 ? T(upper - phibs) : vdsat;
  }
  double x0 = 0.0;
  if (BaumRoot({Value(q.a1), Value(q.b1), Value(q.c1), Value(q.d1)}, &x0)) {
    const T x = RootWithPartials(q, x0);
    vdsat = x * x - phibs;
  }
  return vdsat;
}

// Level 2's relative channel shortening lambda vd (from the depletion width with NSUB and
// LAMBDA = 0, else LAMBDA vd), limited at punch-through; returns 1 - dL/Leff.
template <typename T>
T Mos2LengthFactor(const MosLevelInputs<T>& in, const T& vd, const T& vdsat, const T& ueff) {
  using std::sqrt;
  constexpr double kPunchWidth = 0.25e-6;  // depletion width at punch-through without NSUB, m
  const bool nsub = Value(in.alpha) > 0.0;
  const T xd = nsub ? T(sqrt(in.alpha)) : T(0.0);
  T dl_rel = in.lambda * vd;  // lambda vd
  if (nsub && Value(in.lambda) <= 0.0) {
    if (Value(in.vmax) <= 0.0) {
      const T argv = 0.25 * (vd - vdsat);
      dl_rel = xd / in.leff * sqrt(argv + sqrt(1.0 + argv * argv));
    } else {
      const T xdv = xd / sqrt(in.neff), xlv = in.vmax * xdv / (2.0 * ueff);
      const T argv = vd > vdsat ? T(vd - vdsat) : T(0.0);
      dl_rel = xdv / in.leff * (sqrt(xlv * xlv + argv) - xlv);
    }
  }
  T xwb = xd * sqrt(in.pb);
  const T xld = in.leff - xwb;
  const T clfact = 1.0 - dl_rel;
  if (!nsub) xwb = T(kPunchWidth);
  if (in.leff * clfact < xwb) return xwb / (1.0 + (dl_rel * in.leff - xld) / xwb) / in.leff;
  return clfact;
}

}  // namespace mos_detail

template <typename T>
MosChannel<T> Mos2Channel(const MosLevelInputs<T>& in, const T& vg, const T& vd, const T& vb,
                          double vt) {
  using mos_detail::DepletionRoot;
  using mos_detail::DepletionRootSlope;
  using std::exp;
  using std::log;
  using std::sqrt;
  constexpr double kCmToM2 = 1e4;   // NFS in 1/cm^2
  constexpr double kCmToM = 100.0;  // UCRIT in V/cm
  const T phibs = in.phi - vb;
  const T sarg = DepletionRoot(in.phi, vb), barg = DepletionRoot(in.phi, T(vb - vd));
  const T oxide = in.cox * in.leff * in.w * in.m;
  const T factor = 0.25 * std::numbers::pi * in.delta * kEpsSi * in.leff / oxide;
  const T eta = 1.0 + factor;
  const T vbin = in.vbi + factor * phibs;
  // Charge sharing with the junctions (XJ, NSUB): gamasd and its slope in vb.
  T gamasd = in.gamma, dgamasd(0.0);
  if (Value(in.xj) > 0.0 && Value(in.alpha) > 0.0) {
    const T xd = sqrt(in.alpha);
    const T args = sqrt(1.0 + 2.0 * xd * sarg / in.xj), argd = sqrt(1.0 + 2.0 * xd * barg / in.xj);
    gamasd = in.gamma * (1.0 - 0.5 * in.xj / in.leff * (args + argd - 2.0));
    dgamasd = -in.gamma * 0.5 / in.leff * xd *
              (DepletionRootSlope(in.phi, vb, sarg) / args +
               DepletionRootSlope(in.phi, T(vb - vd), barg) / argd);
  }
  MosChannel<T> out{T(0.0), T(vbin + gamasd * sarg), T(0.0)};
  const bool weak = Value(in.nfs) != 0.0;
  T xn(1.0);
  if (weak) {
    const T cdonco = -(gamasd * DepletionRootSlope(in.phi, vb, sarg) + dgamasd * sarg) + factor;
    xn = 1.0 + kCharge * in.nfs * kCmToM2 / in.cox + cdonco;
    out.von = out.von + vt * xn;
  } else if (vg <= vbin) {
    return out;  // cut-off
  }
  // Mobility degradation above the critical field UCRIT.
  T ufact(1.0);
  const T vcrit = in.ucrit * kCmToM * kEpsSi / in.cox, vgst = vg - out.von;
  if (vgst > vcrit) ufact = exp(in.uexp * log(vcrit / vgst));
  const T ueff = in.uo * ufact;
  const T vgx = weak && vg < out.von ? out.von : vg;
  out.vdsat = mos_detail::Mos2Vdsat(in, vgx, vbin, eta, T(gamasd / eta), phibs, sarg, ueff);
  const T clfact = mos_detail::Mos2LengthFactor(in, vd, out.vdsat, ueff);
  const T beta1 = in.beta * ufact / clfact;
  const T sarg3 = sarg * sarg * sarg;
  const T bsarg = DepletionRoot(in.phi, T(vb - out.vdsat));
  const T body = barg * barg * barg - sarg3, bodys = bsarg * bsarg * bsarg - sarg3;
  // The Grove-Frohman current at drive vgate up to drain voltage v (body charge term `bd`).
  auto current = [&](const T& vgate, const T& v, const T& bd) {
    return beta1 * ((vgate - vbin - 0.5 * eta * v) * v - gamasd * bd / 1.5);
  };
  if (weak && vg <= out.von) {
    if (out.vdsat <= 0.0) return out;
    const bool sat = vd > out.vdsat;
    out.id = current(out.von, sat ? out.vdsat : vd, sat ? bodys : body) *
             exp((vg - out.von) / (vt * xn));
  } else {
    out.id = vd <= out.vdsat ? current(vg, vd, body) : current(vg, out.vdsat, bodys);
  }
  return out;
}

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MOS_LEVELS_H_
