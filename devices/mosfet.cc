#include "devices/mosfet.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "devices/bsim3.h"
#include "devices/device_util.h"
#include "devices/fet_stamp.h"
#include "devices/junction.h"

namespace memspice::devices {
namespace {

constexpr double kEpsOx = 3.9 * 8.854214871e-12;   // SiO2 permittivity, F/m
constexpr double kEpsSi = 11.7 * 8.854214871e-12;  // Si permittivity, F/m
constexpr double kNiSi = 1.45e16;                  // Si intrinsic carrier density at 300 K, 1/m^3

// Numeric fields in a fixed order: card parameters first, then instance parameters.
constexpr const char* kFieldNames[] = {
    "vto", "kp",  "gamma", "phi",  "lambda", "is", "js", "pb", "cj", "mj", "cjsw", "mjsw", "fc",
    "cbd", "cbs", "cgso",  "cgdo", "cgbo",   "ld", "w",  "l",  "ad", "as", "pd",   "ps",   "m"};
constexpr int kNumFields = sizeof(kFieldNames) / sizeof(kFieldNames[0]);
constexpr int kFirstInstanceField = 19;  // "w"

template <typename T>
std::array<T*, kNumFields> Fields(MosModelT<T>& m) {
  return {&m.vto, &m.kp,   &m.gamma, &m.phi, &m.lambda, &m.is,  &m.js,   &m.pb,   &m.cj,
          &m.mj,  &m.cjsw, &m.mjsw,  &m.fc,  &m.cbd,    &m.cbs, &m.cgso, &m.cgdo, &m.cgbo,
          &m.ld,  &m.w,    &m.l,     &m.ad,  &m.as,     &m.pd,  &m.ps,   &m.m};
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
MeyerCaps<T> Meyer(const T& vgst, const T& vds, const P& phi, const P& cox) {
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
  const T vdsat = vgst > kMinVdsat ? vgst : T(kMinVdsat);
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
  if (Value(m.mj) == Value(m.mjsw))
    return DepletionCharge(v, P(bottom + sidewall), m.pb, m.mj, m.fc);
  T q(0.0);
  if (Value(bottom) != 0.0) q += DepletionCharge(v, bottom, m.pb, m.mj, m.fc);
  if (Value(sidewall) != 0.0) q += DepletionCharge(v, sidewall, m.pb, m.mjsw, m.fc);
  return q;
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
  const P leff = m.l - 2.0 * m.ld;
  const P beta = m.kp * m.m * m.w / leff;
  const bool normal = Value(vds) >= 0.0;
  const T vg = normal ? vgs : vgd, vd = normal ? vds : T(-vds), vb = normal ? vbs : vbd;
  const P sqphi = sqrt(m.phi);
  T sarg;
  if (vb <= 0.0) {
    sarg = sqrt(m.phi - vb);
  } else {
    sarg = sqphi - vb / (2.0 * sqphi);
    if (sarg < 0.0) sarg = T(0.0);
  }
  const T von = p * m.vto + m.gamma * (sarg - sqphi);
  const T vgst = vg - von;
  T id(0.0);
  if (vgst > 0.0) {
    const T betap = beta * (1.0 + m.lambda * vd);
    id = vgst <= vd ? T(0.5 * betap * vgst * vgst) : T(betap * vd * (vgst - 0.5 * vd));
  }
  const T ich = normal ? id : T(-id);
  const P isd = (Value(m.js) > 0.0 && Value(m.ad) > 0.0) ? P(m.js * m.ad * m.m) : P(m.is * m.m);
  const P iss = (Value(m.js) > 0.0 && Value(m.as) > 0.0) ? P(m.js * m.as * m.m) : P(m.is * m.m);
  const T ibd = JunctionCurrent(vbd, isd, vt) + gmin * vbd;
  const T ibs = JunctionCurrent(vbs, iss, vt) + gmin * vbs;
  // Meyer capacitances (the charges below hold only the overlaps and junctions).
  const MeyerCaps<T> mc = Meyer(T(vg - von), vd, m.phi, P(m.cox * m.w * leff * m.m));
  const T qgs_ov = m.cgso * m.w * m.m * vgs, qgd_ov = m.cgdo * m.w * m.m * vgd;
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
  out.cox = T(m.cox);
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
      meyer_scale_(Value(model.cox * model.w * (model.l - 2.0 * model.ld) * model.m)) {
  SetAnalysis(AnalysisInfo{0.0, 0.0, temp_celsius});
}

void Mosfet::SetAnalysis(const AnalysisInfo& info) {
  kelvin_ = inst_temp_.Kelvin(info.temp);
  vt_ = ThermalVoltageK(kelvin_);
  model_ = AtTemperature(card_, tnom_, kelvin_);
  vcrit_ = vt_ * std::log(vt_ / (std::numbers::sqrt2 * model_.is * model_.m));
  last_.valid = false;
}

void Mosfet::Setup(SetupContext& ctx) {
  d_ = ctx.Node(nd_);
  g_ = ctx.Node(ng_);
  s_ = ctx.Node(ns_);
  b_ = ctx.Node(nb_);
  di_ = gd_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#drain)", UnknownKind::kNode) : d_;
  si_ = gs_ > 0.0 ? ctx.AddUnknown("v(" + name() + "#source)", UnknownKind::kNode) : s_;
  if (meyer_scale_ <= 0.0) return;
  // Capacitances to the same node (source tied to bulk) share one rate unknown: their rows would
  // be the same equation.
  static constexpr const char* kTags[3] = {"#cgs", "#cgd", "#cgb"};
  const int nodes[4] = {di_, g_, si_, b_};
  for (int k = 0; k < 3; ++k) {
    owns_rate_[k] = true;
    for (int j = 0; j < k; ++j) {
      if (nodes[kMeyerTerminal[j]] == nodes[kMeyerTerminal[k]]) {
        rate_[k] = rate_[j];
        owns_rate_[k] = false;
        break;
      }
    }
    if (owns_rate_[k]) rate_[k] = ctx.AddUnknown(name() + kTags[k], UnknownKind::kState);
  }
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
    if (!owns_rate_[k]) continue;
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
  static const char* kCard[] = {"vto", "kp", "gamma", "phi", "lambda", "cgso", "cgdo"};
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
  const MosModelT<Dual> m = AtTemperature(card, tnom_, kelvin_);
  const double* x = ctx.x;
  const MosOut<Dual> o = Equations(m, Dual(x[g_] - x[si_]), Dual(x[di_] - x[si_]),
                                   Dual(x[b_] - x[si_]), vt_, ctx.gmin);
  const int nodes[4] = {di_, g_, si_, b_};
  for (int r = 0; r < 4; ++r) out.Add(nodes[r], o.f[r].v[0], o.q[r].v[0]);
  if (meyer_scale_ <= 0.0) return;
  // The scale follows W, L, M: the rate rows' charges and the capacitance fractions move with it.
  const Dual scale = card.cox * card.w * (card.l - 2.0 * card.ld) * card.m;
  for (int k = 0; k < 3; ++k) {
    const int other = nodes[kMeyerTerminal[k]];
    const double dfrac = (o.cap[k].v[0] - o.cap[k].a * scale.v[0] / meyer_scale_) / meyer_scale_;
    const double di = dfrac * x[rate_[k]];
    out.Add(g_, di, 0.0);
    out.Add(other, -di, 0.0);
    if (owns_rate_[k]) out.Add(rate_[k], 0.0, -scale.v[0] * (x[g_] - x[other]));
  }
}

namespace {

// Reads the card into `m` and the series resistances; reports every problem at the card.
bool ReadCard(const netlist::Model& card, double tnom, MosModel* m, double* rd, double* rs,
              double* rsh, netlist::Diagnostics& diag) {
  bool ok = true;
  auto error = [&](const std::string& what, const std::string& hint = "") {
    diag.Error(card.loc, fmt::format("MOSFET model '{}': {}", card.name, what), hint);
    ok = false;
  };
  m->type = card.type == "pmos" ? -1.0 : 1.0;
  auto fields = Fields(*m);
  double tox = 0.0, uo = 600.0, nsub = 0.0;
  bool have_kp = false, have_vto = false, have_gamma = false, have_phi = false;
  for (const auto& [key, value] : card.params) {
    if (!std::isfinite(value)) error(fmt::format("{} is not finite", key));
    const int k = FieldIndex(key);
    if (k >= 0 && k < kFirstInstanceField) {
      *fields[k] = value;
      have_kp |= key == "kp";
      have_vto |= key == "vto";
      have_gamma |= key == "gamma";
      have_phi |= key == "phi";
    } else if (key == "vt0") {
      m->vto = value;
      have_vto = true;
    } else if (key == "level") {
      if (value != 1.0) {
        error(fmt::format("level={} is not supported", value),
              "supported: level=1 (Shichman-Hodges with Meyer capacitances)");
      }
    } else if (key == "rd") {
      *rd = value;
    } else if (key == "rs") {
      *rs = value;
    } else if (key == "rsh") {
      *rsh = value;
    } else if (key == "tox") {
      tox = value;
    } else if (key == "uo" || key == "u0") {
      uo = value;
    } else if (key == "nsub") {
      nsub = value;
    } else if (key == "tnom") {
      // Read by NominalKelvin.
    } else if (key == "kf" || key == "af" || key == "nss" || key == "nfs" || key == "tpg" ||
               key == "xj") {
      // Noise and process parameters without effect on level 1's equations here.
    } else {
      error(fmt::format("unknown parameter '{}'", key),
            "level 1 parameters: vto kp gamma phi lambda rd rs rsh cbd cbs is js pb cj mj cjsw "
            "mjsw fc cgso cgdo cgbo tox uo ld nsub tnom kf af");
    }
  }
  if (tox > 0.0) {
    m->cox = kEpsOx / tox;
    if (!have_kp) m->kp = uo * 1e-4 * m->cox;  // uo in cm^2/Vs
    if (nsub > 0.0) {
      const double vt = ThermalVoltageK(tnom);
      const double n = nsub * 1e6;  // 1/cm^3 -> 1/m^3
      if (!have_phi) m->phi = std::max(0.1, 2.0 * vt * std::log(n / kNiSi));
      if (!have_gamma) m->gamma = std::sqrt(2.0 * kEpsSi * kCharge * n) / m->cox;
      if (!have_vto)
        error("vto must be given with nsub (the process-based threshold is not modelled)");
    }
  } else if (tox < 0.0) {
    error(fmt::format("tox must be > 0, got {}", tox));
  }
  if (!(m->kp > 0.0)) error(fmt::format("kp must be > 0, got {}", m->kp));
  if (!(m->phi > 0.0)) error(fmt::format("phi must be > 0, got {}", m->phi));
  if (m->gamma < 0.0) error(fmt::format("gamma must be >= 0, got {}", m->gamma));
  if (m->lambda < 0.0) error(fmt::format("lambda must be >= 0, got {}", m->lambda));
  if (!(m->pb > 0.0)) error(fmt::format("pb must be > 0, got {}", m->pb));
  if (!(m->fc >= 0.0 && m->fc < 1.0)) error(fmt::format("fc must be in [0, 1), got {}", m->fc));
  if (!(m->is > 0.0)) error(fmt::format("is must be > 0, got {}", m->is));
  for (double v : {m->cj, m->cjsw, m->cbd, m->cbs, m->cgso, m->cgdo, m->cgbo, m->js, m->ld}) {
    if (v < 0.0) error("capacitances, js and ld must be >= 0");
  }
  for (double v : {*rd, *rs, *rsh}) {
    if (v < 0.0) error("rd, rs and rsh must be >= 0");
  }
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
  require(m.l - 2.0 * m.ld > 0.0 && std::isfinite(m.l),
          fmt::format("L - 2 LD must be > 0, got L = {} and LD = {}", m.l, m.ld));
  require(m.m > 0.0 && std::isfinite(m.m), fmt::format("M must be > 0, got {}", m.m));
  for (double v : {m.ad, m.as, m.pd, m.ps}) require(v >= 0.0, "AD, AS, PD, PS must be >= 0");
  if (!ok) return nullptr;
  // Series resistances: RD/RS of the card, else RSH times the number of squares.
  if (rd == 0.0) rd = rsh * ParamOr(element.params, "nrd", 1.0);
  if (rs == 0.0) rs = rsh * ParamOr(element.params, "nrs", 1.0);
  const bool off = ParamOr(element.params, "off", 0.0) != 0.0;
  return std::make_unique<Mosfet>(element, m, tnom, rd / m.m, rs / m.m, off, netlist.temp);
}

}  // namespace memspice::devices
