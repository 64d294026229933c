#include "devices/descriptor.h"

#include <fmt/format.h>

namespace memspice::devices {

namespace {

bool WritableAt(const ParamInfo& p, ParamPlace place) {
  switch (place) {
    case ParamPlace::kValue:
      return p.scope == ParamScope::kValue;
    case ParamPlace::kInstance:
      return p.scope == ParamScope::kInstance || p.scope == ParamScope::kBoth;
    case ParamPlace::kModelCard:
      return p.scope == ParamScope::kModel || p.scope == ParamScope::kBoth;
  }
  return false;
}

}  // namespace

const ParamInfo* FindParam(std::span<const ParamInfo> params, const std::string& key,
                           ParamPlace place) {
  for (const ParamInfo& p : params) {
    if (key == p.name && WritableAt(p, place)) return &p;
  }
  return nullptr;
}

const ParamInfo* ValueParam(std::span<const ParamInfo> params) {
  for (const ParamInfo& p : params) {
    if (p.scope == ParamScope::kValue) return &p;
  }
  return nullptr;
}

std::string ParamNames(std::span<const ParamInfo> params, ParamPlace place) {
  std::string list;
  for (const ParamInfo& p : params) {
    if (!WritableAt(p, place)) continue;
    if (!list.empty()) list += ", ";
    list += p.name;
  }
  return list;
}

bool CheckInstanceParams(const netlist::Element& element, std::span<const ParamInfo> params,
                         netlist::Diagnostics& diag) {
  bool ok = true;
  for (const auto& [key, value] : element.params) {
    if (FindParam(params, key, ParamPlace::kInstance) != nullptr) continue;
    const std::string list = ParamNames(params, ParamPlace::kInstance);
    diag.Error(element.loc, fmt::format("unknown parameter '{}' for '{}'", key, element.name),
               list.empty() ? std::string("this element takes no parameters")
                            : fmt::format("known parameters: {}", list));
    ok = false;
  }
  return ok;
}

void ConductingTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  out->any.emplace_back(n[0], n[1]);
  out->dc.emplace_back(n[0], n[1]);
}

void CapacitiveTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  out->any.emplace_back(n[0], n[1]);
}

void VoltageDefinedTopology(const netlist::Element& e, const std::vector<int>& n, Coupling* out) {
  ConductingTopology(e, n, out);
  out->voltage_defined = true;
}

void OpenTopology(const netlist::Element&, const std::vector<int>&, Coupling*) {}

void StarTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  for (size_t k = 1; k < n.size(); ++k) {
    out->any.emplace_back(n[0], n[k]);
    out->dc.emplace_back(n[0], n[k]);
  }
}

}  // namespace memspice::devices
