#include "solver/waveform.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "netlist/netlist.h"

namespace memspice::solver {

int WaveformTable::Find(const std::string& name) const {
  const std::string lower = base::Lower(name);
  for (size_t j = 0; j < names.size(); ++j) {
    if (names[j] == lower) return static_cast<int>(j);
  }
  // An ngspice name (`v.x1.vs#branch`, `i(v.x1.vs)`) finds its memspice counterpart.
  const std::string canonical = netlist::CanonicalSignalName(lower);
  if (canonical == lower) return -1;
  for (size_t j = 0; j < names.size(); ++j) {
    if (names[j] == canonical) return static_cast<int>(j);
  }
  return -1;
}

std::vector<double> WaveformTable::Column(int j) const {
  std::vector<double> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(row[j]);
  return out;
}

}  // namespace memspice::solver
