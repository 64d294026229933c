// Shared by the msnn_* tests: the 16-8-4 test network written as a deck.
#ifndef MEMSPICE_TESTS_UNIT_TRAINING_MSNN_TEST_UTIL_H_
#define MEMSPICE_TESTS_UNIT_TRAINING_MSNN_TEST_UTIL_H_

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "circuits/msnn.h"
#include "training/compiler.h"
#include "training/mna_network.h"
#include "training/network.h"

namespace msnn_test {

namespace mt = memspice::training;

// The network of training_gradient_test (16-8-4, T = 200, spiking hidden layer), forward Euler.
inline mt::NetworkConfig TinyConfig(bool circuit) {
  mt::NetworkConfig c;
  c.layer_sizes = {16, 8, 4};
  c.steps = 200;
  c.period = 50;
  c.layer_scale = {circuit ? 5e4 : 300.0, 0.25};
  c.v_scale = 5e-3;
  c.method = mt::Method::kForwardEuler;
  c.form = circuit ? mt::CrossbarForm::kCircuit : mt::CrossbarForm::kIdeal;
  return c;
}

inline std::vector<std::string> LibPaths() {
  return {std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib"};
}

// Writes the deck of (c, p) to `path` with optional line parasitics.
inline void WriteDeck(const mt::NetworkConfig& c, const mt::Parameters& p, const std::string& path,
                      double rline = 0, double cline = 0, double rdriver = 0, double rsense = 0) {
  memspice::circuits::MsnnSpec spec;
  memspice::Status s = mt::MsnnSpecFromNetwork(c, p, "synthetic", &spec);
  if (!s.ok()) throw std::runtime_error(s.message());
  spec.rline = rline;
  spec.cline = cline;
  spec.rdriver = rdriver;
  spec.rsense = rsense;
  std::string text;
  s = memspice::circuits::GenerateMsnnDeck(spec, &text);
  if (!s.ok()) throw std::runtime_error(s.message());
  std::ofstream(path) << text;
}

inline std::vector<float> Images(int n, int features, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n) * features);
  for (float& v : x) v = u(rng);
  return x;
}

// max |a - b| / max |a| over a waveform.
inline double MaxRelDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 0;
  for (size_t n = 0; n < a.size(); ++n) {
    diff = std::max(diff, std::abs(a[n] - b[n]));
    scale = std::max(scale, std::abs(a[n]));
  }
  return diff / scale;
}

// Membrane nodes of the 16-8-4 test deck: hidden h1_0..7, then outputs h2_0..3.
inline std::vector<std::string> NeuronNodes() {
  std::vector<std::string> nodes;
  for (int j = 0; j < 8; ++j) nodes.push_back("h1_" + std::to_string(j));
  for (int k = 0; k < 4; ++k) nodes.push_back("h2_" + std::to_string(k));
  return nodes;
}

// Worst MaxRelDiff between the fast path's trace of every neuron and the MNA run's traces of
// NeuronNodes().
inline double WaveformDiff(const mt::Network& net, const mt::Parameters& p, const float* image,
                           const mt::MnaSampleResult& slow) {
  double worst = 0;
  for (size_t m = 0; m < slow.traces.size(); ++m) {
    const int layer = m < 8 ? 0 : 1, neuron = m < 8 ? static_cast<int>(m) : static_cast<int>(m) - 8;
    const std::vector<double> v = net.Trace(p, image, layer, neuron);
    BOOST_REQUIRE_EQUAL(v.size(), slow.traces[m].size());
    worst = std::max(worst, MaxRelDiff(v, slow.traces[m]));
  }
  return worst;
}

}  // namespace msnn_test

#endif  // MEMSPICE_TESTS_UNIT_TRAINING_MSNN_TEST_UTIL_H_
