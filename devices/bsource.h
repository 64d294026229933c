// Behavioural source B: `B1 a b V={expr}` or `B1 a b I={expr}`; also the engine behind E and G
// with VALUE={expr}. The expression may read V(n), V(n1,n2), I(vx), time and temper.
//
//   V=: branch unknown "i(b1)" (current into a, through the source, out of b, as for V):
//       f[a] += i,  f[b] -= i,  branch: f = Va - Vb - expr
//   I=: current from a through the source to b:  f[a] += expr,  f[b] -= expr
//
// The Jacobian is exact: d expr / d probe from Expression::Evaluate mapped to the unknowns.
// Time dependence needs no breakpoints (the step control follows it).
#ifndef MEMSPICE_DEVICES_BSOURCE_H_
#define MEMSPICE_DEVICES_BSOURCE_H_

#include <memory>
#include <vector>

#include "devices/behavioral.h"
#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class BehavioralSource : public Device {
 public:
  // `is_current`: I= (true) or V= (false). nodes[0], nodes[1] are the output terminals.
  BehavioralSource(const netlist::Element& element, netlist::Expr expr, bool is_current);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  // Linear when the expression reads no probe (a pure function of time).
  bool IsLinear() const override { return behavioral_.expr().probes().empty(); }
  bool IsSource() const override { return true; }
  void SetAnalysis(const AnalysisInfo& info) override { behavioral_.set_temperature(info.temp); }

  bool is_current() const { return is_current_; }

 private:
  std::string node_a_, node_b_;
  int a_ = kGround, b_ = kGround, br_ = kGround;
  BehavioralExpr behavioral_;
  bool is_current_;
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1;
  // I=: rows a and b x columns; V=: branch row x columns (in h_a_col_).
  std::vector<int> h_a_col_, h_b_col_;
  std::vector<double> dcol_;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kBehavioralSourceParams[] = {
    // The value of a B source is its expression, V={...} or I={...}.
    {"v", kNoDefault, "V", -kInf, kInf, false, ParamScope::kValue, ParamKind::kText},
    {"i", kNoDefault, "A", -kInf, kInf, false, ParamScope::kValue, ParamKind::kText},
};

// Topology class: V= is voltage-defined; I= reading voltages usually behaves as a conductance;
// an I= of time alone is a current source and couples nothing.
void BehavioralSourceTopology(const netlist::Element& element, const std::vector<int>& nodes,
                              Coupling* out);

std::unique_ptr<Device> CreateBehavioralSource(const netlist::Element& element,
                                               const netlist::Netlist& netlist,
                                               netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_BSOURCE_H_
