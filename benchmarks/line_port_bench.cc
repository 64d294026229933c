// The line port model alone (not a test): the ladder network of one in x out crossbar, as
// `memspice gen msnn --rline R` writes it (a segment from each driver to the first cell, one
// segment per cell along word and bit lines, the last bit-line segment into the bit-line
// terminal), built directly as a LineTopology so that no deck is parsed. Times the symbolic
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

// Word line of input row r (= 2 i or 2 i + 1) has nodes r * out + j; bit line j has nodes
// 2 in out + j * 2 in + r.
std::shared_ptr<mt::LineTopology> Ladders(int in, int out, double rline) {
  auto t = std::make_shared<mt::LineTopology>();
  t->in = in;
  t->out = out;
  const int rows = 2 * in;
  t->nodes = 2 * rows * out;
  const double g = 1 / rline;
  auto word = [&](int r, int j) { return r * out + j; };
  auto bit = [&](int j, int r) { return rows * out + j * rows + r; };
  for (int r = 0; r < rows; ++r) {
    t->resistors.push_back({mt::Port(r), word(r, 0), g});
    for (int j = 0; j + 1 < out; ++j) t->resistors.push_back({word(r, j), word(r, j + 1), g});
  }
  for (int j = 0; j < out; ++j) {
    for (int r = 0; r + 1 < rows; ++r) t->resistors.push_back({bit(j, r), bit(j, r + 1), g});
    t->resistors.push_back({bit(j, rows - 1), mt::Port(t->BitPort(j)), g});
  }
  for (int i = 0; i < in; ++i)
    for (int j = 0; j < out; ++j) {
      t->plus_word.push_back(word(2 * i, j));
      t->plus_bit.push_back(bit(j, 2 * i));
      t->minus_word.push_back(word(2 * i + 1, j));
      t->minus_bit.push_back(bit(j, 2 * i + 1));
    }
  return t;
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
  const auto top = Ladders(in, out, rline);
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
        "flops per factorisation\n",
        k, fc, fw, gc, gw, m.ybb().norm(), dp.norm(), m.FactorNonzeros(), m.FactorFlops());
  }
  return 0;
}
