// Atomic output files and the streamed CSV / raw writers.
#define BOOST_TEST_MODULE output_atomic
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "io/csv_writer.h"
#include "io/raw_file.h"
#include "tests/test_util.h"

namespace memspice::io {
namespace {

namespace fs = std::filesystem;
using memspice::testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Files in `dir` other than `keep`: leftovers of temporary files.
int CountFiles(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

WaveformTable SmallTable() {
  WaveformTable t;
  t.title = "t";
  t.analysis = "Transient Analysis";
  t.scale_name = "time";
  t.names = {"v(a)", "i(v1)"};
  for (int k = 0; k < 5; ++k) {
    t.scale.push_back(1e-3 * k);
    t.rows.push_back({0.1 * k, -1e-6 * k});
  }
  return t;
}

// Streams `t` through `sink` as the solver would.
void Stream(const WaveformTable& t, PointSink* sink) {
  BOOST_REQUIRE(sink->Begin(t).ok());
  for (size_t k = 0; k < t.rows.size(); ++k) BOOST_REQUIRE(sink->Point(t.scale[k], t.rows[k]).ok());
  BOOST_REQUIRE(sink->End(t).ok());
}

BOOST_AUTO_TEST_CASE(commit_replaces_and_abandon_keeps_the_old_file) {
  TempDir dir("atomic");
  const std::string path = dir / "out.txt";
  BOOST_REQUIRE(WriteFileAtomic(path, "first\n").ok());
  BOOST_TEST(Slurp(path) == "first\n");
  {
    AtomicFile f;
    BOOST_REQUIRE(f.Open(path).ok());
    BOOST_REQUIRE(f.Write("half a resu").ok());
    BOOST_TEST(fs::exists(f.temp_path()));
    BOOST_TEST(fs::path(f.temp_path()).parent_path() == fs::path(path).parent_path());
  }  // destroyed without Commit: an interrupted write
  BOOST_TEST(Slurp(path) == "first\n");
  BOOST_TEST(CountFiles(dir.path()) == 1);
  BOOST_REQUIRE(WriteFileAtomic(path, "second\n").ok());
  BOOST_TEST(Slurp(path) == "second\n");
  BOOST_TEST(CountFiles(dir.path()) == 1);
}

BOOST_AUTO_TEST_CASE(write_at_patches_bytes_already_written) {
  TempDir dir("atomic");
  AtomicFile f;
  BOOST_REQUIRE(f.Open(dir / "p.txt").ok());
  BOOST_REQUIRE(f.Write("count: ????\n").ok());
  BOOST_REQUIRE(f.Write(std::string(3 << 20, 'x')).ok());  // past the buffer: flushed
  BOOST_REQUIRE(f.WriteAt(7, "0042").ok());
  BOOST_REQUIRE(f.Commit().ok());
  BOOST_TEST(Slurp(dir / "p.txt").substr(0, 12) == "count: 0042\n");
  AtomicFile g;
  BOOST_REQUIRE(g.Open(dir / "q.txt").ok());
  BOOST_REQUIRE(g.Write("abc").ok());
  BOOST_TEST(!g.WriteAt(2, "zz").ok());  // past the end: refused, and the file is abandoned
  BOOST_TEST(!g.Commit().ok());
  BOOST_TEST(!fs::exists(dir / "q.txt"));
}

BOOST_AUTO_TEST_CASE(open_errors_name_the_path_and_the_reason) {
  TempDir dir("atomic");
  AtomicFile f;
  Status s = f.Open(dir / "missing/out.csv");
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("does not exist") != std::string::npos);
  s = f.Open(dir.path().string());
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("is a folder") != std::string::npos);
  BOOST_TEST(!WriteFileAtomic("", "x").ok());
}

BOOST_AUTO_TEST_CASE(streamed_csv_equals_the_in_memory_writer) {
  TempDir dir("atomic");
  const WaveformTable t = SmallTable();
  CsvSink sink;
  BOOST_REQUIRE(sink.Open(dir / "s.csv").ok());
  Stream(t, &sink);
  BOOST_TEST(!fs::exists(dir / "s.csv"));  // not before Commit
  BOOST_REQUIRE(sink.Commit().ok());
  BOOST_TEST(Slurp(dir / "s.csv") == FormatCsv(t));
}

BOOST_AUTO_TEST_CASE(streamed_raw_reads_back_with_point_counts) {
  for (bool binary : {true, false}) {
    TempDir dir("atomic");
    WaveformTable op;
    op.title = "t";
    op.analysis = "Operating Point";
    op.names = {"v(a)"};
    op.rows = {{2.5}};
    const WaveformTable tran = SmallTable();
    RawSink sink;
    BOOST_REQUIRE(sink.Open(dir / "s.raw", binary).ok());
    BOOST_REQUIRE(sink.Begin(op).ok());
    BOOST_REQUIRE(sink.Point(0.0, op.rows[0]).ok());
    BOOST_REQUIRE(sink.End(op).ok());
    Stream(tran, &sink);
    BOOST_REQUIRE(sink.Commit().ok());
    std::vector<WaveformTable> plots;
    BOOST_REQUIRE(ReadRaw(dir / "s.raw", &plots).ok());
    BOOST_REQUIRE(plots.size() == 2u);
    BOOST_TEST(plots[0].rows.size() == 1u);
    BOOST_TEST(plots[0].rows[0][0] == 2.5);
    BOOST_TEST(plots[1].scale == tran.scale);
    BOOST_TEST(plots[1].rows == tran.rows);
  }
}

BOOST_AUTO_TEST_CASE(table_limits_stop_with_a_message) {
  WaveformTable t = SmallTable();
  t.rows.clear();
  t.scale.clear();
  t.max_points = 3;
  for (int k = 0; k < 3; ++k) BOOST_REQUIRE(t.AddPoint(k, {1.0, 2.0}).ok());
  Status s = t.AddPoint(3, {1.0, 2.0});
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("limit of 3 output points") != std::string::npos);
  WaveformTable m = SmallTable();
  m.rows.clear();
  m.scale.clear();
  m.max_kept_bytes = 1000;
  Status last = Status::Ok();
  for (int k = 0; k < 100 && last.ok(); ++k) last = m.AddPoint(k, {1.0, 2.0});
  BOOST_TEST(!last.ok());
  BOOST_TEST(m.num_points() < 100);
  m.keep_rows = false;  // streamed points do not count against memory
  BOOST_TEST(m.AddPoint(0, {1.0, 2.0}).ok());
}

}  // namespace
}  // namespace memspice::io
