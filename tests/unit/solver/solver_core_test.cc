// Circuit building, topology errors, DC operating point and DC sweeps on test devices.
#define BOOST_TEST_MODULE solver_core
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "solver/klu_solver.h"
#include "solver/klu_supernodes.h"
#include "solver_test_devices.h"

namespace memspice::solver {
namespace {

using testing::Op;
using testing::TestCircuit;

bool HasMessage(const netlist::Diagnostics& d, const std::string& text, bool error = true) {
  for (const auto& item : d.items()) {
    if ((item.severity == netlist::Severity::kError) == error &&
        item.message.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

BOOST_AUTO_TEST_CASE(pattern_is_sorted_with_diagonals) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "out", 1e3).R("r2", "out", "0", 1e3);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  BOOST_CHECK_EQUAL(c->size(), 3);  // v(in), i(v1), v(out)
  BOOST_CHECK_EQUAL(c->FindUnknown("v(out)"), c->FindNode("out"));
  BOOST_CHECK_EQUAL(c->FindBranch("v1"), c->FindUnknown("i(v1)"));
  BOOST_CHECK(c->all_linear());
  for (int j = 0; j < c->size(); ++j) {
    bool diag_found = false;
    for (int k = c->col_ptr()[j]; k < c->col_ptr()[j + 1]; ++k) {
      if (k > c->col_ptr()[j]) BOOST_CHECK_LT(c->row_idx()[k - 1], c->row_idx()[k]);
      diag_found |= c->row_idx()[k] == j;
    }
    BOOST_CHECK(diag_found);
    BOOST_CHECK_EQUAL(c->row_idx()[c->diag_positions()[j]], j);
  }
}

BOOST_AUTO_TEST_CASE(dc_divider) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 10.0).R("r1", "in", "out", 1e3).R("r2", "out", "0", 3e3);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(w.num_points(), 1);
  BOOST_CHECK_EQUAL(w.analysis, "Operating Point");
  BOOST_CHECK(w.scale.empty());
  BOOST_CHECK_CLOSE(w.rows[0][w.Find("v(out)")], 7.5, 1e-9);
  BOOST_CHECK_CLOSE(w.rows[0][w.Find("v(in)")], 10.0, 1e-9);
  // SPICE sign: the source delivers 2.5 mA, so its branch current is -2.5 mA.
  BOOST_CHECK_CLOSE(w.rows[0][w.Find("i(v1)")], -2.5e-3, 1e-9);
}

BOOST_AUTO_TEST_CASE(dc_nonlinear_needs_fallbacks) {
  // An exponential diode without voltage limiting from a 5 V source: plain Newton from zero
  // overshoots; the fallbacks must still converge to the right point.
  TestCircuit t;
  t.Vdc("v1", "in", "0", 5.0).R("r1", "in", "a", 1e3).D("d1", "a", "0");
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  const double va = w.rows[0][w.Find("v(a)")];
  const double id = 1e-14 * (std::exp(va / 0.025852) - 1.0);
  BOOST_CHECK_CLOSE((5.0 - va) / 1e3, id, 0.01);
  BOOST_CHECK(va > 0.6 && va < 0.8);
}

BOOST_AUTO_TEST_CASE(dc_sweep_nested) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 0.0).R("r1", "in", "out", 1e3).R("r2", "out", "0", 1e3);
  t.I("i1", "0", "out", 0.0);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  netlist::Analysis a;
  a.kind = netlist::Analysis::Kind::kDc;
  a.sweeps = {{"v1", 0.0, 2.0, 0.5}, {"i1", 0.0, 1e-3, 1e-3}};
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, a, SimOptions(), nullptr, &w);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_CHECK_EQUAL(w.analysis, "DC transfer characteristic");
  BOOST_CHECK_EQUAL(w.scale_name, "v1");
  BOOST_REQUIRE_EQUAL(w.num_points(), 10);
  const int out = w.Find("v(out)");
  for (int k = 0; k < 10; ++k) {
    const double v = 0.5 * (k % 5), i = 1e-3 * (k / 5);
    BOOST_CHECK_CLOSE(w.scale[k], v, 1e-9);
    // Superposition: v/2 from the divider plus i * (r1 || r2).
    BOOST_CHECK_SMALL(w.rows[k][out] - (0.5 * v + 500.0 * i), 1e-9);
  }
}

BOOST_AUTO_TEST_CASE(dc_sweep_errors) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 0.0).R("r1", "in", "0", 1e3);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  netlist::Analysis a;
  a.kind = netlist::Analysis::Kind::kDc;
  a.sweeps = {{"v9", 0.0, 1.0, 0.5}};
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, a, SimOptions(), nullptr, &w);
  BOOST_CHECK(!s.ok());
  BOOST_CHECK(s.message().find("'v9'") != std::string::npos);
  a.sweeps = {{"v1", 0.0, 1.0, -0.5}};
  s = RunAnalysis(*c, t.nl, a, SimOptions(), nullptr, &w);
  BOOST_CHECK(!s.ok());
  a.sweeps = {{"r1", 0.0, 1.0, 0.5}};
  s = RunAnalysis(*c, t.nl, a, SimOptions(), nullptr, &w);
  BOOST_CHECK(!s.ok());
  BOOST_CHECK(s.message().find("not an independent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(floating_node_is_an_error) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "0", 1e3).R("r2", "a", "b", 1e3);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_CHECK(!c);
  BOOST_CHECK(HasMessage(diag, "node 'a' (with 1 other node) floats"));
  BOOST_CHECK_EQUAL(diag.items()[0].loc.line, 4);  // r2 is the third element
}

BOOST_AUTO_TEST_CASE(voltage_source_loop_is_an_error) {
  TestCircuit t;
  t.Vdc("v1", "a", "0", 1.0).Vdc("v2", "a", "0", 2.0).R("r1", "a", "0", 1.0);
  netlist::Diagnostics diag;
  BOOST_CHECK(!t.Build(diag));
  BOOST_CHECK(HasMessage(diag, "voltage sources v1 and v2 form a loop"));

  TestCircuit t3;
  t3.Vdc("v1", "a", "0", 1.0).L("l1", "a", "b", 1e-3).Vdc("v3", "b", "0", 1.0);
  t3.R("r1", "b", "0", 1.0);
  netlist::Diagnostics diag3;
  BOOST_CHECK(!t3.Build(diag3));
  BOOST_CHECK(HasMessage(diag3, "voltage sources v1, l1 and v3 form a loop"));
}

BOOST_AUTO_TEST_CASE(capacitor_only_node_gets_gmin_with_warning) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).C("c1", "in", "mid", 1e-9).C("c2", "mid", "0", 1e-9);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  BOOST_CHECK(HasMessage(diag, "node 'mid' has no DC path", false));
  BOOST_CHECK_EQUAL(c->dc_gmin_nodes().size(), 1u);
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_CHECK_SMALL(w.rows[0][w.Find("v(mid)")], 1e-12);
}

BOOST_AUTO_TEST_CASE(dangling_node_warning) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "0", 1e3).R("r2", "in", "stub", 1e3);
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  BOOST_CHECK(HasMessage(diag, "node 'stub' is connected to only one terminal (of r2)", false));
}

BOOST_AUTO_TEST_CASE(singular_matrix_names_the_node) {
  // 'x' looks connected to the builder but its element stamps nothing.
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "0", 1e3).Dead("rdead", "x", "0");
  t.Dead("rdead2", "x", "in");
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_REQUIRE(!s.ok());
  BOOST_CHECK_MESSAGE(s.message().find("singular matrix: node 'x' floats") != std::string::npos,
                      s.message());
}

BOOST_AUTO_TEST_CASE(output_selection) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 4.0).R("r1", "in", "out", 1e3).R("r2", "out", "0", 1e3);
  t.nl.outputs = {"v(out)", "v(in,out)", "i(v1)"};
  netlist::Diagnostics diag;
  auto c = t.Build(diag);
  BOOST_REQUIRE(c);
  WaveformTable w;
  Status s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(w.names.size(), 3u);
  BOOST_CHECK_CLOSE(w.rows[0][0], 2.0, 1e-9);
  BOOST_CHECK_CLOSE(w.rows[0][1], 2.0, 1e-9);
  BOOST_CHECK_CLOSE(w.rows[0][2], -2e-3, 1e-9);
  t.nl.outputs = {"v(nowhere)"};
  s = RunAnalysis(*c, t.nl, Op(), SimOptions(), nullptr, &w);
  BOOST_CHECK(!s.ok());
  BOOST_CHECK(s.message().find("v(nowhere)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(options_validation_and_methods) {
  SimOptions o;
  BOOST_CHECK(o.Validate().ok());
  netlist::Netlist nl;
  nl.options["reltol"] = 2.0;
  Status s = o.ApplyNetlistOptions(nl);
  BOOST_CHECK(!s.ok());
  BOOST_CHECK(s.message().find("reltol") != std::string::npos);
  BOOST_CHECK_EQUAL(o.reltol, 1e-3);
  nl.options = {{"reltol", 1e-4}, {"itl4", 50}};
  nl.method = "gear";
  BOOST_CHECK(o.ApplyNetlistOptions(nl).ok());
  BOOST_CHECK_EQUAL(o.reltol, 1e-4);
  BOOST_CHECK_EQUAL(o.itl4, 50);
  BOOST_CHECK(o.method == Method::kGear2);
  BOOST_CHECK(ParseMethod("Euler") == Method::kBackwardEuler);
  BOOST_CHECK(ParseMethod("trapezoidal") == Method::kTrapezoidal);
  BOOST_CHECK(ParseMethod("rk4") == Method::kRk4);
  BOOST_CHECK(!ParseMethod("leapfrog"));
  BOOST_CHECK_EQUAL(MethodName(Method::kGear2), std::string("gear2"));
}

BOOST_AUTO_TEST_CASE(klu_transposed_solve) {
  // A = [[4, 1], [2, 3]] in CSC.
  KluSolver klu;
  std::vector<int> cp = {0, 2, 4}, ri = {0, 1, 0, 1};
  std::vector<double> ax = {4, 2, 1, 3};
  BOOST_REQUIRE(klu.Analyze(2, cp, ri));
  BOOST_REQUIRE(klu.Factor(ax.data()));
  double b[2] = {6, 8};  // A x = b -> x = (1, 2)
  klu.Solve(b);
  BOOST_CHECK_CLOSE(b[0], 1.0, 1e-10);
  BOOST_CHECK_CLOSE(b[1], 2.0, 1e-10);
  double bt[2] = {8, 7};  // A^T x = b -> x = (1, 2)
  klu.TSolve(bt);
  BOOST_CHECK_CLOSE(bt[0], 1.0, 1e-10);
  BOOST_CHECK_CLOSE(bt[1], 2.0, 1e-10);
  std::vector<double> singular = {1, 2, 2, 4};
  BOOST_CHECK(!klu.Factor(singular.data()));
  BOOST_CHECK(klu.singular_col() >= 0);
}

BOOST_AUTO_TEST_CASE(klu_keyed_factorizations) {
  KluSolver klu;
  klu.set_cache_capacity(2);
  std::vector<int> cp = {0, 2, 4}, ri = {0, 1, 0, 1};
  BOOST_REQUIRE(klu.Analyze(2, cp, ri));
  std::vector<double> a1 = {4, 2, 1, 3}, a2 = {2, 0, 0, 2}, a3 = {1, 0, 0, 1};
  BOOST_REQUIRE(klu.Factor(a1.data(), 1.0));
  BOOST_REQUIRE(klu.Factor(a2.data(), 2.0));
  // The second key refactors a copy of the first factorization (its pivot order).
  BOOST_CHECK_EQUAL(klu.num_factor(), 1);
  BOOST_CHECK_EQUAL(klu.num_refactor(), 1);
  double b2[2] = {2, 4};  // a2 x = b2 -> x = (1, 2)
  klu.Solve(b2);
  BOOST_CHECK_CLOSE(b2[0], 1.0, 1e-10);
  BOOST_CHECK_CLOSE(b2[1], 2.0, 1e-10);
  BOOST_REQUIRE(klu.Select(1.0));  // back to a1 without factoring: the copy left it intact
  double b[2] = {6, 8};
  klu.Solve(b);
  BOOST_CHECK_CLOSE(b[0], 1.0, 1e-10);
  BOOST_CHECK_CLOSE(b[1], 2.0, 1e-10);
  BOOST_CHECK(!klu.Select(3.0));
  BOOST_REQUIRE(klu.Factor(a3.data(), 3.0));  // evicts the least recently used (key 2)
  BOOST_CHECK(!klu.Select(2.0));
  BOOST_CHECK(klu.Select(1.0));
  BOOST_CHECK_EQUAL(klu.num_factor() + klu.num_refactor(), 3);
  klu.ForgetKeys();
  BOOST_CHECK(!klu.Select(1.0));
}

// CSC of an n x n grid Laplacian plus a random diagonal and random unsymmetric couplings to the
// right neighbour: a pattern with supernodes under KLU's orderings and pivoting at work.
struct GridMatrix {
  int n = 0;
  std::vector<int> cp, ri;
  std::vector<double> ax;
};
GridMatrix Grid(int side) {
  GridMatrix m;
  m.n = side * side;
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> u(0.1, 1.0);
  m.cp.push_back(0);
  for (int c = 0; c < m.n; ++c) {
    const int x = c % side, y = c / side;
    auto add = [&](int r, double v) {
      m.ri.push_back(r);
      m.ax.push_back(v);
    };
    if (y > 0) add(c - side, -1.0);
    if (x > 0) add(c - 1, -u(gen));
    add(c, 4.5 + u(gen));
    if (x + 1 < side) add(c + 1, -1.0);
    if (y + 1 < side) add(c + side, -1.0);
    m.cp.push_back(static_cast<int>(m.ri.size()));
  }
  return m;
}

BOOST_AUTO_TEST_CASE(klu_supernodes_solve_matches_klu_to_the_bit) {
  // AMD and METIS orderings, with and without row scaling (KLU keeps the scale in pivot order).
  for (int metis : {0, 1})
    for (int scale : {2, 0}) {
      GridMatrix m = Grid(40);
      klu_common c;
      klu_defaults(&c);
      c.btf = 0;  // one block
      c.scale = scale;
      if (metis && MetisUserOrder() != nullptr) {
        c.ordering = 3;
        c.user_order = MetisUserOrder();
      }
      klu_symbolic* sym = klu_analyze(m.n, m.cp.data(), m.ri.data(), &c);
      BOOST_REQUIRE(sym != nullptr);
      klu_numeric* num = klu_factor(m.cp.data(), m.ri.data(), m.ax.data(), sym, &c);
      BOOST_REQUIRE(num != nullptr);
      KluSupernodes sn;
      BOOST_REQUIRE(sn.Build(*num));
      std::vector<double> b(m.n), x(m.n);
      for (int k = 0; k < m.n; ++k) b[k] = std::sin(0.37 * k) + 0.5;
      x = b;
      klu_solve(sym, num, m.n, 1, x.data(), &c);
      sn.Solve(*sym, *num, b.data());
      BOOST_CHECK(std::memcmp(b.data(), x.data(), b.size() * sizeof(double)) == 0);
      klu_free_numeric(&num, &c);
      klu_free_symbolic(&sym, &c);
    }
}

BOOST_AUTO_TEST_CASE(klu_solver_switches_to_supernodes_without_changing_results) {
  GridMatrix m = Grid(150);  // 22,500 unknowns: METIS without BTF, one block
  BOOST_REQUIRE(m.n >= kMetisMinUnknowns);
  KluSolver klu;
  BOOST_REQUIRE(klu.Analyze(m.n, m.cp, m.ri));
  BOOST_REQUIRE(klu.Factor(m.ax.data()));
  std::vector<double> b(m.n);
  for (int k = 0; k < m.n; ++k) b[k] = std::cos(0.11 * k);
  std::vector<double> first = b;
  klu.Solve(first.data());  // KLU's own solve
  for (int s = 1; s <= kSupernodalMinSolves; ++s) {
    std::vector<double> x = b;
    klu.Solve(x.data());  // from solve kSupernodalMinSolves on: the supernodal copy
    BOOST_CHECK(std::memcmp(x.data(), first.data(), x.size() * sizeof(double)) == 0);
  }
  double residual = 0;  // and it solves the system
  for (int c = 0; c < m.n; ++c)
    for (int p = m.cp[c]; p < m.cp[c + 1]; ++p) b[m.ri[p]] -= m.ax[p] * first[c];
  for (double r : b) residual = std::max(residual, std::abs(r));
  BOOST_CHECK_LT(residual, 1e-12);
}

}  // namespace
}  // namespace memspice::solver
