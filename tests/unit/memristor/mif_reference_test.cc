// Self-contained RK4 and forward-Euler integration of one MIF neuron built from mss_model.h,
// reproducing the reference table of spec models.md section 2 (C_mem = 1 nF, dt = 10 us, one
// alpha pulse of 10 uA peak at t = 0, tau_a = 0.64 ms, start at rest).
//
// The integrated system is the full ODE of the neuron and its two-stage alpha synapse,
//   s = (v, x1, x2, a, I):  C dv/dt = I - i1 - i2,  dx_i/dt = MSS rate,
//   da/dt = -a/tau_a,  dI/dt = (a - I)/tau_a,  with the event kick a(0) = w = e * I_peak,
// which is what a discrete-time MEMprop implementation steps.
#define BOOST_TEST_MODULE mif_reference
#include <array>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "devices/mss_model.h"

namespace mss = memspice::devices::mss;

namespace {

using State = std::array<double, 5>;

struct MifConfig {
  mss::MssParams memristor;  // Table III
  double cmem = 1e-9;
  double v1 = 0.0, v2 = 0.050;
  double tau_a = 0.64e-3;
  double i_peak = 10e-6;
};

constexpr double kRestV = 18.3144e-3, kRestX1 = 7.5232e-3, kRestX2 = 8.5863e-5;

State Rhs(const MifConfig& c, const State& s) {
  const double v = s[0];
  State d;
  d[0] = (s[4] - mss::Current(c.memristor, s[1], v - c.v1) -
          mss::Current(c.memristor, s[2], v - c.v2)) /
         c.cmem;
  d[1] = mss::StateRate(c.memristor, s[1], v - c.v1);
  d[2] = mss::StateRate(c.memristor, s[2], v - c.v2);
  d[3] = -s[3] / c.tau_a;
  d[4] = (s[3] - s[4]) / c.tau_a;
  return d;
}

State Axpy(const State& s, double h, const State& d) {
  State r;
  for (size_t i = 0; i < s.size(); ++i) r[i] = s[i] + h * d[i];
  return r;
}

enum class Scheme { kRk4, kForwardEuler };

struct Summary {
  double peak_mv = 0, peak_ms = 0, under_mv = 0, under_ms = 0, end_mv = 0;
  bool finite = true;
};

Summary Run(const MifConfig& c, Scheme scheme, double dt, double tstop) {
  State s{kRestV, kRestX1, kRestX2, std::exp(1.0) * c.i_peak, 0.0};
  const long steps = std::lround(tstop / dt);
  double peak = -1e300, t_peak = 0, under = 1e300, t_under = 0;
  for (long n = 0; n < steps; ++n) {
    if (scheme == Scheme::kForwardEuler) {
      s = Axpy(s, dt, Rhs(c, s));
    } else {
      const State k1 = Rhs(c, s);
      const State k2 = Rhs(c, Axpy(s, dt / 2, k1));
      const State k3 = Rhs(c, Axpy(s, dt / 2, k2));
      const State k4 = Rhs(c, Axpy(s, dt, k3));
      for (size_t i = 0; i < s.size(); ++i) {
        s[i] += dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
      }
    }
    const double t = (n + 1) * dt;
    if (!std::isfinite(s[0]) || std::abs(s[0]) > 1e3) return Summary{.finite = false};
    if (s[0] > peak) {
      peak = s[0];
      t_peak = t;
      under = 1e300;  // the undershoot is the minimum after the peak
    } else if (s[0] < under) {
      under = s[0];
      t_under = t;
    }
  }
  return {peak * 1e3, t_peak * 1e3, under * 1e3, t_under * 1e3, s[0] * 1e3, true};
}

// |value - printed| within half a unit of the printed last digit.
bool Rounds(double value, double printed, double unit) {
  return std::abs(value - printed) <= 0.5 * unit + 1e-12;
}

}  // namespace

BOOST_AUTO_TEST_CASE(rest_state_is_stationary) {
  const MifConfig c;
  const State d = Rhs(c, {kRestV, kRestX1, kRestX2, 0.0, 0.0});
  // The printed rest state is accurate to its 5 significant digits: drift over 10 ms is tiny.
  BOOST_TEST(std::abs(d[0]) * 10e-3 < 1e-5);            // < 0.01 mV
  BOOST_TEST(std::abs(d[1]) * 10e-3 < 1e-4 * kRestX1);  // relative 1e-4
  BOOST_TEST(std::abs(d[2]) * 10e-3 < 1e-4 * kRestX2 + 1e-9);
}

BOOST_AUTO_TEST_CASE(rk4_reproduces_reference_table) {
  const Summary r = Run(MifConfig(), Scheme::kRk4, 10e-6, 10e-3);
  BOOST_TEST_MESSAGE("RK4: peak " << r.peak_mv << " mV at " << r.peak_ms << " ms, undershoot "
                                  << r.under_mv << " mV at " << r.under_ms << " ms, v(10ms) "
                                  << r.end_mv);
  BOOST_TEST(r.finite);
  BOOST_TEST(Rounds(r.peak_mv, 107.9, 0.1), "peak " << r.peak_mv);
  BOOST_TEST(Rounds(r.peak_ms, 0.12, 0.01), "time of peak " << r.peak_ms);
  BOOST_TEST(Rounds(r.under_mv, 8.8, 0.1), "undershoot " << r.under_mv);
  BOOST_TEST(Rounds(r.under_ms, 4.66, 0.01), "time of undershoot " << r.under_ms);
  BOOST_TEST(Rounds(r.end_mv, 16.2, 0.1), "v(10 ms) " << r.end_mv);
  // ngspice (trap, 1 us) row to its printed precision: RK4 at 10 us is that close.
  BOOST_TEST(std::abs(r.peak_mv - 107.88) < 0.02);
  BOOST_TEST(std::abs(r.under_mv - 8.79) < 0.02);
  BOOST_TEST(std::abs(r.end_mv - 16.18) < 0.02);
}

BOOST_AUTO_TEST_CASE(forward_euler_reproduces_reference_table) {
  const Summary r = Run(MifConfig(), Scheme::kForwardEuler, 10e-6, 10e-3);
  BOOST_TEST_MESSAGE("FE: peak " << r.peak_mv << " mV at " << r.peak_ms << " ms, undershoot "
                                 << r.under_mv << " mV at " << r.under_ms << " ms, v(10ms) "
                                 << r.end_mv);
  BOOST_TEST(r.finite);
  BOOST_TEST(Rounds(r.peak_mv, 115.1, 0.1), "peak " << r.peak_mv);
  BOOST_TEST(Rounds(r.peak_ms, 0.12, 0.01), "time of peak " << r.peak_ms);
  BOOST_TEST(Rounds(r.under_mv, 8.7, 0.1), "undershoot " << r.under_mv);
  BOOST_TEST(Rounds(r.under_ms, 4.63, 0.01), "time of undershoot " << r.under_ms);
  BOOST_TEST(Rounds(r.end_mv, 16.2, 0.1), "v(10 ms) " << r.end_mv);
}

BOOST_AUTO_TEST_CASE(table_iii_capacitance_breaks_forward_euler_not_the_model) {
  MifConfig c;
  c.cmem = 100e-12;
  // dt (G1 + G2) / C = 2.7 at rest: forward Euler at 10 us explodes.
  const Summary fe = Run(c, Scheme::kForwardEuler, 10e-6, 0.2e-3);
  BOOST_TEST(!fe.finite);
  // The continuous model is fine: RK4 at 0.1 us gives peak 98.2 mV, undershoot 8.8 mV.
  const Summary rk = Run(c, Scheme::kRk4, 0.1e-6, 10e-3);
  BOOST_TEST(rk.finite);
  BOOST_TEST(Rounds(rk.peak_mv, 98.2, 0.1), "peak " << rk.peak_mv);
  BOOST_TEST(Rounds(rk.under_mv, 8.8, 0.1), "undershoot " << rk.under_mv);
}

BOOST_AUTO_TEST_CASE(linearly_implicit_update_is_stable_at_100pf) {
  // v[n+1] = (v + dt/C (I + G1 V1 + G2 V2)) / (1 + dt/C (G1 + G2)), x explicit (spec section 2).
  MifConfig c;
  c.cmem = 100e-12;
  const double dt = 10e-6;
  double v = kRestV, x1 = kRestX1, x2 = kRestX2, a = std::exp(1.0) * c.i_peak, i = 0;
  double peak = 0;
  for (int n = 0; n < 1000; ++n) {
    const double g1 = mss::Conductance(c.memristor, x1), g2 = mss::Conductance(c.memristor, x2);
    const double r = dt / c.cmem;
    const double v_next = (v + r * (i + g1 * c.v1 + g2 * c.v2)) / (1 + r * (g1 + g2));
    const double x1n = x1 + dt * mss::StateRate(c.memristor, x1, v - c.v1);
    const double x2n = x2 + dt * mss::StateRate(c.memristor, x2, v - c.v2);
    const double an = a - dt * a / c.tau_a;
    const double in = i + dt * (a - i) / c.tau_a;
    v = v_next, x1 = x1n, x2 = x2n, a = an, i = in;
    BOOST_REQUIRE(std::isfinite(v));
    peak = std::max(peak, v);
  }
  BOOST_TEST(peak > 0.08);
  BOOST_TEST(peak < 0.13);
  BOOST_TEST(std::abs(v - 0.0162) < 0.5e-3);
}
