// Switch with hysteresis (switch.h): the DC state follows the control from the ON/OFF initial
// state, and in a transient the state flips at VT + VH going up and VT - VH going down.
#define BOOST_TEST_MODULE devices_switch
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "devices/switch.h"
#include "tests/unit/devices/device_harness.h"

using memspice::netlist::Element;
using memspice::netlist::Model;
using memspice::netlist::Netlist;
using memspice::netlist::SourceLoc;
namespace testing = memspice::devices::testing;

namespace {

constexpr double kRon = 100.0, kRoff = 1e8, kLoad = 1e3;

Element Make(const std::string& name, std::vector<std::string> nodes,
             std::optional<double> value = std::nullopt) {
  Element e;
  e.name = name;
  e.letter = name[0];
  e.nodes = std::move(nodes);
  e.value = value;
  e.loc = SourceLoc{"s.cir", 3, 1};
  return e;
}

// 1 V through a 1k load into switch S1 (a to ground), controlled by V(c) = vc.
Netlist SwitchDeck(double vc, bool on) {
  Netlist n;
  Model m;
  m.name = "sm";
  m.type = "sw";
  m.params = {{"vt", 1.0}, {"vh", 0.5}, {"ron", kRon}, {"roff", kRoff}};
  m.loc = SourceLoc{"s.cir", 9, 1};
  n.models["sm"] = m;
  Element s = Make("s1", {"a", "0", "c", "0"});
  s.model = "sm";
  if (on) s.params["on"] = 1.0;
  n.elements = {Make("v1", {"in", "0"}, 1.0), Make("r1", {"in", "a"}, kLoad),
                Make("vc", {"c", "0"}, vc), s};
  return n;
}

// The switch resistance at the DC operating point.
double DcResistance(double vc, bool on) {
  testing::DenseHarness h;
  BOOST_REQUIRE(h.Create(SwitchDeck(vc, on)));
  BOOST_REQUIRE(h.Build());
  Eigen::VectorXd x = Eigen::VectorXd::Zero(h.size());
  testing::DenseHarness::Options o;
  o.dc = true;
  o.gmin = 0.0;
  BOOST_REQUIRE(h.Newton(&x, o) > 0);
  const double va = x[h.Find("v(a)")];
  return va / ((1.0 - va) / kLoad);
}

}  // namespace

BOOST_AUTO_TEST_CASE(dc_state_follows_the_control_from_the_initial_state) {
  // Inside the window (0.5 .. 1.5 V) the initial state holds; outside the control decides.
  for (bool on : {false, true}) {
    BOOST_TEST(DcResistance(1.0, on) == (on ? kRon : kRoff), boost::test_tools::tolerance(1e-3));
    BOOST_TEST(DcResistance(1.6, on) == kRon, boost::test_tools::tolerance(1e-3));
    BOOST_TEST(DcResistance(0.4, on) == kRoff, boost::test_tools::tolerance(1e-3));
  }
}

BOOST_AUTO_TEST_CASE(transient_state_flips_at_the_two_thresholds) {
  // Backward Euler on the switch's state row with the control prescribed: the control ramps up
  // to 2 V and back to 0 V; the state must flip near 1.5 V going up and near 0.5 V going down.
  Netlist deck = SwitchDeck(0.0, false);
  deck.elements = {deck.elements[3]};  // the switch alone; V(c) is set directly
  testing::DenseHarness h;
  BOOST_REQUIRE(h.Create(deck));
  BOOST_REQUIRE(h.Build());
  const int c = h.Find("v(c)"), s = h.Find("x(s1)");
  BOOST_REQUIRE(s >= 0);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(h.size());
  const double dt = 1e-11;  // a few tau per step
  auto advance = [&](double vc) {
    const double q_prev = h.Evaluate(x, {}).q[s];
    x[c] = vc;
    for (int it = 0; it < 100; ++it) {
      const testing::Evaluation ev = h.Evaluate(x, {});
      const double r = ev.f[s] + (ev.q[s] - q_prev) / dt;
      x[s] -= r / (ev.G(s, s) + ev.C(s, s) / dt);
      if (std::abs(r) < 1e-14) break;
    }
  };
  double on_at = -1.0, off_at = -1.0;
  const double step = 1e-3;  // V of control per time step
  for (int k = 0; k <= 2000; ++k) {
    advance(k * step);
    if (on_at < 0.0 && x[s] > 0.5) on_at = k * step;
  }
  BOOST_TEST(x[s] == 1.0, boost::test_tools::tolerance(1e-6));
  for (int k = 2000; k >= 0; --k) {
    advance(k * step);
    if (off_at < 0.0 && x[s] < 0.5) off_at = k * step;
  }
  BOOST_TEST(x[s] == 0.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(on_at == 1.5, boost::test_tools::tolerance(0.01));
  BOOST_TEST(off_at == 0.5, boost::test_tools::tolerance(0.02));
}
