// The line port model alone (not a test): the ladder network of one in x out crossbar, as
// `memspice gen msnn --rline R` writes it (training::UniformLadders), built directly so that no
// deck is parsed. Times the symbolic
// analysis, the factorisation with the port admittance, and the gradient, in process CPU seconds
// (BLAS threads included) and wall seconds. For profiling the line network without the minutes a
// 784-100-10 deck takes to parse (benchmarks/line_network.sh times the whole training pass).
//
//   line_port_bench [--in 784] [--out 100] [--rline 2.5] [--repeat 3] [--threads 2]
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <random>

#include "training/line_network.h"

namespace mt = memspice::training;

namespace {

double ProcessCpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}
double Wall() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Line port model: factorisation, port admittance and gradient timings"};
  int in = 784, out = 100, repeat = 3, threads = 2;
  double rline = 2.5;
  app.add_option("--in", in);
  app.add_option("--out", out);
  app.add_option("--rline", rline);
  app.add_option("--repeat", repeat);
  app.add_option("--threads", threads, "Threads of the solves");
  CLI11_PARSE(app, argc, argv);
  const auto top = mt::UniformLadders(in, out, rline);
  if (std::string e = top->Validate(); !e.empty()) {
    fmt::print(stderr, "error: {}\n", e);
    return 1;
  }
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(1e-6, 1e-4);  // MSS synapse range [S]
  Eigen::MatrixXd gp(in, out), gm(in, out);
  for (Eigen::Index k = 0; k < gp.size(); ++k) gp.data()[k] = u(rng), gm.data()[k] = u(rng);
  mt::LineFactorPool pool;
  fmt::print("{} x {} crossbar, rline {} ohm: {} line nodes, {} ports\n", in, out, rline,
             top->nodes, top->ports());
  for (int k = 0; k < repeat; ++k) {
    double c0 = ProcessCpu(), w0 = Wall();
    const mt::LinePortModel m(top, gp, gm, &pool, threads);
    const double fc = ProcessCpu() - c0, fw = Wall() - w0;
    const Eigen::MatrixXd a_bw = Eigen::MatrixXd::Random(out, 2 * in);
    const Eigen::MatrixXd a_bb = Eigen::MatrixXd::Random(out, out);
    Eigen::MatrixXd dp, dm;
    c0 = ProcessCpu(), w0 = Wall();
    m.Gradient(a_bw, a_bb, &dp, &dm);
    const double gc = ProcessCpu() - c0, gw = Wall() - w0;
    fmt::print(
        "step {}: model (factorisation + port admittance) {:.3f} s CPU / {:.3f} s wall, gradient "
        "{:.3f} s CPU / {:.3f} s wall; |Y_bb| {:.6e}, |dG+| {:.6e}; nnz(L) {:.3g}, {:.3g} "
        "flops per factorisation in {} part(s), separator {} nodes\n",
        k, fc, fw, gc, gw, m.ybb().norm(), dp.norm(), m.FactorNonzeros(), m.FactorFlops(),
        m.FactorParts(), m.SeparatorNodes());
  }
  return 0;
}
