// JFET level 1: the drain current against the closed forms of jfet.h in each region, the P channel
// and reverse mode as mirror images, area scaling and temperature scaling of VTO and BETA.
#define BOOST_TEST_MODULE devices_jfet
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "devices/jfet.h"
#include "tests/unit/devices/device_harness.h"

using memspice::netlist::Element;
using memspice::netlist::Model;
using memspice::netlist::Netlist;
using memspice::netlist::SourceLoc;
namespace testing = memspice::devices::testing;

namespace {

constexpr double kVto = -2.0, kBeta = 1e-3, kLambda = 0.05, kB = 0.8, kPb = 1.0;

Netlist JfetDeck(const std::string& type, std::map<std::string, double> inst = {}) {
  Netlist n;
  Model m;
  m.name = "jm";
  m.type = type;
  m.params = {{"vto", kVto}, {"beta", kBeta}, {"lambda", kLambda}, {"b", kB}, {"pb", kPb}};
  m.loc = SourceLoc{"j.cir", 9, 1};
  n.models["jm"] = m;
  Element j;
  j.name = "j1";
  j.letter = 'j';
  j.nodes = {"d", "g", "s"};
  j.model = "jm";
  j.params = std::move(inst);
  j.loc = SourceLoc{"j.cir", 3, 1};
  n.elements = {j};
  return n;
}

// The closed form of jfet.h, normal mode (x = vgs - VTO, v = vds >= 0).
double Closed(double x, double v, double scale = 1.0) {
  if (x <= 0.0) return 0.0;
  const double bfac = (1.0 - kB) / (kPb - kVto);
  const double betap = scale * kBeta * (1.0 + kLambda * v);
  if (v <= x) return betap * v * (v * (bfac * v - kB) + x * (2 * kB + 3 * bfac * (x - v)));
  return betap * x * x * (kB + bfac * x);
}

// Drain-row current at (vd, vg, vs) once limiting has settled (gmin off).
double DrainCurrent(testing::DenseHarness& h, double vd, double vg, double vs) {
  Eigen::VectorXd x(h.size());
  x[h.Find("v(d)")] = vd;
  x[h.Find("v(g)")] = vg;
  x[h.Find("v(s)")] = vs;
  testing::DenseHarness::Options o;
  o.gmin = 0.0;
  testing::Evaluation ev;
  for (int k = 0; k < 50; ++k) ev = h.Evaluate(x, o);
  return ev.f[h.Find("v(d)")];
}

}  // namespace

BOOST_AUTO_TEST_CASE(drain_current_matches_closed_forms_in_every_region) {
  testing::DenseHarness h;
  BOOST_REQUIRE(h.Create(JfetDeck("njf")));
  BOOST_REQUIRE(h.Build());
  const double is_gate = 1e-14;  // reverse gate current at these biases is -IS per junction
  for (double vgs : {-2.5, -1.5, -0.5}) {
    for (double vds : {0.2, 1.0, 3.0}) {
      const double want = Closed(vgs - kVto, vds) + is_gate;
      BOOST_TEST_CONTEXT("vgs " << vgs << " vds " << vds) {
        BOOST_TEST(DrainCurrent(h, vds, vgs, 0.0) == want, boost::test_tools::tolerance(1e-9));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(reverse_mode_and_p_channel_mirror_the_normal_mode) {
  testing::DenseHarness n, p;
  BOOST_REQUIRE(n.Create(JfetDeck("njf")));
  BOOST_REQUIRE(n.Build());
  BOOST_REQUIRE(p.Create(JfetDeck("pjf")));
  BOOST_REQUIRE(p.Build());
  for (auto [vd, vg, vs] : {std::tuple{1.0, -1.0, 0.0}, {0.3, -0.5, 0.0}, {2.0, -1.9, 0.0}}) {
    const double normal = DrainCurrent(n, vd, vg, vs);
    // Drain and source voltages exchanged: the channel current reverses.
    const double swapped = DrainCurrent(n, vs, vg, vd);
    BOOST_TEST(swapped == -normal, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(DrainCurrent(p, -vd, -vg, -vs) == -normal, boost::test_tools::tolerance(1e-9));
  }
}

BOOST_AUTO_TEST_CASE(area_and_m_scale_beta) {
  testing::DenseHarness h;
  BOOST_REQUIRE(h.Create(JfetDeck("njf", {{"area", 2.0}, {"m", 3.0}})));
  BOOST_REQUIRE(h.Build());
  BOOST_TEST(DrainCurrent(h, 3.0, -1.0, 0.0) == Closed(1.0, 3.0, 6.0) + 6e-14,
             boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(temperature_moves_vto_and_beta) {
  Netlist deck = JfetDeck("njf", {{"temp", 77.0}});
  deck.models["jm"].params["tcv"] = 2e-3;
  deck.models["jm"].params["bex"] = -1.5;
  deck.models["jm"].params["b"] = 1.0;  // Shichman-Hodges: beta' x^2 in saturation
  testing::DenseHarness h;
  BOOST_REQUIRE(h.Create(deck));
  BOOST_REQUIRE(h.Build());
  const double t = 350.15, tnom = 300.15;
  const double vto = kVto - 2e-3 * (t - tnom), beta = kBeta * std::pow(t / tnom, -1.5);
  const double x = -1.0 - vto, vds = 5.0;
  const double id = DrainCurrent(h, vds, -1.0, 0.0);
  BOOST_TEST(id == beta * (1 + kLambda * vds) * x * x, boost::test_tools::tolerance(1e-6));
}
