#include "solver/waveform.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <complex>
#include <numbers>

#include "base/strings.h"

namespace memspice::solver {

int WaveformTable::Find(const std::string& name) const {
  const std::string lower = base::Lower(name);
  for (size_t j = 0; j < names.size(); ++j) {
    if (names[j] == lower) return static_cast<int>(j);
  }
  return -1;
}

std::vector<double> WaveformTable::Column(int j) const {
  std::vector<double> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(row[j]);
  return out;
}

WaveformTable MagnitudePhase(const WaveformTable& table) {
  if (!table.complex) return table;
  WaveformTable out;
  out.title = table.title;
  out.analysis = table.analysis;
  out.scale_name = table.scale_name;
  out.scale = table.scale;
  for (const std::string& name : table.names) {
    out.names.push_back("db(" + name + ")");
    out.names.push_back("ph(" + name + ")");
  }
  out.rows.reserve(table.rows.size());
  for (size_t k = 0; k < table.rows.size(); ++k) {
    std::vector<double> row;
    row.reserve(2 * table.names.size());
    for (size_t j = 0; j < table.names.size(); ++j) {
      const std::complex<double> v(table.rows[k][j], table.imag[k][j]);
      row.push_back(20.0 * std::log10(std::abs(v)));
      row.push_back(std::arg(v) * 180.0 / std::numbers::pi);
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace memspice::solver
