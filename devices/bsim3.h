// BSIM3v3.3 MOSFET (ngspice level 8 / 49): `M1 d g s b model [L=] [W=] [AD=] [AS=] [PD=] [PS=]
// [NRD=] [NRS=] [M=] [DELVTO=] [MULU0=] [OFF]` with `.model name NMOS|PMOS (level=8 ...)` and
// the parameter names of the BSIM3v3.3 manual (table below). The model card is read by the
// level-1 factory (devices/mosfet.cc), which hands level 8 and 49 cards to CreateBsim3.
//
// Equations (docs/devices/bsim3.md has the summary): the size- and temperature-dependent
// parameters of the manual's appendix (effective L and W from LINT/WINT and the LL..WWL terms,
// PHI, XDEP0, K1/K2 from the doping profile, VBI, the DIBL and short-channel factors, mobility,
// saturation velocity and RDS temperature laws), then the DC current: threshold voltage with
// body effect (VBSEFF smoothing), short-channel (DVT0..DVT2) and narrow-width (DVT0W.., K3,
// W0) corrections, DIBL (ETA0, ETAB); the subthreshold swing n (NFACTOR, CDSC.., CIT); the
// smooth effective gate drive VGSTEFF; poly depletion (NGATE); bulk charge factor ABULK;
// mobility (MOBMOD 1, 2, 3); VDSAT with velocity saturation and source/drain resistance
// (RDSW, PRWG, PRWB); the smooth VDSEFF (DELTA); the output resistance from channel-length
// modulation, DIBL and substrate current induced body effect (PCLM, PDIBLC1/2/B, PVAG, PSCBE1/2);
// the substrate current (ALPHA0, ALPHA1, BETA0); the source and drain junction diodes (JS, JSW,
// NJ, XTI, IJTH) and their depletion charges (CJ, CJSW, CJSWG with MJ.., PB.., TCJ.., TPB..).
// Gate charge: CAPMOD=3 (charge-thickness model, ngspice's default) with bias-dependent
// overlaps (CGSL, CGDL, CKAPPA), or CAPMOD=0 (the long-channel charge model with VFBCV) with
// linear overlaps; both with the 0/100, 40/60 and 50/50 partitions of XPART and CGBO. CAPMOD 1
// and 2, NQSMOD=1 and ACM > 0 are refused with an error at the card. The L*, W*, P* binning
// coefficients apply at the effective sizes (BINUNIT 1: um, else m).
//
// Everything is a template over the number type (double or ceres::Jet), so the Jacobian and the
// parameter partials (W, L, VTH0, U0, ...) are exact.
// Reference: BSIM3v3.3 Manual, Liu et al., UC Berkeley (2005); ngspice's bsim3 device.
#ifndef MEMSPICE_DEVICES_BSIM3_H_
#define MEMSPICE_DEVICES_BSIM3_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

// The card and instance parameters: name, default (kNoDefault: computed from others, see
// bsim3.md), unit, range, and log_scale for positive scales (which must be > 0). Model rows
// first, then the instance rows.
inline constexpr ParamInfo kBsim3Params[] = {
    // Model selectors.
    {"level", 8.0, "1", 8.0, 49.0, false, ParamScope::kModel},
    {"capmod", 3.0, "1", 0.0, 3.0, false, ParamScope::kModel},
    {"mobmod", 1.0, "1", 1.0, 3.0, false, ParamScope::kModel},
    {"nqsmod", 0.0, "1", 0.0, 1.0, false, ParamScope::kModel},
    {"noimod", 1.0, "1", 1.0, 4.0, false, ParamScope::kModel},  // noise: no effect
    {"acm", 0.0, "1", 0.0, 0.0, false, ParamScope::kModel},
    {"paramchk", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},  // no effect
    {"binunit", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},   // no binning: no effect
    {"version", 3.3, "1", -kInf, kInf, false, ParamScope::kModel},   // no effect
    // Process.
    {"tox", 150e-10, "m", 0.0, kInf, true, ParamScope::kModel},
    {"toxm", kNoDefault, "m", 0.0, kInf, true, ParamScope::kModel},  // = tox
    {"xj", 0.15e-6, "m", 0.0, kInf, true, ParamScope::kModel},
    {"nch", 1.7e17, "1/cm^3", 0.0, kInf, true, ParamScope::kModel},
    {"nsub", 6e16, "1/cm^3", 0.0, kInf, true, ParamScope::kModel},
    {"ngate", 0.0, "1/cm^3", 0.0, kInf, false, ParamScope::kModel},
    {"gamma1", kNoDefault, "V^0.5", 0.0, kInf, false, ParamScope::kModel},
    {"gamma2", kNoDefault, "V^0.5", 0.0, kInf, false, ParamScope::kModel},
    {"vbx", kNoDefault, "V", -kInf, kInf, false, ParamScope::kModel},
    {"vbm", -3.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"xt", 1.55e-7, "m", 0.0, kInf, false, ParamScope::kModel},
    // Threshold voltage.
    {"vth0", kNoDefault, "V", -kInf, kInf, false, ParamScope::kModel},  // from vfb, phi, k1
    {"vfb", kNoDefault, "V", -kInf, kInf, false, ParamScope::kModel},
    {"k1", kNoDefault, "V^0.5", -kInf, kInf, false, ParamScope::kModel},
    {"k2", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},
    {"k3", 80.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"k3b", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"w0", 2.5e-6, "m", -kInf, kInf, false, ParamScope::kModel},
    {"nlx", 1.74e-7, "m", -kInf, kInf, false, ParamScope::kModel},
    {"dvt0", 2.2, "1", -kInf, kInf, false, ParamScope::kModel},
    {"dvt1", 0.53, "1", -kInf, kInf, false, ParamScope::kModel},
    {"dvt2", -0.032, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"dvt0w", 0.0, "1/m", -kInf, kInf, false, ParamScope::kModel},
    {"dvt1w", 5.3e6, "1/m", -kInf, kInf, false, ParamScope::kModel},
    {"dvt2w", -0.032, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"eta0", 0.08, "1", -kInf, kInf, false, ParamScope::kModel},
    {"etab", -0.07, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"dsub", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},  // = drout
    // Subthreshold.
    {"voff", -0.08, "V", -kInf, kInf, false, ParamScope::kModel},
    {"nfactor", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"cdsc", 2.4e-4, "F/m^2", -kInf, kInf, false, ParamScope::kModel},
    {"cdscb", 0.0, "F/Vm^2", -kInf, kInf, false, ParamScope::kModel},
    {"cdscd", 0.0, "F/Vm^2", -kInf, kInf, false, ParamScope::kModel},
    {"cit", 0.0, "F/m^2", -kInf, kInf, false, ParamScope::kModel},
    // Mobility and saturation.
    {"u0", kNoDefault, "cm^2/Vs", 0.0, kInf, true, ParamScope::kModel},  // 670 (N), 250 (P)
    {"ua", 2.25e-9, "m/V", -kInf, kInf, false, ParamScope::kModel},
    {"ub", 5.87e-19, "(m/V)^2", -kInf, kInf, false, ParamScope::kModel},
    {"uc", kNoDefault, "m/V^2", -kInf, kInf, false, ParamScope::kModel},  // by mobmod
    {"vsat", 8e4, "m/s", 0.0, kInf, true, ParamScope::kModel},
    {"a0", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"ags", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"b0", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"b1", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"keta", -0.047, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"a1", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"a2", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"delta", 0.01, "V", 0.0, kInf, false, ParamScope::kModel},
    // Source/drain resistance and geometry.
    {"rdsw", 0.0, "Ohm um^wr", 0.0, kInf, false, ParamScope::kModel},
    {"prwg", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"prwb", 0.0, "1/V^0.5", -kInf, kInf, false, ParamScope::kModel},
    {"wr", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"rsh", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"lint", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"wint", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"ll", 0.0, "m^lln", -kInf, kInf, false, ParamScope::kModel},
    {"lln", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"lw", 0.0, "m^lwn", -kInf, kInf, false, ParamScope::kModel},
    {"lwn", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"lwl", 0.0, "m^(lln+lwn)", -kInf, kInf, false, ParamScope::kModel},
    {"wl", 0.0, "m^wln", -kInf, kInf, false, ParamScope::kModel},
    {"wln", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"ww", 0.0, "m^wwn", -kInf, kInf, false, ParamScope::kModel},
    {"wwn", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"wwl", 0.0, "m^(wln+wwn)", -kInf, kInf, false, ParamScope::kModel},
    {"dwg", 0.0, "m/V", -kInf, kInf, false, ParamScope::kModel},
    {"dwb", 0.0, "m/V^0.5", -kInf, kInf, false, ParamScope::kModel},
    {"xl", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"xw", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"lmin", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},  // binning range: no effect
    {"lmax", 1.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"wmin", 0.0, "m", -kInf, kInf, false, ParamScope::kModel},
    {"wmax", 1.0, "m", -kInf, kInf, false, ParamScope::kModel},
    // Output resistance.
    {"pclm", 1.3, "1", -kInf, kInf, false, ParamScope::kModel},
    {"pdiblc1", 0.39, "1", -kInf, kInf, false, ParamScope::kModel},
    {"pdiblc2", 0.0086, "1", -kInf, kInf, false, ParamScope::kModel},
    {"pdiblcb", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"drout", 0.56, "1", -kInf, kInf, false, ParamScope::kModel},
    {"pscbe1", 4.24e8, "V/m", -kInf, kInf, false, ParamScope::kModel},
    {"pscbe2", 1e-5, "m/V", -kInf, kInf, false, ParamScope::kModel},
    {"pvag", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    // Substrate current.
    {"alpha0", 0.0, "m/V", -kInf, kInf, false, ParamScope::kModel},
    {"alpha1", 0.0, "1/V", -kInf, kInf, false, ParamScope::kModel},
    {"beta0", 30.0, "V", -kInf, kInf, false, ParamScope::kModel},
    // Temperature.
    {"tnom", 27.0, "C", -273.15, kInf, false, ParamScope::kModel},
    {"ute", -1.5, "1", -kInf, kInf, false, ParamScope::kModel},
    {"kt1", -0.11, "V", -kInf, kInf, false, ParamScope::kModel},
    {"kt1l", 0.0, "V m", -kInf, kInf, false, ParamScope::kModel},
    {"kt2", 0.022, "1", -kInf, kInf, false, ParamScope::kModel},
    {"ua1", 4.31e-9, "m/V", -kInf, kInf, false, ParamScope::kModel},
    {"ub1", -7.61e-18, "(m/V)^2", -kInf, kInf, false, ParamScope::kModel},
    {"uc1", kNoDefault, "m/V^2", -kInf, kInf, false, ParamScope::kModel},  // by mobmod
    {"at", 3.3e4, "m/s", -kInf, kInf, false, ParamScope::kModel},
    {"prt", 0.0, "Ohm um", -kInf, kInf, false, ParamScope::kModel},
    {"xti", 3.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"tpb", 0.0, "V/K", -kInf, kInf, false, ParamScope::kModel},
    {"tpbsw", 0.0, "V/K", -kInf, kInf, false, ParamScope::kModel},
    {"tpbswg", 0.0, "V/K", -kInf, kInf, false, ParamScope::kModel},
    {"tcj", 0.0, "1/K", -kInf, kInf, false, ParamScope::kModel},
    {"tcjsw", 0.0, "1/K", -kInf, kInf, false, ParamScope::kModel},
    {"tcjswg", 0.0, "1/K", -kInf, kInf, false, ParamScope::kModel},
    // Junction diodes.
    {"js", 1e-4, "A/m^2", 0.0, kInf, false, ParamScope::kModel},
    {"jsw", 0.0, "A/m", 0.0, kInf, false, ParamScope::kModel},
    {"nj", 1.0, "1", 0.0, kInf, true, ParamScope::kModel},
    {"ijth", 0.1, "A", 0.0, kInf, false, ParamScope::kModel},
    {"cj", 5e-4, "F/m^2", 0.0, kInf, false, ParamScope::kModel},
    {"cjsw", 5e-10, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cjswg", kNoDefault, "F/m", 0.0, kInf, false, ParamScope::kModel},  // = cjsw
    {"mj", 0.5, "1", 0.0, 0.99, false, ParamScope::kModel},
    {"mjsw", 0.33, "1", 0.0, 0.99, false, ParamScope::kModel},
    {"mjswg", kNoDefault, "1", 0.0, 0.99, false, ParamScope::kModel},  // = mjsw
    {"pb", 1.0, "V", 0.1, kInf, false, ParamScope::kModel},
    {"pbsw", 1.0, "V", 0.1, kInf, false, ParamScope::kModel},
    {"pbswg", kNoDefault, "V", 0.1, kInf, false, ParamScope::kModel},  // = pbsw
    // Gate charge (capmod 0) and overlaps.
    {"xpart", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"vfbcv", -1.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"cgso", kNoDefault, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgdo", kNoDefault, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgbo", kNoDefault, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgsl", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgdl", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cf", kNoDefault, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"dlc", kNoDefault, "m", -kInf, kInf, false, ParamScope::kModel},  // = lint
    {"dwc", kNoDefault, "m", -kInf, kInf, false, ParamScope::kModel},  // = wint
    {"clc", 0.1e-6, "m", -kInf, kInf, false, ParamScope::kModel},
    {"cle", 0.6, "1", -kInf, kInf, false, ParamScope::kModel},
    // Charge model (capmod 3) and noise.
    {"ckappa", 0.6, "V", 0.0, kInf, true, ParamScope::kModel},
    {"acde", 1.0, "m/V", 0.0, kInf, true, ParamScope::kModel},
    {"moin", 15.0, "1", 0.0, kInf, true, ParamScope::kModel},
    {"noff", 1.0, "1", 0.0, kInf, true, ParamScope::kModel},
    {"voffcv", 0.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"elm", 5.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"kf", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"af", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"ef", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"em", 4.1e7, "V/m", -kInf, kInf, false, ParamScope::kModel},
    {"noia", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},
    {"noib", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},
    {"noic", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},
    // Instance.
    {"l", 5e-6, "m", 0.0, kInf, true},
    {"w", 5e-6, "m", 0.0, kInf, true},
    {"ad", 0.0, "m^2", 0.0, kInf},
    {"as", 0.0, "m^2", 0.0, kInf},
    {"pd", 0.0, "m", 0.0, kInf},
    {"ps", 0.0, "m", 0.0, kInf},
    {"nrd", 1.0, "1", 0.0, kInf},
    {"nrs", 1.0, "1", 0.0, kInf},
    {"m", 1.0, "1", 0.0, kInf, true},
    {"delvto", 0.0, "V", -kInf, kInf},
    {"mulu0", 1.0, "1", 0.0, kInf, true},
    {"off", 0.0, "1", 0.0, 1.0},
};

// True if a MOSFET .model card of this level is a BSIM3 card (level 8 or 49).
bool IsBsim3Level(double level);

std::unique_ptr<Device> CreateBsim3(const netlist::Element& element,
                                    const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_BSIM3_H_
