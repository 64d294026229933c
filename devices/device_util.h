// Small helpers shared by the standard devices: parameter lookup and checks that report at the
// element's location.
#ifndef MEMSPICE_DEVICES_DEVICE_UTIL_H_
#define MEMSPICE_DEVICES_DEVICE_UTIL_H_

#include <initializer_list>
#include <map>
#include <string>

#include "devices/device.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

// Value of `key` in `params`, or `fallback` when absent.
double ParamOr(const std::map<std::string, double>& params, const std::string& key,
               double fallback);

// Reports an error for every key of `params` not in `allowed` ("unknown parameter 'foo' for
// 'r1'"). Returns false if any was reported.
bool CheckParamNames(const netlist::Element& element, const std::map<std::string, double>& params,
                     std::initializer_list<const char*> allowed, netlist::Diagnostics& diag);

// Reports an error unless the element has exactly `count` nodes. Returns false on error.
bool CheckNodeCount(const netlist::Element& element, size_t count, netlist::Diagnostics& diag);

// Reports an error unless `value` is finite. `what` names the quantity ("resistance").
bool CheckFinite(const netlist::Element& element, const char* what, double value,
                 netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_DEVICE_UTIL_H_
