// Parses every deck in tests/netlist_errors/ and checks that each diagnostic announced in a
// `* expect: LINE:COL: error: MESSAGE` comment is reported at exactly that line and column
// (MESSAGE is a substring of the reported message).
#define BOOST_TEST_MODULE netlist_errors
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "netlist/netlist.h"

namespace nl = memspice::netlist;
namespace fs = std::filesystem;

namespace {

struct Expect {
  int line = 0;
  int col = 0;
  std::string message;
};

std::vector<Expect> ReadExpects(const fs::path& deck) {
  std::ifstream in(deck);
  std::string line;
  std::vector<Expect> out;
  const std::regex re(R"(^\*\s*expect:\s*(\d+):(\d+):\s*error:\s*(.*?)\s*$)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, re)) {
      out.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3]});
    }
  }
  return out;
}

std::vector<fs::path> Decks() {
  std::vector<fs::path> decks;
  for (const auto& entry :
       fs::directory_iterator(fs::path(MEMSPICE_SOURCE_DIR) / "tests" / "netlist_errors")) {
    if (entry.path().extension() == ".cir") decks.push_back(entry.path());
  }
  std::sort(decks.begin(), decks.end());
  return decks;
}

}  // namespace

BOOST_AUTO_TEST_CASE(there_are_enough_decks) { BOOST_TEST(Decks().size() >= 15u); }

BOOST_AUTO_TEST_CASE(every_deck_reports_its_expected_diagnostics) {
  for (const fs::path& deck : Decks()) {
    BOOST_TEST_CONTEXT("deck " << deck.filename().string()) {
      std::vector<Expect> expects = ReadExpects(deck);
      BOOST_TEST_REQUIRE(!expects.empty(), "deck has no '* expect:' line");
      nl::Diagnostics diag;
      std::optional<nl::Netlist> n = nl::ParseFile(deck.string(), {}, diag);
      BOOST_TEST(!n.has_value());
      BOOST_TEST(diag.has_errors());
      const std::string formatted = diag.Format();
      for (const Expect& e : expects) {
        bool found =
            std::any_of(diag.items().begin(), diag.items().end(), [&](const nl::Diagnostic& d) {
              return d.severity == nl::Severity::kError && d.loc.line == e.line &&
                     d.loc.col == e.col && d.loc.file == deck.string() &&
                     d.message.find(e.message) != std::string::npos;
            });
        BOOST_TEST(found, "expected " << e.line << ":" << e.col << ": error: " << e.message
                                      << "\ngot:\n"
                                      << formatted);
      }
      // The formatted form names the file and echoes the line with a caret.
      BOOST_TEST(formatted.find(deck.string() + ":") != std::string::npos);
      BOOST_TEST(formatted.find("^") != std::string::npos);
    }
  }
}
