#include "devices/device_util.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/junction.h"

namespace memspice::devices {

double ParamOr(const std::map<std::string, double>& params, const std::string& key,
               double fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

InstanceTemp InstanceTemp::From(const netlist::Element& element) {
  InstanceTemp t;
  if (auto it = element.params.find("temp"); it != element.params.end()) t.temp = it->second;
  t.dtemp = ParamOr(element.params, "dtemp", 0.0);
  return t;
}

double InstanceTemp::Kelvin(double circuit_celsius) const {
  return devices::Kelvin(temp ? *temp : circuit_celsius + dtemp);
}

void SetTerminalVoltages(int ref, std::initializer_list<int> terminals,
                         const std::vector<double>& ic,
                         std::initializer_list<InternalNode> internal, double* x) {
  if (ic.empty()) return;
  auto value = [&](size_t k) { return k < ic.size() ? ic[k] : 0.0; };
  size_t k = 0;
  for (auto it = terminals.begin(); ref != kGround && it != terminals.end(); ++it, ++k) {
    if (*it != kGround) continue;
    x[ref] = -value(k);
    break;
  }
  const double base = ref == kGround ? 0.0 : x[ref];
  k = 0;
  for (int node : terminals) {
    if (node != kGround && node != ref) x[node] = base + value(k);
    ++k;
  }
  for (const InternalNode& n : internal)
    if (n.node != n.terminal) x[n.node] = x[n.terminal];
}

double NominalKelvin(const netlist::Model& card, const netlist::Netlist& netlist) {
  constexpr double kDefaultNominal = 27.0;  // Celsius, SPICE's TNOM default
  const double circuit = ParamOr(netlist.options, "tnom", kDefaultNominal);
  return Kelvin(ParamOr(card.params, "tnom", circuit));
}

bool CheckParamNames(const netlist::Element& element, const std::map<std::string, double>& params,
                     std::initializer_list<const char*> allowed, netlist::Diagnostics& diag) {
  bool ok = true;
  for (const auto& [key, value] : params) {
    bool known = false;
    std::string list;
    for (const char* a : allowed) {
      if (key == a) known = true;
      if (!list.empty()) list += ", ";
      list += a;
    }
    if (!known) {
      diag.Error(element.loc, fmt::format("unknown parameter '{}' for '{}'", key, element.name),
                 list.empty() ? std::string("this element takes no parameters")
                              : fmt::format("known parameters: {}", list));
      ok = false;
    }
  }
  return ok;
}

bool CheckNodeCount(const netlist::Element& element, size_t count, netlist::Diagnostics& diag) {
  if (element.nodes.size() == count) return true;
  diag.Error(element.loc,
             fmt::format("'{}' needs {} nodes, got {}", element.name, count, element.nodes.size()));
  return false;
}

std::optional<double> AreaTimesMultiplier(const netlist::Element& element, const char* kind,
                                          netlist::Diagnostics& diag) {
  const double area = ParamOr(element.params, "area", 1.0);
  const double mult = ParamOr(element.params, "m", 1.0);
  if (!(area > 0.0 && std::isfinite(area)) || !(mult > 0.0 && std::isfinite(mult))) {
    diag.Error(element.loc, fmt::format("{} '{}': area and m must be > 0, got {} and {}", kind,
                                        element.name, area, mult));
    return std::nullopt;
  }
  return area * mult;
}

bool CheckFinite(const netlist::Element& element, const char* what, double value,
                 netlist::Diagnostics& diag) {
  if (std::isfinite(value)) return true;
  diag.Error(element.loc, fmt::format("{} of '{}' is not finite ({})", what, element.name, value));
  return false;
}

}  // namespace memspice::devices
