// SPICE3 raw files as ngspice writes and reads them (`ngspice -r`, `write`, `load`).
//
// A file holds one or more plots, each a text header followed by data:
//
//   Title: <title>
//   Date: <date>
//   Plotname: Transient Analysis
//   Flags: real
//   No. Variables: 3
//   No. Points: 101
//   Variables:
//   	0	time	time
//   	1	v(out)	voltage
//   	2	i(v1)	current
//   Binary:            (little-endian doubles, point by point, variable by variable)
//   Values:            (or ascii: " <point>\t<v0>\n\t<v1>\n\t<v2>\n\n" per point)
//
// Mapping to WaveformTable: for every plot except "Operating Point" variable 0 is the scale
// (time, v(v-sweep), ...) and goes to `scale`/`scale_name`; the other variables are the signals.
// An operating point plot has no scale. Names are kept as written, lower-cased.
#ifndef MEMSPICE_IO_RAW_FILE_H_
#define MEMSPICE_IO_RAW_FILE_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "io/atomic_file.h"
#include "io/waveform.h"

namespace memspice::io {

// Writes one plot. binary=true gives "Binary:" (little-endian doubles), else "Values:" ascii
// with 17 significant digits (round-trips exactly). A complex table is written with
// "Flags: complex" and (re, im) pairs for every variable, the scale with im = 0, as ngspice does.
// Variable types: time, voltage for v(...), current for i(...), notype for anything else (states
// x(...)); ngspice `load` accepts all.
Status WriteRaw(const WaveformTable& table, const std::string& path, bool binary);

// Writes several plots into one file, one after the other (as ngspice does for .op + .tran).
Status WriteRaw(const std::vector<WaveformTable>& tables, const std::string& path, bool binary);

// Streams plots to a raw file as the solver accepts points: one plot per analysis (Begin ... End),
// the point count filled in at End. The file appears, complete, at Commit(); until then a previous
// file of that name is untouched.
class RawSink : public PointSink {
 public:
  // Creates the temporary file: call before the simulation to fail early on an unwritable path.
  Status Open(const std::string& path, bool binary);
  Status Begin(const WaveformTable& table) override;
  Status Point(double scale, const std::vector<double>& values) override;
  Status End(const WaveformTable& table) override;
  Status Commit();

 private:
  AtomicFile file_;
  bool binary_ = true, has_scale_ = false;
  int64_t points_ = 0;
  uint64_t points_offset_ = 0;
  std::string buffer_;
};

// Reads every plot of a binary or ascii raw file and appends it to `plots`. Complex plots (.ac)
// become complex tables (real parts in rows, imaginary parts in imag; the scale keeps its real
// part). A truncated file
// (simulator aborted) keeps the complete points and reports nothing; a malformed header is an
// error naming the file and the line.
Status ReadRaw(const std::string& path, std::vector<WaveformTable>* plots);

// Parses raw-file text already in memory (same rules as ReadRaw); `name` is used in messages.
Status ParseRaw(const std::string& data, const std::string& name,
                std::vector<WaveformTable>* plots);

}  // namespace memspice::io

#endif  // MEMSPICE_IO_RAW_FILE_H_
