// memspice: SPICE-level circuit simulation for memristive neuromorphic hardware.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "apps/cli_common.h"

int main(int argc, char** argv) {
  CLI::App app{"memspice: SPICE-level simulation, gradients and training for memristive circuits"};
  app.set_version_flag("--version", "memspice 0.1.0");
  app.require_subcommand(1);
  // One error style for option errors too: "error: what", then where to look (exit code 1).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() +
           "\n  note: 'memspice --help' lists the commands, 'memspice COMMAND --help' their "
           "options\n";
  });
  int exit_code = memspice::apps::kExitOk;
  memspice::apps::RegisterSim(app, &exit_code);
  memspice::apps::RegisterCompare(app, &exit_code);
  memspice::apps::RegisterGen(app, &exit_code);
  memspice::apps::RegisterExportNgspice(app, &exit_code);
  memspice::apps::RegisterPlot(app, &exit_code);
  memspice::apps::RegisterTrain(app, &exit_code);
  memspice::apps::RegisterGrad(app, &exit_code);
  memspice::apps::RegisterFit(app, &exit_code);
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      found = found || sub->get_name() == argv[1];
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      std::cerr << "error: unknown command '" << argv[1] << "'\n  note: commands: " << known
                << "\n";
      return memspice::apps::kExitInputError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : memspice::apps::kExitInputError;
  }
  return exit_code;
}
