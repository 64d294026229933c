#include "devices/bsource.h"

#include <fmt/format.h>

#include "devices/device_util.h"

namespace memspice::devices {

BehavioralSource::BehavioralSource(const netlist::Element& element, netlist::Expr expr,
                                   bool is_current)
    : Device(element.name, element.loc),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      behavioral_(std::move(expr)),
      is_current_(is_current) {}

void BehavioralSource::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  if (!is_current_) br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
  behavioral_.Setup(ctx);
}

void BehavioralSource::Bind(BindContext& ctx) {
  behavioral_.Bind(ctx, name(), loc());
  h_a_col_.clear();
  h_b_col_.clear();
  if (is_current_) {
    for (int col : behavioral_.columns()) {
      h_a_col_.push_back(ctx.Entry(a_, col));
      h_b_col_.push_back(ctx.Entry(b_, col));
    }
  } else {
    h_a_br_ = ctx.Entry(a_, br_);
    h_b_br_ = ctx.Entry(b_, br_);
    h_br_a_ = ctx.Entry(br_, a_);
    h_br_b_ = ctx.Entry(br_, b_);
    for (int col : behavioral_.columns()) h_a_col_.push_back(ctx.Entry(br_, col));
  }
  dcol_.assign(behavioral_.columns().size(), 0.0);
}

void BehavioralSource::Evaluate(EvalContext& ctx) {
  const double value = behavioral_.Evaluate(ctx.x, ctx.time, dcol_.data());
  if (is_current_) {
    ctx.f[a_] += value;
    ctx.f[b_] -= value;
    for (size_t k = 0; k < dcol_.size(); ++k) {
      ctx.G[h_a_col_[k]] += dcol_[k];
      ctx.G[h_b_col_[k]] -= dcol_[k];
    }
    return;
  }
  const double i = ctx.x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.f[br_] += ctx.x[a_] - ctx.x[b_] - value;
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
  for (size_t k = 0; k < dcol_.size(); ++k) ctx.G[h_a_col_[k]] -= dcol_[k];
}

std::unique_ptr<Device> CreateBehavioralSource(const netlist::Element& element,
                                               const netlist::Netlist& netlist,
                                               netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, kBehavioralSourceParams, diag) && ok;
  if (!element.expr) {
    diag.Error(element.loc, fmt::format("'{}' has no V= or I= expression", element.name),
               "write e.g. B1 out 0 V={2*V(in)} or B1 a b I={1m*tanh(V(a,b))}");
    ok = false;
  }
  if (!ok) return nullptr;
  auto device = std::make_unique<BehavioralSource>(element, element.expr, element.expr_is_current);
  device->SetAnalysis(AnalysisInfo{0.0, 0.0, netlist.temp});
  return device;
}

void BehavioralSourceTopology(const netlist::Element& element, const std::vector<int>& nodes,
                              Coupling* out) {
  if (!element.expr_is_current) {
    VoltageDefinedTopology(element, nodes, out);
  } else if (element.expr && !element.expr->probes().empty()) {
    ConductingTopology(element, nodes, out);
  }
}

}  // namespace memspice::devices
