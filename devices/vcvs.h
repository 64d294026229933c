// Voltage-controlled voltage source E: `E1 a b c d gain` with branch unknown "i(e1)".
// `E1 a b VALUE={expr}` (or vol=) is a behavioural source (see bsource.h).
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb - gain (Vc - Vd)
#ifndef MEMSPICE_DEVICES_VCVS_H_
#define MEMSPICE_DEVICES_VCVS_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class Vcvs : public Device {
 public:
  Vcvs(const netlist::Element& element, double gain);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  // Exact partial with respect to the gain ("value" or "gain").
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && (key == "value" || key == "gain") ? 0 : kNoParamPartial;
  }
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

  double gain() const { return gain_; }

 private:
  std::string nodes_[4];
  int a_ = kGround, b_ = kGround, c_ = kGround, d_ = kGround, br_ = kGround;
  double gain_;
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1, h_br_c_ = -1, h_br_d_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kVcvsParams[] = {
    {"value", kNoDefault, "V/V", -kInf, kInf, false, ParamScope::kValue},  // gain
    {"gain", kNoDefault, "V/V"},
};

std::unique_ptr<Device> CreateVcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_VCVS_H_
