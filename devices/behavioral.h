// A behavioural expression evaluated on circuit unknowns: maps the probes of a resolved
// netlist::Expression (V(a), V(a,b), I(vx)) to unknown indices and turns d(value)/d(probe) into
// d(value)/d(x[col]) for the distinct unknowns it reads. Shared by B sources, behavioural R and
// E/G with VALUE=.
#ifndef MEMSPICE_DEVICES_BEHAVIORAL_H_
#define MEMSPICE_DEVICES_BEHAVIORAL_H_

#include <string>
#include <vector>

#include "devices/device.h"
#include "netlist/expression.h"

namespace memspice::devices {

class BehavioralExpr {
 public:
  BehavioralExpr() = default;
  explicit BehavioralExpr(netlist::Expr expr) : expr_(std::move(expr)) {}

  bool valid() const { return expr_ != nullptr; }
  const netlist::Expression& expr() const { return *expr_; }

  // Resolves voltage probes to nodes.
  void Setup(SetupContext& ctx);
  // Resolves current probes to branch unknowns; reports an error at `loc` naming `owner` for a
  // probe of an element without a branch current. Returns false on error.
  bool Bind(BindContext& ctx, const std::string& owner, const netlist::SourceLoc& loc);

  // Distinct unknowns the expression reads (no ground), valid after Bind().
  const std::vector<int>& columns() const { return columns_; }

  // Value at x and time; dcol[k] = d value / d x[columns()[k]] (dcol sized columns().size()).
  double Evaluate(const double* x, double time, double* dcol) const;

  void set_temperature(double celsius) { temper_ = celsius; }

 private:
  int Column(int unknown);

  netlist::Expr expr_;
  double temper_ = 27.0;
  // Per probe: unknown indices of the positive and negative side (kGround if none).
  std::vector<int> plus_, minus_;
  // Per probe: positions in columns_ of plus_/minus_ (-1 for ground).
  std::vector<int> plus_col_, minus_col_;
  std::vector<int> columns_;
  mutable std::vector<double> values_, dprobes_;
};

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_BEHAVIORAL_H_
