// `memspice train net.cir --conductances RUN_DIR` and `memspice eval net.cir --conductances
// RUN_DIR` end to end: a tiny IDX data set, a 4-3-2 deck trained for two batches, then the same
// conductances evaluated on the deck and on a deck with line resistance, and a run continued from
// them, and `export --deck` writing the run into another deck.
#define BOOST_TEST_MODULE conductances_cli
#include <boost/test/unit_test.hpp>
#include <string>

#include "../../test_util.h"
#include "tiny_cli_data.h"
#include "training/dataset.h"
#include "training/run_dir.h"

namespace {

namespace mt = memspice::training;
using memspice::testing::EvalLine;
using memspice::testing::Memspice;
using memspice::testing::TempDir;
using memspice::testing::WriteTinyDataset;

// Largest |a - b| over every conductance of two parameter sets of the same shape.
double MaxDiff(const mt::Parameters& a, const mt::Parameters& b) {
  double d = 0;
  for (size_t l = 0; l < a.g_plus.size(); ++l)
    d = std::max({d, (a.g_plus[l] - b.g_plus[l]).cwiseAbs().maxCoeff(),
                  (a.g_minus[l] - b.g_minus[l]).cwiseAbs().maxCoeff()});
  return d;
}

BOOST_AUTO_TEST_CASE(train_and_eval_take_a_runs_conductances) {
  TempDir dir("conductances_cli");
  const std::string data = (dir.path() / "data").string();
  std::filesystem::create_directories(data);
  WriteTinyDataset(data);
  const std::string common = " --dataset " + data + " --batch-size 4 --no-progress --threads 1";
  int rc = 0;
  std::string out = Memspice("gen msnn --layers 4,3,2 -o " + dir / "a.cir", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  out = Memspice("gen msnn --layers 4,3,2 --rline 1 -o " + dir / "b.cir", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  out = Memspice("train " + dir / "a.cir" + common + " --max-batches 2 --out " + dir / "r", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);

  // The deck with the run's conductances is the run itself.
  const std::string eval = " --dataset " + data + " --threads 1";
  const std::string run_eval = EvalLine(Memspice("eval " + dir / "r" + eval, &rc));
  BOOST_REQUIRE_EQUAL(rc, 0);
  out = Memspice("eval " + dir / "a.cir" + " --conductances " + dir / "r" + eval, &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_CHECK_NE(run_eval, "");
  BOOST_CHECK_EQUAL(EvalLine(out), run_eval);
  BOOST_CHECK(out.find("conductances: " + dir / "r") != std::string::npos);
  const std::string own_eval = EvalLine(Memspice("eval " + dir / "a.cir" + eval, &rc));
  BOOST_CHECK_NE(own_eval, run_eval);  // the deck's own x0 are the untrained ones

  // export --deck writes another deck with the run's conductances: the run's own deck gives the
  // plain export, the deck with lines keeps its line resistors, and its evaluation is eval's.
  out = Memspice("export " + dir / "r" + " -o " + dir / "plain.cir", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  out =
      Memspice("export " + dir / "r" + " --deck " + dir / "a.cir" + " -o " + dir / "own.cir", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_CHECK(memspice::testing::ReadFile(dir / "plain.cir") ==
              memspice::testing::ReadFile(dir / "own.cir"));
  out = Memspice("export " + dir / "r" + " --deck " + dir / "b.cir" + " -o " + dir / "lines.cir",
                 &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  const std::string lines_eval =
      EvalLine(Memspice("eval " + dir / "b.cir" + " --conductances " + dir / "r" + eval, &rc));
  BOOST_CHECK_NE(lines_eval, "");
  BOOST_CHECK_EQUAL(EvalLine(Memspice("eval " + dir / "lines.cir" + eval, &rc)), lines_eval);
  out = Memspice("export " + dir / "r" + " --deck " + dir / "b.cir" + " -o " + dir / "b.cir", &rc);
  BOOST_CHECK_NE(rc, 0);  // would overwrite its input

  // A deck with line resistance trains from the run's conductances: with a vanishing learning rate
  // the result stays at them (Adam moves each by about lr (g_max - g_min) per step).
  out = Memspice("train " + dir / "b.cir" + " --conductances " + dir / "r" + common +
                     " --max-batches 1 --lr 1e-9 --out " + dir / "o",
                 &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_CHECK(out.find("line network") != std::string::npos);
  const mt::Parameters start = mt::LoadParametersJson(dir / "r/params.json");
  const mt::Parameters after = mt::LoadParametersJson(dir / "o/params.json");
  BOOST_CHECK_LT(MaxDiff(start, after), 1e-10);
  // Without --conductances the same run starts from the deck's own states, far from them.
  out = Memspice(
      "train " + dir / "b.cir" + common + " --max-batches 1 --lr 1e-9 --out " + dir / "p", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_CHECK_GT(MaxDiff(start, mt::LoadParametersJson(dir / "p/params.json")), 1e-6);
}

}  // namespace
