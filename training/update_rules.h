// Device-aware conductance update rules: how the optimiser's desired conductance change becomes
// programming pulses on the devices (training/programming.h). See docs/device_updates.md.
//
//   ideal         G <- clip(G + dG): the optimiser's step exactly (no programming model)
//   pulse         dG -> pulse count through the nominal device's response, then programmed
//   sign          one pulse in the direction of dG (Manhattan rule) wherever dG != 0
//   two-pulse     program as `pulse`, read, one correcting train (write-verify of two writes)
//   write-verify  program-read-repeat until |G_read - target| <= tolerance (or the iteration cap)
//   eapu          |dG| < th becomes sign(dG) th with probability |dG| / th (else no update),
//                 larger steps pass; th = write SD (dW_th = SD_write x R_wg in weight units,
//                 with R_wg = dW/dG); with the Adam optimiser this is AdamEaPU
//   adaptive      differential pairs programmed by SET pulses only (dw > 0: G+, dw < 0: G-), the
//                 pulse count from the device's own characterised response (compensates the
//                 nonlinear, asymmetric response and device-to-device spread); when the device to
//                 SET would pass refresh_level of its range the pair is refreshed: both RESET to
//                 the bottom of their range and the weight re-programmed onto one of them
#ifndef MEMSPICE_TRAINING_UPDATE_RULES_H_
#define MEMSPICE_TRAINING_UPDATE_RULES_H_

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "training/network.h"
#include "training/programming.h"

namespace memspice::training {

enum class UpdateRule { kIdeal, kPulse, kSign, kTwoPulse, kWriteVerify, kEapu, kAdaptive };
inline constexpr const char* kUpdateRuleNames =
    "ideal, pulse, sign, two-pulse, write-verify, eapu, adaptive";
UpdateRule ParseUpdateRule(const std::string& name);  // throws TrainingError listing the rules
std::string UpdateRuleName(UpdateRule r);

struct UpdateOptions {
  UpdateRule rule = UpdateRule::kIdeal;
  double eapu_threshold = -1;      // [S]; < 0: the write-noise SD (the EaPU paper's default)
  double verify_tolerance = 1e-6;  // write-verify target band [S]
  int verify_iterations = 20;      // write-verify cap on program-read rounds
  double refresh_level = 0.95;     // adaptive: refresh when a device passes this state
  double refresh_floor = 0.01;     // adaptive: refresh RESETs devices to this state
  ProgrammingOptions device;
};

// Empty if usable with devices of range [g_min, g_max], else the first bad option and its rule.
std::string ValidateUpdateOptions(const UpdateOptions& o, double g_min, double g_max);

// The device settings of a run or an evaluation, one source for the CLI flags and the Python
// keywords: `device_file`'s `.model NAME mss` card (if not empty) replaces u's device description
// (its device_seed kept), then each entry of `values` sets one field, by the name
// DeviceSettingKeys() lists: the programming keys of the card (devices/mss_params.h: write_sd,
// read_sd, spread, ...), eapu_threshold, verify_tolerance and device_seed. Throws TrainingError
// naming an unknown key.
void ApplyDeviceSettings(const std::string& device_file,
                         const std::map<std::string, double>& values, UpdateOptions* u);
std::vector<std::string> DeviceSettingKeys();

// The rule and device description as JSON (run record, checkpoint configuration) and back;
// FromJson throws TrainingError naming `where` and a mistyped field; absent fields keep defaults.
nlohmann::json UpdateOptionsToJson(const UpdateOptions& o);
UpdateOptions UpdateOptionsFromJson(const nlohmann::json& j, const std::string& where);

// EaPU rounding of one step dw with threshold th > 0, given a uniform draw u in [0, 1).
double EapuRound(double dw, double th, double u);

class ConductanceUpdater {
 public:
  // Throws TrainingError on bad options (e.g. a threshold larger than the device range).
  ConductanceUpdater(const UpdateOptions& o, double g_min, double g_max, const Parameters& shape);

  // Sets stuck devices to their stuck conductance (once, on the initial conductances).
  void Condition(Parameters* g) const { devices_.Condition(g); }

  // Applies the optimiser's desired change `delta` [S] to g by the rule, then retention drift.
  void Apply(const Parameters& delta, Parameters* g, std::mt19937_64* rng);

  const ProgrammingStats& stats() const { return stats_; }
  void ResetStats() { stats_ = {}; }
  void SetStats(const ProgrammingStats& s) { stats_ = s; }
  const DeviceArray& devices() const { return devices_; }
  double eapu_threshold() const { return threshold_; }

 private:
  double ProgramDevice(size_t i, double g, double dg, std::mt19937_64* rng);
  double WriteVerify(size_t i, double g, double target, int rounds, std::mt19937_64* rng);
  void AdaptivePair(size_t ip, size_t im, double dw, double* gp, double* gm, std::mt19937_64* rng);
  double SetTo(size_t i, double g, double target, std::mt19937_64* rng);

  UpdateOptions o_;
  DeviceArray devices_;
  double threshold_;
  ProgrammingStats stats_;
};

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_UPDATE_RULES_H_
