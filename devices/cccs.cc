#include "devices/cccs.h"

#include <fmt/format.h>

#include "devices/device_util.h"

namespace memspice::devices {

int ControlBranch(BindContext& ctx, const Device& device, const std::string& control) {
  int branch = ctx.Branch(control);
  if (branch < 0) {
    ctx.diag().Error(device.loc(),
                     fmt::format("controlling source '{}' of '{}' not found or has no branch "
                                 "current",
                                 control, device.name()),
                     "the controlling element must be a V source (or E, H, L, B with V=); add "
                     "a 0 V source in series to sense a current");
    return kGround;
  }
  return branch;
}

Cccs::Cccs(const netlist::Element& element, double gain)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      control_(element.control),
      gain_(gain) {}

void Cccs::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
}

void Cccs::Bind(BindContext& ctx) {
  ctrl_ = ControlBranch(ctx, *this, control_);
  h_a_ctrl_ = ctx.Entry(a_, ctrl_);
  h_b_ctrl_ = ctx.Entry(b_, ctrl_);
}

void Cccs::Evaluate(EvalContext& ctx) {
  const double i = gain_ * ctx.x[ctrl_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.G[h_a_ctrl_] += gain_;
  ctx.G[h_b_ctrl_] -= gain_;
}

void Cccs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  const double d = value_scale_ * ctx.x[ctrl_];
  out.Add(a_, d, 0.0);
  out.Add(b_, -d, 0.0);
}

std::optional<double> CurrentControlledValue(const netlist::Element& element,
                                             std::span<const ParamInfo> params,
                                             const char* quantity, const char* example,
                                             netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, params, diag) && ok;
  if (element.control.empty()) {
    diag.Error(element.loc, fmt::format("'{}' names no controlling voltage source", element.name),
               fmt::format("write e.g. {}", example));
    ok = false;
  }
  if (!ok) return std::nullopt;
  std::optional<double> value = element.value;
  if (!value && element.params.count("gain")) value = element.params.at("gain");
  if (!value) {
    diag.Error(element.loc, fmt::format("'{}' has no {}", element.name, quantity),
               fmt::format("write e.g. {}", example));
  }
  return value;
}

std::unique_ptr<Device> CreateCccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  std::optional<double> gain =
      CurrentControlledValue(element, kCccsParams, "gain", "F1 out 0 vsense 2", diag);
  if (!gain) return nullptr;
  const double m = ParamOr(element.params, "m", 1.0);
  if (!CheckFinite(element, "gain", *gain * m, diag)) return nullptr;
  auto device = std::make_unique<Cccs>(element, *gain * m);
  device->set_value_scale(m);
  return device;
}

}  // namespace memspice::devices
