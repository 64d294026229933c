// Internal: the analysis engine shared by the DC and transient drivers.
#ifndef MEMSPICE_SOLVER_ENGINE_H_
#define MEMSPICE_SOLVER_ENGINE_H_

#include <chrono>
#include <string>
#include <vector>

#include "solver/assembler.h"
#include "solver/klu_solver.h"
#include "solver/newton.h"
#include "solver/simulator.h"

namespace memspice::solver {

// Which columns go to the output and how they are computed from x: x[plus] - x[minus].
struct OutputSelection {
  std::vector<std::string> names;
  std::vector<int> plus, minus;  // -1: none (ground)
  // The selected signals computed from the unknowns x.
  std::vector<double> Values(const double* x) const;
  // Adds the point at `scale` computed from x to `out` (its rows and/or its sink).
  Status Emit(double scale, const double* x, WaveformTable* out) const;
};

// Every unknown without '#' in its name, or the deck's .print/.plot/.save selection.
Status SelectOutputs(const Circuit& circuit, const netlist::Netlist& netlist,
                     OutputSelection* selection);

// Rate-limited progress line on stderr.
class Progress {
 public:
  Progress(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}
  ~Progress() { Finish(); }
  void Update(double fraction);
  void Finish();

 private:
  bool enabled_;
  std::string label_;
  bool printed_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

class Engine {
 public:
  Engine(Circuit& circuit, const netlist::Netlist& netlist, const SimOptions& options);

  // DC operating point at `time`. x holds the initial guess (used if `warm`) and receives the
  // solution. `ic_clamp`: apply the deck's .ic values as clamps (operating point before a
  // transient without uic).
  Status OperatingPoint(double time, bool warm, bool ic_clamp, std::vector<double>* x);
  Status DcSweep(const netlist::Analysis& analysis, const OutputSelection& sel, WaveformTable* out);
  // .ac: operating point, then the complex small-signal solve per frequency (ac_analysis.cc).
  Status Ac(const netlist::Analysis& analysis, const OutputSelection& sel, WaveformTable* out);
  Status Transient(const netlist::Analysis& analysis, const OutputSelection& sel,
                   StepObserver* observer, WaveformTable* out);

  std::string SingularMessage(int unknown) const;
  // Why the matrix is singular at a node, from its column of G and C (no DC path, no
  // conductance, conductances that cancel).
  std::string NodeSingularCause(int node) const;
  NewtonOptions DcNewtonOptions() const;
  NewtonOptions TranNewtonOptions() const;
  void SetAnalysisInfo(const devices::AnalysisInfo& info);
  // `.dc temp`: rebuilds the devices whose values read `temper` (netlist temper_values) at
  // `celsius`, then sets the analysis temperature of every device. Pointers to devices may
  // change.
  Status SetTemperature(double celsius);

 private:
  Status BuildClamp(const std::vector<netlist::NodeValue>& values, std::vector<double>* clamp);
  bool TryDc(double time, double source_scale, double all_gmin, bool init, const double* clamp,
             int max_iter, double max_step, std::vector<double>* x, NewtonOutcome* out);
  Status TransientImplicit(const netlist::Analysis& an, Method method, const OutputSelection& sel,
                           StepObserver* observer, WaveformTable* out, std::vector<double> x);
  Status TransientExplicit(const netlist::Analysis& an, Method method, const OutputSelection& sel,
                           StepObserver* observer, WaveformTable* out, std::vector<double> x);

  Circuit& c_;
  const netlist::Netlist& nl_;
  SimOptions o_;
  int n_;
  Assembler asm_;
  KluSolver klu_;
  NewtonSolver newton_;
  std::vector<double> ones_, zeros_;
  double temp_;                // temperature the devices were built at
  bool follows_temp_ = false;  // the netlist has values that follow `.dc temp`
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_ENGINE_H_
