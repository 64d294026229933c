// The solver on parsed decks with the real device library.
#define BOOST_TEST_MODULE solver_deck
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "devices/junction.h"
#include "netlist/netlist.h"
#include "solver/assembler.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace memspice::solver {
namespace {

struct DeckRun {
  netlist::Diagnostics diag;
  std::optional<netlist::Netlist> nl;
  std::unique_ptr<Circuit> circuit;
  std::vector<WaveformTable> tables;
  Status status;
};

// Parses, builds and runs every analysis of the deck; stops at the first failure.
std::unique_ptr<DeckRun> RunDeck(const std::string& text, SimOptions options = SimOptions()) {
  auto r = std::make_unique<DeckRun>();
  r->nl = netlist::ParseString(text, "deck.cir", {}, r->diag);
  if (!r->nl) {
    r->status = Status::Error("parse failed:\n" + r->diag.Format());
    return r;
  }
  r->circuit = Circuit::Build(*r->nl, r->diag);
  if (!r->circuit) {
    r->status = Status::Error("build failed:\n" + r->diag.Format());
    return r;
  }
  Status s = options.ApplyNetlistOptions(*r->nl);
  if (!s.ok()) {
    r->status = s;
    return r;
  }
  for (const auto& a : r->nl->analyses) {
    WaveformTable w;
    r->status = RunAnalysis(*r->circuit, *r->nl, a, options, nullptr, &w);
    if (!r->status.ok()) return r;
    r->tables.push_back(std::move(w));
  }
  return r;
}

double At(const WaveformTable& w, const std::string& name, int k) {
  const int j = w.Find(name);
  BOOST_REQUIRE_MESSAGE(j >= 0, "no column " << name);
  return w.rows[k][j];
}

BOOST_AUTO_TEST_CASE(rc_pulse_deck) {
  auto r = RunDeck(R"(rc pulse
v1 in 0 pulse(0 1 1m 1u 1u 10m 20m)
r1 in out 1k
c1 out 0 1u
.tran 10u 5m
.end
)");
  BOOST_REQUIRE_MESSAGE(r->status.ok(), r->status.message());
  const auto& w = r->tables[0];
  BOOST_CHECK_EQUAL(w.analysis, "Transient Analysis");
  double max_err = 0;
  for (int k = 0; k < w.num_points(); ++k) {
    const double t = w.scale[k];
    // Ramp of 1 us is negligible against tau = 1 ms: compare after the ramp.
    const double exact =
        t < 1.001e-3 ? (t <= 1e-3 ? 0.0 : NAN) : 1.0 - std::exp(-(t - 1.0005e-3) / 1e-3);
    if (std::isnan(exact)) continue;
    max_err = std::max(max_err, std::abs(At(w, "v(out)", k) - exact));
  }
  BOOST_CHECK_LT(max_err, 3e-3);
}

BOOST_AUTO_TEST_CASE(diode_op_and_sweep) {
  auto r = RunDeck(R"(diode
v1 in 0 dc 5
r1 in a 1k
d1 a 0 dmod
.model dmod d (is=1e-14 n=1)
.op
.dc v1 0 5 0.5
.end
)");
  BOOST_REQUIRE_MESSAGE(r->status.ok(), r->status.message());
  const auto& op = r->tables[0];
  const double va = At(op, "v(a)", 0);
  BOOST_CHECK(va > 0.6 && va < 0.8);
  const double vt = 1.380649e-23 * 300.15 / 1.602176634e-19;
  BOOST_CHECK_CLOSE((5.0 - va) / 1e3, 1e-14 * (std::exp(va / vt) - 1.0), 0.5);
  const auto& dc = r->tables[1];
  BOOST_REQUIRE_EQUAL(dc.num_points(), 11);
  for (int k = 1; k < dc.num_points(); ++k) {
    BOOST_CHECK_GT(At(dc, "v(a)", k), At(dc, "v(a)", k - 1));  // monotone
  }
}

BOOST_AUTO_TEST_CASE(rlc_deck_with_gear_option) {
  auto r = RunDeck(R"(series rlc
v1 in 0 pulse(0 1 0 1n 1n 1 2)
r1 in a 10
l1 a b 1m
c1 b 0 1u
.options method=gear reltol=1e-4
.tran 1u 1m
.end
)");
  BOOST_REQUIRE_MESSAGE(r->status.ok(), r->status.message());
  const auto& w = r->tables[0];
  // Underdamped: alpha = R/2L = 5e3, w0 = 1/sqrt(LC) = 31623; v_c = 1 - e^{-at}(cos wd t + a/wd sin
  // wd t).
  const double a = 5e3, w0 = 1.0 / std::sqrt(1e-9), wd = std::sqrt(w0 * w0 - a * a);
  double max_err = 0;
  for (int k = 0; k < w.num_points(); ++k) {
    const double t = w.scale[k];
    const double exact = 1.0 - std::exp(-a * t) * (std::cos(wd * t) + a / wd * std::sin(wd * t));
    max_err = std::max(max_err, std::abs(At(w, "v(b)", k) - exact));
  }
  BOOST_CHECK_LT(max_err, 2e-2);
}

// Value at (row, col) of a CSC matrix with the circuit's pattern.
double Entry(const Circuit& c, const std::vector<double>& values, int row, int col) {
  for (int k = c.col_ptr()[col]; k < c.col_ptr()[col + 1]; ++k) {
    if (c.row_idx()[k] == row) return values[k];
  }
  return 0.0;
}

BOOST_AUTO_TEST_CASE(dc_temp_rebuilds_capacitor_and_inductor_values) {
  netlist::Diagnostics diag;
  auto nl = netlist::ParseString(R"(C and L written with temper
v1 in 0 1
r1 in a 1k
c1 a 0 {1p*(1+0.01*temper)}
l1 a b {1u*(1+0.002*temper)}
r2 b 0 1k
.dc temp 0 100 50
.end
)",
                                 "deck.cir", {}, diag);
  BOOST_REQUIRE_MESSAGE(nl, diag.Format());
  auto circuit = Circuit::Build(*nl, diag);
  BOOST_REQUIRE_MESSAGE(circuit, diag.Format());
  const int a = circuit->FindNode("a"), il = circuit->FindUnknown("i(l1)");
  BOOST_REQUIRE(a >= 0 && il >= 0);
  auto capacitances = [&](double* c, double* l) {
    Assembler assembler(*circuit);
    std::vector<double> x(circuit->size(), 0.0);
    assembler.Evaluate(x.data(), EvalRequest{});
    *c = Entry(*circuit, assembler.C(), a, a);
    *l = std::abs(Entry(*circuit, assembler.C(), il, il));
  };
  double c = 0, l = 0;
  capacitances(&c, &l);  // built at the deck temperature, 27 C
  BOOST_CHECK_CLOSE(c, 1e-12 * 1.27, 1e-9);
  BOOST_CHECK_CLOSE(l, 1e-6 * 1.054, 1e-9);
  const netlist::Netlist hot = netlist::AtTemperature(*nl, 127.0);
  for (const auto& e : hot.elements) {
    if (e.name == "c1" || e.name == "l1") {
      BOOST_REQUIRE_MESSAGE(circuit->ReplaceDevice(e, hot, diag), diag.Format());
    }
  }
  capacitances(&c, &l);
  BOOST_CHECK_CLOSE(c, 1e-12 * 2.27, 1e-9);
  BOOST_CHECK_CLOSE(l, 1e-6 * 1.254, 1e-9);
  netlist::Element stranger = hot.elements.front();
  stranger.name = "v9";
  BOOST_CHECK(!circuit->ReplaceDevice(stranger, hot, diag));
}

BOOST_AUTO_TEST_CASE(dc_temp_follows_diode_model_and_restores_the_deck_temperature) {
  auto r = RunDeck(R"(diode model written with temper
i1 0 d 1m
d1 d 0 dm
.model dm d (is={1e-14*(1+0.02*temper)} n=1.5)
.dc temp -20 120 35
.op
.end
)");
  BOOST_REQUIRE_MESSAGE(r->status.ok(), r->status.message());
  // v = n Vt ln(I / Is + 1), with Vt and Is at the sweep temperature: the temper expression,
  // then the diode's own scaling from TNOM = 27 C (EG = 1.11 eV, XTI = 3 by default).
  auto expected = [](double celsius) {
    const double t = celsius + 273.15, tnom = 300.15, n = 1.5,
                 vt = devices::ThermalVoltage(celsius);
    const double scale = std::exp((t / tnom - 1) * 1.11 / (n * vt) + 3.0 / n * std::log(t / tnom));
    const double is = 1e-14 * (1 + 0.02 * celsius) * scale;
    return n * vt * std::log(1e-3 / is + 1.0);
  };
  const auto& dc = r->tables[0];
  BOOST_REQUIRE_EQUAL(dc.num_points(), 5);
  for (int k = 0; k < dc.num_points(); ++k) {
    BOOST_CHECK_CLOSE(At(dc, "v(d)", k), expected(dc.scale[k]), 1e-3);
  }
  BOOST_CHECK_CLOSE(At(r->tables[1], "v(d)", 0), expected(27.0), 1e-3);  // .op after the sweep
}

// SPICE's bypass (on by default; `.options bypass=0` turns it off): a five-stage CMOS ring
// oscillator with Meyer, overlap and junction capacitances. The bypassed run reuses device
// linearisations, so it is not the same run to round-off, but it agrees with the full one to a
// small fraction of the supply (the regression decks' criterion is 1 % of the range).
BOOST_AUTO_TEST_CASE(mosfet_bypass_agrees_with_full_evaluation) {
  std::string deck = "five-stage ring\nvdd vdd 0 3.3\n";
  for (int k = 1; k <= 5; ++k) {
    const std::string in = "n" + std::to_string(k), out = "n" + std::to_string(k % 5 + 1);
    deck +=
        "mp" + std::to_string(k) + " " + out + " " + in + " vdd vdd pch w=4u l=1u ad=8p as=8p\n";
    deck += "mn" + std::to_string(k) + " " + out + " " + in + " 0 0 nch w=2u l=1u ad=4p as=4p\n";
  }
  deck +=
      ".model nch nmos (level=1 vto=0.7 kp=110u gamma=0.4 lambda=0.04 tox=20n cj=2e-4 cgso=2e-10 "
      "cgdo=2e-10)\n.model pch pmos (level=1 vto=-0.8 kp=40u gamma=0.5 lambda=0.05 tox=20n "
      "cj=3e-4 cgso=2e-10 cgdo=2e-10)\n.ic v(n1)=3.3 v(n2)=0\n.tran 10p 6n\n";
  auto with = RunDeck(deck + ".end\n");
  auto without = RunDeck(deck + ".options bypass=0\n.end\n");
  BOOST_REQUIRE_MESSAGE(with->status.ok(), with->status.message());
  BOOST_REQUIRE_MESSAGE(without->status.ok(), without->status.message());
  const WaveformTable& a = with->tables[0];
  const WaveformTable& b = without->tables[0];
  // v(n3) of the bypassed run, linearly interpolated at the full run's times.
  const int ja = a.Find("v(n3)"), jb = b.Find("v(n3)");
  BOOST_REQUIRE(ja >= 0 && jb >= 0);
  double worst = 0.0, lo = INFINITY, hi = -INFINITY;
  size_t i = 0;
  for (int k = 0; k < b.num_points(); ++k) {
    const double t = b.scale[k];
    while (i + 2 < a.scale.size() && a.scale[i + 1] < t) ++i;
    const double u = std::clamp((t - a.scale[i]) / (a.scale[i + 1] - a.scale[i]), 0.0, 1.0);
    const double va = a.rows[i][ja] + u * (a.rows[i + 1][ja] - a.rows[i][ja]);
    worst = std::max(worst, std::abs(va - b.rows[k][jb]));
    lo = std::min(lo, b.rows[k][jb]);
    hi = std::max(hi, b.rows[k][jb]);
  }
  BOOST_TEST_MESSAGE("bypass: " << a.num_points() << " points, full: " << b.num_points()
                                << ", largest difference " << worst << " V");
  BOOST_CHECK_GT(hi - lo, 2.0);  // it oscillates rail to rail
  BOOST_CHECK_LT(worst, 0.01 * (hi - lo));
  // The option reaches the solver: the two runs are not the same computation.
  bool differ = a.num_points() != b.num_points();
  for (int k = 0; !differ && k < a.num_points(); ++k) differ = a.rows[k] != b.rows[k];
  BOOST_CHECK(differ);
}

}  // namespace
}  // namespace memspice::solver
