// The explicit device registry: one descriptor (descriptor.h) per device kind. Static
// self-registration is avoided on purpose (it is silently dropped from static libraries).
#ifndef MEMSPICE_DEVICES_REGISTRY_H_
#define MEMSPICE_DEVICES_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

using RegistryEntry = DeviceDescriptor;

const std::vector<DeviceDescriptor>& Registry();

// The descriptor of an element (by letter, and type for Y devices), or nullptr.
const DeviceDescriptor* FindDescriptor(const netlist::Element& element);
const DeviceDescriptor* FindDescriptor(char letter, const std::string& type);
// The descriptor of the device that takes .model cards of `model_type` ("mss", "d"), or nullptr.
const DeviceDescriptor* FindDescriptorByModelType(const std::string& model_type);

// Creates the device for an element, or reports an error at the element's location (unknown
// kind, unknown model, bad parameter) and returns nullptr.
std::unique_ptr<Device> CreateDevice(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_REGISTRY_H_
