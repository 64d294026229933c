// MSS memristor as an MNA device (equations in devices/mss_model.h, spec models.md section 1).
//
// Netlist:
//   .model mssn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6 phi=1
//                    [af=.. bf=.. ar=.. br=..] [x0=..] [convention=knowm])
//   YMSS m1 p n mssn [x0=7.5232e-3] [any model parameter as an instance override]
//
// Unknowns: the node voltages of p and n and one internal state x, output name "x(m1)".
// Rows (f + dq/dt = 0):
//   KCL p:  f += i(x, u)          KCL n:  f -= i(x, u)          u = v(p) - v(n)
//   state:  f = -dx/dt(x, u), q = x             (transient)
//           f = x - x0,       q = x             (DC: the state is held at its initial value)
// Parameters are checked when the device is created; errors point at the instance line.
#ifndef MEMSPICE_DEVICES_MSS_H_
#define MEMSPICE_DEVICES_MSS_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/mss_model.h"

namespace memspice::devices {

class MssDevice : public Device {
 public:
  // Distance outside [0, 1] that CheckState tolerates (Newton/integrator round-off).
  static constexpr double kStateTolerance = 1e-5;

  MssDevice(std::string name, netlist::SourceLoc loc, std::string node_p, std::string node_n,
            const mss::MssParams& params, double x0);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void InitialState(double* x) const override;
  std::string CheckState(const double* x) const override;
  // Exact partials for every numeric model parameter (through the templates of mss_model.h with
  // a dual number) and x0 (DC hold and initial state only).
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  void InitialStatePartial(int handle, ParamSink& out) const override;

  const mss::MssParams& params() const { return params_; }
  double x0() const { return x0_; }
  // Unknown indices, valid after Setup().
  int node_p() const { return p_; }
  int node_n() const { return n_; }
  int state_index() const { return s_; }

 private:
  static constexpr int kX0Handle = mss::kNumMssParams;
  std::string node_p_name_, node_n_name_;
  mss::MssParams params_;
  double x0_;
  int p_ = kGround, n_ = kGround, s_ = kGround;
  // Matrix handles: KCL rows (pp, pn, np, nn, ps, ns) and the state row (sp, sn, ss).
  int h_pp_ = -1, h_pn_ = -1, h_np_ = -1, h_nn_ = -1, h_ps_ = -1, h_ns_ = -1;
  int h_sp_ = -1, h_sn_ = -1, h_ss_ = -1;
};

// Resolves the model card and instance overrides of an MSS element into parameters and x0.
// Reports every problem at the element's location; returns false if there was any.
bool ResolveMssParams(const netlist::Element& element, const netlist::Netlist& netlist,
                      netlist::Diagnostics& diag, mss::MssParams* params, double* x0);

// The defaults of every numeric parameter (MEMprop Table III).
inline constexpr mss::MssParams kMssDefaults{};

// Programming and noise description of an MSS synapse (docs/device_updates.md): how training
// programs it by voltage pulses and how real devices deviate. It is written on the device's
// .model card next to the circuit parameters, so that one card describes a synapse for `sim`,
// `gen crossbar`, `train` and `eval`; the circuit simulator accepts these keys and ignores them.
struct MssProgramming {
  double set_amplitude = 0.40;     // SET pulse [V] (> von)
  double reset_amplitude = -0.40;  // RESET pulse [V] (< voff)
  double pulse_width = 2e-6;       // [s]; about 1 uS per pulse mid-range for the default synapse
  double max_pulses = 1000;        // cap per programming train (a whole number)
  double write_sd = 0;             // cycle-to-cycle write noise SD per programming train [S]
  double read_sd = 0;              // read noise SD [S] (verify reads, inference under noise)
  double spread = 0;               // device-to-device log-normal SD of ron, roff, von, voff, tau
  double stuck_on = 0;             // fraction of devices stuck at G_max
  double stuck_off = 0;            // fraction of devices stuck at G_min
  double retention_time = 0;       // time at 0 V between two updates [s] (retention drift)
};
inline constexpr MssProgramming kMssProgrammingDefaults{};

// Parameter table (descriptor.h). Every circuit parameter may be written on the .model card and
// overridden per instance; the programming rows go on the card only.
inline constexpr ParamInfo kMssParams[] = {
    {"ron", kMssDefaults.ron, "Ohm", 0.0, kInf, true, ParamScope::kBoth},
    {"roff", kMssDefaults.roff, "Ohm", 0.0, kInf, true, ParamScope::kBoth},
    {"von", kMssDefaults.von, "V", -kInf, kInf, false, ParamScope::kBoth},
    {"voff", kMssDefaults.voff, "V", -kInf, kInf, false, ParamScope::kBoth},
    {"tau", kMssDefaults.tau, "s", 0.0, kInf, true, ParamScope::kBoth},
    {"vt", kMssDefaults.vt, "V", 0.0, kInf, true, ParamScope::kBoth},
    {"k", kMssDefaults.k, "1", 0.0, 1.0, true, ParamScope::kBoth},
    {"phi", kMssDefaults.phi, "1", 0.0, 1.0, false, ParamScope::kBoth},
    {"af", kMssDefaults.af, "A", 0.0, kInf, true, ParamScope::kBoth},
    {"bf", kMssDefaults.bf, "1/V", 0.0, kInf, true, ParamScope::kBoth},
    {"ar", kMssDefaults.ar, "A", 0.0, kInf, true, ParamScope::kBoth},
    {"br", kMssDefaults.br, "1/V", 0.0, kInf, true, ParamScope::kBoth},
    {"x0", 0.0, "1", 0.0, 1.0, false, ParamScope::kBoth},  // initial state
    // knowm: P_off = 1 - sigma((u + voff)/(k vt)); memspice, memprop, standard: the default.
    {"convention", kNoDefault, "", -kInf, kInf, false, ParamScope::kModel, ParamKind::kText},
    {"level", 1.0, "1", 1.0, 1.0, false, ParamScope::kModel},  // accepted; one level exists
    // Programming and noise (MssProgramming, in kMssProgrammingFields order).
    {"set_amplitude", kMssProgrammingDefaults.set_amplitude, "V", -kInf, kInf, false,
     ParamScope::kModel},
    {"reset_amplitude", kMssProgrammingDefaults.reset_amplitude, "V", -kInf, kInf, false,
     ParamScope::kModel},
    {"pulse_width", kMssProgrammingDefaults.pulse_width, "s", 0.0, kInf, false, ParamScope::kModel},
    {"max_pulses", kMssProgrammingDefaults.max_pulses, "1", 1.0, kInf, false, ParamScope::kModel},
    {"write_sd", kMssProgrammingDefaults.write_sd, "S", 0.0, kInf, false, ParamScope::kModel},
    {"read_sd", kMssProgrammingDefaults.read_sd, "S", 0.0, kInf, false, ParamScope::kModel},
    {"spread", kMssProgrammingDefaults.spread, "1", 0.0, 1.0, false, ParamScope::kModel},
    {"stuck_on", kMssProgrammingDefaults.stuck_on, "1", 0.0, 1.0, false, ParamScope::kModel},
    {"stuck_off", kMssProgrammingDefaults.stuck_off, "1", 0.0, 1.0, false, ParamScope::kModel},
    {"retention_time", kMssProgrammingDefaults.retention_time, "s", 0.0, kInf, false,
     ParamScope::kModel},
};

// The rows of kMssParams from kFirstMssProgrammingRow on are the fields of MssProgramming, in
// this order (checked in mss.cc), with what they mean (the help of the `train` flags
// --<name with '-' for '_'>).
inline constexpr size_t kFirstMssProgrammingRow = mss::kNumMssParams + 3;
struct MssProgrammingField {
  double MssProgramming::*field;
  const char* help;
};
inline constexpr MssProgrammingField kMssProgrammingFields[] = {
    {&MssProgramming::set_amplitude, "SET pulse amplitude [V] (above von)"},
    {&MssProgramming::reset_amplitude, "RESET pulse amplitude [V] (below voff, negative)"},
    {&MssProgramming::pulse_width, "Programming pulse width [s]"},
    {&MssProgramming::max_pulses, "Pulses per programming train cap"},
    {&MssProgramming::write_sd, "Cycle-to-cycle write noise SD per programming train [S], e.g. 2u"},
    {&MssProgramming::read_sd, "Read noise SD [S] (verify reads; eval --noise-seed)"},
    {&MssProgramming::spread, "Device-to-device log-normal SD of ron, roff, von, voff, tau"},
    {&MssProgramming::stuck_on, "Fraction of devices stuck at G_max"},
    {&MssProgramming::stuck_off, "Fraction of devices stuck at G_min"},
    {&MssProgramming::retention_time, "Time at 0 V between updates [s] (retention drift)"},
};
inline constexpr std::span<const ParamInfo> kMssProgrammingRows =
    std::span<const ParamInfo>(kMssParams).subspan(kFirstMssProgrammingRow);

// Everything a .model card of type mss says: the circuit parameters, the initial state x0 and
// the programming description. Reads `model` (model-card values only) and reports every problem
// at loc, naming `user` ("memristor 'm1'", "device card"); false if there was any.
bool ResolveMssModel(const netlist::Model& model, const netlist::SourceLoc& loc,
                     const std::string& user, netlist::Diagnostics& diag, mss::MssParams* params,
                     double* x0, MssProgramming* programming);

// ngspice export of one instance (NgspiceWriter, descriptor.h): the current and the state rate
// are mss::Current and mss::StateRate written as ngspice expressions (ngspice_expr.h):
//     Bmss_m1  p n     I = i(V(m1_x), V(p,n))
//     Cmss_m1  m1_x 0  1 IC=x0                            state x on a 1 F capacitor
//     Bmssx_m1 0 m1_x  I = dx/dt(V(m1_x), V(p,n)) + DC hold of x at x0
bool WriteMssNgspice(const NgspiceInstance& inst, netlist::Diagnostics& diag, std::string* cards);

// Registry factory for `Y<anything> name p n model ...` with type "mss".
std::unique_ptr<Device> CreateMss(const netlist::Element& element, const netlist::Netlist& netlist,
                                  netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MSS_H_
