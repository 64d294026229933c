// Current-controlled voltage source H: `H1 a b vctrl r` with branch unknown "i(h1)".
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb - r i(vctrl)
#ifndef MEMSPICE_DEVICES_CCVS_H_
#define MEMSPICE_DEVICES_CCVS_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/gain_source.h"

namespace memspice::devices {

class Ccvs : public GainSource {
 public:
  Ccvs(const netlist::Element& element, double transresistance);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  const std::string& control() const { return control_; }

 private:
  std::string control_;
  int ctrl_ = kGround;
  int h_br_ctrl_ = -1;
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
