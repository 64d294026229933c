// `memspice export-ngspice DECK -o OUT`: native devices rewritten as behavioural ngspice elements.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "apps/cli_common.h"
#include "circuits/ngspice_export.h"

namespace memspice::apps {

void RegisterExportNgspice(CLI::App& app, int* exit_code) {
  struct Args {
    std::string deck, out;
    std::vector<std::string> include_dirs;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "export-ngspice", "Rewrite a deck with native devices (MSS, alpha) into an ngspice-runnable deck");
  cmd->add_option("deck", args->deck, "Netlist file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->out, "Output deck")->required();
  cmd->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  cmd->callback([args, exit_code]() {
    netlist::Diagnostics diag;
    std::string text;
    bool ok = circuits::ExportNgspice(args->deck, LibraryPaths(args->include_dirs), &text, diag);
    std::cerr << diag.Format();
    if (!ok) {
      *exit_code = kExitInputError;
      return;
    }
    std::ofstream out(args->out);
    out << text;
    if (!out) {
      std::cerr << fmt::format("error: cannot write '{}'\n", args->out);
      *exit_code = kExitSimulationError;
      return;
    }
    std::cout << "ngspice deck: " << args->out << "\n";
    *exit_code = kExitOk;
  });
}

}  // namespace memspice::apps
