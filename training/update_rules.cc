#include "training/update_rules.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "training/dataset.h"

namespace memspice::training {

namespace {
constexpr std::array<const char*, 7> kNames = {"ideal",        "pulse", "sign",    "two-pulse",
                                               "write-verify", "eapu",  "adaptive"};
}  // namespace

UpdateRule ParseUpdateRule(const std::string& name) {
  for (size_t k = 0; k < kNames.size(); ++k)
    if (name == kNames[k]) return static_cast<UpdateRule>(k);
  throw TrainingError(fmt::format("option 'update' = '{}' is not an update rule; use one of {}",
                                  name, kUpdateRuleNames));
}

std::string UpdateRuleName(UpdateRule r) { return kNames[static_cast<size_t>(r)]; }

std::string ValidateUpdateOptions(const UpdateOptions& o, double g_min, double g_max) {
  if (std::string e = o.device.Validate(); !e.empty()) return e;
  const double range = g_max - g_min;
  const double th = o.eapu_threshold < 0 ? o.device.write_sd : o.eapu_threshold;
  if (!std::isfinite(o.eapu_threshold))
    return fmt::format("option 'eapu_threshold' = {} must be finite", o.eapu_threshold);
  if (th > range)
    return fmt::format(
        "EaPU threshold {} S is larger than the device range {} S (g_max - g_min); use a "
        "threshold below it (the EaPU default is the write-noise SD)",
        th, range);
  if (!(o.verify_tolerance > 0) || !std::isfinite(o.verify_tolerance))
    return fmt::format("option 'verify_tolerance' = {} must be > 0 [S]", o.verify_tolerance);
  if (o.verify_iterations < 1)
    return fmt::format("option 'verify_iterations' = {} must be >= 1", o.verify_iterations);
  if (!(o.refresh_floor >= 0 && o.refresh_floor < o.refresh_level && o.refresh_level <= 1))
    return fmt::format(
        "options 'refresh_floor' = {} and 'refresh_level' = {} must satisfy 0 <= floor < level "
        "<= 1",
        o.refresh_floor, o.refresh_level);
  return {};
}

namespace {
// Every option with its JSON name (one list for both directions): the rule's own, then the
// synapse's MSS parameters and its programming parameters by their .model card names.
template <typename Fn>
void ForEachUpdateField(UpdateOptions& u, Fn&& fn) {
  ProgrammingOptions& d = u.device;
  fn("eapu_threshold", u.eapu_threshold);
  fn("verify_tolerance", u.verify_tolerance);
  fn("verify_iterations", u.verify_iterations);
  fn("refresh_level", u.refresh_level);
  fn("refresh_floor", u.refresh_floor);
  for (int k = 0; k < mss::kNumMssParams; ++k)
    fn(mss::kMssParamNames[k], mss::MssParam(d.synapse, k));
  fn("knowm", d.synapse.knowm);
  for (size_t k = 0; k < devices::kMssProgrammingRows.size(); ++k)
    fn(devices::kMssProgrammingRows[k].name, d.*devices::kMssProgrammingFields[k].field);
  fn("device_seed", d.device_seed);
}
}  // namespace

namespace {
// Whole-number settings (the seed) come as doubles: every whole number up to 2^53 is exact.
constexpr double kMaxExactWhole = 0x1p53;

// The fields ApplyDeviceSettings sets by name (a settable subset of ForEachUpdateField's).
template <typename Fn>
void ForEachDeviceSetting(UpdateOptions& u, Fn&& fn) {
  for (size_t k = 0; k < devices::kMssProgrammingRows.size(); ++k)
    fn(devices::kMssProgrammingRows[k].name, u.device.*devices::kMssProgrammingFields[k].field);
  fn("eapu_threshold", u.eapu_threshold);
  fn("verify_tolerance", u.verify_tolerance);
  fn("device_seed", u.device.device_seed);
}
}  // namespace

std::vector<std::string> DeviceSettingKeys() {
  std::vector<std::string> keys;
  UpdateOptions u;
  ForEachDeviceSetting(u, [&](const char* key, const auto&) { keys.emplace_back(key); });
  return keys;
}

void ApplyDeviceSettings(const std::string& device_file,
                         const std::map<std::string, double>& values, UpdateOptions* u) {
  if (!device_file.empty()) {
    const uint64_t seed = u->device.device_seed;
    u->device = ReadDeviceCard(device_file);
    u->device.device_seed = seed;
  }
  for (const auto& [key, value] : values) {
    bool known = false;
    ForEachDeviceSetting(*u, [&](const char* name, auto& field) {
      if (key != name) return;
      known = true;
      using V = std::remove_reference_t<decltype(field)>;
      if constexpr (std::is_integral_v<V>) {
        if (!(value >= 0) || value != std::floor(value) || value > kMaxExactWhole)
          throw TrainingError(
              fmt::format("option '{}' = {} must be a whole number >= 0", key, value));
      }
      field = static_cast<V>(value);
    });
    if (!known) {
      std::string list;
      for (const std::string& k : DeviceSettingKeys()) list += (list.empty() ? "" : ", ") + k;
      throw TrainingError(
          fmt::format("'{}' is not a device setting; the settings are: {}", key, list));
    }
  }
}

nlohmann::json UpdateOptionsToJson(const UpdateOptions& o) {
  nlohmann::json j{{"rule", UpdateRuleName(o.rule)}};
  UpdateOptions copy = o;  // ForEachUpdateField hands out mutable references
  ForEachUpdateField(copy, [&](const char* key, const auto& v) { j[key] = v; });
  return j;
}

UpdateOptions UpdateOptionsFromJson(const nlohmann::json& j, const std::string& where) {
  UpdateOptions o;
  if (!j.is_object() || !j.contains("rule") || !j["rule"].is_string())
    throw TrainingError(fmt::format("{}: error: field 'update' needs a string 'rule'", where));
  o.rule = ParseUpdateRule(j["rule"].get<std::string>());
  ForEachUpdateField(o, [&](const char* key, auto& v) {
    if (!j.contains(key)) return;
    using V = std::remove_reference_t<decltype(v)>;
    if (std::is_same_v<V, bool> ? !j[key].is_boolean() : !j[key].is_number())
      throw TrainingError(fmt::format("{}: error: field 'update.{}' must be a {}", where, key,
                                      std::is_same_v<V, bool> ? "boolean" : "number"));
    v = j[key].get<V>();
  });
  return o;
}

double EapuRound(double dw, double th, double u) {
  if (std::abs(dw) >= th) return dw;
  return u < std::abs(dw) / th ? std::copysign(th, dw) : 0.0;
}

ConductanceUpdater::ConductanceUpdater(const UpdateOptions& o, double g_min, double g_max,
                                       const Parameters& shape)
    : o_(o),
      devices_(o.device, g_min, g_max, shape),
      threshold_(o.eapu_threshold < 0 ? o.device.write_sd : o.eapu_threshold) {
  if (const std::string e = ValidateUpdateOptions(o, g_min, g_max); !e.empty())
    throw TrainingError(e);
}

// One device towards g + dg by the per-device rules.
double ConductanceUpdater::ProgramDevice(size_t i, double g, double dg, std::mt19937_64* rng) {
  switch (o_.rule) {
    case UpdateRule::kPulse:
      return devices_.Program(i, g, devices_.PulsesTo(i, g, g + dg, false), dg > 0, rng, &stats_);
    case UpdateRule::kSign:
      return devices_.Program(i, g, dg != 0 ? 1 : 0, dg > 0, rng, &stats_);
    case UpdateRule::kTwoPulse:
      return WriteVerify(i, g, g + dg, 2, rng);
    case UpdateRule::kWriteVerify:
      return WriteVerify(i, g, g + dg, o_.verify_iterations, rng);
    case UpdateRule::kEapu: {
      const double u = std::uniform_real_distribution<double>()(*rng);
      const double dn = threshold_ > 0 ? EapuRound(dg, threshold_, u) : dg;
      return devices_.Program(i, g, devices_.PulsesTo(i, g, g + dn, false), dn > 0, rng, &stats_);
    }
    default:
      throw TrainingError("internal: rule " + UpdateRuleName(o_.rule) + " is not per device");
  }
}

// Program-read rounds: the first writes without a read (the controller knows g), the next ones
// start from a (noisy) read and stop once it is within the tolerance.
double ConductanceUpdater::WriteVerify(size_t i, double g, double target, int rounds,
                                       std::mt19937_64* rng) {
  double read = g;
  for (int k = 0; k < rounds; ++k) {
    if (k > 0) read = devices_.Read(g, rng);
    if (std::abs(read - target) <= (k > 0 ? o_.verify_tolerance : 0.0)) break;
    const int n = devices_.PulsesTo(i, read, target, false);
    if (n == 0) break;
    g = devices_.Program(i, g, n, target > read, rng, &stats_);
  }
  return g;
}

// SET pulses on device i towards target, counted with its own parameters.
double ConductanceUpdater::SetTo(size_t i, double g, double target, std::mt19937_64* rng) {
  if (target <= g) return g;
  return devices_.Program(i, g, devices_.PulsesTo(i, g, target, true), true, rng, &stats_);
}

void ConductanceUpdater::AdaptivePair(size_t ip, size_t im, double dw, double* gp, double* gm,
                                      std::mt19937_64* rng) {
  if (dw == 0) return;
  const size_t i = dw > 0 ? ip : im;
  double* g = dw > 0 ? gp : gm;
  const mss::MssParams& d = devices_.device(i);
  const double target = *g + std::abs(dw);
  if (StateOf(d, target) <= o_.refresh_level) {
    *g = SetTo(i, *g, target, rng);
    return;
  }
  // Refresh: RESET both to the floor, then put the whole new weight on one device.
  const double w = *gp - *gm + dw;
  ++stats_.refreshes;
  for (size_t j : {ip, im}) {
    double* gj = j == ip ? gp : gm;
    const double floor =
        devices_.GMin(j) + o_.refresh_floor * (devices_.GMax(j) - devices_.GMin(j));
    if (*gj > floor)
      *gj = devices_.Program(j, *gj, devices_.PulsesTo(j, *gj, floor, true), false, rng, &stats_);
  }
  if (w > 0) *gp = SetTo(ip, *gp, *gm + w, rng);
  if (w < 0) *gm = SetTo(im, *gm, *gp - w, rng);
}

void ConductanceUpdater::Apply(const Parameters& delta, Parameters* g, std::mt19937_64* rng) {
  size_t offset = 0;
  for (size_t l = 0; l < g->g_plus.size(); ++l) {
    Eigen::MatrixXd& gp = g->g_plus[l];
    Eigen::MatrixXd& gm = g->g_minus[l];
    const Eigen::MatrixXd& dp = delta.g_plus[l];
    const Eigen::MatrixXd& dm = delta.g_minus[l];
    const size_t n = static_cast<size_t>(gp.size());
    for (size_t k = 0; k < n; ++k) {
      const size_t ip = offset + k, im = offset + n + k;
      double* vp = gp.data() + k;
      double* vm = gm.data() + k;
      const long before = stats_.pulses;
      if (o_.rule == UpdateRule::kAdaptive) {
        const long refreshes = stats_.refreshes;
        AdaptivePair(ip, im, dp.data()[k] - dm.data()[k], vp, vm, rng);
        stats_.updated += stats_.pulses == before ? 0 : stats_.refreshes > refreshes ? 2 : 1;
      } else {
        *vp = ProgramDevice(ip, *vp, dp.data()[k], rng);
        const long mid = stats_.pulses;
        *vm = ProgramDevice(im, *vm, dm.data()[k], rng);
        stats_.updated += (mid > before) + (stats_.pulses > mid);
      }
    }
    offset += 2 * n;
  }
  stats_.device_steps += static_cast<long>(offset);
  devices_.Retain(g, &stats_);
}

}  // namespace memspice::training
