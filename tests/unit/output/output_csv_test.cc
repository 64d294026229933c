// CSV output: header layout, exact round trip, and clear errors on bad input.
#define BOOST_TEST_MODULE output_csv
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/csv_writer.h"

namespace fs = std::filesystem;
using memspice::io::FormatCsv;
using memspice::io::ParseCsv;
using memspice::io::ReadCsv;
using memspice::io::WaveformTable;
using memspice::io::WriteCsv;

namespace {

WaveformTable MakeTran() {
  WaveformTable t;
  t.analysis = "Transient Analysis";
  t.scale_name = "time";
  t.names = {"v(a)", "i(v1)", "x(m1)"};
  for (int k = 0; k < 20; ++k) {
    t.scale.push_back(k * 1e-7 / 3.0);
    t.rows.push_back({std::sin(k * 0.3) / 7.0, -1e-3 * std::exp(-k / 3.0), 1e-300 * k});
  }
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(header_has_scale_first_then_signals) {
  WaveformTable t;
  t.scale_name = "time";
  t.names = {"v(a)", "i(v1)"};
  t.scale = {0.0, 1e-9};
  t.rows = {{1.0, -0.5}, {0.25, 1e-3}};
  BOOST_TEST(FormatCsv(t) == "time,v(a),i(v1)\n0,1,-0.5\n1e-09,0.25,0.001\n");
}

BOOST_AUTO_TEST_CASE(operating_point_has_no_scale_column) {
  WaveformTable t;
  t.names = {"v(a)", "i(v1)"};
  t.rows = {{2.0, 0.1}};
  BOOST_TEST(FormatCsv(t) == "v(a),i(v1)\n2,0.1\n");
}

BOOST_AUTO_TEST_CASE(values_round_trip_exactly) {
  fs::path p = fs::temp_directory_path() / ("memspice_csv_" + std::to_string(::getpid()) + ".csv");
  WaveformTable in = MakeTran();
  BOOST_REQUIRE(WriteCsv(in, p.string()).ok());
  WaveformTable out;
  auto s = ReadCsv(p.string(), &out);
  fs::remove(p);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_TEST(out.scale_name == "time");
  BOOST_TEST(out.names == in.names, boost::test_tools::per_element());
  BOOST_TEST(out.scale == in.scale, boost::test_tools::per_element());
  BOOST_REQUIRE_EQUAL(out.rows.size(), in.rows.size());
  for (size_t k = 0; k < in.rows.size(); ++k) {
    BOOST_TEST(out.rows[k] == in.rows[k], boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(reader_accepts_comments_quotes_crlf_and_no_scale) {
  WaveformTable t;
  auto s =
      ParseCsv("# target\r\nTIME,\"v(a,b)\",V(C)\r\n0, 1.5 ,2\r\n\r\n1e-3,-1,3e2\r\n", "t.csv", &t);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_TEST(t.scale_name == "time");
  BOOST_TEST((t.names == std::vector<std::string>{"v(a,b)", "v(c)"}));
  BOOST_TEST((t.scale == std::vector<double>{0.0, 1e-3}));
  BOOST_TEST((t.rows[1] == std::vector<double>{-1.0, 300.0}));
  WaveformTable u;
  BOOST_REQUIRE(ParseCsv("a,b\n1,2\n", "u.csv", &u, false).ok());
  BOOST_TEST(u.scale_name.empty());
  BOOST_TEST(u.names.size() == 2u);
  BOOST_TEST(FormatCsv(t).find("\"v(a,b)\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reader_errors_name_line_and_column) {
  WaveformTable t;
  auto s = ParseCsv("time,v(a)\n0,1\n1,abc\n", "bad.csv", &t);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("bad.csv:3:3") != std::string::npos);
  BOOST_TEST(s.message().find("abc") != std::string::npos);
  s = ParseCsv("time,v(a)\n0,1,2\n", "wide.csv", &t);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("wide.csv:2") != std::string::npos);
  s = ParseCsv("", "empty.csv", &t);
  BOOST_TEST(!s.ok());
  s = ParseCsv("time,\n", "name.csv", &t);
  BOOST_TEST(!s.ok());
  s = ReadCsv("/nonexistent/x.csv", &t);
  BOOST_TEST(!s.ok());
}

BOOST_AUTO_TEST_CASE(writer_rejects_ragged_tables_and_bad_paths) {
  WaveformTable t = MakeTran();
  t.rows[2].push_back(1.0);
  BOOST_TEST(!WriteCsv(t, "/tmp/never_written.csv").ok());
  BOOST_TEST(!WriteCsv(MakeTran(), "/nonexistent_dir_xyz/a.csv").ok());
}
