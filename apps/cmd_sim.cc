// `memspice sim DECK`: simulate a deck, write CSV / raw / plot.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "io/csv_writer.h"
#include "io/plot.h"
#include "io/raw_file.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace memspice::apps {
namespace {

struct SimArgs {
  std::string deck;
  std::string csv, raw, plot;
  bool ascii = false;
  std::string method;
  double fixed_step = 0.0;
  double max_points = 0.0, max_memory = 0.0;
  std::vector<std::string> sets, include_dirs, signals;
  bool progress = false, no_progress = false, quiet = false;
};

void PrintOperatingPoint(const io::WaveformTable& t) {
  std::cout << "Operating point:\n";
  for (size_t j = 0; j < t.names.size(); ++j) {
    std::cout << fmt::format("  {:<24} {:>16.9g}\n", t.names[j],
                             t.rows.empty() ? 0.0 : t.rows[0][j]);
  }
}

// Passes every point on to several sinks (the raw file, and the CSV file for the main analysis).
class FanOutSink : public io::PointSink {
 public:
  explicit FanOutSink(std::vector<io::PointSink*> sinks) : sinks_(std::move(sinks)) {}
  Status Begin(const io::WaveformTable& t) override {
    return Each([&](io::PointSink* s) { return s->Begin(t); });
  }
  Status Point(double scale, const std::vector<double>& values) override {
    return Each([&](io::PointSink* s) { return s->Point(scale, values); });
  }
  Status End(const io::WaveformTable& t) override {
    return Each([&](io::PointSink* s) { return s->End(t); });
  }

 private:
  template <typename F>
  Status Each(F f) {
    for (io::PointSink* s : sinks_) {
      if (Status st = f(s); !st.ok()) return st;
    }
    return Status::Ok();
  }
  std::vector<io::PointSink*> sinks_;
};

// Options that change nothing on their own: a warning, not an error.
void WarnUnusedOptions(const SimArgs& a) {
  if (!a.signals.empty() && a.plot.empty()) {
    std::cerr << "warning: --signals selects what --plot draws; without --plot it does nothing "
                 "(select saved signals with .save in the deck)\n";
  }
  if (a.ascii && a.raw.empty())
    std::cerr << "warning: --ascii applies to --raw; it does nothing alone\n";
}

// Checks everything about the outputs before the simulation: names that would overwrite an input
// or each other, writable folders (the streamed files are created here), the plot format.
bool PrepareOutputs(const SimArgs& a, const netlist::Netlist& nl, io::CsvSink* csv,
                    io::RawSink* raw) {
  std::vector<std::string> inputs = nl.files;
  inputs.push_back(a.deck);
  if (!CheckOutputPaths(inputs, {{"--csv", a.csv}, {"--raw", a.raw}, {"--plot", a.plot}})) {
    return false;
  }
  Status s = Status::Ok();
  if (!a.csv.empty()) s = csv->Open(a.csv);
  if (s.ok() && !a.raw.empty()) s = raw->Open(a.raw, !a.ascii);
  if (s.ok() && !a.plot.empty()) s = io::CheckPlotPath(a.plot);
  if (!s.ok()) PrintStatus(s);
  return s.ok();
}

int RunSim(const SimArgs& a) {
  WarnUnusedOptions(a);
  std::optional<netlist::Netlist> nl = LoadDeck(a.deck, a.sets, a.include_dirs);
  if (!nl) return kExitInputError;
  std::vector<solver::Measurement> measures;  // .meas tran: on the last transient analysis
  if (!LoadMeasurements(a.deck, a.include_dirs, &measures)) return kExitInputError;
  solver::SimOptions options;
  if (!TransientOptions(*nl, a.method, a.fixed_step, &options)) return kExitInputError;
  options.max_points = static_cast<int64_t>(a.max_points);
  options.max_memory = static_cast<int64_t>(a.max_memory);
  options.progress = a.progress || (!a.no_progress && !a.quiet && isatty(STDERR_FILENO));
  if (nl->analyses.empty()) {
    std::cerr << fmt::format("error: '{}' has no analysis; add .op, .dc or .tran\n", a.deck);
    return kExitInputError;
  }
  io::CsvSink csv;
  io::RawSink raw;
  if (!PrepareOutputs(a, *nl, &csv, &raw)) return kExitInputError;
  netlist::Diagnostics diag;
  std::unique_ptr<solver::Circuit> circuit = solver::Circuit::Build(*nl, diag);
  std::cerr << diag.Format();
  if (!circuit) return kExitInputError;
  // From here on an interruption removes the temporary output files; earlier results stay.
  io::RemoveTempFilesOnSignal();

  // Every analysis runs; the last one is the main result written to CSV and plotted; the raw file
  // holds one plot per analysis, as ngspice writes it. Points stream to the files as accepted.
  io::WaveformTable main;
  io::WaveformTable measured;  // the last transient, kept in memory when the deck has .meas
  for (size_t i = 0; i < nl->analyses.size(); ++i) {
    const netlist::Analysis& analysis = nl->analyses[i];
    const bool last = i + 1 == nl->analyses.size();
    std::vector<io::PointSink*> sinks;
    if (!a.raw.empty()) sinks.push_back(&raw);
    if (last && !a.csv.empty()) sinks.push_back(&csv);
    FanOutSink fan(sinks);
    io::WaveformTable table;
    table.sink = &fan;
    const bool is_tran = analysis.kind == netlist::Analysis::Kind::kTran;
    table.keep_rows = analysis.kind == netlist::Analysis::Kind::kOp || (last && !a.plot.empty()) ||
                      (is_tran && !measures.empty());
    auto start = std::chrono::steady_clock::now();
    Status s = solver::RunAnalysis(*circuit, *nl, analysis, options, nullptr, &table);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) return ExitForFailedRun(s);
    if (!a.quiet) {
      std::cerr << fmt::format("{}: {} points, {} signals, {:.3f} s\n", table.analysis,
                               table.num_points(), table.names.size(), secs);
    }
    if (analysis.kind == netlist::Analysis::Kind::kOp && !a.quiet) PrintOperatingPoint(table);
    if (is_tran && !measures.empty()) measured = table;
    if (last) main = std::move(table);
  }
  auto committed = [&](const Status& s, const char* what, const std::string& path) {
    if (!s.ok()) {
      PrintStatus(s);
      return false;
    }
    if (!a.quiet) std::cout << what << ": " << path << "\n";
    return true;
  };
  if (!a.csv.empty() && !committed(csv.Commit(), "waveforms", a.csv)) return kExitSimulationError;
  if (!a.raw.empty() && !committed(raw.Commit(), "raw file", a.raw)) return kExitSimulationError;
  if (!a.plot.empty()) {
    io::PlotOptions po;
    po.signals = a.signals;
    po.title = nl->title;
    if (Status s = io::PlotWaveforms(main, a.plot, po); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << "plot: " << a.plot << "\n";
  }
  if (!measures.empty() && !measured.rows.empty() && PrintMeasurements(measures, measured) > 0) {
    return kExitSimulationError;
  }
  return kExitOk;
}

}  // namespace

void RegisterSim(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand("sim", "Simulate a SPICE deck (.op, .dc, .tran, .ac)");
  sim->add_option("deck", args->deck, "Netlist file (ngspice dialect)")->required();
  sim->add_option("--csv", args->csv, "Write the main analysis as CSV");
  sim->add_option("--raw", args->raw, "Write a SPICE raw file (binary unless --ascii)");
  sim->add_flag("--ascii", args->ascii, "Raw file in ascii format");
  sim->add_option("--plot", args->plot, "Plot signals to a .png or .svg (gnuplot)");
  sim->add_option("--signals", args->signals, "Signals to plot, e.g. v(out) i(v1)")->delimiter(',');
  sim->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  AddFixedStepOption(sim, &args->fixed_step);
  AddLimitOptions(sim, &args->max_points, &args->max_memory);
  sim->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  sim->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  sim->add_flag("--progress", args->progress,
                "Show a progress line (default when stderr is a terminal)");
  sim->add_flag("--no-progress", args->no_progress, "Never show progress");
  sim->add_flag("-q,--quiet", args->quiet, "Print only errors");
  sim->callback([args, exit_code]() { *exit_code = RunSim(*args); });
}

}  // namespace memspice::apps
