// Monte Carlo pieces: per-run seeds, the random functions per instance and per model, the nominal
// run, device spreads and the names of the drawn values (solver/monte_carlo.h).
#define BOOST_TEST_MODULE monte_carlo
#include "solver/monte_carlo.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "netlist/netlist.h"

namespace nl = memspice::netlist;
namespace solver = memspice::solver;

namespace {

nl::Netlist Parse(const std::string& text, const nl::ParseOptions& options = {}) {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n = nl::ParseString(text, "mc.cir", options, diag);
  BOOST_REQUIRE_MESSAGE(n.has_value(), diag.Format());
  return *n;
}

nl::ParseOptions Seeded(uint64_t seed, bool nominal = false) {
  nl::ParseOptions o;
  o.seed = seed;
  o.nominal = nominal;
  return o;
}

double Value(const nl::Netlist& n, const std::string& element) {
  for (const nl::Element& e : n.elements) {
    if (e.name == element) return e.value.value_or(NAN);
  }
  BOOST_FAIL("no element " + element);
  return NAN;
}

// Two instance values, a .param used twice, a model parameter shared by two diodes, a
// subcircuit instantiated twice and a .func called twice.
const char* kDeck = R"(* per-instance draws
.param rp = agauss(1k, 100, 1)
V1 1 0 1
R1 1 0 {agauss(1k, 100, 1)}
R2 1 0 {agauss(1k, 100, 1)}
R3 1 0 {rp}
R4 1 0 {rp}
.model dm d is=1e-14 rs={agauss(10, 3, 1)}
D1 1 2 dm
D2 1 3 dm
R5 2 0 1k
R6 3 0 1k
.subckt sub a
Rx a 0 {gauss(1k, 0.1, 1)}
.ends
X1 1 sub
X2 1 sub
.func rnd(x) {agauss(x, 100, 1)}
R7 1 0 {rnd(1k)}
R8 1 0 {rnd(1k)}
.op
.end
)";

}  // namespace

BOOST_AUTO_TEST_CASE(run_seeds_are_reproducible_and_distinct) {
  BOOST_TEST(solver::RunSeed(5, 3) == solver::RunSeed(5, 3));
  std::set<uint64_t> seen;
  for (uint64_t seed : {0u, 1u, 2u}) {
    for (int run = 0; run < 100; ++run) seen.insert(solver::RunSeed(seed, run));
  }
  BOOST_TEST(seen.size() == 300u);
}

BOOST_AUTO_TEST_CASE(instances_draw_their_own_values_and_models_share_theirs) {
  const nl::Netlist n = Parse(kDeck, Seeded(11));
  BOOST_TEST(n.random_draws == 8);  // rp, R1, R2, the model's rs, X1.Rx, X2.Rx, R7, R8
  BOOST_TEST(Value(n, "r1") != Value(n, "r2"));
  BOOST_TEST(Value(n, "x1.rx") != Value(n, "x2.rx"));
  BOOST_TEST(Value(n, "r7") != Value(n, "r8"));  // a .func draws per call
  // A .param is drawn once per run (HSPICE's global variation; ngspice 39 redraws it per use).
  BOOST_TEST(Value(n, "r3") == Value(n, "r4"));
  // Both diodes use the one card: one rs, as ngspice 39 draws it.
  BOOST_TEST(n.models.at("dm").params.at("rs") != 10.0);
  // The same seed gives the same circuit; another seed another one.
  const nl::Netlist again = Parse(kDeck, Seeded(11));
  const nl::Netlist other = Parse(kDeck, Seeded(12));
  BOOST_TEST(Value(again, "r1") == Value(n, "r1"));
  BOOST_TEST(Value(again, "x2.rx") == Value(n, "x2.rx"));
  BOOST_TEST(Value(other, "r1") != Value(n, "r1"));
}

BOOST_AUTO_TEST_CASE(the_nominal_run_draws_nothing) {
  const nl::Netlist n = Parse(kDeck, Seeded(11, true));
  for (const char* r : {"r1", "r2", "r3", "x1.rx", "x2.rx", "r7"})
    BOOST_TEST(Value(n, r) == 1000.0);
  BOOST_TEST(n.models.at("dm").params.at("rs") == 10.0);
}

BOOST_AUTO_TEST_CASE(agauss_statistics_over_200_runs) {
  // agauss(1k, 100, 2): mean 1000, sigma 50; aunif(5, 1): U(4, 6), sigma 1/sqrt(3).
  const std::string deck =
      "* stats\n.param g = agauss(1k, 100, 2) u = aunif(5, 1)\n"
      "V1 1 0 {u}\nR1 1 0 {g}\n.op\n.end\n";
  constexpr int kRuns = 200;
  double sum = 0, sum2 = 0, usum = 0, umin = 10, umax = 0;
  for (int run = 1; run <= kRuns; ++run) {
    const nl::Netlist n = Parse(deck, Seeded(solver::RunSeed(42, run)));
    const double g = n.params.at("g"), u = n.params.at("u");
    sum += g;
    sum2 += g * g;
    usum += u;
    umin = std::min(umin, u);
    umax = std::max(umax, u);
  }
  const double mean = sum / kRuns, sd = std::sqrt(sum2 / kRuns - mean * mean);
  // Bounds of about 4 standard errors: the mean's is 50/sqrt(200) = 3.5, sd's about 2.5.
  BOOST_TEST(std::abs(mean - 1000) < 15, "mean " << mean);
  BOOST_TEST(std::abs(sd - 50) < 10, "sd " << sd);
  BOOST_TEST(std::abs(usum / kRuns - 5) < 0.17, "uniform mean " << usum / kRuns);
  BOOST_TEST(umin >= 4.0);
  BOOST_TEST(umax <= 6.0);
}

BOOST_AUTO_TEST_CASE(spreads_draw_per_instance_from_the_tables) {
  const std::string deck =
      "* spread\n.model syn mss ron=1k roff=10k\nV1 1 0 1\nYMSS m1 1 0 syn\n"
      "YMSS m2 1 0 syn ron=2k\nR1 1 0 500\n.op\n.end\n";
  solver::Spread ron, rval;
  BOOST_REQUIRE(solver::ParseSpread("MSS.ron=5%", &ron).ok());
  BOOST_TEST(ron.device == "mss");
  BOOST_TEST(ron.sigma == 0.05);
  BOOST_REQUIRE(solver::ParseSpread("r.value=0.01", &rval).ok());
  nl::Netlist n = Parse(deck);
  BOOST_REQUIRE(solver::ApplySpreads({ron, rval}, 7, false, &n).ok());
  const double m1 = n.elements[1].params.at("ron"), m2 = n.elements[2].params.at("ron");
  BOOST_TEST(m1 != 1000.0);
  BOOST_TEST(std::abs(m1 / 1000 - 1) < 0.3);  // 6 sigma
  BOOST_TEST(std::abs(m2 / 2000 - 1) < 0.3);  // nominal from the instance line
  BOOST_TEST(m1 / 1000 != m2 / 2000);         // drawn per instance
  BOOST_TEST(Value(n, "r1") != 500.0);
  nl::Netlist same = Parse(deck), nominal = Parse(deck);
  BOOST_REQUIRE(solver::ApplySpreads({ron, rval}, 7, false, &same).ok());
  BOOST_TEST(same.elements[1].params.at("ron") == m1);
  BOOST_REQUIRE(solver::ApplySpreads({ron, rval}, 7, true, &nominal).ok());
  BOOST_TEST(nominal.elements[1].params.at("ron") == 1000.0);
  BOOST_TEST(Value(nominal, "r1") == 500.0);
  // The drawn values are the ones that differ from the nominal run.
  std::vector<std::string> drawn;
  const auto a = solver::DrawableValues(nominal), b = solver::DrawableValues(n);
  for (const auto& [k, v] : b)
    if (a.at(k) != v) drawn.push_back(k);
  BOOST_TEST(drawn == (std::vector<std::string>{"m1:ron", "m2:ron", "r1:value"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_spreads_say_what_is_wrong) {
  solver::Spread s;
  auto message = [&](const std::string& text) {
    const memspice::Status st = solver::ParseSpread(text, &s);
    BOOST_TEST(!st.ok(), text);
    return st.message() + " | " + st.hint();
  };
  BOOST_TEST(message("mss.ron").find("is not DEVICE.PARAM=SIGMA") != std::string::npos);
  BOOST_TEST(message("mss.ron=-5%").find("not a relative sigma >= 0") != std::string::npos);
  BOOST_TEST(message("foo.ron=5%").find("unknown device 'foo'") != std::string::npos);
  const std::string unknown = message("mss.bogus=5%");
  BOOST_TEST(unknown.find("mss has no parameter 'bogus'") != std::string::npos, unknown);
  BOOST_TEST(unknown.find("ron") != std::string::npos, unknown);
  const std::string model_only = message("d.is=5%");
  BOOST_TEST(model_only.find("no per-instance parameter 'is'") != std::string::npos, model_only);
}
