// The programming model and the circuit simulator agree: G against pulse number for SET and RESET
// at two amplitudes each, from training/programming.h, matches `memspice sim` (parser ->
// Circuit::Build -> RunAnalysis, fixed-step RK4) on a single-device deck to 1e-6 relative.
// Pulses follow each other without gaps, so pulse n ends at t = n w under a constant voltage.
#define BOOST_TEST_MODULE device_pulse_sim
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "training/programming.h"

namespace mt = memspice::training;
namespace mss = memspice::devices::mss;
namespace nl = memspice::netlist;
namespace sv = memspice::solver;

namespace {

constexpr int kPulses = 40;
constexpr int kStepsPerPulse = 20;  // RK4 steps per pulse width (h / tau = 1e-4: exact to 1e-15)

// x(m1) at every time step of a transient with `volts` across one synapse device from x0.
std::vector<double> SimulateState(const mss::MssParams& p, double volts, double x0, double width) {
  const std::string deck = fmt::format(
      "* one synapse device under a pulse train\n"
      "V1 p 0 DC {:.17g}\n"
      "YMSS m1 p 0 syn x0={:.17g}\n"
      ".model syn mss (ron={:.17g} roff={:.17g} von={:.17g} voff={:.17g} tau={:.17g} vt={:.17g} "
      "k={:.17g} phi=1)\n"
      ".tran {:.17g} {:.17g}\n.end\n",
      volts, x0, p.ron, p.roff, p.von, p.voff, p.tau, p.vt, p.k, width / kStepsPerPulse,
      width * kPulses);
  nl::Diagnostics diag;
  std::optional<nl::Netlist> net = nl::ParseString(deck, "pulse.cir", {}, diag);
  BOOST_REQUIRE_MESSAGE(net.has_value(), diag.Format());
  std::unique_ptr<sv::Circuit> circuit = sv::Circuit::Build(*net, diag);
  BOOST_REQUIRE_MESSAGE(circuit != nullptr, diag.Format());
  sv::SimOptions o;
  o.method = sv::Method::kRk4;
  o.fixed_step = width / kStepsPerPulse;
  memspice::io::WaveformTable t;
  const memspice::Status s = sv::RunAnalysis(*circuit, *net, net->analyses.at(0), o, nullptr, &t);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  const int j = t.Find("x(m1)");
  BOOST_REQUIRE_MESSAGE(j >= 0, "no signal x(m1)");
  return t.Column(j);
}

}  // namespace

BOOST_AUTO_TEST_CASE(pulse_response_matches_the_circuit_simulator) {
  mt::ProgrammingOptions o;
  const mss::MssParams p = mt::NominalSynapse(o, 1e-5, 1e-3);
  struct Case {
    double volts, x0;
  };
  for (const Case c : {Case{0.33, 0.05}, Case{0.40, 0.05}, Case{-0.28, 0.95}, Case{-0.40, 0.95}}) {
    const std::vector<double> x = SimulateState(p, c.volts, c.x0, o.pulse_width);
    BOOST_REQUIRE_EQUAL(x.size(), static_cast<size_t>(kPulses * kStepsPerPulse + 1));
    double worst = 0;
    for (int n = 0; n <= kPulses; ++n) {
      const double g_model =
          mss::Conductance(p, mt::ApplyPulseTrain(p, c.x0, c.volts, o.pulse_width, n).x);
      const double g_sim = mss::Conductance(p, x[static_cast<size_t>(n) * kStepsPerPulse]);
      worst = std::max(worst, std::abs(g_model - g_sim) / g_sim);
    }
    BOOST_TEST_MESSAGE("V = " << c.volts << ": G(x0) " << mss::Conductance(p, c.x0) << " S -> G("
                              << kPulses << " pulses) " << mss::Conductance(p, x.back())
                              << " S, max rel. difference " << worst);
    BOOST_TEST(worst < 1e-6, "V = " << c.volts << ": max relative |G_model - G_sim| = " << worst);
    // The response is visible: 40 pulses move G by more than 5 % of its start.
    BOOST_TEST(std::abs(mss::Conductance(p, x.back()) - mss::Conductance(p, c.x0)) >
               0.05 * mss::Conductance(p, c.x0));
  }
}
