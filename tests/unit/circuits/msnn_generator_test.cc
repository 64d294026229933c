// gen msnn's generator: conductance <-> state mapping, bad specs and out-of-range conductances.
#define BOOST_TEST_MODULE msnn_generator
#include <boost/test/unit_test.hpp>
#include <string>

#include "circuits/msnn.h"
#include "devices/mss_model.h"

namespace c = memspice::circuits;
namespace mss = memspice::devices::mss;

namespace {

c::MsnnSpec Small() {
  c::MsnnSpec s;
  s.layers = {2, 3, 2};
  s.layer_scale = {100, 0.1};
  s.v_rest = 0.0183;
  s.x1_rest = 7.5e-3;
  s.x2_rest = 8.6e-5;
  s.weights.resize(2);
  for (int l = 0; l < 2; ++l) {
    const size_t n = static_cast<size_t>(s.layers[l]) * s.layers[l + 1];
    s.weights[l].g_plus.assign(n, 5e-4);
    s.weights[l].g_minus.assign(n, 2e-5);
  }
  return s;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(state_maps_to_conductance) {
  const mss::MssParams m = c::SynapseModel();
  for (double g : {1e-5, 3.3e-4, 1e-3}) {
    double x0 = -1;
    BOOST_REQUIRE(c::SynapseStateForConductance(m, g, "s", &x0).ok());
    BOOST_TEST(mss::Conductance(m, x0) == g, boost::test_tools::tolerance(1e-14));
  }
  double x0 = 0;
  const auto st = c::SynapseStateForConductance(m, 2e-3, "synapse w1p_0_0", &x0);
  BOOST_CHECK(!st.ok());
  BOOST_CHECK_NE(st.message().find("synapse w1p_0_0: conductance 0.002 S is outside"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(deck_has_every_part) {
  std::string text;
  c::MsnnSpec s = Small();
  BOOST_REQUIRE(c::GenerateMsnnDeck(s, &text).ok());
  BOOST_CHECK_EQUAL(Count(text, "\nYMSS w"), 2 * (2 * 3 + 3 * 2));
  BOOST_CHECK_EQUAL(Count(text, "\nXN"), 5);
  BOOST_CHECK_EQUAL(Count(text, "\nFB"), 5);  // ideal: one mirror per bit line
  BOOST_CHECK_EQUAL(Count(text, "\n.param px"), 2);
  BOOST_CHECK_NE(text.find("*@msnn outputs=h2_0,h2_1"), std::string::npos);
  BOOST_CHECK_NE(text.find("EI1P_1 i1p_1 0 a 0 {0.001"), std::string::npos);  // s_1 input_scale
  BOOST_CHECK_NE(text.find("*px1}\nEI1M_1 i1m_1 0 a 0 {-0.001"), std::string::npos);
  BOOST_CHECK_NE(text.find("EI2M_2 i2m_2 0 h1_2 vr1 -0.1"), std::string::npos);
  // Circuit form: layer 1 tied to the membranes, layer 2 through follower and mirror of gain s_2.
  s.circuit = true;
  BOOST_REQUIRE(c::GenerateMsnnDeck(s, &text).ok());
  BOOST_CHECK_NE(text.find("YMSS w1p_0_0 i1p_0 h1_0 "), std::string::npos);
  BOOST_CHECK_NE(text.find("FB2_1 0 h2_1 VB2_1 0.1"), std::string::npos);
  BOOST_CHECK_NE(text.find("EB2_1 e2_1 0 h2_1 0 1"), std::string::npos);
  // Parasitics: one resistor per cell segment on every word and bit line.
  s.circuit = false;
  s.rline = 5;
  BOOST_REQUIRE(c::GenerateMsnnDeck(s, &text).ok());
  BOOST_CHECK_EQUAL(Count(text, "\nRW"), 2 * 2 * 3 + 3 * 2 * 2);  // lines x columns
  BOOST_CHECK_EQUAL(Count(text, "\nRB"), 3 * 2 * 2 + 2 * 3 * 2);  // bit lines x rows
  BOOST_CHECK_EQUAL(Count(text, "\nRD"), 0);
  // Driver and sense resistances: one series resistor per word-line driver and bit-line terminal.
  s.rdriver = 50;
  s.rsense = 20;
  BOOST_REQUIRE(c::GenerateMsnnDeck(s, &text).ok());
  BOOST_CHECK_EQUAL(Count(text, "\nRD"), 2 * 2 + 3 * 2);  // word lines (2 per input)
  BOOST_CHECK_EQUAL(Count(text, "\nRS"), 3 + 2);          // bit lines
  BOOST_CHECK_NE(text.find("RD1p_0 i1p_0 i1p_0_d 50\nRW1p_0_0 i1p_0_d i1p_0_0 5\n"),
                 std::string::npos);
  BOOST_CHECK_NE(text.find("RB1_0_3 bl1_0_3 bs1_0 5\n"), std::string::npos);
  BOOST_CHECK_NE(text.find("RS1_0 bs1_0 b1_0 20\n"), std::string::npos);
  // They terminate the ladders, so they need line resistance.
  s.rline = 0;
  const auto st = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(st.message().find("need rline > 0"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_specs_are_named) {
  std::string text;
  c::MsnnSpec s = Small();
  s.layer_scale = {1};
  auto st = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(st.message().find("layer_scale: 1 values given, need one per crossbar (2)"),
                 std::string::npos);
  s = Small();
  s.weights[1].g_minus[4] = 0.5;
  st = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(st.message().find("synapse w2m_2_0"), std::string::npos);
  s = Small();
  s.pixels = {0.5};
  st = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(st.message().find("pixels: 1 values, need 2"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(reference_column_deck) {
  c::MsnnSpec s = Small();
  s.reference_column = true;
  for (int l = 0; l < 2; ++l) {
    s.weights[l].g_minus.clear();
    s.weights[l].g_ref.assign(s.layers[l], 5.05e-4);
  }
  std::string text;
  for (bool circuit : {false, true}) {
    s.circuit = circuit;
    BOOST_REQUIRE(c::GenerateMsnnDeck(s, &text).ok());
    // N (M + 1) cells: the weight cells on the + lines only, one reference cell per input row.
    BOOST_CHECK_EQUAL(Count(text, "\nYMSS w"), 2 * 3 + 3 * 2);
    BOOST_CHECK_EQUAL(Count(text, "\nYMSS w1m"), 0);
    BOOST_CHECK_EQUAL(Count(text, "\nEI1M"), 0);
    BOOST_CHECK_EQUAL(Count(text, "\nYMSS ref"), 2 + 3);
    BOOST_CHECK_EQUAL(c::SynapseCount(s), 2 * (3 + 1) + 3 * (2 + 1));
    BOOST_CHECK_EQUAL(Count(text, "\nFR"), 5);  // every neuron subtracts its layer's reference
    BOOST_CHECK_NE(text.find("\nYMSS ref1_1 i1p_1 br1 mss_synapse x0=0.5\n"), std::string::npos);
    BOOST_CHECK_NE(text.find(circuit ? "\nVBR1 br1 vr1 DC 0\n" : "\nVBR1 br1 0 DC 0\n"),
                   std::string::npos);
    // The subtraction has the column's mirror gain: 1 (ideal, or a tied bit line), s_2 deeper in
    // the circuit form.
    BOOST_CHECK_NE(text.find("\nFR1_0 h1_0 0 VBR1 1\n"), std::string::npos);
    BOOST_CHECK_NE(text.find(circuit ? "\nFR2_0 h2_0 0 VBR2 0.1\n" : "\nFR2_0 h2_0 0 VBR2 1\n"),
                   std::string::npos);
  }
  s.weights[1].g_ref.pop_back();
  BOOST_CHECK(!c::GenerateMsnnDeck(s, &text).ok());
  s.weights[1].g_ref.push_back(2e-3);  // outside the device range
  const auto bad = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(bad.message().find("synapse ref2_2"), std::string::npos);
  s.weights[1].g_ref.back() = 5e-4;
  s.rline = 1;
  const auto lines = c::GenerateMsnnDeck(s, &text);
  BOOST_CHECK_NE(lines.message().find("no reference bit line"), std::string::npos);
}
