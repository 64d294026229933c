#include "devices/device_util.h"

#include <fmt/format.h>

#include <cmath>

namespace memspice::devices {

double ParamOr(const std::map<std::string, double>& params, const std::string& key,
               double fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
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

bool CheckFinite(const netlist::Element& element, const char* what, double value,
                 netlist::Diagnostics& diag) {
  if (std::isfinite(value)) return true;
  diag.Error(element.loc, fmt::format("{} of '{}' is not finite ({})", what, element.name, value));
  return false;
}

}  // namespace memspice::devices
