// memspice against ngspice 39 on every deck in tests/regression/decks: each analysis of a deck
// runs in both simulators (memspice through the library API, ngspice as `ngspice -b -r`) and
// every common signal (or the deck's `* signals:` selection) must stay within 1 % of its range
// (max) and 0.2 % (RMS). Self-checking expression decks (B source pairs n<K>_t / n<K>_g) must
// also satisfy v(n<K>_t) == v(n<K>_g) in both simulators.
#define BOOST_TEST_MODULE regression
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "ngspice/compare.h"
#include "ngspice/export.h"
#include "ngspice/runner.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using memspice::io::WaveformTable;
using memspice::ngspice::CompareWithNgspice;
using memspice::ngspice::DeckCompareOptions;
using memspice::ngspice::DeckComparison;

using memspice::testing::HaveNgspice;

namespace {

const fs::path kDeckDir = fs::path(MEMSPICE_SOURCE_DIR) / "tests" / "regression" / "decks";

std::vector<std::string> Decks() {
  std::vector<std::string> decks;
  if (fs::is_directory(kDeckDir)) {
    for (const auto& e : fs::directory_iterator(kDeckDir)) {
      if (e.path().extension() == ".cir") decks.push_back(e.path().filename().string());
    }
  }
  std::sort(decks.begin(), decks.end());
  return decks;
}

// Checks every n<K>_t / n<K>_g pair of every table; returns the number of pairs checked.
int CheckExpressionPairs(const std::vector<WaveformTable>& tables, const std::string& who) {
  static const std::regex kTest(R"(v\(n(\d+)_t\))");
  int pairs = 0;
  for (const auto& t : tables) {
    for (const auto& name : t.names) {
      std::smatch m;
      if (!std::regex_match(name, m, kTest)) continue;
      const std::string expected = "v(n" + m[1].str() + "_g)";
      int jt = t.Find(name), jg = t.Find(expected);
      BOOST_TEST_CONTEXT(who << ": " << name << " vs " << expected) {
        BOOST_TEST_REQUIRE(jg >= 0);
        for (const auto& row : t.rows) {
          const double got = row[jt], want = row[jg];
          BOOST_TEST(std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want)),
                     name << " = " << got << ", expected " << want);
        }
      }
      ++pairs;
    }
  }
  return pairs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(deck_collection_is_complete) {
  auto decks = Decks();
  BOOST_TEST(decks.size() >= 25u, "found " << decks.size() << " decks in " << kDeckDir);
}

namespace {

// One test case per deck, named after it (run one with --run_test=decks/<name>).
void RunDeck(const std::string& deck) {
  if (!HaveNgspice()) {
    BOOST_TEST_MESSAGE("ngspice not on PATH: " << deck << " skipped");
    return;
  }
  BOOST_TEST_CONTEXT("deck " << deck) {
    DeckCompareOptions options;  // 1 % max, 0.2 % RMS of range
    options.ngspice.timeout_seconds = 120;
    DeckComparison report;
    auto s = CompareWithNgspice((kDeckDir / deck).string(), options, &report);
    BOOST_TEST_REQUIRE(s.ok(), s.message() << (s.hint().empty() ? "" : "\nhint: " + s.hint()));
    std::string table = memspice::ngspice::FormatDeckComparison(report, options.compare);
    BOOST_TEST_MESSAGE(deck << "\n" << table);
    BOOST_TEST(report.pass, "over tolerance:\n" << table);
    BOOST_TEST(!report.analyses.empty());
    if (deck.rfind("expr_checks", 0) == 0) {
      int m = CheckExpressionPairs(report.memspice, "memspice");
      int n = CheckExpressionPairs(report.ngspice, "ngspice");
      BOOST_TEST(m >= 10);
      BOOST_TEST(n == m);
    }
  }
}

struct RegisterDecks {
  RegisterDecks() {
    auto* suite = BOOST_TEST_SUITE("decks");
    for (const auto& deck : Decks()) {
      std::string name = fs::path(deck).stem().string();
      suite->add(
          boost::unit_test::make_test_case([deck] { RunDeck(deck); }, name, __FILE__, __LINE__));
    }
    boost::unit_test::framework::master_test_suite().add(suite);
  }
} register_decks;

}  // namespace
