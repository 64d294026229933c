// Divergence guard of the explicit methods (solver/transient.cc, DivergenceGuard): an unstable
// FE/RK4 run stops at the first step where an unknown runs away, naming it, the time and the
// remedy; stable runs are untouched.
#define BOOST_TEST_MODULE mss_explicit_guard
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace nl = memspice::netlist;
namespace sv = memspice::solver;

namespace {

const std::string kLib = std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib";
const std::string kExample = std::string(MEMSPICE_SOURCE_DIR) + "/circuits/examples/mif_neuron.cir";

struct Run {
  memspice::Status status;
  memspice::io::WaveformTable table;
};

Run Simulate(const std::string& text, sv::Method method, double fixed_step) {
  nl::ParseOptions po;
  po.include_paths = {kLib};
  nl::Diagnostics diag;
  auto net = nl::ParseString(text, kExample, po, diag);
  BOOST_TEST_REQUIRE(net.has_value(), diag.Format());
  auto circuit = sv::Circuit::Build(*net, diag);
  BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
  sv::SimOptions o;
  BOOST_TEST_REQUIRE(o.ApplyNetlistOptions(*net).ok());
  o.method = method;
  o.fixed_step = fixed_step;
  Run r;
  r.status = sv::RunAnalysis(*circuit, *net, net->analyses.at(0), o, nullptr, &r.table);
  return r;
}

std::string MifDeck(const std::string& cmem) {
  std::ifstream in(kExample);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string deck = ss.str();
  const size_t p = deck.find("XN1 v MIF");
  BOOST_TEST_REQUIRE(p != std::string::npos);
  deck.replace(p, 9, "XN1 v MIF cmem=" + cmem);
  return deck;
}

// "t = 0.00012 s" -> 0.00012.
double TimeIn(const std::string& message) {
  const size_t p = message.find("t = ");
  BOOST_TEST_REQUIRE(p != std::string::npos, message);
  return std::stod(message.substr(p + 4));
}

}  // namespace

BOOST_AUTO_TEST_CASE(fe_mif_at_100p_stops_early_with_a_remedy) {
  // dt (G1 + G2) / C = 2.7 > 2 at rest, far more once M1 switches ON. Before the guard the run
  // grew for ~190 steps and ended in "singular matrix ... t = 0.0019 s".
  const Run r = Simulate(MifDeck("100p"), sv::Method::kForwardEuler, 10e-6);
  BOOST_TEST_REQUIRE(!r.status.ok());
  const std::string& m = r.status.message();
  BOOST_TEST_MESSAGE(m << "\nhint: " << r.status.hint());
  BOOST_TEST(m.find("node 'v'") != std::string::npos, m);
  BOOST_TEST(m.find("diverges under fe") != std::string::npos, m);
  BOOST_TEST(m.find("singular") == std::string::npos, m);
  BOOST_TEST(TimeIn(m) <= 0.3e-3, m);  // within 30 steps of 10 us
  const std::string& h = r.status.hint();
  BOOST_TEST(h.find("option fixed_step") != std::string::npos, h);  // neutral: no front end
  BOOST_TEST(h.find("option method be|trap|gear2") != std::string::npos, h);
}

BOOST_AUTO_TEST_CASE(fe_rc_oscillation_is_caught_before_the_bound) {
  // tau = 1 us, h = 3 us: the FE error is multiplied by 1 - h / tau = -2 each step, a sign-
  // flipping growth the guard sees after 8 steps, long before 1 kV.
  const std::string deck =
      "rc\nV1 in 0 DC 1\nR1 in out 1k\nC1 out 0 1n IC=0\n.tran 3u 300u uic\n.end\n";
  const Run r = Simulate(deck, sv::Method::kForwardEuler, 3e-6);
  BOOST_TEST_REQUIRE(!r.status.ok());
  const std::string& m = r.status.message();
  BOOST_TEST_MESSAGE(m);
  BOOST_TEST(m.find("node 'out'") != std::string::npos, m);
  BOOST_TEST(m.find("oscillates with growing amplitude") != std::string::npos, m);
  BOOST_TEST(TimeIn(m) <= 12 * 3e-6 + 1e-12, m);
}

BOOST_AUTO_TEST_CASE(stable_explicit_runs_are_untouched) {
  // Same RC at h = 0.5 us (FE factor 0.5) and RK4 at 2 us (inside its region, |z| = 2 < 2.78).
  const std::string deck =
      "rc\nV1 in 0 DC 1\nR1 in out 1k\nC1 out 0 1n IC=0\n.tran 0.5u 50u uic\n.end\n";
  for (auto [method, h] :
       {std::pair{sv::Method::kForwardEuler, 0.5e-6}, std::pair{sv::Method::kRk4, 2e-6}}) {
    const Run r = Simulate(deck, method, h);
    BOOST_TEST_REQUIRE(r.status.ok(), r.status.message());
    const int j = r.table.Find("v(out)");
    BOOST_TEST_REQUIRE(j >= 0);
    BOOST_TEST(std::abs(r.table.rows.back()[j] - 1.0) < 1e-6);
  }
  // The MIF example at its default 1 nF under FE at 10 us (the spec's configuration).
  const Run mif = Simulate(MifDeck("1n"), sv::Method::kForwardEuler, 10e-6);
  BOOST_TEST(mif.status.ok(), mif.status.message());
}
