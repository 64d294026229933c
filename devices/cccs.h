// Current-controlled current source F: `F1 a b vctrl gain [m=1]`; the current gain * i(vctrl)
// flows from a through the source to b. vctrl is any element with a branch current (V, E, H,
// L, B with V=).
//
//   f[a] += gain i(vctrl),  f[b] -= gain i(vctrl)
#ifndef MEMSPICE_DEVICES_CCCS_H_
#define MEMSPICE_DEVICES_CCCS_H_

#include <memory>
#include <optional>
#include <span>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/gain_source.h"

namespace memspice::devices {

class Cccs : public GainSource {
 public:
  Cccs(const netlist::Element& element, double gain);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  const std::string& control() const { return control_; }

 private:
  std::string control_;
  int ctrl_ = kGround;
  int h_a_ctrl_ = -1, h_b_ctrl_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kCccsParams[] = {
    {"value", kNoDefault, "A/A", -kInf, kInf, false, ParamScope::kValue},  // gain
    {"gain", kNoDefault, "A/A"},
    {"m", 1.0, "1", 0.0, kInf, true},  // parallel multiplier
};

std::unique_ptr<Device> CreateCccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

// Shared by F and H: the branch of the controlling element, or an error naming both.
int ControlBranch(BindContext& ctx, const Device& device, const std::string& control);

// Shared by F and H: the source's value (its value or gain=) after checking its nodes, instance
// parameters and controlling source. `quantity` names the value in messages ("gain",
// "transresistance"), `example` is a correct line. nullopt once the problems are in diag.

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_CCCS_H_
