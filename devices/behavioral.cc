#include "devices/behavioral.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace memspice::devices {

void BehavioralExpr::Setup(SetupContext& ctx) {
  const auto& probes = expr_->probes();
  plus_.assign(probes.size(), kGround);
  minus_.assign(probes.size(), kGround);
  for (size_t k = 0; k < probes.size(); ++k) {
    const netlist::Probe& p = probes[k];
    if (p.kind != netlist::Probe::Kind::kVoltage) continue;
    plus_[k] = ctx.Node(p.a);
    minus_[k] = p.b.empty() ? kGround : ctx.Node(p.b);
  }
  values_.assign(probes.size(), 0.0);
  dprobes_.assign(probes.size(), 0.0);
}

int BehavioralExpr::Column(int unknown) {
  if (unknown == kGround) return -1;
  auto it = std::find(columns_.begin(), columns_.end(), unknown);
  if (it != columns_.end()) return static_cast<int>(it - columns_.begin());
  columns_.push_back(unknown);
  return static_cast<int>(columns_.size()) - 1;
}

bool BehavioralExpr::Bind(BindContext& ctx, const std::string& owner,
                          const netlist::SourceLoc& loc) {
  const auto& probes = expr_->probes();
  bool ok = true;
  columns_.clear();
  plus_col_.assign(probes.size(), -1);
  minus_col_.assign(probes.size(), -1);
  for (size_t k = 0; k < probes.size(); ++k) {
    const netlist::Probe& p = probes[k];
    if (p.kind == netlist::Probe::Kind::kCurrent) {
      int branch = ctx.Branch(p.a);
      if (branch < 0) {
        ctx.diag().Error(loc,
                         fmt::format("'{}' reads I({}), but '{}' is not a voltage source or "
                                     "element with a branch current",
                                     owner, p.a, p.a),
                         "I() can probe V, E, H, L and B (V=) elements; add a 0 V source in "
                         "series to measure another current");
        ok = false;
        continue;
      }
      plus_[k] = branch;
      minus_[k] = kGround;
    }
    plus_col_[k] = Column(plus_[k]);
    minus_col_[k] = Column(minus_[k]);
  }
  return ok;
}

double BehavioralExpr::Evaluate(const double* x, double time, double* dcol) const {
  const size_t n = plus_.size();
  for (size_t k = 0; k < n; ++k) values_[k] = x[plus_[k]] - x[minus_[k]];
  double value = expr_->Evaluate(values_.data(), time, temper_, dprobes_.data());
  std::fill(dcol, dcol + columns_.size(), 0.0);
  for (size_t k = 0; k < n; ++k) {
    if (plus_col_[k] >= 0) dcol[plus_col_[k]] += dprobes_[k];
    if (minus_col_[k] >= 0) dcol[minus_col_[k]] -= dprobes_[k];
  }
  return value;
}

}  // namespace memspice::devices
