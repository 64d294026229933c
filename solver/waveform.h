// Simulation results: a scale (time, swept value, or none for .op) and named signals.
#ifndef MEMSPICE_SOLVER_WAVEFORM_H_
#define MEMSPICE_SOLVER_WAVEFORM_H_

#include <string>
#include <vector>

namespace memspice::solver {

struct WaveformTable {
  std::string title;
  std::string analysis;        // "Operating Point", "DC transfer characteristic", "Transient Analysis"
  std::string scale_name;      // "time", "v-sweep"/source name, or empty for .op
  std::vector<std::string> names;  // "v(out)", "i(v1)", "x(m1)", lower case
  std::vector<double> scale;       // one per point (empty for .op)
  std::vector<std::vector<double>> rows;  // rows[k][j]: signal j at point k

  int num_points() const { return static_cast<int>(rows.size()); }
  // Index of a signal by name (case-insensitive), -1 if absent.
  int Find(const std::string& name) const;
  // Column j as a vector.
  std::vector<double> Column(int j) const;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_WAVEFORM_H_
