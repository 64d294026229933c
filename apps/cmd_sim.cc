// `memspice sim DECK`: simulate a deck, write CSV / raw / plot.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "apps/cli_common.h"
#include "solver/circuit.h"
#include "solver/csv_writer.h"
#include "solver/plot.h"
#include "solver/raw_file.h"
#include "solver/simulator.h"

namespace memspice::apps {
namespace {

struct SimArgs {
  std::string deck;
  std::string csv, raw, plot;
  bool ascii = false;
  std::string method;
  double fixed_step = 0.0;
  std::vector<std::string> sets, include_dirs, signals;
  bool progress = false, no_progress = false, quiet = false;
};

void PrintOperatingPoint(const solver::WaveformTable& t) {
  std::cout << "Operating point:\n";
  for (size_t j = 0; j < t.names.size(); ++j) {
    std::cout << fmt::format("  {:<24} {:>16.9g}\n", t.names[j], t.rows.empty() ? 0.0 : t.rows[0][j]);
  }
}

int RunSim(const SimArgs& a) {
  std::optional<netlist::Netlist> nl = LoadDeck(a.deck, a.sets, a.include_dirs);
  if (!nl) return kExitInputError;
  std::vector<solver::Measurement> measures;  // .meas tran: on the last transient analysis
  if (!LoadMeasurements(a.deck, a.include_dirs, &measures)) return kExitInputError;
  solver::SimOptions options;
  if (solver::Status s = options.ApplyNetlistOptions(*nl); !s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (solver::Status s = options.Validate(); !s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (!a.method.empty()) {
    options.method = solver::ParseMethod(a.method);
    if (!options.method) {
      std::cerr << fmt::format("error: --method '{}' is not known; expected fe, be, trap, gear2 or rk4\n",
                               a.method);
      return kExitInputError;
    }
  }
  if (a.fixed_step < 0) {
    std::cerr << "error: --fixed-step must be > 0 (seconds), e.g. --fixed-step 10u\n";
    return kExitInputError;
  }
  options.fixed_step = a.fixed_step;
  options.progress = a.progress || (!a.no_progress && !a.quiet && isatty(STDERR_FILENO));
  if (nl->analyses.empty()) {
    std::cerr << fmt::format("error: '{}' has no analysis; add .op, .dc or .tran\n", a.deck);
    return kExitInputError;
  }
  netlist::Diagnostics diag;
  std::unique_ptr<solver::Circuit> circuit = solver::Circuit::Build(*nl, diag);
  std::cerr << diag.Format();
  if (!circuit) return kExitInputError;

  // Every analysis runs; the last one is the main result written to CSV and plotted; the raw file
  // holds one plot per analysis, as ngspice writes it.
  std::vector<solver::WaveformTable> tables;
  for (const netlist::Analysis& analysis : nl->analyses) {
    solver::WaveformTable table;
    auto start = std::chrono::steady_clock::now();
    solver::Status s = solver::RunAnalysis(*circuit, *nl, analysis, options, nullptr, &table);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) {
      std::cerr << fmt::format("{}: {} points, {} signals, {:.3f} s\n", table.analysis, table.num_points(),
                               table.names.size(), secs);
    }
    if (analysis.kind == netlist::Analysis::Kind::kOp && !a.quiet) PrintOperatingPoint(table);
    tables.push_back(std::move(table));
  }
  const solver::WaveformTable& main = tables.back();
  if (!a.csv.empty()) {
    if (solver::Status s = solver::WriteCsv(main, a.csv); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << "waveforms: " << a.csv << "\n";
  }
  if (!a.raw.empty()) {
    if (solver::Status s = solver::WriteRaw(tables, a.raw, !a.ascii); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << "raw file: " << a.raw << "\n";
  }
  if (!a.plot.empty()) {
    solver::PlotOptions po;
    po.signals = a.signals;
    po.title = nl->title;
    if (solver::Status s = solver::PlotWaveforms(main, a.plot, po); !s.ok()) {
      PrintStatus(s);
      return kExitSimulationError;
    }
    if (!a.quiet) std::cout << "plot: " << a.plot << "\n";
  }
  for (auto it = tables.rbegin(); !measures.empty() && it != tables.rend(); ++it) {
    if (it->scale_name != "time") continue;
    if (PrintMeasurements(measures, *it) > 0) return kExitSimulationError;
    break;
  }
  return kExitOk;
}

}  // namespace

void RegisterSim(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand("sim", "Simulate a SPICE deck (.op, .dc, .tran)");
  sim->add_option("deck", args->deck, "Netlist file (ngspice dialect)")->required();
  sim->add_option("--csv", args->csv, "Write the main analysis as CSV");
  sim->add_option("--raw", args->raw, "Write a SPICE raw file (binary unless --ascii)");
  sim->add_flag("--ascii", args->ascii, "Raw file in ascii format");
  sim->add_option("--plot", args->plot, "Plot signals to a .png or .svg (gnuplot)");
  sim->add_option("--signals", args->signals, "Signals to plot, e.g. v(out) i(v1)")->delimiter(',');
  sim->add_option("--method", args->method, "Integration method: fe, be, trap, gear2, rk4");
  sim->add_option("--fixed-step", args->fixed_step, "Fixed time step in seconds (default: adaptive)")
      ->transform([](std::string s) {
        auto v = netlist::ParseSpiceNumber(s);
        if (!v) throw CLI::ValidationError("--fixed-step", "'" + s + "' is not a number (e.g. 10u)");
        return fmt::format("{:.17g}", *v);
      });
  sim->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  sim->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  sim->add_flag("--progress", args->progress, "Show a progress line (default when stderr is a terminal)");
  sim->add_flag("--no-progress", args->no_progress, "Never show progress");
  sim->add_flag("-q,--quiet", args->quiet, "Print only errors");
  sim->callback([args, exit_code]() { *exit_code = RunSim(*args); });
}

}  // namespace memspice::apps
