// Crossbars with line parasitics on the fast path: the port model of the line network
// (training/line_network.h) against a dense Schur complement and finite differences; compiled
// decks with resistive (and capacitive) word and bit lines against the MNA engine and its
// discrete adjoint (waveforms, loss, every synapse gradient) and against finite differences of
// the fast path itself; bad line networks rejected with the element named.
#define BOOST_TEST_MODULE msnn_lines
#include <dlfcn.h>
#include <fmt/format.h>

#include <Eigen/Dense>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "tests/test_util.h"
#include "tests/unit/training/msnn_test_util.h"
#include "training/line_network.h"
#include "training/mna_network.h"

namespace mt = memspice::training;
using msnn_test::Images;
using msnn_test::LibPaths;
using msnn_test::MaxRelDiff;

namespace {

// A 3 x 2 crossbar with ladders of different segment values, driver and sense resistors.
std::shared_ptr<mt::LineTopology> SmallLadders(double rline) {
  auto t = std::make_shared<mt::LineTopology>();
  t->in = 3;
  t->out = 2;
  // Word line (i, s): nodes w(i, s, j); bit line j: nodes b(j, r), r = 2 i + s.
  auto w = [&](int i, int s, int j) { return (2 * i + s) * 2 + j; };
  auto b = [&](int j, int r) { return 12 + j * 6 + r; };
  t->nodes = 24;
  for (int r = 0; r < 6; ++r) {
    t->resistors.push_back({mt::Port(r), w(r / 2, r % 2, 0), 1 / (rline + 3.0 + r)});  // driver
    t->resistors.push_back({w(r / 2, r % 2, 0), w(r / 2, r % 2, 1), 1 / (rline * (1 + 0.1 * r))});
  }
  for (int j = 0; j < 2; ++j) {
    for (int r = 0; r + 1 < 6; ++r)
      t->resistors.push_back({b(j, r), b(j, r + 1), 1 / (rline * (1 + 0.2 * j))});
    t->resistors.push_back({b(j, 5), mt::Port(t->BitPort(j)), 1 / (rline + 7.0)});  // sense
  }
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      t->plus_word.push_back(w(i, 0, j));
      t->plus_bit.push_back(b(j, 2 * i));
      t->minus_word.push_back(w(i, 1, j));
      t->minus_bit.push_back(b(j, 2 * i + 1));
    }
  t->cap.assign(t->nodes, 1e-15);
  return t;
}

// Y by a dense Schur complement of the full Laplacian (ports first).
Eigen::MatrixXd DenseY(const mt::LineTopology& t, const Eigen::MatrixXd& gp,
                       const Eigen::MatrixXd& gm) {
  const int np = t.ports(), n = np + t.nodes;
  auto idx = [&](int term) { return mt::IsPort(term) ? mt::PortIndex(term) : np + term; };
  Eigen::MatrixXd k = Eigen::MatrixXd::Zero(n, n);
  auto add = [&](int a, int b, double g) {
    a = idx(a), b = idx(b);
    k(a, a) += g, k(b, b) += g, k(a, b) -= g, k(b, a) -= g;
  };
  for (const auto& r : t.resistors) add(r.a, r.b, r.g);
  for (int i = 0; i < t.in; ++i)
    for (int j = 0; j < t.out; ++j) {
      add(t.plus_word[i * t.out + j], t.plus_bit[i * t.out + j], gp(i, j));
      add(t.minus_word[i * t.out + j], t.minus_bit[i * t.out + j], gm(i, j));
    }
  const Eigen::MatrixXd kii = k.bottomRightCorner(t.nodes, t.nodes);
  return k.topLeftCorner(np, np) -
         k.topRightCorner(np, t.nodes) * kii.ldlt().solve(k.bottomLeftCorner(t.nodes, np));
}

// Central differences (step 1e-7 S) of sum(a_bw .* Y_bw) + sum(a_bb .* Y_bb), Y the dense Schur
// complement, with respect to every cell: *fd_plus and *fd_minus (in x out).
void FdGradient(const mt::LineTopology& t, const Eigen::MatrixXd& gp, const Eigen::MatrixXd& gm,
                const Eigen::MatrixXd& a_bw, const Eigen::MatrixXd& a_bb, Eigen::MatrixXd* fd_plus,
                Eigen::MatrixXd* fd_minus) {
  auto f = [&](const Eigen::MatrixXd& p, const Eigen::MatrixXd& q) {
    const Eigen::MatrixXd yy = DenseY(t, p, q);
    return (a_bw.cwiseProduct(yy.bottomLeftCorner(t.out, 2 * t.in))).sum() +
           (a_bb.cwiseProduct(yy.bottomRightCorner(t.out, t.out))).sum();
  };
  const double h = 1e-7;
  fd_plus->resize(gp.rows(), gp.cols());
  fd_minus->resize(gm.rows(), gm.cols());
  for (Eigen::Index k = 0; k < 2 * gp.size(); ++k) {
    Eigen::MatrixXd p1 = gp, p2 = gp, q1 = gm, q2 = gm;
    const bool plus = k < gp.size();
    const Eigen::Index c = plus ? k : k - gp.size();
    (plus ? p1 : q1).data()[c] += h;
    (plus ? p2 : q2).data()[c] -= h;
    (plus ? fd_plus : fd_minus)->data()[c] = (f(p1, q1) - f(p2, q2)) / (2 * h);
  }
}

// The port model of t against a dense Schur complement and its gradient against central
// differences of the dense Y.
void CheckPortModel(const std::shared_ptr<mt::LineTopology>& t) {
  BOOST_REQUIRE_EQUAL(t->Validate(), "");
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(1e-5, 1e-3);
  Eigen::MatrixXd gp(3, 2), gm(3, 2);
  for (int k = 0; k < 6; ++k) gp(k / 2, k % 2) = u(rng), gm(k / 2, k % 2) = u(rng);
  const mt::LinePortModel m(t, gp, gm);
  const Eigen::MatrixXd y = DenseY(*t, gp, gm);
  const double ybw = (m.ybw() - y.bottomLeftCorner(2, 6)).cwiseAbs().maxCoeff();
  const double ybb = (m.ybb() - y.bottomRightCorner(2, 2)).cwiseAbs().maxCoeff();
  BOOST_TEST_MESSAGE("port admittance vs dense: " << ybw << " " << ybb << " S (scale "
                                                  << y.cwiseAbs().maxCoeff() << ")");
  BOOST_CHECK_LE(ybw, 1e-15);
  BOOST_CHECK_LE(ybb, 1e-15);
  // The lines are passive and lossless to ground: no current for equal port voltages.
  BOOST_CHECK_LE(y.rowwise().sum().cwiseAbs().maxCoeff(), 1e-15);

  // Gradient of a scalar function of Y against central differences of the dense Y.
  Eigen::MatrixXd a_bw(2, 6), a_bb(2, 2);
  for (int k = 0; k < 12; ++k) a_bw(k % 2, k / 2) = std::sin(1.0 + k);
  a_bb << 0.3, -0.7, 0.2, 1.1;
  Eigen::MatrixXd dgp, dgm, fdp, fdm;
  m.Gradient(a_bw, a_bb, &dgp, &dgm);
  FdGradient(*t, gp, gm, a_bw, a_bb, &fdp, &fdm);
  double worst = 0;
  for (Eigen::Index c = 0; c < dgp.size(); ++c)
    for (const auto& [an, fd] :
         {std::pair{dgp.data()[c], fdp.data()[c]}, std::pair{dgm.data()[c], fdm.data()[c]}})
      worst = std::max(worst, std::abs(fd - an) / std::max(std::abs(an), 1e-6));
  BOOST_TEST_MESSAGE("dL/dG of the port model vs finite differences: " << worst);
  BOOST_CHECK_LE(worst, 1e-6);
}

// Word lines (a) or bit lines (b) without resistance: their cells sit on the ports themselves.
std::shared_ptr<mt::LineTopology> CellsOnPorts(bool ideal_words) {
  auto t = SmallLadders(2.0);
  for (int c = 0; c < 6; ++c) {
    const int i = c / 2, j = c % 2;
    if (ideal_words) {
      t->plus_word[c] = mt::Port(2 * i);
      t->minus_word[c] = mt::Port(2 * i + 1);
    } else {
      t->plus_bit[c] = t->minus_bit[c] = mt::Port(t->BitPort(j));
    }
  }
  // The ladders' now unused nodes keep their resistors to the ports: still connected.
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(port_model_matches_dense_schur_complement_and_fd) {
  const auto t = SmallLadders(2.0);
  CheckPortModel(t);
  CheckPortModel(CellsOnPorts(true));
  CheckPortModel(CellsOnPorts(false));
  // Without line resistance the effective weights are G+ - G-.
  const double tau = mt::LineTimeConstant(*t, 1e-5);
  BOOST_TEST_MESSAGE("slowest line time constant " << tau << " s");
  BOOST_CHECK_GT(tau, 0.0);
  BOOST_CHECK_LT(tau, 1e-12);
}

// A crossbar large enough for the nested-dissection split: two parts factorised side by side
// and a dense separator block must give the same port model and gradient as the dense Schur
// complement, on one thread or two.
BOOST_AUTO_TEST_CASE(port_model_split_in_two_parts_matches_dense) {
  const int in = 12, out = 6;
  const auto t = mt::UniformLadders(in, out, 2.5);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(1e-5, 1e-3);
  Eigen::MatrixXd gp(in, out), gm(in, out);
  for (Eigen::Index k = 0; k < gp.size(); ++k) gp.data()[k] = u(rng), gm.data()[k] = u(rng);
  const mt::LinePortModel m(t, gp, gm, nullptr, 2), m1(t, gp, gm, nullptr, 1);
  BOOST_TEST_MESSAGE("parts " << m.FactorParts() << ", separator " << m.SeparatorNodes());
  BOOST_REQUIRE_EQUAL(m.FactorParts(), 2);
  BOOST_CHECK_GT(m.SeparatorNodes(), 0);
  const Eigen::MatrixXd y = DenseY(*t, gp, gm);
  const double scale = y.cwiseAbs().maxCoeff();
  BOOST_CHECK_LE((m.ybw() - y.bottomLeftCorner(out, 2 * in)).cwiseAbs().maxCoeff(), 1e-13 * scale);
  BOOST_CHECK_LE((m.ybb() - y.bottomRightCorner(out, out)).cwiseAbs().maxCoeff(), 1e-13 * scale);
  BOOST_CHECK_EQUAL((m.ybb() - m1.ybb()).cwiseAbs().maxCoeff(), 0.0);

  Eigen::MatrixXd a_bw(out, 2 * in), a_bb(out, out);
  for (Eigen::Index k = 0; k < a_bw.size(); ++k) a_bw.data()[k] = std::sin(1.0 + k);
  for (Eigen::Index k = 0; k < a_bb.size(); ++k) a_bb.data()[k] = std::cos(2.0 + k);
  Eigen::MatrixXd dgp, dgm, dgp1, dgm1;
  m.Gradient(a_bw, a_bb, &dgp, &dgm);
  m1.Gradient(a_bw, a_bb, &dgp1, &dgm1);
  BOOST_CHECK_LE((dgp - dgp1).cwiseAbs().maxCoeff(), 1e-12 * dgp.cwiseAbs().maxCoeff());
  Eigen::MatrixXd fdp, fdm;
  FdGradient(*t, gp, gm, a_bw, a_bb, &fdp, &fdm);
  double worst = std::max((fdp - dgp).cwiseAbs().maxCoeff(), (fdm - dgm).cwiseAbs().maxCoeff());
  // Against the largest entry: FD rounding (~1e-13 absolute) swamps the smallest ones.
  worst /= std::max(dgp.cwiseAbs().maxCoeff(), dgm.cwiseAbs().maxCoeff());
  BOOST_TEST_MESSAGE("split port model dL/dG vs finite differences: " << worst);
  BOOST_CHECK_LE(worst, 1e-7);
}

// The pool hands out the last model again for the same conductances (evaluation blocks) and a new
// one, equal to a fresh model, when they change (optimiser steps).
BOOST_AUTO_TEST_CASE(pool_reuses_the_last_model_for_equal_conductances) {
  const auto t = mt::UniformLadders(4, 3, 2.5);
  Eigen::MatrixXd gp = Eigen::MatrixXd::Constant(4, 3, 2e-4), gm = gp * 0.5;
  mt::LineFactorPool pool;
  const auto a = pool.Model(t, gp, gm, 2);
  BOOST_CHECK_EQUAL(pool.Model(t, gp, gm, 2).get(), a.get());
  gp(1, 2) = 7e-4;
  const auto b = pool.Model(t, gp, gm, 2);
  BOOST_CHECK_NE(b.get(), a.get());
  const mt::LinePortModel fresh(t, gp, gm, nullptr, 2);
  BOOST_CHECK_EQUAL((b->ybb() - fresh.ybb()).cwiseAbs().maxCoeff(), 0.0);
  BOOST_CHECK_EQUAL((b->ybw() - fresh.ybw()).cwiseAbs().maxCoeff(), 0.0);
  BOOST_CHECK_GT((b->ybw() - a->ybw()).cwiseAbs().maxCoeff(), 0.0);
}

// The factorisation runs CHOLMOD's OpenMP regions serially (max-active-levels 0 while it lasts) and
// gives the process its own setting back, with one factorising thread and with two.
BOOST_AUTO_TEST_CASE(factorisation_restores_the_openmp_setting) {
  using Get = int (*)();
  using Set = void (*)(int);
  const auto get = reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "omp_get_max_active_levels"));
  const auto set = reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_max_active_levels"));
  if (!get || !set) {
    BOOST_TEST_MESSAGE("no OpenMP runtime in the process: skipped");
    return;
  }
  const int original = get();
  constexpr int kLevels = 3;  // any value the test sets itself, not the runtime's default
  set(kLevels);
  const auto t = mt::UniformLadders(16, 8, 2.5);
  const Eigen::MatrixXd gp = Eigen::MatrixXd::Constant(16, 8, 2e-4), gm = gp * 0.5;
  for (int threads : {1, 2}) {
    const mt::LinePortModel m(t, gp, gm, nullptr, threads);
    BOOST_CHECK_EQUAL(m.FactorParts(), 2);
    BOOST_CHECK_EQUAL(get(), kLevels);
  }
  set(original);
}

BOOST_AUTO_TEST_CASE(floating_line_is_named) {
  auto t = SmallLadders(1.0);
  // Cut bit line 1 from its sense resistor and the cells: node b(1, 5) now floats with b(1, *).
  t->resistors.pop_back();
  for (auto* v : {&t->plus_bit, &t->minus_bit})
    for (int& term : *v)
      if (term >= 18) term = mt::Port(t->BitPort(1));
  const std::string e = t->Validate();
  BOOST_TEST_MESSAGE(e);
  BOOST_CHECK_NE(e.find("no conducting path"), std::string::npos);
}

namespace {

// Observed: waveforms and gradients differ by 1-3 tau/dt from the MNA engine's integrated lines.
constexpr double kQuasiStaticFactor = 10;

struct Case {
  std::vector<int> layers;
  bool circuit;
  mt::Method method;
  double rline, cline;
  double wave_tol, grad_tol;
  bool fd = false;                 // also check the fast path against finite differences
  double rdriver = 0, rsense = 0;  // series resistors at the line ends (gen msnn --rdriver ...)
};

mt::NetworkConfig CaseConfig(const Case& k) {
  mt::NetworkConfig c = msnn_test::TinyConfig(k.circuit);
  c.layer_sizes = k.layers;
  c.method = k.method;
  if (k.layers[0] != 16) {  // 64-32-10: scales for a similar drive per neuron
    c.layer_scale = {k.circuit ? 2e4 : 100.0, 0.1};
  }
  // Forward Euler in the circuit form needs dt L / C_mem < 2 (see msnn_agreement_test).
  if (k.circuit && k.method == mt::Method::kForwardEuler) c.dt = 1e-6;
  return c;
}

std::string Name(const Case& k) {
  std::string s;
  for (size_t i = 0; i < k.layers.size(); ++i) s += (i ? "-" : "") + std::to_string(k.layers[i]);
  return fmt::format("{} {} {} rline {} cline {} rdriver {} rsense {}", s,
                     k.circuit ? "circuit" : "ideal", mt::MethodName(k.method), k.rline, k.cline,
                     k.rdriver, k.rsense);
}

void Agree(const Case& k) {
  BOOST_TEST_MESSAGE("case " << Name(k));
  memspice::testing::TempDir dir("lines");
  const mt::NetworkConfig c0 = CaseConfig(k);
  const std::string path = dir / "net.cir";
  msnn_test::WriteDeck(c0, mt::InitParameters(c0, 7, k.circuit ? 0.05 : 1.0), path, k.rline,
                       k.cline, k.rdriver, k.rsense);
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(mt::CompileNetwork(path, LibPaths(), &cn, diag), diag.Format());
  BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
  for (const std::string& m : cn.crossbar_models) BOOST_TEST_MESSAGE("  " << m);
  BOOST_REQUIRE_EQUAL(cn.config.lines.size(), 2u);
  // Line capacitance runs quasi-statically: agreement with the MNA engine's backward Euler on
  // the line nodes is then bounded by the neglected charge currents, O(tau / dt).
  double tau = 0;
  for (const auto& t : cn.config.lines) tau = std::max(tau, mt::LineTimeConstant(*t, 1e-5));
  const double bound = kQuasiStaticFactor * tau / cn.config.dt;
  const double wave_tol = std::max(k.wave_tol, bound), grad_tol = std::max(k.grad_tol, bound);
  if (tau > 0)
    BOOST_TEST_MESSAGE("  quasi-static bound " << kQuasiStaticFactor << " tau/dt = " << bound);
  const mt::Network net(cn.config);
  const std::vector<float> x = Images(1, k.layers[0], 3);
  const int label = 2;
  const mt::PassResult fast = net.Run<double>(cn.params, x.data(), &label, 1, true, 1);

  std::vector<std::string> nodes;
  std::vector<std::pair<int, int>> where;
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < k.layers[l + 1]; ++j) {
      nodes.push_back(fmt::format("h{}_{}", l + 1, j));
      where.emplace_back(l, j);
    }
  const mt::MnaNetwork mna(cn);
  const mt::MnaSampleResult slow = mna.Run({}, x.data(), label, true, nodes);
  double worst = 0;
  for (size_t m = 0; m < nodes.size(); ++m)
    worst = std::max(worst, MaxRelDiff(slow.traces[m], net.Trace(cn.params, x.data(),
                                                                 where[m].first, where[m].second)));
  const double loss_rel = std::abs(slow.loss - fast.loss_sum) / std::abs(slow.loss);
  BOOST_TEST_MESSAGE("  waveforms max rel diff " << worst << ", loss rel diff " << loss_rel << " ("
                                                 << fast.loss_sum << "), spiking "
                                                 << fast.samples[0].spiking_fraction);
  BOOST_CHECK_LE(worst, wave_tol);
  BOOST_CHECK_LE(loss_rel, wave_tol);
  BOOST_CHECK_EQUAL(slow.predicted, fast.samples[0].predicted);

  // Every synapse gradient against the MNA engine's discrete adjoint.
  BOOST_REQUIRE_EQUAL(slow.grad.size(), cn.trainable.size());
  std::map<std::string, double> g;
  for (int l = 0; l < 2; ++l) {
    const int out = k.layers[l + 1];
    for (size_t s = 0; s < cn.syn_plus[l].size(); ++s) {
      g[cn.syn_plus[l][s]] = fast.grad.g_plus[l](s / out, s % out);
      g[cn.syn_minus[l][s]] = fast.grad.g_minus[l](s / out, s % out);
    }
  }
  double gscale = 0;
  for (const auto& [name, v] : g) gscale = std::max(gscale, std::abs(v));
  BOOST_REQUIRE_GT(gscale, 0.0);
  double worst_grad = 0;
  for (size_t s = 0; s < slow.grad.size(); ++s) {
    const double f = g.at(cn.trainable[s]);
    const double scale = std::max(std::abs(f), 1e-3 * gscale);
    worst_grad = std::max(worst_grad, std::abs(f - slow.grad[s]) / scale);
  }
  BOOST_TEST_MESSAGE("  gradients: " << slow.grad.size() << " synapses, max rel diff "
                                     << worst_grad);
  BOOST_CHECK_LE(worst_grad, grad_tol);
  if (!k.fd) return;

  // The fast path's gradient against central differences of itself.
  std::mt19937_64 rng(11);
  double worst_fd = 0;
  for (int t = 0; t < 8; ++t) {
    const int l = t % 2, i = static_cast<int>(rng() % k.layers[l]);
    const int j = static_cast<int>(rng() % k.layers[l + 1]);
    const bool plus = t % 4 < 2;
    const double h = 1e-4 * (cn.config.g_max - cn.config.g_min);
    auto at = [&](double d) {
      mt::Parameters q = cn.params;
      (plus ? q.g_plus : q.g_minus)[l](i, j) += d;
      return net.Run<double>(q, x.data(), &label, 1, false, 1).loss_sum;
    };
    const double fd = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
    const double a = (plus ? fast.grad.g_plus : fast.grad.g_minus)[l](i, j);
    worst_fd = std::max(worst_fd, std::abs(a - fd) / std::max(std::abs(a), 1e-2 * gscale));
  }
  BOOST_TEST_MESSAGE("  fast path vs finite differences: max rel diff " << worst_fd);
  BOOST_CHECK_LE(worst_fd, 1e-6);
}

constexpr auto kFe = mt::Method::kForwardEuler;
constexpr auto kBe = mt::Method::kBackwardEuler;
const std::vector<int> kSmall = {16, 8, 4}, kMedium = {64, 32, 10};

}  // namespace

BOOST_AUTO_TEST_CASE(ideal_fe_rline_1) { Agree({kSmall, false, kFe, 1, 0, 1e-9, 1e-8, true}); }
BOOST_AUTO_TEST_CASE(ideal_fe_rline_10) { Agree({kSmall, false, kFe, 10, 0, 1e-9, 1e-8}); }
BOOST_AUTO_TEST_CASE(ideal_be_rline_10) { Agree({kSmall, false, kBe, 10, 0, 1e-9, 1e-8}); }
BOOST_AUTO_TEST_CASE(circuit_fe_rline_1) { Agree({kSmall, true, kFe, 1, 0, 1e-9, 1e-8, true}); }
BOOST_AUTO_TEST_CASE(circuit_be_rline_10) { Agree({kSmall, true, kBe, 10, 0, 1e-9, 1e-8, true}); }
BOOST_AUTO_TEST_CASE(circuit_be_rline_1_cline_1f) {
  Agree({kSmall, true, kBe, 1, 1e-15, 1e-9, 1e-8});
}
BOOST_AUTO_TEST_CASE(ideal_be_rline_10_cline_1f) {
  Agree({kSmall, false, kBe, 10, 1e-15, 1e-9, 1e-8});
}
BOOST_AUTO_TEST_CASE(circuit_be_rline_1_driver_50_sense_20) {
  Agree({kSmall, true, kBe, 1, 0, 1e-9, 1e-8, false, 50, 20});
}
BOOST_AUTO_TEST_CASE(ideal_fe_rline_1_driver_50_sense_20) {
  Agree({kSmall, false, kFe, 1, 0, 1e-9, 1e-8, false, 50, 20});
}
BOOST_AUTO_TEST_CASE(medium_circuit_be_rline_10) { Agree({kMedium, true, kBe, 10, 0, 1e-9, 1e-8}); }

// Float kernels, circuit form, coupled bit lines and dim images (the layer barely leaves rest):
// the relaxation stops at the float resolution of v (at 784-100-10 with 2.5 ohm lines its relative
// test alone cycled at one ulp for 200 passes) and agrees with double precision.
BOOST_AUTO_TEST_CASE(float_circuit_relaxation_agrees_with_double) {
  memspice::testing::TempDir dir("lines_float");
  const Case k{{64, 32, 10}, true, kBe, 2.5, 0, 0, 0};
  const mt::NetworkConfig c0 = CaseConfig(k);
  const std::string path = dir / "net.cir";
  msnn_test::WriteDeck(c0, mt::InitParameters(c0, 7, 0.05), path, k.rline, k.cline, 0, 0);
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(mt::CompileNetwork(path, LibPaths(), &cn, diag), diag.Format());
  BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
  const mt::Network net(cn.config);
  std::vector<float> x = Images(4, 64, 3);
  for (float& p : x) p *= 1e-2f;
  const int labels[4] = {0, 1, 2, 3};
  mt::PassResult f, d;
  BOOST_REQUIRE_NO_THROW(f = net.Run<float>(cn.params, x.data(), labels, 4, true, 1));
  d = net.Run<double>(cn.params, x.data(), labels, 4, true, 1);
  BOOST_TEST_MESSAGE("float relaxation: " << f.relaxations << " passes, loss " << f.loss_sum
                                          << " vs double " << d.loss_sum);
  BOOST_CHECK_GT(f.relaxations, 1);
  BOOST_CHECK_LE(std::abs(f.loss_sum - d.loss_sum), 1e-5 * std::abs(d.loss_sum));
}
