#include "devices/diode.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "devices/device_util.h"

namespace memspice::devices {
namespace {

constexpr double kBoltzmann = 1.380649e-23;  // J/K
constexpr double kCharge = 1.602176634e-19;  // C
constexpr double kKelvin = 273.15;

// exp(arg), continued linearly beyond kMaxExpArg so that no iterate overflows; *deriv gets
// d/darg.
double SafeExp(double arg, double* deriv) {
  if (arg > Diode::kMaxExpArg) {
    const double e = std::exp(Diode::kMaxExpArg);
    *deriv = e;
    return e * (1.0 + arg - Diode::kMaxExpArg);
  }
  const double e = std::exp(arg);
  *deriv = e;
  return e;
}

// Limits a forward junction step to a logarithmic one above vcrit, and a large reverse step to
// roughly doubling the previous reverse voltage.
double PnLimit(double vnew, double vold, double vt, double vcrit) {
  if (vnew > vcrit && std::abs(vnew - vold) > 2.0 * vt) {
    if (vold > 0.0) {
      const double arg = 1.0 + (vnew - vold) / vt;
      return arg > 0.0 ? vold + vt * std::log(arg) : vcrit;
    }
    return vt * std::log(vnew / vt);
  }
  if (vnew < 0.0) {
    const double lower = vold > 0.0 ? -vold - 1.0 : 2.0 * vold - 1.0;
    return std::max(vnew, lower);
  }
  return vnew;
}

}  // namespace

Diode::Diode(const netlist::Element& element, const DiodeModel& model, bool off,
             double temp_celsius)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_k_(element.nodes[1]),
      model_(model),
      off_(off) {
  Precompute(temp_celsius);
}

void Diode::Precompute(double temp_celsius) {
  const DiodeModel& m = model_;
  vt_ = kBoltzmann * (temp_celsius + kKelvin) / kCharge;
  vte_ = m.n * vt_;
  vte_bv_ = (std::isnan(m.nbv) ? m.n : m.nbv) * vt_;
  vcrit_ = vte_ * std::log(vte_ / (std::numbers::sqrt2 * m.is));
  gs_ = m.rs > 0.0 ? 1.0 / m.rs : 0.0;
  xbv_ = std::numeric_limits<double>::infinity();
  if (std::isfinite(m.bv)) {
    // Effective breakdown voltage BV' with IS (exp((BV - BV')/vte_bv) - 1 + BV'/vt) = IBV; a
    // fixed-point iteration that contracts because BV'/vt << IBV/IS for sane models.
    if (m.ibv < m.is * m.bv / vt_) {
      xbv_ = m.bv;
    } else {
      double x = m.bv - vte_bv_ * std::log(1.0 + m.ibv / m.is);
      for (int iter = 0; iter < 100; ++iter) {
        const double next = m.bv - vte_bv_ * std::log(m.ibv / m.is + 1.0 - x / vt_);
        const bool done = std::abs(next - x) <= 1e-12 * std::max(1.0, std::abs(x));
        x = next;
        if (done) break;
      }
      xbv_ = x;
    }
  }
  if (std::abs(1.0 - m.m) < 1e-12) {
    f1_ = -m.vj * std::log(1.0 - m.fc);
  } else {
    f1_ = m.vj * (1.0 - std::pow(1.0 - m.fc, 1.0 - m.m)) / (1.0 - m.m);
  }
  f2_ = std::pow(1.0 - m.fc, 1.0 + m.m);
  f3_ = 1.0 - m.fc * (1.0 + m.m);
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

JunctionEval Diode::Junction(double vd) const {
  const DiodeModel& m = model_;
  JunctionEval r;
  double de;
  if (vd >= -3.0 * vte_) {
    const double e = SafeExp(vd / vte_, &de);
    r.id = m.is * (e - 1.0);
    r.gd = m.is * de / vte_;
  } else if (!(vd < -xbv_)) {
    double a = 3.0 * vte_ / (vd * std::numbers::e);
    a = a * a * a;
    r.id = -m.is * (1.0 + a);
    r.gd = 3.0 * m.is * a / vd;
  } else {
    const double e = SafeExp(-(xbv_ + vd) / vte_bv_, &de);
    r.id = -m.is * e;
    r.gd = m.is * de / vte_bv_;
  }
  if (m.cjo > 0.0) {
    if (vd < m.fc * m.vj) {
      const double arg = 1.0 - vd / m.vj;
      if (std::abs(1.0 - m.m) < 1e-12) {
        r.q = -m.vj * m.cjo * std::log(arg);
        r.c = m.cjo / arg;
      } else {
        const double sarg = std::exp(-m.m * std::log(arg));
        r.q = m.vj * m.cjo * (1.0 - arg * sarg) / (1.0 - m.m);
        r.c = m.cjo * sarg;
      }
    } else {
      const double v0 = m.fc * m.vj;
      r.q = m.cjo * (f1_ + (f3_ * (vd - v0) + m.m / (2.0 * m.vj) * (vd * vd - v0 * v0)) / f2_);
      r.c = m.cjo * (f3_ + m.m * vd / m.vj) / f2_;
    }
  }
  r.q += m.tt * r.id;
  r.c += m.tt * r.gd;
  return r;
}

double Diode::Limit(double vnew, double vold) const {
  if (std::isfinite(xbv_) && vnew < std::min(0.0, -xbv_ + 10.0 * vte_bv_)) {
    // Mirror the breakdown knee onto a forward junction and limit that.
    const double v = PnLimit(-(vnew + xbv_), -(vold + xbv_), vte_bv_, vcrit_);
    return -(v + xbv_);
  }
  return PnLimit(vnew, vold, vte_, vcrit_);
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

std::unique_ptr<Device> CreateDiode(const netlist::Element& element,
                                    const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckParamNames(element, element.params, {"area", "m", "off", "ic"}, diag) && ok;
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
  struct Key {
    const char* name;
    double* field;
  };
  const Key keys[] = {{"is", &m.is},   {"n", &m.n},     {"rs", &m.rs},  {"cjo", &m.cjo},
                      {"cj0", &m.cjo}, {"cj", &m.cjo},  {"vj", &m.vj},  {"pb", &m.vj},
                      {"m", &m.m},     {"mj", &m.m},    {"fc", &m.fc},  {"tt", &m.tt},
                      {"bv", &m.bv},   {"ibv", &m.ibv}, {"nbv", &m.nbv}};
  // Accepted for compatibility; temperature scaling and noise are not modelled.
  const char* ignored[] = {"tnom", "eg", "xti", "kf", "af"};
  for (const auto& [key, value] : card.params) {
    bool found = false;
    for (const Key& k : keys) {
      if (key == k.name) {
        *k.field = value;
        found = true;
      }
    }
    if (key == "level") {
      found = true;
      if (value != 1.0) {
        diag.Error(card.loc, fmt::format("diode model '{}': only level=1 is supported, got {}",
                                         card.name, value));
        ok = false;
      }
    }
    for (const char* k : ignored) {
      if (key == k) found = true;
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
  if (auto t = card.params.find("tnom"); t != card.params.end() && t->second != netlist.temp) {
    diag.Warning(card.loc,
                 fmt::format("diode model '{}': tnom = {} differs from the circuit temperature "
                             "{}; only the thermal voltage follows the temperature",
                             card.name, t->second, netlist.temp));
  }
  const double scale = area * mult;
  m.is *= scale;
  m.cjo *= scale;
  // ngspice 39 scales IBV with m but not with area (checked against it).
  m.ibv *= mult;
  m.rs /= scale;
  const bool off = ParamOr(element.params, "off", 0.0) != 0.0;
  auto diode = std::make_unique<Diode>(element, m, off, netlist.temp);
  if (auto ic = element.params.find("ic"); ic != element.params.end()) {
    if (!CheckFinite(element, "ic", ic->second, diag)) return nullptr;
    diode->set_ic(ic->second);
  }
  return diode;
}

}  // namespace memspice::devices
