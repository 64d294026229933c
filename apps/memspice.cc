// memspice: SPICE-level circuit simulation for memristive neuromorphic hardware.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "apps/cli_common.h"
#include "base/option_names.h"
#include "parallel/collective.h"

int main(int argc, char** argv) {
  CLI::App app{"memspice: SPICE-level simulation, gradients and training for memristive circuits"};
  app.set_version_flag("--version", "memspice 0.1.0");
  app.require_subcommand(1);
  // Library messages name options neutrally; here they read as this program's flags.
  memspice::base::SetOptionSpelling(&memspice::base::CliOptionSpelling);
  // One error style for option errors too: "error: what", then where to look (exit code 1).
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("error: ") + e.what() +
           "\n  note: 'memspice --help' lists the commands, 'memspice COMMAND --help' their "
           "options\n";
  });
  // Under mpirun the ranks share the work of train and sweep; alone, nothing changes.
  std::string mpi_error;
  if (!memspice::parallel::InitWorld(&argc, &argv, &mpi_error)) {
    std::cerr << "error: " << mpi_error << "\n";
    memspice::parallel::Finalize();
    return memspice::apps::kExitInputError;
  }
  int exit_code = memspice::apps::kExitOk;
  memspice::apps::RegisterSim(app, &exit_code);
  memspice::apps::RegisterCompare(app, &exit_code);
  memspice::apps::RegisterGen(app, &exit_code);
  memspice::apps::RegisterExportNgspice(app, &exit_code);
  memspice::apps::RegisterPlot(app, &exit_code);
  memspice::apps::RegisterTrain(app, &exit_code);
  memspice::apps::RegisterGrad(app, &exit_code);
  memspice::apps::RegisterFit(app, &exit_code);
  memspice::apps::RegisterSweep(app, &exit_code);
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
      memspice::parallel::Finalize();
      return memspice::apps::kExitInputError;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    exit_code = rc == 0 ? 0 : memspice::apps::kExitInputError;
  }
  memspice::parallel::Finalize();
  return exit_code;
}
