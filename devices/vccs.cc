#include "devices/vccs.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

Vccs::Vccs(const netlist::Element& element, double gm)
    : GainSource(element, gm), node_c_(element.nodes[2]), node_d_(element.nodes[3]) {}

void Vccs::Setup(SetupContext& ctx) {
  SetupOutput(ctx);
  c_ = ctx.Node(node_c_);
  d_ = ctx.Node(node_d_);
}

void Vccs::Bind(BindContext& ctx) {
  h_ac_ = ctx.Entry(a_, c_);
  h_ad_ = ctx.Entry(a_, d_);
  h_bc_ = ctx.Entry(b_, c_);
  h_bd_ = ctx.Entry(b_, d_);
}

void Vccs::Evaluate(EvalContext& ctx) {
  const double i = gain_ * (ctx.x[c_] - ctx.x[d_]);
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.G[h_ac_] += gain_;
  ctx.G[h_ad_] -= gain_;
  ctx.G[h_bc_] -= gain_;
  ctx.G[h_bd_] += gain_;
}

void Vccs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  const double d = value_scale_ * (ctx.x[c_] - ctx.x[d_]);
  out.Add(a_, d, 0.0);
  out.Add(b_, -d, 0.0);
}

std::unique_ptr<Device> CreateVccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) return CreateBehavioralForm(element, netlist, true, diag);
  const std::optional<double> gm = VoltageControlledValue(
      element, kVccsParams, "transconductance", "G1 out 0 in 0 1m, or G1 out 0 VALUE={...}", diag);
  if (!gm) return nullptr;
  const double m = ParamOr(element.params, "m", 1.0);
  if (!CheckFinite(element, "transconductance", *gm * m, diag)) return nullptr;
  auto device = std::make_unique<Vccs>(element, *gm * m);
  device->set_value_scale(m);
  return device;
}

void VccsTopology(const netlist::Element& element, const std::vector<int>& n, Coupling* out) {
  if (n.size() >= 4 && ((n[0] == n[2] && n[1] == n[3]) || (n[0] == n[3] && n[1] == n[2]))) {
    ConductingTopology(element, n, out);
  }
}

}  // namespace memspice::devices
