// CSV output of a WaveformTable, and reading it back (training targets, external references).
//
// Format: one header line with the scale column first if the table has one, then the signals:
//   time,v(out),i(v1)
// then one line per point. Values are written in the shortest form that round-trips exactly.
// Names containing a comma or a double quote are quoted ("..." with "" for a quote). A complex
// (.ac) table is written as its MagnitudePhase(): frequency,db(v(out)),ph(v(out)),...
#ifndef MEMSPICE_IO_CSV_WRITER_H_
#define MEMSPICE_IO_CSV_WRITER_H_

#include <string>

#include "base/status.h"
#include "io/atomic_file.h"
#include "io/waveform.h"

namespace memspice::io {

// Writes the file atomically (temporary file + rename): an error never leaves a partial file.
Status WriteCsv(const WaveformTable& table, const std::string& path);

// Streams one analysis to a CSV file as the solver accepts its points. The file appears, complete,
// at Commit(); until then a previous file of that name is untouched.
class CsvSink : public PointSink {
 public:
  // Creates the temporary file: call before the simulation to fail early on an unwritable path.
  Status Open(const std::string& path);
  Status Begin(const WaveformTable& table) override;
  Status Point(double scale, const std::vector<double>& values) override;
  Status End(const WaveformTable& table) override;
  Status Commit();

 private:
  AtomicFile file_;
  bool has_scale_ = false, begun_ = false;
  std::string buffer_;
};

// Same as WriteCsv into a string.
std::string FormatCsv(const WaveformTable& table);

// Reads a CSV file with a header line. If `first_is_scale` the first column becomes the scale
// (its header is scale_name), otherwise every column is a signal. Names are lower-cased.
// Blank lines and lines starting with '#' are skipped. Every data line must have as many
// fields as the header, each a number; errors name the file, line and column.
Status ReadCsv(const std::string& path, WaveformTable* table, bool first_is_scale = true);

// Same as ReadCsv from text; `name` is used in messages.
Status ParseCsv(const std::string& text, const std::string& name, WaveformTable* table,
                bool first_is_scale = true);

}  // namespace memspice::io

#endif  // MEMSPICE_IO_CSV_WRITER_H_
