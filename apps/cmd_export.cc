// `memspice export-ngspice DECK -o OUT`: native devices rewritten as behavioural ngspice elements.
// `memspice export RUN_DIR -o trained.cir`: a trained MEMprop network as a plain netlist.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "ngspice/export.h"
#include "training/compiler.h"
#include "training/run_dir.h"
#include "training/trainer.h"

namespace memspice::apps {
namespace {

struct ExportArgs {
  std::string run_dir, out, dataset;
  std::string deck;  // --deck: write this deck with the run's conductances instead of the run's own
  int sample = -1;
};

// The sample bound by --sample: its pixels and label (empty / -1 without --sample).
int LoadSample(const ExportArgs& a, const std::string& dataset, std::vector<double>* pixels,
               int* label) {
  if (a.sample < 0) return kExitOk;
  auto [name, path] = training::DatasetSource(dataset, NpmMnistDir());
  const training::DatasetPair data = LoadDatasetOrThrow(name, path);
  if (a.sample >= data.test.size()) {
    std::cerr << fmt::format("error: --sample {} is beyond the {} test samples of '{}'\n", a.sample,
                             data.test.size(), dataset);
    return kExitInputError;
  }
  const float* x = data.test.image(a.sample);
  pixels->assign(x, x + data.test.features());
  *label = data.test.labels[a.sample];
  return kExitOk;
}

// Conductance by synapse element name for a deck-based run (fast path: params.json or the
// checkpoint, whichever is newer; MNA path: mna_params.json).
std::map<std::string, double> DeckConductances(const std::string& run_dir,
                                               const training::CompiledNetwork& cn) {
  std::map<std::string, double> g;
  if (!cn.fast) {
    const std::vector<double> values =
        training::ReadMnaParams(training::RunFile(run_dir, training::kMnaParamsFile), cn.trainable);
    for (size_t k = 0; k < values.size(); ++k) g[cn.trainable[k]] = values[k];
    return g;
  }
  const training::TrainedParameters t = training::LoadTrainedParameters(run_dir, cn.config);
  std::cerr << "conductances: " << t.source << "\n";
  for (size_t l = 0; l < cn.syn_plus.size(); ++l) {
    const int out = static_cast<int>(t.params.g_plus[l].cols());
    for (size_t k = 0; k < cn.syn_plus[l].size(); ++k) {
      g[cn.syn_plus[l][k]] = t.params.g_plus[l](k / out, k % out);
      if (!cn.syn_minus[l].empty())  // empty with a (fixed, untrained) reference column
        g[cn.syn_minus[l][k]] = t.params.g_minus[l](k / out, k % out);
    }
  }
  return g;
}

// True (with a message) if the output would replace one of the run's files or its deck.
bool OutputClobbersInput(const ExportArgs& a, const training::RunRecord& record) {
  namespace fs = std::filesystem;
  std::vector<std::string> inputs = {record.deck, a.deck};
  for (const char* f :
       {training::kTrainArgsFile, training::kCheckpointFile, training::kParamsFile,
        training::kMetricsCsvFile, training::kMetricsJsonFile, training::kMnaParamsFile})
    inputs.push_back(training::RunFile(a.run_dir, f));
  for (const std::string& in : inputs) {
    std::error_code ec;
    if (!in.empty() && fs::exists(a.out, ec) && fs::equivalent(a.out, in, ec)) {
      std::cerr << fmt::format("error: -o {} would overwrite the run's input {}\n", a.out, in);
      return true;
    }
  }
  return false;
}

int RunExport(const ExportArgs& a) {
  const training::RunRecord record = training::ReadRunRecord(a.run_dir);
  if (OutputClobbersInput(a, record)) return kExitInputError;
  std::vector<double> pixels;
  int label = -1;
  if (int rc = LoadSample(a, a.dataset.empty() ? record.dataset : a.dataset, &pixels, &label))
    return rc;
  std::string text;
  const std::string deck = a.deck.empty() ? record.deck : a.deck;
  if (!deck.empty()) {
    training::CompiledNetwork cn;
    netlist::Diagnostics diag;
    const bool ok = training::CompileNetwork(deck, LibraryPaths({}), &cn, diag);
    std::cerr << diag.Format();
    if (!ok) return kExitInputError;
    if (Status s =
            training::RewriteTrainedDeck(cn, DeckConductances(a.run_dir, cn), pixels, label, &text);
        !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
  } else {
    const training::NetworkConfig& c = record.options.network;
    const training::TrainedParameters t = training::LoadTrainedParameters(a.run_dir, c);
    std::cerr << "conductances: " << t.source << "\n";
    circuits::MsnnSpec spec;
    if (Status s = training::MsnnSpecFromNetwork(c, t.params, record.dataset, &spec); !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
    spec.pixels = pixels;
    spec.label = label;
    if (Status s = circuits::GenerateMsnnDeck(spec, &text); !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
    std::cerr << "note: this run was trained from flags with the forward-Euler alpha recurrence; "
                 "the deck's alpha source is the closed form (they differ by O(dt/tau_a))\n";
  }
  training::WriteFileAtomic(a.out, text);
  std::cout << fmt::format(
      "trained network: {}{}\n", a.out,
      a.sample >= 0 ? fmt::format(" (test sample {}, label {})", a.sample, label) : "");
  return kExitOk;
}

}  // namespace

void RegisterExportNgspice(CLI::App& app, int* exit_code) {
  struct Args {
    std::string deck, out;
    std::vector<std::string> include_dirs;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "export-ngspice",
      "Rewrite a deck with native devices (MSS, alpha) into an ngspice-runnable deck");
  cmd->add_option("deck", args->deck, "Netlist file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->out, "Output deck")->required();
  cmd->add_option("-I,--include-dir", args->include_dirs, "Extra directory for .include/.lib");
  cmd->callback([args, exit_code]() {
    if (!CheckOutputPaths({args->deck}, {{"--output", args->out}})) {
      *exit_code = kExitInputError;
      return;
    }
    netlist::Diagnostics diag;
    std::string text;
    bool ok = ngspice::ExportNgspice(args->deck, LibraryPaths(args->include_dirs), &text, diag);
    std::cerr << diag.Format();
    if (!ok) {
      *exit_code = kExitInputError;
      return;
    }
    if (!WriteOutputFile(args->out, text)) {
      *exit_code = kExitSimulationError;
      return;
    }
    std::cout << "ngspice deck: " << args->out << "\n";
    *exit_code = kExitOk;
  });

  auto ex = std::make_shared<ExportArgs>();
  CLI::App* ec = app.add_subcommand("export", "Write a trained MEMprop network as a plain netlist");
  ec->add_option("run_dir", ex->run_dir, "Run directory of 'memspice train'")
      ->required()
      ->check(CLI::ExistingDirectory);
  ec->add_option("-o,--output", ex->out, "Output deck")->required();
  ec->add_option("--sample", ex->sample, "Bind test sample K's pixels to the inputs")
      ->check(NonNegative());
  ec->add_option("--dataset", ex->dataset, "Dataset of --sample (default: the one trained on)");
  ec->add_option("--deck", ex->deck,
                 "Write this network deck (same layer sizes, e.g. with line parasitics) with the "
                 "run's conductances instead of the run's own deck")
      ->check(CLI::ExistingFile);
  ec->callback([ex, exit_code]() {
    try {
      *exit_code = RunExport(*ex);
    } catch (const std::exception& e) {
      std::cerr << "error: " << e.what() << "\n";
      *exit_code = kExitInputError;
    }
  });
}

}  // namespace memspice::apps
