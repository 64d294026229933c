// Hostile use of training: interrupted runs (real SIGINT / SIGTERM), corrupted and forged
// checkpoints, occupied run directories, absurd sizes and degenerate datasets. Each case checks the
// exit code, the message, and that no earlier result was lost or rewritten.
#define BOOST_TEST_MODULE training_hostile
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tests/test_util.h"
#include "training/run_dir.h"
#include "training/trainer.h"

namespace mt = memspice::training;
namespace fs = std::filesystem;
using memspice::testing::TempDir;

extern char** environ;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Four classes of 16-pixel images (class k lights the k-th quarter) as an IDX folder.
void WriteToyIdx(const fs::path& dir, int n_train, int n_test) {
  fs::create_directories(dir);
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> noise(0, 70);
  for (const auto& [prefix, n] :
       {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    mt::IdxArray images{{static_cast<uint32_t>(n), 4, 4}, {}},
        labels{{static_cast<uint32_t>(n)}, {}};
    for (int s = 0; s < n; ++s) {
      for (int i = 0; i < 16; ++i)
        images.data.push_back(static_cast<uint8_t>(noise(rng) + (i / 4 == s % 4 ? 180 : 0)));
      labels.data.push_back(static_cast<uint8_t>(s % 4));
    }
    BOOST_REQUIRE(mt::WriteIdx((dir / (prefix + "-images-idx3-ubyte")).string(), images).ok());
    BOOST_REQUIRE(mt::WriteIdx((dir / (prefix + "-labels-idx1-ubyte")).string(), labels).ok());
  }
}

// A started memspice process with its output in files.
struct Proc {
  pid_t pid = -1;
  std::string out, err;
};

Proc Start(const std::vector<std::string>& args, const TempDir& tmp, const std::string& tag) {
  Proc p{-1, tmp / (tag + ".out"), tmp / (tag + ".err")};
  std::vector<std::string> argv_s = {MEMSPICE_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  BOOST_REQUIRE_EQUAL(posix_spawn(&p.pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

// Exit code of the process; a process still running after `seconds` is killed (code 2000), so
// that a failing test never leaves a training run behind.
int Wait(const Proc& p, double seconds = 300) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (waitpid(p.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, &status, 0);
      return 2000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFSIGNALED(status)) return 1000 + WTERMSIG(status);  // killed: never expected
  return WEXITSTATUS(status);
}

struct Result {
  int code;
  std::string out, err;
};

Result Run(const std::vector<std::string>& args, const TempDir& tmp, const std::string& tag) {
  const Proc p = Start(args, tmp, tag);
  const int code = Wait(p);
  Result r{code, Slurp(p.out), Slurp(p.err)};
  BOOST_TEST_MESSAGE("memspice " << args.front() << " -> " << code << "\n" << r.err);
  return r;
}

bool Contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Flags of a fast toy run on the IDX folder `data`; `extra` flags replace the value of the same
// flag (options may be given once) or are appended.
std::vector<std::string> ToyTrain(const std::string& data, const std::string& out,
                                  const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = {
      "train", "--dataset", data,   "--layers",      "16,8,4",   "--steps", "100",  "--period",
      "50",    "--v-scale", "5e-3", "--layer-scale", "600,0.25", "--lr",    "0.02", "--batch-size",
      "8",     "--threads", "1",    "--no-progress", "--out",    out};
  for (size_t k = 0; k < extra.size(); ++k) {
    const bool has_value = k + 1 < extra.size() && extra[k + 1].rfind("--", 0) != 0;
    auto it = std::find(a.begin(), a.end(), extra[k]);
    if (has_value && it != a.end()) {
      *(it + 1) = extra[++k];
    } else {
      a.push_back(extra[k]);
      if (has_value) a.push_back(extra[++k]);
    }
  }
  return a;
}

// Waits until `path` exists (the run has started) or a timeout.
bool WaitForFile(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Fails the test (after killing the process, so that no run is left behind) unless `path` appears.
void RequireFile(const Proc& p, const std::string& path) {
  if (WaitForFile(path, 60)) return;
  kill(p.pid, SIGKILL);
  Wait(p);
  BOOST_FAIL(path << " did not appear within 60 s; stderr: " << Slurp(p.err));
}

struct Fixture {
  TempDir tmp{"hostile_train"};
  std::string data = tmp / "toy";
  Fixture() { WriteToyIdx(data, 96, 32); }
  // A finished two-epoch run in `dir`.
  void Finished(const std::string& dir) {
    const Result r = Run(ToyTrain(data, dir, {"--epochs", "2"}), tmp, "finished");
    BOOST_REQUIRE_EQUAL(r.code, 0);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(run_directories, Fixture)

BOOST_AUTO_TEST_CASE(non_empty_run_dir_is_refused_and_kept) {
  const std::string dir = tmp / "run";
  Finished(dir);
  const std::string args = Slurp(dir + "/train_args.json"), metrics = Slurp(dir + "/metrics.csv");
  const std::string ckpt = Slurp(dir + "/checkpoint.bin");
  const Result r = Run(ToyTrain(data, dir, {"--epochs", "1", "--lr", "0.1"}), tmp, "again");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "not empty"));
  BOOST_CHECK(Contains(r.err, "--resume"));
  BOOST_CHECK(Contains(r.err, "--overwrite"));
  BOOST_CHECK(Slurp(dir + "/train_args.json") == args);
  BOOST_CHECK(Slurp(dir + "/metrics.csv") == metrics);
  BOOST_CHECK(Slurp(dir + "/checkpoint.bin") == ckpt);
}

BOOST_AUTO_TEST_CASE(failed_start_rewrites_nothing) {
  const std::string dir = tmp / "run";
  Finished(dir);
  const std::string args = Slurp(dir + "/train_args.json");
  // --overwrite with a dataset that does not exist: refused before the directory is touched.
  const Result r = Run(ToyTrain(tmp / "no_such_folder", dir, {"--overwrite"}), tmp, "bad_dataset");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "no_such_folder"));
  BOOST_CHECK(Slurp(dir + "/train_args.json") == args);
  BOOST_CHECK(fs::exists(dir + "/params.json"));
  // --overwrite with good options replaces the run.
  const Result ok = Run(ToyTrain(data, dir, {"--overwrite", "--epochs", "1"}), tmp, "overwrite");
  BOOST_CHECK_EQUAL(ok.code, 0);
  BOOST_CHECK(Slurp(dir + "/train_args.json") != args);
}

BOOST_AUTO_TEST_CASE(resume_and_overwrite_exclude_each_other) {
  const Result r = Run({"train", "--resume", tmp / "x", "--overwrite"}, tmp, "both");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "exclude"));
}

BOOST_AUTO_TEST_CASE(resume_of_a_non_run_dir_is_explained) {
  fs::create_directories(tmp / "empty");
  const Result r = Run({"train", "--resume", tmp / "empty"}, tmp, "resume_empty");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "train_args.json"));
}

BOOST_AUTO_TEST_CASE(network_flags_with_resume_are_warned) {
  const std::string dir = tmp / "run";
  Finished(dir);
  const Result r =
      Run({"train", "--resume", dir, "--layers", "16,32,4", "--epochs", "3", "--no-progress"}, tmp,
          "resume_layers");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(Contains(r.err, "warning: --layers is ignored with --resume"));
  BOOST_CHECK_EQUAL(mt::LoadCheckpoint(dir + "/checkpoint.bin").history.size(), 3u);
}

BOOST_AUTO_TEST_CASE(killed_between_checkpoint_and_metrics_is_repaired_on_resume) {
  const std::string dir = tmp / "run";
  Finished(dir);
  // A kill after the checkpoint's rename but before metrics.csv was rewritten leaves old metrics.
  std::ofstream(dir + "/metrics.csv") << "epoch,batches\n1,";
  const Result r = Run({"train", "--resume", dir, "--epochs", "2", "--no-progress"}, tmp, "repair");
  BOOST_CHECK_EQUAL(r.code, 0);
  const std::string csv = Slurp(dir + "/metrics.csv");
  BOOST_CHECK_EQUAL(std::count(csv.begin(), csv.end(), '\n'), 3);  // header + 2 epochs
  BOOST_CHECK(Contains(csv, "\n2,"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(signals, Fixture)

BOOST_AUTO_TEST_CASE(sigint_writes_a_checkpoint_and_says_how_to_resume) {
  const std::string dir = tmp / "run";
  const Proc p = Start(ToyTrain(data, dir, {"--epochs", "100000"}), tmp, "sigint");
  RequireFile(p, dir + "/metrics.csv");  // at least one epoch committed
  kill(p.pid, SIGINT);
  BOOST_CHECK_EQUAL(Wait(p), 128 + SIGINT);
  const std::string err = Slurp(p.err);
  BOOST_CHECK(Contains(err, "interrupted by SIGINT"));
  BOOST_CHECK(Contains(err, "resume with: memspice train --resume " + dir));
  const mt::Checkpoint c = mt::LoadCheckpoint(dir + "/checkpoint.bin");
  BOOST_CHECK_GE(c.epoch, 1);
  // export and eval work on the interrupted run (from the checkpoint: there is no params.json).
  BOOST_CHECK(!fs::exists(dir + "/params.json"));
  const Result ex = Run({"export", dir, "-o", tmp / "net.cir"}, tmp, "export");
  BOOST_CHECK_EQUAL(ex.code, 0);
  BOOST_CHECK(Contains(ex.err, "checkpoint.bin"));
  BOOST_CHECK(Contains(Slurp(tmp / "net.cir"), "*@msnn"));
  const std::string ckpt = Slurp(dir + "/checkpoint.bin");
  const Result clobber = Run({"export", dir, "-o", dir + "/checkpoint.bin"}, tmp, "clobber");
  BOOST_CHECK_EQUAL(clobber.code, 1);
  BOOST_CHECK(Contains(clobber.err, "would overwrite"));
  BOOST_CHECK(Slurp(dir + "/checkpoint.bin") == ckpt);
  const Result ev = Run({"eval", dir, "--confusion", tmp / "cm.svg"}, tmp, "eval");
  BOOST_CHECK_EQUAL(ev.code, 0);
  BOOST_CHECK(Contains(ev.out, "32 test samples"));
  // The resumed run finishes from there.
  const Result r =
      Run({"train", "--resume", dir, "--epochs", std::to_string(c.epoch + 1), "--no-progress"}, tmp,
          "resume");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK_EQUAL(mt::LoadCheckpoint(dir + "/checkpoint.bin").epoch, c.epoch + 1);
}

BOOST_AUTO_TEST_CASE(sigterm_stops_too) {
  const std::string dir = tmp / "run";
  const Proc p = Start(ToyTrain(data, dir, {"--epochs", "100000"}), tmp, "sigterm");
  RequireFile(p, dir + "/checkpoint.bin");
  kill(p.pid, SIGTERM);
  BOOST_CHECK_EQUAL(Wait(p), 128 + SIGTERM);
  BOOST_CHECK(Contains(Slurp(p.err), "interrupted by SIGTERM"));
  BOOST_CHECK_NO_THROW(mt::LoadCheckpoint(dir + "/checkpoint.bin"));
}

BOOST_AUTO_TEST_CASE(second_signal_exits_at_once) {
  // Slow batches (T = 20000): the second signal arrives while the first batch still runs.
  const std::string dir = tmp / "run";
  const std::vector<std::string> a =
      ToyTrain(data, dir, {"--epochs", "5", "--steps", "20000", "--batch-size", "64"});
  const Proc p = Start(a, tmp, "twice");
  RequireFile(p, dir + "/train_args.json");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(p.pid, SIGINT);
  kill(p.pid, SIGTERM);  // back to back: no checkpoint can be written in between
  // Threads take the two signals in either order; the second one exits with 128 + its number,
  // without the checkpoint path's message.
  const int code = Wait(p);
  BOOST_CHECK_MESSAGE(code == 128 + SIGINT || code == 128 + SIGTERM, "exit code " << code);
  BOOST_CHECK(!Contains(Slurp(p.err), "interrupted by"));
}

// Training on the MNA engine (a deck the compiler cannot take: line capacitance far slower than
// dt) stops on SIGINT as the fast path does: checkpoint, resume command, 130; and resumes.
BOOST_AUTO_TEST_CASE(mna_fallback_sigint_writes_a_checkpoint_and_resumes) {
  const std::string deck = tmp / "slow_lines.cir", dir = tmp / "run";
  const Result gen = Run({"gen", "msnn", "--layers", "16,8,4", "--steps", "40", "--period", "20",
                          "--rline", "10", "--cline", "1e-9", "--method", "be", "-o", deck},
                         tmp, "gen");
  BOOST_REQUIRE_EQUAL(gen.code, 0);
  const Proc p = Start({"train", deck, "--dataset", data, "--epochs", "100000", "--batch-size", "4",
                        "--max-train", "8", "--max-test", "4", "--out", dir},
                       tmp, "mna");
  // The progress line of the first batch: the run is training (its handlers are installed).
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!Contains(Slurp(p.err), "epoch 1 sample") && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(p.pid, SIGINT);
  BOOST_CHECK_EQUAL(Wait(p), 128 + SIGINT);
  const std::string err = Slurp(p.err);
  BOOST_CHECK_MESSAGE(Contains(err, "MNA engine"), err);
  BOOST_CHECK(Contains(err, "interrupted by SIGINT"));
  BOOST_CHECK(Contains(err, "resume with: memspice train --resume " + dir));
  BOOST_CHECK(fs::exists(dir + "/mna_params.json"));
  const mt::Checkpoint c = mt::LoadCheckpoint(dir + "/checkpoint.bin");
  BOOST_CHECK_GE(c.epoch * 2 + c.batch, 1);  // 8 samples: 2 batches of 4 per epoch
  const Result r =
      Run({"train", "--resume", dir, "--epochs", std::to_string(c.epoch + 1), "--no-progress"}, tmp,
          "mna_resume");
  BOOST_CHECK_EQUAL(r.code, 0);
  BOOST_CHECK(Contains(r.out, fmt::format("epoch {}: train loss", c.epoch + 1)));
  const mt::Checkpoint done = mt::LoadCheckpoint(dir + "/checkpoint.bin");
  BOOST_CHECK_EQUAL(done.epoch, c.epoch + 1);
  BOOST_CHECK_EQUAL(done.batch, 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(absurd_input, Fixture)

BOOST_AUTO_TEST_CASE(empty_dataset_is_refused) {
  WriteToyIdx(tmp / "empty", 0, 4);
  const Result r = Run(ToyTrain(tmp / "empty", tmp / "run"), tmp, "empty");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "0 training"));
  BOOST_CHECK(!fs::exists(tmp / "run"));
}

BOOST_AUTO_TEST_CASE(batch_larger_than_dataset_is_refused) {
  const Result r = Run(ToyTrain(data, tmp / "run", {"--batch-size", "1000"}), tmp, "batch");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "larger than the 96 training samples"));
  BOOST_CHECK(!fs::exists(tmp / "run"));
}

BOOST_AUTO_TEST_CASE(huge_step_count_is_refused_with_the_figure) {
  const Result r = Run(ToyTrain(data, tmp / "run", {"--steps", "2000000000"}), tmp, "steps");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "needs about"));
  BOOST_CHECK(Contains(r.err, "of RAM"));
  BOOST_CHECK(!fs::exists(tmp / "run"));
}

BOOST_AUTO_TEST_CASE(huge_generated_network_is_refused_with_the_figure) {
  const Result r =
      Run({"gen", "msnn", "--layers", "100000,100000,10", "-o", tmp / "big.cir"}, tmp, "gen");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "needs about"));
  BOOST_CHECK(!fs::exists(tmp / "big.cir"));
}

BOOST_AUTO_TEST_CASE(nan_learning_rate_is_an_input_error) {
  const Result r = Run(ToyTrain(data, tmp / "run", {"--lr", "nan"}), tmp, "nan");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "lr"));
}

BOOST_AUTO_TEST_CASE(layer_list_messages_name_the_layers) {
  const Result one = Run(ToyTrain(data, tmp / "run", {"--layers", "16"}), tmp, "one_layer");
  BOOST_CHECK_EQUAL(one.code, 1);
  BOOST_CHECK(Contains(one.err, "--layers needs at least two sizes"));
  // Two sizes (one crossbar) get the default scale for one crossbar instead of a --layer-scale
  // complaint.
  std::vector<std::string> a = ToyTrain(data, tmp / "run2", {"--epochs", "1", "--layers", "16,4"});
  a.erase(std::find(a.begin(), a.end(), "--layer-scale"), std::find(a.begin(), a.end(), "--lr"));
  const Result two = Run(a, tmp, "two_layers");
  BOOST_CHECK_EQUAL(two.code, 0);
  BOOST_CHECK(!Contains(two.err, "layer-scale"));
}

BOOST_AUTO_TEST_CASE(trap_is_refused_with_the_reason) {
  const Result r = Run(ToyTrain(data, tmp / "run", {"--method", "trap"}), tmp, "trap");
  BOOST_CHECK_EQUAL(r.code, 1);
  BOOST_CHECK(Contains(r.err, "trap"));
  BOOST_CHECK(Contains(r.err, "fast kernels"));
}

BOOST_AUTO_TEST_CASE(forward_euler_with_large_drive_is_warned) {
  std::vector<std::string> a = ToyTrain(data, tmp / "run", {"--method", "fe", "--epochs", "1"});
  const Result r = Run(a, tmp, "fe");
  BOOST_CHECK(Contains(r.err, "warning: forward Euler"));
  BOOST_CHECK(Contains(r.err, "semi-implicit"));
}

BOOST_AUTO_TEST_SUITE_END()

// Checkpoints forged or damaged on disk: every one is an error naming what is wrong.
BOOST_AUTO_TEST_SUITE(checkpoints)

mt::Checkpoint ValidCheckpoint() {
  mt::TrainOptions o;
  o.network.layer_sizes = {16, 8, 4};
  o.run_dir = "unused";
  mt::Checkpoint c;
  c.config_json = mt::ConfigJson(o);
  c.params = mt::InitParameters(o.network, 3);
  c.optimizer_m = mt::InitParameters(o.network, 4);
  c.optimizer_v = mt::InitParameters(o.network, 5);
  std::ostringstream rng;
  rng << std::mt19937_64(1);
  c.rng_state = rng.str();
  return c;
}

std::string LoadError(const std::string& path) {
  try {
    mt::LoadCheckpoint(path);
  } catch (const mt::TrainingError& e) {
    BOOST_TEST_MESSAGE(e.what());
    return e.what();
  }
  return "";
}

BOOST_AUTO_TEST_CASE(damaged_bytes_fail_the_checksum) {
  TempDir tmp("ckpt");
  const std::string path = tmp / "c.bin";
  mt::SaveCheckpoint(path, ValidCheckpoint());
  std::string bytes = Slurp(path);
  BOOST_REQUIRE(LoadError(path).empty());
  for (size_t at : {size_t{20}, bytes.size() / 2, bytes.size() - 9}) {
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    std::ofstream(path, std::ios::binary) << bad;
    BOOST_CHECK(Contains(LoadError(path), "checksum mismatch"));
  }
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 3);  // truncated
  BOOST_CHECK(Contains(LoadError(path), "checksum"));
  std::ofstream(path, std::ios::binary) << bytes << "trailing";
  BOOST_CHECK(Contains(LoadError(path), "checksum"));
  std::ofstream(path, std::ios::binary) << "";
  BOOST_CHECK(Contains(LoadError(path), "bad magic"));
}

BOOST_AUTO_TEST_CASE(fields_out_of_range_are_named) {
  TempDir tmp("ckpt_fields");
  const std::string path = tmp / "c.bin";
  auto check = [&](auto edit, const std::string& expect) {
    mt::Checkpoint c = ValidCheckpoint();
    edit(c);
    mt::SaveCheckpoint(path, c);
    const std::string e = LoadError(path);
    BOOST_CHECK_MESSAGE(Contains(e, expect), "expected '" << expect << "' in: " << e);
  };
  check([](mt::Checkpoint& c) { c.epoch = -3; }, "field 'epoch' = -3 must be >= 0");
  check([](mt::Checkpoint& c) { c.batch = -1; }, "field 'batch' = -1");
  check([](mt::Checkpoint& c) { c.optimizer_step = -5; }, "field 'optimizer_step'");
  check([](mt::Checkpoint& c) { c.rng_state = "garbage"; }, "field 'rng_state'");
  check([](mt::Checkpoint& c) { c.partial_correct = 5; }, "field 'partial_correct'");
  check([](mt::Checkpoint& c) { c.epoch = 2; }, "field 'history'");
  check([](mt::Checkpoint& c) { c.params.g_plus[0](0, 0) = 1.0; }, "outside the device range");
  check([](mt::Checkpoint& c) { c.optimizer_v.g_minus[1](0, 0) = NAN; }, "NaN");
  check([](mt::Checkpoint& c) { c.params.g_plus.pop_back(), c.params.g_minus.pop_back(); },
        "1 crossbars, the network has 2");
}

// A version-1 checkpoint (no checksum) claiming 2^24 x 2^24 conductances is refused before
// anything is allocated, with the size it claims.
BOOST_AUTO_TEST_CASE(forged_huge_shape_is_refused_without_allocating) {
  TempDir tmp("ckpt_huge");
  const std::string path = tmp / "c.bin";
  const mt::Checkpoint c = ValidCheckpoint();
  nlohmann::json h{{"config", nlohmann::json::parse(c.config_json)},
                   {"optimizer_step", 0},
                   {"epoch", 0},
                   {"batch", 0},
                   {"epoch_seed", 0},
                   {"epoch_seed_valid", false},
                   {"rng_state", c.rng_state},
                   {"partial_loss", 0.0},
                   {"partial_correct", 0},
                   {"partial_count", 0},
                   {"history", nlohmann::json::array()}};
  const std::string header = h.dump();
  std::string bytes = "MSPCKPT1";
  const uint64_t len = header.size();
  bytes.append(reinterpret_cast<const char*>(&len), sizeof len);
  bytes += header;
  const int32_t dims[3] = {1, 1 << 24, 1 << 24};
  bytes.append(reinterpret_cast<const char*>(dims), sizeof dims);
  std::ofstream(path, std::ios::binary) << bytes;
  const std::string e = LoadError(path);
  BOOST_CHECK(Contains(e, "claims 16777216 x 16777216 conductances"));
  BOOST_CHECK(Contains(e, "PiB"));
}

BOOST_AUTO_TEST_CASE(newest_consistent_parameters_win) {
  TempDir tmp("newest");
  const std::string dir = tmp.path().string();
  mt::NetworkConfig cfg;
  cfg.layer_sizes = {16, 8, 4};
  mt::Checkpoint c = ValidCheckpoint();
  mt::SaveCheckpoint(dir + "/checkpoint.bin", c);
  mt::Parameters stale = mt::InitParameters(cfg, 99);
  mt::SaveParametersJson(dir + "/params.json", cfg, stale);
  // params.json older than the checkpoint (a resumed, interrupted run): the checkpoint wins.
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir + "/params.json", now - std::chrono::hours(1));
  fs::last_write_time(dir + "/checkpoint.bin", now);
  mt::TrainedParameters t = mt::LoadTrainedParameters(dir, cfg);
  BOOST_CHECK(Contains(t.source, "checkpoint.bin"));
  BOOST_CHECK(t.params.g_plus[0] == c.params.g_plus[0]);
  // Newer params.json wins; a params.json of another shape is skipped with the reason.
  fs::last_write_time(dir + "/params.json", now + std::chrono::hours(1));
  BOOST_CHECK(Contains(mt::LoadTrainedParameters(dir, cfg).source, "params.json"));
  mt::NetworkConfig other = cfg;
  other.layer_sizes = {16, 5, 4};
  mt::SaveParametersJson(dir + "/params.json", other, mt::InitParameters(other, 1));
  BOOST_CHECK(Contains(mt::LoadTrainedParameters(dir, cfg).source, "checkpoint.bin"));
  fs::remove(dir + "/checkpoint.bin");
  try {
    mt::LoadTrainedParameters(dir, cfg);
    BOOST_FAIL("expected an error");
  } catch (const mt::TrainingError& e) {
    BOOST_CHECK(Contains(e.what(), "crossbar 1 is 16x5"));
    BOOST_CHECK(Contains(e.what(), "checkpoint.bin: not there"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
