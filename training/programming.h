// Programming model of the synapse devices: how a train of SET or RESET voltage pulses changes a
// memristor's conductance, with the stochastic terms of real devices.
//
// A pulse of amplitude V and width w holds u = V across the device; the MSS state equation
// (devices/mss_model.h, the one source of truth) is then linear in x,
//   dx/dt = (P_on(V) - x (P_on(V) + P_off(V))) / tau,
// and is integrated exactly: x <- x_eq + (x - x_eq) a with x_eq = P_on / (P_on + P_off) and
// a = exp(-w (P_on + P_off) / tau). Pulses therefore move G towards 1/R_on (SET, V > V_on) or
// 1/R_off (RESET, V < V_off) by a step proportional to the distance left: nonlinear in G and
// asymmetric between SET and RESET. Retention drift between updates is the same equation at u = 0.
//
// Stochastic terms (all seeded): cycle-to-cycle write noise (normal, SD in siemens, once per
// programming train), device-to-device spread (log-normal factors on R_on, R_off, V_on, V_off,
// tau, drawn once from device_seed), stuck-at-ON / stuck-at-OFF devices (never change) and read
// noise (normal, SD in siemens, on every verify read).
#ifndef MEMSPICE_TRAINING_PROGRAMMING_H_
#define MEMSPICE_TRAINING_PROGRAMMING_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "devices/mss_model.h"
#include "devices/mss_params.h"
#include "training/network.h"

namespace memspice::training {

namespace mss = devices::mss;

// The synapse the training programs when no device card gives one: R_on / R_off from the
// network's [g_min, g_max] (ron = roff = 0, see NominalSynapse); thresholds that make the device
// non-volatile at u = 0 (P_on(0), P_off(0) < 1e-7) with V_on != -V_off, so that SET and RESET
// are asymmetric (memspice convention: P_off = sigma((V_off - u)/(k V_T))); the other
// parameters are the MSS defaults.
constexpr mss::MssParams DefaultSynapse() {
  mss::MssParams p;
  p.ron = 0;
  p.roff = 0;
  p.von = 0.30;
  p.voff = -0.25;
  return p;
}

// The device description of a run: the synapse's MSS parameters and its programming and noise
// parameters (devices/mss_params.h: one table for the .model card, the flags and the run record).
struct ProgrammingOptions : devices::MssProgramming {
  mss::MssParams synapse = DefaultSynapse();
  uint64_t device_seed = 1;  // seeds spread and stuck devices (fixed for a run)

  // Empty if usable, else the first bad option, its value and the rule.
  std::string Validate() const;
};

// Reads the device description from the single `.model NAME mss (...)` card of `path` (the same
// card `memspice sim` takes in a deck): its circuit parameters become the synapse, its
// programming keys the programming options; keys the card does not give keep their defaults
// (the MSS table's, as in `sim`). Throws TrainingError with file:line:col diagnostics.
ProgrammingOptions ReadDeviceCard(const std::string& path, std::string* model_name = nullptr);

// The nominal synapse device: o.synapse, with R_on = 1/g_max and R_off = 1/g_min where it gives
// none (<= 0).
mss::MssParams NominalSynapse(const ProgrammingOptions& o, double g_min, double g_max);

struct PulseTrainResult {
  double x = 0;       // state after the train
  double energy = 0;  // sum over pulses of V^2 G t [J], G at each pulse's start
};

// Exact integration of the MSS state equation over `count` pulses of `amplitude` and `width`.
PulseTrainResult ApplyPulseTrain(const mss::MssParams& p, double x0, double amplitude, double width,
                                 int count);

// Pulses of `amplitude` that bring x0 nearest to x_target (0 if the target lies the other way;
// max_pulses if it is out of reach).
int PulsesForTarget(const mss::MssParams& p, double x0, double x_target, double amplitude,
                    double width, int max_pulses);

// State of a device of parameters p at conductance g (clamped to [0, 1]).
double StateOf(const mss::MssParams& p, double g);

// Programming counters, summed until Reset.
struct ProgrammingStats {
  long device_steps = 0;  // devices x update steps
  long updated = 0;       // device-steps that received at least one pulse
  long pulses = 0;
  double energy = 0;   // [J]
  double drift = 0;    // sum of |dG| from retention [S]
  long refreshes = 0;  // differential pairs reset and re-programmed (adaptive rule)
  double r_up() const { return device_steps ? double(updated) / device_steps : 0; }
  double n_up() const { return device_steps ? double(pulses) / device_steps : 0; }
};

enum class Stuck : uint8_t { kNo, kOn, kOff };

// Programming targets stay this fraction of a device's window inside its ends.
inline constexpr double kTargetMargin = 0.01;

// The devices of all crossbars (G+ and G- of every layer, in Parameters order), each with its own
// drawn parameters and stuck flag.
class DeviceArray {
 public:
  // Throws TrainingError if the options are bad.
  DeviceArray(const ProgrammingOptions& o, double g_min, double g_max, const Parameters& shape);

  size_t size() const { return devices_.size(); }
  const mss::MssParams& device(size_t i) const { return devices_[i]; }
  Stuck stuck(size_t i) const { return stuck_[i]; }
  const ProgrammingOptions& options() const { return o_; }
  const mss::MssParams& nominal() const { return nominal_; }
  // Programmable window of device i: its own range intersected with the network's [g_min,
  // g_max] (the periphery never programs outside the weight range; checkpoints check it).
  double GMin(size_t i) const { return std::max(g_min_, 1.0 / devices_[i].roff); }
  double GMax(size_t i) const { return std::min(g_max_, 1.0 / devices_[i].ron); }

  // Sets stuck devices to their stuck conductance and clamps the others into their own range.
  void Condition(Parameters* g) const;

  // Applies `count` SET (set = true) or RESET pulses to device i at conductance g through its own
  // parameters, adds write noise (when count > 0) and returns the new conductance. Stuck devices
  // return g unchanged (pulses are still counted: the controller cannot tell).
  double Program(size_t i, double g, int count, bool set, std::mt19937_64* rng,
                 ProgrammingStats* stats) const;

  // Pulses to move device i from g towards target (clamped to its window less kTargetMargin; 0 if
  // g is already past that in the target's direction), predicted with the nominal device (what
  // the controller knows) or with the device's own parameters (a characterised array).
  int PulsesTo(size_t i, double g, double target, bool own_params) const;

  // A read of conductance g with read noise.
  double Read(double g, std::mt19937_64* rng) const;

  // Retention drift over retention_time at u = 0 for every device.
  void Retain(Parameters* g, ProgrammingStats* stats) const;

 private:
  ProgrammingOptions o_;
  double g_min_, g_max_;
  mss::MssParams nominal_;
  std::vector<mss::MssParams> devices_;
  std::vector<Stuck> stuck_;
};

// Trained conductances g as a fresh array of devices would hold them (`memspice eval
// --noise-seed`): each device's state is the one that gives g on the nominal device, its
// conductance that state on the device's own drawn parameters (spread), plus one write-noise
// draw (the transfer onto the array), stuck devices at their stuck value, then one read-noise
// draw (the conductance inference sees); results stay in each device's window. Spread and stuck
// devices are drawn from `seed` (in place of o.device_seed), the noise from a generator seeded
// from it: the same seed gives the same array.
Parameters WithDeviceNoise(const Parameters& g, const ProgrammingOptions& o, double g_min,
                           double g_max, uint64_t seed);

// Calls fn(matrix) for every conductance matrix in device order (layer by layer, G+ then G-).
template <typename P, typename Fn>
void ForEachCrossbar(P* p, Fn&& fn) {
  for (size_t l = 0; l < p->g_plus.size(); ++l) {
    fn(p->g_plus[l]);
    fn(p->g_minus[l]);
  }
}

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_PROGRAMMING_H_
