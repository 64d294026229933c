// Bad transistor, switch and coupling cards: each is refused with an error at the card (file,
// line and column) that names the model and the problem; good cards build.
#define BOOST_TEST_MODULE devices_model_cards
#include <boost/test/unit_test.hpp>
#include <string>

#include "netlist/netlist.h"
#include "solver/circuit.h"

namespace nl = memspice::netlist;

namespace {

// Parses and builds `deck`; returns the formatted diagnostics ("" if it built without errors).
std::string BuildErrors(const std::string& deck) {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> netlist = nl::ParseString(deck, "card.cir", {}, diag);
  if (!netlist) return diag.Format();
  auto circuit = memspice::solver::Circuit::Build(*netlist, diag);
  return circuit ? std::string() : diag.Format();
}

void ExpectError(const std::string& deck, const std::string& where, const std::string& what) {
  const std::string errors = BuildErrors(deck);
  BOOST_TEST_CONTEXT(deck) {
    BOOST_TEST(errors.find(where + ": error: ") != std::string::npos, errors);
    BOOST_TEST(errors.find(what) != std::string::npos, errors);
    BOOST_TEST(errors.find("^") != std::string::npos, "no caret line:\n" << errors);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(good_cards_build) {
  BOOST_TEST(BuildErrors("t\nV1 a 0 1\nM1 a a 0 0 n W=2u L=1u\n.model n nmos (level=1 vto=0.5 "
                         "kp=100u tox=10n cj=1e-4)\n") == "");
  BOOST_TEST(BuildErrors("t\nV1 a 0 1\nQ1 a a 0 q\n.model q pnp (bf=50 va=40 pe=0.7)\n") == "");
  BOOST_TEST(BuildErrors("t\nV1 a 0 1\nS1 a 0 a 0 s\n.model s sw (vt=0.5 ron=1)\n") == "");
  BOOST_TEST(BuildErrors("t\nV1 a 0 1\nR1 a b 1\nL1 b 0 1m\nL2 c 0 1m\nR2 c 0 1\nK1 L1 L2 1\n") ==
             "");
}

BOOST_AUTO_TEST_CASE(mosfet_cards) {
  const std::string head = "t\nV1 a 0 1\nM1 a a 0 0 n W=2u L=1u\n";
  ExpectError(head + ".model n nmos (vth0=0.5)\n", "card.cir:4:8", "unknown parameter 'vth0'");
  ExpectError(head + ".model n nmos (level=6)\n", "card.cir:4:8", "level=6 is not supported");
  ExpectError(head + ".model n nmos (level=4)\n", "card.cir:4:8", "level=4 is not supported");
  ExpectError(head + ".model n nmos (eta=0.1)\n", "card.cir:4:8",
              "'eta' is not a level 1 parameter");
  ExpectError(head + ".model n nmos (kp=-1u)\n", "card.cir:4:8", "kp must be > 0");
  ExpectError(head + ".model n nmos (fc=1.5)\n", "card.cir:4:8", "fc must be in [0, 1)");
  // Without VTO, NSUB and TOX give the process-based threshold; NSUB alone is ignored (ngspice).
  BOOST_TEST(BuildErrors(head + ".model n nmos (tox=10n nsub=1e16 nss=1e10 tpg=-1)\n") == "");
  BOOST_TEST(BuildErrors(head + ".model n nmos (nsub=1e16)\n") == "");
  ExpectError(head + ".model n nmos (tox=10n nsub=1e9)\n", "card.cir:4:8",
              "nsub must exceed the intrinsic density");
  ExpectError(head + ".model n nmos (tox=10n nsub=1e16 tpg=2)\n", "card.cir:4:8",
              "tpg must be -1, 0 or 1");
  ExpectError("t\nV1 a 0 1\nM1 a a 0 0 n W=0 L=1u\n.model n nmos ()\n", "card.cir:3:1",
              "W must be > 0");
  ExpectError("t\nV1 a 0 1\nM1 a a 0 0 n W=1u L=1u foo=2\n.model n nmos ()\n", "card.cir:3:1",
              "foo");
}

BOOST_AUTO_TEST_CASE(mosfet_level3_cards) {
  const std::string head = "t\nV1 a 0 1\nM1 a a 0 0 n W=2u L=1u\n";
  BOOST_TEST(BuildErrors(head + ".model n nmos (level=3 vto=0.6 theta=0.1 eta=0.05 kappa=0.3 "
                                "vmax=1e5 nfs=1e11 xj=0.2u nsub=2e16 delta=0.2 u0=500)\n") == "");
  ExpectError(head + ".model n nmos (level=3 lambda=0.02)\n", "card.cir:4:8",
              "'lambda' is not a level 3 parameter");
  ExpectError(head + ".model n nmos (level=3 xd=0.1u)\n", "card.cir:4:8", "unknown parameter 'xd'");
  ExpectError(head + ".model n nmos (xl=0.1u)\n", "card.cir:4:8",
              "'xl' is not a level 1 parameter");
  ExpectError(head + ".model n nmos (level=3 wd=1u)\n", "card.cir:3:1",
              "W - 2 WD + XW must be > 0");
  ExpectError(head + ".model n nmos (level=3 vmax=-1)\n", "card.cir:4:8",
              "theta, eta, kappa, vmax, nfs and xj must be >= 0");
  ExpectError(head + ".model n nmos (level=3 tox=0)\n", "card.cir:4:8", "tox must be > 0");
  BOOST_TEST(BuildErrors(head + ".model n nmos (level=3 nsub=1e16 tpg=0)\n") == "");
  ExpectError(head + ".model n nmos (level=3 nsub=1e9)\n", "card.cir:4:8",
              "nsub must exceed the intrinsic density");
}

BOOST_AUTO_TEST_CASE(mosfet_level2_cards) {
  const std::string head = "t\nV1 a 0 1\nM1 a a 0 0 n W=2u L=1u\n";
  BOOST_TEST(BuildErrors(head +
                         ".model n nmos (level=2 vto=0.6 lambda=0.02 ucrit=2e4 uexp=0.1 "
                         "utra=0.3 vmax=5e4 neff=2 nfs=1e11 xj=0.2u nsub=2e16 delta=0.2)\n") == "");
  ExpectError(head + ".model n nmos (level=2 theta=0.1)\n", "card.cir:4:8",
              "'theta' is not a level 2 parameter");
  ExpectError(head + ".model n nmos (level=2 neff=0)\n", "card.cir:4:8",
              "ucrit and neff must be > 0");
  ExpectError(head + ".model n nmos (level=3 ucrit=1e4)\n", "card.cir:4:8",
              "'ucrit' is not a level 3 parameter");
}

BOOST_AUTO_TEST_CASE(bsim3_cards) {
  const std::string head = "t\nV1 a 0 1\nM1 a a 0 0 n W=2u L=1u\n";
  BOOST_TEST(BuildErrors(head + ".model n nmos (level=8 capmod=0 vth0=0.5 u0=400)\n") == "");
  BOOST_TEST(BuildErrors(head + ".model n pmos (level=49 capmod=0 vth0=-0.5 nch=3e23)\n") == "");
  ExpectError(head + ".model n nmos (level=8 capmod=1)\n", "card.cir:4:8",
              "capmod=1 is not supported");
  ExpectError(head + ".model n nmos (level=49 capmod=0 nqsmod=1)\n", "card.cir:4:8",
              "nqsmod=1 is not supported");
  BOOST_TEST(BuildErrors(head + ".model n nmos (level=8 lvth0=0.1 wu0=5 pk1=0.01)\n") == "");
  ExpectError(head + ".model n nmos (level=8 ltox=1n)\n", "card.cir:4:8",
              "unknown parameter 'ltox'");
  ExpectError(head + ".model n nmos (level=8 capmod=0 kp=1u)\n", "card.cir:4:8",
              "unknown parameter 'kp'");
  ExpectError(head + ".model n nmos (level=8 capmod=0 mj=2)\n", "card.cir:4:8",
              "mj = 2 is out of range");
  ExpectError(head + ".model n nmos (level=8 tox=0)\n", "card.cir:4:8", "tox must be > 0");
  ExpectError(head + ".model n nmos (level=8 ckappa=0)\n", "card.cir:4:8", "ckappa must be > 0");
  ExpectError("t\nV1 a 0 1\nM1 a a 0 0 n W=1u L=1u mulu0=0\n.model n nmos (level=8)\n",
              "card.cir:3:1", "mulu0 must be > 0");
  ExpectError(head + ".model n nmos (level=8 capmod=0 mobmod=4)\n", "card.cir:4:8",
              "mobmod = 4 is out of range");
  ExpectError("t\nV1 a 0 1\nM1 a a 0 0 n W=1u L=0.1u\n.model n nmos (level=8 capmod=0 lint=0.1u)\n",
              "card.cir:3:1", "effective channel length and width must be > 0");
  ExpectError("t\nV1 a 0 1\nM1 a a 0 0 n W=1u L=1u kp=2\n.model n nmos (level=8 capmod=0)\n",
              "card.cir:3:1", "kp");
}

BOOST_AUTO_TEST_CASE(bjt_cards) {
  const std::string head = "t\nV1 a 0 1\nQ1 a a 0 q\n";
  ExpectError(head + ".model q npn (bff=100)\n", "card.cir:4:8", "unknown parameter 'bff'");
  ExpectError(head + ".model q npn (level=4)\n", "card.cir:4:8", "level=4 is not supported");
  ExpectError(head + ".model q npn (bf=0)\n", "card.cir:4:8", "bf must be > 0");
  ExpectError(head + ".model q npn (xcjc=2)\n", "card.cir:4:8", "xcjc must be in [0, 1]");
  ExpectError(head + ".model q npn (irb=1m)\n", "card.cir:4:8", "irb");
  ExpectError("t\nV1 a 0 1\nQ1 a a 0 q -1\n.model q npn ()\n", "card.cir:3:1",
              "area and m must be > 0");
}

BOOST_AUTO_TEST_CASE(jfet_cards) {
  BOOST_TEST(BuildErrors("t\nV1 a 0 1\nJ1 a 0 0 j 2 temp=50\n.model j pjf (vto=-1 beta=1m "
                         "tcv=1m bex=-1.5)\n") == "");
  const std::string head = "t\nV1 a 0 1\nJ1 a 0 0 j\n";
  ExpectError(head + ".model j njf (vth=1)\n", "card.cir:4:8", "unknown parameter 'vth'");
  ExpectError(head + ".model j njf (level=2)\n", "card.cir:4:8", "level=2 is not supported");
  ExpectError(head + ".model j njf (beta=0)\n", "card.cir:4:8", "beta must be > 0");
  ExpectError(head + ".model j njf (fc=0.99)\n", "card.cir:4:8", "fc must be in [0, 0.95]");
  ExpectError(head + ".model j njf (vto=1 pb=1)\n", "card.cir:4:8", "pb must differ from vto");
  ExpectError("t\nV1 a 0 1\nJ1 a 0 0 j -1\n.model j njf ()\n", "card.cir:3:1",
              "area and m must be > 0");
}

BOOST_AUTO_TEST_CASE(switch_and_coupling_cards) {
  ExpectError("t\nV1 a 0 1\nS1 a 0 a 0 s\n.model s sw (vt=1 vh=-0.2)\n", "card.cir:4:8",
              "negative hysteresis vh = -0.2 is not supported");
  ExpectError("t\nV1 a 0 1\nS1 a 0 a 0 s\n.model s sw (ron=0)\n", "card.cir:4:8",
              "ron must be > 0");
  ExpectError("t\nV1 a 0 1\nS1 a 0 a 0 s\n.model s sw (von=1)\n", "card.cir:4:8",
              "unknown parameter 'von'");
  ExpectError("t\nV1 a 0 1\nR1 a b 1\nL1 b 0 1m\nK1 L1 R1 0.5\n", "card.cir:5:1",
              "'k1' couples 'r1', which is not an inductor");
  ExpectError("t\nV1 a 0 1\nR1 a b 1\nL1 b 0 1m\nL2 a 0 1m\nK1 L1 L2 1.5\n", "card.cir:6:1",
              "must satisfy 0 < |k| <= 1");
}
