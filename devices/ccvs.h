// Current-controlled voltage source H: `H1 a b vctrl r` with branch unknown "i(h1)".
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb - r i(vctrl)
#ifndef MEMSPICE_DEVICES_CCVS_H_
#define MEMSPICE_DEVICES_CCVS_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class Ccvs : public Device {
 public:
  Ccvs(const netlist::Element& element, double transresistance);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  // Exact partial with respect to the gain ("value" or "gain").
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && (key == "value" || key == "gain") ? 0 : kNoParamPartial;
  }
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

  double transresistance() const { return r_; }
  const std::string& control() const { return control_; }

 private:
  std::string node_a_, node_b_, control_;
  int a_ = kGround, b_ = kGround, br_ = kGround, ctrl_ = kGround;
  double r_;
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1, h_br_ctrl_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kCcvsParams[] = {
    {"value", kNoDefault, "Ohm", -kInf, kInf, false, ParamScope::kValue},  // transresistance
    {"gain", kNoDefault, "Ohm"},
};

std::unique_ptr<Device> CreateCcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_CCVS_H_
