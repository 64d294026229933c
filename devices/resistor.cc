#include "devices/resistor.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

Resistor::Resistor(const netlist::Element& element, double resistance, netlist::Expr expr)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      resistance_(resistance),
      behavioral_(std::move(expr)) {}

void Resistor::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  if (behavioral_.valid()) behavioral_.Setup(ctx);
}

void Resistor::Bind(BindContext& ctx) {
  h_aa_ = ctx.Entry(a_, a_);
  h_ab_ = ctx.Entry(a_, b_);
  h_ba_ = ctx.Entry(b_, a_);
  h_bb_ = ctx.Entry(b_, b_);
  if (!behavioral_.valid()) return;
  behavioral_.Bind(ctx, name(), loc());
  h_a_col_.clear();
  h_b_col_.clear();
  for (int col : behavioral_.columns()) {
    h_a_col_.push_back(ctx.Entry(a_, col));
    h_b_col_.push_back(ctx.Entry(b_, col));
  }
  dcol_.assign(behavioral_.columns().size(), 0.0);
}

void Resistor::Evaluate(EvalContext& ctx) {
  const double v = ctx.x[a_] - ctx.x[b_];
  if (!behavioral_.valid()) {
    const double g = 1.0 / (ac_mode_ && ac_resistance_ != 0.0 ? ac_resistance_ : resistance_);
    const double i = g * v;
    ctx.f[a_] += i;
    ctx.f[b_] -= i;
    ctx.G[h_aa_] += g;
    ctx.G[h_ab_] -= g;
    ctx.G[h_ba_] -= g;
    ctx.G[h_bb_] += g;
    return;
  }
  double r = behavioral_.Evaluate(ctx.x, ctx.time, dcol_.data());
  // Below the floor R is constant, so its derivative vanishes there.
  if (!(std::abs(r) >= kMinResistance)) {
    r = std::signbit(r) ? -kMinResistance : kMinResistance;
    std::fill(dcol_.begin(), dcol_.end(), 0.0);
  }
  const double g = 1.0 / r;
  const double i = v * g;
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.G[h_aa_] += g;
  ctx.G[h_ab_] -= g;
  ctx.G[h_ba_] -= g;
  ctx.G[h_bb_] += g;
  // di/dR = -v / R^2.
  const double di_dr = -i * g;
  for (size_t k = 0; k < dcol_.size(); ++k) {
    const double d = di_dr * dcol_[k];
    ctx.G[h_a_col_[k]] += d;
    ctx.G[h_b_col_[k]] -= d;
  }
}

int Resistor::ParamHandle(const std::string& key, bool model_card) const {
  if (behavioral_.valid() || model_card || (key != "value" && key != "r")) return kNoParamPartial;
  return 0;
}

void Resistor::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  // i = v / R:  di/dvalue = -(i / R) dR/dvalue.
  const double i = (ctx.x[a_] - ctx.x[b_]) / resistance_;
  const double d = -i / resistance_ * dr_dvalue_;
  out.Add(a_, d, 0.0);
  out.Add(b_, -d, 0.0);
}

std::unique_ptr<Device> CreateResistor(const netlist::Element& element,
                                       const netlist::Netlist& netlist,
                                       netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kResistorParams, diag) && ok;
  if (!ok) return nullptr;
  const double m = ParamOr(element.params, "m", 1.0);
  if (!(m > 0.0) || !std::isfinite(m)) {
    diag.Error(element.loc,
               fmt::format("multiplier m of '{}' must be > 0, got {}", element.name, m));
    return nullptr;
  }
  netlist::Expr expr = element.expr;
  std::optional<double> value = element.value;
  if (!value && element.params.count("r")) value = element.params.at("r");
  if (expr && expr->IsConstant()) {
    value = expr->EvaluateConstant();
    expr = nullptr;
  }
  if (expr) {
    if (m != 1.0 || element.params.count("tc1") || element.params.count("tc2") ||
        element.params.count("ac")) {
      diag.Error(
          element.loc,
          fmt::format("behavioural resistor '{}' does not take m, tc1, tc2 or ac", element.name),
          "fold them into the expression");
      return nullptr;
    }
    return std::make_unique<Resistor>(element, 0.0, expr);
  }
  if (!value) {
    diag.Error(element.loc, fmt::format("resistor '{}' has no value", element.name),
               "write e.g. R1 a b 1k");
    return nullptr;
  }
  const double dt = netlist.temp - 27.0;
  const double tc = 1.0 + ParamOr(element.params, "tc1", 0.0) * dt +
                    ParamOr(element.params, "tc2", 0.0) * dt * dt;
  double r = *value / m * tc;
  double dr_dvalue = tc / m;
  if (!CheckFinite(element, "resistance", r, diag)) return nullptr;
  if (std::abs(r) < kMinResistance) {
    diag.Warning(element.loc,
                 fmt::format("resistance of '{}' is {} Ohm, below the minimum; set to {} Ohm",
                             element.name, r, std::signbit(r) ? -kMinResistance : kMinResistance),
                 "use a 0 V source for a short circuit");
    r = std::signbit(r) ? -kMinResistance : kMinResistance;
    dr_dvalue = 0.0;
  }
  auto resistor = std::make_unique<Resistor>(element, r, nullptr);
  resistor->set_value_scale(dr_dvalue);
  if (auto ac = element.params.find("ac"); ac != element.params.end()) {
    const double r_ac = ac->second / m * tc;
    if (!CheckFinite(element, "AC resistance", r_ac, diag)) return nullptr;
    if (!(std::abs(r_ac) >= kMinResistance)) {
      diag.Error(element.loc, fmt::format("AC resistance of '{}' is {} Ohm, below the minimum {}",
                                          element.name, r_ac, kMinResistance));
      return nullptr;
    }
    resistor->set_ac_resistance(r_ac);
  }
  return resistor;
}

}  // namespace memspice::devices
