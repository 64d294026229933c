// io::PlotWaveforms on a CSV table (not a waveform): axis labels from the options, markers.
#define BOOST_TEST_MODULE output_plot
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "../../test_util.h"
#include "io/csv_writer.h"
#include "io/plot.h"

namespace {

using memspice::testing::ReadFile;
using memspice::testing::TempDir;

bool HaveGnuplot() { return std::system("gnuplot --version > /dev/null 2>&1") == 0; }

BOOST_AUTO_TEST_CASE(table_with_labels_and_points) {
  if (!HaveGnuplot()) {
    std::cout << "SKIPPED: gnuplot not found\n";
    return;
  }
  TempDir dir("plot");
  memspice::io::WaveformTable table;
  const std::string csv = dir.Write("t.csv", "rline,a,b\n0,82.4,83.4\n1,70,80\n2.5,50,78\n");
  BOOST_REQUIRE(memspice::io::ReadCsv(csv, &table).ok());
  memspice::io::PlotOptions o;
  o.title = "accuracy";
  o.xlabel = "line resistance [ohm]";
  o.ylabel = "test accuracy [%]";
  o.points = true;
  BOOST_REQUIRE(memspice::io::PlotWaveforms(table, dir / "p.svg", o).ok());
  const std::string svg = ReadFile(dir / "p.svg");
  BOOST_CHECK(svg.find("line resistance [ohm]") != std::string::npos);
  BOOST_CHECK(svg.find("test accuracy [%]") != std::string::npos);
  // Default labels: the scale's name as it is, "value" for signals of no known unit.
  o.xlabel = o.ylabel = "";
  BOOST_REQUIRE(memspice::io::PlotWaveforms(table, dir / "q.svg", o).ok());
  const std::string plain = ReadFile(dir / "q.svg");
  BOOST_CHECK(plain.find(">rline<") != std::string::npos);
  BOOST_CHECK(plain.find("test accuracy") == std::string::npos);
  // Markers: the points-on variant draws more than the lines-only one.
  o.points = false;
  BOOST_REQUIRE(memspice::io::PlotWaveforms(table, dir / "r.svg", o).ok());
  BOOST_CHECK_GT(plain.size(), ReadFile(dir / "r.svg").size());
}

}  // namespace
