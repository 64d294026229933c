#include "devices/diode.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string_view>
#include <type_traits>

#include "devices/device_util.h"
#include "devices/junction.h"

namespace memspice::devices {
namespace {

double Val(double v) { return v; }
template <int N>
double Val(const ceres::Jet<double, N>& v) {
  return v.a;
}

// A term whose coefficient is zero is skipped in double arithmetic; a dual number keeps it, as
// its derivative with respect to that coefficient need not vanish (d qj/d cjo at cjo = 0).
template <typename T>
bool Active(const T& coefficient) {
  if constexpr (std::is_arithmetic_v<T>) {
    return coefficient > 0.0;
  } else {
    return true;
  }
}

// exp(arg), continued linearly beyond kMaxExpArg so that no iterate overflows; *deriv gets
// d/darg.
template <typename T>
T SafeExp(const T& arg, T* deriv) {
  using std::exp;
  if (arg > Diode::kMaxExpArg) {
    const double e = std::exp(Diode::kMaxExpArg);
    *deriv = T(e);
    return e * (T(1.0) + arg - Diode::kMaxExpArg);
  }
  const T e = exp(arg);
  *deriv = e;
  return e;
}

// The model-dependent constants of the junction equations (see diode.h); `m` is area-scaled.
template <typename T>
JunctionCoeffs<T> Coefficients(const DiodeModelT<T>& m, double vt) {
  using std::isfinite;
  using std::isnan;
  using std::log;
  using std::pow;
  JunctionCoeffs<T> c;
  c.m = m;
  c.vte = m.n * vt;
  c.vte_bv = (isnan(m.nbv) ? m.n : m.nbv) * vt;
  c.xbv = T(std::numeric_limits<double>::infinity());
  if (isfinite(m.bv)) {
    // Effective breakdown voltage BV' with IS (exp((BV - BV')/vte_bv) - 1 + BV'/vt) = IBV; a
    // fixed-point iteration that contracts because BV'/vt << IBV/IS for sane models (a dual
    // number's derivative converges with it).
    if (m.ibv < m.is * m.bv / vt) {
      c.xbv = m.bv;
    } else {
      T x = m.bv - c.vte_bv * log(T(1.0) + m.ibv / m.is);
      for (int iter = 0; iter < 100; ++iter) {
        const T next = m.bv - c.vte_bv * log(m.ibv / m.is + T(1.0) - x / vt);
        const bool done = std::abs(Val(next) - Val(x)) <= 1e-12 * std::max(1.0, std::abs(Val(x)));
        x = next;
        if (done) break;
      }
      c.xbv = x;
    }
  }
  if (std::abs(1.0 - Val(m.m)) < 1e-12) {
    c.f1 = -m.vj * log(T(1.0) - m.fc);
  } else {
    c.f1 = m.vj * (T(1.0) - pow(T(1.0) - m.fc, T(1.0) - m.m)) / (T(1.0) - m.m);
  }
  c.f2 = pow(T(1.0) - m.fc, T(1.0) + m.m);
  c.f3 = T(1.0) - m.fc * (T(1.0) + m.m);
  return c;
}

template <typename T>
JunctionEvalT<T> JunctionAt(const JunctionCoeffs<T>& jc, const T& vd) {
  using std::exp;
  using std::log;
  const DiodeModelT<T>& m = jc.m;
  JunctionEvalT<T> r;
  T de;
  if (vd >= -3.0 * jc.vte) {
    const T e = SafeExp(T(vd / jc.vte), &de);
    r.id = m.is * (e - 1.0);
    r.gd = m.is * de / jc.vte;
  } else if (!(vd < -jc.xbv)) {
    T a = 3.0 * jc.vte / (vd * std::numbers::e);
    a = a * a * a;
    r.id = -m.is * (1.0 + a);
    r.gd = 3.0 * m.is * a / vd;
  } else {
    const T e = SafeExp(T(-(jc.xbv + vd) / jc.vte_bv), &de);
    r.id = -m.is * e;
    r.gd = m.is * de / jc.vte_bv;
  }
  if (Active(m.cjo)) {
    if (vd < m.fc * m.vj) {
      const T arg = 1.0 - vd / m.vj;
      if (std::abs(1.0 - Val(m.m)) < 1e-12) {
        r.q = -m.vj * m.cjo * log(arg);
        r.c = m.cjo / arg;
      } else {
        const T sarg = exp(-m.m * log(arg));
        r.q = m.vj * m.cjo * (1.0 - arg * sarg) / (1.0 - m.m);
        r.c = m.cjo * sarg;
      }
    } else {
      const T v0 = m.fc * m.vj;
      r.q =
          m.cjo * (jc.f1 + (jc.f3 * (vd - v0) + m.m / (2.0 * m.vj) * (vd * vd - v0 * v0)) / jc.f2);
      r.c = m.cjo * (jc.f3 + m.m * vd / m.vj) / jc.f2;
    }
  }
  r.q += m.tt * r.id;
  r.c += m.tt * r.gd;
  return r;
}

// The card's values at `temp` from those at `tnom` (kelvin; diode.h and junction.h).
template <typename T>
DiodeModelT<T> AtTemperature(DiodeModelT<T> m, double tnom, double temp) {
  using std::exp;
  if (temp == tnom) return m;
  const double vt = ThermalVoltageK(temp), ratio = temp / tnom;
  m.is = m.is * exp((ratio - 1.0) * m.eg / (m.n * vt) + m.xti / m.n * std::log(ratio));
  T cap_factor;
  m.vj = JunctionPotentialAt(m.vj, m.m, tnom, temp, &cap_factor);
  m.cjo = m.cjo * cap_factor;
  return m;
}

// Instance values from the card: IS, CJO scale with area * m, RS with 1/(area * m), IBV with m.
template <typename T>
DiodeModelT<T> Scaled(DiodeModelT<T> m, const T& area, const T& mult) {
  const T scale = area * mult;
  m.is *= scale;
  m.cjo *= scale;
  // ngspice 39 scales IBV with m but not with area (checked against it).
  m.ibv *= mult;
  m.rs /= scale;
  return m;
}

}  // namespace

Diode::Diode(const netlist::Element& element, const DiodeModel& card, double area, double mult,
             double tnom, bool off, double temp_celsius)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_k_(element.nodes[1]),
      off_(off),
      card_(card),
      area_(area),
      mult_(mult),
      tnom_(tnom),
      inst_temp_(InstanceTemp::From(element)) {
  Precompute(temp_celsius);
}

void Diode::Precompute(double temp_celsius) {
  kelvin_ = inst_temp_.Kelvin(temp_celsius);
  vt_ = ThermalVoltageK(kelvin_);
  model_ = Scaled(AtTemperature(card_, tnom_, kelvin_), area_, mult_);
  jc_ = Coefficients(model_, vt_);
  vcrit_ = jc_.vte * std::log(jc_.vte / (std::numbers::sqrt2 * model_.is));
  gs_ = model_.rs > 0.0 ? 1.0 / model_.rs : 0.0;
}

void Diode::SetAnalysis(const AnalysisInfo& info) { Precompute(info.temp); }

void Diode::InitialState(double* x) const {
  if (!ic_) return;
  if (a_ != kGround) {
    x[a_] = x[k_] + *ic_;
  } else if (k_ != kGround) {
    x[k_] = -*ic_;
  }
  if (ai_ != a_) x[ai_] = x[a_];
}

void Diode::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  k_ = ctx.Node(node_k_);
  ai_ = model_.rs > 0.0 ? ctx.AddUnknown("v(" + name() + "#int)", UnknownKind::kNode) : a_;
}

void Diode::Bind(BindContext& ctx) {
  if (ai_ != a_) {
    h_aa_ = ctx.Entry(a_, a_);
    h_aai_ = ctx.Entry(a_, ai_);
    h_aia_ = ctx.Entry(ai_, a_);
  }
  h_pp_ = ctx.Entry(ai_, ai_);
  h_pk_ = ctx.Entry(ai_, k_);
  h_kp_ = ctx.Entry(k_, ai_);
  h_kk_ = ctx.Entry(k_, k_);
}

JunctionEval Diode::Junction(double vd) const { return JunctionAt(jc_, vd); }

double Diode::Limit(double vnew, double vold) const {
  const double xbv = jc_.xbv;
  if (std::isfinite(xbv) && vnew < std::min(0.0, -xbv + 10.0 * jc_.vte_bv)) {
    // Mirror the breakdown knee onto a forward junction and limit that.
    const double v = PnLimit(-(vnew + xbv), -(vold + xbv), jc_.vte_bv, vcrit_);
    return -(v + xbv);
  }
  return PnLimit(vnew, vold, jc_.vte, vcrit_);
}

void Diode::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  if (ai_ != a_) {
    const double ir = gs_ * (x[a_] - x[ai_]);
    ctx.f[a_] += ir;
    ctx.f[ai_] -= ir;
    ctx.G[h_aa_] += gs_;
    ctx.G[h_aai_] -= gs_;
    ctx.G[h_aia_] -= gs_;
    ctx.G[h_pp_] += gs_;
  }
  const double vraw = x[ai_] - x[k_];
  double vd;
  if (ctx.init_junctions) {
    vd = off_ ? 0.0 : vcrit_;
  } else {
    vd = Limit(vraw, vold_);
    if (Moved(vd, vraw)) ++ctx.limited;
  }
  vold_ = vd;
  const JunctionEval j = Junction(vd);
  const double g = j.gd + ctx.gmin;
  const double i = j.id + ctx.gmin * vd + g * (vraw - vd);
  ctx.f[ai_] += i;
  ctx.f[k_] -= i;
  ctx.G[h_pp_] += g;
  ctx.G[h_pk_] -= g;
  ctx.G[h_kp_] -= g;
  ctx.G[h_kk_] += g;
  if (j.c != 0.0 || j.q != 0.0) {
    const double q = j.q + j.c * (vraw - vd);
    ctx.q[ai_] += q;
    ctx.q[k_] -= q;
    ctx.C[h_pp_] += j.c;
    ctx.C[h_pk_] -= j.c;
    ctx.C[h_kp_] -= j.c;
    ctx.C[h_kk_] += j.c;
  }
}

namespace {

// Card keys (with aliases) in handle order; handles after them: area, then the multiplier m.
constexpr const char* kCardKeys[] = {"is", "n",  "rs", "cjo", "cj0", "cj",  "vj", "pb", "m",
                                     "mj", "fc", "tt", "bv",  "ibv", "nbv", "eg", "xti"};
constexpr int kNumCardKeys = sizeof(kCardKeys) / sizeof(kCardKeys[0]);

// Every card key is a model row of the parameter table (descriptor.h).
constexpr bool CardKeysInTable() {
  for (const char* key : kCardKeys) {
    bool found = false;
    for (const ParamInfo& p : kDiodeParams) {
      found |= p.scope == ParamScope::kModel && std::string_view(p.name) == key;
    }
    if (!found) return false;
  }
  return true;
}
static_assert(CardKeysInTable(), "a diode card key is missing from kDiodeParams");

constexpr int kAreaHandle = kNumCardKeys;
constexpr int kMultHandle = kNumCardKeys + 1;

template <typename T>
T& CardField(DiodeModelT<T>& m, int handle) {
  T* fields[kNumCardKeys] = {&m.is, &m.n,  &m.rs, &m.cjo, &m.cjo, &m.cjo, &m.vj, &m.vj, &m.m,
                             &m.m,  &m.fc, &m.tt, &m.bv,  &m.ibv, &m.nbv, &m.eg, &m.xti};
  return *fields[handle];
}

}  // namespace

int Diode::ParamHandle(const std::string& key, bool model_card) const {
  if (!model_card) {
    if (key == "value" || key == "area") return kAreaHandle;
    if (key == "m") return kMultHandle;
    return kNoParamPartial;
  }
  for (int k = 0; k < kNumCardKeys; ++k) {
    if (key != kCardKeys[k]) continue;
    // Without RS there is no internal node to differentiate; NBV unset follows N.
    if (k == 2 && !(card_.rs > 0.0)) return kNoParamPartial;
    if (k == 14 && std::isnan(card_.nbv)) return kNoParamPartial;
    return k;
  }
  return kNoParamPartial;
}

void Diode::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  DiodeModel values = card_;
  DiodeModelT<Dual> card;
  for (int k = 0; k < kNumCardKeys; ++k) CardField(card, k) = Dual(CardField(values, k));
  Dual area(area_), mult(mult_);
  if (handle == kAreaHandle) {
    area.v[0] = 1.0;
  } else if (handle == kMultHandle) {
    mult.v[0] = 1.0;
  } else {
    CardField(card, handle).v[0] = 1.0;
  }
  const DiodeModelT<Dual> m = Scaled(AtTemperature(card, tnom_, kelvin_), area, mult);
  const double* x = ctx.x;
  if (ai_ != a_) {
    const double dir = (Dual(1.0) / m.rs).v[0] * (x[a_] - x[ai_]);
    out.Add(a_, dir, 0.0);
    out.Add(ai_, -dir, 0.0);
  }
  // At a settled point the limited junction voltage is the raw one.
  const JunctionEvalT<Dual> j = JunctionAt(Coefficients(m, vt_), Dual(x[ai_] - x[k_]));
  out.Add(ai_, j.id.v[0], j.q.v[0]);
  out.Add(k_, -j.id.v[0], -j.q.v[0]);
}

std::unique_ptr<Device> CreateDiode(const netlist::Element& element,
                                    const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kDiodeParams, diag) && ok;
  if (!ok) return nullptr;
  auto it = netlist.models.find(element.model);
  if (element.model.empty() || it == netlist.models.end()) {
    diag.Error(element.loc,
               element.model.empty() ? fmt::format("diode '{}' names no model", element.name)
                                     : fmt::format("unknown model '{}' for instance '{}'",
                                                   element.model, element.name),
               "declare it, e.g. .model dmod D (is=1e-14 n=1)");
    return nullptr;
  }
  const netlist::Model& card = it->second;
  if (card.type != "d") {
    diag.Error(element.loc,
               fmt::format("model '{}' of '{}' has type '{}', expected 'd'", card.name,
                           element.name, card.type),
               fmt::format("model declared at {}:{}", card.loc.file, card.loc.line));
    return nullptr;
  }
  DiodeModel m;
  for (const auto& [key, value] : card.params) {
    // Keys outside the table are warned about; table keys that are not card fields (tnom, kf,
    // af) are read elsewhere or accepted for compatibility (noise is not modelled).
    const bool found = FindParam(kDiodeParams, key, ParamPlace::kModelCard) != nullptr;
    for (int k = 0; k < kNumCardKeys; ++k) {
      if (key == kCardKeys[k]) CardField(m, k) = value;
    }
    if (key == "level") {
      if (value != 1.0) {
        diag.Error(card.loc, fmt::format("diode model '{}': only level=1 is supported, got {}",
                                         card.name, value));
        ok = false;
      }
    }
    if (!found) {
      diag.Warning(card.loc,
                   fmt::format("diode model '{}': parameter '{}' is ignored", card.name, key));
    }
    if (!std::isfinite(value) && key != "bv") {
      diag.Error(card.loc, fmt::format("diode model '{}': {} is not finite", card.name, key));
      ok = false;
    }
  }
  auto require = [&](bool cond, const char* what) {
    if (!cond) {
      diag.Error(card.loc, fmt::format("diode model '{}': {}", card.name, what));
      ok = false;
    }
  };
  require(m.is > 0.0, "is must be > 0");
  require(m.n > 0.0, "n must be > 0");
  require(m.rs >= 0.0, "rs must be >= 0");
  require(m.cjo >= 0.0, "cjo must be >= 0");
  require(m.vj > 0.0, "vj must be > 0");
  require(m.m >= 0.0, "m must be >= 0");
  require(m.fc >= 0.0 && m.fc < 1.0, "fc must be in [0, 1)");
  require(m.tt >= 0.0, "tt must be >= 0");
  require(m.bv > 0.0, "bv must be > 0");
  require(m.ibv > 0.0, "ibv must be > 0");
  require(std::isnan(m.nbv) || m.nbv > 0.0, "nbv must be > 0");
  double area = element.value.value_or(1.0);
  area = ParamOr(element.params, "area", area);
  const double mult = ParamOr(element.params, "m", 1.0);
  if (!(area > 0.0) || !std::isfinite(area)) {
    diag.Error(element.loc, fmt::format("area of '{}' must be > 0, got {}", element.name, area));
    ok = false;
  }
  if (!(mult > 0.0) || !std::isfinite(mult)) {
    diag.Error(element.loc,
               fmt::format("multiplier m of '{}' must be > 0, got {}", element.name, mult));
    ok = false;
  }
  if (!ok) return nullptr;
  const bool off = ParamOr(element.params, "off", 0.0) != 0.0;
  auto diode = std::make_unique<Diode>(element, m, area, mult, NominalKelvin(card, netlist), off,
                                       netlist.temp);
  if (auto ic = element.params.find("ic"); ic != element.params.end()) {
    if (!CheckFinite(element, "ic", ic->second, diag)) return nullptr;
    diode->set_ic(ic->second);
  }
  return diode;
}

}  // namespace memspice::devices
