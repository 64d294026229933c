// Discrete adjoint on linear circuits (RC, RLC) for every integrator with fixed steps: against
// central finite differences of the whole simulation and against forward sensitivities.
#define BOOST_TEST_MODULE adjoint_linear
#include <boost/test/unit_test.hpp>

#include "tests/adjoint/adjoint_test_util.h"

namespace memspice::autodiff::testing {
namespace {

const char* kRc = R"(rc step
.param rval=1k
V1 in 0 PULSE(0 1 10u 5u 5u 1 1)
R1 in out {rval}
C1 out 0 1n
R2 out 0 10k
.tran 1u 20u
.end
)";

BOOST_AUTO_TEST_CASE(rc_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)^2) + 3*final(v(out)) + at(i(v1), 12.5u)";
    spec.wrt = {"rval", "c1", "r2"};
    spec.method = m;
    spec.fixed_step = 0.1e-6;
    CheckGradient(kRc, spec);
  }
}

const char* kRlc = R"(rlc
V1 in 0 PULSE(0 1 1u 0.5u 0.5u 1 1)
V2 b 0 DC 0.3
R3 b out 2k
R1 in a 50
L1 a out 10u
C1 out 0 100n
R2 out 0 1k
.tran 0.1u 10u
.end
)";

BOOST_AUTO_TEST_CASE(rlc_dc_start_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "mean(v(out)*i(l1)) + final(i(l1))";
    spec.wrt = {"r1", "l1", "c1", "r2", "v2"};
    spec.method = m;
    spec.fixed_step = 0.05e-6;
    CheckGradient(kRlc, spec);
  }
}

const char* kRlcIc = R"(rlc from .ic
V1 in 0 DC 0.5
R1 in a 50
L1 a out 10u
C1 out 0 100n
R2 out 0 1k
.ic v(out)=1
.tran 0.1u 10u
.end
)";

BOOST_AUTO_TEST_CASE(rlc_ic_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)) + final(i(l1))";
    spec.wrt = {"ic:out", "r1", "c1"};
    spec.method = m;
    spec.fixed_step = 0.05e-6;
    CheckGradient(kRlcIc, spec);
  }
}

}  // namespace
}  // namespace memspice::autodiff::testing

namespace memspice::autodiff::testing {
namespace {

const char* kUic = R"(rlc with uic
.include mss.lib
V1 in 0 DC 0.5
R1 in a 50
L1 a out 10u IC=2m
C1 out 0 100n
R2 out 0 1k
YMSS m1 out 0 mss_neuron x0=0.2
.ic v(out)=0.8
.tran 0.1u 10u uic
.end
)";

BOOST_AUTO_TEST_CASE(uic_start_all_methods) {
  for (solver::Method m : AllMethods()) {
    CheckSpec spec;
    spec.objective = "integral(v(out)) + final(i(l1)) + final(x(m1))";
    spec.wrt = {"ic:out", "l1:ic", "m1:x0", "r1"};
    spec.method = m;
    spec.fixed_step = 0.02e-6;
    CheckGradient(kUic, spec);
  }
}

}  // namespace
}  // namespace memspice::autodiff::testing
