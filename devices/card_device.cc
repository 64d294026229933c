#include "devices/card_device.h"

#include <fmt/format.h>

#include <cmath>

namespace memspice::devices {

const netlist::Model* FindModelCard(const netlist::Element& element,
                                    const netlist::Netlist& netlist, const char* kind,
                                    const char* example, netlist::Diagnostics& diag) {
  auto it = netlist.models.find(element.model);
  if (element.model.empty() || it == netlist.models.end()) {
    diag.Error(element.loc, fmt::format("{} '{}' names no known model", kind, element.name),
               example);
    return nullptr;
  }
  return &it->second;
}

void CardReader::Read(const Canonical& canonical, const Other& other) {
  for (const auto& [key, value] : card_.params) {
    if (!std::isfinite(value)) Error(fmt::format("{} is not finite", key));
    const int k = Index(canonical(key));
    if (k >= 0) {
      *fields_[k] = value;
    } else {
      other(key, value);
    }
  }
}

void CardReader::RequirePositive(std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const double value = *fields_[Index(key)];
    if (!(value > 0.0)) Error(fmt::format("{} must be > 0, got {}", key, value));
  }
}

void CardReader::RequireNonNegative(std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const double value = *fields_[Index(key)];
    if (value < 0.0) Error(fmt::format("{} must be >= 0, got {}", key, value));
  }
}

void CardReader::Error(const std::string& what, const std::string& hint) {
  diag_.Error(card_.loc, fmt::format("{} model '{}': {}", kind_, card_.name, what), hint);
  ok_ = false;
}

int CardReader::Index(const std::string& name) const {
  for (size_t k = 0; k < names_.size(); ++k) {
    if (name == names_[k]) return static_cast<int>(k);
  }
  return -1;
}

std::optional<CardInstance> ReadCardInstance(const netlist::Element& element,
                                             const netlist::Model& card,
                                             const netlist::Netlist& netlist, const char* kind,
                                             netlist::Diagnostics& diag) {
  const std::optional<double> scale = AreaTimesMultiplier(element, kind, diag);
  if (!scale) return std::nullopt;
  CardInstance inst;
  inst.scale = *scale;
  inst.tnom = NominalKelvin(card, netlist);
  inst.off = ParamOr(element.params, "off", 0.0) != 0.0;
  inst.temp = InstanceTemp::From(element);
  inst.circuit_temp = netlist.temp;
  inst.ic = element.ic;
  return inst;
}

}  // namespace memspice::devices
