#include "devices/ccvs.h"

#include <fmt/format.h>

#include "devices/cccs.h"
#include "devices/device_util.h"

namespace memspice::devices {

Ccvs::Ccvs(const netlist::Element& element, double transresistance)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      control_(element.control),
      r_(transresistance) {}

void Ccvs::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void Ccvs::Bind(BindContext& ctx) {
  ctrl_ = ControlBranch(ctx, *this, control_);
  h_a_br_ = ctx.Entry(a_, br_);
  h_b_br_ = ctx.Entry(b_, br_);
  h_br_a_ = ctx.Entry(br_, a_);
  h_br_b_ = ctx.Entry(br_, b_);
  h_br_ctrl_ = ctx.Entry(br_, ctrl_);
}

void Ccvs::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  const double i = x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.f[br_] += x[a_] - x[b_] - r_ * x[ctrl_];
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
  ctx.G[h_br_ctrl_] -= r_;
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
