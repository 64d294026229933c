// libFuzzer entry over the whole front half of the simulator: parse -> Circuit::Build -> a short
// RunAnalysis of every analysis in the deck. Any input must end in diagnostics, an error Status or
// finite waveforms: never a crash, a hang, a sanitizer report or a NaN in the results.
//
// Work per input is bounded so that a slow but legitimate circuit is not reported as a hang:
// few elements, few sweep points, small Newton limits, and a cap on accepted transient steps
// (enforced from the StepObserver, the only hook the solver offers). Loops that never accept a
// step are not capped here: libFuzzer's -timeout reports them, as it should.
//
// Run: circuit_fuzz -max_total_time=60 -timeout=5 corpus_dir
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "io/waveform.h"
#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace {

namespace io = memspice::io;
namespace netlist = memspice::netlist;
namespace solver = memspice::solver;
using memspice::Status;

constexpr size_t kMaxElements = 64;
constexpr size_t kMaxAnalyses = 3;
constexpr double kMaxSweepPoints = 100;
// Accepted transient steps per analysis: a transistor deck costs ~5 ms per step under ASan, so
// 1000 steps took longer than the 5 s hang timeout on a slow machine.
constexpr int kMaxSteps = 300;
constexpr double kMaxFixedSteps = 1000;

// Thrown by the observer to stop a run that is valid but too long for a fuzz iteration.
struct StepBudgetExceeded {};

class StepBudget : public solver::StepObserver {
 public:
  void OnStep(const solver::StepInfo& info) override {
    if (!std::isfinite(info.time) || !std::isfinite(info.h) || info.h < 0.0) {
      Fail("observer saw a non-finite time or step");
    }
    if (++steps_ > kMaxSteps) throw StepBudgetExceeded{};
  }

  [[noreturn]] static void Fail(const char* what) {
    std::fprintf(stderr, "circuit_fuzz: %s\n", what);
    std::abort();
  }

 private:
  int steps_ = 0;
};

// The analyses worth running within the budget; others are skipped, not failed.
bool WithinBudget(const netlist::Analysis& an, const solver::SimOptions& options) {
  switch (an.kind) {
    case netlist::Analysis::Kind::kOp:
      return true;
    case netlist::Analysis::Kind::kDc: {
      double points = 1.0;
      for (const auto& sw : an.sweeps) {
        if (sw.step == 0.0) continue;
        const double n = std::fabs((sw.stop - sw.start) / sw.step) + 1.0;
        if (!std::isfinite(n)) return false;
        points *= n;
      }
      return points <= kMaxSweepPoints;
    }
    case netlist::Analysis::Kind::kTran:
      // A fixed step's count is known up front; adaptive runs are capped by StepBudget.
      if (options.fixed_step > 0.0 && std::isfinite(an.tstop) && an.tstop > 0.0) {
        return an.tstop / options.fixed_step <= kMaxFixedSteps;
      }
      return true;
    case netlist::Analysis::Kind::kAc: {
      // Frequency count as the sweep places them (per decade / per octave / in total).
      if (an.ac_sweep == netlist::Analysis::AcSweep::kLin) return an.ac_points <= kMaxSweepPoints;
      const double base = an.ac_sweep == netlist::Analysis::AcSweep::kDec ? 10.0 : 2.0;
      const double points = an.ac_points * std::log(an.fstop / an.fstart) / std::log(base);
      return std::isfinite(points) && points <= kMaxSweepPoints;
    }
  }
  return false;
}

// Chooses how to integrate from the input length, so that every method and both step modes get
// fuzzed while each input stays reproducible.
void ChooseIntegration(size_t size, const netlist::Netlist& nl, solver::SimOptions* options) {
  static constexpr solver::Method kMethods[] = {
      solver::Method::kTrapezoidal, solver::Method::kBackwardEuler, solver::Method::kGear2,
      solver::Method::kForwardEuler, solver::Method::kRk4};
  const size_t pick = size % 8;
  if (pick < 5) options->method = kMethods[pick];  // else: the deck's method or the default
  if (size % 3 == 0) {
    for (const auto& an : nl.analyses) {
      if (an.kind == netlist::Analysis::Kind::kTran && std::isfinite(an.tstop) && an.tstop > 0.0) {
        options->fixed_step = an.tstop / 100.0;
        break;
      }
    }
  }
}

void CheckTable(const io::WaveformTable& t) {
  for (const auto& row : t.rows) {
    if (row.size() != t.names.size()) StepBudget::Fail("row width differs from the signal count");
    for (double v : row) {
      if (!std::isfinite(v)) StepBudget::Fail("non-finite value written to the waveform table");
    }
  }
  if (!t.scale.empty() && t.scale.size() != t.rows.size()) {
    StepBudget::Fail("scale length differs from the number of rows");
  }
  for (double s : t.scale) {
    if (!std::isfinite(s)) StepBudget::Fail("non-finite scale value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  netlist::ParseOptions parse_options;
  parse_options.max_elements = kMaxElements;
  netlist::Diagnostics diag;
  std::optional<netlist::Netlist> nl = netlist::ParseString(text, "fuzz.cir", parse_options, diag);
  if (!nl) {
    if (!diag.has_errors()) StepBudget::Fail("parse failed without a diagnostic");
    return 0;
  }
  if (nl->elements.size() > kMaxElements) StepBudget::Fail("max_elements not enforced");

  solver::SimOptions options;
  if (!options.ApplyNetlistOptions(*nl).ok()) return 0;
  // Deck options may ask for huge iteration limits; keep each Newton solve short. gmin = 0 makes
  // gmin stepping walk ~300 decades down to underflow: correct but too slow for a fuzz iteration.
  options.itl1 = std::min(options.itl1, 50);
  options.itl4 = std::min(options.itl4, 20);
  options.gmin = std::max(options.gmin, 1e-15);
  ChooseIntegration(size, *nl, &options);
  if (!options.Validate().ok()) return 0;

  netlist::Diagnostics build_diag;
  std::unique_ptr<solver::Circuit> circuit = solver::Circuit::Build(*nl, build_diag);
  (void)build_diag.Format();
  if (!circuit) {
    if (!build_diag.has_errors()) StepBudget::Fail("Build failed without a diagnostic");
    return 0;
  }

  size_t run = 0;
  for (const netlist::Analysis& an : nl->analyses) {
    if (run == kMaxAnalyses) break;
    if (!WithinBudget(an, options)) continue;
    ++run;
    io::WaveformTable table;
    StepBudget budget;
    Status s;
    try {
      s = solver::RunAnalysis(*circuit, *nl, an, options, &budget, &table);
    } catch (const StepBudgetExceeded&) {
      continue;  // valid but long; the rest of the table is not checked
    }
    if (!s.ok()) {
      if (s.message().empty()) StepBudget::Fail("error Status without a message");
      continue;
    }
    CheckTable(table);
  }
  return 0;
}
