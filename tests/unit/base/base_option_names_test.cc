// base/option_names.h: library messages name options neutrally and every front end spells them.
#define BOOST_TEST_MODULE base_option_names
#include <boost/test/unit_test.hpp>
#include <string>

#include "base/option_names.h"
#include "base/status.h"
#include "netlist/diagnostics.h"

namespace base = memspice::base;

namespace {

std::string PythonLike(std::string_view name) { return std::string(name) + "="; }

// Restores the neutral spelling when a test case ends.
struct NeutralAfter {
  ~NeutralAfter() { base::SetOptionSpelling(nullptr); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(neutral_without_a_front_end) {
  NeutralAfter restore;
  base::SetOptionSpelling(nullptr);
  BOOST_TEST(base::RenderOptionNames("raise it with " + base::Opt("max_points") + " N") ==
             "raise it with option max_points N");
}

BOOST_AUTO_TEST_CASE(cli_and_python_spellings) {
  NeutralAfter restore;
  const std::string text =
      "use a smaller " + base::Opt("fixed_step") + " or " + base::Opt("method");
  base::SetOptionSpelling(&base::CliOptionSpelling);
  BOOST_TEST(base::RenderOptionNames(text) == "use a smaller --fixed-step or --method");
  base::SetOptionSpelling(&PythonLike);
  BOOST_TEST(base::RenderOptionNames(text) == "use a smaller fixed_step= or method=");
}

BOOST_AUTO_TEST_CASE(text_without_markers_is_unchanged) {
  BOOST_TEST(base::RenderOptionNames("{x} {opt: and } plain") == "{x} {opt: and } plain");
  BOOST_TEST(base::RenderOptionNames("unterminated {opt:abc") == "unterminated {opt:abc");
}

BOOST_AUTO_TEST_CASE(status_and_diagnostics_render_when_made) {
  NeutralAfter restore;
  base::SetOptionSpelling(&base::CliOptionSpelling);
  const memspice::Status s =
      memspice::Status::Error("bad " + base::Opt("max_memory"), "see " + base::Opt("plot"));
  BOOST_TEST(s.message() == "bad --max-memory");
  BOOST_TEST(s.hint() == "see --plot");
  BOOST_TEST(s.Prefixed(base::Opt("wrt") + " ").message() == "--wrt bad --max-memory");
  memspice::netlist::Diagnostics diag;
  diag.Error({"d.cir", 1, 1}, base::Opt("set") + " names unknown parameter 'a'");
  BOOST_REQUIRE_EQUAL(diag.items().size(), 1u);
  BOOST_TEST(diag.items()[0].message == "--set names unknown parameter 'a'");
}
