// `memspice gen crossbar ...`: write generated decks.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "apps/cli_common.h"
#include "circuits/crossbar.h"
#include "netlist/expression.h"

namespace memspice::apps {
namespace {

// CLI11 transform accepting SPICE numbers (1k, 10f, 2meg).
std::function<std::string(std::string)> SpiceNumber(const std::string& option) {
  return [option](std::string s) {
    auto v = netlist::ParseSpiceNumber(s);
    if (!v) throw CLI::ValidationError(option, "'" + s + "' is not a number (e.g. 1k, 10f, 1e-3)");
    return fmt::format("{:.17g}", *v);
  };
}

struct CrossbarArgs {
  circuits::CrossbarSpec spec;
  std::string cell = "resistor", weights, out, subckt, sense = "zero";
};

int RunCrossbar(CrossbarArgs a) {
  circuits::CrossbarSpec& spec = a.spec;
  spec.cell = a.cell == "mss" ? circuits::CellKind::kMss : circuits::CellKind::kResistor;
  spec.sense = a.sense == "resistor" ? circuits::SenseKind::kResistor : circuits::SenseKind::kZeroVolt;
  if (!a.weights.empty()) {
    if (solver::Status s = circuits::ReadWeightsCsv(a.weights, spec.rows, spec.cols, &spec.weights);
        !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
  }
  std::string text;
  solver::Status s = a.subckt.empty() ? circuits::GenerateCrossbarDeck(spec, &text)
                                      : circuits::GenerateCrossbarSubckt(spec, a.subckt, &text);
  if (!s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  std::ofstream out(a.out);
  out << text;
  if (!out) {
    std::cerr << fmt::format("error: cannot write '{}'\n", a.out);
    return kExitSimulationError;
  }
  circuits::CrossbarCounts counts = circuits::CountCrossbar(spec);
  std::cout << fmt::format("crossbar {}x{}{}: {} cells, {} unknowns -> {}\n", spec.rows, spec.cols,
                           spec.differential ? " (differential)" : "", counts.cells, counts.unknowns, a.out);
  return kExitOk;
}

}  // namespace

void RegisterGen(CLI::App& app, int* exit_code) {
  CLI::App* gen = app.add_subcommand("gen", "Generate decks (crossbar arrays)");
  gen->require_subcommand(1);
  auto args = std::make_shared<CrossbarArgs>();
  CLI::App* cb = gen->add_subcommand("crossbar", "N x M crossbar with word/bit-line R and C");
  cb->add_option("--rows", args->spec.rows, "Word lines")->required()->check(CLI::Range(1, 100000));
  cb->add_option("--cols", args->spec.cols, "Bit lines (weight columns)")->required()->check(CLI::Range(1, 100000));
  cb->add_option("--rline", args->spec.rline, "Line resistance per segment, ohm (0: ideal lines)")
      ->transform(SpiceNumber("--rline"));
  cb->add_option("--cline", args->spec.cline, "Line capacitance per node to ground, F")
      ->transform(SpiceNumber("--cline"));
  cb->add_option("--cell", args->cell, "Cell device")->check(CLI::IsMember({"resistor", "mss"}));
  cb->add_option("--weights", args->weights,
                 "CSV of conductances in S (rows x cols); signed weights with --differential");
  cb->add_flag("--differential", args->spec.differential, "Two cells per weight on a pair of bit lines");
  cb->add_option("--model", args->spec.model, "MSS model name (from --include, default mss.lib)");
  cb->add_option("--include", args->spec.include, "Library with the MSS model");
  cb->add_option("--ron", args->spec.ron, "Cell ON resistance, ohm")->transform(SpiceNumber("--ron"));
  cb->add_option("--roff", args->spec.roff, "Cell OFF resistance, ohm")->transform(SpiceNumber("--roff"));
  cb->add_option("--amplitude", args->spec.amplitude, "Word-line SIN amplitude, V")
      ->transform(SpiceNumber("--amplitude"));
  cb->add_option("--frequency", args->spec.frequency, "Word-line SIN frequency, Hz")
      ->transform(SpiceNumber("--frequency"));
  cb->add_option("--sense", args->sense, "Bit-line termination")->check(CLI::IsMember({"zero", "resistor"}));
  cb->add_option("--tstop", args->spec.tstop, "Transient stop time, s")->transform(SpiceNumber("--tstop"));
  cb->add_option("--steps", args->spec.steps, "Transient steps (max step = tstop/steps)")
      ->check(CLI::PositiveNumber);
  cb->add_option("--seed", args->spec.seed, "Seed of random conductances");
  cb->add_option("--subckt", args->subckt, "Write only the array as a .subckt of this name");
  cb->add_option("-o,--output", args->out, "Output deck")->required();
  cb->callback([args, exit_code]() { *exit_code = RunCrossbar(*args); });
}

}  // namespace memspice::apps
