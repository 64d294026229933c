// Crossbars with line parasitics on the fast path (not a test): a generated MEMprop deck with
// resistive and capacitive word and bit lines is compiled, and full gradient passes (forward +
// BPTT + line-network adjoint) are timed next to the same network without parasitics, in one run;
// the conductances change slightly before every timed batch, so that each one factorises its line
// networks as a training step does.
// Prints the cost split of the line network (factorisation and port back-solves, gradient
// solves), the peak memory, and the speed ratio to the MNA engine on a smaller network both can
// run. Driven by benchmarks/line_network.sh.
//
//   line_network_bench [--layers 784,100,10] [--rline 2.5] [--cline 1f] [--steps 200]
//                      [--batch 64] [--batches 3] [--threads 2] [--method be]
//                      [--mna-layers 64,32,10] [--mna-samples 1]
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "circuits/msnn.h"
#include "netlist/expression.h"
#include "training/compiler.h"
#include "training/line_network.h"
#include "training/mna_network.h"
#include "training/network.h"

namespace mt = memspice::training;

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds of the whole process (all threads): on a shared machine the meaningful figure,
// wall-clock rates depend on the load.
double ProcessCpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

long PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss * 1024L;
}

struct Options {
  std::vector<int> layers = {784, 100, 10}, mna_layers = {64, 32, 10};
  double rline = 2.5, cline = 1e-15;
  int steps = 200, batch = 64, batches = 3, threads = 2, mna_samples = 1;
  std::string method = "be";
};

// Generates and compiles the circuit-form deck of `layers` with the given lines.
mt::CompiledNetwork Compile(const Options& o, const std::vector<int>& layers, double rline,
                            double cline, const std::filesystem::path& dir, double* seconds) {
  mt::NetworkConfig c;
  c.layer_sizes = layers;
  c.form = mt::CrossbarForm::kCircuit;
  c.method = mt::ParseMethod(o.method);
  c.steps = o.steps;
  c.period = 50;
  c.layer_scale = {5e4, 0.25};  // circuit-form drive: layer 1 membranes near v_rest + 0.1 V
  c.v_scale = 5e-3;
  memspice::circuits::MsnnSpec spec;
  if (auto s = mt::MsnnSpecFromNetwork(c, mt::InitParameters(c, 7, 0.5), "synthetic", &spec);
      !s.ok())
    throw std::runtime_error(s.message());
  spec.rline = rline;
  spec.cline = cline;
  std::string text;
  if (auto s = memspice::circuits::GenerateMsnnDeck(spec, &text); !s.ok())
    throw std::runtime_error(s.message());
  const std::string path = (dir / fmt::format("net_{}.cir", layers[1])).string();
  std::ofstream(path) << text;
  const auto t0 = Clock::now();
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  if (!mt::CompileNetwork(path, {std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib"}, &cn, diag))
    throw std::runtime_error(diag.Format());
  *seconds = Since(t0);
  if (!cn.fast) throw std::runtime_error("not compiled: " + cn.reason);
  return cn;
}

std::vector<float> Images(int n, int f) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * f);
  for (float& v : x) v = u(rng);
  return x;
}

// Relative change of every conductance from one timed batch to the next: each batch then
// factorises its line networks as after an optimiser step (the factor pool reuses the
// factorisation of unchanged conductances).
constexpr double kStepScale = 1e-6;

// Wall and process CPU seconds per gradient pass over `batch` samples (mean of `batches` after a
// warm-up), the conductances changed before every batch.
struct PassTime {
  double wall, cpu;
};
PassTime TimePass(const mt::Network& net, const mt::Parameters& p, const std::vector<float>& x,
                  const std::vector<int>& y, const Options& o) {
  net.Run<float>(p, x.data(), y.data(), o.batch, true, o.threads);
  std::vector<mt::Parameters> steps(o.batches, p);
  for (int b = 0; b < o.batches; ++b)
    for (size_t l = 0; l < p.g_plus.size(); ++l) {
      steps[b].g_plus[l] *= 1 + kStepScale * (b + 1);
      steps[b].g_minus[l] *= 1 + kStepScale * (b + 1);
    }
  const auto t0 = Clock::now();
  const double c0 = ProcessCpu();
  for (int b = 0; b < o.batches; ++b)
    net.Run<float>(steps[b], x.data(), y.data(), o.batch, true, o.threads);
  return {Since(t0) / o.batches, (ProcessCpu() - c0) / o.batches};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fast path with line parasitics: throughput, cost split, memory, MNA ratio"};
  Options o;
  std::string cline = "1f";
  app.add_option("--layers", o.layers)->delimiter(',');
  app.add_option("--rline", o.rline);
  app.add_option("--cline", cline);
  app.add_option("--steps", o.steps);
  app.add_option("--batch", o.batch);
  app.add_option("--batches", o.batches);
  app.add_option("--threads", o.threads);
  app.add_option("--method", o.method);
  app.add_option("--mna-layers", o.mna_layers)->delimiter(',');
  app.add_option("--mna-samples", o.mna_samples);
  CLI11_PARSE(app, argc, argv);
  o.cline = memspice::netlist::ParseSpiceNumber(cline).value_or(-1);
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("memspice_line_bench_{}", static_cast<long>(getpid()));
  std::filesystem::create_directories(dir);
  try {
    double compile_s = 0;
    const mt::CompiledNetwork cn = Compile(o, o.layers, o.rline, o.cline, dir, &compile_s);
    fmt::print("compiled {} ({}, {}) in {:.2f} s\n", cn.path, o.method,
               mt::CrossbarFormName(cn.config.form), compile_s);
    for (const std::string& m : cn.crossbar_models) fmt::print("  {}\n", m);
    const int f = o.layers[0];
    const std::vector<float> x = Images(o.batch, f);
    std::vector<int> y(o.batch);
    for (int s = 0; s < o.batch; ++s) y[s] = s % o.layers.back();

    // Cost split of the line network, crossbar by crossbar.
    // (Process CPU seconds, all solve threads; the second model reuses the first one's symbolic
    // analysis, as every optimiser step after the first does.)
    double analyse_s = 0, factor_s = 0, grad_s = 0;
    for (size_t l = 0; l < cn.config.lines.size(); ++l) {
      if (!cn.config.lines[l]) continue;
      mt::LineFactorPool pool;
      double t0 = ProcessCpu();
      {
        const mt::LinePortModel first(cn.config.lines[l], cn.params.g_plus[l], cn.params.g_minus[l],
                                      &pool, o.threads);
      }
      const double first = ProcessCpu() - t0;
      t0 = ProcessCpu();
      const mt::LinePortModel m(cn.config.lines[l], cn.params.g_plus[l], cn.params.g_minus[l],
                                &pool, o.threads);
      const double again = ProcessCpu() - t0;
      factor_s += again;
      analyse_s += first - again;
      const Eigen::MatrixXd a_bw = Eigen::MatrixXd::Random(m.ybw().rows(), m.ybw().cols());
      const Eigen::MatrixXd a_bb = Eigen::MatrixXd::Random(m.ybb().rows(), m.ybb().cols());
      Eigen::MatrixXd gp, gm;
      t0 = ProcessCpu();
      m.Gradient(a_bw, a_bb, &gp, &gm);
      grad_s += ProcessCpu() - t0;
    }

    const mt::Network with(cn.config);
    mt::NetworkConfig plain_cfg = cn.config;
    plain_cfg.lines.clear();
    const mt::Network plain(plain_cfg);
    const PassTime t_lines = TimePass(with, cn.params, x, y, o);
    const PassTime t_plain = TimePass(plain, cn.params, x, y, o);
    fmt::print(
        "\n| network (batch {}, {} threads, gradient pass) | samples/s wall | s per batch wall | "
        "CPU "
        "s per batch (all threads) | samples per CPU s |\n",
        o.batch, o.threads);
    fmt::print("|---|---|---|---|---|\n");
    for (const auto& [name, t] :
         {std::pair<std::string, PassTime>{
              fmt::format("rline {} ohm, cline {} F", o.rline, o.cline), t_lines},
          {"no parasitics", t_plain}})
      fmt::print("| {} | {:.1f} | {:.3f} | {:.3f} | {:.1f} |\n", name, o.batch / t.wall, t.wall,
                 t.cpu, o.batch / t.cpu);
    fmt::print("ratio with / without parasitics: {:.4f} (wall), {:.4f} (CPU)\n",
               t_plain.wall / t_lines.wall, t_plain.cpu / t_lines.cpu);
    fmt::print(
        "waveform relaxation: at most {} kernel passes per coupled layer\n",
        with.Run<float>(cn.params, x.data(), y.data(), o.batch, true, o.threads).relaxations);
    // The line parts are timed apart from the pass, so their sum can exceed the pass's CPU time
    // (buffers first touched there): the rest is then reported as 0 with the excess.
    const double rest = t_lines.cpu - factor_s - grad_s;
    fmt::print(
        "cost split per batch (CPU s): line factorisation + port back-solves {:.3f} (first step: + "
        "symbolic analysis {:.3f}), line gradient solves {:.3f}, neuron kernels, coupling "
        "relaxation and the rest {:.3f}{}\n",
        factor_s, analyse_s, grad_s, std::max(0.0, rest),
        rest < 0
            ? fmt::format(" (the line parts, timed on their own, exceed the pass by {:.3f})", -rest)
            : "");
    if (o.mna_samples < 1) {
      fmt::print("peak memory {:.2f} GiB\n", PeakRssBytes() / double(1L << 30));
      std::filesystem::remove_all(dir);
      return 0;
    }

    // MNA engine vs fast path on a network both can run.
    double mna_compile = 0;
    const mt::CompiledNetwork small = Compile(o, o.mna_layers, o.rline, o.cline, dir, &mna_compile);
    const mt::Network fast_small(small.config);
    const std::vector<float> xs = Images(o.batch, o.mna_layers[0]);
    const PassTime tf = TimePass(fast_small, small.params, xs, y, o);
    const double t_fast = tf.wall / o.batch, c_fast = tf.cpu / o.batch;
    const mt::MnaNetwork mna(small);
    auto t0 = Clock::now();
    const double c0 = ProcessCpu();
    for (int s = 0; s < o.mna_samples; ++s)
      mna.Run({}, xs.data() + static_cast<size_t>(s) * o.mna_layers[0], y[s], true);
    const double t_mna = Since(t0) / o.mna_samples, c_mna = (ProcessCpu() - c0) / o.mna_samples;
    std::string sizes;
    for (size_t i = 0; i < o.mna_layers.size(); ++i)
      sizes += (i ? "-" : "") + std::to_string(o.mna_layers[i]);
    fmt::print(
        "\n{} with the same lines: fast path {:.3g} s per sample (batch {}, {} threads), MNA "
        "engine {:.3g} s per sample (1 thread, {} samples): {:.0f}x\n",
        sizes, t_fast, o.batch, o.threads, t_mna, o.mna_samples, t_mna / t_fast);
    fmt::print("  CPU seconds per sample: fast path {:.3g}, MNA engine {:.3g}: {:.0f}x\n", c_fast,
               c_mna, c_mna / c_fast);
    fmt::print("peak memory {:.2f} GiB\n", PeakRssBytes() / double(1L << 30));
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
