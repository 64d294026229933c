// The network-shaping flags shared by `memspice train` and `memspice gen msnn`.
#ifndef MEMSPICE_APPS_NETWORK_FLAGS_H_
#define MEMSPICE_APPS_NETWORK_FLAGS_H_

#include <set>
#include <string>

#include "training/network.h"

namespace memspice::apps {

// Copies the network flags that were given (`given` holds the flag names) from `parsed` into `c`;
// --method and --crossbar come as names. A layer count without --layer-scale gets the default
// scales for that many crossbars. Throws training::TrainingError for an unknown method or form.
void ApplyNetworkFlags(const std::set<std::string>& given, const training::NetworkConfig& parsed,
                       const std::string& method, const std::string& crossbar,
                       training::NetworkConfig* c);

}  // namespace memspice::apps

#endif  // MEMSPICE_APPS_NETWORK_FLAGS_H_
