// Plots of waveforms through gnuplot (PNG via pngcairo, or SVG, chosen by the file extension).
#ifndef MEMSPICE_IO_PLOT_H_
#define MEMSPICE_IO_PLOT_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "io/waveform.h"

namespace memspice::io {

struct PlotOptions {
  std::vector<std::string> signals;  // empty: every signal (up to 12)
  std::string title;                 // empty: the table's title
  std::string xlabel, ylabel;        // empty: from the names (a Bode plot keeps its own y labels)
  bool points = false;               // mark every point (a table of a few measurements)
  int width = 1000, height = 600;
};

// Checks before a run that `path` ends in .png or .svg and that its folder is writable.
Status CheckPlotPath(const std::string& path);

// Runs a gnuplot script that writes `path` atomically (a temporary file renamed when complete); the
// terminal line is prepended from the extension
// (.png: pngcairo, .svg: svg). Needs gnuplot on PATH; a clear Status otherwise.
Status RunGnuplot(const std::string& path, int width, int height, const std::string& script);

// Writes `path` (.png or .svg). Needs gnuplot on PATH; a clear Status otherwise. The y axis is
// labelled with the signals' unit (voltage [V] for v(...), current [A] for i(...)); a title taken
// from a deck loses its SPICE comment star. A table with a frequency scale (.ac; complex, or its
// db()/ph() CSV) gives a Bode plot: magnitude in dB above, phase below, logarithmic frequency
// axis; a signal name `v(out)` selects both of its columns.
Status PlotWaveforms(const WaveformTable& table, const std::string& path,
                     const PlotOptions& options);

}  // namespace memspice::io

#endif  // MEMSPICE_IO_PLOT_H_
