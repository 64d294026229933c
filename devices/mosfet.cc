#include "devices/mosfet.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numbers>
#include <set>
#include <string_view>
#include <vector>

#include "devices/bsim3.h"
#include "devices/device_util.h"
#include "devices/fet_stamp.h"
#include "devices/junction.h"
#include "devices/mos_levels.h"

namespace memspice::devices {
namespace {

constexpr double kNiSi = 1.45e16;  // Si intrinsic carrier density at 300 K, 1/m^3

// Numeric fields in a fixed order: card parameters first, then instance parameters.
constexpr const char* kFieldNames[] = {
    "vto",    "kp",   "gamma", "phi", "lambda", "is",    "js",   "pb",   "cj", "mj",    "cjsw",
    "mjsw",   "fc",   "cbd",   "cbs", "cgso",   "cgdo",  "cgbo", "ld",   "uo", "theta", "eta",
    "kappa",  "vmax", "nfs",   "xj",  "delta",  "ucrit", "uexp", "neff", "xl", "wd",    "xw",
    "delvto", "w",    "l",     "ad",  "as",     "pd",    "ps",   "m"};
constexpr int kNumFields = sizeof(kFieldNames) / sizeof(kFieldNames[0]);
constexpr int kFirstInstanceField = 34;
static_assert(std::string_view(kFieldNames[kFirstInstanceField]) == "w");

template <typename T>
std::array<T*, kNumFields> Fields(MosModelT<T>& m) {
  return {&m.vto,   &m.kp,   &m.gamma, &m.phi, &m.lambda, &m.is,   &m.js,     &m.pb,   &m.cj,
          &m.mj,    &m.cjsw, &m.mjsw,  &m.fc,  &m.cbd,    &m.cbs,  &m.cgso,   &m.cgdo, &m.cgbo,
          &m.ld,    &m.uo,   &m.theta, &m.eta, &m.kappa,  &m.vmax, &m.nfs,    &m.xj,   &m.delta,
          &m.ucrit, &m.uexp, &m.neff,  &m.xl,  &m.wd,     &m.xw,   &m.delvto, &m.w,    &m.l,
          &m.ad,    &m.as,   &m.pd,    &m.ps,  &m.m};
}

// Effective channel length and width (XL, WD, XW: level 3 only, else 0).
template <typename T>
T EffectiveLength(const MosModelT<T>& m) {
  return m.l - 2.0 * m.ld + m.xl;
}
template <typename T>
T EffectiveWidth(const MosModelT<T>& m) {
  return m.w - 2.0 * m.wd + m.xw;
}

// SPICE2's process-based threshold at TNOM (kelvin) from the gate's work function (TPG: +1 a
// gate doped opposite to the substrate, -1 the same, 0 aluminium), the surface states NSS and
// the Fermi potentials (docs/devices/mosfet.md):
//   phi_ms = Wg - (chi + Eg/2 + p PHI/2),  Wg = 3.2 V (TPG = 0), else chi + Eg/2 - p TPG Eg/2
//   VTO = phi_ms - q NSS / COX + p (GAMMA sqrt(PHI) + PHI)
template <typename T>
T ProcessThreshold(const MosModelT<T>& m, double tnom) {
  using std::sqrt;
  constexpr double kAluminiumGate = 3.2;  // aluminium gate's work function less chi, V (SPICE2)
  constexpr double kSiAffinity = 3.25;    // silicon's electron affinity chi as SPICE2 takes it, V
  constexpr double kCm2ToM2 = 1e4;        // NSS in 1/cm^2
  const double p = m.type, half_gap = 0.5 * SiliconGap(tnom);
  const double gate_work =
      m.tpg == 0.0 ? kAluminiumGate : kSiAffinity + half_gap - p * m.tpg * half_gap;
  const T phi_ms = gate_work - (kSiAffinity + half_gap + 0.5 * p * m.phi);
  const T vfb = phi_ms - m.nss * kCm2ToM2 * kCharge / m.cox;
  return vfb + p * (m.gamma * sqrt(m.phi) + m.phi);
}

int FieldIndex(const std::string& name) {
  for (int k = 0; k < kNumFields; ++k) {
    if (name == kFieldNames[k]) return k;
  }
  return -1;
}

// Terminal quantities in the order (d, g, s, b); d and s are the internal nodes.
template <typename T>
struct MosOut {
  T f[4];
  T q[4];
  T cap[3];  // Meyer's Cgs, Cgd, Cgb (F)
};

// Meyer's gate capacitances (full values, F) of the side with the higher gate drive (`own`: the
// source in normal mode), the other side and the bulk, at vgst = vg - von and vds >= 0 of the
// current mode (mosfet.h).
template <typename T>
struct MeyerCaps {
  T own, other, bulk;
};

template <typename T, typename P>
MeyerCaps<T> Meyer(const T& vgst, const T& vdsat_in, const T& vds, const P& phi, const P& cox) {
  // Floor of the saturation voltage in the capacitance split, V (as ngspice's DEVqmeyer).
  constexpr double kMinVdsat = 0.025;
  MeyerCaps<T> c{T(0.0), T(0.0), T(0.0)};
  if (vgst <= -phi) {
    c.bulk = T(cox);
    return c;
  }
  if (vgst <= -0.5 * phi) {
    c.bulk = -vgst * cox / phi;
    return c;
  }
  T full;  // the own side's capacitance in saturation
  if (vgst <= 0.0) {
    c.bulk = -vgst * cox / phi;
    full = (2.0 / 3.0) * cox * (1.0 + 2.0 * vgst / phi);
  } else {
    full = T((2.0 / 3.0) * cox);
  }
  const T vdsat = vdsat_in > kMinVdsat ? vdsat_in : T(kMinVdsat);
  if (vds >= vdsat) {
    c.own = full;
    return c;
  }
  const T a = 2.0 * vdsat - vds, b = vdsat - vds;
  c.own = full * (1.0 - b * b / (a * a));
  c.other = full * (1.0 - vdsat * vdsat / (a * a));
  return c;
}

template <typename T, typename P>
T JunctionCharge(const T& v, const P& bottom, const P& sidewall, const MosModelT<P>& m) {
  // The charge is linear in the zero-bias capacitance: one evaluation for equal gradings.
  if (Value(m.mj) == Value(m.mjsw)) {
    return DepletionCharge(v, P(bottom + sidewall), m.pb, m.mj, m.fc);
  }
  T q(0.0);
  if (Value(bottom) != 0.0) q += DepletionCharge(v, bottom, m.pb, m.mj, m.fc);
  if (Value(sidewall) != 0.0) q += DepletionCharge(v, sidewall, m.pb, m.mjsw, m.fc);
  return q;
}

// Shichman-Hodges (level 1) in the current mode's p-space voltages (mosfet.h); vdsat = vg - von.
template <typename T, typename P>
MosChannel<T> Level1Channel(const MosModelT<P>& m, const P& beta, const T& vg, const T& vd,
                            const T& vb) {
  using std::sqrt;
  const P sqphi = sqrt(m.phi);
  T sarg;
  if (vb <= 0.0) {
    sarg = sqrt(m.phi - vb);
  } else {
    sarg = sqphi - vb / (2.0 * sqphi);
    if (sarg < 0.0) sarg = T(0.0);
  }
  const T von = m.type * m.vto + m.gamma * (sarg - sqphi);
  const T vgst = vg - von;
  T id(0.0);
  if (vgst > 0.0) {
    const T betap = beta * (1.0 + m.lambda * vd);
    id = vgst <= vd ? T(0.5 * betap * vgst * vgst) : T(betap * vd * (vgst - 0.5 * vd));
  }
  return {id, von, vgst};
}

// The level 2/3 channel inputs as T (a Jet when the voltages are) from parameters P.
template <typename T, typename P>
MosLevelInputs<T> LevelInputs(const MosModelT<P>& m, const P& leff) {
  using std::sqrt;
  constexpr double kCm2ToM2 = 1e-4;  // UO in cm^2/Vs
  return {.vbi = T(m.type * (m.vto + m.delvto) - m.gamma * sqrt(m.phi)),
          .phi = T(m.phi),
          .gamma = T(m.gamma),
          .beta = T(m.kp * m.m * EffectiveWidth(m) / leff),
          .uo = T(m.uo * kCm2ToM2),
          .leff = T(leff),
          .w = T(EffectiveWidth(m)),
          .m = T(m.m),
          .cox = T(m.cox),
          .ld = T(m.ld),
          .pb = T(m.pb),
          .alpha = T(m.alpha),
          .vmax = T(m.vmax),
          .nfs = T(m.nfs),
          .xj = T(m.xj),
          .delta = T(m.delta),
          .lambda = T(m.lambda),
          .ucrit = T(m.ucrit),
          .uexp = T(m.uexp),
          .neff = T(m.neff),
          .theta = T(m.theta),
          .eta = T(m.eta),
          .kappa = T(m.kappa)};
}

// The device equations at terminal voltages vgs, vds, vbs (real orientation). T (voltages and
// results) and P (parameters) are double, a Jet, or P = double and T a Jet (voltage partials only).
template <typename T, typename P>
MosOut<T> Equations(const MosModelT<P>& m, const T& vgs_in, const T& vds_in, const T& vbs_in,
                    double vt, double gmin) {
  using std::sqrt;
  const double p = m.type;
  const T vgs = p * vgs_in, vds = p * vds_in, vbs = p * vbs_in;
  const T vbd = vbs - vds, vgd = vgs - vds;
  const P leff = EffectiveLength(m), weff = EffectiveWidth(m);
  const P beta = m.kp * m.m * weff / leff;
  const bool normal = Value(vds) >= 0.0;
  const T vg = normal ? vgs : vgd, vd = normal ? vds : T(-vds), vb = normal ? vbs : vbd;
  const MosChannel<T> ch = m.level == 3   ? Mos3Channel(LevelInputs<T>(m, leff), vg, vd, vb, vt)
                           : m.level == 2 ? Mos2Channel(LevelInputs<T>(m, leff), vg, vd, vb, vt)
                                          : Level1Channel(m, beta, vg, vd, vb);
  const T& id = ch.id;
  const T ich = normal ? id : T(-id);
  const P isd = (Value(m.js) > 0.0 && Value(m.ad) > 0.0) ? P(m.js * m.ad * m.m) : P(m.is * m.m);
  const P iss = (Value(m.js) > 0.0 && Value(m.as) > 0.0) ? P(m.js * m.as * m.m) : P(m.is * m.m);
  const T ibd = JunctionCurrent(vbd, isd, vt) + gmin * vbd;
  const T ibs = JunctionCurrent(vbs, iss, vt) + gmin * vbs;
  // Meyer capacitances (the charges below hold only the overlaps and junctions).
  const MeyerCaps<T> mc = Meyer(T(vg - ch.von), ch.vdsat, vd, m.phi, P(m.cox * weff * leff * m.m));
  const T qgs_ov = m.cgso * weff * m.m * vgs, qgd_ov = m.cgdo * weff * m.m * vgd;
  const T qgb_ov = m.cgbo * leff * m.m * (vgs - vbs);
  const P cbd = Value(m.cbd) > 0.0 ? P(m.cbd * m.m) : P(m.cj * m.ad * m.m);
  const P cbs = Value(m.cbs) > 0.0 ? P(m.cbs * m.m) : P(m.cj * m.as * m.m);
  const T qbd = JunctionCharge(vbd, cbd, P(m.cjsw * m.pd * m.m), m);
  const T qbs = JunctionCharge(vbs, cbs, P(m.cjsw * m.ps * m.m), m);
  MosOut<T> out;
  out.f[0] = p * (ich - ibd);
  out.f[1] = T(0.0);
  out.f[2] = p * (-ich - ibs);
  out.f[3] = p * (ibd + ibs);
  out.q[0] = p * (-qgd_ov - qbd);
  out.q[1] = p * (qgs_ov + qgd_ov + qgb_ov);
  out.q[2] = p * (-qgs_ov - qbs);
  out.q[3] = p * (-qgb_ov + qbd + qbs);
  out.cap[0] = normal ? mc.own : mc.other;
  out.cap[1] = normal ? mc.other : mc.own;
  out.cap[2] = mc.bulk;
  return out;
}

// The card's values at `temp` from those at `tnom` (kelvin; mosfet.h and junction.h).
template <typename T>
MosModelT<T> AtTemperature(MosModelT<T> m, double tnom, double temp) {
  using std::sqrt;
  if (temp == tnom) return m;
  const double ratio = temp / tnom;
  const double gap = SiliconGap(temp), gap_nom = SiliconGap(tnom);
  m.kp = m.kp / (ratio * std::sqrt(ratio));
  if (m.level == 3) m.uo = m.uo / (ratio * std::sqrt(ratio));  // ngspice's mos2 keeps UO
  const T phi = (temp / kRefKelvin) * (m.phi - PotentialShift(tnom)) / (tnom / kRefKelvin) +
                PotentialShift(temp);
  m.vto = m.vto + m.type * m.gamma * (sqrt(phi) - sqrt(m.phi)) + 0.5 * (gap_nom - gap) +
          m.type * 0.5 * (phi - m.phi);
  m.phi = phi;
  const double sat = std::exp(gap_nom / ThermalVoltageK(tnom) - gap / ThermalVoltageK(temp));
  m.is = m.is * sat;
  m.js = m.js * sat;
  T bottom, side;
  JunctionPotentialAt(m.pb, m.mjsw, tnom, temp, &side);
  m.pb = JunctionPotentialAt(m.pb, m.mj, tnom, temp, &bottom);
  m.cj = m.cj * bottom;
  m.cbd = m.cbd * bottom;
  m.cbs = m.cbs * bottom;
  m.cjsw = m.cjsw * side;
  return m;
}

template <typename T>
MosModelT<T> Promote(const MosModel& m) {
  MosModelT<T> out;
  MosModel copy = m;
  auto from = Fields(copy);
  auto to = Fields(out);
  for (int k = 0; k < kNumFields; ++k) *to[k] = T(*from[k]);
  out.type = m.type;
  out.level = m.level;
  out.cox = T(m.cox);
  out.alpha = T(m.alpha);
  out.process_vto = m.process_vto;
  out.tpg = m.tpg;
  out.nss = m.nss;
  return out;
}

}  // namespace

Mosfet::Mosfet(const netlist::Element& element, const MosModel& model, double tnom, double rd,
               double rs, bool off, double temp_celsius)
    : Device(element.name, element.loc),
      nd_(element.nodes[0]),
      ng_(element.nodes[1]),
      ns_(element.nodes[2]),
      nb_(element.nodes[3]),
      card_(model),
      tnom_(tnom),
      inst_temp_(InstanceTemp::From(element)),
      gd_(rd > 0.0 ? 1.0 / rd : 0.0),
      gs_(rs > 0.0 ? 1.0 / rs : 0.0),
      off_(off),
      meyer_scale_(Value(model.cox * EffectiveWidth(model) * EffectiveLength(model) * model.m)) {
  SetAnalysis(AnalysisInfo{0.0, 0.0, temp_celsius});
}

void Mosfet::SetAnalysis(const AnalysisInfo& info) {
  kelvin_ = inst_temp_.Kelvin(info.temp);
  vt_ = ThermalVoltageK(kelvin_);
  model_ = AtTemperature(card_, tnom_, kelvin_);
  vcrit_ = vt_ * std::log(vt_ / (std::numbers::sqrt2 * model_.is * model_.m));
  last_.valid = false;
}

void Mosfet::InitialState(double* x) const {
  SetTerminalVoltages(s_, {d_, g_, b_}, ic_, {{di_, d_}, {si_, s_}}, x);  // vds, vgs, vbs
}

void Mosfet::Setup(SetupContext& ctx) {
  d_ = ctx.Node(nd_);
  g_ = ctx.Node(ng_);
  s_ = ctx.Node(ns_);
  b_ = ctx.Node(nb_);
  di_ = gd_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#drain)", UnknownKind::kNode) : d_;
  si_ = gs_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#source)", UnknownKind::kNode) : s_;
  if (meyer_scale_ <= 0.0) return;
  static constexpr const char* kTags[3] = {"#cgs", "#cgd", "#cgb"};
  for (int k = 0; k < 3; ++k) rate_[k] = ctx.AddUnknown(name() + kTags[k], UnknownKind::kState);
}

void Mosfet::Bind(BindContext& ctx) {
  const int nodes[4] = {di_, g_, si_, b_};
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) h_[4 * r + c] = ctx.Entry(nodes[r], nodes[c]);
  }
  rd_.Bind(ctx, d_, di_);
  rs_.Bind(ctx, s_, si_);
  if (meyer_scale_ <= 0.0) return;
  for (int k = 0; k < 3; ++k) {
    const int other = nodes[kMeyerTerminal[k]];
    meyer_h_[k] = {ctx.Entry(g_, rate_[k]), ctx.Entry(other, rate_[k]),
                   ctx.Entry(rate_[k], rate_[k]), ctx.Entry(rate_[k], g_),
                   ctx.Entry(rate_[k], other)};
  }
}

void Mosfet::StampMeyer(EvalContext& ctx, const Jet3* cap, const double* dv, FetBlock* block) {
  const int nodes[4] = {di_, g_, si_, b_};
  const double* x = ctx.x;
  const double inv_scale = 1.0 / meyer_scale_;
  for (int k = 0; k < 3; ++k) {
    const int t = kMeyerTerminal[k];
    const double r = x[rate_[k]];
    // Capacitance over the scale, linearised at the limited point (as the other outputs).
    const double frac =
        (cap[k].a + cap[k].v[0] * dv[0] + cap[k].v[1] * dv[1] + cap[k].v[2] * dv[2]) * inv_scale;
    const double d[4] = {cap[k].v[1], cap[k].v[0], -(cap[k].v[0] + cap[k].v[1] + cap[k].v[2]),
                         cap[k].v[2]};
    block->f[1] += frac * r;
    block->f[t] -= frac * r;
    for (int c = 0; c < 4; ++c) {
      const double gc = d[c] * r * inv_scale;
      block->g[4 * 1 + c] += gc;
      block->g[4 * t + c] -= gc;
    }
    const auto& h = meyer_h_[k];
    ctx.G[h[0]] += frac;
    ctx.G[h[1]] -= frac;
    // Rate row: r - scale d(vg - v_other)/dt = 0.
    ctx.f[rate_[k]] += r;
    ctx.G[h[2]] += 1.0;
    ctx.q[rate_[k]] -= meyer_scale_ * (x[g_] - x[nodes[t]]);
    ctx.C[h[3]] -= meyer_scale_;
    ctx.C[h[4]] += meyer_scale_;
  }
}

std::array<double, 3> Mosfet::Limited(double vgs, double vds, double vbs) const {
  const double p = model_.type;
  const double von = p * model_.vto;
  double pvgs = FetLimit(p * vgs, p * vgs_old_, von);
  const double pvds = ModeVdsLimit(p * vds, p * vds_old_);
  const double pvbs = PnLimit(p * vbs, p * vbs_old_, vt_, vcrit_);
  return {p * pvgs, p * pvds, p * pvbs};
}

bool Mosfet::CanBypass(const double* v, const BypassTolerances& tol) const {
  const double* vl = last_.vl.data();
  auto small = [&](double now, double then) {
    return std::abs(now - then) < tol.reltol * std::max(std::abs(now), std::abs(then)) + tol.vntol;
  };
  if (!small(v[2], vl[2]) || !small(v[2] - v[1], vl[2] - vl[1]) || !small(v[0], vl[0]) ||
      !small(v[1], vl[1])) {
    return false;
  }
  // Currents the linearisation predicts at v (ngspice's cdhat, cbhat).
  auto predicted = [&](const Jet3& i) {
    return i.a + i.v[0] * (v[0] - vl[0]) + i.v[1] * (v[1] - vl[1]) + i.v[2] * (v[2] - vl[2]);
  };
  const double id = last_.f[0].a, ib = last_.f[3].a;
  const double id_hat = predicted(last_.f[0]), ib_hat = predicted(last_.f[3]);
  return std::abs(id_hat - id) <
             tol.reltol * std::max(std::abs(id_hat), std::abs(id)) + tol.abstol &&
         std::abs(ib_hat - ib) <
             tol.reltol * (std::max(std::abs(ib_hat), std::abs(ib)) + tol.abstol);
}

void Mosfet::Stamp(EvalContext& ctx, const double* v) {
  const double* vl = last_.vl.data();
  const int nodes[4] = {di_, g_, si_, b_};
  FetBlock block;
  LinearizeFet(last_.f, last_.q, v, vl, &block);
  if (meyer_scale_ > 0.0) {
    const double dv[3] = {v[0] - vl[0], v[1] - vl[1], v[2] - vl[2]};
    StampMeyer(ctx, last_.cap, dv, &block);
  }
  block.AddTo(nodes, h_.data(), ctx);
}

void Mosfet::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  rd_.Stamp(ctx, gd_, h_[0]);
  rs_.Stamp(ctx, gs_, h_[10]);
  const double v[3] = {x[g_] - x[si_], x[di_] - x[si_], x[b_] - x[si_]};
  if (ctx.bypass != nullptr && last_.valid && !ctx.init_junctions && CanBypass(v, *ctx.bypass)) {
    Stamp(ctx, v);
    return;
  }
  std::array<double, 3> vl;
  if (ctx.init_junctions) {
    const double p = model_.type;
    vl = off_ ? std::array<double, 3>{0.0, 0.0, 0.0}
              : std::array<double, 3>{model_.vto, 0.0, -p * 1.0};
  } else {
    vl = Limited(v[0], v[1], v[2]);
    if (Moved(vl[0], v[0]) || Moved(vl[1], v[1]) || Moved(vl[2], v[2])) ++ctx.limited;
  }
  vgs_old_ = vl[0];
  vds_old_ = vl[1];
  vbs_old_ = vl[2];
  const MosOut<Jet3> o =
      Equations(model_, Jet3(vl[0], 0), Jet3(vl[1], 1), Jet3(vl[2], 2), vt_, ctx.gmin);
  std::copy(o.f, o.f + 4, last_.f);
  std::copy(o.q, o.q + 4, last_.q);
  std::copy(o.cap, o.cap + 3, last_.cap);
  last_.vl = vl;
  last_.valid = true;
  Stamp(ctx, v);
}

int Mosfet::ParamHandle(const std::string& key, bool model_card) const {
  static const char* kCard[] = {"vto",   "kp",  "gamma", "phi",  "lambda", "cgso", "cgdo",
                                "theta", "eta", "kappa", "vmax", "ucrit",  "uexp", "neff"};
  static const char* kInstance[] = {"w", "l"};
  if (model_card) {
    for (const char* k : kCard) {
      if (key == k) return FieldIndex(key);
    }
  } else {
    for (const char* k : kInstance) {
      if (key == k) return FieldIndex(key);
    }
  }
  return kNoParamPartial;
}

void Mosfet::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  MosModelT<Dual> card = Promote<Dual>(card_);
  Fields(card)[handle]->v[0] = 1.0;
  // A computed VTO follows PHI and GAMMA (giving VTO itself replaces the computed value).
  if (card.process_vto && handle != FieldIndex("vto")) card.vto = ProcessThreshold(card, tnom_);
  const MosModelT<Dual> m = AtTemperature(card, tnom_, kelvin_);
  const double* x = ctx.x;
  const MosOut<Dual> o = Equations(m, Dual(x[g_] - x[si_]), Dual(x[di_] - x[si_]),
                                   Dual(x[b_] - x[si_]), vt_, ctx.gmin);
  const int nodes[4] = {di_, g_, si_, b_};
  for (int r = 0; r < 4; ++r) out.Add(nodes[r], o.f[r].v[0], o.q[r].v[0]);
  if (meyer_scale_ <= 0.0) return;
  // The scale follows W, L, M: the rate rows' charges and the capacitance fractions move with it.
  const Dual scale = card.cox * EffectiveWidth(card) * EffectiveLength(card) * card.m;
  for (int k = 0; k < 3; ++k) {
    const int other = nodes[kMeyerTerminal[k]];
    const double dfrac = (o.cap[k].v[0] - o.cap[k].a * scale.v[0] / meyer_scale_) / meyer_scale_;
    const double di = dfrac * x[rate_[k]];
    out.Add(g_, di, 0.0);
    out.Add(other, -di, 0.0);
    out.Add(rate_[k], 0.0, -scale.v[0] * (x[g_] - x[other]));
  }
}

namespace {

// Whether `key` belongs to a card of `level` (the keys not listed belong to every level).
bool KeyAtLevel(const std::string& key, int level) {
  static const std::map<std::string, std::vector<int>> kLevelKeys = {
      {"lambda", {1, 2}}, {"theta", {3}}, {"eta", {3}},  {"kappa", {3}}, {"vmax", {2, 3}},
      {"delta", {2, 3}},  {"ucrit", {2}}, {"uexp", {2}}, {"utra", {2}},  {"neff", {2}},
      {"xl", {3}},        {"wd", {3}},    {"xw", {3}},   {"delvto", {3}}};
  auto it = kLevelKeys.find(key);
  return it == kLevelKeys.end() || std::ranges::find(it->second, level) != it->second.end();
}

// The parameters a card of `level` takes, for the hint of an unknown key.
const char* LevelKeys(int level) {
  switch (level) {
    case 2:
      return "level 2 parameters: vto kp gamma phi lambda ucrit uexp utra vmax neff delta nfs xj "
             "uo tox nsub ld rd rs rsh cbd cbs is js pb cj mj cjsw mjsw fc cgso cgdo cgbo tnom nss "
             "tpg kf af";
    case 3:
      return "level 3 parameters: vto kp gamma phi theta eta kappa vmax delta nfs xj uo tox nsub "
             "ld xl wd xw delvto rd rs rsh cbd cbs is js pb cj mj cjsw mjsw fc cgso cgdo cgbo tnom "
             "nss tpg kf af";
    default:
      return "level 1 parameters: vto kp gamma phi lambda rd rs rsh cbd cbs is js pb cj mj cjsw "
             "mjsw fc cgso cgdo cgbo tox uo ld nsub nss tpg tnom kf af";
  }
}

// Reads the card's level (1, 2 or 3; BSIM3 levels never reach here); 0 after an error.
int ReadLevel(const netlist::Model& card,
              const std::function<void(const std::string&, const std::string&)>& error) {
  auto it = card.params.find("level");
  const double level = it == card.params.end() ? 1.0 : it->second;
  if (level == 1.0 || level == 2.0 || level == 3.0) return static_cast<int>(level);
  error(fmt::format("level={} is not supported", level),
        "supported: level=1 (Shichman-Hodges), 2 (Grove-Frohman), 3 (semi-empirical), 8 or 49 "
        "(BSIM3v3.3)");
  return 0;
}

// Intrinsic carrier density (1/m^3) at `kelvin`, scaled from kNiSi at 300 K as ngspice's mos3
// does for PHI (its level 1 takes kNiSi at any TNOM).
double IntrinsicDensity(double kelvin) {
  constexpr double kNiKelvin = 300.0;  // temperature of kNiSi, K
  const double r = kelvin / kNiKelvin;
  return kNiSi * r * std::sqrt(r) *
         std::exp(0.5 * SiliconGap(kelvin) * (1.0 / kNiKelvin - 1.0 / kelvin) /
                  ThermalVoltageK(1.0));
}

// Process parameters: COX from TOX, KP from UO, PHI, GAMMA and ALPHA from NSUB.
void ApplyProcess(double tox, double nsub, double tnom, const std::set<std::string>& given,
                  MosModel* m, const std::function<void(const std::string&)>& error) {
  // Levels 2 and 3 divide by COX; level 1 takes TOX = 0 as no oxide capacitance.
  if (tox < 0.0 || (tox == 0.0 && m->level != 1)) {
    error(fmt::format("tox must be > 0, got {}", tox));
  }
  if (!(tox > 0.0)) return;
  m->cox = kEpsOx / tox;
  if (!given.contains("kp")) m->kp = m->uo * 1e-4 * m->cox;  // uo in cm^2/Vs
  if (!(nsub > 0.0)) return;
  const double vt = ThermalVoltageK(tnom);
  const double n = nsub * 1e6;  // 1/cm^3 -> 1/m^3
  const double ni = m->level == 3 ? IntrinsicDensity(tnom) : kNiSi;
  if (!(n > ni)) {
    error(fmt::format("nsub must exceed the intrinsic density {:.4g} /cm^3, got {}", ni * 1e-6,
                      nsub));
    return;
  }
  constexpr double kMinPhi = 0.1;  // floor of the computed surface potential, V (as SPICE)
  if (!given.contains("phi")) m->phi = std::max(kMinPhi, 2.0 * vt * std::log(n / ni));
  if (!given.contains("gamma")) m->gamma = std::sqrt(2.0 * kEpsSi * kCharge * n) / m->cox;
  m->alpha = 2.0 * kEpsSi / (kCharge * n);
  if (!given.contains("vto")) {
    m->process_vto = true;
    m->vto = ProcessThreshold(*m, tnom);
  }
}

// Range checks of the card's values.
void CheckCard(const MosModel& m, double rd, double rs, double rsh,
               const std::function<void(const std::string&, const std::string&)>& error) {
  auto require = [&](bool cond, const std::string& what) {
    if (!cond) error(what, "");
  };
  require(m.kp > 0.0, fmt::format("kp must be > 0, got {}", m.kp));
  require(m.phi > 0.0, fmt::format("phi must be > 0, got {}", m.phi));
  require(m.uo > 0.0, fmt::format("uo must be > 0, got {}", m.uo));
  require(m.gamma >= 0.0, fmt::format("gamma must be >= 0, got {}", m.gamma));
  require(m.lambda >= 0.0, fmt::format("lambda must be >= 0, got {}", m.lambda));
  require(m.pb > 0.0, fmt::format("pb must be > 0, got {}", m.pb));
  require(m.fc >= 0.0 && m.fc < 1.0, fmt::format("fc must be in [0, 1), got {}", m.fc));
  require(m.is > 0.0, fmt::format("is must be > 0, got {}", m.is));
  for (double v : {m.cj, m.cjsw, m.cbd, m.cbs, m.cgso, m.cgdo, m.cgbo, m.js, m.ld}) {
    require(v >= 0.0, "capacitances, js and ld must be >= 0");
  }
  for (double v : {m.theta, m.eta, m.kappa, m.vmax, m.nfs, m.xj}) {
    require(v >= 0.0, "theta, eta, kappa, vmax, nfs and xj must be >= 0");
  }
  require(m.ucrit > 0.0 && m.neff > 0.0 && m.uexp >= 0.0, "ucrit and neff must be > 0, uexp >= 0");
  for (double v : {rd, rs, rsh}) require(v >= 0.0, "rd, rs and rsh must be >= 0");
}

// Reads the card into `m` and the series resistances; reports every problem at the card.
bool ReadCard(const netlist::Model& card, double tnom, MosModel* m, double* rd, double* rs,
              double* rsh, netlist::Diagnostics& diag) {
  bool ok = true;
  auto error = [&](const std::string& what, const std::string& hint = "") {
    diag.Error(card.loc, fmt::format("MOSFET model '{}': {}", card.name, what), hint);
    ok = false;
  };
  m->type = card.type == "pmos" ? -1.0 : 1.0;
  m->level = ReadLevel(card, error);
  if (m->level == 0) return false;
  // Levels 2 and 3's defaults that differ from level 1's (as ngspice's mos2 and mos3).
  constexpr double kTox = 1e-7, kMjsw = 0.33;  // m, 1
  double tox = m->level != 1 ? kTox : 0.0, nsub = 0.0;
  if (m->level != 1) m->mjsw = kMjsw;
  auto fields = Fields(*m);
  std::set<std::string> given;
  for (const auto& [key, value] : card.params) {
    if (!std::isfinite(value)) error(fmt::format("{} is not finite", key));
    const std::string name = key == "vt0"      ? "vto"
                             : key == "u0"     ? "uo"
                             : key == "delvt0" ? "delvto"
                                               : key;
    const int k = FieldIndex(name);
    given.insert(name);
    if (!KeyAtLevel(name, m->level)) {
      error(fmt::format("'{}' is not a level {} parameter", key, m->level), LevelKeys(m->level));
    } else if (k >= 0 && k < kFirstInstanceField) {
      *fields[k] = value;
    } else if (name == "rd" || name == "rs" || name == "rsh") {
      *(name == "rd" ? rd : name == "rs" ? rs : rsh) = value;
    } else if (name == "tox") {
      tox = value;
    } else if (name == "nsub") {
      nsub = value;
    } else if (name == "nss") {
      m->nss = value;
    } else if (name == "tpg") {
      m->tpg = value;
      if (value != -1.0 && value != 0.0 && value != 1.0) {
        error(fmt::format("tpg must be -1, 0 or 1, got {}", value),
              "+1: gate doped opposite to the substrate, -1: the same, 0: aluminium gate");
      }
    } else if (name == "level" || name == "tnom") {
      // Read by ReadLevel and NominalKelvin.
    } else if (name != "kf" && name != "af" && name != "utra") {
      // kf, af (noise) and utra (unused by SPICE2's level 2 as by ngspice's) have no effect
      // here.
      error(fmt::format("unknown parameter '{}'", key), LevelKeys(m->level));
    }
  }
  ApplyProcess(tox, nsub, tnom, given, m, [&](const std::string& what) { error(what); });
  CheckCard(*m, *rd, *rs, *rsh, error);
  return ok;
}

}  // namespace

void MosfetTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  if (n.size() < 4) return;
  for (auto [a, b] : {std::pair{0, 2}, {0, 3}, {2, 3}}) {
    out->any.emplace_back(n[a], n[b]);
    out->dc.emplace_back(n[a], n[b]);
  }
  out->any.emplace_back(n[1], n[2]);
}

std::unique_ptr<Device> CreateMosfet(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  // Level dispatch: BSIM3 (level 8 / 49) cards go to devices/bsim3.
  if (auto card = netlist.models.find(element.model); card != netlist.models.end()) {
    auto level = card->second.params.find("level");
    if (level != card->second.params.end() && IsBsim3Level(level->second)) {
      return CreateBsim3(element, netlist, diag);
    }
  }

  bool ok = CheckNodeCount(element, 4, diag);
  ok = CheckParamNames(
           element, element.params,
           {"l", "w", "ad", "as", "pd", "ps", "nrd", "nrs", "m", "off", "area", "temp", "dtemp"},
           diag) &&
       ok;
  if (!ok) return nullptr;
  auto it = netlist.models.find(element.model);
  if (element.model.empty() || it == netlist.models.end()) {
    diag.Error(element.loc, fmt::format("MOSFET '{}' names no known model", element.name),
               "e.g. M1 d g s b nch W=10u L=1u with .model nch NMOS (vto=0.7 kp=110u)");
    return nullptr;
  }
  const netlist::Model& card = it->second;
  MosModel m;
  double rd = 0.0, rs = 0.0, rsh = 0.0;
  const double tnom = NominalKelvin(card, netlist);
  if (!ReadCard(card, tnom, &m, &rd, &rs, &rsh, diag)) return nullptr;
  auto fields = Fields(m);
  for (const auto& [key, value] : element.params) {
    const int k = FieldIndex(key);
    if (k >= kFirstInstanceField) *fields[k] = value;
  }
  auto require = [&](bool cond, const std::string& what) {
    if (!cond) {
      diag.Error(element.loc, fmt::format("MOSFET '{}': {}", element.name, what));
      ok = false;
    }
  };
  require(m.w > 0.0 && std::isfinite(m.w), fmt::format("W must be > 0, got {}", m.w));
  require(EffectiveLength(m) > 0.0 && std::isfinite(m.l),
          fmt::format("L - 2 LD + XL must be > 0, got L = {}, LD = {}, XL = {}", m.l, m.ld, m.xl));
  require(EffectiveWidth(m) > 0.0,
          fmt::format("W - 2 WD + XW must be > 0, got W = {}, WD = {}, XW = {}", m.w, m.wd, m.xw));
  require(m.m > 0.0 && std::isfinite(m.m), fmt::format("M must be > 0, got {}", m.m));
  for (double v : {m.ad, m.as, m.pd, m.ps}) require(v >= 0.0, "AD, AS, PD, PS must be >= 0");
  if (!ok) return nullptr;
  // Series resistances: RD/RS of the card, else RSH times the number of squares.
  if (rd == 0.0) rd = rsh * ParamOr(element.params, "nrd", 1.0);
  if (rs == 0.0) rs = rsh * ParamOr(element.params, "nrs", 1.0);
  const bool off = ParamOr(element.params, "off", 0.0) != 0.0;
  auto mosfet = std::make_unique<Mosfet>(element, m, tnom, rd / m.m, rs / m.m, off, netlist.temp);
  mosfet->set_ic(element.ic);
  return mosfet;
}

}  // namespace memspice::devices
