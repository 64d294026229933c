// Resistor R: `R1 a b value [m=1] [tc1=0] [tc2=0] [ac=value]` or behavioural `R1 a b {expr of V(),
// I(), time}`.
//
//   f[a] += i,  f[b] -= i,  i = (Va - Vb) / R
//
// Linear: R = value / m * (1 + tc1 (T - 27) + tc2 (T - 27)^2) at the netlist temperature T;
// the .ac analysis uses `ac=` in place of value when given (as ngspice).
// Behavioural: R = expr(probes), with the exact Jacobian including dR/dprobe. |R| is floored at
// kMinResistance (1 uOhm, the ngspice minimum) so the current never becomes infinite or NaN.
#ifndef MEMSPICE_DEVICES_RESISTOR_H_
#define MEMSPICE_DEVICES_RESISTOR_H_

#include <memory>
#include <vector>

#include "devices/behavioral.h"
#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

inline constexpr double kMinResistance = 1e-6;

class Resistor : public Device {
 public:
  Resistor(const netlist::Element& element, double resistance, netlist::Expr expr);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return !behavioral_.valid(); }
  void SetAnalysis(const AnalysisInfo& info) override { behavioral_.set_temperature(info.temp); }
  // Exact partial with respect to the value ("value" or "r"): R = value * dR/dvalue.
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  // dR/d(deck value): 1/m scaled by the temperature coefficients; 0 when R was floored.
  void set_value_scale(double dr_dvalue) { dr_dvalue_ = dr_dvalue; }
  // The resistance the .ac analysis uses (scaled like the value).
  void set_ac_resistance(double r) { ac_resistance_ = r; }
  void SetAcMode(bool ac) override { ac_mode_ = ac; }

  double resistance() const { return resistance_; }

 private:
  std::string node_a_, node_b_;
  int a_ = kGround, b_ = kGround;
  double resistance_;
  double dr_dvalue_ = 0.0;
  double ac_resistance_ = 0.0;  // 0: same as resistance_
  bool ac_mode_ = false;
  BehavioralExpr behavioral_;
  int h_aa_ = -1, h_ab_ = -1, h_ba_ = -1, h_bb_ = -1;
  std::vector<int> h_a_col_, h_b_col_;  // behavioural: rows a, b x expression columns
  std::vector<double> dcol_;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kResistorParams[] = {
    {"value", kNoDefault, "Ohm", 0.0, kInf, true, ParamScope::kValue},
    {"r", kNoDefault, "Ohm", 0.0, kInf, true},  // the value, written as r=
    {"m", 1.0, "1", 0.0, kInf, true},           // parallel multiplier
    {"tc1", 0.0, "1/K"},
    {"tc2", 0.0, "1/K^2"},
    {"ac", kNoDefault, "Ohm", 0.0, kInf, true},  // resistance in the .ac analysis only
};

std::unique_ptr<Device> CreateResistor(const netlist::Element& element,
                                       const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_RESISTOR_H_
