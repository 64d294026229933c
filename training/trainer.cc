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
#include <random>
#include <sstream>

namespace memspice::training {

namespace fs = std::filesystem;
using nlohmann::json;

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
  if (run_dir.empty()) return "option 'run_dir' must name a directory";
  return network.Validate();
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
  j["c_mem"] = c.neuron.c_mem;
  j["optimizer"] = OptimizerName(o.optimizer.kind);
  j["lr"] = o.optimizer.lr;
  j["batch_size"] = o.batch_size;
  j["chunk"] = o.chunk;
  j["seed"] = o.seed;
  j["max_train"] = o.max_train;
  j["init_fraction"] = o.init_fraction;
  return j.dump();
}

namespace {

json MetricsToJson(const EpochMetrics& m) {
  return json{{"epoch", m.epoch},
              {"batches", m.batches},
              {"train_loss", m.train_loss},
              {"train_accuracy", m.train_accuracy},
              {"test_loss", m.test_loss},
              {"test_accuracy", m.test_accuracy},
              {"spiking_fraction", m.spiking_fraction},
              {"g_mean", m.g_mean},
              {"g_std", m.g_std},
              {"g_at_min", m.g_at_min},
              {"g_at_max", m.g_at_max},
              {"seconds", m.seconds},
              {"samples_per_second", m.samples_per_second},
              {"tape_bytes_per_batch", m.tape_bytes_per_batch},
              {"peak_rss_bytes", m.peak_rss_bytes}};
}

EpochMetrics MetricsFromJson(const json& j) {
  EpochMetrics m;
  m.epoch = j.at("epoch");
  m.batches = j.at("batches");
  m.train_loss = j.at("train_loss");
  m.train_accuracy = j.at("train_accuracy");
  m.test_loss = j.at("test_loss");
  m.test_accuracy = j.at("test_accuracy");
  m.spiking_fraction = j.at("spiking_fraction");
  m.g_mean = j.at("g_mean");
  m.g_std = j.at("g_std");
  m.g_at_min = j.at("g_at_min");
  m.g_at_max = j.at("g_at_max");
  m.seconds = j.at("seconds");
  m.samples_per_second = j.at("samples_per_second");
  m.tape_bytes_per_batch = j.value("tape_bytes_per_batch", 0.0);  // absent in older checkpoints
  m.peak_rss_bytes = j.value("peak_rss_bytes", 0.0);
  return m;
}

constexpr char kMagic[8] = {'M', 'S', 'P', 'C', 'K', 'P', 'T', '1'};

void WriteParams(std::ostream& out, const Parameters& p) {
  const int32_t n = static_cast<int32_t>(p.g_plus.size());
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  for (int32_t l = 0; l < n; ++l)
    for (const Eigen::MatrixXd* m : {&p.g_plus[l], &p.g_minus[l]}) {
      const int32_t rc[2] = {static_cast<int32_t>(m->rows()), static_cast<int32_t>(m->cols())};
      out.write(reinterpret_cast<const char*>(rc), sizeof rc);
      out.write(reinterpret_cast<const char*>(m->data()), sizeof(double) * m->size());
    }
}

Parameters ReadParams(std::istream& in, const std::string& path) {
  auto fail = [&] {
    return TrainingError(fmt::format("{}: error: truncated or corrupt checkpoint", path));
  };
  int32_t n = 0;
  if (!in.read(reinterpret_cast<char*>(&n), sizeof n) || n < 0 || n > 64) throw fail();
  Parameters p;
  for (int32_t l = 0; l < n; ++l)
    for (int which = 0; which < 2; ++which) {
      int32_t rc[2];
      if (!in.read(reinterpret_cast<char*>(rc), sizeof rc) || rc[0] < 0 || rc[1] < 0 ||
          rc[0] > (1 << 24) || rc[1] > (1 << 24))
        throw fail();
      Eigen::MatrixXd m(rc[0], rc[1]);
      if (!in.read(reinterpret_cast<char*>(m.data()), sizeof(double) * m.size())) throw fail();
      (which ? p.g_minus : p.g_plus).push_back(std::move(m));
    }
  return p;
}

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

void WriteMetricsFiles(const std::string& dir, const std::vector<EpochMetrics>& history) {
  // metrics.csv is appended one line per epoch; metrics.json is rewritten with the whole history.
  const fs::path csv = fs::path(dir) / "metrics.csv";
  const bool fresh = !fs::exists(csv);
  std::ofstream out(csv, std::ios::app);
  if (!out) throw TrainingError(fmt::format("{}: error: cannot write metrics", csv.string()));
  if (fresh)
    out << "epoch,batches,train_loss,train_accuracy,test_loss,test_accuracy,spiking_fraction,g_"
           "mean,g_std,"
           "g_at_min,g_at_max,seconds,samples_per_second,tape_bytes_per_batch,peak_rss_bytes\n";
  const EpochMetrics& m = history.back();
  out << fmt::format(
      "{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},"
      "{:.0f},{:.0f}\n",
      m.epoch, m.batches, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
      m.spiking_fraction, m.g_mean, m.g_std, m.g_at_min, m.g_at_max, m.seconds,
      m.samples_per_second, m.tape_bytes_per_batch, m.peak_rss_bytes);
  json arr = json::array();
  for (const auto& h : history) arr.push_back(MetricsToJson(h));
  std::ofstream js(fs::path(dir) / "metrics.json");
  js << arr.dump(2) << "\n";
}

}  // namespace

void SaveCheckpoint(const std::string& path, const Checkpoint& c) {
  json h;
  h["config"] = json::parse(c.config_json);
  h["optimizer_step"] = c.optimizer_step;
  h["epoch"] = c.epoch;
  h["batch"] = c.batch;
  h["epoch_seed"] = c.epoch_seed;
  h["epoch_seed_valid"] = c.epoch_seed_valid;
  h["rng_state"] = c.rng_state;
  h["partial_loss"] = c.partial_loss;
  h["partial_correct"] = c.partial_correct;
  h["partial_count"] = c.partial_count;
  json hist = json::array();
  for (const auto& m : c.history) hist.push_back(MetricsToJson(m));
  h["history"] = hist;
  const std::string header = h.dump();
  // Write then rename, so an interrupted save never leaves a half checkpoint behind.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw TrainingError(fmt::format("{}: error: cannot write checkpoint", tmp));
    out.write(kMagic, sizeof kMagic);
    const uint64_t len = header.size();
    out.write(reinterpret_cast<const char*>(&len), sizeof len);
    out.write(header.data(), static_cast<std::streamsize>(len));
    WriteParams(out, c.params);
    WriteParams(out, c.optimizer_m);
    WriteParams(out, c.optimizer_v);
    if (!out) throw TrainingError(fmt::format("{}: error: write failed", tmp));
  }
  fs::rename(tmp, path);
}

Checkpoint LoadCheckpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw TrainingError(fmt::format("{}: error: checkpoint not found", path));
  char magic[8];
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0)
    throw TrainingError(
        fmt::format("{}: error: not a memspice training checkpoint (bad magic)", path));
  uint64_t len = 0;
  if (!in.read(reinterpret_cast<char*>(&len), sizeof len) || len > (1u << 30))
    throw TrainingError(fmt::format("{}: error: corrupt checkpoint header", path));
  std::string header(len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(len)))
    throw TrainingError(fmt::format("{}: error: truncated checkpoint header", path));
  Checkpoint c;
  try {
    const json h = json::parse(header);
    c.config_json = h.at("config").dump();
    c.optimizer_step = h.at("optimizer_step");
    c.epoch = h.at("epoch");
    c.batch = h.at("batch");
    c.epoch_seed = h.at("epoch_seed");
    c.epoch_seed_valid = h.at("epoch_seed_valid");
    c.rng_state = h.at("rng_state");
    c.partial_loss = h.at("partial_loss");
    c.partial_correct = h.at("partial_correct");
    c.partial_count = h.at("partial_count");
    for (const auto& m : h.at("history")) c.history.push_back(MetricsFromJson(m));
  } catch (const json::exception& e) {
    throw TrainingError(fmt::format("{}: error: corrupt checkpoint header: {}", path, e.what()));
  }
  c.params = ReadParams(in, path);
  c.optimizer_m = ReadParams(in, path);
  c.optimizer_v = ReadParams(in, path);
  return c;
}

void SaveParametersJson(const std::string& path, const NetworkConfig& c, const Parameters& p) {
  json j;
  j["g_min"] = c.g_min;
  j["g_max"] = c.g_max;
  j["layer_sizes"] = c.layer_sizes;
  j["layer_scale"] = c.layer_scale;
  j["layers"] = json::array();
  for (size_t l = 0; l < p.g_plus.size(); ++l) {
    json layer;
    layer["in"] = p.g_plus[l].rows();
    layer["out"] = p.g_plus[l].cols();
    for (int which = 0; which < 2; ++which) {
      const Eigen::MatrixXd& m = which ? p.g_minus[l] : p.g_plus[l];
      json rows = json::array();
      for (int i = 0; i < m.rows(); ++i) {
        std::vector<double> r(m.cols());
        for (int k = 0; k < m.cols(); ++k) r[k] = m(i, k);
        rows.push_back(r);
      }
      layer[which ? "g_minus" : "g_plus"] = rows;
    }
    j["layers"].push_back(layer);
  }
  std::ofstream out(path);
  if (!out) throw TrainingError(fmt::format("{}: error: cannot write parameters", path));
  out << j.dump() << "\n";
}

Parameters LoadParametersJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TrainingError(fmt::format("{}: error: parameter file not found", path));
  Parameters p;
  try {
    json j;
    in >> j;
    for (const auto& layer : j.at("layers")) {
      const int rows = layer.at("in"), cols = layer.at("out");
      for (int which = 0; which < 2; ++which) {
        const auto& src = layer.at(which ? "g_minus" : "g_plus");
        if (static_cast<int>(src.size()) != rows)
          throw TrainingError(
              fmt::format("{}: error: layer has {} rows, expected {}", path, src.size(), rows));
        Eigen::MatrixXd m(rows, cols);
        for (int i = 0; i < rows; ++i) {
          if (static_cast<int>(src[i].size()) != cols)
            throw TrainingError(fmt::format("{}: error: row {} has {} columns, expected {}", path,
                                            i, src[i].size(), cols));
          for (int k = 0; k < cols; ++k) m(i, k) = src[i][k];
        }
        (which ? p.g_minus : p.g_plus).push_back(std::move(m));
      }
    }
  } catch (const json::exception& e) {
    throw TrainingError(fmt::format("{}: error: invalid parameter file: {}", path, e.what()));
  }
  return p;
}

EvalResult Evaluate(const Network& net, const Parameters& p, const Dataset& data, int threads,
                    int max_samples, int chunk) {
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
    const PassResult pr =
        net.Run<float>(p, data.image(first), data.labels.data() + first, m, false, threads, chunk);
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

TrainResult RunTraining(const TrainOptions& options) {
  const std::string err = options.Validate();
  if (!err.empty()) throw TrainingError(err);
  return RunTraining(options, LoadDataset(options.dataset, options.dataset_path));
}

TrainResult RunTraining(const TrainOptions& o, const DatasetPair& data) {
  const std::string err = o.Validate();
  if (!err.empty()) throw TrainingError(err);
  const Network net(o.network);
  const NetworkConfig& c = net.config();
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
  fs::create_directories(o.run_dir);
  const std::string ckpt_path = (fs::path(o.run_dir) / "checkpoint.bin").string();
  const std::string config = ConfigJson(o);

  TrainResult result;
  Optimizer opt(o.optimizer, c.g_min, c.g_max, InitParameters(c, o.seed, o.init_fraction));
  std::mt19937_64 rng(o.seed ^ 0x9e3779b97f4a7c15ull);
  int epoch = 0, batch = 0;
  uint64_t epoch_seed = 0;
  bool epoch_seeded = false;
  double run_loss = 0;
  long run_correct = 0, run_count = 0;
  if (o.resume) {
    Checkpoint k = LoadCheckpoint(ckpt_path);
    if (json::parse(k.config_json) != json::parse(config))
      throw TrainingError(
          fmt::format("{}: error: checkpoint was written with different options:\n  checkpoint: "
                      "{}\n  now:        {}",
                      ckpt_path, k.config_json, config));
    result.params = std::move(k.params);
    opt.SetState(k.optimizer_step, std::move(k.optimizer_m), std::move(k.optimizer_v));
    epoch = k.epoch;
    batch = k.batch;
    epoch_seed = k.epoch_seed;
    epoch_seeded = k.epoch_seed_valid;
    std::istringstream(k.rng_state) >> rng;
    result.history = std::move(k.history);
    run_loss = k.partial_loss;
    run_correct = k.partial_correct;
    run_count = k.partial_count;
  } else {
    result.params =
        o.initial.g_plus.empty() ? InitParameters(c, o.seed, o.init_fraction) : o.initial;
    fs::remove(fs::path(o.run_dir) / "metrics.csv");
    fs::remove(fs::path(o.run_dir) / "metrics.json");
  }

  const int n_train =
      o.max_train > 0 ? std::min(o.max_train, data.train.size()) : data.train.size();
  int n_batches = (n_train + o.batch_size - 1) / o.batch_size;
  if (o.max_batches > 0) n_batches = std::min(n_batches, o.max_batches);
  const int F = c.layer_sizes.front();
  std::vector<float> xb;
  std::vector<int> yb;
  int done_this_run = 0;
  const bool tty = isatty(STDERR_FILENO);

  auto checkpoint = [&](int ep, int next_batch) {
    Checkpoint k;
    k.config_json = config;
    k.params = result.params;
    k.optimizer_step = opt.step_count();
    k.optimizer_m = opt.m();
    k.optimizer_v = opt.v();
    k.epoch = ep;
    k.batch = next_batch;
    k.epoch_seed = epoch_seed;
    k.epoch_seed_valid = epoch_seeded;
    std::ostringstream rs;
    rs << rng;
    k.rng_state = rs.str();
    k.history = result.history;
    k.partial_loss = run_loss;
    k.partial_correct = run_correct;
    k.partial_count = run_count;
    SaveCheckpoint(ckpt_path, k);
  };

  for (; epoch < o.epochs; ++epoch) {
    if (!epoch_seeded) {
      epoch_seed = rng();
      epoch_seeded = true;
    }
    const std::vector<int> perm = Permutation(n_train, epoch_seed);
    const auto t0 = std::chrono::steady_clock::now();
    const int first_batch = batch;
    double last_print = -1;
    for (; batch < n_batches; ++batch) {
      if (o.stop_after_batches > 0 && done_this_run >= o.stop_after_batches) {
        checkpoint(epoch, batch);
        if (o.progress) std::fputc('\n', stderr);
        return result;
      }
      const int first = batch * o.batch_size;
      const int bs = std::min(o.batch_size, n_train - first);
      xb.resize(static_cast<size_t>(bs) * F);
      yb.resize(bs);
      for (int s = 0; s < bs; ++s) {
        const int idx = perm[first + s];
        std::copy(data.train.image(idx), data.train.image(idx) + F,
                  xb.begin() + static_cast<size_t>(s) * F);
        yb[s] = data.train.labels[idx];
      }
      PassResult pr;
      try {
        pr = net.Run<float>(result.params, xb.data(), yb.data(), bs, true, o.threads, o.chunk);
      } catch (const TrainingError& e) {
        throw TrainingError(fmt::format("epoch {}, batch {}: {}", epoch + 1, batch + 1, e.what()));
      }
      for (int s = 0; s < bs; ++s) run_correct += pr.samples[s].predicted == yb[s];
      run_loss += pr.loss_sum;
      run_count += bs;
      for (size_t l = 0; l < pr.grad.g_plus.size(); ++l) {
        pr.grad.g_plus[l] /= bs;  // mean loss over the batch
        pr.grad.g_minus[l] /= bs;
      }
      opt.Step(pr.grad, &result.params);
      ++done_this_run;
      if (o.checkpoint_every > 0 && (batch + 1) % o.checkpoint_every == 0 && batch + 1 < n_batches)
        checkpoint(epoch, batch + 1);
      if (o.progress) {
        const double el =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const int done = batch + 1 - first_batch;
        const double rate = done * double(o.batch_size) / std::max(el, 1e-9);
        const double eta = (n_batches - batch - 1) * (el / done);
        const bool last = batch + 1 == n_batches;
        if (tty || last || el - last_print >= 30) {
          last_print = el;
          const int width = 24;
          const int filled = static_cast<int>(width * double(batch + 1) / n_batches);
          std::fprintf(
              stderr, "%sepoch %d/%d [%s%s] %d/%d  loss %.4g  acc %.2f%%  %.0f samples/s  ETA %s%s",
              tty ? "\r" : "", epoch + 1, o.epochs, std::string(filled, '#').c_str(),
              std::string(width - filled, '.').c_str(), batch + 1, n_batches,
              run_loss / std::max<long>(1, run_count),
              100.0 * run_correct / std::max<long>(1, run_count), rate, FormatDuration(eta).c_str(),
              tty ? "   " : "\n");
          std::fflush(stderr);
        }
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.batches = n_batches;
    m.train_loss = run_loss / std::max<long>(1, run_count);
    m.train_accuracy = double(run_correct) / std::max<long>(1, run_count);
    m.seconds = secs;
    m.samples_per_second = (batch - first_batch) * double(o.batch_size) / std::max(secs, 1e-9);
    m.tape_bytes_per_batch =
        static_cast<double>(net.TapeBytesPerChunk(o.chunk)) *
        std::min(o.threads, (std::min(o.batch_size, n_train) + o.chunk - 1) / o.chunk);
    const EvalResult ev = Evaluate(net, result.params, data.test, o.threads, o.max_test, o.chunk);
    m.test_loss = ev.loss;
    m.test_accuracy = ev.accuracy;
    m.spiking_fraction = ev.spiking_fraction;
    ConductanceStats(c, result.params, &m);
    m.peak_rss_bytes = PeakRssBytes();
    result.history.push_back(m);
    WriteMetricsFiles(o.run_dir, result.history);
    if (o.progress)
      std::fprintf(stderr,
                   "%sepoch %d: train loss %.4g acc %.2f%%  test acc %.2f%%  spiking %.3f  (%s, "
                   "%s kernels, tape %.0f MiB/batch, peak RSS %.0f MiB)\n",
                   tty ? "\n" : "", m.epoch, m.train_loss, 100 * m.train_accuracy,
                   100 * m.test_accuracy, m.spiking_fraction, FormatDuration(secs).c_str(),
                   KernelIsaName(net.isa()).c_str(), m.tape_bytes_per_batch / 1048576.0,
                   m.peak_rss_bytes / 1048576.0);
    batch = 0;
    epoch_seeded = false;
    run_loss = 0;
    run_correct = run_count = 0;
    checkpoint(epoch + 1, 0);
  }
  SaveParametersJson((fs::path(o.run_dir) / "params.json").string(), c, result.params);
  result.finished = true;
  return result;
}

}  // namespace memspice::training
