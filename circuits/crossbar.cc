#include "circuits/crossbar.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "base/strings.h"

namespace memspice::circuits {
namespace {

// 12 significant digits: exact to 1e-12 relative, and readable (1/1e-5 prints as 100000).
using base::FormatNumber;

constexpr long kMaxCrossPoints = 1L << 22;

double Gmin(const CrossbarSpec& s) { return 1.0 / s.roff; }
double Gmax(const CrossbarSpec& s) { return 1.0 / s.ron; }

// Uniform in [0, 1) from the raw 64-bit Mersenne Twister output: std::uniform_real_distribution
// is implementation-defined, this is not, so a seed gives the same array everywhere.
double Uniform01(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

std::string Label(const CrossbarSpec& s, int k) {
  if (!s.differential) return std::to_string(k);
  return std::to_string(k / 2) + (k % 2 == 0 ? "p" : "n");
}

// Node names; with ideal lines (rline = 0) all cross points of a line collapse onto its end node.
std::string WordIn(int i) { return fmt::format("win_{}", i); }
std::string BitOut(const CrossbarSpec& s, int k) { return fmt::format("bout_{}", Label(s, k)); }
std::string WordNode(const CrossbarSpec& s, int i, int k) {
  if (s.rline == 0.0) return WordIn(i);
  return fmt::format("w{}_{}", i, Label(s, k));
}
std::string BitNode(const CrossbarSpec& s, int i, int k) {
  if (s.rline == 0.0) return BitOut(s, k);
  return fmt::format("b{}_{}", i, Label(s, k));
}

double RowAmplitude(const CrossbarSpec& s, int i) {
  if (!s.row_amplitude.empty()) return s.row_amplitude[i];
  return s.amplitude * (1.0 - 0.5 * i / std::max(1, s.rows - 1));
}
double RowFrequency(const CrossbarSpec& s, int i) {
  if (!s.row_frequency.empty()) return s.row_frequency[i];
  return s.frequency * (1.0 + static_cast<double>(i) / s.rows);
}
double RowPhase(const CrossbarSpec& s, int i) {
  if (!s.row_phase.empty()) return s.row_phase[i];
  return 360.0 * i / s.rows;
}

bool Finite(double v) { return std::isfinite(v); }

// Cells with an MSS memristor (its model and the x0 mapping).
bool HasMemristor(const CrossbarSpec& s) { return s.cell != CellKind::kResistor; }

const char* CellName(CellKind cell) {
  switch (cell) {
    case CellKind::kResistor:
      return "resistor";
    case CellKind::kMss:
      return "mss";
    case CellKind::k1t1r:
      return "1t1r";
  }
  return "";
}

// The array body shared by the deck and the subcircuit.
void WriteArray(const CrossbarSpec& s, std::string* out) {
  const int phys = PhysicalColumns(s);
  const std::vector<double> g = CellConductances(s);
  std::string& o = *out;
  o.reserve(o.size() + static_cast<size_t>(s.rows) * phys * 120);
  const bool lines = s.rline != 0.0;
  const bool caps = lines && s.cline > 0.0;
  const std::string rl = FormatNumber(s.rline), cl = FormatNumber(s.cline);

  if (lines) {
    o += "* word lines: rline segments from the driver node across the columns\n";
    for (int i = 0; i < s.rows; ++i) {
      for (int k = 0; k < phys; ++k) {
        const std::string prev = k == 0 ? WordIn(i) : WordNode(s, i, k - 1);
        o += fmt::format("rw_{}_{} {} {} {}\n", i, Label(s, k), prev, WordNode(s, i, k), rl);
      }
    }
    o += "* bit lines: rline segments down the rows to the sense end\n";
    for (int k = 0; k < phys; ++k) {
      for (int i = 0; i < s.rows; ++i) {
        const std::string next = i + 1 == s.rows ? BitOut(s, k) : BitNode(s, i + 1, k);
        o += fmt::format("rb_{}_{} {} {} {}\n", i, Label(s, k), BitNode(s, i, k), next, rl);
      }
    }
  }
  if (caps) {
    o += "* line capacitance at every cross-point node\n";
    for (int i = 0; i < s.rows; ++i) {
      for (int k = 0; k < phys; ++k) {
        o += fmt::format("cw_{}_{} {} 0 {}\n", i, Label(s, k), WordNode(s, i, k), cl);
        o += fmt::format("cb_{}_{} {} 0 {}\n", i, Label(s, k), BitNode(s, i, k), cl);
      }
    }
  }
  if (s.cell == CellKind::k1t1r) {
    o += "* gate lines of the 1T1R selectors\n";
    for (int i = 0; i < s.rows; ++i) {
      o += fmt::format("vgate_{} g_{} 0 dc {}\n", i, i, FormatNumber(s.gate_voltage));
    }
  }
  o += s.cell == CellKind::kResistor ? "* cells: resistors 1/G\n"
       : s.cell == CellKind::kMss    ? "* cells: MSS memristors, x0 from the conductance\n"
                                     : "* cells: MSS memristor in series with an NMOS selector\n";
  for (int i = 0; i < s.rows; ++i) {
    for (int k = 0; k < phys; ++k) {
      const double gik = g[static_cast<size_t>(i) * phys + k];
      const std::string w = WordNode(s, i, k), b = BitNode(s, i, k);
      if (s.cell == CellKind::kResistor) {
        o += fmt::format("r_{}_{} {} {} {}\n", i, Label(s, k), w, b, FormatNumber(1.0 / gik));
      } else if (s.cell == CellKind::k1t1r) {
        const std::string c = fmt::format("c{}_{}", i, Label(s, k));
        o += fmt::format("ymss m_{}_{} {} {} {} x0={}\n", i, Label(s, k), w, c, s.model,
                         FormatNumber(ConductanceToState(gik, s.ron, s.roff)));
        o += fmt::format("mt_{}_{} {} g_{} {} 0 {} w={} l={}\n", i, Label(s, k), c, i, b,
                         s.selector_model, FormatNumber(s.selector_w), FormatNumber(s.selector_l));
      } else {
        o += fmt::format("ymss m_{}_{} {} {} {} x0={}\n", i, Label(s, k), w, b, s.model,
                         FormatNumber(ConductanceToState(gik, s.ron, s.roff)));
      }
    }
  }
}

void WriteModel(const CrossbarSpec& s, std::string* out) {
  if (!HasMemristor(s)) return;
  if (s.cell == CellKind::k1t1r) *out += s.selector_card + "\n";
  if (!s.model_card.empty()) {
    *out += s.model_card;
    if (s.model_card.back() != '\n') *out += '\n';
  } else {
    *out += ".include " + s.include + "\n";
  }
}

}  // namespace

int PhysicalColumns(const CrossbarSpec& spec) {
  return spec.differential ? 2 * spec.cols : spec.cols;
}

std::string BitLineLabel(const CrossbarSpec& spec, int k) { return Label(spec, k); }

double ConductanceToState(double g, double ron, double roff) {
  const double x = (g - 1.0 / roff) / (1.0 / ron - 1.0 / roff);
  return std::clamp(x, 0.0, 1.0);
}

std::vector<double> CellConductances(const CrossbarSpec& s) {
  const int phys = PhysicalColumns(s);
  const size_t n = static_cast<size_t>(s.rows) * s.cols;
  std::vector<double> w = s.weights;
  if (w.empty()) {
    std::mt19937_64 gen(s.seed);
    w.resize(n);
    const double span = Gmax(s) - Gmin(s);
    for (double& v : w) {
      const double u = Uniform01(gen);
      v = s.differential ? (2.0 * u - 1.0) * span : Gmin(s) + u * span;
    }
  }
  std::vector<double> g(static_cast<size_t>(s.rows) * phys);
  for (int i = 0; i < s.rows; ++i) {
    for (int j = 0; j < s.cols; ++j) {
      const double wij = w[static_cast<size_t>(i) * s.cols + j];
      if (s.differential) {
        g[static_cast<size_t>(i) * phys + 2 * j] = Gmin(s) + std::max(wij, 0.0);
        g[static_cast<size_t>(i) * phys + 2 * j + 1] = Gmin(s) + std::max(-wij, 0.0);
      } else {
        g[static_cast<size_t>(i) * phys + j] = wij;
      }
    }
  }
  return g;
}

Status ValidateCrossbarSpec(const CrossbarSpec& s) {
  std::vector<std::string> errs;
  auto err = [&](std::string m) { errs.push_back(std::move(m)); };
  // Sizes first: nothing else can be checked against a bad shape.
  if (s.rows < 1) err(fmt::format("rows = {}: must be >= 1", s.rows));
  if (s.cols < 1) err(fmt::format("cols = {}: must be >= 1", s.cols));
  if (s.rows > 4096 || s.cols > 4096) {
    err(fmt::format("rows x cols = {} x {}: each must be <= 4096", s.rows, s.cols));
  } else if (s.rows >= 1 && s.cols >= 1 &&
             static_cast<long>(s.rows) * PhysicalColumns(s) > kMaxCrossPoints) {
    // The deck text would pass ~0.5 GB; such arrays need a generator that streams.
    err(fmt::format("rows x cols = {} x {}{}: more than {} cross points", s.rows, s.cols,
                    s.differential ? " (differential)" : "", kMaxCrossPoints));
  }
  if (!Finite(s.rline) || s.rline < 0) err(fmt::format("rline = {}: must be >= 0 ohm", s.rline));
  if (!Finite(s.cline) || s.cline < 0) err(fmt::format("cline = {}: must be >= 0 F", s.cline));
  const bool range_ok = Finite(s.ron) && Finite(s.roff) && s.ron > 0 && s.roff > s.ron;
  if (!range_ok) err(fmt::format("ron = {}, roff = {}: need 0 < ron < roff (ohm)", s.ron, s.roff));
  if (!Finite(s.amplitude)) err(fmt::format("amplitude = {}: must be finite", s.amplitude));
  if (!Finite(s.frequency) || s.frequency < 0)
    err(fmt::format("frequency = {}: must be >= 0 Hz", s.frequency));
  if (!Finite(s.tstop) || s.tstop <= 0) err(fmt::format("tstop = {}: must be > 0 s", s.tstop));
  if (s.steps < 1) err(fmt::format("steps = {}: must be >= 1", s.steps));
  if (s.sense == SenseKind::kResistor && (!Finite(s.rsense) || s.rsense <= 0))
    err(fmt::format("rsense = {}: must be > 0 ohm", s.rsense));
  if (s.cell == CellKind::k1t1r) {
    if (!Finite(s.gate_voltage))
      err(fmt::format("gate_voltage = {}: must be finite", s.gate_voltage));
    if (!Finite(s.selector_w) || s.selector_w <= 0 || !Finite(s.selector_l) || s.selector_l <= 0)
      err(fmt::format("selector w = {}, l = {}: must be > 0 m", s.selector_w, s.selector_l));
    if (s.selector_model.empty() || s.selector_model.find_first_of(" \t\r\n") != std::string::npos)
      err(fmt::format("selector_model = '{}': must be a model name without spaces",
                      s.selector_model));
    if (s.selector_card.find(s.selector_model) == std::string::npos)
      err(fmt::format("selector_card does not define the model '{}'", s.selector_model));
  }
  if (HasMemristor(s)) {
    if (s.model.empty() || s.model.find_first_of(" \t\r\n") != std::string::npos)
      err(fmt::format("model = '{}': must be a model name without spaces", s.model));
    if (s.model_card.empty() && s.include.empty())
      err("MSS cells need a model card (model_card) or a library to include (include)");
  }
  if (s.rows >= 1) {
    auto check_rows = [&](const std::vector<double>& v, const char* what) {
      if (v.empty()) return;
      if (static_cast<int>(v.size()) != s.rows) {
        err(fmt::format("{}: {} values given, expected one per row ({})", what, v.size(), s.rows));
        return;
      }
      for (int i = 0; i < s.rows; ++i)
        if (!Finite(v[i])) err(fmt::format("{}: row {}: value {} is not finite", what, i, v[i]));
    };
    check_rows(s.row_amplitude, "row_amplitude");
    check_rows(s.row_frequency, "row_frequency");
    check_rows(s.row_phase, "row_phase");
  }
  if (s.rows >= 1 && s.cols >= 1 && range_ok && !s.weights.empty()) {
    const size_t n = static_cast<size_t>(s.rows) * s.cols;
    if (s.weights.size() != n) {
      err(fmt::format("weights: {} values given, expected rows x cols = {} x {} = {}",
                      s.weights.size(), s.rows, s.cols, n));
    } else {
      const double lo = Gmin(s), hi = Gmax(s), span = hi - lo;
      int reported = 0;
      for (int i = 0; i < s.rows; ++i) {
        for (int j = 0; j < s.cols; ++j) {
          const double w = s.weights[static_cast<size_t>(i) * s.cols + j];
          std::string m;
          // A relative slack of 1e-12 lets values written as 1/R round-trip through text.
          if (!Finite(w)) {
            m = fmt::format("weights: row {}, col {}: value {} is not finite", i, j, w);
          } else if (s.differential && std::abs(w) > span * (1 + 1e-12)) {
            m = fmt::format(
                "weights: row {}, col {}: signed weight {} S outside [-{}, {}] S "
                "(|W| <= 1/ron - 1/roff for a differential pair)",
                i, j, w, span, span);
          } else if (!s.differential && (w < lo * (1 - 1e-12) || w > hi * (1 + 1e-12))) {
            m = fmt::format(
                "weights: row {}, col {}: conductance {} S outside [{}, {}] S (1/roff, 1/ron)", i,
                j, w, lo, hi);
          }
          if (m.empty()) continue;
          if (++reported <= 20) err(std::move(m));
        }
      }
      if (reported > 20) err(fmt::format("weights: {} more values out of range", reported - 20));
    }
  }
  if (errs.empty()) return Status::Ok();
  std::string msg = "invalid crossbar spec: " + errs[0];
  for (size_t e = 1; e < errs.size(); ++e) msg += "\ninvalid crossbar spec: " + errs[e];
  return Status::Error(msg, s.differential
                                ? "differential weights are signed conductances W = G+ - G- in S"
                                : "weights are cell conductances in S, between 1/roff and 1/ron");
}

Status GenerateCrossbarDeck(const CrossbarSpec& s, std::string* deck) {
  Status st = ValidateCrossbarSpec(s);
  if (!st.ok()) return st;
  const int phys = PhysicalColumns(s);
  std::string o;
  if (!s.title.empty()) {
    o += s.title + "\n";
  } else {
    o += fmt::format("* crossbar {}x{}{} {} cells, rline={} cline={} seed={}\n", s.rows, s.cols,
                     s.differential ? " differential" : "", CellName(s.cell), FormatNumber(s.rline),
                     FormatNumber(s.cline), s.seed);
  }
  if (!s.options.empty()) o += ".options " + s.options + "\n";
  WriteModel(s, &o);
  o += "* word-line drivers: SIN(vo va freq td theta phase)\n";
  for (int i = 0; i < s.rows; ++i) {
    o += fmt::format("vin_{} {} 0 dc 0 sin(0 {} {} 0 0 {})\n", i, WordIn(i),
                     FormatNumber(RowAmplitude(s, i)), FormatNumber(RowFrequency(s, i)),
                     FormatNumber(RowPhase(s, i)));
  }
  WriteArray(s, &o);
  o += s.sense == SenseKind::kZeroVolt ? "* sense: 0 V sources, column current = i(vsense_k)\n"
                                       : "* sense: resistors to ground\n";
  for (int k = 0; k < phys; ++k) {
    if (s.sense == SenseKind::kZeroVolt) {
      o += fmt::format("vsense_{} {} 0 dc 0\n", Label(s, k), BitOut(s, k));
    } else {
      o += fmt::format("rsense_{} {} 0 {}\n", Label(s, k), BitOut(s, k), FormatNumber(s.rsense));
    }
  }
  const double tstep = s.tstop / s.steps;
  if (s.max_step_is_tstep) {
    o += fmt::format(".tran {} {} 0 {}\n", FormatNumber(tstep), FormatNumber(s.tstop),
                     FormatNumber(tstep));
  } else {
    o += fmt::format(".tran {} {}\n", FormatNumber(tstep), FormatNumber(s.tstop));
  }
  if (s.save_sense) {
    // Several short lines: some readers limit the line length.
    for (int k = 0; k < phys; k += 16) {
      o += ".save";
      for (int kk = k; kk < std::min(phys, k + 16); ++kk) {
        o += s.sense == SenseKind::kZeroVolt ? fmt::format(" i(vsense_{})", Label(s, kk))
                                             : fmt::format(" v({})", BitOut(s, kk));
      }
      o += "\n";
    }
  }
  o += ".end\n";
  *deck = std::move(o);
  return Status::Ok();
}

std::string GenerateCrossbarDeck(const CrossbarSpec& spec) {
  std::string deck;
  Status st = GenerateCrossbarDeck(spec, &deck);
  if (!st.ok()) throw std::invalid_argument(st.message());
  return deck;
}

Status GenerateCrossbarSubckt(const CrossbarSpec& s, const std::string& name, std::string* text) {
  Status st = ValidateCrossbarSpec(s);
  if (!st.ok()) return st;
  if (name.empty() || name.find_first_of(" \t\r\n") != std::string::npos)
    return Status::Error(fmt::format("subcircuit name '{}' must be one word", name));
  const int phys = PhysicalColumns(s);
  std::string o;
  WriteModel(s, &o);
  std::string ports;
  for (int i = 0; i < s.rows; ++i) ports += fmt::format(" {}", WordIn(i));
  for (int k = 0; k < phys; ++k) ports += fmt::format(" {}", BitOut(s, k));
  o += fmt::format("* {}x{}{} crossbar: ports word-line inputs win_0..{}, then bit-line ends\n",
                   s.rows, s.cols, s.differential ? " differential" : "", s.rows - 1);
  o += ".subckt " + name + ports + "\n";
  WriteArray(s, &o);
  o += ".ends " + name + "\n";
  *text = std::move(o);
  return Status::Ok();
}

CrossbarCounts CountCrossbar(const CrossbarSpec& s) {
  CrossbarCounts c;
  const int phys = PhysicalColumns(s);
  const int cross = s.rows * phys;
  const bool lines = s.rline != 0.0;
  c.cells = cross;
  c.line_resistors = lines ? 2 * cross : 0;
  c.capacitors = lines && s.cline > 0 ? 2 * cross : 0;
  const bool zv = s.sense == SenseKind::kZeroVolt;
  const bool selectors = s.cell == CellKind::k1t1r;
  c.sources = s.rows + (zv ? phys : 0) + (selectors ? s.rows : 0);
  c.sense_resistors = zv ? 0 : phys;
  c.nodes = lines ? s.rows * (phys + 1) + phys * (s.rows + 1) : s.rows + phys;
  if (selectors) c.nodes += cross + s.rows;  // memristor-selector nodes, gate lines
  c.unknowns = c.nodes + c.sources + (HasMemristor(s) ? cross : 0);
  return c;
}

Status ParseWeightsCsv(std::string_view text, const std::string& file, int rows, int cols,
                       std::vector<double>* out) {
  std::vector<std::string> errs;
  std::vector<double> values;
  values.reserve(static_cast<size_t>(std::max(rows, 0)) * std::max(cols, 0));
  int row = 0, line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string line(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      if (eol == text.size()) break;
      continue;
    }
    // Comma or semicolon separated (fields trimmed; an empty field is an error), else whitespace.
    std::vector<std::string> clean;
    if (line.find_first_of(",;") != std::string::npos) {
      std::string cur;
      for (size_t c = 0; c <= line.size(); ++c) {
        if (c == line.size() || line[c] == ',' || line[c] == ';') {
          const size_t b0 = cur.find_first_not_of(" \t");
          const size_t b1 = cur.find_last_not_of(" \t");
          clean.push_back(b0 == std::string::npos ? "" : cur.substr(b0, b1 - b0 + 1));
          cur.clear();
        } else {
          cur += line[c];
        }
      }
    } else {
      std::istringstream ls(line);
      for (std::string tok; ls >> tok;) clean.push_back(tok);
    }
    if (row >= rows) {
      errs.push_back(fmt::format("{}:{}: extra row {}: expected {} rows x {} cols", file, line_no,
                                 row, rows, cols));
      ++row;
      if (eol == text.size()) break;
      continue;
    }
    if (static_cast<int>(clean.size()) != cols) {
      errs.push_back(fmt::format("{}:{}: row {} has {} values, expected {}", file, line_no, row,
                                 clean.size(), cols));
    }
    for (size_t f = 0; f < clean.size() && static_cast<int>(f) < cols; ++f) {
      const std::string& s = clean[f];
      char* end = nullptr;
      errno = 0;
      const double v = s.empty() ? 0.0 : std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) {
        errs.push_back(fmt::format("{}:{}: row {}, col {}: '{}' is not a finite number", file,
                                   line_no, row, f, s));
        values.push_back(0.0);
      } else {
        values.push_back(v);
      }
    }
    for (int f = static_cast<int>(clean.size()); f < cols; ++f) values.push_back(0.0);
    ++row;
    if (eol == text.size()) break;
  }
  if (row < rows)
    errs.push_back(
        fmt::format("{}: {} rows found, expected {} rows x {} cols", file, row, rows, cols));
  if (!errs.empty()) {
    std::string msg = errs[0];
    for (size_t e = 1; e < errs.size() && e < 20; ++e) msg += "\n" + errs[e];
    if (errs.size() > 20) msg += fmt::format("\n{}: {} more errors", file, errs.size() - 20);
    return Status::Error(msg, "one line per word line, one value per column");
  }
  *out = std::move(values);
  return Status::Ok();
}

Status ReadWeightsCsv(const std::string& path, int rows, int cols, std::vector<double>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error(fmt::format("cannot open weights file '{}'", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseWeightsCsv(ss.str(), path, rows, cols, out);
}

}  // namespace memspice::circuits
