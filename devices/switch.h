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
// thresholds. ON/OFF have no effect then (nor in ngspice).
//
// Hysteresis (VH, IH > 0; ngspice: on above VT + VH, off below VT - VH, else unchanged): the
// switch keeps a state s in [0, 1], the unknown "x(s1)", and g = GOFF (GON / GOFF)^P(s), P a
// logistic step of width kSwitchStateWidth = 0.05 around s = 1/2 scaled to P(0) = 0, P(1) = 1.
// With d = ln(8 / L) w, A = sigma((vc - VT + VH + d)/w), B = sigma((vc - VT - VH - d)/w) and
// w at most VH / kSwitchMinWindow:
//   transient  tau ds/dt = s A + (1 - s) B - s + L A (1 - B) s (1 - s) (2s - 1)
//              (q[s] = tau s, f[s] = minus the right-hand side, L = kSwitchLatch = 1)
//   DC         s = s0 A + (1 - s0) B               (s0 = 1 with ON, else 0)
// An on switch (s = 1) relaxes to 0 only below VT - VH (A -> 0), an off one to 1 only above
// VT + VH (B -> 1). Between them (A (1 - B) ~ 1) the cubic latch term holds s at 0 or 1 and
// completes a transition that the control started, so a switch that discharges its own control
// (a relaxation oscillator) cannot stop half on: the latch's stable branches end at s = 1/4 and
// 3/4 (at A = 8/(8 + L), B = L/(8 + L), hence the offset d that puts these folds on VT -+ VH),
// where P is within 1 % of 0 and 1, so no circuit equilibrium sits on them with a conductance
// between GOFF and GON. tau = kSwitchTau = 1 ps is far below circuit time scales. The latch
// term's slope in s is at least -L/2, so for steps h < 2 tau / L (backward Euler; similar for the
// other methods) the implicit state equation is monotone in s and Newton has one root to find;
// with longer steps it is nearly algebraic and bistable, and where Newton fails at a flip the
// step control shortens h (with a fixed step, keep it that short around flips). The DC state
// follows the control from the ON/OFF initial state (as ngspice's operating point); a .dc sweep
// does not carry the state from point to point.
#ifndef MEMSPICE_DEVICES_SWITCH_H_
#define MEMSPICE_DEVICES_SWITCH_H_

#include <memory>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

// Width of the smoothed transition relative to the threshold scale (see above).
inline constexpr double kSwitchRelWidth = 1e-3;
// The transition width is at most VH / kSwitchMinWindow, so both thresholds stay sharp.
inline constexpr double kSwitchMinWindow = 50.0;
// Time constant of the hysteretic state (s), far below circuit time scales (see above).
inline constexpr double kSwitchTau = 1e-12;

struct SwitchModel {
  double vt = 0.0, vh = 0.0;  // threshold and hysteresis (V for S, A for W)
  double ron = 1.0, roff = 1e12;
};

class Switch : public Device {
 public:
  // current_controlled: W (control is the branch current of element.control). `on`: initial
  // state of a hysteretic switch.
  Switch(const netlist::Element& element, const SwitchModel& model, bool current_controlled,
         bool on);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void InitialState(double* x) const override;
  // Exact partials for ron, roff, vt and vh (it and ih for W) of the card.
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string na_, nb_, nc_, nd_, control_;
  bool current_controlled_;
  void EvaluateHysteretic(EvalContext& ctx);

  SwitchModel model_;
  double width_;
  double s0_;  // initial state of a hysteretic switch
  int a_ = kGround, b_ = kGround, c_ = kGround, d_ = kGround, s_ = kGround;
  int h_aa_ = -1, h_ab_ = -1, h_ba_ = -1, h_bb_ = -1;
  int h_ac_ = -1, h_ad_ = -1, h_bc_ = -1, h_bd_ = -1;              // control columns
  int h_as_ = -1, h_bs_ = -1, h_ss_ = -1, h_sc_ = -1, h_sd_ = -1;  // state row and column
};

// Parameter tables (descriptor.h). ON/OFF: initial state with hysteresis (else no effect).
inline constexpr ParamInfo kSwitchParams[] = {
    {"on", 0.0, "1", 0.0, 1.0},
    {"off", 0.0, "1", 0.0, 1.0},
    {"vt", 0.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"vh", 0.0, "V", 0.0, kInf, false, ParamScope::kModel},
    {"ron", 1.0, "Ohm", 0.0, kInf, true, ParamScope::kModel},
    {"roff", 1e12, "Ohm", 0.0, kInf, true, ParamScope::kModel},
};
inline constexpr ParamInfo kCurrentSwitchParams[] = {
    {"on", 0.0, "1", 0.0, 1.0},
    {"off", 0.0, "1", 0.0, 1.0},
    {"it", 0.0, "A", -kInf, kInf, false, ParamScope::kModel},
    {"ih", 0.0, "A", 0.0, kInf, false, ParamScope::kModel},
    {"ron", 1.0, "Ohm", 0.0, kInf, true, ParamScope::kModel},
    {"roff", 1e12, "Ohm", 0.0, kInf, true, ParamScope::kModel},
};

std::unique_ptr<Device> CreateSwitch(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_SWITCH_H_
