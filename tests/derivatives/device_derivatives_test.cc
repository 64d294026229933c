// For every device kind in the registry (and the behavioural variants below), G must be the
// derivative of f and C the derivative of q: compares them with central finite differences at
// random points, at several times, in transient and DC mode.
#define BOOST_TEST_MODULE device_derivatives
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <string>

#include "devices/registry.h"
#include "netlist/netlist.h"
#include "tests/unit/devices/device_harness.h"

namespace testing = memspice::devices::testing;
using memspice::devices::AnalysisInfo;
using memspice::devices::Registry;
using memspice::devices::RegistryEntry;
using memspice::netlist::Diagnostics;
using Options = testing::DenseHarness::Options;

namespace {

// Decks beyond the registry examples: behavioural forms and model corners.
const char* kExtraDecks[] = {
    "R1 a b {1k + 500*V(a,b)*V(a,b) + 100*V(c)}",
    "E1 a b VALUE={V(c,d)*V(c) + 2*V(a)}",
    "G1 a b VALUE={1m*V(c)*V(c,d) + 1m*V(a,b)}",
    "B1 a b V={1k*I(vc) + V(c)*V(d) + sin(time*1e6)}\nVC c d 0.2",
    "B1 a b I={1m*exp(V(a,b)) + 2m*I(vc)}\nVC c d PWL(0 0 1u 1)",
    "D1 a b dmod\n.model dmod d (is=1e-12 n=1 cjo=2p m=1 tt=0)",
    "D1 a b dmod 2\n.model dmod d (is=1e-14 cjo=1p vj=0.6 m=0.33 fc=0.2 bv=0.8 ibv=1u)",
    // BSIM3 (level 8/49): series resistance, poly depletion, substrate current, body-bias
    // output resistance, capmod 3 and 0 with the three charge partitions each, mobmod 2 and 3,
    // a non-nominal temperature.
    "M1 a b c d n3 W=4u L=0.4u AD=4p AS=4p PD=10u PS=10u NRD=2 NRS=2 M=2\n"
    ".model n3 nmos (level=8 vth0=0.45 u0=400 rdsw=300 prwg=0.1 prwb=-0.05 rsh=5 "
    "ngate=5e19 alpha0=1e-7 beta0=15 pdiblcb=-0.1 pvag=0.5 a1=0.05 a2=0.9 dwg=-1n dwb=2n "
    "keta=-0.05 cit=1e-5 cdscd=1e-4 xpart=0)",
    "M1 a b c d p3 W=8u L=1u AD=8p AS=8p PD=2u PS=18u\n"
    ".model p3 pmos (level=49 cgsl=1e-10 cgdl=2e-10 ckappa=0.8 vth0=-0.6 u0=150 mobmod=3 xpart=1 "
    "ijth=1e-3 jsw=1e-10 "
    "tnom=40 tcj=1e-3 tpb=1e-3 kt1l=1e-9 prt=10 rdsw=500)",
    "M1 a b c d n4 W=2u L=2u\n"
    ".model n4 nmos (level=8 mobmod=2 xpart=0.5 k1=0.6 k2=-0.02 nfactor=1.5 "
    "lint=10n wint=10n ll=1e-15 wl=-1e-15 lvth0=0.02 u0=400 wu0=20 pk1=0.01 lrdsw=30)",
    "M1 a b c d n5 W=3u L=0.6u AS=3p PS=8u\n.model n5 nmos (level=8 capmod=0 xpart=0)",
    "M1 a b c d p5 W=3u L=0.6u AD=3p PD=8u\n.model p5 pmos (level=8 capmod=0 xpart=1)",
    "M1 a b c d n6 W=3u L=0.6u\n.model n6 nmos (level=8 capmod=0 xpart=0.5 dvt0w=0.5 k3b=1)",
    // MOSFET level 2: Baum's velocity saturation with weak inversion and charge sharing; the
    // depletion-width channel shortening; PMOS with LAMBDA at another TNOM.
    "M1 a b c d n8 W=4u L=1.5u AD=8p AS=8p PD=12u PS=12u\n"
    ".model n8 nmos (level=2 vto=0.7 uo=500 tox=20n nsub=3e16 xj=0.25u ld=0.08u ucrit=1.5e4 "
    "uexp=0.2 vmax=6e4 neff=2 nfs=1e11 delta=0.3 cj=1e-4 cgso=2e-10 cgdo=2e-10 cgbo=1e-10)",
    "M1 a b c d n9 W=4u L=2u\n"
    ".model n9 nmos (level=2 vto=0.8 kp=40u gamma=0.6 phi=0.7 nsub=2e16 ucrit=2e4 uexp=0.1)",
    "M1 a b c d p8 W=6u L=2u M=2\n"
    ".model p8 pmos (level=2 vto=-0.8 uo=200 nsub=2e16 lambda=0.03 delta=0.2 tox=25n tnom=50 "
    "rd=10 rs=10)",
    // MOSFET level 3: velocity saturation with weak inversion and short-channel charge sharing;
    // without VMAX (KAPPA's channel shortening below and above vdsat), PMOS, another TNOM.
    "M1 a b c d n7 W=4u L=1u AD=8p AS=8p PD=12u PS=12u\n"
    ".model n7 nmos (level=3 vto=0.7 uo=500 tox=20n nsub=3e16 theta=0.1 eta=0.05 kappa=0.3 "
    "vmax=1.5e5 nfs=1e11 xj=0.2u ld=0.05u delta=0.5 cj=1e-4 cgso=2e-10 cgdo=2e-10 cgbo=1e-10)",
    "M1 a b c d p7 W=6u L=2u M=2\n"
    ".model p7 pmos (level=3 vto=-0.8 kp=30u gamma=0.5 phi=0.7 nsub=2e16 theta=0.05 kappa=0.5 "
    "eta=0.02 tox=25n tnom=50 rd=10 rs=10)",
};

struct Check {
  double max_err = 0.0;
  std::string where;
};

// Compares analytic J (G or C) against central differences of the vector `which` (f or q).
void CompareJacobian(testing::DenseHarness& h, const Eigen::VectorXd& x, const Options& o,
                     bool charge, const std::string& label) {
  testing::Evaluation ev = h.Evaluate(x, o);
  const Eigen::MatrixXd& J = charge ? ev.C : ev.G;
  const int n = h.size();
  BOOST_REQUIRE_MESSAGE(
      ev.f.allFinite() && ev.q.allFinite() && ev.G.allFinite() && ev.C.allFinite(),
      label << ": non-finite output");
  for (int j = 0; j < n; ++j) {
    const bool is_voltage = h.names()[j].rfind("v(", 0) == 0;
    const double scale = is_voltage ? 1.0 : 1e-3;
    const double step = 1e-6 * std::max(scale, std::abs(x[j]));
    Eigen::VectorXd xp = x, xm = x;
    xp[j] += step;
    xm[j] -= step;
    testing::Evaluation ep = h.Evaluate(xp, o), em = h.Evaluate(xm, o);
    Eigen::VectorXd fd = charge ? (ep.q - em.q) / (2 * step) : (ep.f - em.f) / (2 * step);
    for (int i = 0; i < n; ++i) {
      const double row_scale = (charge ? ev.C : ev.G).row(i).cwiseAbs().maxCoeff();
      const double tol =
          1e-6 * std::max(std::abs(J(i, j)), std::abs(fd[i])) + 1e-9 * row_scale + 1e-18;
      BOOST_TEST(std::abs(J(i, j) - fd[i]) <= tol,
                 label << (charge ? " C" : " G") << "(" << h.names()[i] << ", " << h.names()[j]
                       << ") = " << J(i, j) << " but finite difference gives " << fd[i]);
    }
  }
}

void CheckDeck(const std::string& fragment, const std::string& label, unsigned seed) {
  Diagnostics diag;
  const std::string text = "* derivative test: " + label + "\n" + fragment + "\n.end\n";
  auto netlist = memspice::netlist::ParseString(text, label + ".cir", {}, diag);
  BOOST_REQUIRE_MESSAGE(netlist, label << ": example does not parse:\n" << diag.Format());
  BOOST_REQUIRE_MESSAGE(!netlist->elements.empty(), label << ": no elements");
  testing::DenseHarness h;
  BOOST_REQUIRE_MESSAGE(h.Create(*netlist), label << ":\n" << h.diagnostics().Format());
  BOOST_REQUIRE_MESSAGE(h.Build(AnalysisInfo{1e-9, 1e-6, 27}), label << ":\n"
                                                                     << h.diagnostics().Format());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> volt(-0.9, 0.9), amp(-2e-3, 2e-3), unit(0.05, 0.95);
  const double times[] = {0.0, 1.3e-9, 4.7e-9, 2.2e-7};
  for (int trial = 0; trial < 6; ++trial) {
    Eigen::VectorXd x(h.size());
    for (int j = 0; j < h.size(); ++j) {
      const std::string& name = h.names()[j];
      if (name.rfind("v(", 0) == 0) {
        x[j] = volt(rng);
      } else if (name.rfind("i(", 0) == 0) {
        x[j] = amp(rng);
      } else {
        x[j] = unit(rng);  // internal states, e.g. a memristor's x in [0, 1]
      }
    }
    for (bool dc : {false, true}) {
      Options o;
      o.dc = dc;
      o.time = dc ? 0.0 : times[trial % 4];
      // Devices with junction limiting keep the previous voltage: evaluate until the limiter
      // has caught up with x, then the small difference steps are not limited.
      for (int k = 0; k < 200; ++k) h.Evaluate(x, o);
      std::string where = label + " trial " + std::to_string(trial) + (dc ? " dc" : " tran");
      CompareJacobian(h, x, o, false, where);
      if (!dc) CompareJacobian(h, x, o, true, where);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_registry_entry_has_a_parsable_example) {
  BOOST_REQUIRE(!Registry().empty());
  for (const RegistryEntry& entry : Registry()) {
    Diagnostics diag;
    std::string text = std::string("* example\n") + entry.example + "\n.end\n";
    auto netlist = memspice::netlist::ParseString(text, "example.cir", {}, diag);
    BOOST_REQUIRE_MESSAGE(netlist, entry.example << "\n" << diag.Format());
    BOOST_REQUIRE(!netlist->elements.empty());
    const auto& first = netlist->elements.front();
    BOOST_TEST(first.letter == entry.letter, entry.example);
    if (entry.letter == 'y') BOOST_TEST(first.type == entry.type);
    BOOST_TEST(std::string(entry.description).size() > 0u);
  }
}

BOOST_AUTO_TEST_CASE(registry_examples_jacobians_match_finite_differences) {
  unsigned seed = 1;
  for (const RegistryEntry& entry : Registry()) {
    std::string label = std::string(1, entry.letter) + (entry.type[0] ? "_" : "") + entry.type;
    BOOST_TEST_CONTEXT("registry entry " << label) { CheckDeck(entry.example, label, ++seed); }
  }
}

BOOST_AUTO_TEST_CASE(behavioural_and_model_variants_match_finite_differences) {
  unsigned seed = 100;
  int k = 0;
  for (const char* deck : kExtraDecks) {
    std::string label = "extra" + std::to_string(k++);
    BOOST_TEST_CONTEXT(deck) { CheckDeck(deck, label, ++seed); }
  }
}
