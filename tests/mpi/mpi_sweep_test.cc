// `memspice sweep`: .step and Monte Carlo runs with .meas results, alone, on threads and under
// mpirun (the same CSV and raw file whatever the split), and its input errors.
#define BOOST_TEST_MODULE mpi_sweep
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "io/raw_file.h"
#include "tests/test_util.h"

using memspice::testing::Mpirun;
using memspice::testing::ReadFile;
using memspice::testing::RunCommand;
using memspice::testing::TempDir;

namespace {

// RC charged through R for 2 ms: 3 resistances x 2 capacitances = 6 runs.
const char* kDeck = R"(* rc sweep
.param r=1k c=1u
V1 in 0 PULSE(0 1 0 1u 1u 10m 20m)
R1 in out {r}
C1 out 0 {c}
.tran 10u 4m 0 10u
.step param r list 500 1k 2k
.step param c 1u 2u 1u
.meas tran t_half when v(out)=0.5 rise=1
.meas tran v_end find v(out) at=2m
.end
)";

}  // namespace

BOOST_AUTO_TEST_CASE(steps_measure_every_run) {
  TempDir tmp("sweep");
  const std::string deck = tmp.Write("rc.cir", kDeck);
  std::string out;
  BOOST_REQUIRE_MESSAGE(RunCommand(std::string(MEMSPICE_BINARY) + " sweep -q --threads 2 " + deck +
                                       " --csv " + tmp / "m.csv" + " --raw " + tmp / "r.raw",
                                   &out) == 0,
                        out);
  std::istringstream csv(ReadFile(tmp / "m.csv"));
  std::string line;
  std::getline(csv, line);
  BOOST_TEST(line == "run,r,c,t_half,v_end");
  int rows = 0;
  while (std::getline(csv, line)) {
    double run, r, c, t_half, v_end;
    BOOST_REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf,%lf", &run, &r, &c, &t_half, &v_end) ==
                  5);
    const double tau = r * c;  // the first .step varies fastest
    BOOST_TEST(r == (rows % 3 == 0 ? 500 : rows % 3 == 1 ? 1000 : 2000));
    BOOST_TEST(std::abs(t_half - tau * std::log(2.0)) < 2e-3 * tau, line);
    BOOST_TEST(std::abs(v_end - (1 - std::exp(-2e-3 / tau))) < 2e-3, line);
    ++rows;
  }
  BOOST_TEST(rows == 6);
  std::vector<memspice::io::WaveformTable> plots;
  BOOST_REQUIRE(memspice::io::ReadRaw(tmp / "r.raw", &plots).ok());
  BOOST_TEST(plots.size() == 6u);
  BOOST_TEST(plots[4].title.find("run 5: c=2e-06 r=1000") != std::string::npos, plots[4].title);
}

BOOST_AUTO_TEST_CASE(ranks_give_the_same_files) {
  std::string out;
  if (RunCommand("mpirun --version", &out) != 0) {
    BOOST_TEST_MESSAGE("mpirun not found: skipped");
    return;
  }
  TempDir tmp("sweep");
  const std::string deck = tmp.Write("rc.cir", kDeck);
  for (int ranks : {1, 2, 4}) {
    const std::string tag = std::to_string(ranks);
    BOOST_REQUIRE_MESSAGE(
        RunCommand(Mpirun(ranks) + MEMSPICE_BINARY + " sweep -q --threads 1 " + deck + " --csv " +
                       tmp / ("m" + tag + ".csv") + " --raw " + tmp / ("r" + tag + ".raw"),
                   &out) == 0,
        out);
  }
  BOOST_TEST(ReadFile(tmp / "m2.csv") == ReadFile(tmp / "m1.csv"));
  BOOST_TEST(ReadFile(tmp / "m4.csv") == ReadFile(tmp / "m1.csv"));
  BOOST_TEST(ReadFile(tmp / "r4.raw").size() == ReadFile(tmp / "r1.raw").size());
}

BOOST_AUTO_TEST_CASE(bad_steps_are_input_errors) {
  TempDir tmp("sweep");
  std::string deck = kDeck;
  deck.replace(deck.find(".step param c 1u 2u 1u"), 22, ".step param c 1u 2u 0");
  const std::string path = tmp.Write("bad.cir", deck);
  std::string out;
  BOOST_TEST(RunCommand(std::string(MEMSPICE_BINARY) + " sweep " + path, &out) == 1);
  BOOST_TEST(
      out.find(path + ":8:1: error: .step param c needs START STOP STEP") != std::string::npos,
      out);
  const std::string none = tmp.Write("none.cir", "* no steps\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n");
  BOOST_TEST(RunCommand(std::string(MEMSPICE_BINARY) + " sweep " + none, &out) == 1);
  BOOST_TEST(out.find("the deck has no .step card") != std::string::npos, out);
}

namespace {

// The RC deck with a drawn resistor (per instance) and capacitor (a .param), no .step.
const char* kMcDeck = R"(* rc monte carlo
.param c = gauss(1u, 0.1, 1)
V1 in 0 PULSE(0 1 0 1u 1u 10m 20m)
R1 in out {agauss(1k, 100, 1)}
C1 out 0 {c}
.tran 10u 4m 0 10u
.meas tran t_half when v(out)=0.5 rise=1
.end
)";

struct McRow {
  int run, mc;
  double c, c1, r, t_half;  // the .param, C1's value (follows it), R1's value, the measure
};

std::vector<McRow> ReadMcCsv(const std::string& path, std::string* header) {
  std::istringstream csv(ReadFile(path));
  std::getline(csv, *header);
  std::vector<McRow> rows;
  for (std::string line; std::getline(csv, line);) {
    McRow r{};
    BOOST_REQUIRE_MESSAGE(std::sscanf(line.c_str(), "%d,%d,%lf,%lf,%lf,%lf", &r.run, &r.mc, &r.c,
                                      &r.c1, &r.r, &r.t_half) == 6,
                          line);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_CASE(monte_carlo_runs_draw_and_measure) {
  TempDir tmp("mc");
  const std::string deck = tmp.Write("rc.cir", kMcDeck);
  std::string out, header;
  BOOST_REQUIRE_MESSAGE(RunCommand(std::string(MEMSPICE_BINARY) + " sweep -q --mc 8 --seed 5 " +
                                       deck + " --csv " + tmp / "m.csv" + " --raw " + tmp / "r.raw",
                                   &out) == 0,
                        out);
  const std::vector<McRow> rows = ReadMcCsv(tmp / "m.csv", &header);
  BOOST_TEST(header == "run,mc,c,c1:value,r1:value,t_half");
  BOOST_REQUIRE(rows.size() == 9u);  // the nominal run 0, then 8 drawn runs
  BOOST_TEST(rows[0].mc == 0);
  BOOST_TEST(rows[0].r == 1000.0);
  BOOST_TEST(rows[0].c == 1e-6);
  std::set<double> rs;
  for (const McRow& row : rows) {
    BOOST_TEST(row.mc == row.run - 1);
    BOOST_TEST(row.c1 == row.c);
    rs.insert(row.r);
    const double tau = row.r * row.c;  // each run measures its own drawn circuit
    BOOST_TEST(std::abs(row.t_half - tau * std::log(2.0)) < 2e-3 * tau);
  }
  BOOST_TEST(rs.size() == 9u);
  std::vector<memspice::io::WaveformTable> plots;
  BOOST_REQUIRE(memspice::io::ReadRaw(tmp / "r.raw", &plots).ok());
  BOOST_TEST(plots.size() == 9u);
  BOOST_TEST(plots[3].title.find("(run 4: mc=3)") != std::string::npos, plots[3].title);
  // The same seed gives the same file; another seed other draws.
  BOOST_REQUIRE(RunCommand(std::string(MEMSPICE_BINARY) + " sweep -q --mc 8 --seed 5 --threads 1 " +
                               deck + " --csv " + tmp / "again.csv",
                           &out) == 0);
  BOOST_TEST(ReadFile(tmp / "again.csv") == ReadFile(tmp / "m.csv"));
  BOOST_REQUIRE(RunCommand(std::string(MEMSPICE_BINARY) + " sweep -q --mc 8 --seed 6 " + deck +
                               " --csv " + tmp / "other.csv",
                           &out) == 0);
  BOOST_TEST(ReadMcCsv(tmp / "other.csv", &header)[1].r != rows[1].r);
}

BOOST_AUTO_TEST_CASE(monte_carlo_is_the_same_on_threads_and_ranks) {
  TempDir tmp("mc");
  const std::string deck = tmp.Write("rc.cir", kMcDeck);
  const std::string mc = " sweep -q --mc 7 --seed 9 --spread c.value=2% " + deck;
  std::string out;
  for (int threads : {1, 2}) {
    BOOST_REQUIRE_MESSAGE(
        RunCommand(std::string(MEMSPICE_BINARY) + mc + " --threads " + std::to_string(threads) +
                       " --csv " + tmp / ("t" + std::to_string(threads) + ".csv"),
                   &out) == 0,
        out);
  }
  BOOST_TEST(ReadFile(tmp / "t2.csv") == ReadFile(tmp / "t1.csv"));
  BOOST_TEST(ReadFile(tmp / "t1.csv").find("c1:value") != std::string::npos);  // the spread
  if (RunCommand("mpirun --version", &out) != 0) {
    BOOST_TEST_MESSAGE("mpirun not found: rank split skipped");
    return;
  }
  for (int ranks : {2, 3}) {
    const std::string csv = tmp / ("r" + std::to_string(ranks) + ".csv");
    BOOST_REQUIRE_MESSAGE(
        RunCommand(Mpirun(ranks) + MEMSPICE_BINARY + mc + " --threads 1 --csv " + csv, &out) == 0,
        out);
    BOOST_TEST(ReadFile(csv) == ReadFile(tmp / "t1.csv"));
  }
}

BOOST_AUTO_TEST_CASE(deck_mc_runs_nest_with_steps_and_yield_to_the_command_line) {
  TempDir tmp("mc");
  std::string text = kMcDeck;
  text.replace(text.find(".end"), 4,
               ".options mc_runs=3\n.param k=1\n.step param k list 1 2\n.end");
  const std::string deck = tmp.Write("rc.cir", text);
  std::string out, header;
  BOOST_REQUIRE_MESSAGE(
      RunCommand(std::string(MEMSPICE_BINARY) + " sweep -q " + deck + " --csv " + tmp / "m.csv",
                 &out) == 0,
      out);
  std::istringstream csv(ReadFile(tmp / "m.csv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(csv, line);) lines.push_back(line);
  BOOST_REQUIRE(lines.size() == 9u);  // header + (3 + 1) runs x 2 steps
  BOOST_TEST(lines[0] == "run,mc,k,c,c1:value,r1:value,t_half");
  // Both steps of a run share its draws: the same c, C1 and R1.
  auto draws = [](const std::string& line) {
    size_t at = 0;
    for (int comma = 0; comma < 3; ++comma) at = line.find(',', at) + 1;
    return line.substr(at, line.rfind(',') - at);
  };
  BOOST_TEST(draws(lines[3]) == draws(lines[4]));
  BOOST_TEST(draws(lines[3]) != draws(lines[5]));
  BOOST_REQUIRE(
      RunCommand(std::string(MEMSPICE_BINARY) + " sweep --mc 1 " + deck + " --csv " + tmp / "n.csv",
                 &out) == 0);
  BOOST_TEST(out.find("note: --mc 1 replaces the deck's .options mc_runs=3") != std::string::npos,
             out);
}

BOOST_AUTO_TEST_CASE(bad_monte_carlo_input_is_an_input_error) {
  TempDir tmp("mc");
  const std::string deck = tmp.Write("rc.cir", kMcDeck);
  const std::string plain = tmp.Write("plain.cir", "* fixed\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n");
  const std::string bin = std::string(MEMSPICE_BINARY) + " sweep ";
  std::string out;
  BOOST_TEST(RunCommand(bin + deck + " --mc 0", &out) == 1);
  BOOST_TEST(
      out.find("error: --mc 0 must be a number of runs in [1, 1000000]") != std::string::npos, out);
  BOOST_TEST(RunCommand(bin + deck + " --mc -1", &out) == 1);
  BOOST_TEST(out.find("--mc -1 must be a number of runs") != std::string::npos, out);
  BOOST_TEST(RunCommand(bin + plain + " --mc 5", &out) == 1);
  BOOST_TEST(
      out.find("the deck draws no random value and no --spread is given") != std::string::npos,
      out);
  BOOST_TEST(RunCommand(bin + plain + " --mc 2 -q --spread r.value=1%", &out) == 0, out);
  BOOST_TEST(RunCommand(bin + plain + " --spread r.value=1%", &out) == 1);
  BOOST_TEST(out.find("--spread applies to Monte Carlo runs") != std::string::npos, out);
  BOOST_TEST(RunCommand(bin + plain + " --mc 2 --spread r.bogus=1%", &out) == 1);
  BOOST_TEST(out.find("r has no parameter 'bogus'") != std::string::npos, out);
  const std::string bad_option = tmp.Write("bad.cir",
                                           "* b\n.options mc_runs=2.5\n"
                                           "V1 a 0 1\nR1 a 0 {agauss(1k,1,1)}\n.op\n");
  BOOST_TEST(RunCommand(bin + bad_option, &out) == 1);
  BOOST_TEST(out.find(".options mc_runs=2.5 is not a whole number of runs") != std::string::npos,
             out);
}
