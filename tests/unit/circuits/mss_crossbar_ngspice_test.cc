// An 8x8 MSS crossbar with line R and C (circuits::GenerateCrossbarDeck) in memspice (native YMSS
// devices) against ngspice 39 on its behavioural export (ngspice::ExportNgspice), the same path
// as `memspice compare`. The word lines are driven above the SET threshold of mss_synapse (1 V)
// on some rows and not on others, so the states really move; every sense current and every cell
// state x(m_i_k) must agree within 2 % (max) / 1 % (RMS) of its range (see Options()).
#define BOOST_TEST_MODULE mss_crossbar_ngspice
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "circuits/crossbar.h"
#include "ngspice/compare.h"
#include "ngspice/export.h"
#include "ngspice/runner.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
namespace mc = memspice::circuits;
namespace sv = memspice::solver;

using memspice::testing::HaveNgspice;

namespace {

const std::string kLib = (fs::path(MEMSPICE_SOURCE_DIR) / "circuits" / "lib").string();

mc::CrossbarSpec Spec() {
  mc::CrossbarSpec s;
  s.rows = 8;
  s.cols = 8;
  s.rline = 5.0;
  s.cline = 1e-15;
  s.cell = mc::CellKind::kMss;  // mss_synapse from mss.lib: ron 1k, roff 100k
  s.amplitude = 1.6;            // rows 0..7: 1.6 V .. 0.8 V, SET threshold 1 V
  s.frequency = 1e3;
  s.tstop = 2e-3;
  s.steps = 400;
  s.save_sense = false;  // keep every node and state
  s.options = "reltol=1e-4";
  s.seed = 3;
  return s;
}

memspice::ngspice::DeckCompareOptions Options() {
  memspice::ngspice::DeckCompareOptions o;
  o.parse.include_paths = {kLib};
  o.ngspice.timeout_seconds = 120;
  // Switching states integrate the line-voltage error of each simulator's own step control
  // (memspice: native device, ngspice: behavioural B sources): measured max 1.3 %, RMS 0.9 % of
  // a state's range, and 7e-5 absolute on cells driven just above the 1 V threshold (row 5).
  o.compare.rtol = 0.02;
  o.compare.rms_rtol = 0.01;
  o.compare.atol_voltage = 1e-4;  // also the state tolerance
  const mc::CrossbarSpec s = Spec();
  for (int k = 0; k < s.cols; ++k)
    o.compare.signals.push_back("i(vsense_" + std::to_string(k) + ")");
  for (int i = 0; i < s.rows; ++i)
    for (int k = 0; k < s.cols; ++k)
      o.compare.signals.push_back("x(m_" + std::to_string(i) + "_" + std::to_string(k) + ")");
  // Far ends of the lines: where R and C matter most.
  o.compare.signals.push_back("v(w0_7)");
  o.compare.signals.push_back("v(b7_0)");
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mss_crossbar_8x8_matches_ngspice_states_included) {
  if (!HaveNgspice()) {
    BOOST_TEST_MESSAGE("ngspice not on PATH: skipped");
    return;
  }
  std::string deck;
  memspice::Status st = mc::GenerateCrossbarDeck(Spec(), &deck);
  BOOST_TEST_REQUIRE(st.ok(), st.message());
  const fs::path path = fs::temp_directory_path() / "memspice_mss_crossbar_8x8.cir";
  {
    std::ofstream out(path);
    out << deck;
    BOOST_TEST_REQUIRE(out.good());
  }
  const memspice::ngspice::DeckCompareOptions o = Options();
  memspice::ngspice::DeckComparison report;
  st = memspice::ngspice::CompareWithNgspice(path.string(), o, &report);
  BOOST_TEST_REQUIRE(st.ok(), st.message() << "\n" << st.hint());
  const std::string table = memspice::ngspice::FormatDeckComparison(report, o.compare);
  BOOST_TEST_MESSAGE(table);
  BOOST_TEST_REQUIRE(report.analyses.size() == 1u);
  const memspice::ngspice::TableComparison& tran = report.analyses[0];
  BOOST_TEST(tran.signals.size() == o.compare.signals.size(), table);

  int states = 0, moved = 0, still = 0;
  for (const auto& s : tran.signals) {
    BOOST_TEST_CONTEXT(s.name) {
      BOOST_TEST(s.pass, table);
      if (s.name.rfind("x(", 0) == 0) {
        ++states;
        // States that switch span a visible range; rows below 1 V stay at x0.
        if (s.range > 0.05) ++moved;
        if (s.range < 1e-3) ++still;
      }
    }
  }
  BOOST_TEST(states == 64);
  BOOST_TEST(moved >= 8, "states that switched: " << moved);
  BOOST_TEST(still >= 8, "states that stayed: " << still);
  BOOST_TEST(report.pass, table);
  fs::remove(path);
}
