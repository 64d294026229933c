#include "devices/inductor.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

Inductor::Inductor(const netlist::Element& element, double inductance, std::optional<double> ic)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      inductance_(inductance),
      ic_(ic) {}

void Inductor::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void Inductor::Bind(BindContext& ctx) {
  h_a_br_ = ctx.Entry(a_, br_);
  h_b_br_ = ctx.Entry(b_, br_);
  h_br_a_ = ctx.Entry(br_, a_);
  h_br_b_ = ctx.Entry(br_, b_);
  h_br_br_ = ctx.Entry(br_, br_);
}

void Inductor::Evaluate(EvalContext& ctx) {
  const double i = ctx.x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.f[br_] += ctx.x[a_] - ctx.x[b_];
  ctx.q[br_] -= inductance_ * i;
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
  ctx.C[h_br_br_] -= inductance_;
}

void Inductor::InitialState(double* x) const {
  if (ic_) x[br_] = *ic_;
}

int Inductor::ParamHandle(const std::string& key, bool model_card) const {
  if (model_card) return kNoParamPartial;
  if (key == "value" || key == "l") return 0;
  if (key == "ic" && ic_) return 1;
  return kNoParamPartial;
}

void Inductor::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  if (handle != 0) return;  // ic= only sets the initial state
  out.Add(br_, 0.0, -value_scale_ * ctx.x[br_]);
}

void Inductor::InitialStatePartial(int handle, ParamSink& out) const {
  if (handle == 1) out.Add(br_, 1.0, 0.0);
}

std::optional<double> DeckInductance(const netlist::Element& element) {
  std::optional<double> value = element.value;
  if (!value && element.params.count("l")) value = element.params.at("l");
  if (!value && element.expr && element.expr->IsConstant()) {
    value = element.expr->EvaluateConstant();
  }
  return value;
}

std::unique_ptr<Device> CreateInductor(const netlist::Element& element,
                                       const netlist::Netlist& netlist,
                                       netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kInductorParams, diag) && ok;
  if (!ok) return nullptr;
  std::optional<double> value = DeckInductance(element);
  if (!value) {
    diag.Error(element.loc,
               element.expr ? fmt::format("inductor '{}' has a non-constant value; only "
                                          "constant inductances are supported",
                                          element.name)
                            : fmt::format("inductor '{}' has no value", element.name),
               "write e.g. L1 a b 1m");
    return nullptr;
  }
  const double m = ParamOr(element.params, "m", 1.0);
  if (!(m > 0.0) || !std::isfinite(m)) {
    diag.Error(element.loc,
               fmt::format("multiplier m of '{}' must be > 0, got {}", element.name, m));
    return nullptr;
  }
  // m inductors in parallel.
  const double l = *value / m;
  if (!CheckFinite(element, "inductance", l, diag)) return nullptr;
  std::optional<double> ic;
  if (auto it = element.params.find("ic"); it != element.params.end()) {
    if (!CheckFinite(element, "ic", it->second, diag)) return nullptr;
    ic = it->second;
  }
  auto inductor = std::make_unique<Inductor>(element, l, ic);
  inductor->set_value_scale(1.0 / m);
  return inductor;
}

}  // namespace memspice::devices
