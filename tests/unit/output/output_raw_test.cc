// SPICE3 raw files: round trips, interoperability with ngspice 39 in both directions, and the
// reader's handling of multi-plot, truncated, complex and malformed files.
#define BOOST_TEST_MODULE output_raw
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/raw_file.h"
#include "ngspice/runner.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using memspice::io::ParseRaw;
using memspice::io::ReadRaw;
using memspice::io::WaveformTable;
using memspice::io::WriteRaw;

using memspice::testing::HaveNgspice;
using memspice::testing::TempDir;

namespace {

WaveformTable MakeTran() {
  WaveformTable t;
  t.title = "round trip";
  t.analysis = "Transient Analysis";
  t.scale_name = "time";
  t.names = {"v(out)", "i(v1)", "x(m1)", "v(x1.n2)"};
  for (int k = 0; k < 50; ++k) {
    double time = k * 1.234567890123e-7;
    t.scale.push_back(time);
    // Values with full 53-bit mantissas, signs and tiny/huge magnitudes.
    t.rows.push_back({std::sin(k * 0.37) / 3.0, -1e-3 * std::exp(-k / 7.0), 0.1 * k + 1e-17,
                      k % 2 ? 1e300 / (k + 1) : -1e-300 * k});
  }
  return t;
}

WaveformTable MakeOp() {
  WaveformTable t;
  t.title = "round trip";
  t.analysis = "Operating Point";
  t.names = {"v(in)", "v(out)", "i(v1)"};
  t.rows = {{1.0, 1.0 / 3.0, -2.0 / 3.0 * 1e-3}};
  return t;
}

WaveformTable MakeDc() {
  WaveformTable t;
  t.title = "round trip";
  t.analysis = "DC transfer characteristic";
  t.scale_name = "v(v-sweep)";
  t.names = {"v(out)"};
  for (int k = 0; k < 11; ++k) {
    t.scale.push_back(0.1 * k);
    t.rows.push_back({0.05 * k});
  }
  return t;
}

void CheckEqual(const WaveformTable& a, const WaveformTable& b) {
  BOOST_TEST(a.title == b.title);
  BOOST_TEST(a.analysis == b.analysis);
  BOOST_TEST(a.scale_name == b.scale_name);
  BOOST_TEST(a.names == b.names, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(a.rows.size(), b.rows.size());
  BOOST_TEST(a.scale == b.scale, boost::test_tools::per_element());
  for (size_t k = 0; k < a.rows.size(); ++k) {
    BOOST_TEST(a.rows[k] == b.rows[k], boost::test_tools::per_element());
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

BOOST_AUTO_TEST_CASE(binary_and_ascii_round_trip_is_exact) {
  TempDir dir;
  for (bool binary : {true, false}) {
    std::string path = dir / (binary ? "b.raw" : "a.raw");
    std::vector<WaveformTable> in = {MakeOp(), MakeTran(), MakeDc()};
    BOOST_REQUIRE(WriteRaw(in, path, binary).ok());
    std::vector<WaveformTable> out;
    auto s = ReadRaw(path, &out);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
    BOOST_REQUIRE_EQUAL(out.size(), 3u);
    for (int i = 0; i < 3; ++i) CheckEqual(in[i], out[i]);
  }
}

BOOST_AUTO_TEST_CASE(header_follows_spice3_layout) {
  TempDir dir;
  BOOST_REQUIRE(WriteRaw(MakeTran(), dir / "t.raw", false).ok());
  std::string text = Slurp(dir / "t.raw");
  BOOST_TEST(text.rfind("Title: round trip\nDate: ", 0) == 0u);
  BOOST_TEST(text.find("\nPlotname: Transient Analysis\nFlags: real\nNo. Variables: 5\n"
                       "No. Points: 50\nVariables:\n\t0\ttime\ttime\n\t1\tv(out)\tvoltage\n"
                       "\t2\ti(v1)\tcurrent\n\t3\tx(m1)\tnotype\n") != std::string::npos);
  BOOST_TEST(text.find("\nValues:\n 0\t") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_operating_point_round_trips) {
  // An empty circuit: one point of no variables, as ngspice writes it.
  TempDir dir;
  WaveformTable op;
  op.title = "empty";
  op.analysis = "Operating Point";
  op.rows = {{}};
  for (bool binary : {true, false}) {
    std::string path = dir / (binary ? "b.raw" : "a.raw");
    auto w = WriteRaw(op, path, binary);
    BOOST_REQUIRE_MESSAGE(w.ok(), w.message());
    BOOST_TEST(Slurp(path).find("No. Variables: 0\nNo. Points: 1\n") != std::string::npos);
    std::vector<WaveformTable> out;
    auto s = ReadRaw(path, &out);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
    BOOST_REQUIRE_EQUAL(out.size(), 1u);
    BOOST_TEST(out[0].names.empty());
    BOOST_TEST(out[0].rows.size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(writer_rejects_ragged_table) {
  TempDir dir;
  WaveformTable t = MakeTran();
  t.rows[3].pop_back();
  auto s = WriteRaw(t, dir / "bad.raw", true);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("row 3") != std::string::npos);
  auto s2 = WriteRaw(t, "/nonexistent_dir_xyz/a.raw", true);
  BOOST_TEST(!s2.ok());
}

BOOST_AUTO_TEST_CASE(truncated_binary_keeps_complete_points) {
  TempDir dir;
  BOOST_REQUIRE(WriteRaw(MakeTran(), dir / "t.raw", true).ok());
  std::string text = Slurp(dir / "t.raw");
  text.resize(text.size() - 5 * 8 * 10 - 3);  // drop 10 points and 3 bytes of the 39th
  std::vector<WaveformTable> out;
  BOOST_REQUIRE(ParseRaw(text, "cut.raw", &out).ok());
  BOOST_REQUIRE_EQUAL(out.size(), 1u);
  BOOST_TEST(out[0].num_points() == 39);
  BOOST_TEST(out[0].rows[38] == MakeTran().rows[38], boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(complex_plots_are_read_with_imaginary_parts) {
  std::string text =
      "Title: ac\nDate: x\nPlotname: AC Analysis\nFlags: complex\nNo. Variables: 2\n"
      "No. Points: 2\nVariables:\n\t0\tfrequency\tfrequency grid=3\n\t1\tv(out)\tvoltage\n"
      "Values:\n 0\t1.0,0.0\n\t0.5,-0.5\n\n 1\t10.0,0.0\n\t0.1,-0.2\n\n"
      "Title: ac\nDate: x\nPlotname: Operating Point\nFlags: real\nNo. Variables: 1\n"
      "No. Points: 1\nVariables:\n\t0\tv(out)\tvoltage\nValues:\n 0\t2.5\n\n";
  std::vector<WaveformTable> out;
  auto s = ParseRaw(text, "ac.raw", &out);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(out.size(), 2u);
  BOOST_TEST(out[0].analysis == "AC Analysis");
  BOOST_TEST(out[0].complex);
  BOOST_TEST(out[0].scale == std::vector<double>({1.0, 10.0}), boost::test_tools::per_element());
  BOOST_TEST(out[0].rows[1][0] == 0.1);
  BOOST_TEST(out[0].imag[1][0] == -0.2);
  BOOST_TEST(out[1].analysis == "Operating Point");
  BOOST_TEST(!out[1].complex);
  BOOST_TEST(out[1].scale.empty());
  BOOST_TEST(out[1].rows[0][0] == 2.5);
  // Written back (ascii and binary) and read again: the same numbers.
  TempDir dir;
  for (bool binary : {false, true}) {
    const std::string path = dir / "ac.raw";
    BOOST_REQUIRE(WriteRaw(out[0], path, binary).ok());
    std::vector<WaveformTable> back;
    BOOST_REQUIRE(ReadRaw(path, &back).ok());
    BOOST_REQUIRE_EQUAL(back.size(), 1u);
    BOOST_TEST(back[0].complex);
    BOOST_TEST(back[0].rows == out[0].rows);
    BOOST_TEST(back[0].imag == out[0].imag);
    BOOST_TEST(back[0].scale == out[0].scale, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(malformed_files_give_located_errors) {
  std::vector<WaveformTable> out;
  auto s = ParseRaw("Title: x\nGarbage here\n", "g.raw", &out);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("g.raw:2") != std::string::npos);
  s = ParseRaw(
      "Title: x\nPlotname: Operating Point\nFlags: real\nNo. Variables: 2\n"
      "No. Points: 1\nVariables:\n\t0\tv(a)\tvoltage\nValues:\n 0\t1\n",
      "n.raw", &out);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("No. Variables: 2") != std::string::npos);
  s = ParseRaw(
      "Title: x\nPlotname: Operating Point\nFlags: real\nNo. Variables: 1\n"
      "No. Points: 1\nVariables:\n\t0\tv(a)\tvoltage\nValues:\n 0\tabc\n",
      "v.raw", &out);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("abc") != std::string::npos);
  s = ParseRaw("", "empty.raw", &out);
  BOOST_TEST(!s.ok());
  s = ReadRaw("/nonexistent/x.raw", &out);
  BOOST_TEST(!s.ok());
}

// ngspice writes a binary raw file with `-r`; we read it and check the physics.
BOOST_AUTO_TEST_CASE(reads_ngspice_binary_raw) {
  if (!HaveNgspice()) {
    BOOST_TEST_MESSAGE("ngspice not on PATH: skipped");
    return;
  }
  TempDir dir;
  std::ofstream(dir / "rc.cir") << "rc\nV1 in 0 DC 0 PULSE(0 1 0 1e-12 1e-12 1 2)\nR1 in out 1k\n"
                                   "C1 out 0 1u\nR2 in mid 1k\nR3 mid 0 3k\n"
                                   ".options reltol=1e-6\n.op\n.tran 1e-5 3e-3 0 1e-5\n.end\n";
  std::string cmd =
      "cd " + dir.path().string() + " && ngspice -b -r rc.raw rc.cir > /dev/null 2>&1 < /dev/null";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<WaveformTable> plots;
  auto s = ReadRaw(dir / "rc.raw", &plots);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(plots.size(), 2u);
  const WaveformTable* tran = nullptr;
  const WaveformTable* op = nullptr;
  for (const auto& p : plots) (p.analysis == "Operating Point" ? op : tran) = &p;
  BOOST_REQUIRE(op && tran);
  BOOST_TEST(op->num_points() == 1);
  BOOST_TEST(std::abs(op->rows[0][op->Find("v(mid)")]) < 1e-12);
  BOOST_TEST(tran->scale_name == "time");
  int jout = tran->Find("v(out)");
  int jmid = tran->Find("v(mid)");
  BOOST_REQUIRE(jout >= 0 && jmid >= 0);
  BOOST_TEST(tran->Find("i(v1)") >= 0);
  BOOST_TEST(tran->num_points() > 100);
  for (int k = 0; k < tran->num_points(); ++k) {
    double t = tran->scale[k];
    if (t < 1e-9) continue;
    BOOST_TEST(std::abs(tran->rows[k][jout] - (1 - std::exp(-t / 1e-3))) < 2e-3);
    BOOST_TEST(tran->rows[k][jmid] == 0.75, boost::test_tools::tolerance(1e-9));
  }
}

// memspice writes, ngspice `load`s and writes back ascii, memspice reads: names and values agree.
BOOST_AUTO_TEST_CASE(ngspice_loads_memspice_raw) {
  if (!HaveNgspice()) {
    BOOST_TEST_MESSAGE("ngspice not on PATH: skipped");
    return;
  }
  for (bool binary : {true, false}) {
    TempDir dir;
    WaveformTable in = MakeTran();
    for (auto& r : in.rows) r[3] = r[2] * 2;  // keep values in a range ngspice prints losslessly
    BOOST_REQUIRE(WriteRaw(std::vector<WaveformTable>{MakeOp(), in}, dir / "m.raw", binary).ok());
    std::ofstream(dir / "load.cir") << "load\n.control\nset filetype=ascii\nload m.raw\n"
                                       "setplot tran1\nwrite back.raw\n.endc\n.end\n";
    std::string cmd =
        "cd " + dir.path().string() + " && ngspice -b load.cir > ng.out 2>&1 < /dev/null";
    (void)std::system(cmd.c_str());  // ngspice exits 1 when a deck runs no simulation
    std::vector<WaveformTable> back;
    auto s = ReadRaw(dir / "back.raw", &back);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message() + "\n" + Slurp(dir / "ng.out"));
    BOOST_REQUIRE_EQUAL(back.size(), 1u);
    const WaveformTable& b = back[0];
    BOOST_TEST(b.scale_name == "time");
    BOOST_REQUIRE_EQUAL(b.num_points(), in.num_points());
    for (size_t j = 0; j < in.names.size(); ++j) {
      int jb = b.Find(in.names[j]);
      BOOST_REQUIRE_MESSAGE(jb >= 0, in.names[j]);
      for (int k = 0; k < in.num_points(); ++k) {
        BOOST_TEST(b.scale[k] == in.scale[k], boost::test_tools::tolerance(1e-14));
        BOOST_TEST(b.rows[k][jb] == in.rows[k][j], boost::test_tools::tolerance(1e-14));
      }
    }
  }
}
