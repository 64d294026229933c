// Tape and checkpointing: bit-identical gradients with a much smaller tape, adaptive steps,
// objectives (mse against a CSV), guards and errors.
#define BOOST_TEST_MODULE adjoint_tape
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>

#include "autodiff/objective.h"
#include "autodiff/tape.h"
#include "tests/adjoint/adjoint_test_util.h"

namespace memspice::autodiff::testing {
namespace {

GradResult Run(const std::string& deck, const std::string& objective,
               const std::vector<std::string>& wrt, solver::Method m, double fixed_step,
               int checkpoint, bool tangent = false) {
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  BOOST_REQUIRE(o.ApplyNetlistOptions(nl).ok());
  o.method = m;
  o.fixed_step = fixed_step;
  GradRequest req;
  req.objective = objective;
  req.wrt = wrt;
  req.reparse = MakeReparser(deck);
  req.checkpoint_every = checkpoint;
  req.check_tangent = tangent;
  GradResult r;
  Status s = ComputeGradient(nl, o, req, &r);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  return r;
}

std::string Ladder(int sections) {
  std::string d = "rc ladder\nV1 n0 0 SIN(0 1 10k)\n";
  for (int k = 1; k <= sections; ++k) {
    d += fmt::format("R{0} n{1} n{0} 100\nC{0} n{0} 0 1n\n", k, k - 1);
  }
  d += ".tran 1u 1m\n.end\n";
  return d;
}

BOOST_AUTO_TEST_CASE(checkpointing_is_bit_identical_and_10x_smaller) {
  const std::string deck = Ladder(40);
  for (solver::Method m : {solver::Method::kTrapezoidal, solver::Method::kGear2}) {
    GradResult full = Run(deck, "integral(v(n40)^2)", {"r1", "c40", "r10"}, m, 0.1e-6, 1);
    GradResult ck = Run(deck, "integral(v(n40)^2)", {"r1", "c40", "r10"}, m, 0.1e-6, 100);
    BOOST_REQUIRE_GE(full.steps, 10000);
    BOOST_TEST_MESSAGE("tape " << full.tape_bytes << " -> " << ck.tape_bytes << " bytes");
    BOOST_CHECK_GE(static_cast<double>(full.tape_bytes), 10.0 * ck.tape_bytes);
    BOOST_CHECK_EQUAL(full.objective, ck.objective);
    for (size_t j = 0; j < full.entries.size(); ++j) {
      BOOST_CHECK_EQUAL(full.entries[j].gradient, ck.entries[j].gradient);
    }
  }
}

const char* kMss = R"(mss
.include mss.lib
V1 in 0 SIN(0 0.6 1k)
R1 in a 100
YMSS m1 a 0 mss_neuron x0=0.3
.tran 10u 1m
.end
)";

BOOST_AUTO_TEST_CASE(checkpointing_nonlinear_every_method) {
  for (solver::Method m : AllMethods()) {
    // 7 does not divide the 500 steps: the last segment is partial.
    GradResult full = Run(kMss, "integral(x(m1))", {"m1:x0", "mss_neuron:tau"}, m, 2e-6, 1);
    GradResult ck = Run(kMss, "integral(x(m1))", {"m1:x0", "mss_neuron:tau"}, m, 2e-6, 7);
    BOOST_CHECK_LT(ck.tape_bytes, full.tape_bytes);
    for (size_t j = 0; j < full.entries.size(); ++j) {
      BOOST_CHECK_EQUAL(full.entries[j].gradient, ck.entries[j].gradient);
    }
  }
}

const char* kRectifier = R"(rectifier
V1 in 0 PULSE(0 5 0.1m 1u 1u 0.2m 0.5m)
R1 in a 1k
D1 a out dmod
C1 out 0 1u
R2 out 0 10k
.model dmod d(is=1e-14 n=1)
.tran 1u 2m
.end
)";

// Adaptive steps: restarts after breakpoints (no predictor) and rejected attempts. The
// checkpointed tape keeps the restart flags and the anchors the segments start from, so its
// segment replays still repeat the run bit for bit (also with diode limiting state).
BOOST_AUTO_TEST_CASE(checkpointing_adaptive_steps_is_bit_identical) {
  struct Case {
    const char* deck;
    const char* objective;
    std::vector<std::string> wrt;
  };
  const Case cases[] = {
      {kMss, "integral(x(m1)) + final(v(a))", {"m1:x0", "mss_neuron:tau"}},
      {kRectifier, "integral(v(out)^2)", {"r1", "c1", "dmod:is"}},
  };
  for (const Case& c : cases) {
    for (solver::Method m :
         {solver::Method::kBackwardEuler, solver::Method::kTrapezoidal, solver::Method::kGear2}) {
      GradResult full = Run(c.deck, c.objective, c.wrt, m, 0.0, 1);
      GradResult ck = Run(c.deck, c.objective, c.wrt, m, 0.0, 5);
      BOOST_CHECK_GT(full.steps, 10);
      BOOST_CHECK_EQUAL(full.steps, ck.steps);
      BOOST_CHECK_EQUAL(full.objective, ck.objective);
      for (size_t j = 0; j < full.entries.size(); ++j) {
        BOOST_CHECK_EQUAL(full.entries[j].gradient, ck.entries[j].gradient);
      }
    }
  }
}

// Adaptive steps: the accepted grid is a constant of the adjoint; the forward sensitivity on the
// same grid must agree.
BOOST_AUTO_TEST_CASE(adaptive_steps_adjoint_matches_tangent) {
  for (solver::Method m : AllMethods()) {
    GradResult r = Run(kMss, "integral(x(m1)) + final(v(a))", {"m1:x0", "mss_neuron:tau", "r1"}, m,
                       0.0, 1, true);
    BOOST_CHECK_GT(r.steps, 10);
    for (const auto& e : r.entries) {
      BOOST_CHECK_MESSAGE(*e.tangent_rel_error < 1e-9, r.method << " " << e.name << " adjoint "
                                                                << e.gradient << " tangent "
                                                                << *e.tangent);
    }
  }
}

BOOST_AUTO_TEST_CASE(mse_against_csv_target) {
  const std::string path = "adjoint_tape_test_target.csv";
  {
    std::ofstream out(path);
    out << "time,v(a)\n";
    for (int k = 0; k <= 40; ++k) out << k * 25e-6 << "," << 0.1 * std::sin(k * 0.15) << "\n";
  }
  CheckSpec spec;
  spec.objective = "mse(v(a), " + path + ") + 0.1*mean(x(m1))";
  spec.wrt = {"m1:x0", "r1", "mss_neuron:ron"};
  spec.method = solver::Method::kTrapezoidal;
  spec.fixed_step = 2e-6;
  CheckGradient(kMss, spec);
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(zero_gradient_warns) {
  GradResult r = Run(kMss, "final(v(in))", {"m1:x0"}, solver::Method::kBackwardEuler, 5e-6, 1);
  BOOST_CHECK_EQUAL(r.entries[0].gradient, 0.0);
  BOOST_CHECK_EQUAL(r.warnings.size(), 1u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_problem) {
  netlist::Netlist nl = ParseDeck(kMss);
  solver::SimOptions o;
  o.fixed_step = 5e-6;
  auto expect = [&](const std::string& objective, const std::vector<std::string>& wrt,
                    const std::string& needle) {
    GradRequest req;
    req.objective = objective;
    req.wrt = wrt;
    GradResult r;
    Status s = ComputeGradient(nl, o, req, &r);
    BOOST_CHECK(!s.ok());
    BOOST_CHECK_MESSAGE(s.message().find(needle) != std::string::npos,
                        "'" << s.message() << "' lacks '" << needle << "'");
  };
  expect("final(v(a))", {"nosuch"}, "'nosuch' matches no parameter");
  expect("final(v(nonode))", {"r1"}, "node 'nonode'");
  expect("final(x(m9))", {"r1"}, "x(m9)");
  expect("max(v(a))", {"r1"}, "unknown kind 'max'");
  expect("at(v(a), 5m)", {"r1"}, "outside the simulated span");
  expect("final(v(a)", {"r1"}, "unbalanced");
  expect("mse(v(a), /nonexistent/t.csv)", {"r1"}, "cannot open");
}

BOOST_AUTO_TEST_CASE(tape_accessors) {
  Tape t(2, 3);
  const double x[2] = {1, 2};
  for (int k = 0; k < 7; ++k) {
    t.AppendStep(k * 0.1, 0.1, solver::Method::kGear2);
    t.SetState(k, x, nullptr, nullptr);
  }
  BOOST_CHECK_EQUAL(t.size(), 7);
  BOOST_CHECK(t.has_state(0));
  BOOST_CHECK(!t.has_state(1));
  BOOST_CHECK(t.has_state(6));
  BOOST_CHECK(t.method(4) == solver::Method::kGear2);
  BOOST_CHECK_EQUAL(t.state(3)[1], 2.0);
}

}  // namespace
}  // namespace memspice::autodiff::testing
