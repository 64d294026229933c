// .meas tran against ngspice's own .meas on the same deck, and the measurement errors.
#define BOOST_TEST_MODULE measure
#include "solver/measure.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>

#include "netlist/directive_cards.h"
#include "ngspice/compare.h"
#include "tests/test_util.h"

namespace ms = memspice::solver;
namespace nl = memspice::netlist;
using memspice::testing::TempDir;

namespace {

// RC low-pass (tau = 1 ms) driven by a 3 ms pulse; steps capped at 10 us on both simulators so
// that the linear interpolation between points agrees to ~1e-5.
const char* kDeck = R"(* measure check: RC low-pass driven by a pulse
V1 in 0 PULSE(0 1 1m 10u 10u 3m 8m)
R1 in out 1k
C1 out 0 1u
.options reltol=1e-4
.tran 10u 16m 0 10u
.meas tran t_half when v(out)=0.5 rise=1
.meas tran v_at find v(out) at=2.5m
.meas tran i_when find i(v1) when v(out)=0.5 fall=1
.meas tran delay trig v(in) val=0.5 rise=1 targ v(out) val=0.5 rise=1
.meas tran t_second when v(out)=0.3 cross=2
.meas tran t_late when v(out)=0.5 rise=1 td=9m
.meas tran vavg avg v(out) from=1m to=9m
.meas tran vrms rms v(out) from=0 to=16m
.meas tran vmin min v(out) from=5m to=16m
.meas tran vmax max v(out)
.meas tran vpp pp v(out)
.meas tran q integ i(v1) from=1m to=4m
.end
)";

std::map<std::string, double> Measure(const std::string& path, const std::string& text) {
  std::vector<memspice::io::WaveformTable> tables;
  const memspice::Status s = ms::RunMemspiceDeck(path, {}, {}, &tables);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  nl::Diagnostics diag;
  std::vector<nl::DirectiveCard> cards;
  nl::ReadDirectiveCardsString(text, path, {}, {".meas"}, diag, &cards);
  std::vector<ms::Measurement> measures;
  BOOST_REQUIRE_MESSAGE(ms::ParseMeasurements(cards, diag, &measures), diag.Format());
  std::map<std::string, double> out;
  for (const auto& m : measures) {
    double v = NAN;
    const memspice::Status e = ms::EvaluateMeasurement(m, tables.back(), &v);
    BOOST_CHECK_MESSAGE(e.ok(), m.name << ": " << e.message());
    out[m.name] = v;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(agrees_with_ngspice_meas) {
  if (!memspice::testing::HaveNgspice()) return;
  TempDir tmp("meas");
  const std::string path = tmp.Write("rc_meas.cir", kDeck);
  const std::map<std::string, double> mine = Measure(path, kDeck);
  // ngspice runs .meas only without a raw file (-r), so it is run here directly, in batch mode.
  std::string ng_out;
  {
    FILE* p = popen(("ngspice -b " + path + " 2>&1 </dev/null").c_str(), "r");
    BOOST_REQUIRE(p != nullptr);
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) ng_out.append(buf, n);
    BOOST_REQUIRE_EQUAL(pclose(p), 0);
  }
  // ngspice prints "name  =  value ..." per measurement.
  const std::regex line(R"(^(\w+)\s+=\s+([-+0-9.eE]+))");
  std::map<std::string, double> ref;
  std::istringstream in(ng_out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_search(l, m, line) && mine.count(m[1])) ref[m[1]] = std::stod(m[2]);
  }
  BOOST_REQUIRE_EQUAL(ref.size(), mine.size());
  for (const auto& [name, value] : ref) {
    // Times to 0.1 us, values to 2e-4 of their scale (1 V, 1 mA, 3 mC-ish integrals).
    const double tol = 2e-3 * std::max(std::abs(value), 1e-4);
    BOOST_CHECK_MESSAGE(std::abs(mine.at(name) - value) <= tol,
                        name << ": memspice " << mine.at(name) << ", ngspice " << value);
  }
  // Spot values of the analytic response: v(out) = 1 - exp(-(t - 1m) / 1m) while the pulse is on.
  BOOST_CHECK_CLOSE(mine.at("t_half"), 1e-3 + 5e-6 + 1e-3 * std::log(2.0), 0.5);
  BOOST_CHECK_CLOSE(mine.at("v_at"), 1 - std::exp(-1.495), 0.2);
}

BOOST_AUTO_TEST_CASE(syntax_errors_point_at_the_word) {
  TempDir tmp("meas");
  const std::string text =
      "* bad measures\nV1 a 0 1\nR1 a 0 1k\n.tran 1u 1m\n"
      ".meas tran x1 find v(a) at 1m\n"
      ".meas ac x2 find v(a) at=1m\n"
      ".meas tran x3 median v(a)\n"
      ".meas tran x4 when v(a)=0.5 rise=0\n"
      ".meas tran x5 trig v(a) val=0.5\n"
      ".meas tran x6 avg v(a) from=1x5\n"
      ".end\n";
  const std::string path = tmp.Write("bad.cir", text);
  nl::Diagnostics diag;
  std::vector<nl::DirectiveCard> cards;
  BOOST_REQUIRE(nl::ReadDirectiveCards(path, {}, {".meas"}, diag, &cards));
  std::vector<ms::Measurement> measures;
  BOOST_CHECK(!ms::ParseMeasurements(cards, diag, &measures));
  BOOST_CHECK_EQUAL(diag.num_errors(), 6);
  const std::string f = diag.Format();
  BOOST_TEST_MESSAGE(f);
  BOOST_CHECK(f.find(path + ":5:25: error: expected 'at=T' or 'when SIG=VALUE'") !=
              std::string::npos);
  BOOST_CHECK(f.find(path + ":6:7: error: only 'tran' measurements are supported, not 'ac'") !=
              std::string::npos);
  BOOST_CHECK(f.find(path + ":7:15: error: expected a measurement kind") != std::string::npos);
  BOOST_CHECK(f.find("rise=0 must be a count >= 1 or 'last'") != std::string::npos);
  BOOST_CHECK(f.find("expected 'targ SIG val=VALUE' after the trigger") != std::string::npos);
  BOOST_CHECK(f.find(path + ":10:") != std::string::npos);
  BOOST_CHECK(f.find("^") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(failed_measurements_say_why) {
  memspice::io::WaveformTable t;
  t.scale_name = "time";
  t.names = {"v(out)"};
  t.scale = {0, 1, 2};
  t.rows = {{0}, {1}, {0}};
  ms::Measurement m;
  m.name = "never";
  m.kind = ms::Measurement::Kind::kWhen;
  m.when.signal = "v(out)";
  m.when.value = 2;
  double v = 0;
  memspice::Status s = ms::EvaluateMeasurement(m, t, &v);
  BOOST_CHECK(!s.ok() && s.message().find("never crosses 2") != std::string::npos);
  m.when.signal = "v(nowhere)";
  s = ms::EvaluateMeasurement(m, t, &v);
  BOOST_CHECK(!s.ok() && s.hint().find("v(out)") != std::string::npos);
  m.when = {};
  m.when.signal = "v(out)";
  m.when.value = 0.5;
  m.when.count = 0;  // last crossing: the fall at t = 1.5
  BOOST_CHECK(ms::EvaluateMeasurement(m, t, &v).ok());
  BOOST_CHECK_CLOSE(v, 1.5, 1e-12);
  m.kind = ms::Measurement::Kind::kAvg;
  m.signal = "v(out)";
  m.from = 0.5;
  m.to = 2;
  BOOST_CHECK(ms::EvaluateMeasurement(m, t, &v).ok());
  BOOST_CHECK_CLOSE(v, (0.5 * 0.5 * 1.5 + 0.5) / 1.5, 1e-12);  // exact for piecewise-linear
}
