// Running analyses on a built circuit: operating point, DC sweep, transient.
#ifndef MEMSPICE_SOLVER_SIMULATOR_H_
#define MEMSPICE_SOLVER_SIMULATOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "io/waveform.h"
#include "netlist/netlist.h"
#include "solver/circuit.h"

namespace memspice::solver {

enum class Method { kForwardEuler, kBackwardEuler, kTrapezoidal, kGear2, kRk4 };

// Parses "fe", "be", "trap", "gear2" (also ngspice's "gear" and "euler"), "rk4". nullopt if
// unknown.
std::optional<Method> ParseMethod(const std::string& name);
const char* MethodName(Method m);

// The solver writes its results into io tables (or streams them through an io::PointSink) and
// states byte counts in its messages with base::FormatBytes.
using base::FormatBytes;
using io::PointSink;
using io::WaveformTable;

struct SimOptions {
  std::optional<Method> method;  // unset: .options method, else trapezoidal
  double fixed_step = 0.0;       // > 0: fixed step of this size (no step control)
  double reltol = 1e-3;
  double abstol = 1e-12;
  double vntol = 1e-6;
  double chgtol = 1e-14;
  double gmin = 1e-12;
  double trtol = 7.0;
  int itl1 = 100;        // DC Newton iteration limit
  int itl4 = 10;         // transient Newton iteration limit per step
  double maxstep = 0.0;  // 0: tmax from .tran, else (tstop - tstart) / 50 as ngspice
  // Transient Newton lets devices reuse their last evaluation within the tolerances
  // (devices::EvalContext::bypass) and ends on a small update without evaluating again
  // (NewtonOptions::accept_update); `.options bypass=0` turns both off.
  bool bypass = true;
  bool progress = false;  // print a progress line to stderr for long runs
  // Most time points (transient) or sweep points an analysis may produce; 0: no limit. A
  // transient that cannot fit is refused before it starts (see docs/reliability.md).
  int64_t max_points = kDefaultMaxPoints;
  // Most bytes of waveforms kept in memory (points not streamed to a sink); 0: no limit.
  int64_t max_memory = kDefaultMaxMemory;

  // 1e8 points: hours of simulation and gigabytes of output; a missing unit suffix, not a plan.
  static constexpr int64_t kDefaultMaxPoints = 100'000'000;
  // 4 GiB of in-memory waveforms.
  static constexpr int64_t kDefaultMaxMemory = int64_t{4} << 30;

  // Fills fields from a netlist's .options (explicit values in `netlist.options`) and its
  // `method`; fields not given keep their values. Returns an error naming the option and its
  // value if one is invalid (the field is then left unchanged).
  Status ApplyNetlistOptions(const netlist::Netlist& netlist);
  // Checks ranges (reltol in (0, 1), positive tolerances and limits); names the bad field.
  Status Validate() const;
};

// Reported once per accepted transient step (and once for the initial point, step 0). The solver
// never depends on what the observer does with it; recording a tape is optional.
struct StepInfo {
  int step = 0;  // 0 for the initial point
  double time = 0.0;
  double h = 0.0;  // step that led here (0 at the initial point)
  Method method = Method::kTrapezoidal;
  // Implicit methods: the step's Newton started from x of the previous point (first step, after
  // a breakpoint or a failed step), not from the linear predictor.
  bool restart = false;
  const double* x = nullptr;  // unknowns after the step, size circuit.size()
};

// Solves the systems of implicit LMS steps in place of the solver's Newton. The adjoint
// (autodiff/) supplies one that converges to round-off and depends only on the accepted history,
// so the run itself is the differentiated trajectory and needs no replay.
class ImplicitStepSolver {
 public:
  virtual ~ImplicitStepSolver() = default;
  // May replace the initial point x (operating point or uic start); q receives q(x).
  virtual Status Start(std::vector<double>* x, double* q) = 0;
  // Solves f(x, time) + a0 q(x) + b = 0 from the guess in x; on success q receives q(x).
  // False if it does not converge (*worst: the unknown with the largest update).
  virtual bool Solve(double time, double a0, const double* b, double* x, double* q, int* worst) = 0;
};

class StepObserver {
 public:
  virtual ~StepObserver() = default;
  virtual void OnStep(const StepInfo& info) = 0;
  // Non-null: the implicit transient steps are solved by it (see ImplicitStepSolver).
  virtual ImplicitStepSolver* step_solver() { return nullptr; }
};

// Runs one analysis of the netlist on the circuit and appends the results to `out`.
// Outputs are every node voltage, every branch current and every named state unless the deck
// selects outputs with .print/.plot/.save.
Status RunAnalysis(Circuit& circuit, const netlist::Netlist& netlist,
                   const netlist::Analysis& analysis, const SimOptions& options,
                   StepObserver* observer, WaveformTable* out);

// The card of an analysis kind: ".op", ".dc", ".tran", ".ac".
const char* AnalysisCard(netlist::Analysis::Kind kind);

// Runs every analysis of the deck at `deck_path` (netlist::ParseFile -> Circuit::Build ->
// RunAnalysis), appending one table per analysis to `tables`; the parsed netlist goes to
// `parsed` when given. Errors name the deck and carry the parser's diagnostics.
Status RunMemspiceDeck(const std::string& deck_path, const netlist::ParseOptions& parse,
                       const SimOptions& sim, std::vector<WaveformTable>* tables,
                       netlist::Netlist* parsed = nullptr);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_SIMULATOR_H_
