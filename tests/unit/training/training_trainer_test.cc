// Optimisers (Adam step, device clipping), checkpoint round trip, bit-exact resume and thread
// independence.
#define BOOST_TEST_MODULE training_trainer
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>

#include "training/run_dir.h"
#include "training/trainer.h"

namespace mt = memspice::training;
namespace fs = std::filesystem;

namespace {

fs::path TempDir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("memspice_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Four classes of 16-pixel images: class k lights the k-th quarter, plus noise.
mt::DatasetPair ToyData() {
  mt::DatasetPair p;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> noise(0.0f, 0.3f);
  for (mt::Dataset* d : {&p.train, &p.test}) {
    d->rows = 4;
    d->cols = 4;
    d->num_classes = 4;
    const int n = d == &p.train ? 96 : 32;
    for (int s = 0; s < n; ++s) {
      const int y = s % 4;
      for (int i = 0; i < 16; ++i)
        d->images.push_back(std::min(1.0f, noise(rng) + (i / 4 == y ? 0.8f : 0.0f)));
      d->labels.push_back(y);
    }
  }
  return p;
}

mt::TrainOptions ToyOptions(const fs::path& dir) {
  mt::TrainOptions o;
  o.network.layer_sizes = {16, 8, 4};
  o.network.steps = 100;
  o.network.period = 50;
  o.network.layer_scale = {600.0, 0.25};
  o.network.v_scale = 5e-3;
  o.network.method = mt::Method::kSemiImplicit;
  o.optimizer.lr = 0.02;
  o.batch_size = 8;
  o.chunk = 4;
  o.epochs = 2;
  o.max_batches = 3;
  o.run_dir = dir.string();
  o.progress = false;
  return o;
}

bool BitwiseEqual(const mt::Parameters& a, const mt::Parameters& b) {
  if (a.g_plus.size() != b.g_plus.size()) return false;
  for (size_t l = 0; l < a.g_plus.size(); ++l)
    for (int w = 0; w < 2; ++w) {
      const Eigen::MatrixXd& x = w ? a.g_minus[l] : a.g_plus[l];
      const Eigen::MatrixXd& y = w ? b.g_minus[l] : b.g_plus[l];
      if (x.rows() != y.rows() || x.cols() != y.cols() ||
          std::memcmp(x.data(), y.data(), sizeof(double) * x.size()) != 0)
        return false;
    }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(adam_first_step_moves_by_lr_times_range) {
  mt::Parameters p;
  p.g_plus = {Eigen::MatrixXd::Constant(2, 1, 5e-4)};
  p.g_minus = {Eigen::MatrixXd::Constant(2, 1, 5e-4)};
  mt::Parameters g = p;
  g.g_plus[0] << 3.0, -2e-3;
  g.g_minus[0] << 0.0, 1e6;
  mt::OptimizerOptions oo;
  oo.lr = 1e-2;
  mt::Optimizer opt(oo, 1e-5, 1e-3, p);
  opt.Step(g, &p);
  const double range = 1e-3 - 1e-5;
  // Bias-corrected Adam: the first step is lr * gn / (|gn| + eps) in normalised units, gn = g *
  // range.
  auto first_step = [&](double g) {
    return 1e-2 * range * (g * range) / (std::abs(g * range) + 1e-8);
  };
  BOOST_CHECK_CLOSE(p.g_plus[0](0), 5e-4 - first_step(3.0), 1e-9);
  BOOST_CHECK_CLOSE(p.g_plus[0](1), 5e-4 - first_step(-2e-3), 1e-9);
  BOOST_CHECK_EQUAL(p.g_minus[0](0), 5e-4);
  BOOST_CHECK_CLOSE(p.g_minus[0](1), 5e-4 - first_step(1e6), 1e-9);
  BOOST_CHECK_EQUAL(opt.step_count(), 1);
  // Second step with the same gradient: m and v stay consistent with the closed form.
  const double m1 = 0.1 * 3.0 * range, v1 = 0.001 * std::pow(3.0 * range, 2);
  BOOST_CHECK_CLOSE(opt.m().g_plus[0](0), m1, 1e-9);
  BOOST_CHECK_CLOSE(opt.v().g_plus[0](0), v1, 1e-9);
}

BOOST_AUTO_TEST_CASE(updates_are_clipped_to_device_range) {
  mt::Parameters p;
  p.g_plus = {Eigen::MatrixXd::Constant(1, 1, 0.99e-3)};
  p.g_minus = {Eigen::MatrixXd::Constant(1, 1, 1.1e-5)};
  mt::Parameters g = p;
  g.g_plus[0](0) = -1.0;  // pushes G+ up past g_max
  g.g_minus[0](0) = 1.0;  // pushes G- down past g_min
  mt::OptimizerOptions sgd;
  sgd.kind = mt::OptimizerKind::kSgd;
  sgd.lr = 1e6;
  mt::Optimizer opt(sgd, 1e-5, 1e-3, p);
  opt.Step(g, &p);
  BOOST_CHECK_EQUAL(p.g_plus[0](0), 1e-3);
  BOOST_CHECK_EQUAL(p.g_minus[0](0), 1e-5);
  // Plain SGD inside the range: G -= lr * range^2 * dL/dG.
  p.g_plus[0](0) = 5e-4;
  mt::OptimizerOptions s2 = sgd;
  s2.lr = 0.1;
  mt::Optimizer opt2(s2, 1e-5, 1e-3, p);
  g.g_plus[0](0) = 1.0;
  g.g_minus[0](0) = 0.0;
  opt2.Step(g, &p);
  BOOST_CHECK_CLOSE(p.g_plus[0](0), 5e-4 - 0.1 * std::pow(1e-3 - 1e-5, 2), 1e-9);
}

BOOST_AUTO_TEST_CASE(cosine_schedule_anneals_from_lr_to_lr_min) {
  mt::OptimizerOptions o;
  o.lr = 2e-3;
  BOOST_CHECK_EQUAL(o.LearningRate(1), 2e-3);  // constant by default
  BOOST_CHECK_EQUAL(o.LearningRate(1000), 2e-3);
  o.schedule = mt::ParseLrSchedule("cosine");
  o.lr_min = 1e-4;
  o.total_steps = 101;
  BOOST_CHECK_EQUAL(o.LearningRate(1), 2e-3);
  BOOST_CHECK_CLOSE(o.LearningRate(51), 0.5 * (2e-3 + 1e-4), 1e-12);  // half way: the mean
  BOOST_CHECK_CLOSE(o.LearningRate(26), 1e-4 + 1.9e-3 * 0.5 * (1 + std::cos(std::numbers::pi / 4)),
                    1e-12);
  BOOST_CHECK_CLOSE(o.LearningRate(101), 1e-4, 1e-12);
  BOOST_CHECK_CLOSE(o.LearningRate(500), 1e-4, 1e-12);  // past the end (a run extended on resume)
  for (long t = 2; t <= 101; ++t) BOOST_CHECK_LT(o.LearningRate(t), o.LearningRate(t - 1));
  BOOST_CHECK_EQUAL(mt::LrScheduleName(o.schedule), "cosine");
  BOOST_CHECK_THROW(mt::ParseLrSchedule("step"), mt::TrainingError);
  o.lr_min = 3e-3;  // above lr: refused
  mt::Parameters p;
  p.g_plus = p.g_minus = {Eigen::MatrixXd::Constant(1, 1, 5e-4)};
  BOOST_CHECK_THROW(mt::Optimizer(o, 1e-5, 1e-3, p), mt::TrainingError);
}

BOOST_AUTO_TEST_CASE(checkpoint_round_trip) {
  const fs::path dir = TempDir("ckpt");
  mt::Checkpoint c;
  c.config_json = mt::ConfigJson(ToyOptions(dir));
  c.params = mt::InitParameters(ToyOptions(dir).network, 3);
  c.optimizer_m = mt::InitParameters(ToyOptions(dir).network, 4);
  c.optimizer_v = mt::InitParameters(ToyOptions(dir).network, 5);
  std::ostringstream rng_text;
  rng_text << std::mt19937_64(11);
  c.optimizer_step = 17;
  c.epoch = 2;
  c.batch = 5;
  c.epoch_seed = 0xfedcba9876543210ull;
  c.epoch_seed_valid = true;
  c.rng_state = rng_text.str();
  c.partial_loss = 1.0 / 3.0;
  c.partial_correct = 7;
  c.partial_count = 9;
  mt::EpochMetrics m;
  m.epoch = 1;
  m.test_accuracy = 0.123456789012345;
  c.history.push_back(m);
  m.epoch = 2;
  c.history.push_back(m);
  const std::string path = (dir / "c.bin").string();
  mt::SaveCheckpoint(path, c);
  const mt::Checkpoint d = mt::LoadCheckpoint(path);
  BOOST_CHECK(BitwiseEqual(c.params, d.params));
  BOOST_CHECK(BitwiseEqual(c.optimizer_m, d.optimizer_m));
  BOOST_CHECK(BitwiseEqual(c.optimizer_v, d.optimizer_v));
  BOOST_CHECK_EQUAL(d.optimizer_step, 17);
  BOOST_CHECK_EQUAL(d.epoch, 2);
  BOOST_CHECK_EQUAL(d.batch, 5);
  BOOST_CHECK_EQUAL(d.epoch_seed, c.epoch_seed);
  BOOST_CHECK_EQUAL(d.rng_state, c.rng_state);
  BOOST_CHECK_EQUAL(d.partial_loss, c.partial_loss);
  BOOST_CHECK_EQUAL(d.history.at(0).test_accuracy, m.test_accuracy);
  // A corrupt file is rejected with a clear message.
  std::ofstream(dir / "bad.bin") << "garbage";
  BOOST_CHECK_THROW(mt::LoadCheckpoint((dir / "bad.bin").string()), mt::TrainingError);
  // Parameters JSON export round trip.
  mt::SaveParametersJson((dir / "p.json").string(), ToyOptions(dir).network, c.params);
  BOOST_CHECK(BitwiseEqual(c.params, mt::LoadParametersJson((dir / "p.json").string())));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(resume_is_bit_exact) {
  const mt::DatasetPair data = ToyData();
  const fs::path a = TempDir("straight"), b = TempDir("resumed");
  const mt::TrainResult straight = mt::RunTraining(ToyOptions(a), data);
  BOOST_REQUIRE(straight.finished);
  BOOST_REQUIRE_EQUAL(straight.history.size(), 2u);

  // 2 batches, then 2 more (crossing the epoch boundary after batch 3), then the rest.
  mt::TrainOptions o = ToyOptions(b);
  o.stop_after_batches = 2;
  mt::TrainResult r = mt::RunTraining(o, data);
  BOOST_CHECK(!r.finished);
  o.resume = true;
  r = mt::RunTraining(o, data);
  BOOST_CHECK(!r.finished);
  BOOST_CHECK_EQUAL(r.history.size(), 1u);
  o.stop_after_batches = 0;
  r = mt::RunTraining(o, data);
  BOOST_REQUIRE(r.finished);
  BOOST_CHECK(BitwiseEqual(straight.params, r.params));
  BOOST_REQUIRE_EQUAL(r.history.size(), 2u);
  for (int e = 0; e < 2; ++e) {
    BOOST_CHECK_EQUAL(r.history[e].train_loss, straight.history[e].train_loss);
    BOOST_CHECK_EQUAL(r.history[e].test_accuracy, straight.history[e].test_accuracy);
  }
  // The run directory has the metrics files.
  BOOST_CHECK(fs::exists(b / "metrics.csv"));
  // A cosine schedule makes different steps, and resumes bit for bit too.
  const fs::path c = TempDir("cosine"), d = TempDir("cosine_resumed");
  mt::TrainOptions co = ToyOptions(c);
  co.optimizer.schedule = mt::LrSchedule::kCosine;
  co.optimizer.lr_min = 0.002;
  const mt::TrainResult cosine = mt::RunTraining(co, data);
  BOOST_CHECK(!BitwiseEqual(straight.params, cosine.params));
  co.run_dir = d.string();
  co.stop_after_batches = 4;
  mt::RunTraining(co, data);
  co.resume = true;
  co.stop_after_batches = 0;
  BOOST_CHECK(BitwiseEqual(cosine.params, mt::RunTraining(co, data).params));
  co.optimizer.schedule = mt::LrSchedule::kConstant;  // another schedule is refused
  BOOST_CHECK_THROW(mt::RunTraining(co, data), mt::TrainingError);
  fs::remove_all(c);
  fs::remove_all(d);
  BOOST_CHECK(fs::exists(b / "metrics.json"));
  BOOST_CHECK(fs::exists(b / "params.json"));
  // Resuming with different options is refused.
  o.optimizer.lr = 0.5;
  BOOST_CHECK_THROW(mt::RunTraining(o, data), mt::TrainingError);
  fs::remove_all(a);
  fs::remove_all(b);
}

// Device noise comes from the run's RNG, which the checkpoint holds: resuming stays bit-exact, and
// the programming metrics of an epoch split by a resume equal the straight run's.
BOOST_AUTO_TEST_CASE(resume_is_bit_exact_with_device_noise) {
  const mt::DatasetPair data = ToyData();
  for (mt::UpdateRule rule :
       {mt::UpdateRule::kEapu, mt::UpdateRule::kWriteVerify, mt::UpdateRule::kAdaptive}) {
    const fs::path a = TempDir("noisy_straight"), b = TempDir("noisy_resumed");
    auto options = [&](const fs::path& dir) {
      mt::TrainOptions o = ToyOptions(dir);
      o.update.rule = rule;
      o.update.device.write_sd = 2e-6;
      o.update.device.read_sd = 0.5e-6;
      o.update.device.spread = 0.05;
      o.update.device.stuck_on = o.update.device.stuck_off = 0.01;
      o.update.device.retention_time = 1.0;
      return o;
    };
    const mt::TrainResult straight = mt::RunTraining(options(a), data);
    mt::TrainOptions o = options(b);
    o.stop_after_batches = 2;
    BOOST_CHECK(!mt::RunTraining(o, data).finished);
    o.resume = true;
    o.stop_after_batches = 0;
    const mt::TrainResult r = mt::RunTraining(o, data);
    BOOST_REQUIRE(r.finished);
    BOOST_CHECK(BitwiseEqual(straight.params, r.params));
    for (int e = 0; e < 2; ++e) {
      const mt::EpochMetrics &x = straight.history[e], &y = r.history[e];
      BOOST_CHECK_GT(x.pulses, 0);
      BOOST_CHECK_GT(x.energy, 0);
      BOOST_CHECK_GT(x.r_up, 0);
      BOOST_CHECK_EQUAL(x.pulses, y.pulses);
      BOOST_CHECK_EQUAL(x.energy, y.energy);
      BOOST_CHECK_EQUAL(x.r_up, y.r_up);
      BOOST_CHECK_EQUAL(x.drift, y.drift);
    }
    // Resuming with another device description is refused.
    o.update.device.write_sd = 1e-6;
    BOOST_CHECK_THROW(mt::RunTraining(o, data), mt::TrainingError);
    fs::remove_all(a);
    fs::remove_all(b);
  }
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_thread_count) {
  const mt::DatasetPair data = ToyData();
  const fs::path a = TempDir("t1"), b = TempDir("t2");
  mt::TrainOptions o1 = ToyOptions(a), o2 = ToyOptions(b);
  o1.threads = 1;
  o2.threads = 2;
  o1.epochs = o2.epochs = 1;
  BOOST_CHECK(BitwiseEqual(mt::RunTraining(o1, data).params, mt::RunTraining(o2, data).params));
  fs::remove_all(a);
  fs::remove_all(b);
}

BOOST_AUTO_TEST_CASE(toy_problem_is_learned_and_evaluated) {
  const mt::DatasetPair data = ToyData();
  const fs::path dir = TempDir("learn");
  mt::TrainOptions o = ToyOptions(dir);
  o.epochs = 6;
  o.max_batches = 0;
  const mt::TrainResult r = mt::RunTraining(o, data);
  BOOST_TEST_MESSAGE("toy test accuracy " << r.history.back().test_accuracy);
  BOOST_CHECK_LT(r.history.back().train_loss, r.history.front().train_loss);
  BOOST_CHECK_GE(r.history.back().test_accuracy, 0.9);
  const mt::Network net(o.network);
  const mt::EvalResult ev = mt::Evaluate(net, r.params, data.test, 2);
  BOOST_CHECK_EQUAL(ev.count, 32);
  BOOST_CHECK_EQUAL(ev.confusion.sum(), 32);
  BOOST_CHECK_CLOSE(ev.accuracy, double(ev.confusion.trace()) / 32, 1e-12);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  mt::TrainOptions o = ToyOptions(TempDir("bad"));
  o.batch_size = 0;
  BOOST_CHECK_THROW(mt::RunTraining(o, ToyData()), mt::TrainingError);
  o = ToyOptions(TempDir("bad2"));
  o.network.layer_sizes = {784, 8, 4};
  try {
    mt::RunTraining(o, ToyData());
    BOOST_FAIL("expected a feature-count error");
  } catch (const mt::TrainingError& e) {
    BOOST_CHECK(std::string(e.what()).find("16 features") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(defaults_presets_and_warnings) {
  // One set of defaults: the measured recipe.
  const mt::TrainOptions d = mt::TrainPreset("default");
  BOOST_CHECK(d.network.method == mt::Method::kSemiImplicit);
  BOOST_CHECK_EQUAL(d.network.steps, 200);
  BOOST_CHECK_EQUAL(d.optimizer.lr, 2e-3);
  BOOST_CHECK_EQUAL(d.batch_size, 32);
  BOOST_CHECK(mt::TrainWarnings(d).empty());
  // The paper's protocol.
  const mt::TrainOptions p = mt::TrainPreset("paper");
  BOOST_CHECK(p.network.method == mt::Method::kSemiImplicit);  // its forward Euler diverged
  BOOST_CHECK_EQUAL(p.network.steps, 1000);
  BOOST_CHECK_EQUAL(p.network.dt, 10e-6);
  BOOST_CHECK_EQUAL(p.optimizer.lr, 1e-4);
  BOOST_CHECK_EQUAL(p.batch_size, 128);
  BOOST_CHECK_EQUAL(p.epochs, 50);
  BOOST_CHECK_THROW(mt::TrainPreset("best"), mt::TrainingError);
  // Layer scales for other depths.
  BOOST_TEST(mt::DefaultLayerScale(1) == std::vector<double>({150.0}),
             boost::test_tools::per_element());
  BOOST_TEST(mt::DefaultLayerScale(3) == std::vector<double>({150.0, 0.03, 0.03}),
             boost::test_tools::per_element());
  // Forward Euler with a drive that diverged in measurements, and a slow learning rate, are warned.
  mt::TrainOptions fe = d;
  fe.network.method = mt::Method::kForwardEuler;
  BOOST_REQUIRE_EQUAL(mt::TrainWarnings(fe).size(), 1u);  // 150,0.03 diverged on batch 1
  BOOST_CHECK(mt::TrainWarnings(fe)[0].find("semi-implicit") != std::string::npos);
  fe.network.layer_scale = {20, 0.01};
  BOOST_CHECK(mt::TrainWarnings(fe).empty());  // measured stable
  fe.network.layer_scale = {20, 0.02};
  BOOST_CHECK_EQUAL(mt::TrainWarnings(fe).size(), 1u);
  BOOST_CHECK_EQUAL(mt::TrainWarnings(p).size(), 1u);  // lr 1e-4 trains slowly
}

BOOST_AUTO_TEST_CASE(memory_is_estimated_before_allocating) {
  mt::TrainOptions o;
  o.run_dir = "unused";
  BOOST_CHECK(o.Validate().empty());
  const double base = mt::EstimateTrainingBytes(o);
  BOOST_CHECK_GT(base, 1e6);
  o.network.steps = 2'000'000'000;
  BOOST_CHECK_GT(mt::EstimateTrainingBytes(o), 1e4 * base);
  const std::string e = o.Validate();
  BOOST_CHECK(e.find("needs about") != std::string::npos);
  BOOST_CHECK(e.find("TiB") != std::string::npos);
  BOOST_CHECK_THROW(mt::RunTraining(o, ToyData()), mt::TrainingError);
}

// A resume whose max_batches is below the checkpoint's batch ends that epoch where it is and
// records the batches actually trained, not the new limit or a negative throughput.
BOOST_AUTO_TEST_CASE(resume_with_fewer_batches_records_what_was_trained) {
  const mt::DatasetPair data = ToyData();
  const fs::path dir = TempDir("fewer");
  mt::TrainOptions o = ToyOptions(dir);
  o.epochs = 1;
  o.max_batches = 6;
  o.stop_after_batches = 4;
  BOOST_REQUIRE(!mt::RunTraining(o, data).finished);
  o.resume = true;
  o.stop_after_batches = 0;
  o.max_batches = 2;
  const mt::TrainResult r = mt::RunTraining(o, data);
  BOOST_REQUIRE(r.finished);
  BOOST_REQUIRE_EQUAL(r.history.size(), 1u);
  BOOST_CHECK_EQUAL(r.history[0].batches, 4);
  BOOST_CHECK_GE(r.history[0].samples_per_second, 0.0);
  BOOST_CHECK(std::isfinite(r.history[0].samples_per_second));
  fs::remove_all(dir);
}

// A batch larger than the training set, and an empty set, are refused before anything is written.
BOOST_AUTO_TEST_CASE(degenerate_data_is_refused) {
  const fs::path dir = TempDir("degenerate") / "run";
  mt::TrainOptions o = ToyOptions(dir);
  o.batch_size = 97;
  BOOST_CHECK_THROW(mt::RunTraining(o, ToyData()), mt::TrainingError);
  o = ToyOptions(dir);
  mt::DatasetPair empty = ToyData();
  empty.train.images.clear();
  empty.train.labels.clear();
  try {
    mt::RunTraining(o, empty);
    BOOST_FAIL("expected an empty-dataset error");
  } catch (const mt::TrainingError& e) {
    BOOST_CHECK(std::string(e.what()).find("0 training") != std::string::npos);
  }
  BOOST_CHECK(!fs::exists(dir));
}

// Reference-column mapping: the toy problem is learned with the reference held fixed, also through
// a noisy device-aware rule (stuck cells, drift); the adaptive rule is refused.
BOOST_AUTO_TEST_CASE(reference_column_is_learned_with_a_fixed_reference) {
  const mt::DatasetPair data = ToyData();
  for (bool noisy : {false, true}) {
    const fs::path dir = TempDir(noisy ? "refcol_noisy" : "refcol");
    mt::TrainOptions o = ToyOptions(dir);
    o.network.mapping = mt::SignedMapping::kReferenceColumn;
    o.network.layer_scale = {2 * o.network.layer_scale[0], 2 * o.network.layer_scale[1]};
    o.epochs = 6;
    o.max_batches = 0;
    if (noisy) {
      o.update.rule = mt::UpdateRule::kEapu;
      o.update.device.write_sd = 2e-6;
      o.update.device.stuck_on = o.update.device.stuck_off = 0.01;
      o.update.device.retention_time = 1.0;
    }
    const mt::Parameters init = mt::InitParameters(o.network, o.seed, o.init_fraction);
    const mt::TrainResult r = mt::RunTraining(o, data);
    BOOST_TEST_MESSAGE("reference column" << (noisy ? " (eapu, noisy devices)" : "")
                                          << ": toy test accuracy "
                                          << r.history.back().test_accuracy);
    BOOST_CHECK_GE(r.history.back().test_accuracy, 0.9);
    for (size_t l = 0; l < init.g_minus.size(); ++l) {
      BOOST_CHECK(r.params.g_minus[l] == init.g_minus[l]);  // the reference is not trained
      BOOST_CHECK_GT((r.params.g_plus[l] - init.g_plus[l]).cwiseAbs().maxCoeff(), 0.0);
    }
    BOOST_CHECK_EQUAL(mt::CheckReference(o.network, r.params), "");
    fs::remove_all(dir);
  }
  mt::TrainOptions o = ToyOptions(TempDir("refcol_adaptive"));
  o.network.mapping = mt::SignedMapping::kReferenceColumn;
  o.update.rule = mt::UpdateRule::kAdaptive;
  BOOST_CHECK_NE(o.Validate().find("reference-column"), std::string::npos);
  // Conductances of a differential network are not a reference-column network's.
  mt::NetworkConfig d = o.network;
  d.mapping = mt::SignedMapping::kDifferential;
  BOOST_CHECK_NE(mt::CheckReference(o.network, mt::InitParameters(d, 1)).find("varies along"),
                 std::string::npos);
}
