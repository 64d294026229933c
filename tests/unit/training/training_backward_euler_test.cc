// Backward Euler in the fast kernels (method be): gradients against central differences of the
// same discrete simulation, the fast path against the MNA engine's backward Euler on the generated
// deck (waveforms, loss and gradients), and the float kernels of every supported instruction set
// against double.
#define BOOST_TEST_MODULE training_backward_euler
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <random>

#include "tests/test_util.h"
#include "tests/unit/training/msnn_test_util.h"
#include "training/dataset.h"
#include "training/layer_kernels.h"
#include "training/mna_network.h"
#include "training/network.h"

namespace mt = memspice::training;

namespace {

mt::NetworkConfig BeConfig(bool circuit, int steps = 100) {
  mt::NetworkConfig c = msnn_test::TinyConfig(circuit);
  c.method = mt::Method::kBackwardEuler;
  c.steps = steps;
  return c;
}

std::vector<float> Pixels(int n) { return msnn_test::Images(n, 16, 3); }

void CheckGradient(bool circuit) {
  const mt::NetworkConfig c = BeConfig(circuit);
  const mt::Network net(c);
  const mt::Parameters p = mt::InitParameters(c, 7);
  const std::vector<float> x = Pixels(3);
  const std::vector<int> y = {0, 2, 3};
  const mt::PassResult r = net.Run<double>(p, x.data(), y.data(), 3, true, 2, 2);
  double spiking = 0;
  for (const auto& s : r.samples) spiking += s.spiking_fraction;
  BOOST_TEST_MESSAGE((circuit ? "circuit" : "ideal")
                     << ": mean hidden spiking fraction " << spiking / 3);
  if (!circuit) BOOST_CHECK_GT(spiking, 0.0);  // non-trivial dynamics

  std::mt19937_64 rng(3);
  double worst = 0;
  for (int l = 0; l < 2; ++l) {
    const double gmax =
        std::max(r.grad.g_plus[l].cwiseAbs().maxCoeff(), r.grad.g_minus[l].cwiseAbs().maxCoeff());
    BOOST_REQUIRE_GT(gmax, 0.0);
    for (int which = 0; which < 2; ++which) {
      for (int t = 0; t < 6; ++t) {
        const int i = static_cast<int>(rng() % c.layer_sizes[l]);
        const int j = static_cast<int>(rng() % c.layer_sizes[l + 1]);
        const double h = 2e-7;
        auto at = [&](double d) {
          mt::Parameters q = p;
          (which ? q.g_minus : q.g_plus)[l](i, j) += d;
          return net.Run<double>(q, x.data(), y.data(), 3, false, 1).loss_sum;
        };
        const double fd = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
        const double adj = (which ? r.grad.g_minus : r.grad.g_plus)[l](i, j);
        const double rel =
            std::abs(fd - adj) / std::max({std::abs(fd), std::abs(adj), 1e-3 * gmax});
        worst = std::max(worst, rel);
        BOOST_TEST_CONTEXT("layer " << l << (which ? " G-" : " G+") << " (" << i << "," << j
                                    << ") fd " << fd << " adjoint " << adj) {
          BOOST_CHECK_LT(rel, 1e-6);
        }
      }
    }
  }
  BOOST_TEST_MESSAGE("adjoint vs finite differences: max rel diff " << worst);
}

void AgreeWithMna(bool circuit) {
  const mt::NetworkConfig c0 = BeConfig(circuit, 200);
  const memspice::testing::TempDir dir("msnn_be");
  const std::string path = dir / (circuit ? "msnn_be_circuit.cir" : "msnn_be_ideal.cir");
  msnn_test::WriteDeck(c0, mt::InitParameters(c0, 7, circuit ? 0.05 : 1.0), path);
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(mt::CompileNetwork(path, msnn_test::LibPaths(), &cn, diag), diag.Format());
  BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
  BOOST_REQUIRE(cn.config.method == mt::Method::kBackwardEuler);
  const mt::Network net(cn.config);
  const std::vector<float> x = Pixels(1);
  const int label = 2;
  const mt::PassResult fast = net.Run<double>(cn.params, x.data(), &label, 1, true, 1);

  const mt::MnaNetwork mna(cn);
  const mt::MnaSampleResult slow = mna.Run({}, x.data(), label, true, msnn_test::NeuronNodes());

  const double worst = msnn_test::WaveformDiff(net, cn.params, x.data(), slow);
  BOOST_TEST_MESSAGE((circuit ? "circuit" : "ideal")
                     << ": waveforms max rel diff " << worst << ", loss fast " << fast.loss_sum
                     << " mna " << slow.loss << ", spiking " << fast.samples[0].spiking_fraction);
  if (!circuit) BOOST_CHECK_GT(fast.samples[0].spiking_fraction, 0.0);
  BOOST_CHECK_LE(worst, 1e-6);
  BOOST_TEST(slow.loss == fast.loss_sum, boost::test_tools::tolerance(1e-6));
  BOOST_CHECK_EQUAL(slow.predicted, fast.samples[0].predicted);

  // Gradients of every trainable synapse against the MNA engine's discrete adjoint.
  BOOST_REQUIRE_EQUAL(slow.grad.size(), cn.trainable.size());
  std::map<std::string, double> g;
  for (int l = 0; l < 2; ++l) {
    const int out = cn.config.layer_sizes[l + 1];
    for (size_t k = 0; k < cn.syn_plus[l].size(); ++k) {
      g[cn.syn_plus[l][k]] = fast.grad.g_plus[l](k / out, k % out);
      g[cn.syn_minus[l][k]] = fast.grad.g_minus[l](k / out, k % out);
    }
  }
  double gscale = 0;
  for (const auto& [name, v] : g) gscale = std::max(gscale, std::abs(v));
  BOOST_REQUIRE_GT(gscale, 0.0);
  double worst_grad = 0;
  for (size_t k = 0; k < slow.grad.size(); ++k) {
    const double f = g.at(cn.trainable[k]);
    const double scale = std::max(std::abs(f), 1e-3 * gscale);
    BOOST_TEST_INFO(cn.trainable[k] << ": fast " << f << " mna " << slow.grad[k]);
    BOOST_CHECK_LE(std::abs(f - slow.grad[k]), 1e-6 * scale);
    worst_grad = std::max(worst_grad, std::abs(f - slow.grad[k]) / scale);
  }
  BOOST_TEST_MESSAGE("gradients: " << slow.grad.size() << " synapses, max rel diff " << worst_grad);
}

}  // namespace

BOOST_AUTO_TEST_CASE(method_names) {
  BOOST_CHECK(mt::ParseMethod("be") == mt::Method::kBackwardEuler);
  BOOST_CHECK(mt::ParseMethod("backward-euler") == mt::Method::kBackwardEuler);
  BOOST_CHECK_EQUAL(mt::MethodName(mt::Method::kBackwardEuler), "backward-euler");
  BOOST_CHECK_THROW(mt::ParseMethod("bdf2"), mt::TrainingError);
  // Backward Euler drives the last step with alpha[T]: a waveform without it is refused.
  mt::NetworkConfig c = BeConfig(false);
  c.alpha_waveform.assign(c.steps, 0.0);
  BOOST_CHECK_NE(c.Validate().find("steps + 1"), std::string::npos);
  c.alpha_waveform.assign(c.steps + 1, 0.0);
  BOOST_CHECK_EQUAL(c.Validate(), "");
}

// The fixed 4 Newton iterations solve the implicit step to round-off, from rest and from a spike,
// for drives that move v by up to ~10 V in one step (the divergence limit) and strong loading.
BOOST_AUTO_TEST_CASE(newton_reaches_round_off) {
  const mt::NeuronParams np;
  const mt::RestState r = mt::ComputeRestState(np);
  mt::kernels::LayerConst<double> c{};
  c.h = 1e-5 / np.c_mem;
  c.dt = 1e-5;
  c.v1 = np.v1;
  c.v2 = np.v2;
  c.vr = r.v;
  c.m1 = np.m1;
  c.m2 = np.m2;
  c.newton = 4;
  double worst = 0;
  for (double v : {r.v, 0.12, -0.05})
    for (double x : {r.x1, 0.3, 0.9})
      for (double drive : {-1e-3, -1e-4, -1e-6, 0.0, 1e-6, 1e-5, 1e-4, 1e-3})
        for (double load : {0.0, 1e-3, 3e-2}) {
          double vn, x1n, x2n;
          mt::kernels::NeuronStep(c, v, x, r.x2, drive, load, &vn, &x1n, &x2n);
          const auto s = mt::kernels::BeResidual(c, v, x, r.x2, drive, load, vn, x1n, x2n);
          // Residuals relative to the size of the terms they balance.
          const double rv = std::abs(s.f1) / (std::abs(v) + std::abs(vn) + c.h * std::abs(drive));
          worst = std::max({worst, rv, std::abs(s.f2), std::abs(s.f3)});
          BOOST_TEST_CONTEXT("v " << v << " x " << x << " drive " << drive << " load " << load) {
            BOOST_CHECK(std::isfinite(vn) && std::isfinite(x1n) && std::isfinite(x2n));
            BOOST_CHECK_LT(rv, 1e-13);
            BOOST_CHECK_LT(std::abs(s.f2), 1e-14);
            BOOST_CHECK_LT(std::abs(s.f3), 1e-14);
          }
        }
  BOOST_TEST_MESSAGE("Newton (4 iterations): worst relative residual " << worst);
}

BOOST_AUTO_TEST_CASE(gradient_ideal) { CheckGradient(false); }
BOOST_AUTO_TEST_CASE(gradient_circuit) { CheckGradient(true); }

BOOST_AUTO_TEST_CASE(fast_path_equals_mna_ideal) { AgreeWithMna(false); }
BOOST_AUTO_TEST_CASE(fast_path_equals_mna_circuit) { AgreeWithMna(true); }

// Float kernels (generic packs and every instruction set this CPU has) agree with double.
BOOST_AUTO_TEST_CASE(float_matches_double) {
  for (bool circuit : {false, true}) {
    mt::NetworkConfig c = BeConfig(circuit, 200);
    c.layer_sizes = {16, 13, 5};  // tails in 8- and 16-lane packs
    const mt::Parameters p = mt::InitParameters(c, 11);
    const std::vector<float> x = Pixels(3);
    const std::vector<int> y = {1, 2, 4};
    const mt::PassResult rd = mt::Network(c).Run<double>(p, x.data(), y.data(), 3, true, 1);
    for (mt::KernelIsa k :
         {mt::KernelIsa::kGeneric, mt::KernelIsa::kAvx2, mt::KernelIsa::kAvx512}) {
      if (!mt::KernelIsaSupported(k)) continue;
      const std::string isa = mt::KernelIsaName(k);
      c.isa = isa;
      const mt::PassResult rf = mt::Network(c).Run<float>(p, x.data(), y.data(), 3, true, 2);
      double num = 0, den = 0;
      for (int l = 0; l < 2; ++l) {
        num += (rd.grad.g_plus[l] - rf.grad.g_plus[l]).squaredNorm() +
               (rd.grad.g_minus[l] - rf.grad.g_minus[l]).squaredNorm();
        den += rd.grad.g_plus[l].squaredNorm() + rd.grad.g_minus[l].squaredNorm();
      }
      const double rel = std::sqrt(num / den);
      BOOST_TEST_MESSAGE((circuit ? "circuit " : "ideal ")
                         << isa << ": loss double " << rd.loss_sum << " float " << rf.loss_sum
                         << ", gradient rel diff " << rel);
      BOOST_TEST(rf.loss_sum == rd.loss_sum, boost::test_tools::tolerance(1e-4));
      BOOST_CHECK_LT(rel, 1e-3);
    }
  }
}
