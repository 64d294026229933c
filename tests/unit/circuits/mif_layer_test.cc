// MIF layer and network generators (circuits/mif_layer.h): deck text, validation messages, and
// that the generated decks parse, build and simulate (neurons fire, output neurons respond).
#define BOOST_TEST_MODULE mif_layer
#include "circuits/mif_layer.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace mc = memspice::circuits;
namespace nl = memspice::netlist;
namespace sv = memspice::solver;

namespace {

const std::string kLib = std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib";

memspice::io::WaveformTable Simulate(const std::string& deck) {
  nl::ParseOptions po;
  po.include_paths = {kLib};
  nl::Diagnostics diag;
  auto net = nl::ParseString(deck, "gen.cir", po, diag);
  BOOST_TEST_REQUIRE(net.has_value(), diag.Format());
  auto circuit = sv::Circuit::Build(*net, diag);
  BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
  sv::SimOptions o;
  memspice::Status st = o.ApplyNetlistOptions(*net);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST_REQUIRE(net->analyses.size() == 1u);
  memspice::io::WaveformTable t;
  st = sv::RunAnalysis(*circuit, *net, net->analyses[0], o, nullptr, &t);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  return t;
}

double Max(const memspice::io::WaveformTable& t, const std::string& name) {
  const int j = t.Find(name);
  BOOST_TEST_REQUIRE(j >= 0, name << " not in the output");
  double m = -INFINITY;
  for (const auto& row : t.rows) m = std::max(m, row[j]);
  return m;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(layer_deck_has_one_instance_and_input_per_neuron) {
  mc::MifLayerSpec s;
  s.neurons = 5;
  s.cmem = 2e-9;
  std::string deck;
  memspice::Status st = mc::GenerateMifLayerDeck(s, &deck);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST(Count(deck, ".include mif.lib\n") == 1u);
  BOOST_TEST(deck.find("XN0 v0 MIF cmem=2e-09\n") != std::string::npos, deck);
  BOOST_TEST(deck.find("XN4 v4 MIF cmem=2e-09\n") != std::string::npos, deck);
  BOOST_TEST(Count(deck, " MIF cmem=") == 5u);
  BOOST_TEST(Count(deck, "YALPHA a") == 5u);
  // Staggered trains: neuron 1 of 5 starts at period / 5.
  BOOST_TEST(deck.find("YALPHA a1 0 v1 tau=0.00064 w=2.718281828e-05 period=0.002 delay=0.0004") !=
                 std::string::npos,
             deck);
  BOOST_TEST(deck.find("* signals: v(v0) v(v1) v(v2) v(v3) v(v4)") != std::string::npos, deck);

  s.input.enabled = false;
  st = mc::GenerateMifLayerDeck(s, &deck);
  BOOST_TEST_REQUIRE(st.ok());
  BOOST_TEST(Count(deck, "YALPHA") == 0u);
}

BOOST_AUTO_TEST_CASE(layer_subckt_has_ports_in_order) {
  mc::MifLayerSpec s;
  s.neurons = 3;
  s.node_prefix = "m";
  std::string text;
  BOOST_TEST_REQUIRE(mc::GenerateMifLayerSubckt(s, "LAYER", &text).ok());
  BOOST_TEST(text.find(".subckt LAYER m0 m1 m2\n") != std::string::npos, text);
  BOOST_TEST(text.find(".ends LAYER") != std::string::npos);
  BOOST_TEST(Count(text, "YALPHA") == 0u);
  BOOST_TEST(!mc::GenerateMifLayerSubckt(s, "two words", &text).ok());
}

BOOST_AUTO_TEST_CASE(bad_specs_name_every_field) {
  mc::MifLayerSpec s;
  s.neurons = 0;
  s.cmem = -1e-9;
  s.instance_prefix = "N";
  s.input.tau = 0;
  s.analysis.tstop = 0;
  std::string deck;
  memspice::Status st = mc::GenerateMifLayerDeck(s, &deck);
  BOOST_TEST_REQUIRE(!st.ok());
  const std::string& m = st.message();
  for (const char* field :
       {"neurons: 0", "cmem: -1e-09", "instance_prefix: 'N'", "input.tau: 0", "tstop: 0"}) {
    BOOST_TEST(m.find(field) != std::string::npos, "missing '" << field << "' in:\n" << m);
  }

  mc::MifNetworkSpec n;
  n.crossbar.cell = mc::CellKind::kResistor;
  n.cmem_out = 0;
  st = mc::GenerateMifNetworkDeck(n, &deck);
  BOOST_TEST_REQUIRE(!st.ok());
  BOOST_TEST(st.message().find("crossbar.cell: must be MSS") != std::string::npos, st.message());
  BOOST_TEST(st.message().find("cmem_out: 0") != std::string::npos, st.message());
}

BOOST_AUTO_TEST_CASE(layer_neurons_fire_in_simulation) {
  mc::MifLayerSpec s;
  s.neurons = 3;
  s.analysis.tstop = 4e-3;
  std::string deck;
  BOOST_TEST_REQUIRE(mc::GenerateMifLayerDeck(s, &deck).ok());
  const memspice::io::WaveformTable t = Simulate(deck);
  // 10 uA alpha pulses into 1 nF: each neuron peaks near V_on (~108 mV, mif.md).
  for (int i = 0; i < 3; ++i) {
    const double peak = Max(t, "v(v" + std::to_string(i) + ")");
    BOOST_TEST(peak > 0.09, "neuron " << i << " peak " << peak);
    BOOST_TEST(peak < 0.13, "neuron " << i << " peak " << peak);
  }
}

BOOST_AUTO_TEST_CASE(network_deck_simulates_and_outputs_respond) {
  mc::MifNetworkSpec n;  // 4 inputs -> 4x3 MSS array -> 3 outputs
  n.analysis.tstop = 4e-3;
  std::string deck;
  memspice::Status st = mc::GenerateMifNetworkDeck(n, &deck);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST(Count(deck, "ymss m_") == 12u);
  BOOST_TEST(Count(deck, "XXBAR win0 win1 win2 win3 out0 out1 out2 XBAR") == 1u, deck);
  const memspice::io::WaveformTable t = Simulate(deck);
  const int j = t.Find("v(out0)");
  BOOST_TEST_REQUIRE(j >= 0);
  const double rest = t.rows.front()[j];
  for (int k = 0; k < 3; ++k) {
    // Input spikes (~90 mV above rest) push a few uA through the synapses: the outputs rise.
    const double peak = Max(t, "v(out" + std::to_string(k) + ")");
    BOOST_TEST(peak > rest + 2e-3, "output " << k << " peak " << peak << ", rest " << rest);
  }
  // The synapses are read below their thresholds: non-volatile weights stay put.
  const int x = t.Find("x(xxbar.m_0_0)");
  BOOST_TEST_REQUIRE(x >= 0);
  BOOST_TEST(std::abs(t.rows.back()[x] - t.rows.front()[x]) < 1e-6);
}
