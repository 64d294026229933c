// Programming model (pulse response from the MSS state equation, stochastic device terms) and the
// device-aware update rules, with fixed seeds.
#define BOOST_TEST_MODULE device_update
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <random>

#include "../../test_util.h"
#include "training/dataset.h"
#include "training/programming.h"
#include "training/trainer.h"
#include "training/update_rules.h"

namespace mt = memspice::training;
namespace mss = memspice::devices::mss;

namespace {

constexpr double kGMin = 1e-5, kGMax = 1e-3;  // the device range: 10 uS to 1 mS

// Largest |a - b| over every conductance of two parameter sets of the same shape.
double MaxAbsDiff(const mt::Parameters& a, const mt::Parameters& b) {
  double d = 0;
  for (size_t l = 0; l < a.g_plus.size(); ++l)
    d = std::max({d, (a.g_plus[l] - b.g_plus[l]).cwiseAbs().maxCoeff(),
                  (a.g_minus[l] - b.g_minus[l]).cwiseAbs().maxCoeff()});
  return d;
}

mt::Parameters Filled(int rows, int cols, double g) {
  mt::Parameters p;
  p.g_plus.push_back(Eigen::MatrixXd::Constant(rows, cols, g));
  p.g_minus.push_back(Eigen::MatrixXd::Constant(rows, cols, g));
  return p;
}

// x after `width` at constant u by classical RK4 on mss::StateRate (reference for the closed form).
double Rk4(const mss::MssParams& p, double x, double u, double width, int steps) {
  const double h = width / steps;
  for (int s = 0; s < steps; ++s) {
    const double k1 = mss::StateRate(p, x, u);
    const double k2 = mss::StateRate(p, x + h / 2 * k1, u);
    const double k3 = mss::StateRate(p, x + h / 2 * k2, u);
    const double k4 = mss::StateRate(p, x + h * k3, u);
    x += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
  }
  return x;
}

}  // namespace

BOOST_AUTO_TEST_CASE(pulse_train_integrates_the_mss_state_equation) {
  const mt::ProgrammingOptions o;
  const mss::MssParams p = mt::NominalSynapse(o, kGMin, kGMax);
  for (double v : {o.set_amplitude, o.reset_amplitude, 0.0}) {
    double x = 0.37;
    for (int n = 1; n <= 5; ++n) {
      x = Rk4(p, x, v, o.pulse_width, 200);
      BOOST_TEST(std::abs(mt::ApplyPulseTrain(p, 0.37, v, o.pulse_width, n).x - x) < 1e-12);
    }
  }
  // Energy: sum of V^2 G t with G at each pulse's start.
  double x = 0.2, e = 0;
  for (int k = 0; k < 7; ++k) {
    e += o.set_amplitude * o.set_amplitude * o.pulse_width * mss::Conductance(p, x);
    x = mt::ApplyPulseTrain(p, x, o.set_amplitude, o.pulse_width, 1).x;
  }
  BOOST_TEST(std::abs(mt::ApplyPulseTrain(p, 0.2, o.set_amplitude, o.pulse_width, 7).energy - e) <
             1e-12 * e);
}

BOOST_AUTO_TEST_CASE(response_is_nonlinear_and_asymmetric) {
  const mt::ProgrammingOptions o;
  const mss::MssParams p = mt::NominalSynapse(o, kGMin, kGMax);
  auto step = [&](double x, double v) {
    return mss::Conductance(p, mt::ApplyPulseTrain(p, x, v, o.pulse_width, 1).x) -
           mss::Conductance(p, x);
  };
  BOOST_TEST(step(0.1, o.set_amplitude) > 2 * step(0.8, o.set_amplitude));  // saturating SET
  BOOST_TEST(-step(0.9, o.reset_amplitude) >
             2 * -step(0.2, o.reset_amplitude));  // saturating RESET
  BOOST_TEST(std::abs(step(0.5, o.set_amplitude) + step(0.5, o.reset_amplitude)) >
             1e-3 * step(0.5, o.set_amplitude));  // SET and RESET differ at the same state
}

BOOST_AUTO_TEST_CASE(pulse_count_reaches_the_target) {
  const mt::ProgrammingOptions o;
  const mss::MssParams p = mt::NominalSynapse(o, kGMin, kGMax);
  for (double target : {0.45, 0.6, 0.9}) {
    const int n = mt::PulsesForTarget(p, 0.4, target, o.set_amplitude, o.pulse_width, 10000);
    const double x = mt::ApplyPulseTrain(p, 0.4, o.set_amplitude, o.pulse_width, n).x;
    const double one = mt::ApplyPulseTrain(p, x, o.set_amplitude, o.pulse_width, 1).x - x;
    BOOST_TEST(std::abs(x - target) <= 0.5 * one + 1e-12);
  }
  BOOST_TEST(mt::PulsesForTarget(p, 0.4, 0.3, o.set_amplitude, o.pulse_width, 100) == 0);
  BOOST_TEST(mt::PulsesForTarget(p, 0.4, 1.0, o.set_amplitude, o.pulse_width, 100) == 100);
}

BOOST_AUTO_TEST_CASE(saturated_devices_get_no_pulses_past_their_window) {
  mt::UpdateOptions o;
  o.device.max_pulses = 5000;  // 0.5 -> 0.99 of the range takes about 2000 default pulses
  const mt::Parameters shape = Filled(1, 1, 5e-4);
  const mt::DeviceArray d(o.device, kGMin, kGMax, shape);
  const double top = kGMax - 0.5 * mt::kTargetMargin * (kGMax - kGMin);
  BOOST_TEST(d.PulsesTo(0, top, kGMax + 1e-4, false) == 0);  // already at the limit
  BOOST_TEST(d.PulsesTo(0, top, kGMin, false) > 0);          // the other way is fine
  const int n = d.PulsesTo(0, 5e-4, 2 * kGMax, false);       // aims at the window's edge
  BOOST_TEST(n > 0);
  BOOST_TEST(n < o.device.max_pulses);
}

BOOST_AUTO_TEST_CASE(eapu_rounding_statistics_and_unbiasedness) {
  const double th = 2e-6;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u;
  for (double dw : {0.3 * th, -0.05 * th}) {
    const int n = 200000;
    double sum = 0;
    int moved = 0;
    for (int k = 0; k < n; ++k) {
      const double r = mt::EapuRound(dw, th, u(rng));
      BOOST_TEST((r == 0 || r == std::copysign(th, dw)));
      sum += r;
      moved += r != 0;
    }
    const double p = std::abs(dw) / th, sd = std::sqrt(p * (1 - p) / n);
    BOOST_TEST(std::abs(double(moved) / n - p) < 4 * sd);  // P(update) = |dW| / dW_th
    BOOST_TEST(std::abs(sum / n - dw) < 4 * sd * th);      // E[dW_n] = dW
  }
  BOOST_TEST(mt::EapuRound(3 * th, th, 0.99) == 3 * th);  // large steps pass unchanged
  BOOST_TEST(mt::EapuRound(-th, th, 0.99) == -th);
}

BOOST_AUTO_TEST_CASE(eapu_updates_few_devices) {
  mt::UpdateOptions o;
  o.rule = mt::UpdateRule::kEapu;
  o.device.write_sd = 2e-6;
  mt::Parameters g = Filled(20, 50, 5e-4);
  mt::ConductanceUpdater up(o, kGMin, kGMax, g);
  const mt::Parameters delta = Filled(20, 50, 2e-8);  // 1 % of the threshold
  std::mt19937_64 rng(7);
  for (int s = 0; s < 50; ++s) up.Apply(delta, &g, &rng);
  BOOST_TEST(up.stats().device_steps == 50 * 2000);
  BOOST_TEST(std::abs(up.stats().r_up() - 0.01) < 4 * std::sqrt(0.01 * 0.99 / 1e5));
  BOOST_TEST(up.stats().energy > 0);
}

BOOST_AUTO_TEST_CASE(stuck_devices_never_change) {
  mt::UpdateOptions o;
  o.device.write_sd = 2e-6;
  o.device.spread = 0.1;
  o.device.stuck_on = 0.1;
  o.device.stuck_off = 0.1;
  for (mt::UpdateRule rule :
       {mt::UpdateRule::kPulse, mt::UpdateRule::kSign, mt::UpdateRule::kWriteVerify,
        mt::UpdateRule::kEapu, mt::UpdateRule::kAdaptive}) {
    o.rule = rule;
    mt::Parameters g = Filled(10, 10, 3e-4);
    mt::ConductanceUpdater up(o, kGMin, kGMax, g);
    up.Condition(&g);
    const mt::Parameters start = g;
    std::mt19937_64 rng(3);
    std::normal_distribution<double> n(0, 2e-5);
    mt::Parameters delta = Filled(10, 10, 0);
    int stuck = 0;
    for (int s = 0; s < 20; ++s) {
      for (auto* m : {&delta.g_plus[0], &delta.g_minus[0]})
        for (Eigen::Index k = 0; k < m->size(); ++k) m->data()[k] = n(rng);
      up.Apply(delta, &g, &rng);
    }
    for (size_t i = 0; i < 200; ++i) {
      const double now = i < 100 ? g.g_plus[0].data()[i] : g.g_minus[0].data()[i - 100];
      const double was = i < 100 ? start.g_plus[0].data()[i] : start.g_minus[0].data()[i - 100];
      const mt::Stuck s = up.devices().stuck(i);
      if (s == mt::Stuck::kNo) continue;
      ++stuck;
      BOOST_TEST(now == was);
      BOOST_TEST(now == (s == mt::Stuck::kOn ? up.devices().GMax(i) : up.devices().GMin(i)));
    }
    BOOST_TEST(stuck > 20);
    BOOST_TEST(up.stats().updated > 0);
  }
}

BOOST_AUTO_TEST_CASE(adaptive_rule_sets_only_and_refreshes_saturated_pairs) {
  mt::UpdateOptions o;
  o.rule = mt::UpdateRule::kAdaptive;
  mt::Parameters g = Filled(1, 2, 2e-4);
  g.g_plus[0](0, 1) = 9.5e-4;  // pair 1: G+ near the top of the range
  mt::ConductanceUpdater up(o, kGMin, kGMax, g);
  mt::Parameters delta = Filled(1, 2, 0);
  delta.g_plus[0](0, 0) = 5e-5;  // pair 0: dw = +50 uS - (-20 uS) = 70 uS
  delta.g_minus[0](0, 0) = -2e-5;
  delta.g_plus[0](0, 1) = 4e-5;  // pair 1: dw = +40 uS, G+ would pass 95 %
  std::mt19937_64 rng(1);
  const double w1 = g.g_plus[0](0, 1) - g.g_minus[0](0, 1) + 4e-5;
  up.Apply(delta, &g, &rng);
  BOOST_TEST(g.g_minus[0](0, 0) == 2e-4);                   // unidirectional: only G+ was SET
  BOOST_TEST(std::abs(g.g_plus[0](0, 0) - 2.7e-4) < 2e-6);  // within about a pulse step
  BOOST_TEST(up.stats().refreshes == 1);
  BOOST_TEST(g.g_plus[0](0, 1) < 9.5e-4);  // refreshed: the pair now sits lower
  BOOST_TEST(std::abs(g.g_plus[0](0, 1) - g.g_minus[0](0, 1) - w1) < 5e-6);
}

BOOST_AUTO_TEST_CASE(write_verify_lands_within_tolerance_with_more_pulses) {
  mt::UpdateOptions o;
  o.device.write_sd = 2e-6;
  o.rule = mt::UpdateRule::kWriteVerify;
  o.verify_iterations = 50;
  mt::Parameters g = Filled(10, 20, 3e-4);
  mt::ConductanceUpdater wv(o, kGMin, kGMax, g);
  o.rule = mt::UpdateRule::kPulse;
  mt::ConductanceUpdater pu(o, kGMin, kGMax, g);
  const mt::Parameters delta = Filled(10, 20, 2e-5);
  mt::Parameters gw = g, gp = g;
  std::mt19937_64 rng(5);
  wv.Apply(delta, &gw, &rng);
  pu.Apply(delta, &gp, &rng);
  int within = 0;
  for (Eigen::Index k = 0; k < gw.g_plus[0].size(); ++k)
    within += std::abs(gw.g_plus[0].data()[k] - 3.2e-4) <= o.verify_tolerance;
  BOOST_TEST(within == gw.g_plus[0].size());
  BOOST_TEST(wv.stats().pulses > pu.stats().pulses);
}

BOOST_AUTO_TEST_CASE(same_seed_same_result) {
  mt::UpdateOptions o;
  o.rule = mt::UpdateRule::kEapu;
  o.device.write_sd = 1e-6;
  o.device.spread = 0.05;
  const mt::Parameters delta = Filled(5, 5, 3e-7);
  mt::Parameters a = Filled(5, 5, 4e-4), b = a;
  mt::ConductanceUpdater ua(o, kGMin, kGMax, a), ub(o, kGMin, kGMax, b);
  std::mt19937_64 ra(9), rb(9);
  for (int s = 0; s < 10; ++s) {
    ua.Apply(delta, &a, &ra);
    ub.Apply(delta, &b, &rb);
  }
  BOOST_TEST((a.g_plus[0] == b.g_plus[0]));
  BOOST_TEST((a.g_minus[0] == b.g_minus[0]));
}

BOOST_AUTO_TEST_CASE(bad_settings_get_clear_errors) {
  const mt::Parameters shape = Filled(2, 2, 1e-4);
  auto message = [&](const mt::UpdateOptions& o) -> std::string {
    try {
      mt::ConductanceUpdater up(o, kGMin, kGMax, shape);
    } catch (const mt::TrainingError& e) {
      return e.what();
    }
    return "";
  };
  mt::UpdateOptions o;
  o.device.write_sd = -1e-6;
  BOOST_TEST(message(o).find("'write_sd' = -1e-06 must be >= 0") != std::string::npos);
  o = {};
  o.eapu_threshold = 2e-3;
  BOOST_TEST(message(o).find("larger than the device range") != std::string::npos);
  o = {};
  o.device.stuck_on = 0.7;
  o.device.stuck_off = 0.5;
  BOOST_TEST(message(o).find("'stuck_off'") != std::string::npos);
  o = {};
  o.device.set_amplitude = 0.2;
  BOOST_TEST(message(o).find("'set_amplitude' = 0.2 must be > von") != std::string::npos);
  try {
    mt::ParseUpdateRule("eapuu");
    BOOST_FAIL("no error");
  } catch (const mt::TrainingError& e) {
    BOOST_TEST(std::string(e.what()).find("'eapuu' is not an update rule; use one of ideal") !=
               std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(device_card_gives_synapse_and_programming) {
  memspice::testing::TempDir dir("device_card");
  const std::string path = dir / "syn.lib";
  std::ofstream(path) << ".model syn mss (ron=2k roff=50k von=0.35 voff=-0.3 k=0.5\n"
                         "+ write_sd=2u spread=0.05 stuck_off=0.01 set_amplitude=0.5)\n";
  std::string name;
  const mt::ProgrammingOptions o = mt::ReadDeviceCard(path, &name);
  BOOST_TEST(name == "syn");
  BOOST_TEST(o.synapse.ron == 2e3);
  BOOST_TEST(o.synapse.roff == 5e4);
  BOOST_TEST(o.synapse.von == 0.35);
  BOOST_TEST(o.synapse.k == 0.5);
  BOOST_TEST(o.synapse.tau == mss::MssParams().tau);  // absent: the MSS default, as in `sim`
  BOOST_TEST(o.write_sd == 2e-6);
  BOOST_TEST(o.spread == 0.05);
  BOOST_TEST(o.stuck_off == 0.01);
  BOOST_TEST(o.set_amplitude == 0.5);
  BOOST_TEST(o.reset_amplitude == memspice::devices::kMssProgrammingDefaults.reset_amplitude);
  // The card's range is the nominal device's, whatever the network's.
  const mss::MssParams p = mt::NominalSynapse(o, kGMin, kGMax);
  BOOST_TEST(p.ron == 2e3);
  BOOST_TEST(p.roff == 5e4);
  // The run record keeps every key (round trip through JSON).
  mt::UpdateOptions u;
  u.rule = mt::UpdateRule::kPulse;
  u.device = o;
  u.device.synapse.knowm = true;
  const mt::UpdateOptions back = mt::UpdateOptionsFromJson(mt::UpdateOptionsToJson(u), "test");
  BOOST_TEST(mt::UpdateOptionsToJson(back) == mt::UpdateOptionsToJson(u));
  BOOST_TEST(back.device.synapse.knowm);
  BOOST_TEST(back.device.spread == 0.05);
}

BOOST_AUTO_TEST_CASE(device_settings_apply_over_the_card_by_name) {
  memspice::testing::TempDir dir("device_settings");
  const std::string path = dir / "syn.lib";
  std::ofstream(path) << ".model syn mss (ron=2k roff=50k write_sd=2u spread=0.05)\n";
  mt::UpdateOptions u;
  u.device.device_seed = 7;
  mt::ApplyDeviceSettings(path, {{"spread", 0.1}, {"eapu_threshold", 3e-6}}, &u);
  BOOST_TEST(u.device.synapse.ron == 2e3);  // the card's
  BOOST_TEST(u.device.write_sd == 2e-6);
  BOOST_TEST(u.device.spread == 0.1);  // the setting over the card
  BOOST_TEST(u.eapu_threshold == 3e-6);
  BOOST_TEST(u.device.device_seed == 7u);  // a card does not reseed the array
  mt::ApplyDeviceSettings("", {{"device_seed", 12}}, &u);
  BOOST_TEST(u.device.device_seed == 12u);
  BOOST_TEST(u.device.spread == 0.1);  // no card: the rest stays
  // Every programming key of the card is a setting, one list for the CLI and Python.
  const std::vector<std::string> keys = mt::DeviceSettingKeys();
  for (const auto& row : memspice::devices::kMssProgrammingRows)
    BOOST_TEST((std::find(keys.begin(), keys.end(), row.name) != keys.end()), row.name);
  BOOST_CHECK_EXCEPTION(mt::ApplyDeviceSettings("", {{"write_noise", 1e-6}}, &u), mt::TrainingError,
                        [](const mt::TrainingError& e) {
                          const std::string m = e.what();
                          return m.find("'write_noise' is not a device setting") !=
                                     std::string::npos &&
                                 m.find("write_sd") != std::string::npos;
                        });
  BOOST_CHECK_EXCEPTION(mt::ApplyDeviceSettings("", {{"device_seed", 1.5}}, &u), mt::TrainingError,
                        [](const mt::TrainingError& e) {
                          return std::string(e.what()).find("whole number") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(bad_device_cards_point_at_the_card) {
  memspice::testing::TempDir dir("device_card_bad");
  const std::string path = dir / "bad.lib";
  auto message = [&](const std::string& text) -> std::string {
    std::ofstream(path) << text;
    try {
      mt::ReadDeviceCard(path);
    } catch (const mt::TrainingError& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message("* bad\n.model syn mss (ron=1k stuck_on=1.5 max_pulses=0)\n");
  BOOST_TEST(m.find("bad.lib:2:8: error: model 'syn': stuck_on = 1.5 must be in [0, 1]") !=
                 std::string::npos,
             m);
  BOOST_TEST(m.find("max_pulses = 0 must be a whole number >= 1") != std::string::npos, m);
  BOOST_TEST(m.find("^") != std::string::npos, m);
  m = message(".model syn mss (ron=1k von=0.3 reset_amplitude=0.1)\n");
  BOOST_TEST(m.find("'reset_amplitude' = 0.1 must be < voff") != std::string::npos, m);
  m = message(".model syn mss (ron=1k bogus=1)\n");
  BOOST_TEST(m.find("unknown parameter 'bogus'") != std::string::npos, m);
  m = message(".model syn d (is=1e-14)\n");
  BOOST_TEST(m.find("exactly one `.model NAME mss (...)` card, found 0") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(device_noise_is_seeded_and_physical) {
  const mt::Parameters g = Filled(40, 50, 5e-4);
  mt::ProgrammingOptions o;
  BOOST_TEST(MaxAbsDiff(mt::WithDeviceNoise(g, o, kGMin, kGMax, 3), g) < 1e-18);  // no noise
  o.write_sd = 2e-6;
  o.read_sd = 1e-6;
  o.spread = 0.05;
  o.stuck_on = 0.02;
  o.stuck_off = 0.03;
  const mt::Parameters a = mt::WithDeviceNoise(g, o, kGMin, kGMax, 3);
  BOOST_TEST(MaxAbsDiff(a, mt::WithDeviceNoise(g, o, kGMin, kGMax, 3)) == 0.0);  // same seed
  BOOST_TEST(MaxAbsDiff(a, mt::WithDeviceNoise(g, o, kGMin, kGMax, 4)) > 0.0);
  // Without read noise stuck devices sit at their window's ends; every device stays inside it.
  o.read_sd = 0;
  const mt::Parameters a0 = mt::WithDeviceNoise(g, o, kGMin, kGMax, 3);
  mt::ProgrammingOptions drawn = o;
  drawn.device_seed = 3;
  const mt::DeviceArray devices(drawn, kGMin, kGMax, g);
  size_t i = 0, stuck = 0;
  mt::ForEachCrossbar(&a0, [&](const Eigen::MatrixXd& m) {
    for (Eigen::Index k = 0; k < m.size(); ++k, ++i) {
      const double v = m.data()[k];
      if (devices.stuck(i) == mt::Stuck::kOn) BOOST_TEST(v == devices.GMax(i));
      if (devices.stuck(i) == mt::Stuck::kOff) BOOST_TEST(v == devices.GMin(i));
      stuck += devices.stuck(i) != mt::Stuck::kNo;
      BOOST_TEST((v >= devices.GMin(i) && v <= devices.GMax(i)));
    }
  });
  BOOST_TEST(stuck > 0u);
  BOOST_TEST(stuck < i / 5);
}

BOOST_AUTO_TEST_CASE(a_card_range_other_than_the_networks_is_warned) {
  mt::TrainOptions o;
  o.update.rule = mt::UpdateRule::kPulse;
  auto warned = [&] {
    for (const std::string& w : mt::TrainWarnings(o))
      if (w.find("device card's range") != std::string::npos) return true;
    return false;
  };
  BOOST_TEST(!warned());  // no card: the network's range
  o.update.device.synapse.ron = 1 / o.network.g_max;
  o.update.device.synapse.roff = 1 / o.network.g_min;
  BOOST_TEST(!warned());
  o.update.device.synapse.ron = 2e3;
  BOOST_TEST(warned());
  o.update.rule = mt::UpdateRule::kIdeal;  // no device model
  BOOST_TEST(!warned());
}
