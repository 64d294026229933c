// Simulation results: a scale (time, swept value, or none for .op) and named signals.
#ifndef MEMSPICE_IO_WAVEFORM_H_
#define MEMSPICE_IO_WAVEFORM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace memspice::io {

struct WaveformTable;

// Receives the points of an analysis as the solver accepts them (streamed CSV / raw output), so
// that a long run needs no memory for its waveforms. A failing sink stops the analysis.
class PointSink {
 public:
  virtual ~PointSink() = default;
  // Called before the first point, once title, analysis, scale_name and names are set.
  virtual Status Begin(const WaveformTable& table) = 0;
  // One point: the scale value (ignored when the table has no scale) and one value per name.
  virtual Status Point(double scale, const std::vector<double>& values) = 0;
  // After the last point of an analysis that succeeded.
  virtual Status End(const WaveformTable& table) = 0;
};

struct WaveformTable {
  std::string title;
  std::string analysis;    // "Operating Point", "DC transfer characteristic", "Transient Analysis"
  std::string scale_name;  // "time", "v-sweep"/source name, or empty for .op
  std::vector<std::string> names;         // "v(out)", "i(v1)", "x(m1)", lower case
  std::vector<double> scale;              // one per point (empty for .op)
  std::vector<std::vector<double>> rows;  // rows[k][j]: signal j at point k
  // Complex tables (.ac): `rows` hold the real parts and `imag` the imaginary parts, same shape;
  // the scale (frequency) is real. Empty `imag` and complex == false for real tables.
  bool complex = false;
  std::vector<std::vector<double>> imag;

  // Streaming (set by the caller before the analysis): every point also goes to `sink`; with
  // keep_rows = false it goes only there and rows/scale stay empty. max_points > 0 stops the
  // analysis with an error naming the limit once that many points were produced.
  PointSink* sink = nullptr;
  bool keep_rows = true;
  int64_t max_points = 0;
  int64_t max_kept_bytes = 0;  // > 0: error once rows kept in memory would pass this size
  int64_t streamed_only = 0;   // points sent to the sink and not kept in rows

  // Points of the analysis, kept in rows or streamed.
  int num_points() const { return static_cast<int>(rows.size() + streamed_only); }
  // Refuses (Status::Refused) an analysis that needs at least `points` points, before it runs,
  // when they pass max_points or, kept in rows, max_kept_bytes. `hint` says how to need fewer.
  Status CheckBudget(double points, const std::string& hint) const;
  // Adds one point (scale ignored when scale_name is empty) to rows and/or the sink.
  Status AddPoint(double scale_value, std::vector<double> values);
  // Index of a signal by name (case-insensitive), -1 if absent.
  int Find(const std::string& name) const;
  // Column j as a vector.
  std::vector<double> Column(int j) const;
};

// A complex table as a real one with two columns per signal, as ngspice's functions name them:
// db(s) = 20 log10 |s| and ph(s) = arg(s) in degrees. A real table is returned unchanged.
WaveformTable MagnitudePhase(const WaveformTable& table);

}  // namespace memspice::io

#endif  // MEMSPICE_IO_WAVEFORM_H_
