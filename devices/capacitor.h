// Capacitor C: `C1 a b value [ic=v0] [m=1]`.
//
//   q[a] += C (Va - Vb),  q[b] -= C (Va - Vb),  f = 0
//
// Open in DC. `ic=` is the initial voltage Va - Vb used with `.tran ... uic`.
#ifndef MEMSPICE_DEVICES_CAPACITOR_H_
#define MEMSPICE_DEVICES_CAPACITOR_H_

#include <memory>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/storage_element.h"

namespace memspice::devices {

class Capacitor : public StorageElement {
 public:
  Capacitor(const netlist::Element& element, const StorageCard& card);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  // With ic= given, sets x[a] = x[b] + ic (or x[b] = -ic when a is ground).
  void InitialState(double* x) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  void InitialStatePartial(int handle, ParamSink& out) const override;

 private:
  int h_aa_ = -1, h_ab_ = -1, h_ba_ = -1, h_bb_ = -1;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kCapacitorParams[] = {
    {"value", kNoDefault, "F", 0.0, kInf, true, ParamScope::kValue},
    {"c", kNoDefault, "F", 0.0, kInf, true},  // the value, written as c=
    {"ic", kNoDefault, "V"},                  // initial voltage (uic)
    {"m", 1.0, "1", 0.0, kInf, true},         // parallel multiplier
};

std::unique_ptr<Device> CreateCapacitor(const netlist::Element& element,
                                        const netlist::Netlist& netlist,
                                        netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_CAPACITOR_H_
