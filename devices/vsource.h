// Independent voltage source V: `V1 a b [DC] value [AC mag]
// [PULSE(...)|SIN(...)|EXP(...)|PWL(...)]` with branch current unknown "i(v1)"; positive current
// flows into a, through the source, out of b (SPICE convention: a source delivering power has
// negative current).
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb - value(t) * source_scale
//
// See waveform.h for the time functions and which value applies in DC.
#ifndef MEMSPICE_DEVICES_VSOURCE_H_
#define MEMSPICE_DEVICES_VSOURCE_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/waveform.h"

namespace memspice::devices {

class VoltageSource : public Device {
 public:
  VoltageSource(const netlist::Element& element, SourceValue value);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  bool IsSource() const override { return true; }
  void SetAnalysis(const AnalysisInfo& info) override { value_.SetAnalysis(info); }
  void Breakpoints(double tstop, std::vector<double>* out) const override {
    value_.Breakpoints(tstop, out);
  }
  // Exact partial with respect to the DC value ("value").
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && key == "value" ? 0 : kNoParamPartial;
  }
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  // The source's nodes must hold its value: a difference means the solution blew up numerically
  // (an unstable circuit, e.g. a negative capacitor, drives the node beyond round-off).
  std::string CheckState(const double* x) const override;
  // b[branch] += AC phasor (the branch row is Va - Vb - value = 0).
  void AcStimulus(std::complex<double>* b) const override { b[br_] += value_.ac(); }
  bool SetDcValue(double value) override {
    value_.SetDcValue(value);
    return true;
  }

  const SourceValue& value() const { return value_; }
  int branch() const { return br_; }

 private:
  std::string node_a_, node_b_;
  int a_ = kGround, b_ = kGround, br_ = kGround;
  SourceValue value_;
  double last_value_ = 0.0;  // value(t) of the last evaluation, for CheckState
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kVoltageSourceParams[] = {
    {"value", 0.0, "V", -kInf, kInf, false, ParamScope::kValue},  // DC value
};

std::unique_ptr<Device> CreateVoltageSource(const netlist::Element& element,
                                            const netlist::Netlist& netlist,
                                            netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_VSOURCE_H_
