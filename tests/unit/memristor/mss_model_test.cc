// The templated MSS equations: analytic derivatives against finite differences and against
// ceres::Jet, overflow safety, and the Knowm convention.
#define BOOST_TEST_MODULE mss_model
#include "devices/mss_model.h"

#include <ceres/jet.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <vector>

namespace mss = memspice::devices::mss;
using J2 = ceres::Jet<double, 2>;

namespace {

// Parameter sets exercised by every derivative test: Table III, a non-volatile synapse, the
// generalized form with a diode branch, and Knowm's convention.
std::vector<mss::MssParams> ParamSets() {
  std::vector<mss::MssParams> sets(4);
  sets[1].k = 0.1;
  sets[1].voff = -1.2;
  sets[2].phi = 0.4;
  sets[2].af = 2e-6;
  sets[2].bf = 7.0;
  sets[2].ar = 3e-6;
  sets[2].br = 5.0;
  sets[3].knowm = true;
  sets[3].voff = 0.02;
  sets[3].k = 1.0;
  return sets;
}

const std::vector<double> kStates = {0.0, 1e-4, 7.5232e-3, 0.3, 0.5, 0.97, 1.0};
const std::vector<double> kVoltages = {-1.5, -0.2, -0.01, 0.0, 0.004, 0.03, 0.11, 0.2, 0.9};

// Central difference with a step scaled to the argument.
template <typename F>
double CentralDiff(F f, double at, double h) {
  return (f(at + h) - f(at - h)) / (2 * h);
}

void CheckClose(double analytic, double numeric, double scale, const char* what, double x,
                double u) {
  const double tol = 1e-6 * std::max(scale, std::abs(analytic)) + 1e-300;
  BOOST_TEST(std::abs(analytic - numeric) <= tol, what << " at x=" << x << " u=" << u
                                                       << ": analytic " << analytic << " vs FD "
                                                       << numeric);
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_are_table_iii) {
  const mss::MssParams p;
  BOOST_TEST(p.ron == 1e3);
  BOOST_TEST(p.roff == 1e5);
  BOOST_TEST(p.von == 0.110);
  BOOST_TEST(p.voff == 0.005);
  BOOST_TEST(p.tau == 1e-3);
  BOOST_TEST(p.vt == 0.025);
  BOOST_TEST(p.k == 0.6);
  BOOST_TEST(p.phi == 1.0);
  BOOST_TEST(!p.knowm);
  BOOST_TEST(mss::ValidateMssParams(p).empty());
}

BOOST_AUTO_TEST_CASE(equations_match_the_spec_formulas) {
  const mss::MssParams p;
  const double x = 0.3, u = 0.07;
  const double g = x / 1e3 + (1 - x) / 1e5;
  BOOST_TEST(mss::Conductance(p, x) == g, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(mss::Current(p, x, u) == g * u, boost::test_tools::tolerance(1e-15));
  const double kvt = 0.6 * 0.025;
  const double pon = 1 / (1 + std::exp(-(u - 0.11) / kvt));
  const double poff = 1 / (1 + std::exp(-(0.005 - u) / kvt));
  BOOST_TEST(mss::StateRate(p, x, u) == ((1 - x) * pon - x * poff) / 1e-3,
             boost::test_tools::tolerance(1e-13));
  const mss::MssEval<double> e = mss::Evaluate(p, x, u);
  BOOST_TEST(e.i == mss::Current(p, x, u), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(e.rate == mss::StateRate(p, x, u), boost::test_tools::tolerance(1e-13));
}

BOOST_AUTO_TEST_CASE(analytic_derivatives_match_finite_differences) {
  for (const mss::MssParams& p : ParamSets()) {
    for (double x : kStates) {
      for (double u : kVoltages) {
        const mss::MssEval<double> e = mss::Evaluate(p, x, u);
        const double hu = 1e-7, hx = 1e-6;
        const double di_du = CentralDiff([&](double v) { return mss::Current(p, x, v); }, u, hu);
        const double di_dx = CentralDiff([&](double s) { return mss::Current(p, s, u); }, x, hx);
        const double dr_du = CentralDiff([&](double v) { return mss::StateRate(p, x, v); }, u, hu);
        const double dr_dx = CentralDiff([&](double s) { return mss::StateRate(p, s, u); }, x, hx);
        const double iscale = std::abs(e.i) / std::max(std::abs(u), 1e-3) + 1e-9;
        const double rscale = 1.0 / p.tau;
        CheckClose(e.di_du, di_du, iscale * 1e2, "di/du", x, u);
        CheckClose(e.di_dx, di_dx, iscale, "di/dx", x, u);
        CheckClose(e.drate_du, dr_du, rscale * 1e2, "drate/du", x, u);
        CheckClose(e.drate_dx, dr_dx, rscale, "drate/dx", x, u);
        // The single-derivative helpers agree with Evaluate.
        BOOST_TEST(mss::CurrentDu(p, x, u) == e.di_du);
        BOOST_TEST(mss::CurrentDx(p, x, u) == e.di_dx);
        BOOST_TEST(mss::StateRateDu(p, x, u) == e.drate_du);
        BOOST_TEST(mss::StateRateDx(p, x, u) == e.drate_dx, boost::test_tools::tolerance(1e-14));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(jet_instantiation_matches_analytic_derivatives) {
  for (const mss::MssParams& p : ParamSets()) {
    for (double x : kStates) {
      for (double u : kVoltages) {
        const J2 xj(x, 0), uj(u, 1);  // d/dx in slot 0, d/du in slot 1
        const J2 i = mss::Current(p, xj, uj);
        const J2 r = mss::StateRate(p, xj, uj);
        const mss::MssEval<double> e = mss::Evaluate(p, x, u);
        const auto tol = boost::test_tools::tolerance(1e-12);
        BOOST_TEST(i.a == e.i, tol);
        BOOST_TEST(i.v[0] == e.di_dx, tol);
        BOOST_TEST(i.v[1] == e.di_du, tol);
        BOOST_TEST(r.a == e.rate, tol);
        BOOST_TEST(r.v[0] == e.drate_dx, tol);
        BOOST_TEST(r.v[1] == e.drate_du, tol);
        // Evaluate itself instantiated with Jets: its derivative fields must agree with the
        // Jet's own derivatives of the value fields.
        const mss::MssEval<J2> ej = mss::Evaluate(p, xj, uj);
        BOOST_TEST(ej.i.v[1] == ej.di_du.a, tol);
        BOOST_TEST(ej.rate.v[0] == ej.drate_dx.a, tol);
        BOOST_TEST(ej.rate.v[1] == ej.drate_du.a, tol);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(jet_parameter_derivatives_match_finite_differences) {
  // Differentiating with respect to parameters: cast the parameters to Jets.
  using J3 = ceres::Jet<double, 3>;
  const mss::MssParams p;
  const double x = 0.2, u = 0.09;
  mss::MssParamsT<J3> pj = p.Cast<J3>();
  pj.ron.v[0] = 1.0;
  pj.von.v[1] = 1.0;
  pj.k.v[2] = 1.0;
  const J3 i = mss::Current(pj, J3(x), J3(u));
  const J3 r = mss::StateRate(pj, J3(x), J3(u));
  auto with = [&](auto set) {
    mss::MssParams q = p;
    set(q);
    return q;
  };
  const double h_ron = 1e-3, h_von = 1e-7, h_k = 1e-7;
  const double di_dron = (mss::Current(with([&](auto& q) { q.ron += h_ron; }), x, u) -
                          mss::Current(with([&](auto& q) { q.ron -= h_ron; }), x, u)) /
                         (2 * h_ron);
  const double dr_dvon = (mss::StateRate(with([&](auto& q) { q.von += h_von; }), x, u) -
                          mss::StateRate(with([&](auto& q) { q.von -= h_von; }), x, u)) /
                         (2 * h_von);
  const double dr_dk = (mss::StateRate(with([&](auto& q) { q.k += h_k; }), x, u) -
                        mss::StateRate(with([&](auto& q) { q.k -= h_k; }), x, u)) /
                       (2 * h_k);
  BOOST_TEST(i.v[0] == di_dron, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(r.v[1] == dr_dvon, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(r.v[2] == dr_dk, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(sigmoid_never_overflows) {
  const double inf = std::numeric_limits<double>::infinity();
  for (double z : {-inf, -1e308, -1e5, -745.0, -710.0, -40.0, 0.0, 40.0, 710.0, 1e5, 1e308, inf}) {
    const double s = mss::Sigmoid(z);
    const double ds = mss::SigmoidDerivative(z);
    BOOST_TEST(std::isfinite(s), "sigma(" << z << ")");
    BOOST_TEST(std::isfinite(ds), "sigma'(" << z << ")");
    BOOST_TEST((s >= 0.0 && s <= 1.0));
    BOOST_TEST(ds >= 0.0);
    const J2 sj = mss::Sigmoid(J2(z, 0));
    BOOST_TEST(std::isfinite(sj.a));
    BOOST_TEST(std::isfinite(sj.v[0]), "Jet sigma'(" << z << ")");
  }
  BOOST_TEST(mss::Sigmoid(0.0) == 0.5);
  BOOST_TEST(mss::Sigmoid(-800.0) == 0.0);
  BOOST_TEST(mss::Sigmoid(800.0) == 1.0);
  // Symmetry sigma(-z) = 1 - sigma(z) (absolute: 1 - sigma cancels for large z).
  for (double z = -30; z <= 30; z += 0.37) {
    BOOST_TEST(std::abs(mss::Sigmoid(-z) - (1.0 - mss::Sigmoid(z))) < 2e-16);
  }
}

BOOST_AUTO_TEST_CASE(extreme_voltages_give_finite_values) {
  for (const mss::MssParams& p : ParamSets()) {
    for (double u : {-1e6, -1e3, -50.0, 50.0, 1e3, 1e6}) {
      for (double x : {0.0, 0.5, 1.0}) {
        const mss::MssEval<double> e = mss::Evaluate(p, x, u);
        BOOST_TEST(std::isfinite(e.i), "i at u=" << u);
        BOOST_TEST(std::isfinite(e.di_du));
        BOOST_TEST(std::isfinite(e.di_dx));
        BOOST_TEST(std::isfinite(e.rate));
        BOOST_TEST(std::isfinite(e.drate_du));
        BOOST_TEST(std::isfinite(e.drate_dx));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(knowm_convention_is_the_documented_function) {
  // convention=knowm: P_off = 1 - sigma((u + voff) / (k V_T)).
  mss::MssParams knowm;
  knowm.knowm = true;
  knowm.voff = 0.03;
  knowm.k = 1.0;
  mss::MssParams plain = knowm;
  plain.knowm = false;
  plain.voff = -0.03;  // the same device in memspice's spelling
  for (double u = -0.3; u <= 0.3; u += 0.011) {
    const double expected = 1.0 - 1.0 / (1.0 + std::exp(-(u + 0.03) / 0.025));
    BOOST_TEST(mss::ProbabilityOff(knowm, u) == expected, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(mss::ProbabilityOff(knowm, u) == mss::ProbabilityOff(plain, u),
               boost::test_tools::tolerance(1e-14));
    for (double x : {0.1, 0.6}) {
      BOOST_TEST(mss::StateRate(knowm, x, u) == mss::StateRate(plain, x, u),
                 boost::test_tools::tolerance(1e-12));
    }
  }
  // P_on is unaffected by the convention.
  BOOST_TEST(mss::ProbabilityOn(knowm, 0.12) == mss::ProbabilityOn(plain, 0.12));
}

BOOST_AUTO_TEST_CASE(equilibrium_state_and_volatility) {
  const mss::MssParams p;
  for (double u : {-0.1, 0.0, 0.02, 0.05, 0.11, 0.3}) {
    const double xe = mss::EquilibriumState(p, u);
    BOOST_TEST((xe > 0.0 && xe < 1.0));
    BOOST_TEST(std::abs(mss::StateRate(p, xe, u)) < 1e-9);
  }
  // Between V_off and V_on the relaxation rate (P_on + P_off)/tau is ~1/(17 ms) at k = 0.6 and
  // orders of magnitude slower at k = 0.1 (spec section 1).
  const double u = 0.05;
  const double rate_k06 = -mss::StateRateDx(p, 0.5, u);
  mss::MssParams retentive = p;
  retentive.k = 0.1;
  const double rate_k01 = -mss::StateRateDx(retentive, 0.5, u);
  BOOST_TEST(1.0 / rate_k06 > 10e-3);
  BOOST_TEST(1.0 / rate_k06 < 30e-3);
  BOOST_TEST(1.0 / rate_k01 > 1e3);
  // Below V_off the device relaxes OFF in ~1.7 ms (time constant tau / (P_on + P_off)).
  BOOST_TEST(1.0 / -mss::StateRateDx(p, 0.5, -0.02) < 2e-3);
}

BOOST_AUTO_TEST_CASE(validation_names_the_bad_parameter) {
  auto check = [](auto set, const std::string& name) {
    mss::MssParams p;
    set(p);
    const std::string msg = mss::ValidateMssParams(p);
    BOOST_TEST(msg.find(name) != std::string::npos, "expected '" << name << "' in: " << msg);
  };
  check([](auto& p) { p.ron = 0; }, "ron");
  check([](auto& p) { p.roff = -1; }, "roff");
  check([](auto& p) { p.k = 0; }, "k =");
  check([](auto& p) { p.k = 1.5; }, "(0, 1]");
  check([](auto& p) { p.tau = 0; }, "tau");
  check([](auto& p) { p.vt = -0.025; }, "vt");
  check([](auto& p) { p.phi = 2; }, "phi");
  check([](auto& p) { p.von = std::nan(""); }, "von");
}
