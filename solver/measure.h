// `.meas tran` (ngspice's .measure) on a transient result: scalar results of a run, printed by
// `memspice sim` and tabulated per run by `memspice sweep`.
//
//   .meas tran NAME find SIG at=T                     SIG at time T
//   .meas tran NAME find SIG when SIG2=VAL [cond]     SIG when SIG2 crosses VAL
//   .meas tran NAME when SIG=VAL [cond]               the time SIG crosses VAL
//   .meas tran NAME trig SIG val=V [cond] targ SIG val=V [cond]   t_targ - t_trig
//                                                     (trig/targ also accept at=T)
//   .meas tran NAME avg|rms|min|max|pp|integ SIG [from=T1] [to=T2]
//   cond: rise=N | fall=N | cross=N (N a count or "last"), td=T (ignore crossings before T)
//
// SIG is any signal of the run: v(node), v(a,b), i(vsource), x(memristor). Signals are linear
// between time points (as ngspice interpolates): crossings and values at T are interpolated,
// integ is the trapezoidal integral over [from, to] (its ends interpolated), avg = integ /
// (to - from), rms = sqrt(trapezoidal integral of SIG^2 / (to - from)).
#ifndef MEMSPICE_SOLVER_MEASURE_H_
#define MEMSPICE_SOLVER_MEASURE_H_

#include <limits>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/waveform.h"
#include "netlist/diagnostics.h"
#include "netlist/directive_cards.h"

namespace memspice::solver {

struct Measurement {
  enum class Kind { kFind, kWhen, kTrigTarg, kAvg, kRms, kMin, kMax, kPp, kInteg };
  // A point in time: `at` if given, else the count-th crossing of `signal` through `value`.
  struct Event {
    std::string signal;
    double value = 0.0;
    enum class Dir { kRise, kFall, kCross } dir = Dir::kCross;
    int count = 1;  // 0: the last crossing
    double td = 0.0;
    bool has_at = false;
    double at = 0.0;
  };
  std::string name;
  Kind kind = Kind::kFind;
  std::string signal;  // find and the window kinds
  Event when;          // find ... when/at, when; trig for trig/targ
  Event targ;
  double from = -std::numeric_limits<double>::infinity();
  double to = std::numeric_limits<double>::infinity();
  netlist::SourceLoc loc;
};

// Parses `.meas`/`.measure` cards; errors (with the word's location and what would be right) go
// to `diag`. Cards of other analyses (ac, dc) are errors: only tran is measured.
bool ParseMeasurements(const std::vector<netlist::DirectiveCard>& cards, netlist::Diagnostics& diag,
                       std::vector<Measurement>* out);

// Evaluates one measurement on a transient table. Errors: a signal not in the table (the message
// lists the table's signals), a crossing that does not happen, a window outside the run.
Status EvaluateMeasurement(const Measurement& m, const io::WaveformTable& table, double* value);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_MEASURE_H_
