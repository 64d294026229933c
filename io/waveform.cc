#include "io/waveform.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <complex>
#include <numbers>

#include "base/bytes.h"
#include "base/option_names.h"
#include "base/strings.h"
#include "netlist/netlist.h"

namespace memspice::io {

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

namespace {

// Memory of one point kept in rows: its vector header, the values, the allocator's overhead and
// the scale value.
double KeptRowBytes(size_t num_values) {
  return sizeof(std::vector<double>) + 8.0 * num_values + 16.0 + 8.0;
}

// What to do when the kept waveforms would pass the memory limit.
std::string MemoryLimitHint() {
  return fmt::format(
      "stream them to a file instead ({} or {} without {}), select fewer signals with .save, or "
      "raise the limit with {} BYTES",
      base::Opt("csv"), base::Opt("raw"), base::Opt("plot"), base::Opt("max_memory"));
}

}  // namespace

Status WaveformTable::CheckBudget(double points, const std::string& hint) const {
  if (max_points > 0 && points > static_cast<double>(max_points)) {
    return Status::Refused(fmt::format("{} needs at least {:.3g} points, over the limit of {} "
                                       "points",
                                       analysis, points, max_points),
                           hint + ", or raise the limit with " + base::Opt("max_points") + " N");
  }
  const double bytes = points * KeptRowBytes(names.size());
  if (keep_rows && max_kept_bytes > 0 && bytes > static_cast<double>(max_kept_bytes)) {
    return Status::Refused(
        fmt::format("{} keeps at least {:.3g} points in memory, about {}, over the limit of {}",
                    analysis, points, base::FormatBytes(bytes), base::FormatBytes(max_kept_bytes)),
        MemoryLimitHint());
  }
  return Status::Ok();
}

Status WaveformTable::AddPoint(double scale_value, std::vector<double> values) {
  if (max_points > 0 && num_points() >= max_points) {
    return Status::Error(
        fmt::format("{}: stopped at the limit of {} output points", analysis, max_points),
        "raise it with " + base::Opt("max_points") +
            " N, or reduce the points: a larger step, a later .tran start time or a shorter "
            "stop time");
  }
  if (sink != nullptr) {
    if (Status s = sink->Point(scale_value, values); !s.ok()) return s;
  }
  if (!keep_rows) {
    ++streamed_only;
    return Status::Ok();
  }
  const double row_bytes = KeptRowBytes(values.size());
  if (max_kept_bytes > 0 && (rows.size() + 1.0) * row_bytes > static_cast<double>(max_kept_bytes)) {
    return Status::Error(
        fmt::format("{}: the waveforms kept in memory reached the limit of {:.3g} GB at {} points",
                    analysis, max_kept_bytes / 1e9, rows.size()),
        MemoryLimitHint());
  }
  if (!scale_name.empty()) scale.push_back(scale_value);
  rows.push_back(std::move(values));
  return Status::Ok();
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

}  // namespace memspice::io
