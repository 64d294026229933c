// `memspice sweep`: .step runs with .meas results, alone, on threads and under mpirun (the same
// CSV and raw file whatever the split), and its input errors.
#define BOOST_TEST_MODULE mpi_sweep
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "solver/raw_file.h"
#include "tests/test_util.h"

using memspice::testing::TempDir;

namespace {

int Run(const std::string& cmd, std::string* output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  output->clear();
  while (size_t n = fread(buf, 1, sizeof buf, p)) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Mpirun(int ranks) {
  return std::string("mpirun --oversubscribe ") + (getuid() == 0 ? "--allow-run-as-root " : "") +
         "-np " + std::to_string(ranks) + " ";
}

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
  BOOST_REQUIRE_MESSAGE(Run(std::string(MEMSPICE_BINARY) + " sweep -q --threads 2 " + deck +
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
  std::vector<memspice::solver::WaveformTable> plots;
  BOOST_REQUIRE(memspice::solver::ReadRaw(tmp / "r.raw", &plots).ok());
  BOOST_TEST(plots.size() == 6u);
  BOOST_TEST(plots[4].title.find("run 5: c=2e-06 r=1000") != std::string::npos, plots[4].title);
}

BOOST_AUTO_TEST_CASE(ranks_give_the_same_files) {
  std::string out;
  if (Run("mpirun --version", &out) != 0) {
    BOOST_TEST_MESSAGE("mpirun not found: skipped");
    return;
  }
  TempDir tmp("sweep");
  const std::string deck = tmp.Write("rc.cir", kDeck);
  for (int ranks : {1, 2, 4}) {
    const std::string tag = std::to_string(ranks);
    BOOST_REQUIRE_MESSAGE(
        Run(Mpirun(ranks) + MEMSPICE_BINARY + " sweep -q --threads 1 " + deck + " --csv " +
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
  BOOST_TEST(Run(std::string(MEMSPICE_BINARY) + " sweep " + path, &out) == 1);
  BOOST_TEST(
      out.find(path + ":8:1: error: .step param c needs START STOP STEP") != std::string::npos,
      out);
  const std::string none = tmp.Write("none.cir", "* no steps\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n");
  BOOST_TEST(Run(std::string(MEMSPICE_BINARY) + " sweep " + none, &out) == 1);
  BOOST_TEST(out.find("the deck has no .step card") != std::string::npos, out);
}
