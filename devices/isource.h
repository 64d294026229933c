// Independent current source I: `I1 a b [DC] value [AC mag]
// [PULSE(...)|SIN(...)|EXP(...)|PWL(...)]`. The current flows from a through the source to b (SPICE
// convention), so it leaves node a:
//
//   f[a] += value(t) * source_scale,  f[b] -= value(t) * source_scale
#ifndef MEMSPICE_DEVICES_ISOURCE_H_
#define MEMSPICE_DEVICES_ISOURCE_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/waveform.h"

namespace memspice::devices {

class CurrentSource : public Device {
 public:
  CurrentSource(const netlist::Element& element, SourceValue value);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override {}
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
  // The source current leaves a and enters b: b[a] -= I, b[b] += I.
  void AcStimulus(std::complex<double>* b) const override {
    b[a_] -= value_.ac();
    b[b_] += value_.ac();
  }
  bool SetDcValue(double value) override {
    value_.SetDcValue(value);
    return true;
  }

  const SourceValue& value() const { return value_; }

 private:
  std::string node_a_, node_b_;
  int a_ = kGround, b_ = kGround;
  SourceValue value_;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kCurrentSourceParams[] = {
    {"value", 0.0, "A", -kInf, kInf, false, ParamScope::kValue},  // DC value
};

std::unique_ptr<Device> CreateCurrentSource(const netlist::Element& element,
                                            const netlist::Netlist& netlist,
                                            netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_ISOURCE_H_
