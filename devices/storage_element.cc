#include "devices/storage_element.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"

namespace memspice::devices {

StorageElement::StorageElement(const netlist::Element& element, const char* value_key,
                               const StorageCard& card)
    : Device(element.name, element.loc),
      value_(card.value),
      value_scale_(card.value_scale),
      ic_(card.ic),
      value_key_(value_key),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]) {}

int StorageElement::ParamHandle(const std::string& key, bool model_card) const {
  if (model_card) return kNoParamPartial;
  if (key == "value" || key == value_key_) return 0;
  if (key == "ic" && ic_) return 1;
  return kNoParamPartial;
}

std::optional<double> DeckStorageValue(const netlist::Element& element, const char* value_key) {
  std::optional<double> value = element.value;
  if (!value && element.params.count(value_key)) value = element.params.at(value_key);
  if (!value && element.expr && element.expr->IsConstant()) {
    value = element.expr->EvaluateConstant();
  }
  return value;
}

std::optional<StorageCard> ReadStorageCard(const netlist::Element& element,
                                           std::span<const ParamInfo> params,
                                           const StorageKind& kind, netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, params, diag) && ok;
  if (!ok) return std::nullopt;
  StorageCard card;
  const std::optional<double> value = DeckStorageValue(element, kind.value_key);
  if (!value) {
    diag.Error(element.loc,
               element.expr ? fmt::format("{} '{}' has a non-constant value; only constant {}s "
                                          "are supported",
                                          kind.noun, element.name, kind.quantity)
                            : fmt::format("{} '{}' has no value", kind.noun, element.name),
               element.expr ? kind.nonconstant_fix : fmt::format("write e.g. {}", kind.example));
    return std::nullopt;
  }
  const double m = ParamOr(element.params, "m", 1.0);
  if (!(m > 0.0) || !std::isfinite(m)) {
    diag.Error(element.loc,
               fmt::format("multiplier m of '{}' must be > 0, got {}", element.name, m));
    return std::nullopt;
  }
  card.value = kind.divides_by_m ? *value / m : *value * m;
  card.value_scale = kind.divides_by_m ? 1.0 / m : m;
  if (!CheckFinite(element, kind.quantity, card.value, diag)) return std::nullopt;
  if (auto it = element.params.find("ic"); it != element.params.end()) {
    if (!CheckFinite(element, "ic", it->second, diag)) return std::nullopt;
    card.ic = it->second;
  }
  return card;
}

}  // namespace memspice::devices
