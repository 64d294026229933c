// Voltage-controlled current source G: `G1 a b c d gm [m=1]`; the current flows from a through
// the source to b. `G1 a b VALUE={expr}` (or cur=) is a behavioural current source (bsource.h).
//
//   f[a] += gm (Vc - Vd),  f[b] -= gm (Vc - Vd)
#ifndef MEMSPICE_DEVICES_VCCS_H_
#define MEMSPICE_DEVICES_VCCS_H_

#include <memory>
#include <vector>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/gain_source.h"

namespace memspice::devices {

class Vccs : public GainSource {
 public:
  Vccs(const netlist::Element& element, double gm);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string node_c_, node_d_;
  int c_ = kGround, d_ = kGround;
  int h_ac_ = -1, h_ad_ = -1, h_bc_ = -1, h_bd_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kVccsParams[] = {
    {"value", kNoDefault, "S", -kInf, kInf, false, ParamScope::kValue},  // transconductance
    {"gain", kNoDefault, "S"},
    {"m", 1.0, "1", 0.0, kInf, true},  // parallel multiplier
};

// Topology class: a VCCS controlled by its own terminals is a conductance; otherwise it is a
// current source and couples nothing.
void VccsTopology(const netlist::Element& element, const std::vector<int>& nodes, Coupling* out);

std::unique_ptr<Device> CreateVccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_VCCS_H_
