#include "devices/bsim3.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <numbers>
#include <span>
#include <string_view>

#include "base/strings.h"
#include "devices/device_util.h"
#include "devices/fet_stamp.h"
#include "devices/junction.h"

namespace memspice::devices {
namespace {

// Physical constants as BSIM3v3.3 fixes them (the manual's values, so results match it).
constexpr double kEpsOx = 3.453133e-11;      // SiO2 permittivity, F/m
constexpr double kEpsSi = 1.03594e-10;       // Si permittivity, F/m
constexpr double kQ = 1.60219e-19;           // elementary charge, C
constexpr double kBoltzOverQ = 8.617087e-5;  // k/q, V/K
constexpr double kZeroCelsius = 273.15;      // K
// Exponential guards of the model: arguments beyond +-kExpThreshold use the bounds below.
constexpr double kExpThreshold = 34.0;
constexpr double kMaxExp = 5.834617425e14;   // exp(34)
constexpr double kMinExp = 1.713908431e-15;  // exp(-34)
// Saturation current of a junction without area or perimeter, A.
constexpr double kDefaultJunctionIsat = 1e-14;

constexpr int kNumParams = sizeof(kBsim3Params) / sizeof(kBsim3Params[0]);

// Row index of a parameter (compile-time; an unknown name does not compile).
consteval int Idx(std::string_view name) {
  for (int k = 0; k < kNumParams; ++k) {
    if (name == kBsim3Params[k].name) return k;
  }
  throw "unknown BSIM3 parameter";
}

// Row index of a parameter at run time, or -1.
int IdxOf(const std::string& key) {
  for (int k = 0; k < kNumParams; ++k) {
    if (key == kBsim3Params[k].name) return k;
  }
  return -1;
}

template <typename T>
using Card = std::array<T, kNumParams>;

// Binning coefficients (the L*, W*, P* variants of a parameter): P = P0 + PL/Leff + PW/Weff +
// PP/(Leff Weff), lengths in um with BINUNIT=1 (the default), in m otherwise.
using Bins = std::array<std::array<double, 3>, kNumParams>;

// The parameters that take binning coefficients (BSIM3v3.3's list).
constexpr std::string_view kBinnable[] = {
    "cdsc",  "cdscb", "cdscd",  "cit",     "nfactor", "xj",      "vsat",   "at",     "a0",
    "ags",   "a1",    "a2",     "keta",    "nsub",    "nch",     "ngate",  "gamma1", "gamma2",
    "vbx",   "vbm",   "xt",     "k1",      "kt1",     "kt1l",    "kt2",    "k2",     "k3",
    "k3b",   "w0",    "nlx",    "dvt0",    "dvt1",    "dvt2",    "dvt0w",  "dvt1w",  "dvt2w",
    "drout", "dsub",  "vth0",   "ua",      "ua1",     "ub",      "ub1",    "uc",     "uc1",
    "u0",    "ute",   "voff",   "elm",     "delta",   "rdsw",    "prwg",   "prwb",   "prt",
    "eta0",  "etab",  "pclm",   "pdiblc1", "pdiblc2", "pdiblcb", "pscbe1", "pscbe2", "pvag",
    "wr",    "dwg",   "dwb",    "b0",      "b1",      "cgsl",    "cgdl",   "ckappa", "cf",
    "clc",   "cle",   "alpha0", "alpha1",  "beta0",   "vfbcv",   "vfb",    "acde",   "moin",
    "noff",  "voffcv"};

// Applies the binning coefficients at the effective sizes.
template <typename T>
void ApplyBinning(const Bins& bins, const T& leff, const T& weff, Card<T>* c) {
  const double unit = (*c)[Idx("binunit")] == 1.0 ? 1e-6 : 1.0;  // BINUNIT=1: sizes in um
  const T inv_l = unit / leff, inv_w = unit / weff, inv_lw = unit * unit / (leff * weff);
  for (std::string_view name : kBinnable) {
    const int k = IdxOf(std::string(name));
    const std::array<double, 3>& b = bins[k];
    if (b[0] != 0.0 || b[1] != 0.0 || b[2] != 0.0) {
      (*c)[k] += b[0] * inv_l + b[1] * inv_w + b[2] * inv_lw;
    }
  }
}

// Size- and temperature-dependent parameters (b3temp of the manual's appendix).
template <typename T>
struct Derived {
  double type = 1.0;  // +1 NMOS, -1 PMOS
  T leff, weff, leffcv, weffcv, cox, tox;
  T phi, sqrtphi, phis3, xdep0, litl, vbi, cdep0, factor1;
  T k1, k2, k1ox, k2ox, vbsc, vfb, vth0, theta0vb0, thetarout;
  T u0temp, vsattemp, rds0, ua, ub, uc, temp_ratio, vtm;
  T abulkcv_factor, cgso, cgdo, cgbo;
  T vfbzb, ldeb, acde;  // capmod 3: flat band at zero bias, Debye length, ACDE scaled by doping
  // Junctions.
  T nvtm, isat_s, isat_d, cj, cjsw, cjswg, phib, phibsw, phibswg;
};

template <typename T>
T Pow(const T& x, double y) {
  using std::pow;
  return pow(x, y);
}

// exp(x) with BSIM3's guard at -kExpThreshold; returns t (1 + 2 t) of the short-channel factors.
template <typename T>
T ShortChannelFactor(const T& arg) {
  using std::exp;
  const T t = arg > -kExpThreshold ? T(exp(arg)) : T(kMinExp);
  return t * (1.0 + 2.0 * t);
}

// Effective sizes from the drawn ones (LINT, WINT, DLC, DWC and the LL..WWL terms).
template <typename T>
void EffectiveSizes(const Card<T>& c, Derived<T>* d) {
  using std::pow;
  const T& l = c[Idx("l")];
  const T& w = c[Idx("w")];
  const T lt = pow(l, c[Idx("lln")]), wt = pow(w, c[Idx("lwn")]);
  const T dl_geom = c[Idx("ll")] / lt + c[Idx("lw")] / wt + c[Idx("lwl")] / (lt * wt);
  const T lt2 = pow(l, c[Idx("wln")]), wt2 = pow(w, c[Idx("wwn")]);
  const T dw_geom = c[Idx("wl")] / lt2 + c[Idx("ww")] / wt2 + c[Idx("wwl")] / (lt2 * wt2);
  const T dl = c[Idx("lint")] + dl_geom, dw = c[Idx("wint")] + dw_geom;
  // DLC and DWC take the same geometry terms (LLC = LL etc. as ngspice's defaults).
  const T dlc = c[Idx("dlc")] + dl_geom, dwc = c[Idx("dwc")] + dw_geom;
  d->leff = l + c[Idx("xl")] - 2.0 * dl;
  d->weff = w + c[Idx("xw")] - 2.0 * dw;
  d->leffcv = l + c[Idx("xl")] - 2.0 * dlc;
  d->weffcv = w + c[Idx("xw")] - 2.0 * dwc;
}

// Flat-band voltage at zero bias (capmod 3): VTH0 less the zero-bias threshold corrections.
template <typename T>
T FlatBandZeroBias(const Card<T>& c, const Derived<T>& d) {
  using std::sqrt;
  const T v0 = d.vbi - d.phi;
  const T lt = d.factor1 * sqrt(d.xdep0);
  const T narrow =
      c[Idx("dvt0w")] * ShortChannelFactor(T(-0.5 * c[Idx("dvt1w")] * d.weff * d.leff / lt)) * v0;
  const T short_ch =
      c[Idx("dvt0")] * ShortChannelFactor(T(-0.5 * c[Idx("dvt1")] * d.leff / lt)) * v0;
  const T width = d.tox * d.phi / (d.weff + c[Idx("w0")]);
  const T lateral = d.k1ox * (sqrt(1.0 + c[Idx("nlx")] / d.leff) - 1.0) * d.sqrtphi +
                    (c[Idx("kt1")] + c[Idx("kt1l")] / d.leff) * d.temp_ratio;
  return d.type * d.vth0 - narrow - short_ch + c[Idx("k3")] * width + lateral - d.phi -
         d.k1 * d.sqrtphi;
}

// K1, K2 (given, or from the doping profile GAMMA1, GAMMA2, VBX, VBM) and the VBSEFF clamp VBSC.
template <typename T>
void BodyCoefficients(const Card<T>& c, const std::array<bool, kNumParams>& given, Derived<T>* d) {
  using std::sqrt;
  if (given[Idx("k1")] || given[Idx("k2")]) {
    d->k1 = c[Idx("k1")];
    d->k2 = c[Idx("k2")];
  } else {
    T vbx = c[Idx("vbx")];
    if (!given[Idx("vbx")]) vbx = d->phi - 7.7348e-4 * c[Idx("nch")] * c[Idx("xt")] * c[Idx("xt")];
    if (vbx > 0.0) vbx = -vbx;
    T vbm = c[Idx("vbm")];
    if (vbm > 0.0) vbm = -vbm;
    const T gamma1 =
        given[Idx("gamma1")] ? c[Idx("gamma1")] : T(5.753e-12 * sqrt(c[Idx("nch")]) / d->cox);
    const T gamma2 =
        given[Idx("gamma2")] ? c[Idx("gamma2")] : T(5.753e-12 * sqrt(c[Idx("nsub")]) / d->cox);
    const T t1 = sqrt(d->phi - vbx) - d->sqrtphi;
    const T t2 = sqrt(d->phi * (d->phi - vbm)) - d->phi;
    d->k2 = (gamma1 - gamma2) * t1 / (2.0 * t2 + vbm);
    d->k1 = gamma2 - 2.0 * d->k2 * sqrt(d->phi - vbm);
  }
  // Body-bias clamp of VBSEFF: where dVth/dVbs vanishes, within [-30, -3] V and below VBM.
  if (d->k2 < 0.0) {
    const T t0 = 0.5 * d->k1 / d->k2;
    d->vbsc = 0.9 * (d->phi - t0 * t0);
    if (d->vbsc > -3.0) d->vbsc = T(-3.0);
    if (d->vbsc < -30.0) d->vbsc = T(-30.0);
  } else {
    d->vbsc = T(-30.0);
  }
  if (d->vbsc > c[Idx("vbm")]) d->vbsc = c[Idx("vbm")];
}

// Doping-dependent parameters: PHI, XDEP0, K1, K2, VBSC, VFB, VTH0 (given flags as in b3temp).
template <typename T>
void Doping(const Card<T>& c, const std::array<bool, kNumParams>& given, double vtm0, double ni,
            Derived<T>* d) {
  using std::log;
  using std::sqrt;
  const T npeak = c[Idx("nch")];
  d->phi = 2.0 * vtm0 * log(npeak / ni);
  d->sqrtphi = sqrt(d->phi);
  d->phis3 = d->sqrtphi * d->phi;
  d->xdep0 = sqrt(2.0 * kEpsSi / (kQ * npeak * 1e6)) * d->sqrtphi;
  d->litl = sqrt(3.0 * c[Idx("xj")] * d->tox);
  d->vbi = vtm0 * log(1e20 * npeak / (ni * ni));
  d->cdep0 = sqrt(kQ * kEpsSi * npeak * 1e6 / 2.0 / d->phi);
  BodyCoefficients(c, given, d);
  const bool vth0_given = given[Idx("vth0")];
  d->vfb = c[Idx("vfb")];
  if (!given[Idx("vfb")]) {
    d->vfb = vth0_given ? T(d->type * c[Idx("vth0")] - d->phi - d->k1 * d->sqrtphi) : T(-1.0);
  }
  d->vth0 = vth0_given ? c[Idx("vth0")] : T(d->type * (d->vfb + d->phi + d->k1 * d->sqrtphi));
  d->k1ox = d->k1 * d->tox / c[Idx("toxm")];
  d->k2ox = d->k2 * d->tox / c[Idx("toxm")];
  const T lt0 = sqrt(kEpsSi / kEpsOx * d->tox * d->xdep0);
  d->theta0vb0 = ShortChannelFactor(T(-0.5 * c[Idx("dsub")] * d->leff / lt0));
  d->thetarout = c[Idx("pdiblc1")] * ShortChannelFactor(T(-0.5 * c[Idx("drout")] * d->leff / lt0)) +
                 c[Idx("pdiblc2")];
  d->ldeb = sqrt(kEpsSi * vtm0 / (kQ * npeak * 1e6)) / 3.0;
  d->acde = c[Idx("acde")] * Pow(T(npeak / 2e16), -0.25);
  d->vfbzb = FlatBandZeroBias(c, *d);
  // Instance threshold shift.
  d->vth0 += c[Idx("delvto")];
  d->vfb += d->type * c[Idx("delvto")];
  d->vfbzb += d->type * c[Idx("delvto")];
}

// Junction saturation currents and capacitance parameters at the circuit temperature.
template <typename T>
void JunctionParams(const Card<T>& c, const std::array<bool, kNumParams>& given, double temp,
                    double tnom, double eg0, double vtm0, Derived<T>* d) {
  using std::exp;
  using std::log;
  d->nvtm = d->vtm * c[Idx("nj")];
  T js = c[Idx("js")], jsw = c[Idx("jsw")];
  if (temp != tnom) {
    const double eg = 1.16 - 7.02e-4 * temp * temp / (temp + 1108.0);
    const T arg = eg0 / vtm0 - eg / Value(d->vtm) + c[Idx("xti")] * log(temp / tnom);
    const T f = exp(arg / c[Idx("nj")]);
    js *= f;
    jsw *= f;
  }
  auto isat = [&](const T& area, const T& perim) {
    if (area <= 0.0 && perim <= 0.0) return T(kDefaultJunctionIsat);
    return T(area * js + perim * jsw);
  };
  d->isat_s = isat(c[Idx("as")], c[Idx("ps")]);
  d->isat_d = isat(c[Idx("ad")], c[Idx("pd")]);
  const double dt = temp - tnom;
  auto scaled = [&](const T& cap, const T& tc) {
    const T f = 1.0 + tc * dt;
    return f >= 0.0 ? T(cap * f) : T(0.0);
  };
  d->cj = scaled(c[Idx("cj")], c[Idx("tcj")]);
  d->cjsw = scaled(c[Idx("cjsw")], c[Idx("tcjsw")]);
  // CJSWG defaults to CJSW (resolved here, so that the CJSW partial includes it).
  d->cjswg = scaled(given[Idx("cjswg")] ? c[Idx("cjswg")] : c[Idx("cjsw")], c[Idx("tcjswg")]);
  constexpr double kMinPb = 0.01;  // BSIM3's floor of the temperature-scaled built-in potentials
  auto potential = [&](const T& pb, const T& tpb) {
    const T v = pb - tpb * dt;
    return v < kMinPb ? T(kMinPb) : v;
  };
  d->phib = potential(c[Idx("pb")], c[Idx("tpb")]);
  d->phibsw = potential(c[Idx("pbsw")], c[Idx("tpbsw")]);
  d->phibswg = potential(c[Idx("pbswg")], c[Idx("tpbswg")]);
}

// The derived parameters; bins the card (*card) at the effective sizes first.
template <typename T>
Derived<T> Derive(Card<T>* card, const Bins& bins, const std::array<bool, kNumParams>& given,
                  double type, double temp) {
  using std::log;
  using std::sqrt;
  const Card<T>& c = *card;
  Derived<T> d;
  d.type = type;
  d.tox = c[Idx("tox")];
  d.cox = kEpsOx / d.tox;
  const double tnom = Value(c[Idx("tnom")]) + kZeroCelsius;
  const double vtm0 = kBoltzOverQ * tnom;
  const double eg0 = 1.16 - 7.02e-4 * tnom * tnom / (tnom + 1108.0);
  const double ni = 1.45e10 * (tnom / 300.15) * std::sqrt(tnom / 300.15) *
                    std::exp(21.5565981 - eg0 / (2.0 * vtm0));
  d.vtm = T(kBoltzOverQ * temp);
  d.factor1 = sqrt(kEpsSi / kEpsOx * d.tox);
  EffectiveSizes(c, &d);
  ApplyBinning(bins, d.leff, d.weff, card);
  const double tratio = temp / tnom;
  d.temp_ratio = T(tratio - 1.0);
  d.ua = c[Idx("ua")] + c[Idx("ua1")] * (tratio - 1.0);
  d.ub = c[Idx("ub")] + c[Idx("ub1")] * (tratio - 1.0);
  d.uc = c[Idx("uc")] + c[Idx("uc1")] * (tratio - 1.0);
  T u0 = c[Idx("u0")];
  if (u0 > 1.0) u0 = u0 / 1e4;  // cm^2/Vs -> m^2/Vs
  d.u0temp = u0 * std::pow(tratio, Value(c[Idx("ute")])) * c[Idx("mulu0")];
  d.vsattemp = c[Idx("vsat")] - c[Idx("at")] * (tratio - 1.0);
  d.rds0 =
      (c[Idx("rdsw")] + c[Idx("prt")] * (tratio - 1.0)) / Pow(T(d.weff * 1e6), Value(c[Idx("wr")]));
  d.abulkcv_factor = 1.0 + Pow(T(c[Idx("clc")] / d.leffcv), Value(c[Idx("cle")]));
  d.cgso = (c[Idx("cgso")] + c[Idx("cf")]) * d.weffcv;
  d.cgdo = (c[Idx("cgdo")] + c[Idx("cf")]) * d.weffcv;
  d.cgbo = c[Idx("cgbo")] * d.leffcv;
  Doping(c, given, vtm0, ni, &d);
  JunctionParams(c, given, temp, tnom, eg0, vtm0, &d);
  return d;
}

// x for x >= lo (lo = -0.5, -0.8, -0.9 below), else the model's smooth rational continuation
// (a + b x) / (c + e x) that keeps value and slope at x = lo.
template <typename T>
T Smooth(const T& x, double lo, double a, double b, double c, double e) {
  return x >= lo ? T(1.0 + x) : T((a + b * x) / (c + e * x));
}

// Terminal quantities in the order (d, g, s, b).
template <typename T>
struct Out {
  T f[4];
  T q[4];
  T vth;  // threshold voltage (mode orientation), for Newton limiting
};

// Intermediate quantities of one bias point in the mode orientation (vds >= 0).
template <typename T>
struct Core {
  T vds, vgs, vbs, vbseff, phis, sqrtphis, xdep, vth, n, vgs_eff, vgst, vgsteff;
  T abulk0, abulk, ueff, vdsat, vdseff, ids, idsa, isub, theta0;
};

// Threshold voltage with body effect, short channel, narrow width and DIBL; Theta0 and n.
template <typename T>
void Threshold(const Card<T>& c, const Derived<T>& d, Core<T>* k) {
  using std::sqrt;
  const T t0 = k->vbs - d.vbsc - 0.001;
  k->vbseff = d.vbsc + 0.5 * (t0 + sqrt(t0 * t0 - 0.004 * d.vbsc));
  if (k->vbseff < k->vbs) k->vbseff = k->vbs;
  if (k->vbseff > 0.0) {
    k->phis = d.phi * d.phi / (d.phi + k->vbseff);
    k->sqrtphis = d.phis3 / (d.phi + 0.5 * k->vbseff);
  } else {
    k->phis = d.phi - k->vbseff;
    k->sqrtphis = sqrt(k->phis);
  }
  k->xdep = d.xdep0 * k->sqrtphis / d.sqrtphi;
  const T& leff = d.leff;
  const T sqrt_xdep = sqrt(k->xdep);
  const T v0 = d.vbi - d.phi;
  // 1 + DVT2 vbseff (and DVT2W), smoothed below -0.5.
  const T lt1 = d.factor1 * sqrt_xdep * Smooth(T(c[Idx("dvt2")] * k->vbseff), -0.5, 1, 3, 3, 8);
  const T ltw = d.factor1 * sqrt_xdep * Smooth(T(c[Idx("dvt2w")] * k->vbseff), -0.5, 1, 3, 3, 8);
  k->theta0 = ShortChannelFactor(T(-0.5 * c[Idx("dvt1")] * leff / lt1));
  const T delt_vth = c[Idx("dvt0")] * k->theta0 * v0;
  const T narrow =
      c[Idx("dvt0w")] * ShortChannelFactor(T(-0.5 * c[Idx("dvt1w")] * d.weff * leff / ltw)) * v0;
  const T lateral = d.k1ox * (sqrt(1.0 + c[Idx("nlx")] / leff) - 1.0) * d.sqrtphi;
  const T thermal =
      (c[Idx("kt1")] + c[Idx("kt1l")] / leff + c[Idx("kt2")] * k->vbseff) * d.temp_ratio;
  const T width = d.tox * d.phi / (d.weff + c[Idx("w0")]);
  T eta = c[Idx("eta0")] + c[Idx("etab")] * k->vbseff;
  if (eta < 1e-4) eta = (2e-4 - eta) / (3.0 - 2e4 * eta);  // smooth floor of the DIBL factor
  const T dibl = eta * d.theta0vb0 * k->vds;
  k->vth = d.type * d.vth0 - d.k1 * d.sqrtphi + d.k1ox * k->sqrtphis - d.k2ox * k->vbseff -
           delt_vth - narrow + (c[Idx("k3")] + c[Idx("k3b")] * k->vbseff) * width + lateral +
           thermal - dibl;
  const T tmp2 = c[Idx("nfactor")] * kEpsSi / k->xdep;
  const T tmp3 = c[Idx("cdsc")] + c[Idx("cdscb")] * k->vbseff + c[Idx("cdscd")] * k->vds;
  const T tmp4 = (tmp2 + tmp3 * k->theta0 + c[Idx("cit")]) / d.cox;
  k->n = Smooth(tmp4, -0.5, 1, 3, 3, 8);
}

// Poly depletion and the effective gate drive VGSTEFF (subthreshold to strong inversion).
template <typename T>
void GateDrive(const Card<T>& c, const Derived<T>& d, Core<T>* k) {
  using std::exp;
  using std::log;
  using std::sqrt;
  k->vgs_eff = k->vgs;
  const T ngate = c[Idx("ngate")];
  const T vfb_phi = d.vfb + d.phi;
  if (ngate > 1e18 && ngate < 1e25 && k->vgs > vfb_phi) {
    const T t1 = 1e6 * kQ * kEpsSi * ngate / (d.cox * d.cox);
    const T t4 = sqrt(1.0 + 2.0 * (k->vgs - vfb_phi) / t1);
    const T t2 = t1 * (t4 - 1.0);
    const T vpoly = 0.5 * t2 * t2 / t1;
    const T t7 = 1.12 - vpoly - 0.05;
    const T t6 = sqrt(t7 * t7 + 0.224);
    k->vgs_eff = k->vgs - (1.12 - 0.5 * (t7 + t6));
  }
  k->vgst = k->vgs_eff - k->vth;
  const T vtm = d.vtm;
  const T t10 = 2.0 * k->n * vtm;
  const T vgst_nvt = k->vgst / t10;
  const T exp_arg = (2.0 * c[Idx("voff")] - k->vgst) / t10;
  if (vgst_nvt > kExpThreshold) {
    k->vgsteff = k->vgst;
  } else if (exp_arg > kExpThreshold) {
    k->vgsteff = vtm * d.cdep0 / d.cox * exp((k->vgst - c[Idx("voff")]) / (k->n * vtm));
  } else {
    const T t1 = t10 * log(1.0 + exp(vgst_nvt));
    const T t2 = 1.0 + t10 * d.cox / (vtm * d.cdep0) * exp(exp_arg);
    k->vgsteff = t1 / t2;
  }
}

// Bulk charge factor ABULK (and ABULK0 at zero gate drive), with the KETA body factor.
template <typename T>
void BulkCharge(const Card<T>& c, const Derived<T>& d, Core<T>* k) {
  using std::sqrt;
  const T t1 = 0.5 * d.k1ox / k->sqrtphis;
  const T t5 = d.leff / (d.leff + 2.0 * sqrt(c[Idx("xj")] * k->xdep));
  const T t2 = c[Idx("a0")] * t5 + c[Idx("b0")] / (d.weff + c[Idx("b1")]);
  k->abulk0 = 1.0 + t1 * t2;
  k->abulk = k->abulk0 - t1 * c[Idx("ags")] * c[Idx("a0")] * t5 * t5 * t5 * k->vgsteff;
  for (T* a : {&k->abulk0, &k->abulk}) {
    if (*a < 0.1) *a = (0.2 - *a) / (3.0 - 20.0 * *a);
  }
  const T keta = c[Idx("keta")] * k->vbseff;
  const T f = keta >= -0.9 ? T(1.0 / (1.0 + keta)) : T((17.0 + 20.0 * keta) / (0.8 + keta));
  k->abulk *= f;
  k->abulk0 *= f;
}

// Effective mobility (MOBMOD 1, 2, 3).
template <typename T>
T Mobility(const Card<T>& c, const Derived<T>& d, const Core<T>& k) {
  const int mobmod = static_cast<int>(Value(c[Idx("mobmod")]));
  T t5;
  if (mobmod == 2) {
    t5 = k.vgsteff / d.tox * (d.ua + d.uc * k.vbseff + d.ub * k.vgsteff / d.tox);
  } else {
    const T t3 = (k.vgsteff + 2.0 * k.vth) / d.tox;
    t5 = mobmod == 1 ? T(t3 * (d.ua + d.uc * k.vbseff + d.ub * t3))
                     : T(t3 * (d.ua + d.ub * t3) * (1.0 + d.uc * k.vbseff));
  }
  const T denom = t5 >= -0.8 ? T(1.0 + t5) : T((0.6 + t5) / (7.0 + 10.0 * t5));
  return d.u0temp / denom;
}

// Saturation quantities shared by the current and the output resistance.
template <typename T>
struct Saturation {
  T weff, rds, wvcox_rds, esatl, lambda, vgst2vtm;
};

// Bias-dependent Weff and Rds, mobility, Esat L, lambda (A1, A2) and VDSAT.
template <typename T>
Saturation<T> SaturationVoltage(const Card<T>& c, const Derived<T>& d, Core<T>* k) {
  using std::sqrt;
  Saturation<T> s;
  const T sphi = k->sqrtphis - d.sqrtphi;
  s.weff = d.weff - 2.0 * (c[Idx("dwg")] * k->vgsteff + c[Idx("dwb")] * sphi);
  if (s.weff < 2e-8) s.weff = 2e-8 * (4e-8 - s.weff) / (6e-8 - 2.0 * s.weff);
  s.rds = d.rds0 * Smooth(T(c[Idx("prwg")] * k->vgsteff + c[Idx("prwb")] * sphi), -0.9, 0.8, 1.0,
                          17.0, 20.0);
  k->ueff = Mobility(c, d, *k);
  s.wvcox_rds = s.weff * d.vsattemp * d.cox * s.rds;
  s.esatl = 2.0 * d.vsattemp / k->ueff * d.leff;
  const T a1 = c[Idx("a1")], a2 = c[Idx("a2")];
  s.lambda = a2;
  if (a1 > 0.0) {
    const T t0 = 1.0 - a2, t1 = t0 - a1 * k->vgsteff - 0.0001;
    s.lambda = a2 + t0 - 0.5 * (t1 + sqrt(t1 * t1 + 0.0004 * t0));
  } else if (a1 < 0.0) {
    const T t1 = a2 + a1 * k->vgsteff - 0.0001;
    s.lambda = 0.5 * (t1 + sqrt(t1 * t1 + 0.0004 * a2));
  }
  s.vgst2vtm = k->vgsteff + 2.0 * d.vtm;
  const T& abulk = k->abulk;
  if (s.rds == 0.0 && s.lambda == 1.0) {
    k->vdsat = s.esatl * s.vgst2vtm / (abulk * s.esatl + s.vgst2vtm);
  } else {  // the root of the quadratic with source/drain resistance
    const T t9 = abulk * s.wvcox_rds;
    const T t0 = 2.0 * abulk * (t9 - 1.0 + 1.0 / s.lambda);
    const T t1 = s.vgst2vtm * (2.0 / s.lambda - 1.0) + abulk * s.esatl + 3.0 * s.vgst2vtm * t9;
    const T t2 = s.vgst2vtm * (s.esatl + 2.0 * s.vgst2vtm * s.wvcox_rds);
    k->vdsat = (t1 - sqrt(t1 * t1 - 2.0 * t0 * t2)) / t0;
  }
  return s;
}

// Early voltage VA from VASAT, channel-length modulation (PCLM) and DIBL (PDIBLC1/2/B, PVAG).
template <typename T>
T EarlyVoltage(const Card<T>& c, const Derived<T>& d, const Core<T>& k, const Saturation<T>& s,
               const T& diff_vds) {
  const T& abulk = k.abulk;
  const T tmp4 = 1.0 - 0.5 * abulk * k.vdsat / s.vgst2vtm;
  const T vasat = (s.esatl + k.vdsat + 2.0 * s.wvcox_rds * k.vgsteff * tmp4) /
                  (2.0 / s.lambda - 1.0 + s.wvcox_rds * abulk);
  T vaclm(kMaxExp);
  if (c[Idx("pclm")] > 0.0 && diff_vds > 1e-10) {
    vaclm = d.leff * (abulk + k.vgsteff / s.esatl) * diff_vds / (c[Idx("pclm")] * abulk * d.litl);
  }
  T vadibl(kMaxExp);
  if (d.thetarout > 0.0) {
    const T t8 = abulk * k.vdsat;
    vadibl = (s.vgst2vtm - s.vgst2vtm * t8 / (s.vgst2vtm + t8)) / d.thetarout;
    const T t7 = c[Idx("pdiblcb")] * k.vbseff;
    vadibl *= t7 >= -0.9 ? T(1.0 / (1.0 + t7)) : T((17.0 + 20.0 * t7) / (0.8 + t7));
  }
  const T pvag = Smooth(T(c[Idx("pvag")] / s.esatl * k.vgsteff), -0.9, 0.8, 1.0, 17.0, 20.0);
  return vasat + pvag * vaclm * vadibl / (vaclm + vadibl);
}

// Substrate-current induced body effect: the voltage VASCBE (PSCBE1, PSCBE2).
template <typename T>
T ScbeVoltage(const Card<T>& c, const Derived<T>& d, const T& diff_vds) {
  using std::exp;
  const T pscbe1 = c[Idx("pscbe1")], pscbe2 = c[Idx("pscbe2")];
  if (!(pscbe2 > 0.0)) return T(kMaxExp);
  return diff_vds > pscbe1 * d.litl / kExpThreshold
             ? T(d.leff * exp(pscbe1 * d.litl / diff_vds) / pscbe2)
             : T(kMaxExp * d.leff / pscbe2);
}

// Drain current: VDSAT, VDSEFF, the output resistance (CLM, DIBL, SCBE) and substrate current.
template <typename T>
void DrainCurrent(const Card<T>& c, const Derived<T>& d, Core<T>* k) {
  using std::exp;
  using std::sqrt;
  const Saturation<T> s = SaturationVoltage(c, d, k);
  const T delta = c[Idx("delta")];
  const T t1 = k->vdsat - k->vds - delta;
  k->vdseff = k->vdsat - 0.5 * (t1 + sqrt(t1 * t1 + 4.0 * delta * k->vdsat));
  if (k->vds == 0.0) k->vdseff = k->vdseff - Value(k->vdseff);  // exactly 0 at vds = 0
  if (k->vdseff > k->vds) k->vdseff = k->vds;
  const T diff_vds = k->vds - k->vdseff;
  const T beta = k->ueff * d.cox * s.weff / d.leff;
  const T fgche1 = k->vgsteff * (1.0 - 0.5 * k->abulk * k->vdseff / s.vgst2vtm);
  const T gche = beta * fgche1 / (1.0 + k->vdseff / s.esatl);
  const T idl = gche * k->vdseff / (1.0 + gche * s.rds);
  k->idsa = idl * (1.0 + diff_vds / EarlyVoltage(c, d, *k, s, diff_vds));
  k->ids = k->idsa * (1.0 + diff_vds / ScbeVoltage(c, d, diff_vds));
  const T alpha = c[Idx("alpha0")] + c[Idx("alpha1")] * d.leff;
  const T beta0 = c[Idx("beta0")];
  k->isub = T(0.0);
  if (alpha > 0.0 && beta0 > 0.0) {
    const T t2 = alpha / d.leff;
    k->isub = diff_vds > beta0 / kExpThreshold ? T(t2 * diff_vds * exp(-beta0 / diff_vds))
                                               : T(t2 * kMinExp * diff_vds);
    k->isub *= k->idsa;
  }
}

// CAPMOD 0 intrinsic charges (gate, bulk, "drain" of the mode), long-channel model with XPART.
template <typename T>
void ChargesCapmod0(const Card<T>& c, const Derived<T>& d, const Core<T>& k, T* qg, T* qb, T* qd) {
  using std::sqrt;
  const T vbseff = k.vbseff < 0.0 ? k.vbs : T(d.phi - k.phis);
  const T vfb = c[Idx("vfbcv")];
  const T vgst = k.vgs_eff - (vfb + d.phi + d.k1ox * k.sqrtphis);
  const T coxwl = d.cox * d.weffcv * d.leffcv;
  const T arg1 = k.vgs_eff - vbseff - vfb;
  *qd = T(0.0);
  if (arg1 <= 0.0) {  // accumulation
    *qg = coxwl * arg1;
    *qb = -*qg;
    return;
  }
  if (vgst <= 0.0) {  // depletion
    const T t1 = 0.5 * d.k1ox;
    *qg = coxwl * d.k1ox * (sqrt(t1 * t1 + arg1) - t1);
    *qb = -*qg;
    return;
  }
  const T vdsat = vgst / (k.abulk0 * d.abulkcv_factor);
  const T& vds = k.vds;
  const double xpart = Value(c[Idx("xpart")]);
  if (vdsat <= vds) {  // saturation
    *qg = coxwl * (k.vgs_eff - vfb - d.phi - vdsat / 3.0);
    const T t2 = -2.0 / 3.0 * coxwl * vgst;
    *qb = -(*qg + t2);
    *qd = xpart > 0.5 ? T(0.0) : T((xpart < 0.5 ? 0.4 : 0.5) * t2);
    return;
  }
  const T t1 = 2.0 * vdsat - vds;
  const T t2 = vds / (3.0 * t1);
  const T t3 = t2 * vds;
  const T t4 = 0.25 * coxwl * vgst / vdsat;
  *qg = coxwl * (k.vgs_eff - vfb - d.phi - 0.5 * (vds - t3));
  if (xpart > 0.5) {  // 0/100
    *qd = t4 * (2.0 * vds - t1 - 3.0 * t3);
    *qb = -(*qg + *qd + t4 * (t3 - t1 - 2.0 * vds));
  } else if (xpart < 0.5) {  // 40/60
    const T t6 = 8.0 * vdsat * vdsat - 6.0 * vdsat * vds + 1.2 * vds * vds;
    *qd = t4 * (vds - t1 - t2 / t1 * t6);
    *qb = -(*qg - t4 * 2.0 * (t1 + t3));
  } else {  // 50/50
    *qd = -t4 * (t1 + t3);
    *qb = -(*qg + 2.0 * *qd);
  }
}

// Effective gate drive of the charge model (capmod 1-3): NOFF, VOFFCV.
template <typename T>
T GateDriveCv(const Card<T>& c, const Derived<T>& d, const Core<T>& k) {
  using std::exp;
  using std::log;
  const T t0 = d.vtm * k.n * c[Idx("noff")];
  const T x = (k.vgst - c[Idx("voffcv")]) / t0;
  if (x > kExpThreshold) return k.vgst - c[Idx("voffcv")];
  if (x < -kExpThreshold) return t0 * log(1.0 + kMinExp);
  return t0 * log(1.0 + exp(x));
}

// Charge centroid of accumulation/depletion: the effective oxide capacitance Coxeff (capmod 3).
template <typename T>
T CoxEffAccumulation(const Derived<T>& d, const T& vgs_eff, const T& vbseff) {
  using std::exp;
  using std::sqrt;
  const T arg = (vgs_eff - vbseff - d.vfbzb) / (1e8 * d.tox) * d.acde;
  T tcen = d.ldeb * (arg <= -kExpThreshold  ? T(kMinExp)
                     : arg >= kExpThreshold ? T(kMaxExp)
                                            : T(exp(arg)));
  const T link = 1e-3 * d.tox;  // smooth upper bound of the centroid at LDEB
  const T v3 = d.ldeb - tcen - link;
  tcen = d.ldeb - 0.5 * (v3 + sqrt(v3 * v3 + 4.0 * link * d.ldeb));
  const T ccen = kEpsSi / tcen;
  return d.cox * ccen / (d.cox + ccen);
}

// Charge centroid in inversion: Coxeff from Vgsteff and Vth (capmod 3).
template <typename T>
T CoxEffInversion(const Derived<T>& d, const T& vgsteff, const T& vth) {
  using std::pow;
  const T tox2 = 2e8 * d.tox;
  const T t3 = 4.0 * (vth - d.vfbzb - d.phi);
  const T t0 = t3 >= 0.0 ? T((vgsteff + t3) / tox2) : T((vgsteff + 1e-20) / tox2);
  const T tcen = 1.9e-9 / (1.0 + pow(t0, 0.7));
  const T ccen = kEpsSi / tcen;
  return d.cox * ccen / (d.cox + ccen);
}

// CAPMOD 3 (charge-thickness model) charges: gate, bulk, "drain" of the mode.
template <typename T>
void ChargesCapmod3(const Card<T>& c, const Derived<T>& d, const Core<T>& k, T* qg, T* qb, T* qd) {
  using std::log;
  using std::sqrt;
  constexpr double kDelta3 = 0.02, kDelta4 = 0.02;  // smoothing widths of the model, V
  const T vbseff = k.vbseff < 0.0 ? k.vbseff : T(d.phi - k.phis);
  const T vgsteff = GateDriveCv(c, d, k);
  const T coxwl = d.cox * d.weffcv * d.leffcv;
  // Accumulation: Vfbeff = min(VFBZB, vgs - vbs) smoothed.
  const T v3 = d.vfbzb - k.vgs_eff + vbseff - kDelta3;
  const T s3 = d.vfbzb <= 0.0 ? T(sqrt(v3 * v3 - 4.0 * kDelta3 * d.vfbzb))
                              : T(sqrt(v3 * v3 + 4.0 * kDelta3 * d.vfbzb));
  const T vfbeff = d.vfbzb - 0.5 * (v3 + s3);
  const T coxwl_acc = coxwl * CoxEffAccumulation(d, k.vgs_eff, vbseff) / d.cox;
  const T qac0 = coxwl_acc * (vfbeff - d.vfbzb);
  // Depletion.
  const T k1ox = d.k1ox;
  const T half_k1 = 0.5 * k1ox;
  const T t3 = k.vgs_eff - vfbeff - vbseff - vgsteff;
  T t1(0.0);
  if (k1ox != 0.0) t1 = t3 < 0.0 ? T(half_k1 + t3 / k1ox) : T(sqrt(half_k1 * half_k1 + t3));
  const T qsub0 = k1ox == 0.0 ? T(0.0) : T(coxwl_acc * k1ox * (t1 - half_k1));
  // Inversion, with the gate-bias dependent surface-potential shift DeltaPhi.
  const T denom =
      k1ox <= 0.0 ? T(0.25 * c[Idx("moin")] * d.vtm) : T(c[Idx("moin")] * d.vtm * k1ox * k1ox);
  const T t0p = k1ox <= 0.0 ? T(0.5 * d.sqrtphi) : T(k1ox * d.sqrtphi);
  const T delta_phi = d.vtm * log(1.0 + (2.0 * t0p + vgsteff) * vgsteff / denom);
  const T g0 = vgsteff - delta_phi - 0.001;
  const T vgdp = 0.5 * (g0 + sqrt(g0 * g0 + vgsteff * 0.004));
  const T coxeff = CoxEffInversion(d, vgsteff, k.vth);
  const T coxwlcen = coxwl * coxeff / d.cox;
  const T abulkcv = k.abulk0 * d.abulkcv_factor;
  const T vdsatcv = vgdp / abulkcv;
  const T v0 = vdsatcv - k.vds - kDelta4;
  const T v1 = sqrt(v0 * v0 + 4.0 * kDelta4 * vdsatcv);
  T vdseffcv =
      v0 >= 0.0 ? T(vdsatcv - 0.5 * (v0 + v1)) : T(vdsatcv * (1.0 - 2.0 * kDelta4 / (v1 - v0)));
  if (k.vds == 0.0) vdseffcv = vdseffcv - Value(vdseffcv);  // exactly 0 at vds = 0
  const T a = abulkcv * vdseffcv;
  const T b = vgdp;
  const T t2 = 12.0 * (b - 0.5 * a + 1e-20);
  const T r = a / t2;
  T qinv_g = coxwlcen * (b - a * (0.5 - r));
  T qinv_b = coxwlcen * (1.0 - abulkcv) * (0.5 * vdseffcv - a * vdseffcv / t2);
  T qs;
  const double xpart = Value(c[Idx("xpart")]);
  if (xpart > 0.5) {  // 0/100
    qs = -coxwlcen * (b / 2.0 + a / 4.0 - 0.5 * a * a / t2);
  } else if (xpart < 0.5) {  // 40/60
    const T t2s = t2 / 12.0;
    const T t4 = b * (2.0 * a * a / 3.0 + b * (b - 4.0 * a / 3.0)) - 2.0 * a * a * a / 15.0;
    qs = -0.5 * coxwlcen / (t2s * t2s) * t4;
  } else {  // 50/50
    qs = -0.5 * qinv_g;
  }
  *qg = qinv_g + qac0 + qsub0 - qinv_b;
  *qb = qinv_b - (qac0 + qsub0);
  *qd = -(*qg + *qb + qs);
}

// Bias-dependent overlap charge of one side (capmod 2, 3): CGSL/CGDL with CKAPPA.
template <typename T>
T OverlapCharge(const T& v, const T& cgo, const T& cgl_w, const T& ckappa) {
  using std::sqrt;
  constexpr double kDelta1 = 0.02;  // smoothing width, V
  const T t0 = v + kDelta1;
  const T t2 = 0.5 * (t0 - sqrt(t0 * t0 + 4.0 * kDelta1));
  const T t4 = sqrt(1.0 - 4.0 * t2 / ckappa);
  return (cgo + cgl_w) * v - cgl_w * (t2 + 0.5 * ckappa * (t4 - 1.0));
}

// Junction diode current (IJTH linearises it above the voltage where it reaches IJTH).
template <typename T>
T JunctionDiode(const T& v, const T& isat, const Card<T>& c, const Derived<T>& d, double gmin) {
  using std::exp;
  using std::log;
  if (isat <= 0.0) return gmin * v;
  const T ijth = c[Idx("ijth")];
  if (ijth > 0.0) {
    const T vjm = d.nvtm * log(ijth / isat + 1.0);
    if (v >= vjm) {
      const T ie = isat * exp(vjm / d.nvtm);
      return ie - isat + ie / d.nvtm * (v - vjm) + gmin * v;
    }
  }
  return isat * (exp(v / d.nvtm) - 1.0) + gmin * v;
}

// One component of the junction depletion charge (bottom, sidewall or gate-edge sidewall).
template <typename T>
T JunctionComponent(const T& v, const T& cz, const T& pb, const T& mj) {
  using std::pow;
  if (cz <= 0.0) return T(0.0);
  if (v < 0.0) {
    const T arg = 1.0 - v / pb;
    return pb * cz * (1.0 - pow(arg, 1.0 - mj)) / (1.0 - mj);
  }
  return v * cz * (1.0 + 0.5 * mj * v / pb);  // linear capacitance growth above 0 V
}

// Depletion charge of the junction with area `area`, perimeter `perim`.
template <typename T>
T JunctionCharge(const T& v, const T& area, const T& perim, const Card<T>& c, const Derived<T>& d) {
  T sw(0.0), swg(0.0);
  if (perim < d.weff) {
    swg = d.cjswg * perim;
  } else {
    sw = d.cjsw * (perim - d.weff);
    swg = d.cjswg * d.weff;
  }
  return JunctionComponent(v, T(d.cj * area), d.phib, c[Idx("mj")]) +
         JunctionComponent(v, sw, d.phibsw, c[Idx("mjsw")]) +
         JunctionComponent(v, swg, d.phibswg, c[Idx("mjswg")]);
}

// The device equations at terminal voltages vgs, vds, vbs (real orientation).
template <typename T>
Out<T> Equations(const Card<T>& c, const Derived<T>& d, const T& vgs_in, const T& vds_in,
                 const T& vbs_in, double gmin) {
  const double p = d.type;
  const T vgs = p * vgs_in, vds = p * vds_in, vbs = p * vbs_in;
  const T vbd = vbs - vds, vgd = vgs - vds;
  const bool normal = vds >= 0.0;
  Core<T> k;
  k.vds = normal ? vds : T(-vds);
  k.vgs = normal ? vgs : vgd;
  k.vbs = normal ? vbs : vbd;
  Threshold(c, d, &k);
  GateDrive(c, d, &k);
  BulkCharge(c, d, &k);
  DrainCurrent(c, d, &k);
  const T ich = normal ? k.ids : T(-k.ids);
  // Substrate current flows from the mode's drain into the bulk.
  const T isub_d = normal ? k.isub : T(0.0), isub_s = normal ? T(0.0) : k.isub;
  const T ibd = JunctionDiode(vbd, d.isat_d, c, d, gmin);
  const T ibs = JunctionDiode(vbs, d.isat_s, c, d, gmin);
  T qg, qb, qdm, qgso, qgdo;
  if (c[Idx("capmod")] == 0.0) {
    ChargesCapmod0(c, d, k, &qg, &qb, &qdm);
    qgso = d.cgso * vgs;
    qgdo = d.cgdo * vgd;
  } else {
    ChargesCapmod3(c, d, k, &qg, &qb, &qdm);
    qgso = OverlapCharge(vgs, d.cgso, T(d.weffcv * c[Idx("cgsl")]), c[Idx("ckappa")]);
    qgdo = OverlapCharge(vgd, d.cgdo, T(d.weffcv * c[Idx("cgdl")]), c[Idx("ckappa")]);
  }
  const T qsm = -(qg + qb + qdm);
  const T qd_ch = normal ? qdm : qsm, qs_ch = normal ? qsm : qdm;
  const T qgbo = d.cgbo * (vgs - vbs);
  const T qbd = JunctionCharge(vbd, c[Idx("ad")], c[Idx("pd")], c, d);
  const T qbs = JunctionCharge(vbs, c[Idx("as")], c[Idx("ps")], c, d);
  const T m = c[Idx("m")];
  Out<T> out;
  out.f[0] = p * m * (ich + isub_d - ibd);
  out.f[1] = T(0.0);
  out.f[2] = p * m * (-ich + isub_s - ibs);
  out.f[3] = p * m * (ibd + ibs - isub_d - isub_s);
  out.q[0] = p * m * (qd_ch - qgdo - qbd);
  out.q[1] = p * m * (qg + qgso + qgdo + qgbo);
  out.q[2] = p * m * (qs_ch - qgso - qbs);
  out.q[3] = p * m * (qb - qgbo + qbd + qbs);
  out.vth = k.vth;
  return out;
}

template <typename T>
Card<T> Promote(const Card<double>& c) {
  Card<T> out;
  for (int k = 0; k < kNumParams; ++k) out[k] = T(c[k]);
  return out;
}

class Bsim3 : public Device {
 public:
  Bsim3(const netlist::Element& element, const Card<double>& card,
        const std::array<bool, kNumParams>& given, const Bins& bins, double type, double rd,
        double rs, bool off, double temp_celsius)
      : Device(element.name, element.loc),
        nd_(element.nodes[0]),
        ng_(element.nodes[1]),
        ns_(element.nodes[2]),
        nb_(element.nodes[3]),
        card_(card),
        given_(given),
        bins_(bins),
        type_(type),
        gd_(rd > 0.0 ? 1.0 / rd : 0.0),
        gs_(rs > 0.0 ? 1.0 / rs : 0.0),
        off_(off) {
    SetAnalysis(AnalysisInfo{0.0, 0.0, temp_celsius});
  }

  // Newton limiting (fetlim, limvds, pnjlim) keeps the last voltages between evaluations.
  bool HasLimitingState() const override { return true; }
  void SetAnalysis(const AnalysisInfo& info) override {
    temp_ = info.temp + kZeroCelsius;
    Card<double> binned = card_;
    derived_ = Derive(&binned, bins_, given_, type_, temp_);
    // The Jet copies (zero partials) are fixed until the temperature changes.
    card_jet_ = Promote<Jet3>(card_);
    derived_jet_ = Derive(&card_jet_, bins_, given_, type_, temp_);
    von_ = type_ * derived_.vth0;
  }

  void Setup(SetupContext& ctx) override {
    d_ = ctx.Node(nd_);
    g_ = ctx.Node(ng_);
    s_ = ctx.Node(ns_);
    b_ = ctx.Node(nb_);
    di_ = gd_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#drain)", UnknownKind::kNode) : d_;
    si_ = gs_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#source)", UnknownKind::kNode) : s_;
  }

  void Bind(BindContext& ctx) override {
    const int nodes[4] = {di_, g_, si_, b_};
    for (int r = 0; r < 4; ++r) {
      for (int c = 0; c < 4; ++c) h_[4 * r + c] = ctx.Entry(nodes[r], nodes[c]);
    }
    rd_.Bind(ctx, d_, di_);
    rs_.Bind(ctx, s_, si_);
  }

  void Evaluate(EvalContext& ctx) override;

  // Exact partials for w, l, delvto, mulu0 (instance) and every numeric card parameter that
  // enters the equations continuously (vth0, u0, k1, ...).
  int ParamHandle(const std::string& key, bool model_card) const override {
    static constexpr const char* kInstance[] = {"w", "l", "delvto", "mulu0"};
    static constexpr const char* kCard[] = {"vth0", "u0",      "k1",   "k2",   "ua",   "ub",
                                            "uc",   "vsat",    "rdsw", "pclm", "eta0", "dvt0",
                                            "voff", "nfactor", "cgso", "cgdo", "cj",   "cjsw"};
    for (const char* k : model_card ? std::span<const char* const>(kCard)
                                    : std::span<const char* const>(kInstance)) {
      if (key != k) continue;
      // VTH0, K1 and K2 enter only when given (else they follow from the doping).
      const bool derived = key == "vth0" || key == "k1" || key == "k2";
      return derived && !given_[IdxOf(key)] ? kNoParamPartial : IdxOf(key);
    }
    return kNoParamPartial;
  }

  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override {
    using Dual = ceres::Jet<double, 1>;
    Card<Dual> c = Promote<Dual>(card_);
    c[handle].v[0] = 1.0;
    const Derived<Dual> d = Derive(&c, bins_, given_, type_, temp_);
    const double* x = ctx.x;
    const Out<Dual> o = Equations(c, d, Dual(x[g_] - x[si_]), Dual(x[di_] - x[si_]),
                                  Dual(x[b_] - x[si_]), ctx.gmin);
    const int nodes[4] = {di_, g_, si_, b_};
    for (int r = 0; r < 4; ++r) out.Add(nodes[r], o.f[r].v[0], o.q[r].v[0]);
  }

 private:
  std::array<double, 3> Limited(double vgs, double vds, double vbs) const;

  std::string nd_, ng_, ns_, nb_;
  int d_ = kGround, g_ = kGround, s_ = kGround, b_ = kGround;
  int di_ = kGround, si_ = kGround;
  using Jet3 = ceres::Jet<double, 3>;  // partials over (vgs, vds, vbs)
  Card<double> card_;
  std::array<bool, kNumParams> given_;
  Bins bins_;
  double type_;
  Derived<double> derived_;
  Card<Jet3> card_jet_;
  Derived<Jet3> derived_jet_;
  double temp_ = 300.15;
  double gd_, gs_;
  bool off_;
  double von_ = 0.0;                                      // last threshold (p-space), fetlim
  double vgs_old_ = 0.0, vds_old_ = 0.0, vbs_old_ = 0.0;  // limiting state
  std::array<int, 16> h_{};
  SeriesConductance rd_, rs_;
};

std::array<double, 3> Bsim3::Limited(double vgs, double vds, double vbs) const {
  const double p = type_;
  const double pvgs = FetLimit(p * vgs, p * vgs_old_, von_);
  const double pvds = ModeVdsLimit(p * vds, p * vds_old_);
  // pnjlim with BSIM3's fixed critical voltage (1e-14 A junction at 300.15 K).
  const double vt0 = kBoltzOverQ * 300.15;
  const double vcrit = vt0 * std::log(vt0 / (std::numbers::sqrt2 * kDefaultJunctionIsat));
  const double pvbs = PnLimit(p * vbs, p * vbs_old_, vt0, vcrit);
  return {p * pvgs, p * pvds, p * pvbs};
}

void Bsim3::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  rd_.Stamp(ctx, gd_, h_[0]);
  rs_.Stamp(ctx, gs_, h_[10]);
  const double v[3] = {x[g_] - x[si_], x[di_] - x[si_], x[b_] - x[si_]};
  std::array<double, 3> vl;
  if (ctx.init_junctions) {
    vl = off_ ? std::array<double, 3>{0.0, 0.0, 0.0}
              : std::array<double, 3>{derived_.vth0, 0.0, 0.0};
  } else {
    vl = Limited(v[0], v[1], v[2]);
    if (Moved(vl[0], v[0]) || Moved(vl[1], v[1]) || Moved(vl[2], v[2])) ++ctx.limited;
  }
  vgs_old_ = vl[0];
  vds_old_ = vl[1];
  vbs_old_ = vl[2];
  using Jet = Jet3;
  const Out<Jet> o =
      Equations(card_jet_, derived_jet_, Jet(vl[0], 0), Jet(vl[1], 1), Jet(vl[2], 2), ctx.gmin);
  von_ = o.vth.a;
  const int nodes[4] = {di_, g_, si_, b_};
  StampFet(o.f, o.q, nodes, h_.data(), v, vl.data(), ctx);
}

// Card reading.

// Binning parameters: an l, w or p prefix on a parameter of kBinnable.
bool IsBinningParam(const std::string& key) {
  if (key.size() < 2 || (key[0] != 'l' && key[0] != 'w' && key[0] != 'p')) return false;
  for (std::string_view name : kBinnable) {
    if (key.substr(1) == name) return true;
  }
  return false;
}

// Resolves the defaults that depend on the type or on other parameters (b3set).
void ResolveDefaults(double type, std::array<bool, kNumParams>& given, Card<double>& c) {
  auto set = [&](const char* name, double value) {
    if (!given[IdxOf(name)]) c[IdxOf(name)] = value;
  };
  const bool mob3 = c[Idx("mobmod")] == 3.0;
  set("u0", type > 0.0 ? 0.067 : 0.025);
  set("uc", mob3 ? -0.0465 : -0.0465e-9);
  set("uc1", mob3 ? -0.056 : -0.056e-9);
  set("toxm", c[Idx("tox")]);
  set("dsub", c[Idx("drout")]);
  set("mjswg", c[Idx("mjsw")]);
  set("pbswg", c[Idx("pbsw")]);
  set("dlc", c[Idx("lint")]);
  set("dwc", c[Idx("wint")]);
  const double cox = kEpsOx / c[Idx("tox")];
  set("cf", 2.0 * kEpsOx / std::numbers::pi * std::log(1.0 + 0.4e-6 / c[Idx("tox")]));
  const bool dlc_pos = given[Idx("dlc")] && c[Idx("dlc")] > 0.0;
  set("cgso", dlc_pos ? c[Idx("dlc")] * cox - c[Idx("cgsl")] : 0.6 * c[Idx("xj")] * cox);
  set("cgdo", dlc_pos ? c[Idx("dlc")] * cox - c[Idx("cgdl")] : 0.6 * c[Idx("xj")] * cox);
  set("cgbo", 2.0 * c[Idx("dwc")] * cox);
  if (!given[Idx("nch")] && given[Idx("gamma1")]) {
    const double t0 = c[Idx("gamma1")] * cox;
    c[Idx("nch")] = 3.021e22 * t0 * t0;
  }
  if (given[Idx("k1")] != given[Idx("k2")]) {  // b3temp: the other takes its default
    set("k1", 0.53);
    set("k2", -0.0186);
  }
}
}  // namespace

bool IsBsim3Level(double level) { return level == 8.0 || level == 49.0; }

namespace {

// Reads and checks the card; reports each problem at the card.
bool ReadCard(const netlist::Model& card, Card<double>* c, std::array<bool, kNumParams>* given,
              Bins* bins, netlist::Diagnostics& diag) {
  bool ok = true;
  auto error = [&](const std::string& what, const std::string& hint = "") {
    diag.Error(card.loc, fmt::format("BSIM3 model '{}': {}", card.name, what), hint);
    ok = false;
  };
  const double type = card.type == "pmos" ? -1.0 : 1.0;
  for (int k = 0; k < kNumParams; ++k) (*c)[k] = kBsim3Params[k].default_value;
  given->fill(false);
  for (auto& b : *bins) b.fill(0.0);
  for (const auto& [raw_key, raw_value] : card.params) {
    std::string key = raw_key == "vtho" ? "vth0" : raw_key;
    if (key.size() > 2 && key.substr(1) == "vtho") key = key.substr(0, 1) + "vth0";
    double value = raw_value;
    if (!std::isfinite(value)) {
      error(fmt::format("{} is not finite", key));
      continue;
    }
    const int k = IdxOf(key);
    if (k < 0 && IsBinningParam(key)) {
      (*bins)[IdxOf(key.substr(1))][std::string("lwp").find(key[0])] = value;
      continue;
    }
    if (k < 0 || kBsim3Params[k].scope != ParamScope::kModel) {
      error(fmt::format("unknown parameter '{}'", raw_key),
            "see docs/devices/bsim3.md for the BSIM3 parameters");
      continue;
    }
    if (key == "nch" && value > 1e20) value *= 1e-6;    // given in 1/m^3
    if (key == "ngate" && value > 1e23) value *= 1e-6;  // given in 1/m^3
    const ParamInfo& row = kBsim3Params[k];
    if (row.log_scale && !(value > 0.0)) {
      error(fmt::format("{} must be > 0, got {}", key, base::FormatNumber(value)));
    } else if (value < row.lo || value > row.hi) {
      error(fmt::format("{} = {} is out of range [{}, {}]", key, base::FormatNumber(value),
                        base::FormatNumber(row.lo), base::FormatNumber(row.hi)));
    }
    (*c)[k] = value;
    (*given)[k] = true;
  }
  for (const auto& [key, text] : card.text_params) {
    if (key != "version")
      error(fmt::format("parameter '{}' must be a number, got '{}'", key, text));
  }
  const double capmod = (*c)[Idx("capmod")];
  if (capmod != 0.0 && capmod != 3.0) {
    error(fmt::format("capmod={} is not supported", base::FormatNumber(capmod)),
          "supported: capmod=3 (charge-thickness model, the default) and capmod=0 "
          "(long-channel charge model)");
  }
  if ((*c)[Idx("nqsmod")] != 0.0) error("nqsmod=1 is not supported", "use nqsmod=0");
  if (!ok) return false;
  ResolveDefaults(type, *given, *c);
  return true;
}

}  // namespace

std::unique_ptr<Device> CreateBsim3(const netlist::Element& element,
                                    const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  if (!CheckNodeCount(element, 4, diag)) return nullptr;
  const netlist::Model& card = netlist.models.at(element.model);
  Card<double> c;
  std::array<bool, kNumParams> given;
  Bins bins;
  if (!ReadCard(card, &c, &given, &bins, diag)) return nullptr;
  bool ok = CheckInstanceParams(element, kBsim3Params, diag);
  if (!ok) return nullptr;
  for (const auto& [key, value] : element.params) c[IdxOf(key)] = value;
  const double type = card.type == "pmos" ? -1.0 : 1.0;
  auto require = [&](bool cond, const std::string& what) {
    if (!cond) {
      diag.Error(element.loc, fmt::format("MOSFET '{}': {}", element.name, what));
      ok = false;
    }
  };
  for (const auto& [name, v] : element.params) {  // L, W, M, MULU0
    if (!kBsim3Params[IdxOf(name)].log_scale) continue;
    require(v > 0.0 && std::isfinite(v),
            fmt::format("{} must be > 0, got {}", name, base::FormatNumber(v)));
  }
  if (!ok) return nullptr;
  Card<double> binned = c;
  const Derived<double> d = Derive(&binned, bins, given, type, netlist.temp + kZeroCelsius);
  require(d.leff > 0.0 && d.weff > 0.0,
          fmt::format("effective channel length and width must be > 0, got Leff = {} and "
                      "Weff = {} (L, W less 2 LINT, 2 WINT and the LL..WWL terms)",
                      base::FormatNumber(d.leff), base::FormatNumber(d.weff)));
  require(!ok || (d.leffcv > 0.0 && d.weffcv > 0.0),
          "effective C-V channel length and width must be > 0 (L, W less 2 DLC, 2 DWC)");
  require(std::isfinite(d.phi) && d.phi > 0.0,
          fmt::format("nch = {} gives no surface potential (phi = {})",
                      base::FormatNumber(c[Idx("nch")]), base::FormatNumber(d.phi)));
  if (!ok) return nullptr;
  const double m = c[Idx("m")];
  const double rd = c[Idx("rsh")] * c[Idx("nrd")] / m, rs = c[Idx("rsh")] * c[Idx("nrs")] / m;
  const bool off = c[Idx("off")] != 0.0;
  return std::make_unique<Bsim3>(element, c, given, bins, type, rd, rs, off, netlist.temp);
}

}  // namespace memspice::devices
