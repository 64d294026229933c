#include "training/programming.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "netlist/diagnostics.h"
#include "netlist/netlist.h"
#include "training/dataset.h"

namespace memspice::training {

namespace {

// Largest pulse count per train (a count that fits an int).
constexpr double kMaxPulsesCap = 1e9;

// One option against its rule: empty if it holds.
std::string Bad(const char* name, double v, const char* rule) {
  return fmt::format("device option '{}' = {} must be {}", name, v, rule);
}

// Decay rate r = (P_on + P_off) / tau [1/s] and equilibrium x_eq at constant voltage u.
struct Relaxation {
  double rate, x_eq;
};
Relaxation RelaxationAt(const mss::MssParams& p, double u) {
  const double on = mss::ProbabilityOn(p, u);
  const double off = mss::ProbabilityOff(p, u);
  return {(on + off) / p.tau, mss::EquilibriumState(p, u)};
}

}  // namespace

std::string ProgrammingOptions::Validate() const {
  auto finite = [](double v) { return std::isfinite(v); };
  const double tau = synapse.tau, von = synapse.von, voff = synapse.voff;
  if (!finite(tau) || tau <= 0) return Bad("tau", tau, "> 0");
  if (!finite(von) || !finite(voff)) return Bad("von", von, "finite (and voff too)");
  if (!finite(set_amplitude) || set_amplitude <= von)
    return Bad("set_amplitude", set_amplitude, fmt::format("> von = {}", von).c_str());
  if (!finite(reset_amplitude) || reset_amplitude >= voff)
    return Bad("reset_amplitude", reset_amplitude, fmt::format("< voff = {}", voff).c_str());
  if (!finite(pulse_width) || pulse_width <= 0) return Bad("pulse_width", pulse_width, "> 0");
  if (!(max_pulses >= 1) || max_pulses != std::floor(max_pulses) || max_pulses > kMaxPulsesCap)
    return Bad("max_pulses", max_pulses,
               fmt::format("a whole number in [1, {}]", kMaxPulsesCap).c_str());
  if (!finite(write_sd) || write_sd < 0) return Bad("write_sd", write_sd, ">= 0 [S]");
  if (!finite(read_sd) || read_sd < 0) return Bad("read_sd", read_sd, ">= 0 [S]");
  if (!finite(spread) || spread < 0 || spread > 1) return Bad("spread", spread, "in [0, 1]");
  if (!finite(stuck_on) || stuck_on < 0 || stuck_on > 1)
    return Bad("stuck_on", stuck_on, "in [0, 1]");
  if (!finite(stuck_off) || stuck_off < 0 || stuck_off + stuck_on > 1)
    return Bad("stuck_off", stuck_off, "in [0, 1 - stuck_on]");
  if (!finite(retention_time) || retention_time < 0)
    return Bad("retention_time", retention_time, ">= 0 [s]");
  return {};
}

ProgrammingOptions ReadDeviceCard(const std::string& path, std::string* model_name) {
  netlist::Diagnostics diag;
  // Included, so that the card may stand on the file's first line (a deck's would be its title)
  // and locations name the file's own lines.
  const std::optional<netlist::Netlist> nl = netlist::ParseString(
      fmt::format("device description\n.include \"{}\"\n.end\n", path), "(device)", {}, diag);
  const bool parsed = nl.has_value();
  std::vector<const netlist::Model*> cards;
  if (parsed)
    for (const auto& [name, model] : nl->models)
      if (model.type == "mss") cards.push_back(&model);
  ProgrammingOptions o;
  if (parsed && cards.size() != 1) {
    std::string names;
    for (const netlist::Model* m : cards) names += (names.empty() ? "" : ", ") + m->name;
    throw TrainingError(fmt::format(
        "{}: error: a device file needs exactly one `.model NAME mss (...)` card, found {}{}", path,
        cards.size(), names.empty() ? "" : " (" + names + ")"));
  }
  if (parsed) {
    const netlist::Model& card = *cards.front();
    if (model_name != nullptr) *model_name = card.name;
    o.synapse = mss::MssParams();  // a card's absent keys: the MSS defaults, as in `sim`
    double x0 = 0;
    devices::ResolveMssModel(card, card.loc, "the device description", diag, &o.synapse, &x0, &o);
    if (const std::string e = mss::ValidateMssParams(o.synapse); !e.empty())
      diag.Error(card.loc, "model '" + card.name + "': " + e, "fix the card's circuit parameters");
    if (const std::string e = o.Validate(); !e.empty() && diag.num_errors() == 0)
      diag.Error(card.loc, "model '" + card.name + "': " + e, "fix the card's programming keys");
  }
  if (diag.num_errors() > 0) throw TrainingError(diag.Format());
  return o;
}

mss::MssParams NominalSynapse(const ProgrammingOptions& o, double g_min, double g_max) {
  mss::MssParams p = o.synapse;
  if (p.ron <= 0) p.ron = 1.0 / g_max;
  if (p.roff <= 0) p.roff = 1.0 / g_min;
  return p;
}

PulseTrainResult ApplyPulseTrain(const mss::MssParams& p, double x0, double amplitude, double width,
                                 int count) {
  if (count <= 0) return {x0, 0.0};
  const Relaxation r = RelaxationAt(p, amplitude);
  const double decay = r.rate * width;         // per pulse
  const double an = std::exp(-decay * count);  // a^n
  PulseTrainResult out;
  out.x = r.x_eq + (x0 - r.x_eq) * an;
  // sum_{k<n} x_k = n x_eq + (x0 - x_eq)(1 - a^n)/(1 - a) (n x0 when a = 1).
  const double one_minus_a = -std::expm1(-decay);
  const double sum_x =
      one_minus_a > 0 ? count * r.x_eq + (x0 - r.x_eq) * (-std::expm1(-decay * count)) / one_minus_a
                      : count * x0;
  const double sum_g = count / p.roff + sum_x * mss::ConductanceSlope(p);
  out.energy = amplitude * amplitude * width * sum_g;
  return out;
}

int PulsesForTarget(const mss::MssParams& p, double x0, double x_target, double amplitude,
                    double width, int max_pulses) {
  const Relaxation r = RelaxationAt(p, amplitude);
  const double d0 = x0 - r.x_eq, dt = x_target - r.x_eq;
  if (d0 == 0 || dt / d0 >= 1) return 0;  // already there, or the target lies the other way
  if (dt / d0 <= 0) return max_pulses;    // beyond the equilibrium: as far as allowed
  const double n = std::log(dt / d0) / (-r.rate * width);
  return static_cast<int>(std::min<double>(max_pulses, std::round(n)));
}

double StateOf(const mss::MssParams& p, double g) {
  return std::clamp((g - 1.0 / p.roff) / mss::ConductanceSlope(p), 0.0, 1.0);
}

DeviceArray::DeviceArray(const ProgrammingOptions& o, double g_min, double g_max,
                         const Parameters& shape)
    : o_(o), g_min_(g_min), g_max_(g_max), nominal_(NominalSynapse(o, g_min, g_max)) {
  if (const std::string e = o.Validate(); !e.empty()) throw TrainingError(e);
  if (const std::string e = mss::ValidateMssParams(nominal_); !e.empty())
    throw TrainingError("synapse device: " + e);
  std::mt19937_64 rng(o.device_seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  ForEachCrossbar(&shape, [&](const Eigen::MatrixXd& m) {
    for (Eigen::Index k = 0; k < m.size(); ++k) {
      mss::MssParams d = nominal_;
      for (double* v : {&d.ron, &d.roff, &d.von, &d.voff, &d.tau})
        *v *= std::exp(o.spread * normal(rng));
      const double u = uniform(rng);
      devices_.push_back(d);
      stuck_.push_back(u < o.stuck_on                 ? Stuck::kOn
                       : u < o.stuck_on + o.stuck_off ? Stuck::kOff
                                                      : Stuck::kNo);
    }
  });
}

void DeviceArray::Condition(Parameters* g) const {
  size_t i = 0;
  ForEachCrossbar(g, [&](Eigen::MatrixXd& m) {
    for (Eigen::Index k = 0; k < m.size(); ++k, ++i) {
      double& v = m.data()[k];
      v = stuck_[i] == Stuck::kOn    ? GMax(i)
          : stuck_[i] == Stuck::kOff ? GMin(i)
                                     : std::clamp(v, GMin(i), GMax(i));
    }
  });
}

double DeviceArray::Program(size_t i, double g, int count, bool set, std::mt19937_64* rng,
                            ProgrammingStats* stats) const {
  if (count <= 0) return g;
  const mss::MssParams& d = devices_[i];
  const double v = set ? o_.set_amplitude : o_.reset_amplitude;
  const PulseTrainResult r = ApplyPulseTrain(d, StateOf(d, g), v, o_.pulse_width, count);
  stats->pulses += count;
  stats->energy += r.energy;
  if (stuck_[i] != Stuck::kNo) return g;
  double out = mss::Conductance(d, r.x);
  if (o_.write_sd > 0) out += o_.write_sd * std::normal_distribution<double>()(*rng);
  return std::clamp(out, GMin(i), GMax(i));
}

int DeviceArray::PulsesTo(size_t i, double g, double target, bool own_params) const {
  // Targets are kept inside the window less a margin: the last states before the equilibrium of a
  // pulse polarity take ever more pulses (x_eq < 1), so aiming past them would spend max_pulses.
  const double margin = kTargetMargin * (GMax(i) - GMin(i));
  const double aim = std::clamp(target, GMin(i) + margin, GMax(i) - margin);
  if ((aim - g) * (target - g) <= 0) return 0;  // already at the limit in that direction
  const mss::MssParams& d = own_params ? devices_[i] : nominal_;
  return PulsesForTarget(d, StateOf(d, g), StateOf(d, aim),
                         aim > g ? o_.set_amplitude : o_.reset_amplitude, o_.pulse_width,
                         static_cast<int>(o_.max_pulses));
}

double DeviceArray::Read(double g, std::mt19937_64* rng) const {
  if (o_.read_sd <= 0) return g;
  return g + o_.read_sd * std::normal_distribution<double>()(*rng);
}

void DeviceArray::Retain(Parameters* g, ProgrammingStats* stats) const {
  if (o_.retention_time <= 0) return;
  size_t i = 0;
  ForEachCrossbar(g, [&](Eigen::MatrixXd& m) {
    for (Eigen::Index k = 0; k < m.size(); ++k, ++i) {
      if (stuck_[i] != Stuck::kNo) continue;
      double& v = m.data()[k];
      const mss::MssParams& d = devices_[i];
      const double x = ApplyPulseTrain(d, StateOf(d, v), 0.0, o_.retention_time, 1).x;
      const double after = std::clamp(mss::Conductance(d, x), GMin(i), GMax(i));
      stats->drift += std::abs(after - v);
      v = after;
    }
  });
}

Parameters WithDeviceNoise(const Parameters& g, const ProgrammingOptions& o, double g_min,
                           double g_max, uint64_t seed) {
  ProgrammingOptions fresh = o;
  fresh.device_seed = seed;
  const DeviceArray devices(fresh, g_min, g_max, g);
  // A stream apart from the array's draws (which use `seed` itself).
  std::seed_seq noise_seed{seed, uint64_t{0x6e6f697365}};
  std::mt19937_64 rng(noise_seed);
  std::normal_distribution<double> normal;
  Parameters out = g;
  size_t i = 0;
  ForEachCrossbar(&out, [&](Eigen::MatrixXd& m) {
    for (Eigen::Index k = 0; k < m.size(); ++k, ++i) {
      double& v = m.data()[k];
      const double x = StateOf(devices.nominal(), v);
      v = mss::Conductance(devices.device(i), x) + o.write_sd * normal(rng);
      v = std::clamp(v, devices.GMin(i), devices.GMax(i));
      if (devices.stuck(i) == Stuck::kOn) v = devices.GMax(i);
      if (devices.stuck(i) == Stuck::kOff) v = devices.GMin(i);
      v = std::clamp(devices.Read(v, &rng), devices.GMin(i), devices.GMax(i));
    }
  });
  return out;
}

}  // namespace memspice::training
