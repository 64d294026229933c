// Transient analysis against closed forms: RC and RL steps, LC energy, convergence orders of every
// method, explicit-method DAE errors, breakpoints and step bookkeeping.
#define BOOST_TEST_MODULE solver_transient
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cmath>

#include "solver/integrators.h"
#include "solver_test_devices.h"

namespace memspice::solver {
namespace {

using testing::TestCircuit;
using testing::Tran;

struct Run {
  Status status;
  WaveformTable w;
};

Run Simulate(TestCircuit& t, const netlist::Analysis& a, SimOptions o,
             StepObserver* obs = nullptr) {
  netlist::Diagnostics diag;
  t.nl.analyses = {a};
  auto c = t.Build(diag);
  Run r;
  if (!c) {
    r.status = Status::Error("build failed: " + diag.Format());
    return r;
  }
  r.status = RunAnalysis(*c, t.nl, a, o, obs, &r.w);
  return r;
}

SimOptions With(Method m, double fixed = 0.0) {
  SimOptions o;
  o.method = m;
  o.fixed_step = fixed;
  return o;
}

BOOST_AUTO_TEST_CASE(rc_step_adaptive_all_methods) {
  const double r = 1e3, c = 1e-6, tau = r * c;
  for (Method m : {Method::kTrapezoidal, Method::kBackwardEuler, Method::kGear2,
                   Method::kForwardEuler, Method::kRk4}) {
    TestCircuit t;
    t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "out", r).C("c1", "out", "0", c);
    Run run = Simulate(t, Tran(1e-4, 5e-3, /*uic=*/true), With(m));
    BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
    const int out = run.w.Find("v(out)");
    double max_err = 0.0;
    for (int k = 1; k < run.w.num_points(); ++k) {
      const double tk = run.w.scale[k];
      max_err = std::max(max_err, std::abs(run.w.rows[k][out] - (1.0 - std::exp(-tk / tau))));
    }
    BOOST_TEST_MESSAGE(MethodName(m)
                       << ": " << run.w.num_points() << " points, max error " << max_err);
    // SPICE tolerances (reltol 1e-3, trtol 7) allow about 1 % for first-order methods.
    BOOST_CHECK_MESSAGE(max_err < (MethodOrder(m) == 1 ? 2e-2 : 2e-3),
                        MethodName(m) << " max error " << max_err);
    BOOST_CHECK_CLOSE(run.w.scale.back(), 5e-3, 1e-9);
  }
}

BOOST_AUTO_TEST_CASE(uic_first_row_is_consistent) {
  // With uic the t = 0 row holds the source values and the capacitor's initial voltage, and the
  // algebraic nodes solved from them (not zeros), for every method.
  for (Method m : {Method::kTrapezoidal, Method::kBackwardEuler, Method::kRk4}) {
    TestCircuit t;
    t.Vdc("v1", "in", "0", 2.0).R("r1", "in", "out", 1e3).C("c1", "out", "0", 1e-6);
    t.R("r2", "in", "mid", 1e3).R("r3", "mid", "0", 1e3);
    t.nl.ics = {{"out", 0.5, {}}};
    Run run = Simulate(t, Tran(1e-4, 1e-3, /*uic=*/true), With(m));
    BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
    BOOST_TEST(run.w.scale[0] == 0.0);
    const auto& row = run.w.rows[0];
    BOOST_TEST(row[run.w.Find("v(in)")] == 2.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(row[run.w.Find("v(out)")] == 0.5, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(row[run.w.Find("v(mid)")] == 1.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(row[run.w.Find("i(v1)")] == -2.5e-3, boost::test_tools::tolerance(1e-9));
  }
}

BOOST_AUTO_TEST_CASE(rl_step_current) {
  const double r = 10.0, l = 1e-3, tau = l / r;
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "a", r).L("l1", "a", "0", l);
  Run run = Simulate(t, Tran(1e-5, 5e-4, true), SimOptions());
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  const int il = run.w.Find("i(l1)");
  BOOST_REQUIRE_GE(il, 0);
  double max_err = 0.0;
  for (int k = 0; k < run.w.num_points(); ++k) {
    const double exact = 0.1 * (1.0 - std::exp(-run.w.scale[k] / tau));
    max_err = std::max(max_err, std::abs(run.w.rows[k][il] - exact));
  }
  BOOST_CHECK_LT(max_err, 1e-3 * 0.1 * 10);
}

BOOST_AUTO_TEST_CASE(lc_energy_conserved_by_trap) {
  const double l = 1e-3, c = 1e-6;
  const double period = 2 * M_PI * std::sqrt(l * c);
  TestCircuit t;
  t.C("c1", "a", "0", c).L("l1", "a", "0", l);
  t.nl.ics = {{"a", 1.0, {}}};
  Run run =
      Simulate(t, Tran(period / 100, 10 * period, true), With(Method::kTrapezoidal, period / 100));
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  const int va = run.w.Find("v(a)"), il = run.w.Find("i(l1)");
  auto energy = [&](int k) {
    const double v = run.w.rows[k][va], i = run.w.rows[k][il];
    return 0.5 * c * v * v + 0.5 * l * i * i;
  };
  BOOST_CHECK_CLOSE(energy(0), 0.5e-6, 1e-9);
  // The first (backward Euler) step loses O((w h)^2) energy; trap then conserves it exactly.
  BOOST_CHECK_CLOSE(energy(1), energy(0), 1.0);
  for (int k = 2; k < run.w.num_points(); ++k) BOOST_CHECK_CLOSE(energy(k), energy(1), 1e-7);
  BOOST_CHECK_EQUAL(run.w.num_points(), 1001);
}

// v_out of R = 1, C = 1 driven by sin(w t) from rest.
double DrivenRc(double t, double w) {
  return (std::sin(w * t) - w * std::cos(w * t) + w * std::exp(-t)) / (1.0 + w * w);
}

double FinalError(Method m, int steps) {
  const double w = 2.0, tstop = 2.0;
  TestCircuit t;
  t.V("v1", "in", "0", [w](double time) { return std::sin(w * time); });
  t.R("r1", "in", "out", 1.0).C("c1", "out", "0", 1.0);
  Run run = Simulate(t, Tran(tstop / steps, tstop, true), With(m, tstop / steps));
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  BOOST_REQUIRE_EQUAL(run.w.num_points(), steps + 1);
  return std::abs(run.w.rows.back()[run.w.Find("v(out)")] - DrivenRc(tstop, w));
}

BOOST_AUTO_TEST_CASE(convergence_orders) {
  struct Case {
    Method m;
    double order;
    int n0;
  };
  for (Case cs : {Case{Method::kForwardEuler, 1, 40}, Case{Method::kBackwardEuler, 1, 40},
                  Case{Method::kTrapezoidal, 2, 40}, Case{Method::kGear2, 2, 40},
                  Case{Method::kRk4, 4, 20}}) {
    const double e1 = FinalError(cs.m, cs.n0), e2 = FinalError(cs.m, 2 * cs.n0),
                 e3 = FinalError(cs.m, 4 * cs.n0);
    // Least-squares slope of log(error) against log(h) over three step sizes.
    const double slope = (std::log2(e1) - std::log2(e3)) / 2.0;
    BOOST_TEST_MESSAGE(MethodName(cs.m)
                       << " errors " << e1 << " " << e2 << " " << e3 << " order " << slope);
    BOOST_CHECK_MESSAGE(std::abs(slope - cs.order) < 0.2, MethodName(cs.m)
                                                              << " measured order " << slope);
  }
}

BOOST_AUTO_TEST_CASE(explicit_method_capacitor_across_source) {
  for (Method m : {Method::kForwardEuler, Method::kRk4}) {
    TestCircuit t;
    t.Vdc("v1", "a", "0", 1.0).C("c1", "a", "0", 1e-9).R("r1", "a", "0", 1e3);
    Run run = Simulate(t, Tran(1e-6, 1e-4), With(m, 1e-6));
    BOOST_REQUIRE(!run.status.ok());
    BOOST_CHECK_MESSAGE(run.status.message().find("node 'a'") != std::string::npos,
                        run.status.message());
    BOOST_CHECK(run.status.message().find("explicit method") != std::string::npos);
    BOOST_CHECK(run.status.hint().find("be, trap or gear2") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(explicit_instability_is_reported_not_written) {
  // FE at h = 3 tau grows like (-2)^n: the growing oscillation must be caught long before it
  // overflows (it would after ~1000 steps), with a clear error naming the node.
  TestCircuit t;
  t.R("r1", "a", "0", 1.0).C("c1", "a", "0", 1.0);
  t.nl.ics = {{"a", 1.0, {}}};
  Run run = Simulate(t, Tran(3.0, 3.0 * 2000, true), With(Method::kForwardEuler, 3.0));
  BOOST_REQUIRE(!run.status.ok());
  BOOST_CHECK_MESSAGE(run.status.message().find("node 'a' diverges under fe") != std::string::npos,
                      run.status.message());
  BOOST_CHECK(run.status.hint().find("option method be|trap|gear2") != std::string::npos);
  for (const auto& row : run.w.rows) {
    for (double v : row) BOOST_CHECK(std::isfinite(v));
  }
}

double Pulse(double t) {
  const double td = 1e-3, tr = 1e-6, pw = 2e-3, tf = 1e-6;
  if (t <= td) return 0.0;
  if (t <= td + tr) return (t - td) / tr;
  if (t <= td + tr + pw) return 1.0;
  if (t <= td + tr + pw + tf) return 1.0 - (t - td - tr - pw) / tf;
  return 0.0;
}

BOOST_AUTO_TEST_CASE(adaptive_trap_hits_breakpoints) {
  const std::vector<double> bps = {1e-3, 1.001e-3, 3.001e-3, 3.002e-3};
  auto make = [&](TestCircuit& t) {
    t.V("v1", "in", "0", Pulse, bps).R("r1", "in", "out", 500.0).C("c1", "out", "0", 1e-6);
  };
  TestCircuit t;
  make(t);
  Run run = Simulate(t, Tran(1e-5, 5e-3), SimOptions());
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  for (double b : bps) {
    bool found = false;
    for (double s : run.w.scale) found |= std::abs(s - b) <= 1e-15;
    BOOST_CHECK_MESSAGE(found, "breakpoint " << b << " not hit");
  }
  for (int k = 1; k < run.w.num_points(); ++k) BOOST_CHECK_GT(run.w.scale[k], run.w.scale[k - 1]);
  // Compare with a fine fixed-step reference at the adaptive points.
  TestCircuit ref;
  make(ref);
  Run fine = Simulate(ref, Tran(1e-7, 5e-3), With(Method::kTrapezoidal, 1e-7));
  BOOST_REQUIRE(fine.status.ok());
  const int out = run.w.Find("v(out)");
  double max_err = 0.0;
  for (int k = 0; k < run.w.num_points(); ++k) {
    const double tk = run.w.scale[k];
    const int j = std::min(static_cast<int>(std::lround(tk / 1e-7)), fine.w.num_points() - 1);
    if (std::abs(fine.w.scale[j] - tk) > 1e-12) continue;
    max_err = std::max(max_err, std::abs(run.w.rows[k][out] - fine.w.rows[j][out]));
  }
  BOOST_CHECK_LT(max_err, 5e-3);
  BOOST_CHECK_LT(run.w.num_points(), 2000);  // adaptive, not tiny steps everywhere
}

class Recorder : public StepObserver {
 public:
  void OnStep(const StepInfo& info) override {
    steps.push_back(info.step);
    times.push_back(info.time);
    hs.push_back(info.h);
    methods.push_back(info.method);
  }
  std::vector<int> steps;
  std::vector<double> times, hs;
  std::vector<Method> methods;
};

BOOST_AUTO_TEST_CASE(fixed_steps_observer_and_tstart) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 1.0).R("r1", "in", "out", 1e3).C("c1", "out", "0", 1e-7);
  Recorder rec;
  netlist::Analysis a = Tran(1e-5, 1.05e-4, true);
  a.tstart = 5e-5;
  Run run = Simulate(t, a, With(Method::kGear2, 1e-5), &rec);
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  BOOST_REQUIRE_EQUAL(rec.steps.size(), 12u);  // step 0 + 10 full steps + a clipped last step
  for (size_t k = 0; k < rec.steps.size(); ++k)
    BOOST_CHECK_EQUAL(rec.steps[k], static_cast<int>(k));
  BOOST_CHECK_EQUAL(rec.hs[0], 0.0);
  BOOST_CHECK(rec.methods[1] == Method::kBackwardEuler);  // Gear2 starts with one BE step
  BOOST_CHECK(rec.methods[2] == Method::kGear2);
  BOOST_CHECK_CLOSE(rec.hs[11], 5e-6, 1e-6);
  BOOST_CHECK_CLOSE(rec.times[11], 1.05e-4, 1e-12);
  // Rows only from tstart on: 5e-5, 6e-5, ..., 1e-4, 1.05e-4.
  BOOST_REQUIRE_EQUAL(run.w.num_points(), 7);
  BOOST_CHECK_CLOSE(run.w.scale.front(), 5e-5, 1e-9);
}

BOOST_AUTO_TEST_CASE(operating_point_then_transient_and_ic_clamp) {
  TestCircuit t;
  t.Vdc("v1", "in", "0", 2.0).R("r1", "in", "out", 1e3).C("c1", "out", "0", 1e-6);
  t.nl.ics = {{"out", 0.5, {}}};  // without uic: holds v(out) = 0.5 during the operating point
  Run run = Simulate(t, Tran(1e-5, 1e-3), SimOptions());
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  const int out = run.w.Find("v(out)");
  BOOST_CHECK_CLOSE(run.w.rows[0][out], 0.5, 1e-6);
  const double t_end = run.w.scale.back();
  BOOST_CHECK_CLOSE(run.w.rows.back()[out], 2.0 - 1.5 * std::exp(-t_end / 1e-3), 0.5);
}

BOOST_AUTO_TEST_CASE(large_linear_ladder_is_fast) {
  // 4000-node RC ladder, 1000 fixed trap steps: one factorization per step size.
  TestCircuit t;
  t.V("v1", "n0", "0", [](double time) { return time > 0 ? 1.0 : 0.0; });
  const int n = 4000;
  for (int k = 0; k < n; ++k) {
    const std::string a = "n" + std::to_string(k), b = "n" + std::to_string(k + 1);
    t.R("r" + std::to_string(k), a, b, 10.0).C("c" + std::to_string(k), b, "0", 1e-12);
  }
  auto start = std::chrono::steady_clock::now();
  Run run = Simulate(t, Tran(1e-11, 1e-8), With(Method::kTrapezoidal, 1e-11));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_REQUIRE_MESSAGE(run.status.ok(), run.status.message());
  BOOST_CHECK_EQUAL(run.w.num_points(), 1001);
  BOOST_TEST_MESSAGE("ladder: " << secs << " s");
  BOOST_CHECK_LT(secs, 20.0);
}

}  // namespace
}  // namespace memspice::solver
