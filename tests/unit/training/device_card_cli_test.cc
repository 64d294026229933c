// One device description end to end: a `.model NAME mss (...)` card with programming and noise
// keys drives `gen crossbar --device` (whose deck `memspice sim` runs with the same card),
// `train --device` (flags override the card) and `eval --noise-seed` (reproducible for a seed);
// bad cards and device flags without a seed are refused with located messages.
#define BOOST_TEST_MODULE device_card_cli
#include <boost/test/unit_test.hpp>
#include <fstream>
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

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  BOOST_REQUIRE(std::filesystem::is_regular_file(path));
}

constexpr const char* kCard =
    "* a noisy synapse\n"
    ".model syn mss (ron=2k roff=100k von=0.3 voff=-0.25 tau=1m k=0.6\n"
    "+ write_sd=2u read_sd=1u stuck_on=0.05 stuck_off=0.05 pulse_width=1u max_pulses=500)\n";

}  // namespace

BOOST_AUTO_TEST_CASE(one_card_for_gen_sim_train_and_eval) {
  TempDir dir("device_card_cli");
  const std::string card = dir / "syn.lib";
  Write(card, kCard);
  int rc = 0;
  // gen crossbar: MSS cells of the card's model, range from the card; sim takes the card.
  std::string out = Memspice("gen crossbar --rows 2 --cols 3 --device " + card + " --tstop 1u " +
                                 "--steps 10 -o " + dir / "cb.cir",
                             &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::ifstream in(dir / "cb.cir");
  const std::string deck((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_CHECK(deck.find("syn.lib") != std::string::npos);
  BOOST_CHECK(deck.find(" syn x0=") != std::string::npos);
  out = Memspice("sim " + dir / "cb.cir" + " -q", &rc);
  BOOST_CHECK_MESSAGE(rc == 0, out);

  // train: the card's keys, a flag over one of them.
  const std::string data = (dir.path() / "data").string();
  std::filesystem::create_directories(data);
  WriteTinyDataset(data);
  const std::string common = " --dataset " + data +
                             " --layers 4,3,2 --batch-size 4 --max-batches 2 --no-progress "
                             "--threads 1 --update pulse --device " +
                             card;
  out = Memspice("train" + common + " --write-sd 1u --out " + dir / "r", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  const mt::RunRecord record = mt::ReadRunRecord(dir / "r");
  const mt::ProgrammingOptions& d = record.options.update.device;
  BOOST_CHECK_EQUAL(d.write_sd, 1e-6);  // the flag
  BOOST_CHECK_EQUAL(d.read_sd, 1e-6);   // the card
  BOOST_CHECK_EQUAL(d.stuck_on, 0.05);
  BOOST_CHECK_EQUAL(d.pulse_width, 1e-6);
  BOOST_CHECK_EQUAL(d.max_pulses, 500);
  BOOST_CHECK_EQUAL(d.synapse.ron, 2e3);
  BOOST_CHECK_EQUAL(d.synapse.von, 0.3);

  // eval --noise-seed: the same seed gives the same result.
  const std::string eval = "eval " + dir / "r" + " --dataset " + data + " --threads 1";
  const std::string a = Memspice(eval + " --noise-seed 7", &rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, a);
  BOOST_CHECK(a.find("device noise (seed 7)") != std::string::npos);
  const std::string b = Memspice(eval + " --noise-seed 7", &rc);
  BOOST_CHECK_NE(EvalLine(a), "");
  BOOST_CHECK_EQUAL(EvalLine(a), EvalLine(b));
  // Every device stuck ON: all weights zero, so the network no longer sees the input.
  out = Memspice(eval + " --noise-seed 7 --stuck-on 1 --stuck-off 0", &rc);
  BOOST_CHECK_MESSAGE(rc == 0, out);
  BOOST_CHECK_NE(EvalLine(out), EvalLine(a));
  // Device flags without a seed say what is missing.
  out = Memspice(eval + " --write-sd 1u", &rc);
  BOOST_CHECK_NE(rc, 0);
  BOOST_CHECK(out.find("--noise-seed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_cards_are_refused_at_their_line) {
  TempDir dir("device_card_cli_bad");
  const std::string card = dir / "bad.lib";
  Write(card, "* bad\n.model syn mss (ron=1k roff=100k\n+ write_sd=-2u)\n");
  int rc = 0;
  std::string out = Memspice("train --device " + card + " --out " + dir / "r", &rc);
  BOOST_CHECK_NE(rc, 0);
  BOOST_CHECK_MESSAGE(out.find("bad.lib:2:") != std::string::npos, out);
  BOOST_CHECK_MESSAGE(out.find("write_sd = -2e-06 must be >= 0") != std::string::npos, out);
  BOOST_CHECK_MESSAGE(out.find("^") != std::string::npos, out);
  BOOST_CHECK(!std::filesystem::exists(dir / "r"));  // nothing written
  Write(card, ".model a mss (ron=1k)\n.model b mss (ron=1k)\n");
  out = Memspice("gen crossbar --rows 2 --cols 2 --device " + card + " -o " + dir / "cb.cir", &rc);
  BOOST_CHECK_NE(rc, 0);
  BOOST_CHECK_MESSAGE(out.find("exactly one") != std::string::npos, out);
}
