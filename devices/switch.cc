#include "devices/switch.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {
namespace {

// Largest |u| passed to exp() in the logistic function (sigma saturates long before).
constexpr double kMaxLogisticArg = 200.0;
// Strength of the latch term of a hysteretic switch's state (switch.h).
constexpr double kSwitchLatch = 1.0;
// Width of the step from GOFF to GON in a hysteretic switch's state (switch.h).
constexpr double kSwitchStateWidth = 0.05;

template <typename T>
struct SwitchModelT {
  T vt, vh, ron, roff;
};

// sigma((vc - threshold) / width) of switch.h; *deriv gets its derivative by vc.
template <typename T>
T Step(const T& vc_minus_threshold, double width, T* deriv) {
  using std::exp;
  T u = vc_minus_threshold / width;
  if (u > kMaxLogisticArg) u = T(kMaxLogisticArg);
  if (u < -kMaxLogisticArg) u = T(-kMaxLogisticArg);
  const T sigma = 1.0 / (1.0 + exp(-u));
  *deriv = sigma * (1.0 - sigma) / width;
  return sigma;
}

// GOFF (GON / GOFF)^p; *dg_dp gets its derivative by p.
template <typename T>
T InterpolatedConductance(const SwitchModelT<T>& m, const T& p, T* dg_dp) {
  using std::exp;
  using std::log;
  const T log_ratio = log(m.roff / m.ron);  // log(GON / GOFF)
  const T g = exp(log_ratio * p) / m.roff;
  *dg_dp = g * log_ratio;
  return g;
}

// The conductance of a hysteretic switch at state s: GOFF (GON / GOFF)^P(s), P a logistic step
// of width kSwitchStateWidth around s = 1/2 scaled to P(0) = 0, P(1) = 1, so that g is flat on
// both stable branches of the state (switch.h).
template <typename T>
T StateConductance(const SwitchModelT<T>& m, const T& s, T* dg_ds) {
  double dlo, dhi;
  const double lo = Step(-0.5, kSwitchStateWidth, &dlo), hi = Step(0.5, kSwitchStateWidth, &dhi);
  T dstep;
  const T p = (Step(T(s - 0.5), kSwitchStateWidth, &dstep) - lo) / (hi - lo);
  T dg_dp;
  const T g = InterpolatedConductance(m, p, &dg_dp);
  *dg_ds = dg_dp * dstep / (hi - lo);
  return g;
}

// The switch equations of switch.h without hysteresis: the conductance and its derivative by
// the control.
template <typename T>
T Conductance(const SwitchModelT<T>& m, double width, double vc, T* dg_dvc) {
  T dsigma;
  const T sigma = Step(T(vc - m.vt), width, &dsigma);
  T dg_dp;
  const T g = InterpolatedConductance(m, sigma, &dg_dp);
  *dg_dvc = dg_dp * dsigma;
  return g;
}

// The state row of a hysteretic switch (switch.h): f[s] and its derivatives by s and vc.
template <typename T>
T StateResidual(const SwitchModelT<T>& m, double width, double vc, const T& s, double s0, bool dc,
                T* df_ds, T* df_dvc) {
  // The latch's folds sit at A = 8 / (8 + L) and B = L / (8 + L); the steps are centred
  // ln(8 / L) w beyond the thresholds so that the switch flips at VT -+ VH itself.
  const double fold = std::log(8.0 / kSwitchLatch) * width;
  T da, db;
  const T a = Step(T(vc - m.vt + m.vh + fold), width, &da);
  const T b = Step(T(vc - m.vt - m.vh - fold), width, &db);
  if (dc) {
    *df_ds = T(1.0);
    *df_dvc = -(s0 * da + (1.0 - s0) * db);
    return s - (s0 * a + (1.0 - s0) * b);
  }
  // Latch term: inside the window (a (1 - b) ~ 1) s is pushed to the nearer of 0 and 1.
  const T window = a * (1.0 - b), cubic = s * (1.0 - s) * (2.0 * s - 1.0);
  const T dcubic = 6.0 * s * (1.0 - s) - 1.0;
  *df_ds = 1.0 - a + b - kSwitchLatch * window * dcubic;
  *df_dvc = s * (db - da) - db - kSwitchLatch * cubic * (da * (1.0 - b) - a * db);
  return s * (1.0 - a + b) - b - kSwitchLatch * window * cubic;
}

}  // namespace

Switch::Switch(const netlist::Element& element, const SwitchModel& model, bool current_controlled,
               bool on)
    : Device(element.name, element.loc),
      na_(element.nodes[0]),
      nb_(element.nodes[1]),
      control_(element.control),
      current_controlled_(current_controlled),
      model_(model),
      s0_(on ? 1.0 : 0.0) {
  if (!current_controlled) {
    nc_ = element.nodes[2];
    nd_ = element.nodes[3];
  }
  const double unit = current_controlled ? 1e-3 : 1.0;
  width_ = kSwitchRelWidth * std::max(std::abs(model.vt), unit);
  if (model.vh > 0.0) width_ = std::min(width_, model.vh / kSwitchMinWindow);
}

void Switch::Setup(SetupContext& ctx) {
  a_ = ctx.Node(na_);
  b_ = ctx.Node(nb_);
  if (!current_controlled_) {
    c_ = ctx.Node(nc_);
    d_ = ctx.Node(nd_);
  }
  if (model_.vh > 0.0) s_ = ctx.AddUnknown("x(" + name() + ")", UnknownKind::kState);
}

void Switch::InitialState(double* x) const {
  if (s_ != kGround) x[s_] = s0_;
}

void Switch::Bind(BindContext& ctx) {
  if (current_controlled_) {
    c_ = ctx.Branch(control_);
    if (c_ < 0) {
      ctx.diag().Error(loc(),
                       fmt::format("switch '{}': controlling source '{}' has no branch current",
                                   name(), control_),
                       "name an independent voltage source (a 0 V source in series)");
      c_ = kGround;
    }
  }
  h_aa_ = ctx.Entry(a_, a_);
  h_ab_ = ctx.Entry(a_, b_);
  h_ba_ = ctx.Entry(b_, a_);
  h_bb_ = ctx.Entry(b_, b_);
  h_ac_ = ctx.Entry(a_, c_);
  h_ad_ = ctx.Entry(a_, d_);
  h_bc_ = ctx.Entry(b_, c_);
  h_bd_ = ctx.Entry(b_, d_);
  if (s_ != kGround) {
    h_as_ = ctx.Entry(a_, s_);
    h_bs_ = ctx.Entry(b_, s_);
    h_ss_ = ctx.Entry(s_, s_);
    h_sc_ = ctx.Entry(s_, c_);
    h_sd_ = ctx.Entry(s_, d_);
  }
}

void Switch::EvaluateHysteretic(EvalContext& ctx) {
  const double* x = ctx.x;
  const double v = x[a_] - x[b_];
  const double vc = current_controlled_ ? x[c_] : x[c_] - x[d_];
  const SwitchModelT<double> m{model_.vt, model_.vh, model_.ron, model_.roff};
  const double s = x[s_];
  double dg;
  const double g = StateConductance(m, s, &dg);
  ctx.f[a_] += g * v;
  ctx.f[b_] -= g * v;
  ctx.G[h_aa_] += g;
  ctx.G[h_ab_] -= g;
  ctx.G[h_ba_] -= g;
  ctx.G[h_bb_] += g;
  ctx.G[h_as_] += dg * v;
  ctx.G[h_bs_] -= dg * v;
  double df_ds, df_dvc;
  ctx.f[s_] += StateResidual(m, width_, vc, s, s0_, ctx.dc, &df_ds, &df_dvc);
  ctx.G[h_ss_] += df_ds;
  ctx.G[h_sc_] += df_dvc;
  if (!current_controlled_) ctx.G[h_sd_] -= df_dvc;
  // q = tau s in both modes, so that the transient starts from a consistent q.
  ctx.q[s_] += kSwitchTau * s;
  ctx.C[h_ss_] += kSwitchTau;
}

void Switch::Evaluate(EvalContext& ctx) {
  if (s_ != kGround) {
    EvaluateHysteretic(ctx);
    return;
  }
  const double* x = ctx.x;
  const double v = x[a_] - x[b_];
  const double vc = current_controlled_ ? x[c_] : x[c_] - x[d_];
  const SwitchModelT<double> m{model_.vt, model_.vh, model_.ron, model_.roff};
  double dg;
  const double g = Conductance(m, width_, vc, &dg);
  const double i = g * v;
  const double di = dg * v;
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.G[h_aa_] += g;
  ctx.G[h_ab_] -= g;
  ctx.G[h_ba_] -= g;
  ctx.G[h_bb_] += g;
  ctx.G[h_ac_] += di;
  ctx.G[h_bc_] -= di;
  if (!current_controlled_) {
    ctx.G[h_ad_] -= di;
    ctx.G[h_bd_] += di;
  }
}

int Switch::ParamHandle(const std::string& key, bool model_card) const {
  if (!model_card) return kNoParamPartial;
  if (key == (current_controlled_ ? "it" : "vt")) return 0;
  if (key == "ron") return 1;
  if (key == "roff") return 2;
  if (s_ != kGround && key == (current_controlled_ ? "ih" : "vh")) return 3;
  return kNoParamPartial;
}

void Switch::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  SwitchModelT<Dual> m{Dual(model_.vt), Dual(model_.vh), Dual(model_.ron), Dual(model_.roff)};
  Dual* fields[4] = {&m.vt, &m.ron, &m.roff, &m.vh};
  fields[handle]->v[0] = 1.0;
  const double* x = ctx.x;
  const double vc = current_controlled_ ? x[c_] : x[c_] - x[d_];
  Dual dg;
  const Dual g =
      s_ != kGround ? StateConductance(m, Dual(x[s_]), &dg) : Conductance(m, width_, vc, &dg);
  const Dual i = g * (x[a_] - x[b_]);
  out.Add(a_, i.v[0], 0.0);
  out.Add(b_, -i.v[0], 0.0);
  if (s_ != kGround) {
    Dual df_ds, df_dvc;
    out.Add(s_, StateResidual(m, width_, vc, Dual(x[s_]), s0_, ctx.dc, &df_ds, &df_dvc).v[0], 0.0);
  }
}

std::unique_ptr<Device> CreateSwitch(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  const bool w = element.letter == 'w';
  bool ok = CheckNodeCount(element, w ? 2 : 4, diag);
  ok = CheckInstanceParams(element, w ? kCurrentSwitchParams : kSwitchParams, diag) && ok;
  if (!ok) return nullptr;
  auto it = netlist.models.find(element.model);
  if (it == netlist.models.end()) {
    diag.Error(element.loc, fmt::format("switch '{}' names no known model", element.name));
    return nullptr;
  }
  const netlist::Model& card = it->second;
  SwitchModel m;
  const char* vt = w ? "it" : "vt";
  const char* vh = w ? "ih" : "vh";
  for (const auto& [key, value] : card.params) {
    if (key == vt) {
      m.vt = value;
    } else if (key == vh) {
      m.vh = value;
    } else if (key == "ron") {
      m.ron = value;
    } else if (key == "roff") {
      m.roff = value;
    } else {
      diag.Error(card.loc, fmt::format("switch model '{}': unknown parameter '{}'", card.name, key),
                 fmt::format("{} models take {} {} ron roff", card.type, vt, vh));
      ok = false;
    }
    if (!std::isfinite(value)) {
      diag.Error(card.loc, fmt::format("switch model '{}': {} is not finite", card.name, key));
      ok = false;
    }
  }
  auto require = [&](bool cond, const std::string& what) {
    if (!cond) {
      diag.Error(card.loc, fmt::format("switch model '{}': {}", card.name, what));
      ok = false;
    }
  };
  require(m.ron > 0.0, fmt::format("ron must be > 0, got {}", m.ron));
  require(m.roff > 0.0, fmt::format("roff must be > 0, got {}", m.roff));
  require(m.vh >= 0.0,
          fmt::format("negative hysteresis {} = {} is not supported ({} >= 0)", vh, m.vh, vh));
  if (!ok) return nullptr;
  const bool on = ParamOr(element.params, "on", 0.0) != 0.0;
  return std::make_unique<Switch>(element, m, w, on);
}

}  // namespace memspice::devices
