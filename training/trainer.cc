#include "training/trainer.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>

#include "training/run_dir.h"

namespace memspice::training {

namespace fs = std::filesystem;
using nlohmann::json;

TrainOptions TrainPreset(const std::string& name) {
  TrainOptions o;
  if (name == "default") return o;
  if (name != "paper")
    throw TrainingError(
        fmt::format("unknown preset '{}' (expected one of: {})", name, kPresetNames));
  // The MEMprop paper's protocol: T = 1000 steps of 10 us, batch 128, Adam 1e-4, 50 epochs. Its
  // loading factors are not given (the measured layer scales are kept), and its forward Euler
  // diverged on the first batch at every layer-1 scale from 150 down to 30 (docs/training.md), so
  // the neurons use the semi-implicit update, forward Euler's stable twin (`--method fe` restores
  // it).
  o.network.layer_sizes = {784, 100, 10};
  o.network.method = Method::kSemiImplicit;
  o.network.steps = 1000;
  o.network.dt = 10e-6;
  o.batch_size = 128;
  o.optimizer.kind = OptimizerKind::kAdam;
  o.optimizer.lr = 1e-4;
  o.epochs = 50;
  return o;
}

std::vector<double> DefaultLayerScale(int crossbars) {
  const std::vector<double> recipe = NetworkConfig().layer_scale;  // first, then deeper crossbars
  std::vector<double> s(std::max(0, crossbars), recipe.back());
  if (!s.empty()) s.front() = recipe.front();
  return s;
}

namespace {

// Largest drives at which forward Euler was measured to stay stable on Fashion-MNIST at dt = 10 us
// (docs/training.md, "The paper's protocol"): layer 1 s_1 * input_scale = 20 V/A * 10 uA, deeper
// crossbars s_l = 0.01; 30,0.02 and above diverged on the first batch of 128.
constexpr double kFeStableInputDrive = 2e-4;  // [V]
constexpr double kFeStableDeepScale = 0.01;
// Below this Adam learning rate training was measured to be slow (the paper preset's lr 1e-4:
// 76 % after 10 epochs at T = 1000, where the default lr 2e-3 reaches 81 % after one).
constexpr double kSlowAdamLr = 5e-4;
// Relative difference between a device card's range and the network's that is only round-off.
constexpr double kRangeTolerance = 1e-9;

}  // namespace

std::vector<std::string> TrainWarnings(const TrainOptions& o) {
  std::vector<std::string> w;
  const NetworkConfig& c = o.network;
  if (c.method == Method::kForwardEuler) {
    bool strong = !c.layer_scale.empty() &&
                  c.layer_scale.front() * c.input_scale > kFeStableInputDrive * (1 + 1e-9);
    for (size_t l = 1; l < c.layer_scale.size(); ++l)
      strong = strong || c.layer_scale[l] > kFeStableDeepScale * (1 + 1e-9);
    if (strong)
      w.push_back(fmt::format(
          "forward Euler with layer scales above 20,0.01 (at input scale 10 uA) diverged in "
          "measurements (150,0.03 on the first batch): the semi-implicit method costs the same "
          "and is stable for any drive"));
    if (c.form == CrossbarForm::kCircuit)
      w.push_back(
          "forward Euler with the circuit crossbar form is unstable (the bit-line loading makes "
          "dt L / C_mem >> 2): use the semi-implicit method");
  }
  if (o.optimizer.kind == OptimizerKind::kAdam && o.optimizer.lr < kSlowAdamLr)
    w.push_back(fmt::format(
        "Adam with lr {:g} trains slowly (lr 1e-4 reached 76 % after 10 epochs at T = 1000 in "
        "measurements, the default lr 2e-3 reaches 81 % after one)",
        o.optimizer.lr));
  const mss::MssParams& syn = o.update.device.synapse;  // ron = roff = 0: the network's range
  auto differs = [](double a, double b) { return std::abs(a - b) > kRangeTolerance * b; };
  if (o.update.rule != UpdateRule::kIdeal && syn.ron > 0 && syn.roff > 0 &&
      (differs(1 / syn.ron, c.g_max) || differs(1 / syn.roff, c.g_min)))
    w.push_back(fmt::format(
        "the device card's range [{:g}, {:g}] S differs from the network's [{:g}, {:g}] S: "
        "devices are programmed within the intersection",
        1 / syn.roff, 1 / syn.ron, c.g_min, c.g_max));
  return w;
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  return fmt::format("{:.3g} {}", bytes, units[u]);
}

std::string MemoryBudgetError(double bytes, const std::string& what) {
  const double ram =
      static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  if (!(ram > 0) || bytes <= ram) return "";
  return fmt::format("{} needs about {} of memory, this machine has {} of RAM", what,
                     FormatBytes(bytes), FormatBytes(ram));
}

double EstimateTrainingBytes(const TrainOptions& o) {
  const NetworkConfig& c = o.network;
  double weights = 0;
  for (int l = 0; l < c.num_layers(); ++l)
    weights += static_cast<double>(c.layer_sizes[l]) * c.layer_sizes[l + 1];
  const double pair = 2 * weights * sizeof(double);  // G+ and G-
  // Conductances, Adam m and v, the batch gradient, the initial draw, one gradient per chunk.
  const double chunks = std::ceil(static_cast<double>(o.batch_size) / o.chunk);
  const double params = pair * (5 + chunks);
  const double tapes = static_cast<double>(TapeBytes(c, o.chunk)) * o.threads;
  const double alpha = (static_cast<double>(c.steps) + 1) * sizeof(double);
  return params + tapes + alpha;
}

std::string TrainOptions::Validate() const {
  auto bad = [](const char* name, auto value, const char* rule) {
    return fmt::format("option '{}' = {} must be {}", name, value, rule);
  };
  if (epochs < 1) return bad("epochs", epochs, ">= 1");
  if (batch_size < 1) return bad("batch_size", batch_size, ">= 1");
  if (threads < 1) return bad("threads", threads, ">= 1");
  if (chunk < 1) return bad("chunk", chunk, ">= 1");
  if (max_batches < 0) return bad("max_batches", max_batches, ">= 0");
  if (max_train < 0) return bad("max_train", max_train, ">= 0");
  if (max_test < 0) return bad("max_test", max_test, ">= 0");
  if (checkpoint_every < 0) return bad("checkpoint_every", checkpoint_every, ">= 0");
  if (stop_after_batches < 0) return bad("stop_after_batches", stop_after_batches, ">= 0");
  if (!(init_fraction > 0 && init_fraction <= 1))
    return bad("init_fraction", init_fraction, "in (0, 1]");
  if (!(optimizer.lr > 0) || !std::isfinite(optimizer.lr))
    return bad("lr", optimizer.lr, "finite and > 0");
  if (!(optimizer.lr_min >= 0 && optimizer.lr_min <= optimizer.lr))
    return fmt::format("option 'lr_min' = {:g} must be in [0, lr = {:g}]", optimizer.lr_min,
                       optimizer.lr);
  if (run_dir.empty()) return "option 'run_dir' must name a directory";
  if (update.rule != UpdateRule::kIdeal)
    if (std::string e = ValidateUpdateOptions(update, network.g_min, network.g_max); !e.empty())
      return e;
  if (update.rule == UpdateRule::kAdaptive && network.mapping == SignedMapping::kReferenceColumn)
    return "update rule 'adaptive' programs G+ for positive and G- for negative steps, but the "
           "reference-column mapping trains one cell per weight (its reference is fixed): use "
           "another rule (e.g. pulse or eapu) or mapping differential";
  if (const int chunks = (batch_size + chunk - 1) / chunk; world && world->size() > chunks) {
    return fmt::format(
        "{} processes (MPI ranks) share each batch chunk by chunk, but batch_size {} / chunk {} "
        "gives only {} chunk{}; run at most {} ranks or use a batch of at least {} samples",
        world->size(), batch_size, chunk, chunks, chunks == 1 ? "" : "s", chunks,
        world->size() * chunk);
  }
  if (std::string e = network.Validate(); !e.empty()) return e;
  return MemoryBudgetError(
      EstimateTrainingBytes(*this),
      fmt::format("training ({} steps, batch {}, {} threads: BPTT tape of {} per thread)",
                  network.steps, batch_size, threads,
                  FormatBytes(static_cast<double>(TapeBytes(network, chunk)))));
}

std::string ConfigJson(const TrainOptions& o) {
  const NetworkConfig& c = o.network;
  json j;
  j["dataset"] = o.dataset;
  j["layer_sizes"] = c.layer_sizes;
  j["layer_scale"] = c.layer_scale;
  j["input_scale"] = c.input_scale;
  j["g_min"] = c.g_min;
  j["g_max"] = c.g_max;
  j["dt"] = c.dt;
  j["steps"] = c.steps;
  j["period"] = c.period;
  j["tau_a"] = c.tau_a;
  j["v_scale"] = c.v_scale;
  j["method"] = MethodName(c.method);
  j["crossbar"] = CrossbarFormName(c.form);
  if (c.mapping != SignedMapping::kDifferential) j["mapping"] = SignedMappingName(c.mapping);
  j["c_mem"] = c.neuron.c_mem;
  j["optimizer"] = OptimizerName(o.optimizer.kind);
  j["lr"] = o.optimizer.lr;
  if (o.optimizer.schedule != LrSchedule::kConstant) {  // absent: constant (older checkpoints)
    j["lr_schedule"] = LrScheduleName(o.optimizer.schedule);
    j["lr_min"] = o.optimizer.lr_min;
  }
  j["batch_size"] = o.batch_size;
  j["chunk"] = o.chunk;
  j["seed"] = o.seed;
  j["max_train"] = o.max_train;
  j["init_fraction"] = o.init_fraction;
  if (o.update.rule != UpdateRule::kIdeal) j["update"] = UpdateOptionsToJson(o.update);
  return j.dump();
}

namespace {

void ConductanceStats(const NetworkConfig& c, const Parameters& p, EpochMetrics* m) {
  double sum = 0, sum2 = 0, at_min = 0, at_max = 0, n = 0;
  const double tol = 1e-9 * (c.g_max - c.g_min);
  for (const auto* set : {&p.g_plus, &p.g_minus})
    for (const auto& w : *set) {
      sum += w.sum();
      sum2 += w.squaredNorm();
      at_min += (w.array() <= c.g_min + tol).count();
      at_max += (w.array() >= c.g_max - tol).count();
      n += static_cast<double>(w.size());
    }
  m->g_mean = sum / n;
  m->g_std = std::sqrt(std::max(0.0, sum2 / n - m->g_mean * m->g_mean));
  m->g_at_min = at_min / n;
  m->g_at_max = at_max / n;
}

void ProgrammingMetrics(const ProgrammingStats& ps, EpochMetrics* m) {
  m->r_up = ps.r_up();
  m->n_up = ps.n_up();
  m->pulses = static_cast<double>(ps.pulses);
  m->energy = ps.energy;
  m->drift = ps.drift;
  m->refreshes = static_cast<double>(ps.refreshes);
}

double PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return 1024.0 * static_cast<double>(u.ru_maxrss);  // Linux reports kilobytes
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

}  // namespace

Parameters FreshArray(const Parameters& p, const UpdateOptions& u, const NetworkConfig& c,
                      uint64_t seed) {
  if (const std::string err = u.device.Validate(); !err.empty()) throw TrainingError(err);
  Parameters fresh = WithDeviceNoise(p, u.device, c.g_min, c.g_max, seed);
  BroadcastReference(c, &fresh);  // a reference column is one physical cell per row
  return fresh;
}

EvalResult Evaluate(const Network& net, const Parameters& p, const Dataset& data, int threads,
                    int max_samples, int chunk, const parallel::Collective* world) {
  const NetworkConfig& c = net.config();
  if (data.features() != c.layer_sizes.front())
    throw TrainingError(
        fmt::format("dataset '{}' has {} features per sample, network input layer has {}",
                    data.name, data.features(), c.layer_sizes.front()));
  const int classes = c.layer_sizes.back();
  const int n = max_samples > 0 ? std::min(max_samples, data.size()) : data.size();
  EvalResult r;
  r.count = n;
  r.confusion = Eigen::MatrixXi::Zero(classes, classes);
  // Bounded blocks keep the state memory per pass small.
  const int block = 1024;
  double loss = 0, spiking = 0;
  long correct = 0;
  for (int first = 0; first < n; first += block) {
    const int m = std::min(block, n - first);
    const PassResult pr = net.Run<float>(p, data.image(first), data.labels.data() + first, m, false,
                                         threads, chunk, world);
    for (int s = 0; s < m; ++s) {
      const int y = data.labels[first + s];
      const int k = pr.samples[s].predicted;
      if (y >= 0 && y < classes) r.confusion(y, k) += 1;
      correct += (k == y);
      loss += pr.samples[s].loss;
      spiking += pr.samples[s].spiking_fraction;
    }
  }
  r.accuracy = n ? double(correct) / n : 0.0;
  r.loss = n ? loss / n : 0.0;
  r.spiking_fraction = n ? spiking / n : 0.0;
  return r;
}

void CheckTrainingData(const TrainOptions& o, const DatasetPair& data) {
  const NetworkConfig& c = o.network;
  if (data.train.size() == 0 || data.test.size() == 0)
    throw TrainingError(
        fmt::format("dataset '{}' has {} training and {} test images: both must be "
                    "at least 1",
                    data.train.name, data.train.size(), data.test.size()));
  if (data.train.features() != c.layer_sizes.front())
    throw TrainingError(
        fmt::format("dataset '{}' has {} features per sample, network input layer has {}",
                    data.train.name, data.train.features(), c.layer_sizes.front()));
  for (const Dataset* d : {&data.train, &data.test})
    for (int y : d->labels)
      if (y < 0 || y >= c.layer_sizes.back())
        throw TrainingError(
            fmt::format("dataset '{}' has label {} but the output layer has {} neurons", d->name, y,
                        c.layer_sizes.back()));
  const int n_train =
      o.max_train > 0 ? std::min(o.max_train, data.train.size()) : data.train.size();
  if (o.batch_size > n_train)
    throw TrainingError(fmt::format(
        "option 'batch_size' = {} is larger than the {} training samples used: use at most {}",
        o.batch_size, n_train, n_train));
}

namespace {

// The state a checkpoint captures.
struct RunState {
  RunState(Parameters p, Optimizer o, uint64_t rng_seed)
      : params(std::move(p)), opt(std::move(o)), rng(rng_seed) {}
  Parameters params;
  Optimizer opt;
  std::mt19937_64 rng;  // epoch seeds and the device noise of the update rules
  std::optional<ConductanceUpdater> updater;  // non-ideal update rules
  int epoch = 0, batch = 0;
  uint64_t epoch_seed = 0;
  bool epoch_seeded = false;
  double loss = 0;  // running sums of the epoch in progress
  long correct = 0, count = 0;
  std::vector<EpochMetrics> history;
};

// The state at (epoch, batch): the next batch to train.
Checkpoint ToCheckpoint(const RunState& s, const std::string& config, int epoch, int batch) {
  Checkpoint k;
  k.config_json = config;
  k.params = s.params;
  k.StoreOptimizer(s.opt);
  k.epoch = epoch;
  k.batch = batch;
  k.epoch_seed = s.epoch_seed;
  k.epoch_seed_valid = s.epoch_seeded;
  std::ostringstream rs;
  rs << s.rng;
  k.rng_state = rs.str();
  k.history = s.history;
  k.partial_loss = s.loss;
  k.partial_correct = s.correct;
  k.partial_count = s.count;
  if (s.updater) k.partial_programming = s.updater->stats();
  return k;
}

// Continues from the run directory's checkpoint; refuses one written with other options or whose
// position lies past the end of the epoch.
void Resume(const std::string& path, const std::string& config, int full_batches, RunState* s) {
  Checkpoint k = LoadCheckpoint(path);
  if (json::parse(k.config_json) != json::parse(config))
    throw TrainingError(
        fmt::format("{}: error: checkpoint was written with different options:\n  checkpoint: "
                    "{}\n  now:        {}",
                    path, k.config_json, config));
  if (k.batch > full_batches)
    throw TrainingError(
        fmt::format("{}: error: field 'batch' = {} is past the end of the epoch ({} batches)", path,
                    k.batch, full_batches));
  s->params = std::move(k.params);
  k.RestoreOptimizer(&s->opt);
  s->epoch = k.epoch;
  s->batch = k.batch;
  s->epoch_seed = k.epoch_seed;
  s->epoch_seeded = k.epoch_seed_valid;
  std::istringstream(k.rng_state) >> s->rng;
  s->history = std::move(k.history);
  s->loss = k.partial_loss;
  s->correct = k.partial_correct;
  s->count = k.partial_count;
  if (s->updater) s->updater->SetStats(k.partial_programming);
}

struct Progress {
  bool enabled, tty;
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double last_print = -1;
  long samples = 0;  // trained in this invocation during this epoch

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  void Print(const TrainOptions& o, const RunState& s, int first_batch, int n_batches) {
    if (!enabled) return;
    const double el = Elapsed();
    const bool last = s.batch + 1 == n_batches;
    if (!(tty || last || el - last_print >= 30)) return;
    last_print = el;
    const int done = s.batch + 1 - first_batch;
    const double eta = (n_batches - s.batch - 1) * (el / std::max(1, done));
    const int width = 24;
    const int filled = static_cast<int>(width * double(s.batch + 1) / n_batches);
    std::fprintf(
        stderr, "%sepoch %d/%d [%s%s] %d/%d  loss %.4g  acc %.2f%%  %.0f samples/s  ETA %s%s",
        tty ? "\r" : "", s.epoch + 1, o.epochs, std::string(filled, '#').c_str(),
        std::string(width - filled, '.').c_str(), s.batch + 1, n_batches,
        s.loss / std::max<long>(1, s.count), 100.0 * s.correct / std::max<long>(1, s.count),
        samples / std::max(el, 1e-9), FormatDuration(eta).c_str(), tty ? "   " : "\n");
    std::fflush(stderr);
  }
};

// One optimisation step on batch s->batch of the epoch's permutation.
void TrainBatch(const TrainOptions& o, const Network& net, const Dataset& train,
                const std::vector<int>& perm, RunState* s, Progress* progress) {
  const int F = net.config().layer_sizes.front();
  const int first = s->batch * o.batch_size;
  const int bs = std::min(o.batch_size, static_cast<int>(perm.size()) - first);
  std::vector<float> xb(static_cast<size_t>(bs) * F);
  std::vector<int> yb(bs);
  for (int k = 0; k < bs; ++k) {
    const int idx = perm[first + k];
    std::copy(train.image(idx), train.image(idx) + F, xb.begin() + static_cast<size_t>(k) * F);
    yb[k] = train.labels[idx];
  }
  PassResult pr;
  try {
    pr = net.Run<float>(s->params, xb.data(), yb.data(), bs, true, o.threads, o.chunk, o.world);
  } catch (const TrainingError& e) {
    throw TrainingError(
        fmt::format("epoch {}, batch {}: {}", s->epoch + 1, s->batch + 1, e.what()));
  }
  for (int k = 0; k < bs; ++k) s->correct += pr.samples[k].predicted == yb[k];
  s->loss += pr.loss_sum;
  s->count += bs;
  for (size_t l = 0; l < pr.grad.g_plus.size(); ++l) {
    pr.grad.g_plus[l] /= bs;  // mean loss over the batch
    pr.grad.g_minus[l] /= bs;
  }
  if (s->updater) {
    // The reference column is programmed once and not trained: the device model (noise, drift,
    // stuck cells) applies to the trained cells only.
    const std::vector<Eigen::MatrixXd> reference = s->params.g_minus;
    s->updater->Apply(s->opt.Delta(pr.grad), &s->params, &s->rng);
    if (o.network.mapping == SignedMapping::kReferenceColumn) s->params.g_minus = reference;
  } else {
    s->opt.Step(pr.grad, &s->params);
  }
  progress->samples += bs;
}

// Metrics of the epoch that just ended (evaluates the test set).
EpochMetrics EndEpoch(const TrainOptions& o, const Network& net, const DatasetPair& data,
                      const RunState& s, const Progress& progress, int n_train) {
  const NetworkConfig& c = net.config();
  const double secs = progress.Elapsed();
  EpochMetrics m;
  m.epoch = s.epoch + 1;
  m.batches = s.batch;  // a resume with a smaller max_batches ends the epoch where it was
  m.train_loss = s.loss / std::max<long>(1, s.count);
  m.train_accuracy = double(s.correct) / std::max<long>(1, s.count);
  m.seconds = secs;
  m.samples_per_second = progress.samples / std::max(secs, 1e-9);
  m.tape_bytes_per_batch =
      static_cast<double>(net.TapeBytesPerChunk(o.chunk)) *
      std::min(o.threads, (std::min(o.batch_size, n_train) + o.chunk - 1) / o.chunk);
  const EvalResult ev = Evaluate(net, s.params, data.test, o.threads, o.max_test, o.chunk, o.world);
  m.test_loss = ev.loss;
  m.test_accuracy = ev.accuracy;
  m.spiking_fraction = ev.spiking_fraction;
  ConductanceStats(c, s.params, &m);
  m.peak_rss_bytes = PeakRssBytes();
  if (s.updater) ProgrammingMetrics(s.updater->stats(), &m);
  if (o.progress)
    std::fprintf(stderr,
                 "%sepoch %d: train loss %.4g acc %.2f%%  test acc %.2f%%  spiking %.3f  (%s, "
                 "%s kernels, tape %.0f MiB/batch, peak RSS %.0f MiB)\n",
                 progress.tty ? "\n" : "", m.epoch, m.train_loss, 100 * m.train_accuracy,
                 100 * m.test_accuracy, m.spiking_fraction, FormatDuration(secs).c_str(),
                 KernelIsaName(net.isa()).c_str(), m.tape_bytes_per_batch / 1048576.0,
                 m.peak_rss_bytes / 1048576.0);
  if (o.progress && s.updater)
    std::fprintf(stderr,
                 "  programming (%s): R_up %.3g  N_up %.3g  pulses %.0f  energy %.3g J  drift "
                 "%.3g S  refreshes %.0f\n",
                 UpdateRuleName(o.update.rule).c_str(), m.r_up, m.n_up, m.pulses, m.energy, m.drift,
                 m.refreshes);
  return m;
}

// With MPI ranks every rank stops at the same batch when any of them was asked to.
bool StopRequested(const TrainOptions& o) {
  const bool mine = o.stop != nullptr && o.stop->load();
  return o.world ? !parallel::FirstError(*o.world, mine ? "stop" : "").empty() : mine;
}

}  // namespace

TrainResult RunTraining(const TrainOptions& options, const DatasetPair& data) {
  // Under MPI only rank 0 prints and writes the run directory; the ranks compute the same state.
  const bool root = !options.world || options.world->is_root();
  TrainOptions quiet;
  const TrainOptions& o = root ? options : (quiet = options, quiet.progress = false, quiet);
  if (const std::string err = o.Validate(); !err.empty()) throw TrainingError(err);
  CheckTrainingData(o, data);
  const Network net(o.network);
  const NetworkConfig& c = net.config();
  const std::string ckpt_path = RunFile(o.run_dir, kCheckpointFile);
  const std::string config = ConfigJson(o);
  const int n_train =
      o.max_train > 0 ? std::min(o.max_train, data.train.size()) : data.train.size();
  const int full_batches = (n_train + o.batch_size - 1) / o.batch_size;
  const int n_batches = o.max_batches > 0 ? std::min(full_batches, o.max_batches) : full_batches;

  const Parameters init = InitParameters(c, o.seed, o.init_fraction);
  OptimizerOptions schedule = o.optimizer;
  schedule.total_steps = static_cast<long>(o.epochs) * n_batches;
  RunState s{o.initial.g_plus.empty() ? init : o.initial,
             Optimizer(schedule, c.g_min, c.g_max, init), o.seed ^ 0x9e3779b97f4a7c15ull};
  if (o.update.rule != UpdateRule::kIdeal) {
    s.updater.emplace(o.update, c.g_min, c.g_max, init);
    const std::vector<Eigen::MatrixXd> reference = s.params.g_minus;
    s.updater->Condition(&s.params);  // stuck devices sit at their stuck conductance
    if (c.mapping == SignedMapping::kReferenceColumn) s.params.g_minus = reference;
  }
  if (o.resume) {
    Resume(ckpt_path, config, full_batches, &s);
    if (root) WriteMetricsFiles(o.run_dir, s.history);  // repairs a run killed mid-commit
    if (s.batch > n_batches && o.progress)
      std::fprintf(stderr,
                   "note: the checkpoint is at batch %d of epoch %d, past max_batches %d: that "
                   "epoch ends there\n",
                   s.batch, s.epoch + 1, n_batches);
  } else {
    fs::create_directories(o.run_dir);
    for (const char* f : {kMetricsCsvFile, kMetricsJsonFile})
      if (root) fs::remove(RunFile(o.run_dir, f));
  }

  TrainResult result;
  int done_this_run = 0;
  auto stop = [&](bool interrupted) {
    if (root) SaveCheckpoint(ckpt_path, ToCheckpoint(s, config, s.epoch, s.batch));
    if (o.progress) std::fputc('\n', stderr);
    result.params = s.params;
    result.history = s.history;
    result.interrupted = interrupted;
    result.next_epoch = s.epoch;
    result.next_batch = s.batch;
    return result;
  };
  for (; s.epoch < o.epochs; ++s.epoch) {
    if (!s.epoch_seeded) {
      s.epoch_seed = s.rng();
      s.epoch_seeded = true;
    }
    const std::vector<int> perm = Permutation(n_train, s.epoch_seed);
    Progress progress{o.progress, isatty(STDERR_FILENO) != 0};
    const int first_batch = s.batch;
    for (; s.batch < n_batches; ++s.batch) {
      if (StopRequested(o)) return stop(true);
      if (o.stop_after_batches > 0 && done_this_run >= o.stop_after_batches) return stop(false);
      TrainBatch(o, net, data.train, perm, &s, &progress);
      ++done_this_run;
      progress.Print(o, s, first_batch, n_batches);
      if (o.checkpoint_every > 0 && (s.batch + 1) % o.checkpoint_every == 0 &&
          s.batch + 1 < n_batches && root)
        SaveCheckpoint(ckpt_path, ToCheckpoint(s, config, s.epoch, s.batch + 1));
    }
    if (StopRequested(o)) return stop(true);  // evaluation on resume
    s.history.push_back(EndEpoch(o, net, data, s, progress, n_train));
    s.batch = 0;
    s.epoch_seeded = false;
    s.loss = 0;
    s.correct = s.count = 0;
    if (s.updater) s.updater->ResetStats();
    // The epoch's commit: the checkpoint (which holds the metric history) is replaced atomically
    // first; the metrics files are derived from it, and rewritten from it on resume.
    if (root) SaveCheckpoint(ckpt_path, ToCheckpoint(s, config, s.epoch + 1, 0));
    if (root) WriteMetricsFiles(o.run_dir, s.history);
  }
  if (root) SaveParametersJson(RunFile(o.run_dir, kParamsFile), c, s.params);
  result.params = s.params;
  result.history = s.history;
  result.finished = true;
  result.next_epoch = s.epoch;
  return result;
}

}  // namespace memspice::training
