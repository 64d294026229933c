// Export of a memspice deck to an ngspice-runnable deck by text rewriting.
//
// What changes (everything else is copied verbatim, continuation lines and comments included):
//   - `.include file` / `.inc file` / `.lib file section` are inlined recursively, resolving a
//     relative name against the including file's directory, then against `include_paths`.
//   - Devices ngspice lacks (descriptor field `ngspice`, devices/descriptor.h) are rewritten by
//     their own writer: their `.model` cards are commented out and each element line becomes
//     behavioural cards. `YMSS m1 p n model [params]` becomes (devices/mss.h, generated from the
//     templated equations of devices/mss_model.h):
//         Bmss_m1  p n     I = i(V(m1_x), V(p,n))
//         Cmss_m1  m1_x 0  1 IC=x0                            state x on a 1 F capacitor
//         Bmssx_m1 0 m1_x  I = dx/dt(V(m1_x), V(p,n)) + hold
//     The state x(m1) is the voltage of node `m1_x` (inside subcircuit instance xn1 ngspice names
//     it `xn1.m1_x`): x(NAME) <-> v(NAME_x), see NgspiceSignalName().
//     `YALPHA a1 np nn ...` becomes `Balpha_a1 np nn I = <closed-form alpha sum>`.
//   - `x(NAME)` in .print/.plot/.save/.probe/.meas lines becomes v(NAME_x); `.options method=`
//     values ngspice lacks are mapped (be -> gear maxord=1, gear2 -> gear maxord=2; fe/rk4 ->
//     trap with a warning).
//
// Initial state: memspice holds every memristor state at x0 in DC analyses (op, dc sweeps, the
// operating point before a transient). ngspice ignores `.ic` in `op` and lags `time` in DC
// sweeps, so the export adds one global flag node `mss_dc` driven by
// `Vmss_dc mss_dc 0 DC 1 PWL(0 1 1p 0)`: it is 1 in every DC analysis and 0 in a transient after
// 1 ps. The state equation carries `+ V(mss_dc) * 1e12 * (x0 - x)`, which pins x to x0 (within
// ~1e-9) in DC and vanishes in transient. The capacitor's IC=x0 covers `uic`. Alpha sources see
// the time `time * (1 - V(mss_dc))`, i.e. t = 0 in DC, as in memspice.
#ifndef MEMSPICE_NGSPICE_EXPORT_H_
#define MEMSPICE_NGSPICE_EXPORT_H_

#include <string>
#include <vector>

#include "netlist/diagnostics.h"

namespace memspice::ngspice {

// Rewrites the deck at `deck_path` into ngspice text. Problems (missing include, unknown model
// or parameter of an exported device, malformed Y line, include cycle) are reported to `diag` at
// their source location; returns false if there was any error (out_text is then unspecified).
bool ExportNgspice(const std::string& deck_path, const std::vector<std::string>& include_paths,
                   std::string* out_text, netlist::Diagnostics& diag);

// Same for deck text held in memory; `name` is used for locations and to resolve relative
// includes.
bool ExportNgspiceString(const std::string& text, const std::string& name,
                         const std::vector<std::string>& include_paths, std::string* out_text,
                         netlist::Diagnostics& diag);

// The ngspice vector that holds a memspice signal of an exported deck: "x(xn1.m1)" ->
// "v(xn1.m1_x)"; other names are returned unchanged (lower case).
std::string NgspiceSignalName(const std::string& memspice_name);

}  // namespace memspice::ngspice

#endif  // MEMSPICE_NGSPICE_EXPORT_H_
