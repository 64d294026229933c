// The flattened netlist: what the parser hands to the circuit builder.
//
// All names are lower case. Subcircuits are expanded: an element `R1` inside instance `X1` is
// named "x1.r1"; its internal node `n2` is "x1.n2" (as ngspice names them); ground is "0" (the
// aliases "gnd" and "0" map to "0"). Parameters and .func calls are evaluated: numeric values are
// doubles; only behavioural expressions keep a resolved Expression whose remaining free symbols
// are probes, `time` and `temper`.
#ifndef MEMSPICE_NETLIST_NETLIST_H_
#define MEMSPICE_NETLIST_NETLIST_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netlist/diagnostics.h"
#include "netlist/expression.h"

namespace memspice::netlist {

// Time dependence of an independent source, arguments exactly as in the deck with defaults
// filled per ngspice (PULSE: v1 v2 td tr tf pw per; SIN: vo va freq td theta phase;
// EXP: v1 v2 td1 tau1 td2 tau2; PWL: t1 v1 t2 v2 ...). Defaults that depend on the analysis
// (tr/tf/pw/per = tstep/tstop) are left as NaN for the device to fill from AnalysisContext.
// PULSE may carry an 8th argument, ngspice's number of pulses (0 = no limit). PWL `td=` is
// folded into the times; `r=` becomes `repeat`.
struct Waveform {
  enum class Kind { kDc, kPulse, kSin, kExp, kPwl };
  Kind kind = Kind::kDc;
  std::vector<double> args;
  // PWL: from the last time point on, the section [repeat, t_last] repeats; NaN = no repeat.
  double repeat = std::numeric_limits<double>::quiet_NaN();
};

struct Element {
  std::string name;                // lower case, hierarchical ("x1.r1")
  char letter = 0;                 // 'r','c','l','v','i','e','f','g','h','b','d','m','q','j',
                                   // 's','w','k','y'
  std::string type;                // Y devices: keyword after Y ("mss", "alpha") or model type
  std::vector<std::string> nodes;  // flattened node names; ground is "0"
  std::string control;             // F/H/W: controlling voltage source; K: first inductor
  std::string control2;            // K: second coupled inductor (flattened)
  std::optional<double> value;     // R/C/L value, E/F/G/H gain, V/I DC value
  Expr expr;                       // behavioural: B V=/I=, R={..V()..}, E/G VALUE={...}
  bool expr_is_current = false;    // B source: true for I=, false for V=
  Waveform waveform;               // V/I transient function (kDc if none)
  double ac_mag = 0.0;             // V/I `AC mag [phase]`
  double ac_phase = 0.0;           // V/I AC phase, degrees
  std::string model;               // D/Y: model name (lower case)
  std::map<std::string, double> params;  // instance parameters, lower case (ic, x0, area, m, ...)
  std::vector<double> list;  // free numeric list (e.g. alpha source event times/weights)
  // M, Q, J: `IC=` initial terminal voltages for uic (M: vds, vgs, vbs; Q: vbe, vce; J: vds, vgs;
  // the values not written are 0).
  std::vector<double> ic;
  // Under `.dc temp`: values written with `temper` ("value" = the value above, else a key of
  // params), re-evaluated at each sweep temperature (EvaluateAtTemperature).
  std::map<std::string, Expr> temper_values;
  SourceLoc loc;
};

struct Model {
  std::string name;                                // lower case
  std::string type;                                // lower case: "d", "mss", "r", "c", ...
  std::map<std::string, double> params;            // lower case
  std::map<std::string, std::string> text_params;  // non-numeric (e.g. convention=knowm)
  std::map<std::string, Expr> temper_values;       // as Element::temper_values, keys of params
  SourceLoc loc;
};

struct DcSweep {
  std::string source;  // element name of a V or I source (or "temp")
  double start = 0, stop = 0, step = 0;
};

struct Analysis {
  enum class Kind { kOp, kDc, kTran, kAc };
  enum class AcSweep { kDec, kOct, kLin };
  Kind kind = Kind::kOp;
  std::vector<DcSweep> sweeps;  // .dc: first is the inner (fastest) sweep, as in ngspice
  double tstep = 0, tstop = 0, tstart = 0, tmax = 0;  // .tran; tmax 0 = not given
  bool uic = false;
  AcSweep ac_sweep = AcSweep::kDec;  // .ac dec|oct|lin points fstart fstop
  int ac_points = 0;                 // per decade / per octave / in total
  double fstart = 0, fstop = 0;
  SourceLoc loc;
};

struct NodeValue {
  std::string node;  // flattened
  double value = 0;
  SourceLoc loc;
};

struct Netlist {
  std::string title;
  std::vector<Element> elements;
  std::map<std::string, Model> models;
  std::vector<NodeValue> ics;             // .ic V(node)=value
  std::vector<NodeValue> nodesets;        // .nodeset V(node)=value
  std::map<std::string, double> options;  // .options numeric values (reltol, abstol, ...)
  std::string method;                     // .options method=trap|gear|be|...; empty = default
  double temp = 27.0;                     // .temp, degrees Celsius
  std::vector<Analysis> analyses;         // in deck order
  std::vector<std::string> outputs;       // .print/.plot/.save selections, e.g. "v(out)", "i(v1)"
  std::map<std::string, double> params;   // top-level .param values after overrides
  std::vector<std::string> files;         // main file then included files, for reporting
  int random_draws = 0;  // agauss/gauss/aunif/unif values drawn (0: the deck has no randomness)
};

// Seed of the Monte Carlo functions when the deck sets no `.options seed=`.
inline constexpr uint64_t kDefaultSeed = 1;
// Largest `.options seed=`: integers up to 2^53 are exact in the double that .options holds.
inline constexpr double kMaxSeed = 9007199254740992.0;

struct ParseOptions {
  std::map<std::string, double> overrides;  // --set NAME=VALUE: replaces top-level .param values
  std::vector<std::string> include_paths;   // searched after the including file's directory
  // Upper bound on flattened elements (guards against exponential subcircuit expansion);
  // 0 means no limit.
  size_t max_elements = 0;
  // Seed of agauss/gauss/aunif/unif, replacing `.options seed=` (a Monte Carlo run's own seed).
  std::optional<uint64_t> seed;
  // The nominal circuit: agauss/gauss/aunif/unif return their nominal value (Monte Carlo run 0).
  bool nominal = false;
  // Letters of the elements to flatten (e.g. "e"), X instances always expanded and dot cards
  // skipped; empty: everything. For a second look at a few values under other overrides.
  std::string only_letters;
};

// The memspice name of a signal written the ngspice way: lower case; `v1#branch` and
// `I(V1)` -> `i(v1)`; an element inside a subcircuit carries ngspice's letter prefix
// (`v.xmem.vx#branch`, `i(v.xmem.vx)` -> `i(xmem.vx)`). memspice names are fixed points.
std::string CanonicalSignalName(const std::string& name);

// True if an element or model of nl keeps values that follow `.dc temp` (temper_values).
bool HasTemperValues(const Netlist& nl);
// The netlist at another temperature: temp set, every temper_values entry re-evaluated there.
// Devices built from it see the values ngspice's `.dc temp` gives them at that temperature.
Netlist AtTemperature(const Netlist& nl, double celsius);

// A deck read, split into cards and sorted into subcircuit definitions once, then flattened as
// often as needed (e.g. again under other overrides) without reading or tokenizing it again.
class ParsedDeck {
 public:
  ~ParsedDeck();
  ParsedDeck(const ParsedDeck&) = delete;
  ParsedDeck& operator=(const ParsedDeck&) = delete;

  // Reads deck text; `name` as in ParseString. Errors of the cards are reported by Flatten.
  static std::unique_ptr<ParsedDeck> Read(std::string_view text, const std::string& name,
                                          const ParseOptions& options);
  // Reads the file at `path`; nullptr (error in diag) if it cannot be read.
  static std::unique_ptr<ParsedDeck> ReadFile(const std::string& path, const ParseOptions& options,
                                              Diagnostics& diag);
  // The main file's text.
  const std::string& text() const;
  // The flattened netlist under `options` (its include paths are ignored: the read's hold). On
  // error returns nullopt; diag holds every error of the read and of this pass.
  std::optional<Netlist> Flatten(const ParseOptions& options, Diagnostics& diag) const;

 private:
  struct Impl;
  ParsedDeck();
  std::unique_ptr<Impl> impl_;
};

// Parses and flattens a deck. On error returns nullopt; diag holds every error of the pass.
std::optional<Netlist> ParseFile(const std::string& path, const ParseOptions& options,
                                 Diagnostics& diag);
// Same for in-memory text; `name` is used in locations and to resolve relative .include paths.
std::optional<Netlist> ParseString(std::string_view text, const std::string& name,
                                   const ParseOptions& options, Diagnostics& diag);

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_NETLIST_H_
