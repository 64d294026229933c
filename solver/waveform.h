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
  // Complex tables (.ac): `rows` hold the real parts and `imag` the imaginary parts, same shape;
  // the scale (frequency) is real. Empty `imag` and complex == false for real tables.
  bool complex = false;
  std::vector<std::vector<double>> imag;

  int num_points() const { return static_cast<int>(rows.size()); }
  // Index of a signal by name (case-insensitive), -1 if absent.
  int Find(const std::string& name) const;
  // Column j as a vector.
  std::vector<double> Column(int j) const;
};

// A complex table as a real one with two columns per signal, as ngspice's functions name them:
// db(s) = 20 log10 |s| and ph(s) = arg(s) in degrees. A real table is returned unchanged.
WaveformTable MagnitudePhase(const WaveformTable& table);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_WAVEFORM_H_
