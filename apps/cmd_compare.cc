// `memspice compare DECK`: the same deck through memspice and ngspice, per-signal errors.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "ngspice/compare.h"

namespace memspice::apps {
namespace {

struct CompareArgs {
  std::string deck;
  std::vector<std::string> signals, sets, include_dirs;
  double rtol = 0.01, rms_rtol = 0.002, atol = 1e-6, atol_current = 1e-9;
  double timeout = 600;
  bool keep = false;
};

int RunCompare(const CompareArgs& a) {
  auto overrides = ParseOverrides(a.sets);
  if (!overrides) return kExitInputError;
  ngspice::DeckCompareOptions o;
  o.compare.rtol = a.rtol;
  o.compare.rms_rtol = a.rms_rtol;
  o.compare.atol_voltage = a.atol;
  o.compare.atol_current = a.atol_current;
  o.compare.signals = a.signals;
  o.parse.overrides = *overrides;
  o.parse.include_paths = LibraryPaths(a.include_dirs);
  o.ngspice.timeout_seconds = a.timeout;
  o.ngspice.keep_files = a.keep;
  ngspice::DeckComparison report;
  Status s = ngspice::CompareWithNgspice(a.deck, o, &report);
  if (!s.ok()) return ExitForFailedRun(s);
  std::cout << ngspice::FormatDeckComparison(report, o.compare);
  return report.pass ? kExitOk : kExitOverTolerance;
}

}  // namespace

void RegisterCompare(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd =
      app.add_subcommand("compare", "Run a deck in memspice and ngspice and compare waveforms");
  cmd->add_option("deck", args->deck, "Netlist file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--signals", args->signals,
                  "Signals to compare (default: the deck's '* signals:' line, "
                  "else all common)")
      ->delimiter(',');
  cmd->add_option("--rtol", args->rtol, "Max error allowed, relative to each signal's range")
      ->check(Positive());
  cmd->add_option("--rms-rtol", args->rms_rtol, "RMS error allowed, relative to the range")
      ->check(Positive());
  cmd->add_option("--atol", args->atol, "Absolute tolerance for voltages and states")
      ->check(NonNegative());
  cmd->add_option("--atol-current", args->atol_current, "Absolute tolerance for currents")
      ->check(NonNegative());
  cmd->add_option("--timeout", args->timeout, "ngspice wall-clock limit in seconds")
      ->check(Positive());
  cmd->add_flag("--keep", args->keep, "Keep ngspice's temporary files");
  cmd->add_option("--set", args->sets, "Override a .param: NAME=VALUE (repeatable)");
  cmd->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  cmd->callback([args, exit_code]() { *exit_code = RunCompare(*args); });
}

}  // namespace memspice::apps
