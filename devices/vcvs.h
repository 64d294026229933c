// Voltage-controlled voltage source E: `E1 a b c d gain` with branch unknown "i(e1)".
// `E1 a b VALUE={expr}` (or vol=) is a behavioural source (see bsource.h).
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb - gain (Vc - Vd)
#ifndef MEMSPICE_DEVICES_VCVS_H_
#define MEMSPICE_DEVICES_VCVS_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/gain_source.h"

namespace memspice::devices {

class Vcvs : public GainSource {
 public:
  Vcvs(const netlist::Element& element, double gain);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string node_c_, node_d_;
  int c_ = kGround, d_ = kGround;
  int h_br_c_ = -1, h_br_d_ = -1;
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
