#include "io/raw_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "io/atomic_file.h"

namespace memspice::io {
namespace {

using base::Lower;
using base::Trim;

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

bool IsOperatingPoint(const std::string& plotname) {
  return StartsWithNoCase(plotname, "operating point");
}

// The raw-file type of a variable from its name (ngspice's type names).
const char* VariableType(const std::string& name, bool is_scale) {
  std::string n = Lower(name);
  if (n == "time") return "time";
  if (n == "frequency") return "frequency";
  if (is_scale) {
    if (n.find("temp") != std::string::npos) return "temp-sweep";
    if (n.find("res") != std::string::npos && n.find("sweep") != std::string::npos)
      return "res-sweep";
    if (!n.empty() && n[0] == 'i') return "current";
    return "voltage";
  }
  if (StartsWithNoCase(n, "v(")) return "voltage";
  if (StartsWithNoCase(n, "i(") || n.find("#branch") != std::string::npos) return "current";
  return "notype";
}

void PutDouble(std::string& out, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  char bytes[8];  // little-endian regardless of the host
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((bits >> (8 * i)) & 0xffu);
  out.append(bytes, 8);
}

double GetDouble(const char* p) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}

Status Validate(const WaveformTable& t) {
  const bool has_scale = !t.scale_name.empty();
  if (has_scale && t.scale.size() != t.rows.size()) {
    return Status::Error(fmt::format("raw writer: table '{}' has {} scale values but {} rows",
                                     t.title, t.scale.size(), t.rows.size()));
  }
  for (size_t k = 0; k < t.rows.size(); ++k) {
    if (t.rows[k].size() != t.names.size()) {
      return Status::Error(
          fmt::format("raw writer: row {} of table '{}' has {} values, expected {}", k, t.title,
                      t.rows[k].size(), t.names.size()));
    }
  }
  if (t.complex && t.imag.size() != t.rows.size()) {
    return Status::Error(
        fmt::format("raw writer: complex table '{}' has {} imaginary rows for {} rows", t.title,
                    t.imag.size(), t.rows.size()));
  }
  return Status::Ok();  // an operating point of an empty circuit has no variables, as in ngspice
}

// The header of one plot up to and including "Binary:"/"Values:". The point count is written as
// `points`, so a streamed plot can reserve a field and fill it in at the end.
std::string PlotHeader(const WaveformTable& t, bool binary, const std::string& points) {
  const bool has_scale = !t.scale_name.empty();
  const size_t nvar = t.names.size() + (has_scale ? 1 : 0);
  std::time_t now = std::time(nullptr);
  char date[64] = "";
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S %Y", std::localtime(&now));
  std::string plotname =
      t.analysis.empty()
          ? (has_scale ? std::string(Lower(t.scale_name) == "time" ? "Transient Analysis"
                                                                   : "DC transfer characteristic")
                       : std::string("Operating Point"))
          : t.analysis;
  // A table with a scale must not be labelled as an operating point, or the reader would lose
  // the scale column.
  if (has_scale && IsOperatingPoint(plotname)) plotname = "DC transfer characteristic";
  if (!has_scale && !IsOperatingPoint(plotname)) plotname = "Operating Point";
  std::string out;
  out += fmt::format("Title: {}\n", t.title.empty() ? "memspice" : t.title);
  out += fmt::format("Date: {}\n", date);
  out += fmt::format("Plotname: {}\n", plotname);
  out += t.complex ? "Flags: complex\n" : "Flags: real\n";
  out += fmt::format("No. Variables: {}\n", nvar);
  out += fmt::format("No. Points: {}\n", points);
  out += "Variables:\n";
  size_t idx = 0;
  if (has_scale) {
    out += fmt::format("\t{}\t{}\t{}\n", idx++, t.scale_name, VariableType(t.scale_name, true));
  }
  for (const auto& n : t.names)
    out += fmt::format("\t{}\t{}\t{}\n", idx++, n, VariableType(n, false));
  out += binary ? "Binary:\n" : "Values:\n";
  return out;
}

// Point k of a plot: the scale (if any) then the signals, little-endian doubles or ascii. A complex
// plot (`imag` non-null) writes each value as (re, im) and the scale with a zero imaginary part.
void AppendPoint(bool binary, bool has_scale, int64_t k, double scale,
                 const std::vector<double>& values, const std::vector<double>* imag,
                 std::string& out) {
  if (binary) {
    if (has_scale) PutDouble(out, scale);
    if (has_scale && imag != nullptr) PutDouble(out, 0.0);
    for (size_t j = 0; j < values.size(); ++j) {
      PutDouble(out, values[j]);
      if (imag != nullptr) PutDouble(out, (*imag)[j]);
    }
    return;
  }
  auto put = [&](bool first, double v, double im) {
    if (first) fmt::format_to(std::back_inserter(out), " {}", k);
    if (imag != nullptr) {
      fmt::format_to(std::back_inserter(out), "\t{:.16e},{:.16e}\n", v, im);
    } else {
      fmt::format_to(std::back_inserter(out), "\t{:.16e}\n", v);
    }
  };
  if (has_scale) put(true, scale, 0.0);
  for (size_t j = 0; j < values.size(); ++j) {
    put(j == 0 && !has_scale, values[j], imag != nullptr ? (*imag)[j] : 0.0);
  }
  out += "\n";
}

void AppendPlot(const WaveformTable& t, bool binary, std::string& out) {
  const bool has_scale = !t.scale_name.empty();
  out += PlotHeader(t, binary, std::to_string(t.rows.size()));
  const size_t width = t.complex ? 2 : 1;
  if (binary) out.reserve(out.size() + (t.names.size() + 1) * width * t.rows.size() * 8);
  for (size_t k = 0; k < t.rows.size(); ++k) {
    AppendPoint(binary, has_scale, static_cast<int64_t>(k), has_scale ? t.scale[k] : 0.0, t.rows[k],
                t.complex ? &t.imag[k] : nullptr, out);
  }
}

// Cursor over the file contents.
struct Reader {
  const std::string& data;
  const std::string& name;
  size_t pos = 0;
  int line = 1;

  bool AtEnd() const { return pos >= data.size(); }
  // Next text line without the newline; false at end.
  bool NextLine(std::string* out) {
    if (AtEnd()) return false;
    size_t e = data.find('\n', pos);
    if (e == std::string::npos) e = data.size();
    size_t len = e - pos;
    if (len > 0 && data[pos + len - 1] == '\r') --len;
    *out = data.substr(pos, len);
    pos = std::min(data.size(), e + 1);
    ++line;
    return true;
  }
  Status Error(int at_line, const std::string& msg) const {
    return Status::Error(fmt::format("{}:{}: raw file: {}", name, at_line, msg),
                         "expected a SPICE3 raw file as written by `ngspice -r` or `write`");
  }
};

struct Header {
  std::string title, plotname, flags;
  long nvars = -1, npoints = -1;
  std::vector<std::string> names;
  bool complex = false;
  bool binary = false;
};

// Parses one number token of an ascii raw file ("1.5e-3", or "re,im" for complex).
bool ParseNumber(const std::string& tok, double* re, double* im) {
  const char* s = tok.c_str();
  char* end = nullptr;
  errno = 0;
  *re = std::strtod(s, &end);
  if (end == s) return false;
  if (*end == ',') {
    const char* s2 = end + 1;
    *im = std::strtod(s2, &end);
    if (end == s2) return false;
  } else {
    *im = 0.0;
  }
  return *end == '\0';
}

}  // namespace

Status WriteRaw(const std::vector<WaveformTable>& tables, const std::string& path, bool binary) {
  std::string out;
  for (const auto& t : tables) {
    Status s = Validate(t);
    if (!s.ok()) return s;
    AppendPlot(t, binary, out);
  }
  return WriteFileAtomic(path, out);
}

Status WriteRaw(const WaveformTable& table, const std::string& path, bool binary) {
  return WriteRaw(std::vector<WaveformTable>{table}, path, binary);
}

// Width of the point-count field of a streamed plot, filled in when the plot ends.
constexpr int kPointsField = 20;

Status RawSink::Open(const std::string& path, bool binary) {
  binary_ = binary;
  return file_.Open(path);
}

Status RawSink::Begin(const WaveformTable& table) {
  if (!file_.is_open()) return Status::Error("internal: RawSink::Begin before Open");
  has_scale_ = !table.scale_name.empty();
  points_ = 0;
  std::string header = PlotHeader(table, binary_, std::string(kPointsField, ' '));
  const std::string marker = "No. Points: ";
  points_offset_ = file_.size() + header.find(marker) + marker.size();
  return file_.Write(header);
}

Status RawSink::Point(double scale, const std::vector<double>& values) {
  buffer_.clear();
  AppendPoint(binary_, has_scale_, points_, scale, values, nullptr, buffer_);
  ++points_;
  return file_.Write(buffer_);
}

Status RawSink::End(const WaveformTable& table) {
  if (table.complex) {  // complex analyses (.ac) fill the table whole: write it now
    for (size_t k = 0; k < table.rows.size(); ++k) {
      buffer_.clear();
      AppendPoint(binary_, has_scale_, points_, table.scale[k], table.rows[k], &table.imag[k],
                  buffer_);
      ++points_;
      if (Status s = file_.Write(buffer_); !s.ok()) return s;
    }
  }
  return file_.WriteAt(points_offset_, fmt::format("{:<{}}", points_, kPointsField));
}

Status RawSink::Commit() { return file_.Commit(); }

Status ParseRaw(const std::string& data, const std::string& name,
                std::vector<WaveformTable>* plots) {
  Reader r{data, name};
  std::string text;
  int plots_read = 0;
  while (!r.AtEnd()) {
    // Header.
    Header h;
    int header_line = r.line;
    bool got_data_marker = false;
    bool in_variables = false;
    bool saw_any = false;
    while (r.NextLine(&text)) {
      std::string t = Trim(text);
      if (t.empty()) continue;
      saw_any = true;
      if (in_variables && !StartsWithNoCase(t, "binary:") && !StartsWithNoCase(t, "values:")) {
        std::istringstream ls(t);
        std::string idx, vname, vtype;
        if (!(ls >> idx >> vname >> vtype)) {
          return r.Error(r.line - 1, fmt::format("bad variable line '{}'", t));
        }
        h.names.push_back(Lower(vname));
        continue;
      }
      in_variables = false;
      auto value_of = [&](size_t key_len) { return Trim(std::string_view(t).substr(key_len)); };
      if (StartsWithNoCase(t, "title:")) {
        h.title = value_of(6);
      } else if (StartsWithNoCase(t, "date:")) {
      } else if (StartsWithNoCase(t, "plotname:")) {
        h.plotname = value_of(9);
      } else if (StartsWithNoCase(t, "flags:")) {
        h.flags = Lower(value_of(6));
        h.complex = h.flags.find("complex") != std::string::npos;
      } else if (StartsWithNoCase(t, "no. variables:")) {
        h.nvars = std::strtol(value_of(14).c_str(), nullptr, 10);
      } else if (StartsWithNoCase(t, "no. points:")) {
        h.npoints = std::strtol(value_of(11).c_str(), nullptr, 10);
      } else if (StartsWithNoCase(t, "variables:")) {
        in_variables = true;
        std::string rest = value_of(10);
        if (!rest.empty()) {
          std::istringstream ls(rest);
          std::string idx, vname, vtype;
          if (ls >> idx >> vname >> vtype) h.names.push_back(Lower(vname));
        }
      } else if (StartsWithNoCase(t, "binary:")) {
        h.binary = true;
        got_data_marker = true;
        break;
      } else if (StartsWithNoCase(t, "values:")) {
        got_data_marker = true;
        break;
      } else if (StartsWithNoCase(t, "command:") || StartsWithNoCase(t, "option:") ||
                 StartsWithNoCase(t, "dimensions:")) {
      } else {
        return r.Error(r.line - 1, fmt::format("unexpected header line '{}'", t.substr(0, 60)));
      }
    }
    if (!saw_any) break;  // trailing blank lines
    if (!got_data_marker) {
      return r.Error(header_line, "plot header without 'Binary:' or 'Values:'");
    }
    if (h.nvars < 0 || h.npoints < 0) {
      return r.Error(header_line, "missing 'No. Variables:' or 'No. Points:'");
    }
    if (static_cast<long>(h.names.size()) != h.nvars) {
      return r.Error(header_line, fmt::format("'No. Variables: {}' but {} variables listed",
                                              h.nvars, h.names.size()));
    }
    if (h.nvars == 0 && !IsOperatingPoint(h.plotname)) {
      return r.Error(header_line, "plot with no variables");
    }
    const size_t nvar = static_cast<size_t>(h.nvars);
    const size_t width = h.complex ? 2 : 1;
    std::vector<std::vector<double>> values;  // per point, real parts
    std::vector<std::vector<double>> imags;   // per point, imaginary parts (complex plots)
    if (nvar == 0) {                          // ngspice's operating point of an empty circuit
      values.resize(static_cast<size_t>(h.npoints));
    } else if (h.binary) {
      const size_t row_bytes = nvar * width * 8;
      size_t avail = (data.size() - r.pos) / row_bytes;
      size_t n = std::min(static_cast<size_t>(h.npoints), avail);
      values.resize(n, std::vector<double>(nvar));
      if (h.complex) imags.resize(n, std::vector<double>(nvar));
      for (size_t k = 0; k < n; ++k) {
        const char* p = data.data() + r.pos + k * row_bytes;
        for (size_t j = 0; j < nvar; ++j) {
          values[k][j] = GetDouble(p + j * width * 8);
          if (h.complex) imags[k][j] = GetDouble(p + j * width * 8 + 8);
        }
      }
      r.pos += n * row_bytes;
      if (n < static_cast<size_t>(h.npoints)) r.pos = data.size();  // truncated: partial point
      // Binary data may end in the middle of a line; line numbers after it are approximate.
    } else {
      // Ascii: per point an index followed by nvar values, whitespace separated.
      for (long k = 0; k < h.npoints; ++k) {
        std::vector<double> row(nvar), row_im(nvar);
        bool complete = true;
        for (size_t j = 0; j <= nvar; ++j) {
          // Next token; stop before a following plot's "Title:".
          while (r.pos < data.size() && std::isspace(static_cast<unsigned char>(data[r.pos]))) {
            if (data[r.pos] == '\n') ++r.line;
            ++r.pos;
          }
          if (r.pos >= data.size() ||
              StartsWithNoCase(std::string_view(data).substr(r.pos), "title:")) {
            complete = false;
            break;
          }
          size_t e = r.pos;
          while (e < data.size() && !std::isspace(static_cast<unsigned char>(data[e]))) ++e;
          std::string tok = data.substr(r.pos, e - r.pos);
          r.pos = e;
          double re, im;
          if (j == 0) {
            char* end = nullptr;
            std::strtol(tok.c_str(), &end, 10);
            if (end == tok.c_str() || *end != '\0') {
              return r.Error(r.line, fmt::format("expected point index, found '{}'", tok));
            }
            continue;
          }
          if (!ParseNumber(tok, &re, &im)) {
            return r.Error(r.line, fmt::format("bad number '{}' in point {}", tok, k));
          }
          row[j - 1] = re;
          row_im[j - 1] = im;
        }
        if (!complete) break;
        values.push_back(std::move(row));
        if (h.complex) imags.push_back(std::move(row_im));
      }
    }
    ++plots_read;
    WaveformTable t;
    t.complex = h.complex;
    t.title = h.title;
    t.analysis = h.plotname;
    const bool has_scale = !IsOperatingPoint(h.plotname);
    size_t first = has_scale ? 1 : 0;
    if (has_scale) t.scale_name = h.names[0];
    t.names.assign(h.names.begin() + first, h.names.end());
    t.rows.reserve(values.size());
    for (auto& row : values) {
      if (has_scale) t.scale.push_back(row[0]);
      t.rows.emplace_back(row.begin() + first, row.end());
    }
    for (auto& row : imags) t.imag.emplace_back(row.begin() + first, row.end());
    plots->push_back(std::move(t));
  }
  if (plots_read == 0) {
    return Status::Error(fmt::format("{}: raw file has no plots", name),
                         "the simulator may have failed before writing any data");
  }
  return Status::Ok();
}

Status ReadRaw(const std::string& path, std::vector<WaveformTable>* plots) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return Status::Error(fmt::format("cannot open raw file '{}': {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return ParseRaw(ss.str(), path, plots);
}

}  // namespace memspice::io
