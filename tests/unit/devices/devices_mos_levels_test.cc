// MOSFET levels 2 and 3 (devices/mos_levels.h): the channel current against closed forms where
// the models reduce to them (no body effect, no short-channel terms), the level 3 mobility,
// static-feedback and velocity-saturation terms one at a time, Baum's velocity-saturated vdsat
// (a root of its quartic, with partials that match finite differences, and finite near the
// threshold where the closed form of Ferrari breaks down).
#define BOOST_TEST_MODULE devices_mos_levels
#include <ceres/jet.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <utility>

#include "devices/mos_levels.h"

using memspice::devices::kEpsOx;
using memspice::devices::Mos2Channel;
using memspice::devices::Mos3Channel;
using memspice::devices::MosLevelInputs;

namespace {

constexpr double kVt = 0.025852;  // thermal voltage at 300 K, V
constexpr double kTox = 20e-9;    // m
constexpr double kLeff = 1e-6;    // m
constexpr double kW = 4e-6;       // m
constexpr double kVto = 0.7;      // V
constexpr double kKp = 60e-6;     // A/V^2
constexpr double kBeta = kKp * kW / kLeff;

// The cards with every optional effect off: the channel of both levels is then Shichman-Hodges
// without LAMBDA.
MosLevelInputs<double> Plain() {
  MosLevelInputs<double> in{};
  in.vbi = kVto;
  in.phi = 0.7;
  in.beta = kBeta;
  in.uo = 500e-4;
  in.leff = kLeff;
  in.w = kW;
  in.m = 1.0;
  in.cox = kEpsOx / kTox;
  in.pb = 0.8;
  in.ucrit = 1e4;
  in.neff = 1.0;
  in.kappa = 0.2;
  return in;
}

// Plain() as dual numbers with body effect GAMMA (VBI keeps the threshold at kVto), VMAX, PHI.
template <typename T>
MosLevelInputs<T> Promoted(double gamma, double vmax, double phi) {
  const MosLevelInputs<double> d = Plain();
  MosLevelInputs<T> in{};
  for (auto [to, from] : {std::pair{&in.vbi, d.vbi},
                          {&in.beta, d.beta},
                          {&in.uo, d.uo},
                          {&in.leff, d.leff},
                          {&in.w, d.w},
                          {&in.m, d.m},
                          {&in.cox, d.cox},
                          {&in.pb, d.pb},
                          {&in.ucrit, d.ucrit},
                          {&in.neff, d.neff}}) {
    *to = T(from);
  }
  in.vbi = T(kVto - gamma * std::sqrt(phi));
  in.phi = T(phi);
  in.gamma = T(gamma);
  in.vmax = T(vmax);
  return in;
}

BOOST_AUTO_TEST_CASE(both_levels_reduce_to_shichman_hodges) {
  const MosLevelInputs<double> in = Plain();
  for (double vg : {0.5, 1.2, 2.5}) {
    for (double vd : {0.05, 0.4, 1.0, 3.0}) {
      const double vgst = vg - kVto;
      const double want = vgst <= 0.0 ? 0.0
                          : vd < vgst ? kBeta * (vgst - 0.5 * vd) * vd
                                      : 0.5 * kBeta * vgst * vgst;
      BOOST_TEST(Mos2Channel(in, vg, vd, -0.5, kVt).id == want,
                 boost::test_tools::tolerance(1e-12));
      BOOST_TEST(Mos3Channel(in, vg, vd, -0.5, kVt).id == want,
                 boost::test_tools::tolerance(1e-12));
    }
  }
}

BOOST_AUTO_TEST_CASE(level3_theta_eta_vmax) {
  const double vg = 2.0, vgst = vg - kVto;
  MosLevelInputs<double> in = Plain();
  in.theta = 0.2;  // mobility: saturation current over (1 + THETA vgst)
  BOOST_TEST(Mos3Channel(in, vg, 3.0, 0.0, kVt).id == 0.5 * kBeta * vgst * vgst / (1 + 0.2 * vgst),
             boost::test_tools::tolerance(1e-12));
  in = Plain();
  in.eta = 0.5;  // static feedback: the threshold falls by ETA 8.15e-22 / (COX L^3) vd
  const double shift = 0.5 * 8.15e-22 / (in.cox * kLeff * kLeff * kLeff) * 3.0;
  BOOST_TEST(Mos3Channel(in, vg, 3.0, 0.0, kVt).von == kVto - shift,
             boost::test_tools::tolerance(1e-12));
  in = Plain();
  in.vmax = 1e5;  // velocity saturation: vdsat = a + vc - sqrt(a^2 + vc^2)
  const double vc = kLeff * 1e5 / in.uo;
  const double vdsat = vgst + vc - std::sqrt(vgst * vgst + vc * vc);
  const auto sat = Mos3Channel(in, vg, 3.0, 0.0, kVt);
  BOOST_TEST(sat.vdsat == vdsat, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(sat.id == kBeta * (vgst - 0.5 * vdsat) * vdsat / (1 + vdsat / vc),
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(level2_mobility_degradation) {
  MosLevelInputs<double> in = Plain();
  in.uexp = 0.3;
  const double vg = 3.0, vgst = vg - kVto;
  const double vcrit = 1e4 * 100.0 * memspice::devices::kEpsSi / in.cox;
  BOOST_REQUIRE(vgst > vcrit);
  BOOST_TEST(Mos2Channel(in, vg, 5.0, 0.0, kVt).id ==
                 0.5 * kBeta * std::pow(vcrit / vgst, 0.3) * vgst * vgst,
             boost::test_tools::tolerance(1e-12));
}

// Baum's vdsat with body charge: x = sqrt(vdsat + PHI - vb) is a root of the quartic of
// mos_levels.h, and the partials (implicit function theorem) match central differences.
BOOST_AUTO_TEST_CASE(level2_baum_root_and_partials) {
  using Jet = ceres::Jet<double, 3>;
  const MosLevelInputs<Jet> in = Promoted<Jet>(0.5, 6e4, 0.7);
  auto id = [&](double vg, double vd, double vb) {
    return Mos2Channel(in, Jet(vg, 0), Jet(vd, 1), Jet(vb, 2), kVt);
  };
  const double vg = 2.5, vd = 4.0, vb = -1.0;
  const auto out = id(vg, vd, vb);
  // The quartic in x = sqrt(vdsat + PHI - vb) (gammad = GAMMA here: no DELTA).
  const MosLevelInputs<double> d = Plain();
  const double g = 0.5, phibs = d.phi - vb, x = std::sqrt(out.vdsat.a + phibs);
  const double sarg = std::sqrt(phibs), v1 = (vg - out.von.a + g * sarg) + phibs;
  const double xv = 6e4 * kLeff / d.uo;
  const double a1 = g / 0.75, b1 = -2 * (v1 + xv), c1 = -2 * g * xv;
  const double d1 = 2 * v1 * (phibs + xv) - phibs * phibs - 4.0 / 3.0 * g * sarg * sarg * sarg;
  BOOST_TEST(std::abs((((x + a1) * x + b1) * x + c1) * x + d1) < 1e-9);
  BOOST_TEST(out.vdsat.a < vg - kVto);  // velocity saturation lowers vdsat
  const double h = 1e-6;
  const double x0[3] = {vg, vd, vb};
  for (int k = 0; k < 3; ++k) {
    double p[3] = {x0[0], x0[1], x0[2]}, m[3] = {x0[0], x0[1], x0[2]};
    p[k] += h;
    m[k] -= h;
    const double fd = (id(p[0], p[1], p[2]).id.a - id(m[0], m[1], m[2]).id.a) / (2 * h);
    BOOST_TEST(out.id.v[k] == fd, boost::test_tools::tolerance(1e-5));
  }
}

// Without body charge the quartic's roots come in pairs that Ferrari's formulas find or miss by
// round-off; the closed form keeps the current and its partials finite and continuous there.
BOOST_AUTO_TEST_CASE(level2_vmax_without_gamma_is_smooth_near_threshold) {
  using Jet = ceres::Jet<double, 3>;
  const MosLevelInputs<Jet> in = Promoted<Jet>(0.0, 1e5, 0.3);
  for (double vg = kVto + 1e-4; vg < kVto + 0.2; vg += 0.0137) {
    for (double vb = -6.0; vb < 0.0; vb += 0.29) {
      const auto out = Mos2Channel(in, Jet(vg, 0), Jet(0.6, 1), Jet(vb, 2), kVt);
      for (int k = 0; k < 3; ++k) BOOST_TEST(std::isfinite(out.id.v[k]));
      // No body effect: the current does not depend on vb.
      BOOST_TEST(std::abs(out.id.v[2]) <= 1e-12 * out.id.v[0]);
      BOOST_TEST(out.vdsat.a <= vg - kVto + 1e-12);  // velocity saturation lowers vdsat
    }
  }
}

}  // namespace
