// Data-parallel training under mpirun: the same conductances as one process (bit for bit), resume
// with another rank count, and the misuse errors (more ranks than chunks, a bad deck on a rank).
#define BOOST_TEST_MODULE mpi_train
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "tests/test_util.h"
#include "training/dataset.h"

namespace fs = std::filesystem;
using memspice::testing::Mpirun;
using memspice::testing::ReadFile;
using memspice::testing::RunCommand;
using memspice::testing::TempDir;

namespace {

// Four IDX files of 4x4 images: class 0 bright on the left half, class 1 on the right.
void WriteToyDataset(const std::string& dir, int n_train, int n_test) {
  std::mt19937 rng(7);
  auto write = [&](const std::string& prefix, int n) {
    memspice::training::IdxArray images{{uint32_t(n), 4, 4}, {}}, labels{{uint32_t(n)}, {}};
    for (int i = 0; i < n; ++i) {
      const int y = static_cast<int>(rng() % 2);
      labels.data.push_back(static_cast<uint8_t>(y));
      for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c)
          images.data.push_back(
              static_cast<uint8_t>((c < 2) == (y == 0) ? 200 + rng() % 50 : rng() % 50));
    }
    BOOST_REQUIRE(
        memspice::training::WriteIdx(dir + "/" + prefix + "-images-idx3-ubyte", images).ok());
    BOOST_REQUIRE(
        memspice::training::WriteIdx(dir + "/" + prefix + "-labels-idx1-ubyte", labels).ok());
  };
  write("train", n_train);
  write("t10k", n_test);
}

struct Fixture {
  TempDir tmp{"mpi"};
  std::string data = (tmp.path() / "data").string();
  Fixture() {
    fs::create_directories(data);
    WriteToyDataset(data, 96, 40);
  }
  // `memspice train` on the toy set; batch 48 = 3 chunks of 16.
  std::string Train(int ranks, const std::string& out, const std::string& extra = "") const {
    return Mpirun(ranks) + MEMSPICE_BINARY + " train --dataset " + data +
           " --layers 16,6,2 --steps 40 --period 10 --batch-size 48 --lr 0.01 --threads 1 "
           "--no-progress --out " +
           tmp / out + " " + extra;
  }
};

bool HaveMpirun() {
  std::string out;
  if (RunCommand("mpirun --version", &out) == 0) return true;
  BOOST_TEST_MESSAGE("mpirun not found: skipped (scripts/install-deps.sh installs openmpi-bin)");
  return false;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(ranks_give_the_single_process_result_bit_for_bit, Fixture) {
  if (!HaveMpirun()) return;
  std::string out;
  for (int ranks : {1, 2, 3}) {
    const std::string run = "run" + std::to_string(ranks);
    BOOST_REQUIRE_MESSAGE(RunCommand(Train(ranks, run, "--epochs 2"), &out) == 0, out);
  }
  const std::string one = ReadFile(tmp / "run1/params.json");
  BOOST_REQUIRE(!one.empty());
  BOOST_TEST(ReadFile(tmp / "run2/params.json") == one);
  BOOST_TEST(ReadFile(tmp / "run3/params.json") == one);
  // Losses and accuracies are gathered in sample order too: the metrics before the timing
  // columns (seconds, samples/s, ...) are identical.
  auto metrics = [&](const std::string& run) {
    std::istringstream in(ReadFile(tmp / (run + "/metrics.csv")));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      size_t at = 0;
      for (int field = 0; field < 11 && at != std::string::npos; ++field)
        at = line.find(',', at + 1);
      kept += line.substr(0, at) + "\n";
    }
    return kept;
  };
  BOOST_TEST(metrics("run1").size() > 40);
  BOOST_TEST(metrics("run3") == metrics("run1"));
  BOOST_TEST(metrics("run2") == metrics("run1"));
}

BOOST_FIXTURE_TEST_CASE(resume_with_another_rank_count, Fixture) {
  if (!HaveMpirun()) return;
  std::string out;
  BOOST_REQUIRE_MESSAGE(RunCommand(Train(1, "straight", "--epochs 2"), &out) == 0, out);
  BOOST_REQUIRE_MESSAGE(RunCommand(Train(2, "resumed", "--epochs 1"), &out) == 0, out);
  BOOST_REQUIRE_MESSAGE(
      RunCommand(Mpirun(3) + MEMSPICE_BINARY + " train --no-progress --epochs 2 --resume " +
                     tmp / "resumed",
                 &out) == 0,
      out);
  BOOST_TEST(ReadFile(tmp / "resumed/params.json") == ReadFile(tmp / "straight/params.json"));
}

BOOST_FIXTURE_TEST_CASE(more_ranks_than_chunks_is_an_error, Fixture) {
  if (!HaveMpirun()) return;
  std::string out;
  BOOST_TEST(RunCommand(Train(4, "too_many", "--epochs 1"), &out) != 0);
  BOOST_TEST(out.find("4 processes (MPI ranks) share each batch") != std::string::npos, out);
  BOOST_TEST(out.find("run at most 3 ranks") != std::string::npos, out);
  BOOST_TEST(!fs::exists(tmp / "too_many/params.json"));
}

BOOST_FIXTURE_TEST_CASE(a_deck_error_on_one_rank_stops_every_rank, Fixture) {
  if (!HaveMpirun()) return;
  // Rank 1 reads a different (broken) deck through a per-rank file name: the others, which
  // compile a good network deck, must not wait for it.
  std::string out;
  BOOST_REQUIRE_MESSAGE(RunCommand(std::string(MEMSPICE_BINARY) +
                                       " gen msnn --layers 16,6,2 --steps 40 "
                                       "--period 10 -o " +
                                       tmp / "net.cir",
                                   &out) == 0,
                        out);
  tmp.Write("bad.cir", "* broken\nR1 a 0 1x5\n.end\n");
  const std::string script = tmp.Write(
      "rank.sh", "#!/bin/sh\nif [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then deck=" + tmp / "bad.cir" +
                     "; else deck=" + tmp / "net.cir" + "; fi\nexec " + MEMSPICE_BINARY +
                     " train --no-progress --out " + tmp / "deckrun" + " \"$deck\"\n");
  fs::permissions(script, fs::perms::owner_all);
  BOOST_TEST(RunCommand(Mpirun(3) + script, &out) != 0);
  BOOST_TEST(out.find("rank 1: " + tmp / "bad.cir" + ":1:1: error:") != std::string::npos, out);
  BOOST_TEST(out.find("rank 0: ") == std::string::npos, out);
}

BOOST_FIXTURE_TEST_CASE(ranks_must_run_the_same_executable, Fixture) {
  if (!HaveMpirun()) return;
  // Rank 1 runs a copy of the executable with one byte appended: still runnable, another build.
  const std::string other = tmp / "memspice_other";
  fs::copy_file(MEMSPICE_BINARY, other);
  std::ofstream(other, std::ios::app) << 'x';
  fs::permissions(other, fs::perms::owner_all);
  const std::string script =
      tmp.Write("rank.sh", "#!/bin/sh\nif [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exe=" + other +
                               "; else exe=" + MEMSPICE_BINARY + "; fi\nexec $exe --version\n");
  fs::permissions(script, fs::perms::owner_all);
  std::string out;
  BOOST_TEST(RunCommand(Mpirun(2) + script, &out) != 0);
  BOOST_TEST(out.find("error: rank 1 runs a different memspice executable") != std::string::npos,
             out);
}
