// What the rest of memspice knows about a device kind: its descriptor. The registry
// (registry.h) holds one descriptor per kind; the circuit builder, the topology checks, the
// fitter, the gradient's parameter resolution and the ngspice export read it, so that a new
// device is its files, its registry row, its docs page and its tests
// (docs/devices/adding_a_device.md).
//
// A descriptor declares
//   - the parameter table: every key the netlist may write for the device (instance line and
//     .model card), with default, unit, valid range, fit scale and where it may be written;
//   - the topology class: which terminals the device connects for the floating-node and
//     voltage-source-loop checks;
//   - the ngspice export: copied verbatim (ngspice has the device) or written as behavioural
//     cards generated from the device's templated equations;
//   - how the netlist names the element's value (the token the deck editor rewrites).
#ifndef MEMSPICE_DEVICES_DESCRIPTOR_H_
#define MEMSPICE_DEVICES_DESCRIPTOR_H_

#include <limits>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
// ParamInfo::default_value of a parameter without a default (required, or absent means "off").
inline constexpr double kNoDefault = std::numeric_limits<double>::quiet_NaN();

// Where the netlist may write a parameter.
enum class ParamScope {
  kValue,     // the element's positional value (ValueSyntax); not a key=value parameter
  kInstance,  // on the element line only (R's m=, a diode's area=)
  kModel,     // on the .model card only
  kBoth,      // on the .model card, and instances may override it (every MSS parameter)
};

enum class ParamKind {
  kNumber,
  kText,  // a word (MSS convention=knowm)
  kList,  // a parenthesised list of numbers (alpha events=(t1 w1 ...))
};

// One row of a device's parameter table.
struct ParamInfo {
  const char* name;      // lower-case key as written in the deck; "value" for the element value
  double default_value;  // kNoDefault if none
  const char* unit;      // SI unit ("Ohm", "F", "s", "V", "A", "1" for dimensionless)
  double lo = -kInf;     // valid range [lo, hi] (bounds of a fit)
  double hi = kInf;
  bool log_scale = false;  // a positive scale: fitted in log space
  ParamScope scope = ParamScope::kInstance;
  ParamKind kind = ParamKind::kNumber;
};

// How the element line names its main value (R, C, L, a gain, the DC value of a source).
struct ValueSyntax {
  // Index of the value token on the element line, counting the element name as token 0
  // ("R1 a b 1k": 3); kNoValueToken if the element has no positional value.
  int token;
  // A keyword that may precede the value ("dc" in "V1 a 0 DC 5"), or nullptr. The table row
  // of scope kValue describes the value.
  const char* keyword;
};
inline constexpr int kNoValueToken = -1;

// How an element couples its terminals, for the topology checks. Pairs are indices into the
// node list the topology function was given.
struct Coupling {
  std::vector<std::pair<int, int>> any;  // any path (conducting or capacitive)
  std::vector<std::pair<int, int>> dc;   // DC-conducting path
  bool voltage_defined = false;          // nodes[0]-nodes[1] fixed by a voltage (V,E,H,L,B V=)
};
// `nodes` are the element's terminals as node ids (equal ids: the same node); it has at least
// two entries.
using TopologyFn = void (*)(const netlist::Element& element, const std::vector<int>& nodes,
                            Coupling* out);

// Topology classes shared by many devices (devices/topology.cc).
void ConductingTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out);
void CapacitiveTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out);
void VoltageDefinedTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out);
void OpenTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out);
// Terminal 0 conducts to every other terminal (a memristor, a multi-terminal resistive device).
void StarTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out);

// One element line of a device ngspice lacks, as the exporter hands it to the device's writer.
struct NgspiceInstance {
  std::string name;                     // instance name, lower case ("m1" of "YMSS m1 ...")
  std::vector<std::string> positional;  // tokens after the name: nodes, then the model name
  // Every parameter that has a value: table defaults, then the model card, then the instance
  // line (lower-case key -> value text as written: a number, {expr}, 'expr' or (list)).
  std::map<std::string, std::string> values;
  bool has_model = false;  // positional.back() names a .model card of the device's model type
  netlist::SourceLoc loc;
};

// Writes behavioural ngspice cards for one instance; reports problems to diag at inst.loc and
// returns false. The cards end with a newline.
using NgspiceWriter = bool (*)(const NgspiceInstance& inst, netlist::Diagnostics& diag,
                               std::string* cards);

struct NgspiceExport {
  bool native;  // ngspice has the device: its lines (and .model cards) are copied verbatim
  NgspiceWriter write = nullptr;  // else: the behavioural rewrite
  const char* helpers = "";       // .func definitions the cards use, emitted once per deck
};

using DeviceFactory = std::unique_ptr<class Device> (*)(const netlist::Element& element,
                                                        const netlist::Netlist& netlist,
                                                        netlist::Diagnostics& diag);

struct DeviceDescriptor {
  char letter;       // element letter: 'r', 'c', ..., 'y'
  const char* type;  // for 'y': the type keyword after the letter ("mss", "alpha"); else ""
  DeviceFactory create;
  const char* description;
  // A small deck fragment with one instance (plus .model if needed) whose first element is
  // the device; the derivative test builds it around nodes "a", "b", "c", "d".
  const char* example;
  // Type of the .model card the device takes ("d", "mss"; several separated by spaces:
  // "nmos pmos"), or nullptr.
  const char* model_type;
  std::span<const ParamInfo> params;
  ValueSyntax value;
  TopologyFn topology;
  NgspiceExport ngspice;
  const char* docs;  // its documentation page, relative to the repository root
};

// Where a parameter may be written.
enum class ParamPlace { kValue, kInstance, kModelCard };

// The row named `key` that may be written at `place` (kInstance also finds kBoth rows, as does
// kModelCard), or nullptr. A diode's "m" is the multiplier on the instance line and the grading
// coefficient on the card: two rows, told apart by the place.
const ParamInfo* FindParam(std::span<const ParamInfo> params, const std::string& key,
                           ParamPlace place);

// The row of scope kValue (what the element's positional value is), or nullptr.
const ParamInfo* ValueParam(std::span<const ParamInfo> params);

// Comma-separated names of the rows that may be written at `place`, in table order, for
// "unknown parameter" hints.
std::string ParamNames(std::span<const ParamInfo> params, ParamPlace place);

// Reports an error for every key of element.params the table does not allow on an instance line
// ("unknown parameter 'foo' for 'r1'", hint: the known names). Returns false if any was reported.
bool CheckInstanceParams(const netlist::Element& element, std::span<const ParamInfo> params,
                         netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_DESCRIPTOR_H_
