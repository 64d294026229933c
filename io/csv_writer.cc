#include "io/csv_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "io/atomic_file.h"

namespace memspice::io {
namespace {

std::string Quote(const std::string& name) {
  if (name.find_first_of(",\"\n") == std::string::npos) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Splits one CSV line into fields (RFC 4180 quoting). Returns false on an unterminated quote.
bool SplitLine(const std::string& line, std::vector<std::string>* fields,
               std::vector<size_t>* cols) {
  fields->clear();
  cols->clear();
  size_t i = 0;
  while (true) {
    std::string field;
    cols->push_back(i + 1);
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && line[i] != ',') ++i;  // ignore junk after the closing quote
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    fields->push_back(field);
    if (i >= line.size()) break;
    ++i;  // comma
  }
  return true;
}

using base::AppendNumber;
using base::Lower;
using base::Trim;

}  // namespace

namespace {

std::string CsvHeader(const WaveformTable& table) {
  std::string out;
  bool first = true;
  if (!table.scale_name.empty()) {
    out += Quote(table.scale_name);
    first = false;
  }
  for (const auto& n : table.names) {
    if (!first) out += ',';
    out += Quote(n);
    first = false;
  }
  out += '\n';
  return out;
}

// One data line.
void AppendCsvRow(bool has_scale, double scale, const std::vector<double>& values,
                  std::string& out) {
  bool first = true;
  if (has_scale) {
    AppendNumber(scale, out);
    first = false;
  }
  for (double v : values) {
    if (!first) out += ',';
    AppendNumber(v, out);
    first = false;
  }
  out += '\n';
}

Status CheckShape(const WaveformTable& table) {
  if (table.complex && table.imag.size() != table.rows.size()) {
    return Status::Error(fmt::format("csv writer: {} imaginary rows but {} rows", table.imag.size(),
                                     table.rows.size()));
  }
  if (!table.scale_name.empty() && table.scale.size() != table.rows.size()) {
    return Status::Error(fmt::format("csv writer: {} scale values but {} rows", table.scale.size(),
                                     table.rows.size()));
  }
  for (size_t k = 0; k < table.rows.size(); ++k) {
    if (table.rows[k].size() != table.names.size()) {
      return Status::Error(fmt::format("csv writer: row {} has {} values, expected {}", k,
                                       table.rows[k].size(), table.names.size()));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string FormatCsv(const WaveformTable& table) {
  if (table.complex) return FormatCsv(MagnitudePhase(table));
  const bool has_scale = !table.scale_name.empty();
  std::string out = CsvHeader(table);
  for (size_t k = 0; k < table.rows.size(); ++k) {
    AppendCsvRow(has_scale, k < table.scale.size() ? table.scale[k] : std::nan(""), table.rows[k],
                 out);
  }
  return out;
}

Status WriteCsv(const WaveformTable& table, const std::string& path) {
  if (Status s = CheckShape(table); !s.ok()) return s;
  return WriteFileAtomic(path, FormatCsv(table));
}

Status CsvSink::Open(const std::string& path) { return file_.Open(path); }

Status CsvSink::Begin(const WaveformTable& table) {
  if (!file_.is_open()) return Status::Error("internal: CsvSink::Begin before Open");
  if (begun_) {
    return Status::Error(fmt::format("internal: CSV file '{}' takes one analysis", file_.path()));
  }
  begun_ = true;
  has_scale_ = !table.scale_name.empty();
  // A complex analysis (.ac) fills its table whole and is written at End, as magnitude and phase.
  return file_.Write(CsvHeader(table.complex ? MagnitudePhase(table) : table));
}

Status CsvSink::Point(double scale, const std::vector<double>& values) {
  buffer_.clear();
  AppendCsvRow(has_scale_, scale, values, buffer_);
  return file_.Write(buffer_);
}

Status CsvSink::End(const WaveformTable& table) {
  if (!table.complex) return Status::Ok();
  const WaveformTable mp = MagnitudePhase(table);
  for (size_t k = 0; k < mp.rows.size(); ++k) {
    buffer_.clear();
    AppendCsvRow(has_scale_, mp.scale[k], mp.rows[k], buffer_);
    if (Status s = file_.Write(buffer_); !s.ok()) return s;
  }
  return Status::Ok();
}

Status CsvSink::Commit() { return file_.Commit(); }

Status ParseCsv(const std::string& text, const std::string& name, WaveformTable* table,
                bool first_is_scale) {
  *table = WaveformTable();
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  bool have_header = false;
  size_t ncols = 0;
  std::vector<std::string> fields;
  std::vector<size_t> cols;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (!SplitLine(line, &fields, &cols)) {
      return Status::Error(fmt::format("{}:{}: unterminated quoted field", name, lineno));
    }
    if (!have_header) {
      have_header = true;
      ncols = fields.size();
      if (first_is_scale && ncols < 1) {
        return Status::Error(fmt::format("{}:{}: empty header", name, lineno));
      }
      for (size_t j = 0; j < ncols; ++j) {
        std::string n = Lower(Trim(fields[j]));
        if (n.empty()) {
          return Status::Error(
              fmt::format("{}:{}:{}: empty column name in header", name, lineno, cols[j]));
        }
        if (j == 0 && first_is_scale) {
          table->scale_name = n;
        } else {
          table->names.push_back(n);
        }
      }
      continue;
    }
    if (fields.size() != ncols) {
      return Status::Error(fmt::format("{}:{}: {} fields, but the header has {} columns", name,
                                       lineno, fields.size(), ncols));
    }
    std::vector<double> row;
    row.reserve(ncols);
    for (size_t j = 0; j < ncols; ++j) {
      std::string f = Trim(fields[j]);
      char* end = nullptr;
      double v = std::strtod(f.c_str(), &end);
      if (f.empty() || end != f.c_str() + f.size()) {
        return Status::Error(
            fmt::format("{}:{}:{}: '{}' is not a number", name, lineno, cols[j], fields[j]));
      }
      if (j == 0 && first_is_scale) {
        table->scale.push_back(v);
      } else {
        row.push_back(v);
      }
    }
    table->rows.push_back(std::move(row));
  }
  if (!have_header) {
    return Status::Error(fmt::format("{}: CSV file has no header line", name),
                         "the first line must name the columns, e.g. time,v(out)");
  }
  table->title = name;
  return Status::Ok();
}

Status ReadCsv(const std::string& path, WaveformTable* table, bool first_is_scale) {
  std::ifstream f(path);
  if (!f) {
    return Status::Error(fmt::format("cannot open CSV file '{}': {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ParseCsv(ss.str(), path, table, first_is_scale);
}

}  // namespace memspice::io
