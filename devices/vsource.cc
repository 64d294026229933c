#include "devices/vsource.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

VoltageSource::VoltageSource(const netlist::Element& element, SourceValue value)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      value_(std::move(value)) {}

void VoltageSource::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void VoltageSource::Bind(BindContext& ctx) {
  h_a_br_ = ctx.Entry(a_, br_);
  h_b_br_ = ctx.Entry(b_, br_);
  h_br_a_ = ctx.Entry(br_, a_);
  h_br_b_ = ctx.Entry(br_, b_);
}

void VoltageSource::Evaluate(EvalContext& ctx) {
  const double i = ctx.x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  last_value_ = value_.Value(ctx);
  ctx.f[br_] += ctx.x[a_] - ctx.x[b_] - last_value_;
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
}

std::string VoltageSource::CheckState(const double* x) const {
  // A blow-up drives the source's nodes far beyond its value (1e3 V and more on a 1 V source):
  // 100x the value plus 1 V is never reached by a healthy solve, whatever time the last
  // evaluation was at (callers may evaluate the circuit at other times between steps).
  constexpr double kBlowupFactor = 100.0, kFloorVolts = 1.0;
  const double va = a_ == kGround ? 0.0 : x[a_], vb = b_ == kGround ? 0.0 : x[b_];
  const double v = va - vb;
  if (std::abs(v) <= kBlowupFactor * (std::abs(last_value_) + kFloorVolts)) return {};
  const std::string nodes =
      b_ == kGround ? fmt::format("v({})", node_a_) : fmt::format("v({},{})", node_a_, node_b_);
  return fmt::format(
      "numerical blow-up: {} = {:.4g} V but source {} sets it to {:.4g} V (node voltages grew "
      "beyond what double precision resolves; is a capacitor, inductor or resistor negative?)",
      nodes, v, name(), last_value_);
}

void VoltageSource::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  out.Add(br_, -value_.DcValueDerivative(ctx), 0.0);
}

std::unique_ptr<Device> CreateVoltageSource(const netlist::Element& element,
                                            const netlist::Netlist& netlist,
                                            netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kVoltageSourceParams, diag) && ok;
  SourceValue value;
  ok = value.Init(element, diag) && ok;
  if (!ok) return nullptr;
  return std::make_unique<VoltageSource>(element, std::move(value));
}

}  // namespace memspice::devices
