// Running ngspice: name normalisation, results of a real run, and clear failures (missing
// executable, timeout, deck errors).
#define BOOST_TEST_MODULE output_ngspice_runner
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "ngspice/runner.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using memspice::ngspice::NgspiceOptions;
using memspice::ngspice::NgspiceResult;
using memspice::ngspice::NormalizeNgspiceName;
using memspice::ngspice::RunNgspice;
using memspice::ngspice::RunNgspiceText;

using memspice::testing::HaveNgspice;
using memspice::testing::TempDir;

namespace {}  // namespace

BOOST_AUTO_TEST_CASE(names_follow_memspice_convention) {
  BOOST_TEST(NormalizeNgspiceName("V(OUT)") == "v(out)");
  BOOST_TEST(NormalizeNgspiceName("v(x1.n2)") == "v(x1.n2)");
  BOOST_TEST(NormalizeNgspiceName("v1#branch") == "i(v1)");
  BOOST_TEST(NormalizeNgspiceName("I(V1)") == "i(v1)");
  BOOST_TEST(NormalizeNgspiceName("i(v.x1.vs)") == "i(x1.vs)");
  BOOST_TEST(NormalizeNgspiceName("v.x1.x2.vs#branch") == "i(x1.x2.vs)");
  BOOST_TEST(NormalizeNgspiceName("l.xa.l1#branch") == "i(xa.l1)");
  BOOST_TEST(NormalizeNgspiceName("e1#branch") == "i(e1)");
  BOOST_TEST(NormalizeNgspiceName("time") == "time");
  BOOST_TEST(NormalizeNgspiceName("v(v-sweep)") == "v(v-sweep)");
  BOOST_TEST(NormalizeNgspiceName("i(x1.vs)") == "i(x1.vs)");  // memspice names are fixed points
}

BOOST_AUTO_TEST_CASE(runs_deck_and_normalises_subcircuit_currents) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "inc.lib") << "* included\n.subckt load a\nVs a m 0\nR1 m 0 1k\n.ends\n";
  std::ofstream(dir / "d.cir") << "d\n.include inc.lib\nV1 in 0 2\nR1 in out 1k\nX1 out load\n"
                                  ".op\n.dc V1 0 2 1\n.end\n";
  NgspiceResult r;
  auto s = RunNgspice(dir / "d.cir", NgspiceOptions(), &r);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(r.plots.size(), 2u);
  for (const auto& p : r.plots) {
    BOOST_TEST(p.Find("i(x1.vs)") >= 0);
    BOOST_TEST(p.Find("i(v1)") >= 0);
    BOOST_TEST(p.Find("v(x1.m)") >= 0);
    if (p.analysis == "Operating Point") {
      BOOST_TEST(p.rows[0][p.Find("v(out)")] == 1.0, boost::test_tools::tolerance(1e-9));
      BOOST_TEST(p.rows[0][p.Find("i(x1.vs)")] == 1e-3, boost::test_tools::tolerance(1e-9));
    } else {
      BOOST_TEST(p.num_points() == 3);
      BOOST_TEST(p.scale[2] == 2.0, boost::test_tools::tolerance(1e-12));
    }
  }
  BOOST_TEST(!fs::exists(r.work_dir));  // temporary files are removed
}

BOOST_AUTO_TEST_CASE(deck_text_resolves_includes_in_given_directory) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "inc2.lib") << ".param rv=3k\n";
  NgspiceResult r;
  auto s = RunNgspiceText("t\n.include inc2.lib\nV1 a 0 3\nR1 a 0 {rv}\n.op\n.end\n",
                          dir.path().string(), NgspiceOptions(), &r);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_REQUIRE_EQUAL(r.plots.size(), 1u);
  BOOST_TEST(r.plots[0].rows[0][r.plots[0].Find("i(v1)")] == -1e-3,
             boost::test_tools::tolerance(1e-9));
  int left = 0;
  for (const auto& e : fs::directory_iterator(dir.path()))
    left += e.path().filename() != "inc2.lib";
  BOOST_TEST(left == 0);
}

BOOST_AUTO_TEST_CASE(deck_errors_quote_ngspice) {
  if (!HaveNgspice()) return;
  TempDir dir;
  std::ofstream(dir / "bad.cir") << "bad\nR1 a 0 1k\nD1 a 0 nomodel\nV1 a 0 1\n.op\n.end\n";
  NgspiceResult r;
  auto s = RunNgspice(dir / "bad.cir", NgspiceOptions(), &r);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("nomodel") != std::string::npos, s.message());
  BOOST_TEST(s.message().find("bad.cir") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_executable_and_deck_are_reported) {
  NgspiceOptions o;
  o.executable = "ngspice_that_does_not_exist_42";
  NgspiceResult r;
  TempDir dir;
  std::ofstream(dir / "x.cir") << "x\nR1 a 0 1\nV1 a 0 1\n.op\n.end\n";
  auto s = RunNgspice(dir / "x.cir", o, &r);
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("not found") != std::string::npos);
  BOOST_TEST(!s.hint().empty());
  s = RunNgspice(dir / "missing.cir", NgspiceOptions(), &r);
  BOOST_TEST(!s.ok());
}

BOOST_AUTO_TEST_CASE(timeout_kills_the_process) {
  TempDir dir;
  std::string fake = dir / "slow_ngspice.sh";
  std::ofstream(fake) << "#!/bin/sh\nsleep 30\n";
  ::chmod(fake.c_str(), 0755);
  std::ofstream(dir / "x.cir") << "x\n.end\n";
  NgspiceOptions o;
  o.executable = fake;
  o.timeout_seconds = 0.5;
  NgspiceResult r;
  auto t0 = std::chrono::steady_clock::now();
  auto s = RunNgspice(dir / "x.cir", o, &r);
  double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST(!s.ok());
  BOOST_TEST(s.message().find("timed out") != std::string::npos);
  BOOST_TEST(dt < 5.0);
}

BOOST_AUTO_TEST_CASE(keep_files_leaves_outputs_for_debugging) {
  if (!HaveNgspice()) return;
  TempDir dir;
  NgspiceOptions o;
  o.keep_files = true;
  NgspiceResult r;
  auto s = RunNgspiceText("k\nV1 a 0 1\nR1 a 0 1k\n.op\n.end\n", dir.path().string(), o, &r);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_TEST(fs::exists(fs::path(r.work_dir) / "out.raw"));
  BOOST_TEST(fs::exists(fs::path(r.work_dir) / "stdout.txt"));
  BOOST_TEST(fs::exists(fs::path(r.work_dir) / "deck.cir"));
  BOOST_TEST(r.stdout_text.find("Circuit: k") != std::string::npos);
  std::error_code ec;
  fs::remove_all(r.work_dir, ec);
}
