// Exact device partials inside the adjoint and the sharing of KLU's symbolic analysis: a generated
// MSS crossbar differentiated with respect to every cell's x0 and the model's parameters uses no
// finite-difference fallback and agrees with finite differences and forward sensitivities; the
// forward run, the replay and the transposed solves of the reverse pass analyse the pattern once.
#define BOOST_TEST_MODULE adjoint_partials
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>

#include "autodiff/adjoint.h"
#include "autodiff/params.h"
#include "circuits/crossbar.h"
#include "solver/klu_solver.h"
#include "tests/adjoint/adjoint_test_util.h"

namespace memspice::autodiff::testing {
namespace {

std::string SmallCrossbar() {
  circuits::CrossbarSpec spec;
  spec.rows = 3;
  spec.cols = 4;
  spec.cell = circuits::CellKind::kMss;
  spec.model = "syn";
  spec.model_card =
      ".model syn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6 phi=0.9)";
  spec.amplitude = 0.3;
  spec.tstop = 0.2e-3;
  spec.steps = 100;
  return circuits::GenerateCrossbarDeck(spec);
}

BOOST_AUTO_TEST_CASE(crossbar_states_and_model_are_exact) {
  const std::string deck = SmallCrossbar();
  const std::vector<std::string> wrt = {"m_*:x0", "syn:tau", "syn:ron", "syn:von", "syn:phi"};
  netlist::Netlist nl = ParseDeck(deck);
  std::vector<ParamSpec> specs;
  BOOST_REQUIRE(ResolveParams(nl, wrt, true, &specs).ok());
  BOOST_REQUIRE_EQUAL(specs.size(), 16u);
  netlist::Diagnostics diag;
  auto circuit = solver::Circuit::Build(nl, diag);
  BOOST_REQUIRE(circuit);
  std::unique_ptr<ParamPartials> pp;
  BOOST_REQUIRE(ParamPartials::Create(nl, specs, MakeReparser(deck), devices::AnalysisInfo{},
                                      circuit->size(), &pp, circuit.get())
                    .ok());
  BOOST_TEST(pp->num_exact() == 16);

  // Every cell's final state: each x0 gradient is O(1), well above the finite differences'
  // round-off (the states forget x0 at the rate 1/tau, and currents alone would leave gradients
  // of ~1e-7 next to J ~ 1). Line capacitors make explicit methods need far smaller steps.
  std::string states;
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 4; ++k)
      states += fmt::format("{}x(m_{}_{})", states.empty() ? "" : "+", i, k);
  }
  for (solver::Method m :
       {solver::Method::kBackwardEuler, solver::Method::kTrapezoidal, solver::Method::kGear2}) {
    CheckSpec spec;
    spec.objective = "integral(i(vsense_0)^2 + i(vsense_3)^2)*1e6 + final(" + states + ")";
    spec.wrt = wrt;
    spec.method = m;
    spec.fixed_step = 2e-6;
    GradResult r = CheckGradient(deck, spec);
    BOOST_CHECK_EQUAL(r.entries.size(), 16u);
  }
}

BOOST_AUTO_TEST_CASE(solvers_of_one_pattern_share_the_symbolic_analysis) {
  // A pattern no other test of this process uses: a 3x3 arrow matrix.
  const std::vector<int> col_ptr = {0, 3, 5, 7}, row_idx = {0, 1, 2, 0, 1, 0, 2};
  const int before = solver::KluSymbolic::num_analyses();
  solver::KluSolver forward;
  BOOST_REQUIRE(forward.Analyze(3, col_ptr, row_idx));
  DeterministicKlu adjoint;
  BOOST_REQUIRE(adjoint.Analyze(3, col_ptr, row_idx));
  BOOST_TEST(solver::KluSymbolic::num_analyses() == before + 1);
  BOOST_TEST(adjoint.symbolic().get() == forward.symbolic().get());
  // Both factor and solve with it: A = [4 1 1; 1 3 0; 1 0 2], A^T = A.
  const double values[] = {4, 1, 1, 1, 3, 1, 2};
  BOOST_REQUIRE(forward.Factor(values));
  BOOST_REQUIRE(adjoint.Factor(values));
  double b1[] = {6, 4, 3}, b2[] = {6, 4, 3};
  forward.Solve(b1);
  adjoint.TSolve(b2);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(b1[i] == 1.0, boost::test_tools::tolerance(1e-14));
    BOOST_TEST(b2[i] == 1.0, boost::test_tools::tolerance(1e-14));
  }
  // Another pattern gets its own analysis.
  solver::KluSolver other;
  BOOST_REQUIRE(other.Analyze(2, {0, 1, 2}, {0, 1}));
  BOOST_TEST(other.symbolic().get() != forward.symbolic().get());
}

BOOST_AUTO_TEST_CASE(a_gradient_analyses_the_circuit_once) {
  // An RC ladder of a size no other test here uses.
  std::string deck = "rc ladder\nV1 n0 0 PULSE(0 1 0 1u 1u 5u 10u)\n";
  for (int k = 1; k <= 9; ++k) {
    deck += "R" + std::to_string(k) + " n" + std::to_string(k - 1) + " n" + std::to_string(k) +
            " 1k\nC" + std::to_string(k) + " n" + std::to_string(k) + " 0 1n\n";
  }
  deck += ".tran 0.1u 10u\n.end\n";
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  o.fixed_step = 0.1e-6;
  GradRequest req;
  req.objective = "integral(v(n9)^2)";
  req.wrt = {"r*", "c5"};
  GradResult r;
  const int before = solver::KluSymbolic::num_analyses();
  BOOST_REQUIRE(ComputeGradient(nl, o, req, &r).ok());
  // Forward run, replay and reverse pass: one klu_analyze.
  BOOST_TEST(solver::KluSymbolic::num_analyses() == before + 1);
  BOOST_REQUIRE(ComputeGradient(nl, o, req, &r).ok());
  BOOST_TEST(solver::KluSymbolic::num_analyses() == before + 1);
}

}  // namespace
}  // namespace memspice::autodiff::testing
