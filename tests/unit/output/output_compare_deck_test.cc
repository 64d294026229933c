// CompareWithNgspice end to end on small decks: agreement, a deliberate disagreement (a --set
// override that only memspice sees), native devices through the export, and bad decks.
#define BOOST_TEST_MODULE output_compare_deck
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

#include "ngspice/compare.h"
#include "ngspice/runner.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using memspice::ngspice::CompareWithNgspice;
using memspice::ngspice::DeckCompareOptions;
using memspice::ngspice::DeckComparison;

using memspice::testing::HaveNgspice;
using memspice::testing::TempDir;

namespace {

const char* kRcDeck =
    "rc\n.param rv=1k\nV1 in 0 PULSE(0 1 1u 1u 1u 20u 50u)\nR1 in out {rv}\nC1 out 0 10n\n"
    ".options reltol=1e-4\n.op\n.tran 0.1u 100u 0 0.1u\n.end\n";

}  // namespace

BOOST_AUTO_TEST_CASE(agreeing_deck_passes_with_every_analysis_paired) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "rc.cir") << kRcDeck;
  DeckComparison report;
  auto s = CompareWithNgspice(dir / "rc.cir", DeckCompareOptions(), &report);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_TEST(report.pass);
  BOOST_REQUIRE_EQUAL(report.analyses.size(), 2u);  // .op and .tran, in deck order
  BOOST_TEST(report.analyses[0].analysis == "Operating Point");
  BOOST_TEST(report.analyses[1].analysis == "Transient Analysis");
  BOOST_TEST(report.analyses[1].signals.size() >= 3u);  // v(in), v(out), i(v1)
  BOOST_TEST(report.memspice.size() == 2u);
}

BOOST_AUTO_TEST_CASE(override_seen_only_by_memspice_fails_the_comparison) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "rc.cir") << kRcDeck;
  DeckCompareOptions options;
  options.parse.overrides["rv"] = 1.5e3;  // memspice only: RC 50 % slower
  DeckComparison report;
  auto s = CompareWithNgspice(dir / "rc.cir", options, &report);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_TEST(!report.pass);
  const auto& tran = report.analyses[1];
  bool out_failed = false;
  for (const auto& sig : tran.signals) {
    if (sig.name == "v(out)") out_failed = !sig.pass && sig.max_rel > 0.05;
  }
  BOOST_TEST(out_failed);
}

BOOST_AUTO_TEST_CASE(signals_header_restricts_the_comparison) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "rc.cir") << "rc\n* signals: v(out)\n" << (kRcDeck + 3);
  DeckComparison report;
  auto s = CompareWithNgspice(dir / "rc.cir", DeckCompareOptions(), &report);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  for (const auto& a : report.analyses) {
    BOOST_REQUIRE_EQUAL(a.signals.size(), 1u);
    BOOST_TEST(a.signals[0].name == "v(out)");
  }
}

BOOST_AUTO_TEST_CASE(native_devices_reach_ngspice_through_the_export) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "y.cir")
      << "y\n.model mm mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6 phi=1)\n"
         "V1 p 0 SIN(0 0.3 200)\nYMSS m1 p 0 mm x0=0.1\n.tran 10u 1m\n.end\n";
  DeckComparison report;
  auto s = CompareWithNgspice(dir / "y.cir", DeckCompareOptions(), &report);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(report.analyses.size(), 1u);
  // ngspice's stand-in for the state, v(m1_x), is compared under the memspice name.
  bool state_compared = false;
  for (const auto& sig : report.analyses[0].signals) {
    state_compared = state_compared || sig.name == "x(m1)";
  }
  BOOST_TEST(state_compared);
}

BOOST_AUTO_TEST_CASE(bad_decks_are_errors_not_crashes) {
  TempDir dir;
  DeckComparison report;
  auto s = CompareWithNgspice(dir / "missing.cir", DeckCompareOptions(), &report);
  BOOST_TEST(!s.ok());
  std::ofstream(dir / "bad.cir") << "bad\nR1 a 0 1k\nV1 a 0 1\nQ1 a b c qmod\n.op\n.end\n";
  s = CompareWithNgspice(dir / "bad.cir", DeckCompareOptions(), &report);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("bad.cir") != std::string::npos, s.message());
  std::ofstream(dir / "none.cir") << "none\nR1 a 0 1k\nV1 a 0 1\n.end\n";
  s = CompareWithNgspice(dir / "none.cir", DeckCompareOptions(), &report);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("no analysis") != std::string::npos, s.message());
}
