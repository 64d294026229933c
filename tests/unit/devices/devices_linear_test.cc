#define BOOST_TEST_MODULE devices_linear
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "devices/capacitor.h"
#include "devices/inductor.h"
#include "devices/registry.h"
#include "devices/resistor.h"
#include "tests/unit/devices/device_harness.h"

using memspice::devices::AnalysisInfo;
using memspice::netlist::Diagnostics;
using memspice::netlist::Element;
using memspice::netlist::Expression;
using memspice::netlist::Netlist;
using memspice::netlist::Scope;
using memspice::netlist::SourceLoc;
using memspice::netlist::Waveform;
namespace testing = memspice::devices::testing;
using Options = testing::DenseHarness::Options;

namespace {

int line = 0;

Element Make(const std::string& name, std::vector<std::string> nodes,
             std::optional<double> value = std::nullopt) {
  Element e;
  e.name = name;
  e.letter = name[0];
  e.nodes = std::move(nodes);
  e.value = value;
  e.loc = SourceLoc{"test.cir", ++line, 1};
  return e;
}

memspice::netlist::Expr Expr(const std::string& text) {
  Diagnostics diag;
  auto parsed = Expression::Parse(text, SourceLoc{"test.cir", 1, 1}, diag);
  BOOST_REQUIRE_MESSAGE(parsed, diag.Format());
  auto resolved = parsed->Resolve(Scope{}, diag);
  BOOST_REQUIRE_MESSAGE(resolved, diag.Format());
  return resolved;
}

// Builds a harness from elements; fails the test on any diagnostic error.
std::unique_ptr<testing::DenseHarness> Circuit(Netlist netlist, AnalysisInfo info = {}) {
  auto h = std::make_unique<testing::DenseHarness>();
  BOOST_REQUIRE_MESSAGE(h->Create(netlist), h->diagnostics().Format());
  BOOST_REQUIRE_MESSAGE(h->Build(info), h->diagnostics().Format());
  return h;
}

Netlist Deck(std::vector<Element> elements) {
  Netlist n;
  n.elements = std::move(elements);
  return n;
}

double V(const testing::DenseHarness& h, const Eigen::VectorXd& x, const std::string& name) {
  int k = h.Find(name);
  BOOST_REQUIRE_MESSAGE(k >= 0, "no unknown " << name);
  return x[k];
}

Eigen::VectorXd SolveDc(testing::DenseHarness& h) {
  Eigen::VectorXd x = Eigen::VectorXd::Zero(h.size());
  Options o;
  o.dc = true;
  BOOST_REQUIRE(h.Newton(&x, o) > 0);
  return x;
}

}  // namespace

BOOST_AUTO_TEST_CASE(resistor_stamps_conductance) {
  auto h = Circuit(Deck({Make("r1", {"a", "b"}, 2e3)}));
  Eigen::VectorXd x(2);
  x << 3.0, 1.0;
  testing::Evaluation ev = h->Evaluate(x, {});
  BOOST_TEST(ev.f[0] == 1e-3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(ev.f[1] == -1e-3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(ev.G(0, 0) == 5e-4);
  BOOST_TEST(ev.G(0, 1) == -5e-4);
  BOOST_TEST(ev.G(1, 0) == -5e-4);
  BOOST_TEST(ev.G(1, 1) == 5e-4);
  BOOST_TEST(ev.q.norm() == 0.0);
  BOOST_TEST(h->devices()[0]->IsLinear());
}

BOOST_AUTO_TEST_CASE(voltage_divider_and_source_current_sign) {
  Element v = Make("v1", {"in", "0"}, 10.0);
  auto h = Circuit(Deck({v, Make("r1", {"in", "out"}, 3e3), Make("r2", {"out", "0"}, 2e3)}));
  Eigen::VectorXd x = SolveDc(*h);
  BOOST_TEST(V(*h, x, "v(in)") == 10.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out)") == 4.0, boost::test_tools::tolerance(1e-12));
  // The source delivers 2 mA: SPICE reports it as negative current through the source.
  BOOST_TEST(V(*h, x, "i(v1)") == -2e-3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(current_source_pushes_from_plus_to_minus) {
  // I1 0 a 1m: 1 mA flows from ground through the source into node a.
  auto h = Circuit(Deck({Make("i1", {"0", "a"}, 1e-3), Make("r1", {"a", "0"}, 1e3)}));
  Eigen::VectorXd x = SolveDc(*h);
  BOOST_TEST(V(*h, x, "v(a)") == 1.0, boost::test_tools::tolerance(1e-12));
  // Source stepping scales it.
  Options o;
  o.dc = true;
  o.source_scale = 0.25;
  x.setZero();
  BOOST_REQUIRE(h->Newton(&x, o) > 0);
  BOOST_TEST(V(*h, x, "v(a)") == 0.25, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(h->devices()[0]->SetDcValue(2e-3));
  x.setZero();
  o.source_scale = 1.0;
  BOOST_REQUIRE(h->Newton(&x, o) > 0);
  BOOST_TEST(V(*h, x, "v(a)") == 2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(!h->devices()[1]->SetDcValue(1.0));
}

BOOST_AUTO_TEST_CASE(rc_step_follows_backward_euler_recurrence) {
  // V1 in 0 PULSE 0->1 at t=0 with tr = 1 ns; R = 1k, C = 1u: tau = 1 ms.
  Element v = Make("v1", {"in", "0"});
  v.waveform = Waveform{Waveform::Kind::kPulse, {0, 1, 0, 1e-9, 1e-9, 1, 2}};
  Element c = Make("c1", {"out", "0"}, 1e-6);
  auto h = Circuit(Deck({v, Make("r1", {"in", "out"}, 1e3), c}), AnalysisInfo{1e-5, 1e-2, 27});
  Eigen::VectorXd x = SolveDc(*h);
  BOOST_TEST(V(*h, x, "v(out)") == 0.0, boost::test_tools::tolerance(1e-15));
  const double step = 1e-5;
  auto states = h->Transient(x, step, 200);
  BOOST_REQUIRE_EQUAL(states.size(), 201u);
  // BE: v_{n+1} = (v_n + a) / (1 + a), a = h / tau, with the input at 1 from the first step.
  double v_be = 0.0, a = step / 1e-3;
  int out = h->Find("v(out)");
  for (int k = 1; k <= 200; ++k) {
    v_be = (v_be + a) / (1 + a);
    BOOST_TEST(states[k][out] == v_be, boost::test_tools::tolerance(1e-9));
  }
  // And close to the exact exponential.
  BOOST_TEST(states[200][out] == 1 - std::exp(-2.0), boost::test_tools::tolerance(5e-3));
}

BOOST_AUTO_TEST_CASE(capacitor_stamps_charge_and_initial_condition) {
  Element c = Make("c1", {"a", "b"}, 2e-6);
  c.params["ic"] = 0.3;
  auto h = Circuit(Deck({c}));
  Eigen::VectorXd x(2);
  x << 1.5, 0.5;
  testing::Evaluation ev = h->Evaluate(x, {});
  BOOST_TEST(ev.q[0] == 2e-6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(ev.q[1] == -2e-6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(ev.C(0, 1) == -2e-6);
  BOOST_TEST(ev.f.norm() == 0.0);
  BOOST_TEST(ev.G.norm() == 0.0);
  std::vector<double> xs = {0.0, 0.0, 0.7};  // slot -1, a, b
  h->devices()[0]->InitialState(xs.data() + 1);
  BOOST_TEST(xs[1] - xs[2] == 0.3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(rl_current_rises_with_tau_l_over_r) {
  // V1 in 0 1, R = 10, L = 10 mH: i(t) = 0.1 (1 - exp(-t R / L)), started from i = 0 via ic=0.
  Element v = Make("v1", {"in", "0"}, 1.0);
  Element l = Make("l1", {"out", "0"}, 10e-3);
  l.params["ic"] = 0.0;
  auto h = Circuit(Deck({v, Make("r1", {"in", "out"}, 10.0), l}));
  // DC: the inductor is a short.
  Eigen::VectorXd x = SolveDc(*h);
  BOOST_TEST(V(*h, x, "i(l1)") == 0.1, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out)") == 0.0, boost::test_tools::tolerance(1e-12));
  // uic: start at i = 0 with the node voltages consistent with it.
  x.setZero();
  h->devices()[2]->InitialState(x.data());
  BOOST_TEST(V(*h, x, "i(l1)") == 0.0);
  x[h->Find("v(in)")] = 1.0;
  x[h->Find("v(out)")] = 1.0;
  const double step = 1e-5;
  auto states = h->Transient(x, step, 300);
  BOOST_REQUIRE_EQUAL(states.size(), 301u);
  int il = h->Find("i(l1)");
  double i_be = 0.0, a = step * 10.0 / 10e-3;
  for (int k = 1; k <= 300; ++k) {
    i_be = (i_be + a * 0.1) / (1 + a);
    BOOST_TEST(states[k][il] == i_be, boost::test_tools::tolerance(1e-9));
  }
}

BOOST_AUTO_TEST_CASE(controlled_sources_closed_form) {
  // E: out1 = 3 * v(in);  G: 2 mS * v(in) into 1k from out2 -> v(out2) = -2 v(in) (current
  // leaves out2 through the source);  F: i = 4 * i(vs);  H: out4 = 500 * i(vs).
  Element e = Make("e1", {"out1", "0", "in", "0"}, 3.0);
  Element g = Make("g1", {"out2", "0", "in", "0"}, 2e-3);
  Element f = Make("f1", {"out3", "0"}, 4.0);
  f.control = "vs";
  Element hh = Make("h1", {"out4", "0"}, 500.0);
  hh.control = "vs";
  auto h = Circuit(Deck({Make("v1", {"in", "0"}, 0.5), Make("vs", {"in", "m"}, 0.0),
                         Make("rs", {"m", "0"}, 250.0), e, Make("r1", {"out1", "0"}, 1e3), g,
                         Make("r2", {"out2", "0"}, 1e3), f, Make("r3", {"out3", "0"}, 1e3), hh,
                         Make("r4", {"out4", "0"}, 1e3)}));
  Eigen::VectorXd x = SolveDc(*h);
  const double is = 0.5 / 250.0;  // through vs, from in to m
  BOOST_TEST(V(*h, x, "i(vs)") == is, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out1)") == 1.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out2)") == -1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out3)") == -4.0 * is * 1e3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(V(*h, x, "v(out4)") == 500.0 * is, boost::test_tools::tolerance(1e-12));
  for (auto& d : h->devices()) BOOST_TEST(d->IsLinear());
}

BOOST_AUTO_TEST_CASE(behavioural_resistor_and_sources) {
  // R = 1k + 1k * V(a)^2 from a to 0, driven by 2 V: i = 2 / 5k.
  Element r = Make("r1", {"a", "0"});
  r.expr = Expr("1k + 1k*V(a)*V(a)");
  // B V= reading a branch current: out = 1k * I(v1) (negative: v1 delivers).
  Element b = Make("b1", {"out", "0"});
  b.expr = Expr("1k*I(v1) + 0*time");
  // E VALUE and G VALUE.
  Element e = Make("e1", {"o2", "0"});
  e.expr = Expr("V(a)*V(a)");
  Element g = Make("g1", {"0", "o3"});
  g.expr = Expr("1m*V(a,o2)");  // current from ground into o3
  auto h = Circuit(Deck({Make("v1", {"a", "0"}, 2.0), r, b, Make("ro", {"out", "0"}, 1e3), e, g,
                         Make("r3", {"o3", "0"}, 1e3)}));
  BOOST_TEST(!h->devices()[1]->IsLinear());
  Eigen::VectorXd x = SolveDc(*h);
  BOOST_TEST(V(*h, x, "i(v1)") == -2.0 / 5e3, boost::test_tools::tolerance(1e-10));
  BOOST_TEST(V(*h, x, "v(out)") == -2.0 / 5e3 * 1e3, boost::test_tools::tolerance(1e-10));
  BOOST_TEST(V(*h, x, "v(o2)") == 4.0, boost::test_tools::tolerance(1e-10));
  BOOST_TEST(V(*h, x, "v(o3)") == 1e-3 * (2.0 - 4.0) * 1e3, boost::test_tools::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(behavioural_resistor_is_floored_not_nan) {
  Element r = Make("r1", {"a", "0"});
  r.expr = Expr("V(a) - 1");  // zero at V(a) = 1
  auto h = Circuit(Deck({r}));
  Eigen::VectorXd x(1);
  x << 1.0;
  testing::Evaluation ev = h->Evaluate(x, {});
  BOOST_TEST(std::isfinite(ev.f[0]));
  BOOST_TEST(ev.G.allFinite());
  BOOST_TEST(ev.f[0] == 1.0 / memspice::devices::kMinResistance);
}

BOOST_AUTO_TEST_CASE(errors_name_the_element_and_location) {
  struct Case {
    Element e;
    const char* needle;
  };
  Element f = Make("f1", {"a", "0"}, 2.0);
  f.control = "vnone";
  Element r_nov = Make("r2", {"a", "0"});
  Element r_bad = Make("r3", {"a", "0"}, 1.0);
  r_bad.params["foo"] = 1.0;
  Element c3 = Make("c1", {"a"}, 1e-6);
  Element d = Make("d1", {"a", "0"});
  d.model = "dx";
  Element t = Make("t1", {"a", "0", "0", "0"});
  Element y = Make("y1", {"a", "0"});
  y.type = "nosuch";
  Element b = Make("b1", {"a", "0"});
  b.expr = Expr("I(vnone)");
  b.expr_is_current = true;
  std::vector<Case> cases = {
      {f, "controlling source 'vnone' of 'f1'"},    {r_nov, "resistor 'r2' has no value"},
      {r_bad, "unknown parameter 'foo' for 'r3'"},  {c3, "'c1' needs 2 nodes, got 1"},
      {d, "unknown model 'dx' for instance 'd1'"},  {t, "unsupported element type 'T' in 't1'"},
      {y, "unknown device type 'nosuch' for 'y1'"}, {b, "'b1' reads I(vnone)"}};
  for (const Case& c : cases) {
    testing::DenseHarness h;
    Netlist n = Deck({c.e});
    if (h.Create(n)) h.Build();
    BOOST_REQUIRE_MESSAGE(h.diagnostics().has_errors(), "no error for " << c.e.name);
    const auto& item = h.diagnostics().items()[0];
    BOOST_TEST(item.message.find(c.needle) != std::string::npos,
               "got: " << item.message << " expected: " << c.needle);
    BOOST_TEST(item.loc.line == c.e.loc.line);
    BOOST_TEST(item.loc.file == "test.cir");
  }
}

BOOST_AUTO_TEST_CASE(tiny_resistance_is_floored_with_a_warning) {
  Diagnostics diag;
  Netlist n;
  auto d = memspice::devices::CreateResistor(Make("r1", {"a", "0"}, 0.0), n, diag);
  BOOST_REQUIRE(d);
  BOOST_TEST(!diag.has_errors());
  BOOST_TEST(diag.items().size() == 1u);
  auto* r = dynamic_cast<memspice::devices::Resistor*>(d.get());
  BOOST_TEST(r->resistance() == memspice::devices::kMinResistance);
}
