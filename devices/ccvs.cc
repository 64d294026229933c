#include "devices/ccvs.h"

#include <fmt/format.h>

#include "devices/cccs.h"
#include "devices/device_util.h"

namespace memspice::devices {

Ccvs::Ccvs(const netlist::Element& element, double transresistance)
    : GainSource(element, transresistance), control_(element.control) {}

void Ccvs::Setup(SetupContext& ctx) {
  SetupOutput(ctx);
  AddOutputBranch(ctx);
}

void Ccvs::Bind(BindContext& ctx) {
  ctrl_ = ControlBranch(ctx, *this, control_);
  BindVoltageOutput(ctx);
  h_br_ctrl_ = ctx.Entry(br_, ctrl_);
}

void Ccvs::Evaluate(EvalContext& ctx) {
  StampVoltageOutput(ctx);
  ctx.f[br_] -= gain_ * ctx.x[ctrl_];
  ctx.G[h_br_ctrl_] -= gain_;
}

void Ccvs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  out.Add(br_, -ctx.x[ctrl_], 0.0);
}

std::unique_ptr<Device> CreateCcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  std::optional<double> r =
      CurrentControlledValue(element, kCcvsParams, "transresistance", "H1 out 0 vsense 1k", diag);
  if (!r) return nullptr;
  if (!CheckFinite(element, "transresistance", *r, diag)) return nullptr;
  return std::make_unique<Ccvs>(element, *r);
}

}  // namespace memspice::devices
