// gen msnn decks compile back to the network they were written from; decks the compiler does not
// recognise fall back with a reason naming the element; bad directives are file:line:col errors.
#define BOOST_TEST_MODULE msnn_compiler
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "tests/test_util.h"
#include "tests/unit/training/msnn_test_util.h"

namespace mt = memspice::training;
using msnn_test::LibPaths;
using msnn_test::TinyConfig;
using msnn_test::WriteDeck;

namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replaces the first occurrence of `from` in the file.
void Edit(const std::string& path, const std::string& from, const std::string& to) {
  std::string t = Read(path);
  const size_t p = t.find(from);
  BOOST_REQUIRE(p != std::string::npos);
  t.replace(p, from.size(), to);
  std::ofstream(path) << t;
}

mt::CompiledNetwork Compile(const std::string& path, bool expect_ok = true) {
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  const bool ok = mt::CompileNetwork(path, LibPaths(), &cn, diag);
  BOOST_TEST_MESSAGE(diag.Format());
  BOOST_REQUIRE_EQUAL(ok, expect_ok);
  return cn;
}

void RoundTrip(bool circuit) {
  const mt::NetworkConfig c = TinyConfig(circuit);
  const mt::Parameters p = mt::InitParameters(c, 7);
  const std::string path = circuit ? "msnn_rt_circuit.cir" : "msnn_rt_ideal.cir";
  WriteDeck(c, p, path);
  const mt::CompiledNetwork cn = Compile(path);
  BOOST_TEST_INFO("reason: " << cn.reason);
  BOOST_REQUIRE(cn.fast);
  const mt::NetworkConfig& k = cn.config;
  BOOST_TEST(k.layer_sizes == c.layer_sizes, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(k.layer_scale.size(), 2u);
  for (int l = 0; l < 2; ++l)
    BOOST_TEST(k.layer_scale[l] == c.layer_scale[l], boost::test_tools::tolerance(1e-12));
  BOOST_CHECK(k.form == c.form);
  BOOST_CHECK(k.method == mt::Method::kForwardEuler);
  BOOST_TEST(k.dt == c.dt, boost::test_tools::tolerance(1e-14));
  BOOST_CHECK_EQUAL(k.steps, c.steps);
  BOOST_TEST(k.v_scale == c.v_scale, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(k.g_min == c.g_min, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(k.g_max == c.g_max, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(k.neuron.c_mem == c.neuron.c_mem, boost::test_tools::tolerance(1e-14));
  BOOST_CHECK_EQUAL(cn.inputs.size(), 16u);
  BOOST_REQUIRE_EQUAL(cn.outputs.size(), 4u);
  BOOST_CHECK_EQUAL(cn.outputs[3], "h2_3");
  BOOST_CHECK_EQUAL(cn.trainable.size(), 2u * (16 * 8 + 8 * 4));
  for (int l = 0; l < 2; ++l) {
    BOOST_CHECK_LE((cn.params.g_plus[l] - p.g_plus[l]).cwiseAbs().maxCoeff(), 1e-15);
    BOOST_CHECK_LE((cn.params.g_minus[l] - p.g_minus[l]).cwiseAbs().maxCoeff(), 1e-15);
  }
  // The input waveform is the deck's closed-form alpha source sampled at t = n dt, n = 0..T.
  BOOST_REQUIRE_EQUAL(k.alpha_waveform.size(), 201u);
  const double tau = 0.64e-3, period = 50 * c.dt;
  for (int n : {0, 1, 30, 64, 120, 199, 200}) {
    const double t = n * c.dt;
    double a = 0;
    for (double tk = 0; tk <= t + 1e-15; tk += period)
      a += (t - tk) / tau * std::exp(-(t - tk) / tau);
    BOOST_TEST(k.alpha_waveform[n] == a, boost::test_tools::tolerance(1e-9));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_ideal) { RoundTrip(false); }
BOOST_AUTO_TEST_CASE(round_trip_circuit) { RoundTrip(true); }

BOOST_AUTO_TEST_CASE(line_parasitics_compile_to_line_networks) {
  const mt::NetworkConfig c = TinyConfig(false);
  WriteDeck(c, mt::InitParameters(c, 7), "msnn_rc.cir", 10.0, 1e-15);
  const mt::CompiledNetwork cn = Compile("msnn_rc.cir");
  BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
  BOOST_REQUIRE_EQUAL(cn.config.lines.size(), 2u);
  // Word lines: 2 x 16 ladders of 8 cells; bit lines: 8 ladders of 32 cells (x2 nodes each).
  BOOST_CHECK_EQUAL(cn.config.lines[0]->nodes, 2 * 16 * 8 * 2);
  BOOST_CHECK_EQUAL(cn.config.lines[0]->resistors.size(), 2u * 16 * 8 * 2);
  BOOST_REQUIRE_EQUAL(cn.crossbar_models.size(), 2u);
  for (const std::string& m : cn.crossbar_models) {
    BOOST_TEST_MESSAGE(m);
    BOOST_CHECK_NE(m.find("quasi-static"), std::string::npos);
  }
  BOOST_CHECK_EQUAL(cn.trainable.size(), 2u * (16 * 8 + 8 * 4));
}

namespace {

// Compiles the 16-8-4 deck with rline 10 after `edit` (from, to) and returns the reason it was
// not compiled.
std::string LineReason(const std::string& file, const std::string& from, const std::string& to,
                       double cline = 0, double scale1 = 300.0) {
  mt::NetworkConfig c = TinyConfig(false);
  c.layer_scale[0] = scale1;
  WriteDeck(c, mt::InitParameters(c, 7), file, 10.0, cline);
  if (!from.empty()) Edit(file, from, to);
  const mt::CompiledNetwork cn = Compile(file);
  BOOST_CHECK(!cn.fast);
  BOOST_TEST_MESSAGE("reason: " << cn.reason);
  return cn.reason;
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_line_networks_fall_back_naming_the_element) {
  // Leakage from a line node to ground is not a crossbar line.
  std::string r = LineReason("msnn_leak.cir", ".save", "RLEAK i1p_3_2 0 1meg\n.save");
  BOOST_CHECK_NE(r.find("'rleak'"), std::string::npos);
  BOOST_CHECK_NE(r.find("ground"), std::string::npos);
  // A resistor joining two word lines.
  r = LineReason("msnn_join.cir", ".save", "RJOIN i1p_3_2 i1p_4_2 100\n.save");
  BOOST_CHECK_NE(r.find("rjoin"), std::string::npos);
  BOOST_CHECK_NE(r.find("joins the input line"), std::string::npos);
  // A word line cut from its driver floats.
  r = LineReason("msnn_float.cir", "RW1p_5_0 i1p_5 i1p_5_0 10", "* cut");
  BOOST_CHECK_NE(r.find("floating line"), std::string::npos);
  BOOST_CHECK_NE(r.find("'w1p_5_"), std::string::npos);
  // Line capacitance too large for the quasi-static model at this dt.
  r = LineReason("msnn_slow.cir", "", "", 1e-9);
  BOOST_CHECK_NE(r.find("time constant"), std::string::npos);
  BOOST_CHECK_NE(r.find("crossbar 1"), std::string::npos);
  // A drive that would switch a synapse.
  r = LineReason("msnn_switch.cir", "", "", 0, 2e6);
  BOOST_CHECK_NE(r.find("would change its state"), std::string::npos);
  BOOST_CHECK_NE(r.find("'w1"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(unrecognised_device_falls_back_naming_it) {
  const mt::NetworkConfig c = TinyConfig(false);
  WriteDeck(c, mt::InitParameters(c, 7), "msnn_diode.cir");
  Edit("msnn_diode.cir", ".save", "D9 h1_3 0 dleak\n.model dleak d (is=1e-15)\n.save");
  const mt::CompiledNetwork cn = Compile("msnn_diode.cir");
  BOOST_CHECK(!cn.fast);
  BOOST_TEST_MESSAGE("reason: " << cn.reason);
  BOOST_CHECK_NE(cn.reason.find("'d9'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(neuron_off_rest_falls_back) {
  const mt::NetworkConfig c = TinyConfig(false);
  WriteDeck(c, mt::InitParameters(c, 7), "msnn_rest.cir");
  Edit("msnn_rest.cir", "XN1_2 h1_2 MIF cmem=1e-09 x1=0.0075",
       "XN1_2 h1_2 MIF cmem=1e-09 x1=0.0085");
  const mt::CompiledNetwork cn = Compile("msnn_rest.cir");
  BOOST_CHECK(!cn.fast);
  BOOST_TEST_MESSAGE("reason: " << cn.reason);
  BOOST_CHECK_NE(cn.reason.find("rest state"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_directives_are_located_errors) {
  const mt::NetworkConfig c = TinyConfig(false);
  WriteDeck(c, mt::InitParameters(c, 7), "msnn_bad.cir");
  Edit("msnn_bad.cir", "*@msnn steps=200", "*@msnn steps=many");
  Edit("msnn_bad.cir", "loss=nll", "loss=mse colour=red");
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_CHECK(!mt::CompileNetwork("msnn_bad.cir", LibPaths(), &cn, diag));
  const std::string text = diag.Format();
  BOOST_TEST_MESSAGE(text);
  BOOST_CHECK_NE(text.find("msnn_bad.cir:4:14: error: *@msnn steps=many"), std::string::npos);
  BOOST_CHECK_NE(text.find("msnn_bad.cir:3:"), std::string::npos);
  BOOST_CHECK_NE(text.find("unsupported loss"), std::string::npos);
  BOOST_CHECK_NE(text.find("unknown *@msnn key 'colour'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(deck_without_directives_is_an_error) {
  std::ofstream("msnn_none.cir") << "plain deck\nR1 a 0 1k\nV1 a 0 1\n.end\n";
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_CHECK(!mt::CompileNetwork("msnn_none.cir", LibPaths(), &cn, diag));
  BOOST_CHECK_NE(diag.Format().find("no *@msnn training directives"), std::string::npos);
}

// Reference-column decks compile back to their conductances (G_ref in every column of G-), in
// both forms; broken reference columns fall back with the reason.
BOOST_AUTO_TEST_CASE(reference_column_round_trip_and_bad_decks) {
  mt::NetworkConfig c = TinyConfig(false);
  c.mapping = mt::SignedMapping::kReferenceColumn;
  const mt::Parameters p = mt::InitParameters(c, 7);
  const memspice::testing::TempDir dir("msnn_refcol_compile");
  const std::string path = dir / "ref.cir";
  for (bool circuit : {false, true}) {
    c.form = circuit ? mt::CrossbarForm::kCircuit : mt::CrossbarForm::kIdeal;
    WriteDeck(c, p, path);
    const mt::CompiledNetwork cn = Compile(path);
    BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
    BOOST_CHECK(cn.config.mapping == mt::SignedMapping::kReferenceColumn);
    BOOST_CHECK(cn.config.form == c.form);
    BOOST_CHECK_EQUAL(cn.trainable.size(), 16u * 8 + 8 * 4);
    for (int l = 0; l < 2; ++l) {
      BOOST_CHECK(cn.syn_minus[l].empty());
      BOOST_CHECK_LE((cn.params.g_plus[l] - p.g_plus[l]).cwiseAbs().maxCoeff(), 1e-15);
      BOOST_CHECK_LE((cn.params.g_minus[l] - p.g_minus[l]).cwiseAbs().maxCoeff(), 1e-15);
      BOOST_TEST(cn.config.layer_scale[l] == c.layer_scale[l], boost::test_tools::tolerance(1e-12));
    }
  }
  c.form = mt::CrossbarForm::kIdeal;
  const struct {
    const char *from, *to, *reason;
  } bad[] = {
      {"FR1_2 h1_2 0 VBR1 1\n", "", "subtracts no reference column"},
      {"FR1_2 h1_2 0 VBR1 1\n", "FR1_2 h1_2 0 VBR1 2\n", "needs the same gain"},
      {"YMSS ref1_3 i1p_3 br1", "YMSS ref1_3 i1p_4 br1", "second reference cell on input 4"},
      {"VBR1 br1 0 DC 0", "VBR1 br1 vr1 DC 0", "must be held at ground"},
  };
  for (const auto& b : bad) {
    WriteDeck(c, p, path);
    Edit(path, b.from, b.to);
    const mt::CompiledNetwork cn = Compile(path);
    BOOST_TEST_INFO("edit '" << b.from << "': reason " << cn.reason);
    BOOST_CHECK(!cn.fast);
    BOOST_CHECK_NE(cn.reason.find(b.reason), std::string::npos);
  }
}
