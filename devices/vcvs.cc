#include "devices/vcvs.h"

#include <fmt/format.h>

#include "devices/device_util.h"

namespace memspice::devices {

Vcvs::Vcvs(const netlist::Element& element, double gain)
    : GainSource(element, gain), node_c_(element.nodes[2]), node_d_(element.nodes[3]) {}

void Vcvs::Setup(SetupContext& ctx) {
  SetupOutput(ctx);
  c_ = ctx.Node(node_c_);
  d_ = ctx.Node(node_d_);
  AddOutputBranch(ctx);
}

void Vcvs::Bind(BindContext& ctx) {
  BindVoltageOutput(ctx);
  h_br_c_ = ctx.Entry(br_, c_);
  h_br_d_ = ctx.Entry(br_, d_);
}

void Vcvs::Evaluate(EvalContext& ctx) {
  StampVoltageOutput(ctx);
  ctx.f[br_] -= gain_ * (ctx.x[c_] - ctx.x[d_]);
  ctx.G[h_br_c_] -= gain_;
  ctx.G[h_br_d_] += gain_;
}

void Vcvs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  out.Add(br_, -(ctx.x[c_] - ctx.x[d_]), 0.0);
}

std::unique_ptr<Device> CreateVcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) return CreateBehavioralForm(element, netlist, false, diag);
  const std::optional<double> gain = VoltageControlledValue(
      element, kVcvsParams, "gain", "E1 out 0 in 0 10, or E1 out 0 VALUE={...}", diag);
  if (!gain) return nullptr;
  if (!CheckFinite(element, "gain", *gain, diag)) return nullptr;
  return std::make_unique<Vcvs>(element, *gain);
}

}  // namespace memspice::devices
