#include "devices/gain_source.h"

#include <fmt/format.h>

#include "devices/bsource.h"
#include "devices/device_util.h"

namespace memspice::devices {
namespace {

// The deck's value, else gain=; an error naming `quantity` when neither is given.
std::optional<double> GainValue(const netlist::Element& element, const char* quantity,
                                const char* example, netlist::Diagnostics& diag) {
  std::optional<double> value = element.value;
  if (!value && element.params.count("gain")) value = element.params.at("gain");
  if (!value) {
    diag.Error(element.loc, fmt::format("'{}' has no {}", element.name, quantity),
               fmt::format("write e.g. {}", example));
  }
  return value;
}

}  // namespace

std::unique_ptr<Device> CreateBehavioralForm(const netlist::Element& element,
                                             const netlist::Netlist& netlist, bool current_output,
                                             netlist::Diagnostics& diag) {
  if (!CheckNodeCount(element, 2, diag)) return nullptr;
  if (!CheckParamNames(element, element.params, {}, diag)) return nullptr;
  auto device = std::make_unique<BehavioralSource>(element, element.expr, current_output);
  device->SetAnalysis(AnalysisInfo{0.0, 0.0, netlist.temp});
  return device;
}

std::optional<double> VoltageControlledValue(const netlist::Element& element,
                                             std::span<const ParamInfo> params,
                                             const char* quantity, const char* example,
                                             netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 4, diag);
  ok = CheckInstanceParams(element, params, diag) && ok;
  if (!ok) return std::nullopt;
  return GainValue(element, quantity, example, diag);
}

std::optional<double> CurrentControlledValue(const netlist::Element& element,
                                             std::span<const ParamInfo> params,
                                             const char* quantity, const char* example,
                                             netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 2, diag);
  ok = CheckInstanceParams(element, params, diag) && ok;
  if (element.control.empty()) {
    diag.Error(element.loc, fmt::format("'{}' names no controlling voltage source", element.name),
               fmt::format("write e.g. {}", example));
    ok = false;
  }
  if (!ok) return std::nullopt;
  return GainValue(element, quantity, example, diag);
}

}  // namespace memspice::devices
