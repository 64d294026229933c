#include "solver/raw_file.h"

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

namespace memspice::solver {
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
        fmt::format("raw writer: complex table '{}' has {} imaginary rows for {} "
                    "rows",
                    t.title, t.imag.size(), t.rows.size()));
  }
  if (!has_scale && t.names.empty()) {
    return Status::Error(fmt::format("raw writer: table '{}' has no variables", t.title));
  }
  return Status::Ok();
}

void AppendPlot(const WaveformTable& t, bool binary, std::string& out) {
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
  out += fmt::format("Title: {}\n", t.title.empty() ? "memspice" : t.title);
  out += fmt::format("Date: {}\n", date);
  out += fmt::format("Plotname: {}\n", plotname);
  out += t.complex ? "Flags: complex\n" : "Flags: real\n";
  out += fmt::format("No. Variables: {}\n", nvar);
  out += fmt::format("No. Points: {}\n", t.rows.size());
  out += "Variables:\n";
  size_t idx = 0;
  if (has_scale) {
    out += fmt::format("\t{}\t{}\t{}\n", idx++, t.scale_name, VariableType(t.scale_name, true));
  }
  for (const auto& n : t.names)
    out += fmt::format("\t{}\t{}\t{}\n", idx++, n, VariableType(n, false));
  if (binary) {
    out += "Binary:\n";
    out.reserve(out.size() + nvar * t.rows.size() * 8);
    for (size_t k = 0; k < t.rows.size(); ++k) {
      if (has_scale) PutDouble(out, t.scale[k]);
      if (has_scale && t.complex) PutDouble(out, 0.0);
      for (size_t j = 0; j < t.rows[k].size(); ++j) {
        PutDouble(out, t.rows[k][j]);
        if (t.complex) PutDouble(out, t.imag[k][j]);
      }
    }
  } else {
    out += "Values:\n";
    for (size_t k = 0; k < t.rows.size(); ++k) {
      bool first = true;
      auto put = [&](double v, double im) {
        out += first ? fmt::format(" {}\t", k) : std::string("\t");
        first = false;
        out += t.complex ? fmt::format("{:.16e},{:.16e}\n", v, im) : fmt::format("{:.16e}\n", v);
      };
      if (has_scale) put(t.scale[k], 0.0);
      for (size_t j = 0; j < t.rows[k].size(); ++j) {
        put(t.rows[k][j], t.complex ? t.imag[k][j] : 0.0);
      }
      out += "\n";
    }
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
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    return Status::Error(
        fmt::format("cannot open raw file '{}' for writing: {}", path, std::strerror(errno)),
        "check that the directory exists and is writable");
  }
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  f.close();
  if (!f) return Status::Error(fmt::format("error writing raw file '{}'", path));
  return Status::Ok();
}

Status WriteRaw(const WaveformTable& table, const std::string& path, bool binary) {
  return WriteRaw(std::vector<WaveformTable>{table}, path, binary);
}

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
    if (h.nvars == 0) return r.Error(header_line, "plot with no variables");
    const size_t nvar = static_cast<size_t>(h.nvars);
    const size_t width = h.complex ? 2 : 1;
    std::vector<std::vector<double>> values;  // per point, real parts
    std::vector<std::vector<double>> imags;   // per point, imaginary parts (complex plots)
    if (h.binary) {
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

}  // namespace memspice::solver
