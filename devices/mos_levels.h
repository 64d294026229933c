// Channel equations of the MOSFET levels beyond Shichman-Hodges, as SPICE2/ngspice: level 3
// (semi-empirical short-channel model). Templated over double or ceres::Jet; the device
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

// Level 3's card values in the channel equations (MosModelT holds them; mosfet.h).
template <typename T>
struct Mos3Inputs {
  T vbi, phi, gamma, beta, uo;  // V, V, V^0.5, A/V^2 (KP M W / Leff), m^2/Vs
  T leff, w, m, cox;            // m, m, 1, F/m^2
  T theta, eta, kappa, vmax, nfs, xj, delta, ld, alpha;
};

namespace mos3_detail {

// Dang's trapezoid fit of the depletion charge shared with the drain and source (level 3).
template <typename T>
T ShortChannelFactor(const Mos3Inputs<T>& in, const T& sqphbs) {
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
T ChannelShortening(const Mos3Inputs<T>& in, const T& vd, const T& vdsat, const T& id,
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

}  // namespace mos3_detail

template <typename T>
MosChannel<T> Mos3Channel(const Mos3Inputs<T>& in, const T& vg, const T& vd, const T& vb,
                          double vt) {
  using std::exp;
  using std::sqrt;
  // Fit constant of the static feedback (ETA) term, m^3 F/m^2 (SPICE2's 8.15e-22).
  constexpr double kEtaScale = 8.15e-22;
  constexpr double kCmToM2 = 1e4;  // NFS in 1/cm^2
  T sqphbs, phibs;
  if (vb <= 0.0) {
    phibs = in.phi - vb;
    sqphbs = sqrt(phibs);
  } else {
    sqphbs = sqrt(in.phi) / (1.0 + vb / (2.0 * in.phi));
    phibs = sqphbs * sqphbs;
  }
  const T gammas = in.gamma * mos3_detail::ShortChannelFactor(in, sqphbs);
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
  T dl = mos3_detail::ChannelShortening(in, vd, out.vdsat, id, fdrain, vc);
  if (dl > 0.5 * in.leff) dl = in.leff - in.leff * in.leff / (4.0 * dl);  // punch-through
  id = id / (1.0 - dl / in.leff);
  if (vg < out.von) id = id * exp((vg - out.von) / (vt * xn));  // weak inversion
  out.id = id;
  return out;
}

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MOS_LEVELS_H_
