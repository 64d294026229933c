#include "devices/vccs.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/bsource.h"
#include "devices/device_util.h"

namespace memspice::devices {

Vccs::Vccs(const netlist::Element& element, double gm)
    : Device(element.name, element.loc), gm_(gm) {
  for (int k = 0; k < 4; ++k) nodes_[k] = element.nodes[k];
}

void Vccs::Setup(SetupContext& ctx) {
  a_ = ctx.Node(nodes_[0]);
  b_ = ctx.Node(nodes_[1]);
  c_ = ctx.Node(nodes_[2]);
  d_ = ctx.Node(nodes_[3]);
}

void Vccs::Bind(BindContext& ctx) {
  h_ac_ = ctx.Entry(a_, c_);
  h_ad_ = ctx.Entry(a_, d_);
  h_bc_ = ctx.Entry(b_, c_);
  h_bd_ = ctx.Entry(b_, d_);
}

void Vccs::Evaluate(EvalContext& ctx) {
  const double i = gm_ * (ctx.x[c_] - ctx.x[d_]);
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.G[h_ac_] += gm_;
  ctx.G[h_ad_] -= gm_;
  ctx.G[h_bc_] -= gm_;
  ctx.G[h_bd_] += gm_;
}

void Vccs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  const double d = value_scale_ * (ctx.x[c_] - ctx.x[d_]);
  out.Add(a_, d, 0.0);
  out.Add(b_, -d, 0.0);
}

std::unique_ptr<Device> CreateVccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) {
    if (!CheckNodeCount(element, 2, diag)) return nullptr;
    if (!CheckParamNames(element, element.params, {}, diag)) return nullptr;
    auto device = std::make_unique<BehavioralSource>(element, element.expr, true);
    device->SetAnalysis(AnalysisInfo{0.0, 0.0, netlist.temp});
    return device;
  }
  bool ok = CheckNodeCount(element, 4, diag);
  ok = CheckInstanceParams(element, kVccsParams, diag) && ok;
  if (!ok) return nullptr;
  std::optional<double> gm = element.value;
  if (!gm && element.params.count("gain")) gm = element.params.at("gain");
  if (!gm) {
    diag.Error(element.loc, fmt::format("'{}' has no transconductance", element.name),
               "write e.g. G1 out 0 in 0 1m, or G1 out 0 VALUE={...}");
    return nullptr;
  }
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
