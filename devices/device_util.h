// Small helpers shared by the standard devices: parameter lookup and checks that report at the
// element's location.
#ifndef MEMSPICE_DEVICES_DEVICE_UTIL_H_
#define MEMSPICE_DEVICES_DEVICE_UTIL_H_

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "devices/device.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

// Value of `key` in `params`, or `fallback` when absent.
double ParamOr(const std::map<std::string, double>& params, const std::string& key,
               double fallback);

// Reports an error for every key of `params` not in `allowed` ("unknown parameter 'foo' for
// 'r1'"). Returns false if any was reported.
bool CheckParamNames(const netlist::Element& element, const std::map<std::string, double>& params,
                     std::initializer_list<const char*> allowed, netlist::Diagnostics& diag);

// Reports an error unless the element has exactly `count` nodes. Returns false on error.
bool CheckNodeCount(const netlist::Element& element, size_t count, netlist::Diagnostics& diag);

// Reports an error unless `value` is finite. `what` names the quantity ("resistance").
bool CheckFinite(const netlist::Element& element, const char* what, double value,
                 netlist::Diagnostics& diag);

// The instance's AREA times its parallel multiplier M (both default 1), or nullopt after an error
// naming `kind` ("BJT") when either is not a positive finite number.
std::optional<double> AreaTimesMultiplier(const netlist::Element& element, const char* kind,
                                          netlist::Diagnostics& diag);

// A device's own temperature (SPICE's instance TEMP and DTEMP, Celsius): `temp` replaces the
// circuit temperature, else `dtemp` is added to it.
struct InstanceTemp {
  std::optional<double> temp;
  double dtemp = 0.0;

  static InstanceTemp From(const netlist::Element& element);
  // The device temperature in kelvin when the circuit is at `circuit_celsius`.
  double Kelvin(double circuit_celsius) const;
};

// An internal node (behind a series resistance) and the terminal whose voltage it takes.
struct InternalNode {
  int node, terminal;
};

// `uic` with a transistor's IC= values `ic` (M: vds, vgs, vbs; Q: vbe, vce; J: vds, vgs; those
// not given are 0; none: nothing is written): terminal k's node voltage becomes x[ref] + ic[k],
// ref being the source or emitter. When `ref` is not grounded but a terminal is, the reference
// first moves to -ic of the first grounded terminal; grounded nodes and terminals tied to the
// reference are never written. Then each internal node follows its terminal.
void SetTerminalVoltages(int ref, std::initializer_list<int> terminals,
                         const std::vector<double>& ic,
                         std::initializer_list<InternalNode> internal, double* x);

// A model card's nominal temperature in kelvin: its TNOM, else `.options tnom`, else 27 C.
double NominalKelvin(const netlist::Model& card, const netlist::Netlist& netlist);

// A series resistance between an external terminal and the device's internal node (MOSFET RD/RS,
// BJT RC/RE). Binds nothing when the resistance is absent (in == ext); the internal node's
// diagonal entry belongs to the device's own block and is passed to Stamp.
struct SeriesConductance {
  int ext = -1, in = -1;
  int h_ee = -1, h_ei = -1, h_ie = -1;

  void Bind(BindContext& ctx, int ext_node, int in_node) {
    ext = ext_node;
    in = in_node;
    if (in == ext) return;
    h_ee = ctx.Entry(ext, ext);
    h_ei = ctx.Entry(ext, in);
    h_ie = ctx.Entry(in, ext);
  }
  // Adds the current g (x[ext] - x[in]) and its conductance stamp.
  void Stamp(EvalContext& ctx, double g, int h_ii) const {
    if (in == ext) return;
    const double i = g * (ctx.x[ext] - ctx.x[in]);
    ctx.f[ext] += i;
    ctx.f[in] -= i;
    ctx.G[h_ee] += g;
    ctx.G[h_ei] -= g;
    ctx.G[h_ie] -= g;
    ctx.G[h_ii] += g;
  }
};

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_DEVICE_UTIL_H_
