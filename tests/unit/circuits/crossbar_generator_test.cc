// Crossbar generator: deck text structure, conductance and x0 mapping, spec and CSV errors.
#define BOOST_TEST_MODULE crossbar_generator
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "circuits/crossbar.h"

namespace mc = memspice::circuits;

namespace {

struct Line {
  std::string name;
  std::vector<std::string> fields;  // after the name
};

// Element lines of a deck (no comments, no dot cards), split on whitespace.
std::vector<Line> Elements(const std::string& deck) {
  std::vector<Line> out;
  std::istringstream in(deck);
  std::string text;
  bool first = true;
  while (std::getline(in, text)) {
    if (first) {  // title
      first = false;
      continue;
    }
    if (text.empty() || text[0] == '*' || text[0] == '.') continue;
    std::istringstream ls(text);
    Line l;
    ls >> l.name;
    for (std::string f; ls >> f;) l.fields.push_back(f);
    out.push_back(l);
  }
  return out;
}

int CountPrefix(const std::vector<Line>& lines, const std::string& prefix) {
  int n = 0;
  for (const Line& l : lines) n += l.name.rfind(prefix, 0) == 0;
  return n;
}

std::map<std::string, Line> ByName(const std::vector<Line>& lines) {
  std::map<std::string, Line> m;
  for (const Line& l : lines) m[l.name] = l;
  return m;
}

std::set<std::string> Nodes(const std::vector<Line>& lines) {
  std::set<std::string> nodes;
  for (const Line& l : lines) {
    // Every element here has its two nodes first.
    for (int k = 0; k < 2; ++k)
      if (l.fields[k] != "0") nodes.insert(l.fields[k]);
  }
  return nodes;
}

int CountDotCard(const std::string& deck, const std::string& card) {
  int n = 0;
  std::istringstream in(deck);
  for (std::string t; std::getline(in, t);) n += t.rfind(card, 0) == 0;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(resistive_deck_has_the_documented_topology) {
  mc::CrossbarSpec s;
  s.rows = 3;
  s.cols = 5;
  s.rline = 2.5;
  s.cline = 3e-15;
  const std::string deck = mc::GenerateCrossbarDeck(s);
  const auto lines = Elements(deck);
  const mc::CrossbarCounts c = mc::CountCrossbar(s);
  BOOST_TEST(c.cells == 15);
  BOOST_TEST(CountPrefix(lines, "r_") == 15);
  BOOST_TEST(CountPrefix(lines, "rw_") == 15);  // rows x cols word segments (driver to col 0 too)
  BOOST_TEST(CountPrefix(lines, "rb_") == 15);
  BOOST_TEST(c.line_resistors == 30);
  BOOST_TEST(CountPrefix(lines, "cw_") + CountPrefix(lines, "cb_") == c.capacitors);
  BOOST_TEST(c.capacitors == 30);
  BOOST_TEST(CountPrefix(lines, "vin_") == 3);
  BOOST_TEST(CountPrefix(lines, "vsense_") == 5);
  BOOST_TEST(static_cast<int>(lines.size()) == 15 + 30 + 30 + 3 + 5);
  const auto nodes = Nodes(lines);
  BOOST_TEST(static_cast<int>(nodes.size()) == c.nodes);
  BOOST_TEST(c.nodes == 3 * 6 + 5 * 4);
  BOOST_TEST(c.unknowns == c.nodes + 8);

  const auto by = ByName(lines);
  // Word line 1 runs win_1 -> w1_0 -> ... -> w1_4; bit line 3 runs b0_3 -> b1_3 -> b2_3 -> bout_3.
  BOOST_TEST(by.at("rw_1_0").fields[0] == "win_1");
  BOOST_TEST(by.at("rw_1_0").fields[1] == "w1_0");
  BOOST_TEST(by.at("rw_1_4").fields[0] == "w1_3");
  BOOST_TEST(std::stod(by.at("rw_1_4").fields[2]) == 2.5);
  BOOST_TEST(by.at("rb_0_3").fields[1] == "b1_3");
  BOOST_TEST(by.at("rb_2_3").fields[1] == "bout_3");
  BOOST_TEST(by.at("r_2_3").fields[0] == "w2_3");
  BOOST_TEST(by.at("r_2_3").fields[1] == "b2_3");
  BOOST_TEST(std::stod(by.at("cb_2_3").fields[2]) == 3e-15);
  BOOST_TEST(by.at("vsense_3").fields[0] == "bout_3");

  // Cell resistors are 1/G of the documented conductances, all inside [1/roff, 1/ron].
  const std::vector<double> g = mc::CellConductances(s);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 5; ++j) {
      const double gij = g[i * 5 + j];
      BOOST_TEST(gij >= 1e-5);
      BOOST_TEST(gij <= 1e-3);
      const double r =
          std::stod(by.at("r_" + std::to_string(i) + "_" + std::to_string(j)).fields[2]);
      BOOST_TEST(std::abs(r * gij - 1.0) < 1e-10);
    }
  }
  // Analysis: max step = tstep so every simulator takes >= steps steps; sense currents saved.
  BOOST_TEST(deck.find(".tran 1e-06 0.001 0 1e-06\n") != std::string::npos);
  BOOST_TEST(deck.find(".save i(vsense_0) i(vsense_1) i(vsense_2) i(vsense_3) i(vsense_4)\n") !=
             std::string::npos);
  BOOST_TEST(CountDotCard(deck, ".end") == 1);
  BOOST_TEST(deck.substr(deck.size() - 5) == ".end\n");
}

BOOST_AUTO_TEST_CASE(drivers_spread_amplitude_frequency_and_phase) {
  mc::CrossbarSpec s;
  s.rows = 4;
  s.cols = 2;
  s.amplitude = 0.4;
  s.frequency = 2e3;
  const auto by = ByName(Elements(mc::GenerateCrossbarDeck(s)));
  // vin_i win_i 0 dc 0 sin(0 A F 0 0 PHASE)
  BOOST_TEST(by.at("vin_0").fields[4] == "sin(0");
  BOOST_TEST(std::stod(by.at("vin_0").fields[5]) == 0.4);
  BOOST_TEST(std::stod(by.at("vin_3").fields[5]) == 0.2);   // 0.4 * (1 - 0.5 * 3/3)
  BOOST_TEST(std::stod(by.at("vin_2").fields[6]) == 3e3);   // 2e3 * (1 + 2/4)
  BOOST_TEST(std::stod(by.at("vin_1").fields[9]) == 90.0);  // 360 * 1/4 degrees
  s.row_amplitude = {0.1, 0.2, 0.3, 0.5};
  const auto by2 = ByName(Elements(mc::GenerateCrossbarDeck(s)));
  BOOST_TEST(std::stod(by2.at("vin_3").fields[5]) == 0.5);
  s.row_phase = {0, 0};
  BOOST_TEST(!mc::ValidateCrossbarSpec(s).ok());
  BOOST_TEST(mc::ValidateCrossbarSpec(s).message().find("row_phase: 2 values given") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(random_conductances_are_reproducible_from_the_seed) {
  mc::CrossbarSpec s;
  s.rows = 6;
  s.cols = 7;
  const auto a = mc::CellConductances(s);
  const auto b = mc::CellConductances(s);
  BOOST_TEST(a == b);
  s.seed = 2;
  const auto c = mc::CellConductances(s);
  BOOST_TEST(a != c);
  // Spread over the range, not constant.
  double lo = 1, hi = 0;
  for (double g : c) {
    lo = std::min(lo, g);
    hi = std::max(hi, g);
  }
  BOOST_TEST(lo >= 1e-5);
  BOOST_TEST(hi <= 1e-3);
  BOOST_TEST(hi - lo > 0.5 * (1e-3 - 1e-5));
  BOOST_TEST(mc::GenerateCrossbarDeck(s) == mc::GenerateCrossbarDeck(s));
}

BOOST_AUTO_TEST_CASE(given_conductances_are_used_verbatim) {
  mc::CrossbarSpec s;
  s.rows = 2;
  s.cols = 2;
  s.rline = 0;
  s.weights = {1e-3, 1e-4, 2e-5, 5e-4};
  const auto by = ByName(Elements(mc::GenerateCrossbarDeck(s)));
  // Each cell's resistance is written exactly as 1 / g (1 / 2e-5 is 49999.999999999993 in double).
  BOOST_TEST(std::stod(by.at("r_0_0").fields[2]) == 1.0 / 1e-3);
  BOOST_TEST(std::stod(by.at("r_0_1").fields[2]) == 1.0 / 1e-4);
  BOOST_TEST(std::stod(by.at("r_1_0").fields[2]) == 1.0 / 2e-5);
  BOOST_TEST(std::stod(by.at("r_1_1").fields[2]) == 1.0 / 5e-4);
  // Ideal lines: cells sit on the driver and sense nodes, no segments, no capacitors.
  BOOST_TEST(by.at("r_1_0").fields[0] == "win_1");
  BOOST_TEST(by.at("r_1_0").fields[1] == "bout_0");
  BOOST_TEST(by.count("rw_0_0") == 0);
  BOOST_TEST(by.count("cw_0_0") == 0);
  BOOST_TEST(mc::CountCrossbar(s).nodes == 4);
}

BOOST_AUTO_TEST_CASE(differential_pairs_encode_signed_weights) {
  mc::CrossbarSpec s;
  s.rows = 2;
  s.cols = 3;
  s.differential = true;
  const double span = 1e-3 - 1e-5;
  s.weights = {span, -span, 0.0, 2e-4, -3e-4, 1e-6};
  const std::vector<double> g = mc::CellConductances(s);
  BOOST_TEST(g.size() == 12u);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double gp = g[i * 6 + 2 * j], gn = g[i * 6 + 2 * j + 1];
      BOOST_TEST(std::abs((gp - gn) - s.weights[i * 3 + j]) < 1e-15);
      BOOST_TEST(std::min(gp, gn) == 1e-5);  // one side of each pair at 1/roff
    }
  }
  const std::string deck = mc::GenerateCrossbarDeck(s);
  const auto lines = Elements(deck);
  const auto by = ByName(lines);
  BOOST_TEST(CountPrefix(lines, "r_") == 12);
  BOOST_TEST(CountPrefix(lines, "vsense_") == 6);
  BOOST_TEST(by.at("r_1_2n").fields[0] == "w1_2n");
  BOOST_TEST(by.at("r_1_2n").fields[1] == "b1_2n");
  BOOST_TEST(by.at("rw_1_2n").fields[0] == "w1_2p");  // word line runs p then n for each column
  BOOST_TEST(by.at("vsense_2p").fields[0] == "bout_2p");
  BOOST_TEST(mc::BitLineLabel(s, 5) == "2n");
  BOOST_TEST(mc::CountCrossbar(s).unknowns == static_cast<int>(Nodes(lines).size()) + 2 + 6);

  s.weights[4] = -1.5e-3;
  const auto st = mc::ValidateCrossbarSpec(s);
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.message().find("row 1, col 1: signed weight -0.0015") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(mss_cells_map_conductance_to_initial_state) {
  BOOST_TEST(mc::ConductanceToState(1e-3, 1e3, 1e5) == 1.0);
  BOOST_TEST(mc::ConductanceToState(1e-5, 1e3, 1e5) == 0.0);
  BOOST_TEST(std::abs(mc::ConductanceToState(0.5 * (1e-3 + 1e-5), 1e3, 1e5) - 0.5) < 1e-12);
  BOOST_TEST(mc::ConductanceToState(2e-3, 1e3, 1e5) == 1.0);  // clipped
  BOOST_TEST(mc::ConductanceToState(0.0, 1e3, 1e5) == 0.0);

  mc::CrossbarSpec s;
  s.rows = 2;
  s.cols = 2;
  s.cell = mc::CellKind::kMss;
  s.ron = 2e3;
  s.roff = 2e5;
  s.weights = {1.0 / 2e3, 1.0 / 2e5, 0.25 / 2e3 + 0.75 / 2e5, 3e-4};
  const std::string deck = mc::GenerateCrossbarDeck(s);
  BOOST_TEST(deck.find(".include mss.lib\n") != std::string::npos);
  const auto by = ByName(Elements(deck));
  // ymss m_i_k w b model x0=...
  BOOST_TEST(by.at("ymss").fields.size() == 5u);  // ByName keeps the last: m_1_1
  std::vector<double> x0;
  for (const Line& l : Elements(deck)) {
    if (l.name != "ymss") continue;
    BOOST_TEST(l.fields[3] == "mss_synapse");
    BOOST_TEST(l.fields[4].rfind("x0=", 0) == 0u);
    x0.push_back(std::stod(l.fields[4].substr(3)));
  }
  BOOST_TEST(x0.size() == 4u);
  BOOST_TEST(std::abs(x0[0] - 1.0) < 1e-12);
  BOOST_TEST(std::abs(x0[1] - 0.0) < 1e-12);
  BOOST_TEST(std::abs(x0[2] - 0.25) < 1e-11);
  BOOST_TEST(std::abs(x0[3] - (3e-4 - 5e-6) / (5e-4 - 5e-6)) < 1e-11);
  BOOST_TEST(mc::CountCrossbar(s).unknowns == mc::CountCrossbar(s).nodes + 2 + 2 + 4);

  s.model_card = ".model syn mss (ron=2k roff=200k k=0.1)";
  s.model = "syn";
  const std::string deck2 = mc::GenerateCrossbarDeck(s);
  BOOST_TEST(deck2.find(".model syn mss (ron=2k roff=200k k=0.1)\n") != std::string::npos);
  BOOST_TEST(deck2.find(".include") == std::string::npos);
  BOOST_TEST(deck2.find("ymss m_0_1 w0_1 b0_1 syn x0=0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(subckt_exposes_word_and_bit_ports) {
  mc::CrossbarSpec s;
  s.rows = 2;
  s.cols = 2;
  s.differential = true;
  std::string text;
  BOOST_TEST_REQUIRE(mc::GenerateCrossbarSubckt(s, "xbar", &text).ok());
  BOOST_TEST(text.find(".subckt xbar win_0 win_1 bout_0p bout_0n bout_1p bout_1n\n") !=
             std::string::npos);
  BOOST_TEST(text.find(".ends xbar\n") != std::string::npos);
  BOOST_TEST(text.find("vin_") == std::string::npos);
  BOOST_TEST(text.find(".tran") == std::string::npos);
  BOOST_TEST(!mc::GenerateCrossbarSubckt(s, "two words", &text).ok());
}

BOOST_AUTO_TEST_CASE(bad_specs_name_the_field_and_every_problem) {
  mc::CrossbarSpec s;
  s.rows = 0;
  s.rline = -1;
  s.steps = 0;
  auto st = mc::ValidateCrossbarSpec(s);
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.message().find("rows = 0") != std::string::npos);
  BOOST_TEST(st.message().find("rline = -1") != std::string::npos);
  BOOST_TEST(st.message().find("steps = 0") != std::string::npos);
  std::string deck = "untouched";
  BOOST_TEST(!mc::GenerateCrossbarDeck(s, &deck).ok());
  BOOST_TEST(deck == "untouched");
  BOOST_CHECK_THROW(mc::GenerateCrossbarDeck(s), std::invalid_argument);

  mc::CrossbarSpec r;
  r.rows = 2;
  r.cols = 2;
  r.ron = 1e5;
  r.roff = 1e3;
  BOOST_TEST(mc::ValidateCrossbarSpec(r).message().find("need 0 < ron < roff") !=
             std::string::npos);

  mc::CrossbarSpec w;
  w.rows = 2;
  w.cols = 3;
  w.weights = {1e-4, 1e-4, 1e-4, 1e-4, 2e-3, 1e-4};
  st = mc::ValidateCrossbarSpec(w);
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.message().find("row 1, col 1: conductance 0.002 S outside [1e-05, 0.001] S") !=
             std::string::npos);
  w.weights = {1e-4, 1e-4};
  BOOST_TEST(mc::ValidateCrossbarSpec(w).message().find("2 values given, expected rows x cols") !=
             std::string::npos);
  w.weights = {1e-4, 1e-4, 1e-4, 1e-4, NAN, 1e-4};
  BOOST_TEST(mc::ValidateCrossbarSpec(w).message().find("row 1, col 1: value nan is not finite") !=
             std::string::npos);

  mc::CrossbarSpec big;
  big.rows = 4096;
  big.cols = 2048;
  BOOST_TEST(mc::ValidateCrossbarSpec(big).message().find("more than 4194304 cross points") !=
             std::string::npos);
  big.cols = 1024;
  BOOST_TEST(mc::ValidateCrossbarSpec(big).ok());
  big.differential = true;
  BOOST_TEST(!mc::ValidateCrossbarSpec(big).ok());

  mc::CrossbarSpec m;
  m.cell = mc::CellKind::kMss;
  m.include.clear();
  BOOST_TEST(mc::ValidateCrossbarSpec(m).message().find("need a model card") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(weights_csv_reads_and_reports_shape_errors) {
  std::vector<double> w;
  auto st =
      mc::ParseWeightsCsv("# header\n1e-4, 2e-4,3e-4\n\n4e-4;5e-4;6e-4\r\n", "w.csv", 2, 3, &w);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST(w == (std::vector<double>{1e-4, 2e-4, 3e-4, 4e-4, 5e-4, 6e-4}));
  st = mc::ParseWeightsCsv("1 2 3\n4\t5 6", "w.txt", 2, 3, &w);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  BOOST_TEST(w[5] == 6.0);

  st = mc::ParseWeightsCsv("1,2,3\n4,5\n", "w.csv", 2, 3, &w);
  BOOST_TEST(!st.ok());
  BOOST_TEST(st.message() == "w.csv:2: row 1 has 2 values, expected 3");
  st = mc::ParseWeightsCsv("1,2,3\n", "w.csv", 2, 3, &w);
  BOOST_TEST(st.message() == "w.csv: 1 rows found, expected 2 rows x 3 cols");
  st = mc::ParseWeightsCsv("1,2,3\n4,5,6\n7,8,9\n", "w.csv", 2, 3, &w);
  BOOST_TEST(st.message() == "w.csv:3: extra row 2: expected 2 rows x 3 cols");
  // Every error of the file is reported, with line and 0-based row/col.
  st = mc::ParseWeightsCsv("1,abc,3\n4,,6\n", "w.csv", 2, 3, &w);
  BOOST_TEST(st.message() ==
             "w.csv:1: row 0, col 1: 'abc' is not a finite number\n"
             "w.csv:2: row 1, col 1: '' is not a finite number");
  st = mc::ParseWeightsCsv("1,inf,3\n", "w.csv", 1, 3, &w);
  BOOST_TEST(!st.ok());
  BOOST_TEST(!mc::ReadWeightsCsv("/nonexistent/w.csv", 2, 2, &w).ok());
}
