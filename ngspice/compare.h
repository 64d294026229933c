// Comparing waveforms: a test table (memspice) against a reference table (ngspice, a CSV target).
//
// Grid. Transient tables are compared on the union of both time grids, restricted to the time
// interval both cover; each table is linearly interpolated at the other's points. A coarse grid
// on either side therefore shows up as error (comparing on the reference grid alone would hide
// the test's behaviour between reference points). RMS errors of transients are time-weighted
// (exact integral of the piecewise-linear e(t)^2 over the interval, divided by its length). DC
// sweeps and operating points are compared point by point when both have the same number of points
// (nested sweeps repeat the scale), else by interpolation on a monotonic scale.
//
// Metrics per signal: max |test - ref|, RMS error, the reference range (max - min, floored at
// the signal's atol so flat signals do not blow up; for a single point, e.g. an operating point,
// the reference magnitude |ref| instead), both errors relative to that range, and the
// scale value (time) of the largest error. A signal passes when
//   max_abs <= rtol * range + atol   and   rms <= rms_rtol * range + atol,
// atol being atol_voltage for v(...) and other signals, atol_current for i(...).
#ifndef MEMSPICE_NGSPICE_COMPARE_H_
#define MEMSPICE_NGSPICE_COMPARE_H_

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/waveform.h"
#include "netlist/netlist.h"
#include "ngspice/runner.h"
#include "solver/simulator.h"

namespace memspice::ngspice {

struct CompareOptions {
  double rtol = 0.01;          // max error relative to the reference range
  double rms_rtol = 0.002;     // RMS error relative to the reference range
  double atol_voltage = 1e-6;  // V (also used for states and other non-current signals)
  double atol_current = 1e-9;  // A
  // Signals to compare; empty = every signal present in both tables. A selected signal missing
  // from either table is an error.
  std::vector<std::string> signals;
};

struct SignalComparison {
  std::string name;
  double max_abs = 0.0;  // max |test - ref|
  double rms = 0.0;      // RMS of test - ref
  double range = 0.0;    // reference max - min, floored at atol
  double max_rel = 0.0;  // max_abs / range
  double rms_rel = 0.0;  // rms / range
  double at = 0.0;       // scale value (time, sweep value) of the largest error
  double ref_at = 0.0;   // reference and test values there
  double test_at = 0.0;
  bool pass = false;
};

struct TableComparison {
  std::string analysis;         // reference plot name
  int points = 0;               // points compared
  double from = 0.0, to = 0.0;  // scale interval compared (transient/DC)
  std::vector<SignalComparison> signals;
  std::vector<std::string> only_in_reference, only_in_test;  // not compared
  std::vector<std::string> notes;  // grid remarks (e.g. time ranges differ)
  bool pass = false;               // every compared signal passes and at least one compared
};

// Compares `test` against `ref`. Errors: scale kinds differ, no overlap, a selected signal is
// missing, no common signal, NaN/Inf in a compared signal.
Status CompareTables(const io::WaveformTable& ref, const io::WaveformTable& test,
                     const CompareOptions& options, TableComparison* out);

// Linear interpolation of column `j` of `table` at scale value `x` (clamped to the ends).
// The scale must be non-decreasing; at a repeated scale value the later point wins.
double Interpolate(const io::WaveformTable& table, int j, double x);

// A fixed-width text table: signal, max abs, max %range, RMS %range, at, range, PASS/FAIL.
std::string FormatComparison(const TableComparison& c, const CompareOptions& options);

// Signals named in the deck's `* signals: v(out) i(v1)` comment lines (lower case, in order);
// empty if there are none or the file cannot be read.
std::vector<std::string> ReadSignalsHeader(const std::string& deck_path);

struct DeckCompareOptions {
  CompareOptions compare;       // signals: empty = the deck's `* signals:` header, else all
  netlist::ParseOptions parse;  // .param overrides and include paths for memspice
  solver::SimOptions sim;       // deck .options are applied on top (ApplyNetlistOptions)
  NgspiceOptions ngspice;
};

struct DeckComparison {
  std::vector<TableComparison> analyses;    // one per analysis in deck order
  std::vector<io::WaveformTable> memspice;  // memspice's tables in deck order
  std::vector<io::WaveformTable> ngspice;   // ngspice's plots as written (names normalised)
  double memspice_seconds = 0.0, ngspice_seconds = 0.0;
  std::string ngspice_dir;  // ngspice's kept files (raw, stdout, stderr, exported deck) if
                            // options.ngspice.keep_files, else empty
  bool pass = false;
};

// Runs the deck through memspice (solver::RunMemspiceDeck) and ngspice (`ngspice -b -r`; a deck
// with native devices, Y lines, through ExportNgspice with the parse options' include paths, its
// vectors renamed back by NgspiceSignalName), pairs each memspice analysis with ngspice's plot of
// the same kind (op/dc/tran, in order), and compares them. Errors: parse/build/simulation
// failures (with the diagnostics), ngspice failures, export errors, an analysis ngspice did not
// produce. Over-tolerance signals are not an error: check report->pass.
Status CompareWithNgspice(const std::string& deck_path, const DeckCompareOptions& options,
                          DeckComparison* report);

// Formats every analysis of a deck comparison, with timings and an overall verdict.
std::string FormatDeckComparison(const DeckComparison& c, const CompareOptions& options);

}  // namespace memspice::ngspice

#endif  // MEMSPICE_NGSPICE_COMPARE_H_
