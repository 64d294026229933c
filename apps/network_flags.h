// The network-shaping flags shared by `memspice train` and `memspice gen msnn`.
#ifndef MEMSPICE_APPS_NETWORK_FLAGS_H_
#define MEMSPICE_APPS_NETWORK_FLAGS_H_

#include <set>
#include <string>

#include "training/network.h"

namespace memspice::apps {

// Copies the network flags that were given (`given` holds the flag names) from `parsed` into `c`;
// --method, --crossbar and --mapping come as names. A layer count without --layer-scale gets the
// default scales for that many crossbars. Throws training::TrainingError for an unknown method or
// form. Help text of --mapping (gen msnn, train).
inline constexpr const char* kMappingHelp =
    "Signed weights: differential (a G+/G- pair per weight, 2N cells per column) or "
    "reference-column (one cell per weight and one fixed reference column per crossbar, N + 1 "
    "cells; weight G - G_ref)";

void ApplyNetworkFlags(const std::set<std::string>& given, const training::NetworkConfig& parsed,
                       const std::string& method, const std::string& crossbar,
                       const std::string& mapping, training::NetworkConfig* c);

}  // namespace memspice::apps

#endif  // MEMSPICE_APPS_NETWORK_FLAGS_H_
