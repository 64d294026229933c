// Discrete adjoint on nonlinear circuits for every integrator with fixed steps: diode, behavioural
// source, a BSIM3 stage (implicit methods), one MSS memristor, the MIF neuron of
// circuits/lib/mif.lib and a 4x4 MSS crossbar driving MIF neurons. Against central finite
// differences of the whole simulation (1e-5) and forward sensitivities (1e-9).
#define BOOST_TEST_MODULE adjoint_nonlinear
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>

#include "solver/integrators.h"
#include "tests/adjoint/adjoint_test_util.h"

namespace memspice::autodiff::testing {
namespace {

// Junction capacitance only for implicit methods: with it FE/RK4 would need ~1 ns steps.
const char* kDiode = R"(diode rectifier
.param cj=2p
V1 in 0 SIN(0 2 100k)
R1 in a 1k
D1 a out dmod
C1 out 0 10n
R2 out 0 10k
.model dmod d (is=1e-14 n=1.2 rs=5 cjo={cj})
.tran 0.1u 20u
.end
)";

BOOST_AUTO_TEST_CASE(diode_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)^2) + final(v(a))";
    spec.wrt = {"r1", "c1", "dmod:is", "dmod:n", "dmod:rs"};
    spec.method = m;
    spec.fixed_step = 20e-9;
    std::string deck = kDiode;
    if (solver::IsExplicit(m)) deck.replace(deck.find("cj=2p"), 5, "cj=0");
    CheckGradient(deck, spec);
  }
}

// BSIM3 common-source stage and a CMOS inverter. Only the implicit methods: the explicit ones
// refuse circuits whose gate charges sit between nodes fixed by voltage sources (FE: "singular
// matrix ... when solving for the charges"), as every source-driven MOSFET gate is.
const char* kBsim3 = R"(BSIM3 common-source stage and CMOS inverter
V1 in 0 SIN(1.1 0.4 10meg)
VDD vdd 0 3.3
RL vdd a 5k
M1 a in 0 0 nch W=4u L=0.5u AD=4p AS=4p PD=10u PS=10u
V2 b 0 SIN(1.65 1.2 5meg)
MP out b vdd vdd pch W=4u L=0.5u
MN out b 0 0 nch W=2u L=0.5u
CL out 0 50f
.model nch nmos (level=8 vth0=0.5 u0=400 k1=0.55 k2=-0.02 cj=8e-4)
.model pch pmos (level=49 vth0=-0.6 u0=150 capmod=0)
.tran 1n 200n
.end
)";

BOOST_AUTO_TEST_CASE(bsim3_implicit_methods) {
  for (solver::Method m : AllMethods()) {
    if (solver::IsExplicit(m)) continue;
    CheckSpec spec;
    spec.objective = "1e7*integral(v(out)^2) + final(v(a))";  // both terms of order 1
    spec.wrt = {"rl", "m1:w", "m1:l", "nch:vth0", "nch:u0", "pch:vth0", "pch:u0", "mp:w"};
    spec.method = m;
    spec.fixed_step = 0.5e-9;
    CheckGradient(kBsim3, spec);
  }
}

const char* kBehavioural = R"(behavioural source
.param gain=0.8
V1 in 0 PULSE(0 1 1u 1u 1u 1 1)
R1 in a 1k
C1 a 0 1n
B1 b 0 V={gain*tanh(2*v(a))}
R2 b out 1k
C2 out 0 2n
.tran 0.1u 10u
.end
)";

BOOST_AUTO_TEST_CASE(behavioural_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)) + 2*at(v(out)*v(a), 6.05u)";
    spec.wrt = {"gain", "r1", "c2"};
    spec.method = m;
    spec.fixed_step = 0.05e-6;
    CheckGradient(kBehavioural, spec);
  }
}

const char* kMss = R"(one MSS memristor
.include mss.lib
V1 in 0 SIN(0 0.6 1k)
R1 in a 100
YMSS m1 a 0 mss_neuron x0=0.3 phi=0.95
.tran 10u 2m
.end
)";

BOOST_AUTO_TEST_CASE(mss_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "final(x(m1)) + integral(i(v1)^2)*1e3";
    spec.wrt = {
        "m1:x0",           "mss_neuron:tau", "mss_neuron:ron", "mss_neuron:roff", "mss_neuron:von",
        "mss_neuron:voff", "mss_neuron:vt",  "mss_neuron:k",   "m1:phi",          "r1"};
    spec.method = m;
    spec.fixed_step = 2e-6;
    CheckGradient(kMss, spec);
  }
}

const char* kMif = R"(MIF neuron
.include mif.lib
I1 0 v PULSE(0 20u 0.1m 10u 10u 1 1)
XN1 v MIF
.tran 10u 1m
.end
)";

BOOST_AUTO_TEST_CASE(mif_neuron_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(v)^2)*1e3 + final(x(xn1.m1))";
    spec.wrt = {"xn1.m1:x0", "xn1.m2:x0", "xn1.cmem", "mss_neuron:tau", "mss_neuron:von"};
    spec.method = m;
    spec.fixed_step = 1e-6;
    CheckGradient(kMif, spec);
  }
}

// 4 inputs -> 4x4 MSS synapses -> 4 MIF neurons.
std::string CrossbarDeck() {
  std::string d = "crossbar\n.include mif.lib\n";
  for (int i = 0; i < 4; ++i) {
    d += fmt::format("V{0} in{0} 0 PULSE(0 {1} 50u 10u 10u 1 1)\n", i, 1.3 + 0.1 * i);
  }
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      d += fmt::format("YMSS xb{0}{1} in{0} col{1} mss_synapse x0={2}\n", i, j,
                       0.2 + 0.05 * i + 0.1 * j);
    }
  }
  for (int j = 0; j < 4; ++j) {
    d += fmt::format("Rs{0} col{0} v{0} 10k\nXN{0} v{0} MIF\n", j);
  }
  d += ".tran 10u 0.4m\n.end\n";
  return d;
}

BOOST_AUTO_TEST_CASE(crossbar_mif_all_methods) {
  const std::string deck = CrossbarDeck();
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(v0)+2*v(v1)-v(v2)+v(v3))*1e3 + final(x(xn3.m1))";
    spec.wrt = {"xb*:x0", "mss_neuron:tau"};
    spec.method = m;
    spec.fixed_step = 2e-6;
    GradResult r = CheckGradient(deck, spec);
    BOOST_CHECK_EQUAL(r.entries.size(), 17u);
  }
}

}  // namespace
}  // namespace memspice::autodiff::testing
