// Inductor L: `L1 a b value [ic=i0] [m=1]`, with branch current unknown "i(l1)" flowing from a
// through the inductor to b.
//
//   f[a] += i,  f[b] -= i,  branch: f = Va - Vb,  q = -L i    (Va - Vb = L di/dt)
//
// A short in DC. `ic=` is the initial current, written by InitialState (used with uic).
#ifndef MEMSPICE_DEVICES_INDUCTOR_H_
#define MEMSPICE_DEVICES_INDUCTOR_H_

#include <memory>
#include <optional>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/storage_element.h"

namespace memspice::devices {

class Inductor : public StorageElement {
 public:
  Inductor(const netlist::Element& element, const StorageCard& card);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void InitialState(double* x) const override;  // x[br] = ic
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  void InitialStatePartial(int handle, ParamSink& out) const override;

 private:
  int br_ = kGround;
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1, h_br_br_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kInductorParams[] = {
    {"value", kNoDefault, "H", 0.0, kInf, true, ParamScope::kValue},
    {"l", kNoDefault, "H", 0.0, kInf, true},  // the value, written as l=
    {"ic", kNoDefault, "A"},                  // initial current (uic)
    {"m", 1.0, "1", 0.0, kInf, true},         // parallel multiplier
};

// The inductance an L element's card gives (value, l= or a constant expression) before the
// multiplier m; nullopt if there is none.
std::optional<double> DeckInductance(const netlist::Element& element);

std::unique_ptr<Device> CreateInductor(const netlist::Element& element,
                                       const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_INDUCTOR_H_
