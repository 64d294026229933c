// Mutual inductance K: `K1 L1 L2 k` couples two inductors with M = k sqrt(L1 L2), 0 < |k| <= 1
// (ngspice syntax). With the inductors' branch rows Va - Vb - d/dt(L i) = 0 (inductor.h):
//
//   q[i(l1)] -= M i(l2),   q[i(l2)] -= M i(l1)
//
// so that V1 = L1 di1/dt + M di2/dt and V2 = M di1/dt + L2 di2/dt, the dot at each inductor's
// first node. k = 1 (an ideal transformer) is accepted as ngspice does; the inductance matrix is
// then singular but the circuit's equations are not, as long as the windings are driven
// through some resistance.
#ifndef MEMSPICE_DEVICES_COUPLING_H_
#define MEMSPICE_DEVICES_COUPLING_H_

#include <memory>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class MutualInductance : public Device {
 public:
  MutualInductance(const netlist::Element& element, double mutual, double dm_dk);

  void Setup(SetupContext& ctx) override {}
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  // Exact partial for the coefficient ("value").
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && key == "value" ? 0 : kNoParamPartial;
  }
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string l1_, l2_;
  double mutual_, dm_dk_;
  int b1_ = kGround, b2_ = kGround;
  int h12_ = -1, h21_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kCouplingParams[] = {
    {"value", kNoDefault, "1", -1.0, 1.0, false, ParamScope::kValue},  // coupling coefficient k
};

std::unique_ptr<Device> CreateCoupling(const netlist::Element& element,
                                       const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_COUPLING_H_
