// Waveform comparison metrics on synthetic signals with known errors.
#define BOOST_TEST_MODULE output_compare
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "ngspice/compare.h"

using memspice::io::WaveformTable;
using memspice::ngspice::CompareOptions;
using memspice::ngspice::CompareTables;
using memspice::ngspice::FormatComparison;
using memspice::ngspice::Interpolate;
using memspice::ngspice::TableComparison;
namespace tt = boost::test_tools;

namespace {

constexpr double kPi = 3.14159265358979323846;

// sin(2 pi t) + offset on n uniform points over [0, 1]; i(v1) = 1e-3 * cos.
WaveformTable Sine(int n, double offset, double amp = 1.0) {
  WaveformTable t;
  t.analysis = "Transient Analysis";
  t.scale_name = "time";
  t.names = {"v(a)", "i(v1)"};
  for (int k = 0; k < n; ++k) {
    double x = static_cast<double>(k) / (n - 1);
    t.scale.push_back(x);
    t.rows.push_back({amp * std::sin(2 * kPi * x) + offset, 1e-3 * std::cos(2 * kPi * x)});
  }
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(interpolation_is_linear_and_clamped) {
  WaveformTable t;
  t.scale_name = "time";
  t.names = {"v(a)"};
  t.scale = {0.0, 1.0, 1.0, 3.0};  // repeated point: the later value wins
  t.rows = {{0.0}, {2.0}, {4.0}, {8.0}};
  BOOST_TEST(Interpolate(t, 0, 0.5) == 1.0, tt::tolerance(1e-15));
  BOOST_TEST(Interpolate(t, 0, 2.0) == 6.0, tt::tolerance(1e-15));
  BOOST_TEST(Interpolate(t, 0, 1.0) == 4.0);
  BOOST_TEST(Interpolate(t, 0, -1.0) == 0.0);
  BOOST_TEST(Interpolate(t, 0, 5.0) == 8.0);
}

BOOST_AUTO_TEST_CASE(constant_offset_gives_exact_metrics) {
  WaveformTable ref = Sine(201, 0.0), test = Sine(133, 0.01);
  TableComparison c;
  auto s = CompareTables(ref, test, CompareOptions(), &c);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(c.signals.size(), 2u);
  const auto& v = c.signals[0];
  BOOST_TEST(v.name == "v(a)");
  // Union grid: interpolation error of the coarse sine adds at most h^2/8 * max|f''|.
  const double interp = std::pow(1.0 / 132, 2) / 8 * 4 * kPi * kPi;
  BOOST_TEST(v.max_abs >= 0.01 - 1e-12);
  BOOST_TEST(v.max_abs <= 0.01 + interp);
  BOOST_TEST(v.rms == 0.01, tt::tolerance(0.05));
  BOOST_TEST(v.range == 2.0, tt::tolerance(1e-3));
  BOOST_TEST(v.max_rel == 0.005, tt::tolerance(0.1));
  BOOST_TEST(!v.pass);  // 0.5 % is within the 1 % max but over the 0.2 % RMS limit
  BOOST_TEST(c.signals[1].pass);
  BOOST_TEST(!c.pass);
}

BOOST_AUTO_TEST_CASE(rms_criterion_fails_a_persistent_offset) {
  WaveformTable ref = Sine(201, 0.0), test = Sine(201, 0.008);
  TableComparison c;
  BOOST_REQUIRE(CompareTables(ref, test, CompareOptions(), &c).ok());
  const auto& v = c.signals[0];
  BOOST_TEST(v.max_abs == 0.008, tt::tolerance(1e-9));  // same grid: pointwise
  BOOST_TEST(v.rms == 0.008, tt::tolerance(1e-9));
  BOOST_TEST(v.max_rel == 0.004, tt::tolerance(1e-6));  // within the 1 % max
  BOOST_TEST(v.rms_rel == 0.004, tt::tolerance(1e-6));  // over the 0.2 % RMS limit
  BOOST_TEST(!v.pass);
  BOOST_TEST(c.signals[1].pass);  // the current is identical
  BOOST_TEST(c.signals[1].max_abs == 0.0);
  BOOST_TEST(!c.pass);
}

BOOST_AUTO_TEST_CASE(spike_is_located_in_time) {
  WaveformTable ref = Sine(101, 0.0), test = Sine(101, 0.0);
  test.rows[37][0] += 0.5;
  TableComparison c;
  BOOST_REQUIRE(CompareTables(ref, test, CompareOptions(), &c).ok());
  BOOST_TEST(c.signals[0].max_abs == 0.5, tt::tolerance(1e-12));
  BOOST_TEST(c.signals[0].at == 0.37, tt::tolerance(1e-12));
  BOOST_TEST(c.signals[0].test_at - c.signals[0].ref_at == 0.5, tt::tolerance(1e-12));
  // Time-weighted RMS of a triangle of height 0.5 and base 0.02 over [0, 1]: sqrt(0.5^2*0.02/3).
  BOOST_TEST(c.signals[0].rms == std::sqrt(0.25 * 0.02 / 3), tt::tolerance(1e-9));
  BOOST_TEST(!c.signals[0].pass);
  std::string text = FormatComparison(c, CompareOptions());
  BOOST_TEST(text.find("FAIL") != std::string::npos);
  BOOST_TEST(text.find("v(a)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(flat_signals_use_the_atol_floor) {
  WaveformTable ref, test;
  for (auto* t : {&ref, &test}) {
    t->analysis = "Transient Analysis";
    t->scale_name = "time";
    t->names = {"v(dc)", "i(v1)"};
    t->scale = {0, 1, 2};
  }
  ref.rows = {{1.0, 0.0}, {1.0, 0.0}, {1.0, 0.0}};
  test.rows = {{1.0 + 1e-7, 1e-13}, {1.0, 0.0}, {1.0, -1e-13}};
  TableComparison c;
  BOOST_REQUIRE(CompareTables(ref, test, CompareOptions(), &c).ok());
  BOOST_TEST(c.signals[0].range == 1e-6);
  BOOST_TEST(c.signals[1].range == 1e-9);
  BOOST_TEST(std::isfinite(c.signals[0].max_rel));
  BOOST_TEST(c.pass);
  test.rows[1][0] = 1.0 + 1e-5;  // beyond atol
  BOOST_REQUIRE(CompareTables(ref, test, CompareOptions(), &c).ok());
  BOOST_TEST(!c.signals[0].pass);
}

BOOST_AUTO_TEST_CASE(time_ranges_and_signal_sets) {
  WaveformTable ref = Sine(101, 0.0), test = Sine(101, 0.0);
  for (auto& x : test.scale) x *= 0.5;  // test covers [0, 0.5]
  for (int k = 0; k < test.num_points(); ++k) {
    test.rows[k] = {std::sin(2 * kPi * test.scale[k]), 1e-3 * std::cos(2 * kPi * test.scale[k])};
  }
  test.names.push_back("x(m1)");
  for (auto& r : test.rows) r.push_back(0.0);
  TableComparison c;
  BOOST_REQUIRE(CompareTables(ref, test, CompareOptions(), &c).ok());
  BOOST_TEST(c.to == 0.5, tt::tolerance(1e-12));
  BOOST_TEST(c.notes.size() == 1u);
  BOOST_TEST(c.only_in_test == std::vector<std::string>{"x(m1)"}, tt::per_element());
  BOOST_TEST(c.pass);

  CompareOptions only;
  only.signals = {"I(V1)"};
  BOOST_REQUIRE(CompareTables(ref, test, only, &c).ok());
  BOOST_REQUIRE_EQUAL(c.signals.size(), 1u);
  BOOST_TEST(c.signals[0].name == "i(v1)");

  only.signals = {"v(nope)"};
  auto s = CompareTables(ref, test, only, &c);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("v(nope)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(errors_for_mismatched_or_invalid_tables) {
  WaveformTable ref = Sine(11, 0.0);
  WaveformTable op;
  op.analysis = "Operating Point";
  op.names = {"v(a)"};
  op.rows = {{1.0}};
  TableComparison c;
  BOOST_TEST(!CompareTables(ref, op, CompareOptions(), &c).ok());
  WaveformTable other = Sine(11, 0.0);
  other.names = {"v(b)", "i(v2)"};
  BOOST_TEST(!CompareTables(ref, other, CompareOptions(), &c).ok());
  WaveformTable nan = Sine(11, 0.0);
  nan.rows[4][0] = std::nan("");
  auto s = CompareTables(ref, nan, CompareOptions(), &c);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("NaN") != std::string::npos);
  WaveformTable late = Sine(11, 0.0);
  for (auto& x : late.scale) x += 5.0;
  BOOST_TEST(!CompareTables(ref, late, CompareOptions(), &c).ok());
}

BOOST_AUTO_TEST_CASE(operating_points_and_nested_sweeps_compare_pointwise) {
  WaveformTable a, b;
  for (auto* t : {&a, &b}) {
    t->analysis = "DC transfer characteristic";
    t->scale_name = "v(v-sweep)";
    t->names = {"v(out)"};
    for (int outer = 0; outer < 3; ++outer) {
      for (int k = 0; k < 5; ++k) {
        t->scale.push_back(0.25 * k);
        t->rows.push_back({0.25 * k * outer});
      }
    }
  }
  b.rows[7][0] += 0.2;
  TableComparison c;
  BOOST_REQUIRE(CompareTables(a, b, CompareOptions(), &c).ok());
  BOOST_TEST(c.points == 15);
  BOOST_TEST(c.signals[0].max_abs == 0.2, tt::tolerance(1e-12));
  BOOST_TEST(c.signals[0].at == 0.5);
  b.rows.pop_back();
  b.scale.pop_back();
  BOOST_TEST(!CompareTables(a, b, CompareOptions(), &c).ok());  // non-monotonic, sizes differ
}

BOOST_AUTO_TEST_CASE(signals_header_is_read_from_comments) {
  auto p = std::filesystem::temp_directory_path() /
           ("memspice_sig_" + std::to_string(::getpid()) + ".cir");
  std::ofstream(p) << "title\n* signals: V(out) i(v1)\n*signals: v(x1.a)\nR1 a 0 1\n.end\n";
  auto sig = memspice::ngspice::ReadSignalsHeader(p.string());
  std::filesystem::remove(p);
  BOOST_TEST((sig == std::vector<std::string>{"v(out)", "i(v1)", "v(x1.a)"}));
}
