#include "solver/monte_carlo.h"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "base/option_names.h"
#include "base/strings.h"
#include "devices/registry.h"
#include "netlist/expression.h"

namespace memspice::solver {

namespace {

// SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijective mix of 64 bits.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// SplitMix64's increment (2^64 / golden ratio): consecutive inputs land far apart.
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
// Separates the spread stream from the deck's stream of the same run.
constexpr uint64_t kSpreadStream = 0x5350524541440000ULL;  // "SPREAD"

// How a spread names a device: the Y type ("mss") or the element letter ("r").
std::string DeviceName(const devices::DeviceDescriptor& d) {
  return d.letter == 'y' ? d.type : std::string(1, d.letter);
}

const devices::DeviceDescriptor* FindDevice(const std::string& name) {
  for (const devices::DeviceDescriptor& d : devices::Registry()) {
    if (DeviceName(d) == name) return &d;
  }
  return nullptr;
}

std::string DeviceNames() {
  std::string list;
  for (const devices::DeviceDescriptor& d : devices::Registry()) {
    list += (list.empty() ? "" : ", ") + DeviceName(d);
  }
  return list;
}

// The row of `param` that an instance may carry, or nullptr.
const devices::ParamInfo* InstanceRow(const devices::DeviceDescriptor& d,
                                      const std::string& param) {
  if (param == "value") return devices::ValueParam(d.params);
  return devices::FindParam(d.params, param, devices::ParamPlace::kInstance);
}

std::string InstanceNames(const devices::DeviceDescriptor& d) {
  const std::string keys = devices::ParamNames(d.params, devices::ParamPlace::kInstance);
  if (devices::ValueParam(d.params) == nullptr) return keys;
  return keys.empty() ? "value" : "value, " + keys;
}

// The nominal value of a spread parameter on element e: its own, its model's, the default.
double Nominal(const netlist::Element& e, const netlist::Netlist& nl, const devices::ParamInfo& row,
               const std::string& param) {
  if (param == "value") return e.value.value_or(devices::kNoDefault);
  if (auto it = e.params.find(param); it != e.params.end()) return it->second;
  if (auto m = nl.models.find(e.model); m != nl.models.end()) {
    if (auto it = m->second.params.find(param); it != m->second.params.end()) return it->second;
  }
  return row.default_value;
}

}  // namespace

uint64_t RunSeed(uint64_t seed, int run) {
  return Mix(Mix(seed) + kGolden * static_cast<uint64_t>(run));
}

Status ParseSpread(const std::string& text, Spread* out) {
  const std::string hint =
      "write DEVICE.PARAM=SIGMA, e.g. " + base::Opt("spread") + " mss.ron=5% or r.value=0.01";
  const size_t dot = text.find('.'), eq = text.find('=');
  if (dot == std::string::npos || eq == std::string::npos || dot > eq) {
    return Status::Error(
        fmt::format("{} '{}' is not DEVICE.PARAM=SIGMA", base::Opt("spread"), text), hint);
  }
  out->device = base::Lower(text.substr(0, dot));
  out->param = base::Lower(text.substr(dot + 1, eq - dot - 1));
  std::string sigma = text.substr(eq + 1);
  const bool percent = !sigma.empty() && sigma.back() == '%';
  if (percent) sigma.pop_back();
  const std::optional<double> v = netlist::ParseSpiceNumber(sigma);
  if (!v || !std::isfinite(*v) || *v < 0) {
    return Status::Error(fmt::format("{} '{}': '{}' is not a relative sigma >= 0",
                                     base::Opt("spread"), text, text.substr(eq + 1)),
                         hint);
  }
  out->sigma = percent ? *v / 100 : *v;
  const devices::DeviceDescriptor* d = FindDevice(out->device);
  if (d == nullptr) {
    return Status::Error(
        fmt::format("{} '{}': unknown device '{}'", base::Opt("spread"), text, out->device),
        "devices are " + DeviceNames());
  }
  if (InstanceRow(*d, out->param) == nullptr) {
    const bool model_only =
        devices::FindParam(d->params, out->param, devices::ParamPlace::kModelCard) != nullptr;
    return Status::Error(
        fmt::format("{} '{}': {} has no {} '{}'", base::Opt("spread"), text, out->device,
                    model_only ? "per-instance parameter" : "parameter", out->param),
        model_only ? "a .model-only parameter is shared by the model's instances; draw it on the "
                     "card instead, e.g. " +
                         out->param + "={agauss(NOM, DEV, 1)}"
                   : "parameters an instance may carry: " + InstanceNames(*d));
  }
  return Status::Ok();
}

Status ApplySpreads(const std::vector<Spread>& spreads, uint64_t seed, bool nominal_run,
                    netlist::Netlist* nl) {
  std::mt19937_64 rng(Mix(seed ^ kSpreadStream));
  std::normal_distribution<double> normal(0.0, 1.0);
  for (const Spread& s : spreads) {
    const devices::DeviceDescriptor* d = FindDevice(s.device);
    const devices::ParamInfo* row = d == nullptr ? nullptr : InstanceRow(*d, s.param);
    if (row == nullptr)
      return Status::Error(fmt::format("unknown spread {}.{}", s.device, s.param));
    for (netlist::Element& e : nl->elements) {
      if (devices::FindDescriptor(e) != d) continue;
      const double nom = Nominal(e, *nl, *row, s.param);
      if (!std::isfinite(nom)) {
        return Status::Error(fmt::format("{} {}.{}: '{}' has no {} to spread", base::Opt("spread"),
                                         s.device, s.param, e.name, s.param),
                             "give it a value on the instance line or its .model card");
      }
      const double drawn = nominal_run ? nom : nom * (1 + s.sigma * normal(rng));
      if (s.param == "value") {
        e.value = drawn;
      } else {
        e.params[s.param] = drawn;
      }
    }
  }
  return Status::Ok();
}

std::map<std::string, double> DrawableValues(const netlist::Netlist& nl) {
  std::map<std::string, double> out(nl.params.begin(), nl.params.end());
  for (const netlist::Element& e : nl.elements) {
    if (e.value) out.emplace(e.name + ":value", *e.value);
    for (const auto& [k, v] : e.params) out.emplace(e.name + ":" + k, v);
  }
  for (const auto& [name, m] : nl.models) {
    for (const auto& [k, v] : m.params) out.emplace(name + ":" + k, v);
  }
  return out;
}

}  // namespace memspice::solver
