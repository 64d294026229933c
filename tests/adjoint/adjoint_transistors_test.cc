// Discrete adjoint through the transistors and switches for every integrator with fixed steps:
// a CMOS inverter (MOSFET levels 1, 2 and 3), a BJT common-emitter stage, a JFET amplifier (all at
// a temperature away from TNOM, so the temperature-scaled parameters are differentiated too) and a
// sampled capacitor behind a voltage-controlled switch, with and without hysteresis. Against
// central finite differences of the whole simulation and forward sensitivities.
#define BOOST_TEST_MODULE adjoint_transistors
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "solver/integrators.h"
#include "tests/adjoint/adjoint_test_util.h"

namespace memspice::autodiff::testing {
namespace {

// Removes every occurrence of `what` (the charge parameters, for explicit methods: with them
// forward Euler and RK4 would need picosecond steps).
std::string Without(std::string deck, const std::vector<std::string>& what) {
  for (const std::string& w : what) {
    for (size_t at = deck.find(w); at != std::string::npos; at = deck.find(w)) {
      deck.erase(at, w.size());
    }
  }
  return deck;
}

const char* kInverter = R"(CMOS inverter at 60 C
.temp 60
VDD vdd 0 3
VIN in 0 SIN(1.5 1.5 10meg)
RIN in g 1k
M1 out g 0 0 nch W=2u L=1u AD=4p AS=4p
M2 out g vdd vdd pch W=4u L=1u
CL out 0 1p
.model nch nmos (level=1 vto=0.6 kp=110u gamma=0.4 phi=0.7 lambda=0.04 tox=20n cgso=2e-10 cgdo=2e-10 cj=1e-4 tnom=20)
.model pch pmos (level=1 vto=-0.7 kp=40u gamma=0.5 phi=0.7 lambda=0.05 tox=20n cgso=2e-10 cgdo=2e-10)
.tran 0.5n 150n
.end
)";

BOOST_AUTO_TEST_CASE(mosfet_inverter_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)^2) + final(v(out))";
    spec.wrt = {"nch:vto", "nch:kp", "nch:gamma", "nch:lambda",
                "pch:vto", "pch:kp", "m1:w",      "m2:l"};
    spec.method = m;
    spec.fixed_step = 0.5e-9;
    std::string deck = kInverter;
    if (solver::IsExplicit(m)) {
      deck = Without(deck, {" tox=20n", " cgso=2e-10", " cgdo=2e-10", " cj=1e-4"});
    } else {
      spec.wrt.push_back("nch:cgso");
    }
    CheckGradient(deck, spec);
  }
}

// The inverter of kInverter with the model cards `models` (levels 2 and 3).
std::string InverterWith(const std::string& models) {
  std::string deck = kInverter;
  const size_t from = deck.find(".model nch"), to = deck.find(".tran");
  return deck.replace(from, to - from, models);
}

// The implicit methods only: TOX has a default at levels 2 and 3, so the Meyer rows are always
// there (explicit methods need them removed, as kInverter's explicit runs do).
void CheckInverterImplicit(const std::string& deck, const std::vector<std::string>& wrt) {
  for (solver::Method m : AllMethods()) {
    if (solver::IsExplicit(m)) continue;
    CheckSpec spec;
    spec.objective = "integral(v(out)^2) + final(v(out))";
    spec.wrt = wrt;
    spec.method = m;
    spec.fixed_step = 0.5e-9;
    CheckGradient(deck, spec);
  }
}

// Level 3: velocity saturation, weak inversion, static feedback, mobility reduction.
BOOST_AUTO_TEST_CASE(mosfet_level3_inverter_implicit_methods) {
  CheckInverterImplicit(
      InverterWith(".model nch nmos (level=3 vto=0.6 kp=110u gamma=0.4 phi=0.7 theta=0.1 eta=0.05 "
                   "kappa=0.4 vmax=1.5e5 nfs=5e10 nsub=3e16 xj=0.2u tox=20n cgso=2e-10 cj=1e-4 "
                   "tnom=20)\n.model pch pmos (level=3 vto=-0.7 kp=40u gamma=0.5 phi=0.7 "
                   "theta=0.05 eta=0.02 kappa=0.6 nsub=2e16 tox=20n cgdo=2e-10)\n"),
      {"nch:vto", "nch:kp", "nch:theta", "nch:eta", "nch:kappa", "nch:vmax", "pch:vto", "pch:kappa",
       "nch:cgso", "m1:w", "m2:l"});
}

// Level 2: Baum's velocity saturation, mobility degradation, weak inversion; PMOS with LAMBDA.
BOOST_AUTO_TEST_CASE(mosfet_level2_inverter_implicit_methods) {
  CheckInverterImplicit(
      InverterWith(".model nch nmos (level=2 vto=0.6 kp=110u gamma=0.4 phi=0.7 ucrit=1.5e4 "
                   "uexp=0.2 vmax=6e4 neff=2 nfs=5e10 nsub=3e16 xj=0.2u tox=20n cgso=2e-10 "
                   "cj=1e-4 tnom=20)\n.model pch pmos (level=2 vto=-0.7 kp=40u gamma=0.5 "
                   "phi=0.7 lambda=0.05 tox=20n cgdo=2e-10)\n"),
      {"nch:vto", "nch:kp", "nch:ucrit", "nch:uexp", "nch:vmax", "nch:neff", "pch:vto",
       "pch:lambda", "m1:w", "m2:l"});
}

const char* kCommonEmitter = R"(BJT common-emitter stage at 50 C
.temp 50
VCC vcc 0 5
VIN bb 0 SIN(0.9 20m 1meg)
RIN bb b 1k
RC vcc c 2.2k
RE e 0 470
Q1 c b e qn
CL c 0 100p
.model qn npn (is=1e-15 bf=120 br=2 vaf=60 ikf=20m ise=1e-14 xtb=1.5 tf=0.5n cje=1p cjc=0.5p)
.tran 10n 3u
.end
)";

BOOST_AUTO_TEST_CASE(bjt_common_emitter_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(c)^2) + final(v(e))";
    spec.wrt = {"qn:bf", "qn:is", "qn:vaf", "qn:ikf", "qn:ise", "rc", "re"};
    spec.method = m;
    spec.fixed_step = 10e-9;
    std::string deck = kCommonEmitter;
    if (solver::IsExplicit(m)) {
      deck = Without(deck, {" tf=0.5n", " cje=1p", " cjc=0.5p"});
    } else {
      spec.wrt.push_back("qn:tf");
      spec.wrt.push_back("qn:cje");
    }
    CheckGradient(deck, spec);
  }
}

const char* kJfet = R"(JFET amplifier at 70 C
.temp 70
VDD vdd 0 12
VIN in 0 SIN(0 0.3 100k)
RG in g 10k
J1 d g s jn
RS s 0 500
RD vdd d 2k
CD d 0 1n
.model jn njf (vto=-2 beta=1m lambda=0.02 b=0.9 pb=0.8 rd=10 rs=10 tcv=2m bex=-1.5 cgs=2p cgd=1p)
.tran 0.1u 20u
.end
)";

BOOST_AUTO_TEST_CASE(jfet_amplifier_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(d)^2) + final(v(s))";
    spec.wrt = {"jn:vto", "jn:beta", "jn:lambda", "jn:b", "jn:pb", "rd"};
    spec.method = m;
    spec.fixed_step = 0.1e-6;
    std::string deck = kJfet;
    if (solver::IsExplicit(m)) {
      deck = Without(deck, {" cgs=2p", " cgd=1p"});
    } else {
      spec.wrt.push_back("jn:cgs");
      spec.wrt.push_back("jn:cgd");
    }
    CheckGradient(deck, spec);
  }
}

const char* kSampler = R"(sampled capacitor behind a voltage-controlled switch
VIN in 0 SIN(0.2 1 300k)
VCK ck 0 SIN(0.5 1 1meg)
S1 in x ck 0 sm
C1 x 0 1n
R1 x 0 10k
.model sm sw (vt=0.5 ron=1k roff=1meg)
.tran 10n 3u
.end
)";

BOOST_AUTO_TEST_CASE(switch_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(x)^2) + final(v(x))";
    spec.wrt = {"sm:vt", "sm:ron", "sm:roff", "c1"};
    spec.method = m;
    spec.fixed_step = 10e-9;
    CheckGradient(kSampler, spec);
  }
}

// With hysteresis the switch state relaxes with a 1 ps time constant: explicit methods would
// need steps below it, and the implicit state equation is monotone only for steps below 2 ps
// (switch.h), so this sampler is fast and runs with 2 ps steps on the implicit methods. The
// flip times move with vt and vh through the slow passage past the latch's folds, a strongly
// nonlinear dependence: central differences of vt and vh agree with the adjoint to 1e-2 only
// (the forward sensitivities, exact for the discrete system, to 1e-9).
const char* kHystereticSampler = R"(sampled capacitor behind a hysteretic switch
VIN in 0 SIN(0.2 1 30meg)
VCK ck 0 PWL(0 0 20n 1 40n 0)
S1 in x ck 0 sh
C1 x 0 10p
R1 x 0 1k
.model sh sw (vt=0.5 vh=0.2 ron=100 roff=1meg)
.tran 2p 40n
.end
)";

BOOST_AUTO_TEST_CASE(switch_with_hysteresis_implicit_methods) {
  for (solver::Method m : AllMethods()) {
    if (solver::IsExplicit(m)) continue;
    CheckSpec spec;
    spec.objective = "integral(v(x)^2)*1e9 + final(v(x))";
    spec.method = m;
    spec.fixed_step = 2e-12;
    spec.wrt = {"sh:ron", "sh:roff", "c1"};
    CheckGradient(kHystereticSampler, spec);
    spec.wrt = {"sh:vt", "sh:vh"};
    spec.fd_tol = 1e-2;
    CheckGradient(kHystereticSampler, spec);
  }
}

}  // namespace
}  // namespace memspice::autodiff::testing
