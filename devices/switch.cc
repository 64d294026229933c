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

template <typename T>
struct SwitchModelT {
  T vt, ron, roff;
};

// The switch equations of switch.h: the conductance and its derivative by the control.
template <typename T>
T Conductance(const SwitchModelT<T>& m, double width, double vc, T* dg_dvc) {
  using std::exp;
  using std::log;
  T u = (vc - m.vt) / width;
  if (u > kMaxLogisticArg) u = T(kMaxLogisticArg);
  if (u < -kMaxLogisticArg) u = T(-kMaxLogisticArg);
  const T sigma = 1.0 / (1.0 + exp(-u));
  const T log_ratio = log(m.roff / m.ron);  // log(GON / GOFF)
  const T g = exp(log_ratio * sigma) / m.roff;
  *dg_dvc = g * log_ratio * sigma * (1.0 - sigma) / width;
  return g;
}

}  // namespace

Switch::Switch(const netlist::Element& element, const SwitchModel& model, bool current_controlled)
    : Device(element.name, element.loc),
      na_(element.nodes[0]),
      nb_(element.nodes[1]),
      control_(element.control),
      current_controlled_(current_controlled),
      model_(model) {
  if (!current_controlled) {
    nc_ = element.nodes[2];
    nd_ = element.nodes[3];
  }
  const double unit = current_controlled ? 1e-3 : 1.0;
  width_ = kSwitchRelWidth * std::max(std::abs(model.vt), unit);
}

void Switch::Setup(SetupContext& ctx) {
  a_ = ctx.Node(na_);
  b_ = ctx.Node(nb_);
  if (!current_controlled_) {
    c_ = ctx.Node(nc_);
    d_ = ctx.Node(nd_);
  }
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
}

void Switch::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  const double v = x[a_] - x[b_];
  const double vc = current_controlled_ ? x[c_] : x[c_] - x[d_];
  const SwitchModelT<double> m{model_.vt, model_.ron, model_.roff};
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
  return kNoParamPartial;
}

void Switch::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  SwitchModelT<Dual> m{Dual(model_.vt), Dual(model_.ron), Dual(model_.roff)};
  Dual* fields[3] = {&m.vt, &m.ron, &m.roff};
  fields[handle]->v[0] = 1.0;
  const double* x = ctx.x;
  const double vc = current_controlled_ ? x[c_] : x[c_] - x[d_];
  Dual dg;
  const Dual i = Conductance(m, width_, vc, &dg) * (x[a_] - x[b_]);
  out.Add(a_, i.v[0], 0.0);
  out.Add(b_, -i.v[0], 0.0);
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
  require(m.vh == 0.0,
          fmt::format("hysteresis {} = {} is not supported (only {} = 0)", vh, m.vh, vh));
  if (!ok) return nullptr;
  return std::make_unique<Switch>(element, m, w);
}

}  // namespace memspice::devices
