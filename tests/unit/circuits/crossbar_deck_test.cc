// Generated crossbar decks run in memspice and ngspice 39: element counts after parsing, unknowns
// of the built circuit, Ohm's law on ideal lines, and memspice == ngspice with line R and C.
#define BOOST_TEST_MODULE crossbar_deck
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "circuits/crossbar.h"
#include "netlist/netlist.h"
#include "ngspice/runner.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "tests/test_util.h"

namespace mc = memspice::circuits;
namespace nl = memspice::netlist;
namespace sv = memspice::solver;

namespace {

std::optional<nl::Netlist> Parse(const std::string& deck, nl::Diagnostics& diag) {
  return nl::ParseString(deck, "crossbar.cir", nl::ParseOptions{}, diag);
}

// Runs the deck's first analysis in memspice.
memspice::io::WaveformTable Simulate(const std::string& deck) {
  nl::Diagnostics diag;
  auto netlist = Parse(deck, diag);
  BOOST_TEST_REQUIRE(netlist.has_value(), diag.Format());
  auto circuit = sv::Circuit::Build(*netlist, diag);
  BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
  sv::SimOptions options;
  memspice::Status st = options.ApplyNetlistOptions(*netlist);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST_REQUIRE(netlist->analyses.size() == 1u);
  memspice::io::WaveformTable table;
  st = sv::RunAnalysis(*circuit, *netlist, netlist->analyses[0], options, nullptr, &table);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  return table;
}

memspice::io::WaveformTable Ngspice(const std::string& deck) {
  memspice::ngspice::NgspiceResult result;
  memspice::Status st =
      memspice::ngspice::RunNgspiceText(deck, std::filesystem::temp_directory_path().string(),
                                        memspice::ngspice::NgspiceOptions{}, &result);
  BOOST_TEST_REQUIRE(st.ok(), st.message() + "\n" + st.hint());
  for (const auto& p : result.plots)
    if (!p.scale.empty()) return p;
  BOOST_FAIL("ngspice wrote no transient plot");
  return {};
}

// Column current of ideal lines: sum_i G_ik V_i(t) with V_i = A_i sin(2 pi f_i t + phase_i).
double IdealCurrent(const mc::CrossbarSpec& s, const std::vector<double>& g, int k, double t) {
  const int phys = mc::PhysicalColumns(s);
  double sum = 0;
  for (int i = 0; i < s.rows; ++i) {
    const double a = s.amplitude * (1.0 - 0.5 * i / std::max(1, s.rows - 1));
    const double f = s.frequency * (1.0 + static_cast<double>(i) / s.rows);
    const double ph = 360.0 * i / s.rows * std::numbers::pi / 180.0;
    sum += g[i * phys + k] * a * std::sin(2 * std::numbers::pi * f * t + ph);
  }
  return sum;
}

// Max over signals and points of |table - ideal|, and the peak |ideal|.
void CheckOhm(const mc::CrossbarSpec& s, const memspice::io::WaveformTable& table, double rel_tol) {
  const std::vector<double> g = mc::CellConductances(s);
  double peak = 0, diff = 0;
  for (int k = 0; k < mc::PhysicalColumns(s); ++k) {
    const int j = table.Find("i(vsense_" + mc::BitLineLabel(s, k) + ")");
    BOOST_TEST_REQUIRE(j >= 0, "missing i(vsense_" << mc::BitLineLabel(s, k) << ")");
    for (int p = 0; p < table.num_points(); ++p) {
      const double ideal = IdealCurrent(s, g, k, table.scale[p]);
      peak = std::max(peak, std::abs(ideal));
      diff = std::max(diff, std::abs(table.rows[p][j] - ideal));
    }
  }
  BOOST_TEST(peak > 1e-5);
  BOOST_TEST(diff <= rel_tol * peak, "max |i - G v| = " << diff << " A, peak " << peak << " A");
}

double Interp(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  if (x <= xs.front()) return ys.front();
  if (x >= xs.back()) return ys.back();
  const size_t k = std::upper_bound(xs.begin(), xs.end(), x) - xs.begin();
  const double w = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
  return ys[k - 1] + w * (ys[k] - ys[k - 1]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(deck_parses_to_the_counted_elements_and_unknowns) {
  for (bool differential : {false, true}) {
    mc::CrossbarSpec s;
    s.rows = 4;
    s.cols = 5;
    s.differential = differential;
    const std::string deck = mc::GenerateCrossbarDeck(s);
    nl::Diagnostics diag;
    auto netlist = Parse(deck, diag);
    BOOST_TEST_REQUIRE(netlist.has_value(), diag.Format());
    std::map<char, int> letters;
    for (const auto& e : netlist->elements) ++letters[e.letter];
    const mc::CrossbarCounts c = mc::CountCrossbar(s);
    BOOST_TEST(letters['r'] == c.cells + c.line_resistors);
    BOOST_TEST(letters['c'] == c.capacitors);
    BOOST_TEST(letters['v'] == c.sources);
    BOOST_TEST(netlist->analyses.size() == 1u);
    BOOST_TEST(netlist->analyses[0].tstop == 1e-3);
    BOOST_TEST(netlist->analyses[0].tmax == 1e-6);
    BOOST_TEST(static_cast<int>(netlist->outputs.size()) == mc::PhysicalColumns(s));
    auto circuit = sv::Circuit::Build(*netlist, diag);
    BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
    BOOST_TEST(circuit->size() == c.unknowns);
    BOOST_TEST(circuit->all_linear());
  }
}

BOOST_AUTO_TEST_CASE(one_transistor_one_memristor_deck_parses_to_the_counted_unknowns) {
  for (double rline : {0.0, 2.0}) {
    mc::CrossbarSpec s;
    s.rows = 3;
    s.cols = 4;
    s.rline = rline;
    s.cell = mc::CellKind::k1t1r;
    s.gate_voltage = 1.5;
    nl::Diagnostics diag;
    nl::ParseOptions po;
    po.include_paths.push_back(std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib");
    auto netlist = nl::ParseString(mc::GenerateCrossbarDeck(s), "1t1r.cir", po, diag);
    BOOST_TEST_REQUIRE(netlist.has_value(), diag.Format());
    std::map<char, int> letters;
    for (const auto& e : netlist->elements) ++letters[e.letter];
    const mc::CrossbarCounts c = mc::CountCrossbar(s);
    BOOST_TEST(letters['m'] == c.cells);
    BOOST_TEST(letters['y'] == c.cells);
    BOOST_TEST(letters['v'] == c.sources);
    auto circuit = sv::Circuit::Build(*netlist, diag);
    BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
    BOOST_TEST(circuit->size() == c.unknowns);
  }
  mc::CrossbarSpec bad;
  bad.cell = mc::CellKind::k1t1r;
  bad.selector_w = 0;
  BOOST_TEST(!mc::ValidateCrossbarSpec(bad).ok());
}

BOOST_AUTO_TEST_CASE(mss_deck_carries_the_mapped_initial_states) {
  mc::CrossbarSpec s;
  s.rows = 2;
  s.cols = 3;
  s.cell = mc::CellKind::kMss;
  s.model = "syn";
  s.model_card = ".model syn mss (ron=1k roff=100k k=0.1)";
  nl::Diagnostics diag;
  auto netlist = Parse(mc::GenerateCrossbarDeck(s), diag);
  BOOST_TEST_REQUIRE(netlist.has_value(), diag.Format());
  const std::vector<double> g = mc::CellConductances(s);
  int cells = 0;
  for (const auto& e : netlist->elements) {
    if (e.letter != 'y') continue;
    BOOST_TEST(e.model == "syn");
    const double x0 = e.params.at("x0");
    BOOST_TEST(std::abs(x0 - mc::ConductanceToState(g[cells], 1e3, 1e5)) < 1e-11);
    ++cells;
  }
  BOOST_TEST(cells == 6);
}

BOOST_AUTO_TEST_CASE(memspice_ideal_crossbar_obeys_ohms_law) {
  mc::CrossbarSpec s;
  s.rows = 3;
  s.cols = 4;
  s.rline = 0;
  s.steps = 100;
  CheckOhm(s, Simulate(mc::GenerateCrossbarDeck(s)), 1e-9);
  s.differential = true;
  CheckOhm(s, Simulate(mc::GenerateCrossbarDeck(s)), 1e-9);
}

BOOST_AUTO_TEST_CASE(ngspice_runs_the_same_deck_and_obeys_ohms_law) {
  if (!memspice::testing::HaveNgspice()) return;
  mc::CrossbarSpec s;
  s.rows = 3;
  s.cols = 4;
  s.rline = 0;
  s.steps = 100;
  CheckOhm(s, Ngspice(mc::GenerateCrossbarDeck(s)), 1e-6);
}

BOOST_AUTO_TEST_CASE(memspice_matches_ngspice_with_line_resistance_and_capacitance) {
  if (!memspice::testing::HaveNgspice()) return;
  mc::CrossbarSpec s;
  s.rows = 6;
  s.cols = 5;
  s.rline = 20;
  s.cline = 2e-11;  // RC per segment 0.4 ns; the line delay shows against the 1 us step
  s.steps = 200;
  s.options = "reltol=1e-4";
  const std::string deck = mc::GenerateCrossbarDeck(s);
  const memspice::io::WaveformTable ms = Simulate(deck);
  const memspice::io::WaveformTable ng = Ngspice(deck);
  // Lines make a visible difference from the ideal array (so this compares something real).
  double peak = 0, diff = 0, line_effect = 0;
  const std::vector<double> g = mc::CellConductances(s);
  for (int k = 0; k < s.cols; ++k) {
    const std::string name = "i(vsense_" + std::to_string(k) + ")";
    const int jm = ms.Find(name), jn = ng.Find(name);
    BOOST_TEST_REQUIRE(jm >= 0);
    BOOST_TEST_REQUIRE(jn >= 0);
    const std::vector<double> my = ms.Column(jm);
    for (int p = 0; p < ng.num_points(); ++p) {
      const double v = ng.rows[p][jn];
      peak = std::max(peak, std::abs(v));
      diff = std::max(diff, std::abs(Interp(ms.scale, my, ng.scale[p]) - v));
      line_effect = std::max(line_effect, std::abs(v - IdealCurrent(s, g, k, ng.scale[p])));
    }
  }
  BOOST_TEST(peak > 1e-5);
  BOOST_TEST(line_effect > 1e-3 * peak);
  BOOST_TEST(diff <= 2e-3 * peak, "max |memspice - ngspice| = " << diff << " A, peak " << peak);
}

BOOST_AUTO_TEST_CASE(mss_crossbar_reads_back_its_weights_through_x0) {
  // mss_synapse (circuits/lib/mss.lib) does not switch at 0.2 V reads, so the states stay at x0
  // and G(x0) = x0/ron + (1-x0)/roff must give back the requested conductances: Ohm's law again.
  mc::CrossbarSpec s;
  s.rows = 3;
  s.cols = 2;
  s.rline = 0;
  s.steps = 50;
  s.cell = mc::CellKind::kMss;
  nl::Diagnostics diag;
  nl::ParseOptions po;
  po.include_paths.push_back(std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib");
  auto netlist = nl::ParseString(mc::GenerateCrossbarDeck(s), "mss_crossbar.cir", po, diag);
  BOOST_TEST_REQUIRE(netlist.has_value(), diag.Format());
  auto circuit = sv::Circuit::Build(*netlist, diag);
  BOOST_TEST_REQUIRE(circuit != nullptr, diag.Format());
  BOOST_TEST(circuit->size() == mc::CountCrossbar(s).unknowns);
  sv::SimOptions options;
  BOOST_TEST_REQUIRE(options.ApplyNetlistOptions(*netlist).ok());
  memspice::io::WaveformTable table;
  memspice::Status st =
      sv::RunAnalysis(*circuit, *netlist, netlist->analyses[0], options, nullptr, &table);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  CheckOhm(s, table, 1e-3);
}
