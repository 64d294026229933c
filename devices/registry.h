// The explicit device registry: one row per device kind. Static self-registration is avoided on
// purpose (it is silently dropped from static libraries).
#ifndef MEMSPICE_DEVICES_REGISTRY_H_
#define MEMSPICE_DEVICES_REGISTRY_H_

#include <memory>
#include <vector>

#include "devices/device.h"

namespace memspice::devices {

using DeviceFactory = std::unique_ptr<Device> (*)(const netlist::Element& element,
                                                  const netlist::Netlist& netlist,
                                                  netlist::Diagnostics& diag);

struct RegistryEntry {
  char letter;              // element letter: 'r', 'c', ..., 'y'
  const char* type;         // for 'y' and model-based devices: type keyword ("mss", "alpha"); else ""
  DeviceFactory create;
  const char* description;
  // A small deck fragment with one instance (plus .model if needed) whose first element is
  // the device; the derivative test builds it around nodes "a", "b", "c", "d".
  const char* example;
};

const std::vector<RegistryEntry>& Registry();

// Creates the device for an element, or reports an error at the element's location (unknown
// kind, unknown model, bad parameter) and returns nullptr.
std::unique_ptr<Device> CreateDevice(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_REGISTRY_H_
