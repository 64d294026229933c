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
    : GainSource(element, gain), control_(element.control) {}

void Cccs::Setup(SetupContext& ctx) { SetupOutput(ctx); }

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
