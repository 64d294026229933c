// Runs the decks in tests/unit/devices/decks through memspice (library API, fixed small step)
// and through ngspice (tight tolerances), and compares every saved signal on ngspice's grid.
// This pins down the sign conventions, defaults and model equations of the standard devices
// against the reference simulator. Skipped with MEMSPICE_SKIP_NGSPICE=1 on machines without
// ngspice.
#define BOOST_TEST_MODULE devices_ngspice
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using memspice::netlist::Diagnostics;
using memspice::testing::ReadFile;

namespace {

// The ngspice executable on PATH (HaveNgspice() has checked that there is one).
std::string NgspicePath() {
  std::string path;
  return memspice::ngspice::FindNgspice("ngspice", &path).ok() ? path : "ngspice";
}

struct Case {
  const char* deck;
  std::vector<std::string> signals;
  double fixed_step;  // memspice step for .tran (0 for .dc)
  double abs_tol;     // absolute tolerance per signal, relative to the signal's peak
};

// Rows of whitespace-separated numbers (ngspice wrdata: scale, value pairs).
std::vector<std::vector<double>> ReadTable(const fs::path& p) {
  std::vector<std::vector<double>> rows;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<double> row;
    double v;
    while (ls >> v) row.push_back(v);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

double Interp(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  auto it = std::lower_bound(xs.begin(), xs.end(), x);
  if (it == xs.begin()) return ys.front();
  if (it == xs.end()) return ys.back();
  size_t k = it - xs.begin();
  double x0 = xs[k - 1], x1 = xs[k];
  if (x1 == x0) return ys[k];
  return ys[k - 1] + (ys[k] - ys[k - 1]) * (x - x0) / (x1 - x0);
}

void RunCase(const Case& c) {
  const fs::path deck = fs::path(MEMSPICE_SOURCE_DIR) / "tests/unit/devices/decks" / c.deck;
  // memspice.
  Diagnostics diag;
  auto netlist = memspice::netlist::ParseFile(deck.string(), {}, diag);
  BOOST_REQUIRE_MESSAGE(netlist, diag.Format());
  auto circuit = memspice::solver::Circuit::Build(*netlist, diag);
  BOOST_REQUIRE_MESSAGE(circuit, diag.Format());
  BOOST_REQUIRE_EQUAL(netlist->analyses.size(), 1u);
  memspice::solver::SimOptions options;
  options.ApplyNetlistOptions(*netlist);
  options.fixed_step = c.fixed_step;
  memspice::io::WaveformTable table;
  auto status = memspice::solver::RunAnalysis(*circuit, *netlist, netlist->analyses[0], options,
                                              nullptr, &table);
  BOOST_REQUIRE_MESSAGE(status.ok(), status.message());
  BOOST_REQUIRE(table.num_points() > 2);

  // ngspice, with tight tolerances so its own convergence slop is negligible.
  const fs::path dir =
      fs::temp_directory_path() / ("memspice_devices_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / "out.txt";
  std::string text = ReadFile(deck);
  size_t end = text.rfind(".end");
  BOOST_REQUIRE(end != std::string::npos);
  std::string control =
      ".options reltol=1e-6 abstol=1e-15 vntol=1e-9\n.control\nrun\nwrdata " + out.string();
  for (const std::string& s : c.signals) control += " " + s;
  control += "\n.endc\n";
  text.insert(end, control);
  // Limit ngspice's step for transients so interpolation error stays small.
  if (c.fixed_step > 0) {
    const auto& an = netlist->analyses[0];
    std::ostringstream tran;
    tran << ".tran " << an.tstep << " " << an.tstop << " 0 " << c.fixed_step * 2 << "\n";
    size_t pos = text.find(".tran");
    size_t eol = text.find('\n', pos);
    text.replace(pos, eol - pos + 1, tran.str());
  }
  const fs::path ng_deck = dir / "deck.cir";
  std::ofstream(ng_deck) << text;
  std::string cmd =
      NgspicePath() + " -b " + ng_deck.string() + " > " + (dir / "log.txt").string() + " 2>&1";
  // ngspice -b exits with 1 after a .control run ("no simulations run"); judge by its output.
  const int rc = std::system(cmd.c_str());
  BOOST_TEST_MESSAGE("ngspice exit status " << rc);
  auto ng = ReadTable(out);
  BOOST_REQUIRE_MESSAGE(ng.size() > 2, "no ngspice output; see " << dir / "log.txt");

  const std::vector<double>& scale = table.scale;
  for (size_t k = 0; k < c.signals.size(); ++k) {
    int j = table.Find(c.signals[k]);
    BOOST_REQUIRE_MESSAGE(j >= 0, "memspice has no signal " << c.signals[k]);
    std::vector<double> ys = table.Column(j);
    double peak = 0.0, worst = 0.0, worst_at = 0.0;
    for (const auto& row : ng) peak = std::max(peak, std::abs(row[2 * k + 1]));
    for (const auto& row : ng) {
      double err = std::abs(Interp(scale, ys, row[0]) - row[2 * k + 1]);
      if (err > worst) {
        worst = err;
        worst_at = row[0];
      }
    }
    BOOST_TEST(worst <= c.abs_tol * std::max(peak, 1e-3),
               c.deck << " " << c.signals[k] << ": max difference " << worst << " at " << worst_at
                      << " (peak " << peak << ")");
  }
  fs::remove_all(dir);
}

}  // namespace

BOOST_AUTO_TEST_CASE(standard_devices_agree_with_ngspice) {
  if (!memspice::testing::HaveNgspice()) return;
  const std::vector<Case> cases = {
      {"devices_mixed.cir",
       {"v(a)", "v(b)", "v(n1)", "v(n2)", "v(n4)", "v(n5)", "v(n6)", "v(n7)", "v(n8)", "v(n9)",
        "v(n10)", "v(n11)", "i(l1)"},
       0.02e-6,
       2e-4},
      {"devices_diode_dc.cir", {"v(a)", "i(v1)"}, 0.0, 2e-4},
      {"devices_diode_rectifier.cir", {"v(out)", "v(a)", "i(v1)"}, 0.5e-6, 1e-3},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.deck) { RunCase(c); }
  }
}
