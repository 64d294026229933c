// Generators of N x M crossbar arrays with line parasitics, as netlist text.
//
// Topology (docs/crossbar.md has a drawing). Rows are word lines i = 0..rows-1, physical columns
// are bit lines k = 0..phys_cols-1, where phys_cols = cols, or 2 * cols for differential pairs
// (column j becomes bit lines "<j>p" and "<j>n"; W_ij = G+_ij - G-_ij).
//
//   word line i:  win_i -[rline]- w<i>_<k=0> -[rline]- w<i>_<1> ... w<i>_<last>
//   bit line k:   b<0>_<k> -[rline]- b<1>_<k> ... b<last>_<k> -[rline]- bout_<k>
//   cell (i, k):  from w<i>_<k> to b<i>_<k> (resistor r_<i>_<k> or memristor m_<i>_<k>), or a
//                 1T1R cell: memristor m_<i>_<k> from w<i>_<k> to c<i>_<k> and the NMOS selector
//                 mt_<i>_<k> (drain c<i>_<k>, gate g_<i>, source b<i>_<k>, bulk ground)
//   gate line i:  g_<i>, held by vgate_<i> at gate_voltage (1T1R; ideal: gates draw no current)
//   cline:        a capacitor to ground at every cross-point node (w and b)
//
// A deck adds one SIN source per word line (vin_<i> at win_<i>), the sense element at each bit
// line end (vsense_<k>: a 0 V source so the column current is i(vsense_<k>), or rsense_<k>: a
// resistor to ground), `.options`, `.tran` and a `.save` of the sense signals.
// With rline = 0 the lines are ideal: every cell of row i sits on win_<i> and every cell of bit
// line k on bout_<k>, and no line capacitors are written (they would sit across ideal sources). All
// indices in names and messages are 0-based.
#ifndef MEMSPICE_CIRCUITS_CROSSBAR_H_
#define MEMSPICE_CIRCUITS_CROSSBAR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace memspice::circuits {

enum class CellKind { kResistor, kMss, k1t1r };
enum class SenseKind { kZeroVolt, kResistor };

struct CrossbarSpec {
  int rows = 8;
  int cols = 8;
  double rline = 1.0;    // ohm per line segment; 0 = ideal lines
  double cline = 1e-15;  // farad to ground at each cross-point node (ignored when rline = 0)

  CellKind cell = CellKind::kResistor;
  // Conductance range of a cell [1/roff, 1/ron] (siemens). Used for random conductances, to check
  // given ones, and to map conductances to MSS states x0 = (G - 1/roff) / (1/ron - 1/roff).
  double ron = 1e3;
  double roff = 1e5;

  // Cell weights, row-major rows x cols. Empty: random conductances uniform in [1/roff, 1/ron]
  // drawn from `seed` (reproducible across platforms). Not differential: conductances in S, each
  // in [1/roff, 1/ron]. Differential: signed weights W in S with |W| <= 1/ron - 1/roff, mapped to
  // G+ = 1/roff + max(W, 0), G- = 1/roff + max(-W, 0); random weights are uniform in that range.
  std::vector<double> weights;
  uint64_t seed = 1;
  bool differential = false;

  // MSS cells: `YMSS m_<i>_<k> w b <model> x0=...`. The model comes from `model_card` (verbatim,
  // e.g. ".model syn mss (ron=1k roff=100k ...)") if set, else from `.include <include>`. ron/roff
  // above must match the model's for the x0 mapping to be right.
  std::string model = "mss_synapse";
  std::string model_card;
  std::string include = "mss.lib";

  // 1T1R cells: an MSS memristor (as above) in series with an NMOS selector whose gate line sits
  // at gate_voltage; the selector's saturation current limits the cell current.
  double gate_voltage = 1.8;                    // V
  double selector_w = 2e-6, selector_l = 1e-6;  // m
  std::string selector_model = "nsel";
  std::string selector_card = ".model nsel nmos (level=1 vto=0.5 kp=120u lambda=0.02)";

  // Word-line drivers: vin_i = SIN(0 amplitude_i frequency_i 0 0 phase_i), phase in degrees.
  // Per-row vectors override; empty vectors give the spread defaults
  // amplitude_i = amplitude * (1 - 0.5 i / (rows - 1)), frequency_i = frequency * (1 + i / rows),
  // phase_i = 360 i / rows.
  double amplitude = 0.2;  // V
  double frequency = 1e3;  // Hz
  std::vector<double> row_amplitude, row_frequency, row_phase;

  SenseKind sense = SenseKind::kZeroVolt;
  double rsense = 100.0;  // ohm, for SenseKind::kResistor

  // `.tran tstop/steps tstop [0 tmax]`; with max_step_is_tstep the max step is tstop/steps, so
  // every simulator takes at least `steps` steps (what the speed benchmark wants).
  double tstop = 1e-3;
  int steps = 1000;
  bool max_step_is_tstep = true;
  std::string options;     // written as `.options <options>` when not empty
  bool save_sense = true;  // `.save` only the sense signals (keeps outputs small)
  std::string title;       // empty: a generated description
};

// Checks every field; one line per problem in the message, e.g.
// "weights: row 3, col 7: conductance 0.002 S outside [1e-05, 0.001] S (1/roff, 1/ron)".
Status ValidateCrossbarSpec(const CrossbarSpec& spec);

// The complete deck. Fails with the ValidateCrossbarSpec message on a bad spec.
Status GenerateCrossbarDeck(const CrossbarSpec& spec, std::string* deck);
// Same; throws std::invalid_argument with that message on a bad spec.
std::string GenerateCrossbarDeck(const CrossbarSpec& spec);

// The array alone as `.subckt <name> win_0 .. win_<rows-1> bout_0 .. bout_<last>` (word-line
// inputs, then bit-line ends in physical column order), with the model card / include before it
// for MSS cells. No sources, no analysis.
Status GenerateCrossbarSubckt(const CrossbarSpec& spec, const std::string& name, std::string* text);

// Per physical column k: "0".."cols-1", or "0p", "0n", "1p", ... when differential.
std::string BitLineLabel(const CrossbarSpec& spec, int k);
int PhysicalColumns(const CrossbarSpec& spec);

// Cell conductances, row-major rows x phys_cols, as the deck uses them.
std::vector<double> CellConductances(const CrossbarSpec& spec);
// MSS initial state of conductance g: (g - 1/roff) / (1/ron - 1/roff) clipped to [0, 1].
double ConductanceToState(double g, double ron, double roff);

// Element and unknown counts of GenerateCrossbarDeck's output.
struct CrossbarCounts {
  int cells = 0, line_resistors = 0, capacitors = 0, sources = 0, sense_resistors = 0;
  int nodes = 0;     // non-ground nodes
  int unknowns = 0;  // nodes + source branch currents + memristor states
};
CrossbarCounts CountCrossbar(const CrossbarSpec& spec);

// Reads a rows x cols matrix of numbers from CSV text: comma, semicolon or whitespace separated,
// blank lines and lines starting with '#' skipped. Errors name the file, line and 0-based
// row/col ("w.csv:4: row 2 has 7 values, expected 8"); all errors are reported.
Status ParseWeightsCsv(std::string_view text, const std::string& file_name, int rows, int cols,
                       std::vector<double>* out);
Status ReadWeightsCsv(const std::string& path, int rows, int cols, std::vector<double>* out);

}  // namespace memspice::circuits

#endif  // MEMSPICE_CIRCUITS_CROSSBAR_H_
