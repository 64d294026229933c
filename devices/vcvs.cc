#include "devices/vcvs.h"

#include <fmt/format.h>

#include "devices/bsource.h"
#include "devices/device_util.h"

namespace memspice::devices {

Vcvs::Vcvs(const netlist::Element& element, double gain)
    : Device(element.name, element.loc), gain_(gain) {
  for (int k = 0; k < 4; ++k) nodes_[k] = element.nodes[k];
}

void Vcvs::Setup(SetupContext& ctx) {
  a_ = ctx.Node(nodes_[0]);
  b_ = ctx.Node(nodes_[1]);
  c_ = ctx.Node(nodes_[2]);
  d_ = ctx.Node(nodes_[3]);
  br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void Vcvs::Bind(BindContext& ctx) {
  h_a_br_ = ctx.Entry(a_, br_);
  h_b_br_ = ctx.Entry(b_, br_);
  h_br_a_ = ctx.Entry(br_, a_);
  h_br_b_ = ctx.Entry(br_, b_);
  h_br_c_ = ctx.Entry(br_, c_);
  h_br_d_ = ctx.Entry(br_, d_);
}

void Vcvs::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  const double i = x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.f[br_] += x[a_] - x[b_] - gain_ * (x[c_] - x[d_]);
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
  ctx.G[h_br_c_] -= gain_;
  ctx.G[h_br_d_] += gain_;
}

void Vcvs::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  out.Add(br_, -(ctx.x[c_] - ctx.x[d_]), 0.0);
}

std::unique_ptr<Device> CreateVcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) {
    if (!CheckNodeCount(element, 2, diag)) return nullptr;
    if (!CheckParamNames(element, element.params, {}, diag)) return nullptr;
    auto device = std::make_unique<BehavioralSource>(element, element.expr, false);
    device->SetAnalysis(AnalysisInfo{0.0, 0.0, netlist.temp});
    return device;
  }
  bool ok = CheckNodeCount(element, 4, diag);
  ok = CheckInstanceParams(element, kVcvsParams, diag) && ok;
  if (!ok) return nullptr;
  std::optional<double> gain = element.value;
  if (!gain && element.params.count("gain")) gain = element.params.at("gain");
  if (!gain) {
    diag.Error(element.loc, fmt::format("'{}' has no gain", element.name),
               "write e.g. E1 out 0 in 0 10, or E1 out 0 VALUE={...}");
    return nullptr;
  }
  if (!CheckFinite(element, "gain", *gain, diag)) return nullptr;
  return std::make_unique<Vcvs>(element, *gain);
}

}  // namespace memspice::devices
