// Voltage- and current-controlled switches S and W (ngspice syntax and parameter names):
//   `S1 a b cp cn model [ON|OFF]` with `.model name SW (vt vh ron roff)`: control vc = V(cp, cn)
//   `W1 a b vsense model [ON|OFF]` with `.model name CSW (it ih ron roff)`: control = I(vsense)
//
// ngspice switches jump between RON and ROFF when the control crosses the threshold. memspice
// smooths the jump over a width w so that Newton and the adjoint see derivatives everywhere:
//
//   i = g(vc) (Va - Vb),   g = GOFF (GON / GOFF)^sigma((vc - VT) / w),   sigma(u) = 1/(1+e^-u)
//
// (log-conductance interpolated by a logistic step), GON = 1/RON, GOFF = 1/ROFF, and
// w = kSwitchRelWidth * max(|VT|, unit) with unit 1 V (S) or 1 mA (W): 1 mV / 1 uA for ordinary
// thresholds. Hysteresis (VH, IH > 0) needs a switch state that Newton can follow through the
// jumps; it is refused with an error for now, as are ON/OFF initial states that only matter
// with hysteresis (accepted and ignored when VH = 0, as ngspice's result does not depend on
// them then).
#ifndef MEMSPICE_DEVICES_SWITCH_H_
#define MEMSPICE_DEVICES_SWITCH_H_

#include <memory>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

// Width of the smoothed transition relative to the threshold scale (see above).
inline constexpr double kSwitchRelWidth = 1e-3;

struct SwitchModel {
  double vt = 0.0, vh = 0.0;  // threshold and hysteresis (V for S, A for W)
  double ron = 1.0, roff = 1e12;
};

class Switch : public Device {
 public:
  // current_controlled: W (control is the branch current of element.control).
  Switch(const netlist::Element& element, const SwitchModel& model, bool current_controlled);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  // Exact partials for ron, roff and vt (it for W) of the card.
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string na_, nb_, nc_, nd_, control_;
  bool current_controlled_;
  SwitchModel model_;
  double width_;
  int a_ = kGround, b_ = kGround, c_ = kGround, d_ = kGround;
  int h_aa_ = -1, h_ab_ = -1, h_ba_ = -1, h_bb_ = -1;
  int h_ac_ = -1, h_ad_ = -1, h_bc_ = -1, h_bd_ = -1;  // control columns
};

// Parameter tables (descriptor.h). ON/OFF are accepted without effect (no hysteresis).
inline constexpr ParamInfo kSwitchParams[] = {
    {"on", 0.0, "1", 0.0, 1.0},
    {"off", 0.0, "1", 0.0, 1.0},
    {"vt", 0.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"vh", 0.0, "V", 0.0, 0.0, false, ParamScope::kModel},
    {"ron", 1.0, "Ohm", 0.0, kInf, true, ParamScope::kModel},
    {"roff", 1e12, "Ohm", 0.0, kInf, true, ParamScope::kModel},
};
inline constexpr ParamInfo kCurrentSwitchParams[] = {
    {"on", 0.0, "1", 0.0, 1.0},
    {"off", 0.0, "1", 0.0, 1.0},
    {"it", 0.0, "A", -kInf, kInf, false, ParamScope::kModel},
    {"ih", 0.0, "A", 0.0, 0.0, false, ParamScope::kModel},
    {"ron", 1.0, "Ohm", 0.0, kInf, true, ParamScope::kModel},
    {"roff", 1e12, "Ohm", 0.0, kInf, true, ParamScope::kModel},
};

std::unique_ptr<Device> CreateSwitch(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_SWITCH_H_
