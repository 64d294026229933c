#include "devices/isource.h"

#include "devices/device_util.h"

namespace memspice::devices {

CurrentSource::CurrentSource(const netlist::Element& element, SourceValue value)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      value_(std::move(value)) {}

void CurrentSource::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
}

void CurrentSource::Evaluate(EvalContext& ctx) {
  const double i = value_.Value(ctx);
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
}

void CurrentSource::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  const double d = value_.DcValueDerivative(ctx);
  out.Add(a_, d, 0.0);
  out.Add(b_, -d, 0.0);
}

std::unique_ptr<Device> CreateCurrentSource(const netlist::Element& element,
                                            const netlist::Netlist& netlist,
                                            netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kCurrentSourceParams, diag) && ok;
  SourceValue value;
  ok = value.Init(element, diag) && ok;
  if (!ok) return nullptr;
  return std::make_unique<CurrentSource>(element, std::move(value));
}

}  // namespace memspice::devices
