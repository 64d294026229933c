// The MSS memristor's parameter table and what a `.model NAME mss (...)` card holds: the circuit
// parameters (mss::MssParams), the initial state and the programming and noise description of a
// synapse (docs/devices/mss.md, docs/device_updates.md). Apart from devices/mss.h so that code
// that reads cards without simulating (training) need not see the device contract.
#ifndef MEMSPICE_DEVICES_MSS_PARAMS_H_
#define MEMSPICE_DEVICES_MSS_PARAMS_H_

#include <cstddef>
#include <span>
#include <string>

#include "devices/descriptor.h"
#include "devices/mss_model.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

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

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MSS_PARAMS_H_
