// BPTT gradients of the MEMprop network vs central finite differences of the same discrete
// simulation.
#define BOOST_TEST_MODULE training_gradient
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "training/dataset.h"
#include "training/network.h"

namespace mt = memspice::training;

namespace {

struct Case {
  mt::Method method;
  mt::CrossbarForm form;
};

mt::NetworkConfig TinyConfig(const Case& k) {
  mt::NetworkConfig c;
  c.layer_sizes = {16, 8, 4};
  c.steps = 200;
  c.period = 50;
  // The circuit form's loading divides the layer-1 drive by ~sum G: drive it harder to get spikes.
  c.layer_scale = {k.form == mt::CrossbarForm::kCircuit ? 5e4 : 300.0, 0.25};
  c.v_scale = 5e-3;
  c.method = k.method;
  c.form = k.form;
  return c;
}

double Loss(const mt::Network& net, const mt::Parameters& p, const std::vector<float>& x,
            const std::vector<int>& y) {
  return net.Run<double>(p, x.data(), y.data(), static_cast<int>(y.size()), false, 1).loss_sum;
}

void CheckGradient(const Case& k) {
  const mt::NetworkConfig c = TinyConfig(k);
  const mt::Network net(c);
  const mt::Parameters p = mt::InitParameters(c, 7);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(3 * 16);
  for (float& v : x) v = u(rng);
  const std::vector<int> y = {0, 2, 3};

  const mt::PassResult r = net.Run<double>(p, x.data(), y.data(), 3, true, 2, 2);
  BOOST_REQUIRE_EQUAL(r.grad.g_plus.size(), 2u);

  // The dynamics must be non-trivial for the check to mean anything: some hidden neuron spikes.
  double spiking = 0;
  for (const auto& s : r.samples) spiking += s.spiking_fraction;
  BOOST_TEST_MESSAGE("mean hidden spiking fraction " << spiking / 3);
  BOOST_CHECK_GT(spiking, 0.0);

  int checked = 0;
  for (int l = 0; l < 2; ++l) {
    const double gmax =
        std::max(r.grad.g_plus[l].cwiseAbs().maxCoeff(), r.grad.g_minus[l].cwiseAbs().maxCoeff());
    for (int which = 0; which < 2; ++which) {
      for (int t = 0; t < 6; ++t) {
        const int i = static_cast<int>(rng() % c.layer_sizes[l]);
        const int j = static_cast<int>(rng() % c.layer_sizes[l + 1]);
        // Fourth-order central difference: truncation error O(h^4), roundoff ~ 1e-12 / h.
        const double h = 2e-7;
        auto at = [&](double d) {
          mt::Parameters q = p;
          (which ? q.g_minus : q.g_plus)[l](i, j) += d;
          return Loss(net, q, x, y);
        };
        const double fd = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
        const double bptt = (which ? r.grad.g_minus : r.grad.g_plus)[l](i, j);
        const double scale = std::max({std::abs(fd), std::abs(bptt), 1e-3 * gmax});
        const double rel = std::abs(fd - bptt) / scale;
        BOOST_TEST_CONTEXT("layer " << l << (which ? " G-" : " G+") << " (" << i << "," << j
                                    << ") fd " << fd << " bptt " << bptt) {
          BOOST_CHECK_LT(rel, 1e-6);
        }
        ++checked;
      }
    }
  }
  BOOST_CHECK_EQUAL(checked, 24);
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_euler_ideal) {
  CheckGradient({mt::Method::kForwardEuler, mt::CrossbarForm::kIdeal});
}
BOOST_AUTO_TEST_CASE(semi_implicit_ideal) {
  CheckGradient({mt::Method::kSemiImplicit, mt::CrossbarForm::kIdeal});
}
// The circuit form's loading (h sum G >> 2) makes forward Euler diverge: it must say so, not return
// NaN.
BOOST_AUTO_TEST_CASE(forward_euler_circuit_reports_divergence) {
  const mt::Network net(TinyConfig({mt::Method::kForwardEuler, mt::CrossbarForm::kCircuit}));
  const mt::Parameters p = mt::InitParameters(net.config(), 7);
  std::vector<float> x(16, 0.5f);
  std::vector<int> y = {1};
  BOOST_CHECK_EXCEPTION(net.Run<double>(p, x.data(), y.data(), 1, true, 1), mt::TrainingError,
                        [](const mt::TrainingError& e) {
                          return std::string(e.what()).find("semi-implicit") != std::string::npos;
                        });
}
BOOST_AUTO_TEST_CASE(semi_implicit_circuit) {
  CheckGradient({mt::Method::kSemiImplicit, mt::CrossbarForm::kCircuit});
}

// Float kernels (training precision) agree with double to single-precision accuracy.
BOOST_AUTO_TEST_CASE(float_matches_double) {
  const mt::NetworkConfig c = TinyConfig({mt::Method::kForwardEuler, mt::CrossbarForm::kIdeal});
  const mt::Network net(c);
  const mt::Parameters p = mt::InitParameters(c, 11);
  std::vector<float> x(2 * 16, 0.2f);
  x[3] = 0.6f;
  const std::vector<int> y = {1, 2};
  const auto rd = net.Run<double>(p, x.data(), y.data(), 2, true, 1);
  const auto rf = net.Run<float>(p, x.data(), y.data(), 2, true, 1);
  BOOST_CHECK_CLOSE(rd.loss_sum, rf.loss_sum, 1e-2);
  const double num = (rd.grad.g_plus[0] - rf.grad.g_plus[0]).norm();
  BOOST_CHECK_LT(num, 1e-3 * rd.grad.g_plus[0].norm());
}
