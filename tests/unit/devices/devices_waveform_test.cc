#define BOOST_TEST_MODULE devices_waveform
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <numbers>

#include "devices/device.h"
#include "devices/waveform.h"

using memspice::devices::AnalysisInfo;
using memspice::devices::EvalContext;
using memspice::devices::SourceValue;
using memspice::devices::SourceWaveform;
using memspice::netlist::Diagnostics;
using memspice::netlist::Element;
using memspice::netlist::SourceLoc;
using memspice::netlist::Waveform;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

SourceWaveform Make(Waveform::Kind kind, std::vector<double> args, double tstep, double tstop) {
  Diagnostics diag;
  SourceWaveform w;
  BOOST_REQUIRE(w.Init(Waveform{kind, std::move(args)}, "v1", SourceLoc{"t.cir", 1, 1}, diag));
  BOOST_REQUIRE(!diag.has_errors());
  w.SetAnalysis(tstep, tstop);
  return w;
}

std::vector<double> Sorted(const SourceWaveform& w, double tstop) {
  std::vector<double> bp;
  w.Breakpoints(tstop, &bp);
  std::sort(bp.begin(), bp.end());
  bp.erase(std::unique(bp.begin(), bp.end(),
                       [](double a, double b) {
                         return std::abs(a - b) <= 1e-15 * std::max(1.0, std::abs(a));
                       }),
           bp.end());
  return bp;
}

}  // namespace

BOOST_AUTO_TEST_CASE(pulse_values_follow_the_trapezoid) {
  // v1=0 v2=2 td=1 tr=1 tf=2 pw=3 per=10
  SourceWaveform w = Make(Waveform::Kind::kPulse, {0, 2, 1, 1, 2, 3, 10}, 0.1, 100);
  BOOST_TEST(w.Value(0.0) == 0.0);
  BOOST_TEST(w.Value(1.0) == 0.0);
  BOOST_TEST(w.Value(1.5) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(w.Value(2.0) == 2.0);
  BOOST_TEST(w.Value(4.5) == 2.0);
  BOOST_TEST(w.Value(5.0) == 2.0);
  BOOST_TEST(w.Value(6.0) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(w.Value(7.0) == 0.0);
  BOOST_TEST(w.Value(9.0) == 0.0);
  // Second and fifth periods repeat the first.
  for (double t : {1.5, 2.0, 4.0, 5.5, 6.5, 8.0}) {
    BOOST_TEST(w.Value(t + 10.0) == w.Value(t), boost::test_tools::tolerance(1e-9));
    BOOST_TEST(w.Value(t + 40.0) == w.Value(t), boost::test_tools::tolerance(1e-9));
  }
}

BOOST_AUTO_TEST_CASE(pulse_defaults_come_from_the_analysis) {
  // Missing (NaN) and zero tr/tf/pw/per take tstep/tstop, as ngspice.
  SourceWaveform w = Make(Waveform::Kind::kPulse, {0, 1, 0, kNaN, 0, kNaN, kNaN}, 1e-3, 1.0);
  BOOST_TEST(w.Value(0.5e-3) == 0.5, boost::test_tools::tolerance(1e-12));       // tr = tstep
  BOOST_TEST(w.Value(0.5) == 1.0);                                               // pw = tstop
  BOOST_TEST(w.Value(1.0 + 0.5e-3) == 0.5, boost::test_tools::tolerance(1e-9));  // tf = tstep
  std::vector<double> bp = Sorted(w, 1.0);
  BOOST_TEST(bp.size() == 3u);  // 0, tr, tr+pw=1.001 is out, per=1 -> 1.0 (next period start)
  BOOST_TEST(bp[1] == 1e-3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(pulse_breakpoints_cover_every_period) {
  SourceWaveform w = Make(Waveform::Kind::kPulse, {0, 1, 1, 1, 2, 3, 10}, 0.1, 35);
  std::vector<double> bp = Sorted(w, 35.0);
  std::vector<double> expect = {1, 2, 5, 7, 11, 12, 15, 17, 21, 22, 25, 27, 31, 32, 35};
  BOOST_REQUIRE_EQUAL(bp.size(), expect.size());
  for (size_t k = 0; k < bp.size(); ++k) {
    BOOST_TEST(bp[k] == expect[k], boost::test_tools::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(pulse_eighth_argument_counts_pulses_like_ngspice_39) {
  // ngspice 39 reads PULSE(v1 v2 td tr tf pw per np): np pulses, then v1 (0 = no limit).
  SourceWaveform two = Make(Waveform::Kind::kPulse, {0, 1, 2, 0.5, 0.5, 1, 4, 2}, 0.1, 20);
  SourceWaveform all = Make(Waveform::Kind::kPulse, {0, 1, 2, 0.5, 0.5, 1, 4, 0}, 0.1, 20);
  SourceWaveform ref = Make(Waveform::Kind::kPulse, {0, 1, 2, 0.5, 0.5, 1, 4}, 0.1, 20);
  for (double t = 0.05; t < 20; t += 0.173) {
    BOOST_TEST(all.Value(t) == ref.Value(t));
    BOOST_TEST(two.Value(t) == (t < 10 ? ref.Value(t) : 0.0), "t = " << t);
  }
  std::vector<double> bp = Sorted(two, 20);
  BOOST_TEST(bp == (std::vector<double>{2, 2.5, 3.5, 4, 6, 6.5, 7.5, 8}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pwl_repeat_from_r) {
  // PWL(0 0 1 1 2 0) r=0: the triangle repeats with period 2.
  Waveform wf{Waveform::Kind::kPwl, {0, 0, 1, 1, 2, 0}};
  wf.repeat = 0;
  Diagnostics diag;
  SourceWaveform w;
  BOOST_REQUIRE(w.Init(wf, "v1", SourceLoc{"t.cir", 1, 1}, diag));
  w.SetAnalysis(0.1, 7);
  for (double t : {0.25, 2.25, 4.25, 6.25})
    BOOST_TEST(w.Value(t) == 0.25, boost::test_tools::tolerance(1e-12));
  for (double t : {1.5, 3.5, 5.5})
    BOOST_TEST(w.Value(t) == 0.5, boost::test_tools::tolerance(1e-12));
  std::vector<double> bp = Sorted(w, 7);
  BOOST_TEST(bp == (std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
  wf.repeat = 2;  // not before the last time point
  SourceWaveform bad;
  BOOST_TEST(!bad.Init(wf, "v1", SourceLoc{"t.cir", 1, 1}, diag));
}

BOOST_AUTO_TEST_CASE(pulse_with_negative_delay) {
  // td = -3 of a 4 s period: at t = 0 the train is 3 s into its first period.
  SourceWaveform w = Make(Waveform::Kind::kPulse, {0, 1, -3, 0.5, 0.5, 1, 4}, 0.1, 10);
  SourceWaveform ref = Make(Waveform::Kind::kPulse, {0, 1, 1, 0.5, 0.5, 1, 4}, 0.1, 10);
  for (double t = 0.05; t < 10; t += 0.173) {
    BOOST_TEST(w.Value(t) == ref.Value(t), boost::test_tools::tolerance(1e-9));
  }
  std::vector<double> bp = Sorted(w, 10);
  BOOST_TEST(bp == (std::vector<double>{1, 1.5, 2.5, 3, 5, 5.5, 6.5, 7, 9, 9.5}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sin_matches_closed_form) {
  const double vo = 0.5, va = 2, freq = 1e3, td = 1e-4, theta = 300, phase = 30;
  SourceWaveform w = Make(Waveform::Kind::kSin, {vo, va, freq, td, theta, phase}, 1e-5, 5e-3);
  const double ph = phase * std::numbers::pi / 180;
  BOOST_TEST(w.Value(0.0) == vo + va * std::sin(ph), boost::test_tools::tolerance(1e-12));
  for (double t : {2e-4, 7.7e-4, 3.1e-3}) {
    double expect = vo + va * std::sin(2 * std::numbers::pi * freq * (t - td) + ph) *
                             std::exp(-(t - td) * theta);
    BOOST_TEST(w.Value(t) == expect, boost::test_tools::tolerance(1e-12));
  }
  std::vector<double> bp = Sorted(w, 5e-3);
  BOOST_REQUIRE_EQUAL(bp.size(), 1u);
  BOOST_TEST(bp[0] == td);
}

BOOST_AUTO_TEST_CASE(sin_default_frequency_is_one_over_tstop) {
  SourceWaveform w = Make(Waveform::Kind::kSin, {0, 1, kNaN, kNaN, kNaN, kNaN}, 1e-6, 1e-3);
  BOOST_TEST(w.Value(0.25e-3) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(w.Value(0.75e-3) == -1.0, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(exp_matches_closed_form) {
  const double v1 = -1, v2 = 3, td1 = 1e-3, tau1 = 2e-3, td2 = 5e-3, tau2 = 1e-3;
  SourceWaveform w = Make(Waveform::Kind::kExp, {v1, v2, td1, tau1, td2, tau2}, 1e-4, 1e-2);
  BOOST_TEST(w.Value(0.5e-3) == v1);
  for (double t : {2e-3, 4.9e-3, 6e-3, 9e-3}) {
    double expect = v1 + (v2 - v1) * (1 - std::exp(-(t - td1) / tau1));
    if (t > td2) expect += (v1 - v2) * (1 - std::exp(-(t - td2) / tau2));
    BOOST_TEST(w.Value(t) == expect, boost::test_tools::tolerance(1e-12));
  }
  std::vector<double> bp = Sorted(w, 1e-2);
  BOOST_REQUIRE_EQUAL(bp.size(), 2u);
  BOOST_TEST(bp[0] == td1);
  BOOST_TEST(bp[1] == td2);
}

BOOST_AUTO_TEST_CASE(exp_defaults_as_ngspice) {
  // ngspice 39: td1 = 0 -> tstep, tau1 = tau2 = tstep, td2 = td1 + tstep.
  const double h = 1e-6;
  SourceWaveform w = Make(Waveform::Kind::kExp, {0, 1, 0, kNaN, kNaN, kNaN}, h, 1e-5);
  BOOST_TEST(w.Value(h) == 0.0);
  BOOST_TEST(w.Value(1.5 * h) == 1 - std::exp(-0.5), boost::test_tools::tolerance(1e-12));
  double t = 3 * h;
  double expect = (1 - std::exp(-(t - h) / h)) - (1 - std::exp(-(t - 2 * h) / h));
  BOOST_TEST(w.Value(t) == expect, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(pwl_interpolates_and_holds) {
  SourceWaveform w = Make(Waveform::Kind::kPwl, {1, 0, 2, 4, 2, 1, 5, -2}, 0.1, 10);
  BOOST_TEST(w.Value(0.0) == 0.0);
  BOOST_TEST(w.Value(1.5) == 2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(w.Value(3.5) == -0.5, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(w.Value(5.0) == -2.0);
  BOOST_TEST(w.Value(100.0) == -2.0);
  std::vector<double> bp = Sorted(w, 4.0);
  BOOST_TEST(bp == (std::vector<double>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_reported) {
  struct Case {
    Waveform w;
    const char* needle;
  };
  std::vector<Case> cases = {
      {{Waveform::Kind::kPwl, {0, 1, 1}}, "odd number"},
      {{Waveform::Kind::kPwl, {0, 1, 2, 0, 1, 3}}, "decrease"},
      {{Waveform::Kind::kPulse, {0, 1, 0, -1e-9}}, "negative"},
      {{Waveform::Kind::kSin, {0}}, "arguments"},
      {{Waveform::Kind::kExp, {0, kNaN}}, "not a finite"},
  };
  for (const Case& c : cases) {
    Diagnostics diag;
    SourceWaveform w;
    BOOST_TEST(!w.Init(c.w, "v9", SourceLoc{"x.cir", 4, 1}, diag));
    BOOST_REQUIRE(diag.has_errors());
    BOOST_TEST(diag.items()[0].message.find(c.needle) != std::string::npos,
               "message: " << diag.items()[0].message);
    BOOST_TEST(diag.items()[0].message.find("v9") != std::string::npos);
    BOOST_TEST(diag.items()[0].loc.line == 4);
  }
}

BOOST_AUTO_TEST_CASE(source_value_chooses_dc_or_function_like_ngspice) {
  Element e;
  e.name = "v1";
  e.letter = 'v';
  e.nodes = {"a", "0"};
  e.value = 0.7;
  e.waveform = Waveform{Waveform::Kind::kPulse, {0.2, 1, 1e-6, 1e-7, 1e-7, 1e-6, 4e-6}};
  Diagnostics diag;
  SourceValue v;
  BOOST_REQUIRE(v.Init(e, diag));
  EvalContext ctx;
  // .op: the DC value.
  v.SetAnalysis(AnalysisInfo{0, 0, 27});
  ctx.dc = true;
  BOOST_TEST(v.Value(ctx) == 0.7);
  ctx.source_scale = 0.5;
  BOOST_TEST(v.Value(ctx) == 0.35);
  ctx.source_scale = 1.0;
  // DC sweep value, then restored by the next analysis.
  v.SetDcValue(-3.0);
  BOOST_TEST(v.Value(ctx) == -3.0);
  // Transient: the initial operating point uses the function at t = 0.
  v.SetAnalysis(AnalysisInfo{1e-8, 1e-5, 27});
  BOOST_TEST(v.Value(ctx) == 0.2);
  ctx.dc = false;
  ctx.time = 1.5e-6;
  BOOST_TEST(v.Value(ctx) == 1.0);
  v.SetAnalysis(AnalysisInfo{0, 0, 27});
  ctx.dc = true;
  BOOST_TEST(v.Value(ctx) == 0.7);
  // Without a DC value, .op uses the function at t = 0.
  e.value.reset();
  SourceValue w;
  BOOST_REQUIRE(w.Init(e, diag));
  w.SetAnalysis(AnalysisInfo{0, 0, 27});
  BOOST_TEST(w.Value(ctx) == 0.2);
}
