#include "devices/capacitor.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

Capacitor::Capacitor(const netlist::Element& element, double capacitance, std::optional<double> ic)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      capacitance_(capacitance),
      ic_(ic) {}

void Capacitor::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
}

void Capacitor::Bind(BindContext& ctx) {
  h_aa_ = ctx.Entry(a_, a_);
  h_ab_ = ctx.Entry(a_, b_);
  h_ba_ = ctx.Entry(b_, a_);
  h_bb_ = ctx.Entry(b_, b_);
}

void Capacitor::Evaluate(EvalContext& ctx) {
  const double c = capacitance_;
  const double charge = c * (ctx.x[a_] - ctx.x[b_]);
  ctx.q[a_] += charge;
  ctx.q[b_] -= charge;
  ctx.C[h_aa_] += c;
  ctx.C[h_ab_] -= c;
  ctx.C[h_ba_] -= c;
  ctx.C[h_bb_] += c;
}

void Capacitor::InitialState(double* x) const {
  if (!ic_) return;
  if (a_ != kGround) {
    x[a_] = x[b_] + *ic_;
  } else if (b_ != kGround) {
    x[b_] = -*ic_;
  }
}

int Capacitor::ParamHandle(const std::string& key, bool model_card) const {
  if (model_card) return kNoParamPartial;
  if (key == "value" || key == "c") return 0;
  if (key == "ic" && ic_) return 1;
  return kNoParamPartial;
}

void Capacitor::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  if (handle != 0) return;  // ic= only sets the initial state
  const double dq = value_scale_ * (ctx.x[a_] - ctx.x[b_]);
  out.Add(a_, 0.0, dq);
  out.Add(b_, 0.0, -dq);
}

void Capacitor::InitialStatePartial(int handle, ParamSink& out) const {
  if (handle != 1) return;
  if (a_ != kGround) {
    out.Add(a_, 1.0, 0.0);
  } else {
    out.Add(b_, -1.0, 0.0);
  }
}

std::unique_ptr<Device> CreateCapacitor(const netlist::Element& element,
                                        const netlist::Netlist& netlist,
                                        netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kCapacitorParams, diag) && ok;
  if (!ok) return nullptr;
  std::optional<double> value = element.value;
  if (!value && element.params.count("c")) value = element.params.at("c");
  if (!value && element.expr && element.expr->IsConstant()) {
    value = element.expr->EvaluateConstant();
  }
  if (!value) {
    diag.Error(element.loc,
               element.expr ? fmt::format("capacitor '{}' has a non-constant value; only "
                                          "constant capacitances are supported",
                                          element.name)
                            : fmt::format("capacitor '{}' has no value", element.name),
               element.expr ? "use a B source for a nonlinear charge" : "write e.g. C1 a b 1u");
    return nullptr;
  }
  const double m = ParamOr(element.params, "m", 1.0);
  const double c = *value * m;
  if (!CheckFinite(element, "capacitance", c, diag)) return nullptr;
  if (!(m > 0.0)) {
    diag.Error(element.loc,
               fmt::format("multiplier m of '{}' must be > 0, got {}", element.name, m));
    return nullptr;
  }
  std::optional<double> ic;
  if (auto it = element.params.find("ic"); it != element.params.end()) {
    if (!CheckFinite(element, "ic", it->second, diag)) return nullptr;
    ic = it->second;
  }
  auto capacitor = std::make_unique<Capacitor>(element, c, ic);
  capacitor->set_value_scale(m);
  return capacitor;
}

}  // namespace memspice::devices
