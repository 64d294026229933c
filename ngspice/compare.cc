#include "ngspice/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "base/strings.h"

namespace memspice::ngspice {
namespace {

using base::Lower;

bool IsCurrent(const std::string& name) { return name.size() > 2 && name.compare(0, 2, "i(") == 0; }

enum class Kind { kOp, kDc, kTran, kOther };

Kind KindOf(const io::WaveformTable& t) {
  std::string a = Lower(t.analysis);
  if (a.rfind("operating", 0) == 0) return Kind::kOp;
  if (a.rfind("transient", 0) == 0 || Lower(t.scale_name) == "time") return Kind::kTran;
  if (a.rfind("dc", 0) == 0) return Kind::kDc;
  if (t.scale_name.empty()) return Kind::kOp;
  return Kind::kOther;
}

bool NonDecreasing(const std::vector<double>& v) {
  for (size_t i = 1; i < v.size(); ++i) {
    if (!(v[i] >= v[i - 1])) return false;
  }
  return true;
}

// Whether two scales are the same point set in the same order (nested DC sweeps repeat values).
bool SameScale(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  double span = 0.0;
  for (double v : a) span = std::max(span, std::abs(v));
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::abs(a[i] - b[i]) > 1e-9 * std::max(span, 1e-30) + 1e-300) return false;
  }
  return true;
}

// Values of one signal on the comparison grid, for both tables.
struct Accum {
  double max_abs = -1.0, at = 0.0, ref_at = 0.0, test_at = 0.0;
  double sum_sq = 0.0, weight = 0.0;
  double rmin = std::numeric_limits<double>::infinity();
  double rmax = -std::numeric_limits<double>::infinity();
  double prev_e = 0.0, prev_x = 0.0;
  bool first = true;
  bool bad = false;

  // time_weighted: trapezoidal integral of e^2 over x; else plain mean of e^2.
  void Add(double x, double r, double t, bool time_weighted) {
    if (!std::isfinite(r) || !std::isfinite(t)) {
      bad = true;
      return;
    }
    double e = std::abs(t - r);
    if (e > max_abs) {
      max_abs = e;
      at = x;
      ref_at = r;
      test_at = t;
    }
    rmin = std::min(rmin, r);
    rmax = std::max(rmax, r);
    const double es = t - r;
    if (time_weighted) {
      // Both tables are piecewise linear on the union grid, so the error is linear on each
      // interval and its square integrates exactly to h (a^2 + ab + b^2) / 3.
      if (!first) {
        sum_sq += (x - prev_x) * (prev_e * prev_e + prev_e * es + es * es) / 3.0;
        weight += x - prev_x;
      }
      prev_e = es;
      prev_x = x;
    } else {
      sum_sq += es * es;
      weight += 1.0;
      prev_e = es;
    }
    first = false;
  }
  double Rms() const {
    if (weight > 0) return std::sqrt(sum_sq / weight);
    return std::abs(prev_e);  // single point (or zero-length interval)
  }
};

}  // namespace

double Interpolate(const io::WaveformTable& table, int j, double x) {
  const auto& s = table.scale;
  const size_t n = table.rows.size();
  if (n == 0) return std::nan("");
  if (s.size() != n || n == 1 || x <= s.front()) return table.rows.front()[j];
  if (x >= s.back()) return table.rows.back()[j];
  // First index with s[i] > x; the interval is [i-1, i].
  size_t i = static_cast<size_t>(std::upper_bound(s.begin(), s.end(), x) - s.begin());
  size_t lo = i - 1;
  double x0 = s[lo], x1 = s[i];
  double y0 = table.rows[lo][j], y1 = table.rows[i][j];
  if (x1 <= x0) return y1;
  double w = (x - x0) / (x1 - x0);
  return y0 + w * (y1 - y0);
}

namespace {

// Phase columns (ph(...)) made continuous along the scale: a jump of more than 180 degrees
// between neighbours is taken as a wrap, so that two tables wrapping at slightly different
// frequencies compare by their true difference.
void UnwrapPhases(io::WaveformTable* t) {
  for (size_t j = 0; j < t->names.size(); ++j) {
    if (t->names[j].rfind("ph(", 0) != 0) continue;
    double shift = 0.0;
    for (size_t k = 1; k < t->rows.size(); ++k) {
      const double jump = t->rows[k][j] + shift - t->rows[k - 1][j];
      shift -= 360.0 * std::round(jump / 360.0);
      t->rows[k][j] += shift;
    }
  }
}

// Complex (.ac) tables are compared as magnitude in dB and unwrapped phase in degrees; a
// selected signal `v(out)` stands for both of its columns.
Status CompareComplex(const io::WaveformTable& ref, const io::WaveformTable& test,
                      const CompareOptions& options, TableComparison* out) {
  if (!ref.complex || !test.complex) {
    return Status::Error(
        fmt::format("cannot compare '{}' (reference) with '{}' (test): only one "
                    "of them is complex",
                    ref.analysis, test.analysis));
  }
  CompareOptions polar = options;
  polar.signals.clear();
  for (const std::string& s : options.signals) {
    if (ref.Find(s) >= 0 || test.Find(s) >= 0) {
      polar.signals.push_back("db(" + Lower(s) + ")");
      polar.signals.push_back("ph(" + Lower(s) + ")");
    } else {
      polar.signals.push_back(s);
    }
  }
  io::WaveformTable r = io::MagnitudePhase(ref), t = io::MagnitudePhase(test);
  UnwrapPhases(&r);
  UnwrapPhases(&t);
  return CompareTables(r, t, polar, out);
}

// The compared columns (reference, test) and their names: the selected signals, else every signal
// in both tables (the others listed in out->only_in_*).
Status SelectSignals(const io::WaveformTable& ref, const io::WaveformTable& test,
                     const CompareOptions& options, std::vector<std::pair<int, int>>* cols,
                     std::vector<std::string>* names, TableComparison* out) {
  if (!options.signals.empty()) {
    std::vector<std::string> missing;
    for (const auto& s : options.signals) {
      int jr = ref.Find(s), jt = test.Find(s);
      if (jr < 0 || jt < 0) {
        missing.push_back(fmt::format("{} (missing in {})", Lower(s),
                                      jr < 0 && jt < 0 ? "both"
                                      : jr < 0         ? "reference"
                                                       : "test"));
        continue;
      }
      cols->emplace_back(jr, jt);
      names->push_back(Lower(s));
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      std::string avail;
      for (const auto& n : ref.names) avail += (avail.empty() ? "" : " ") + n;
      return Status::Error(fmt::format("'{}': selected signals not found: {}", ref.analysis, list),
                           fmt::format("reference signals: {}", avail));
    }
  } else {
    for (size_t jr = 0; jr < ref.names.size(); ++jr) {
      int jt = test.Find(ref.names[jr]);
      if (jt < 0) {
        out->only_in_reference.push_back(ref.names[jr]);
        continue;
      }
      cols->emplace_back(static_cast<int>(jr), jt);
      names->push_back(ref.names[jr]);
    }
    for (const auto& n : test.names) {
      if (ref.Find(n) < 0) out->only_in_test.push_back(n);
    }
    if (cols->empty() && !(ref.names.empty() && test.names.empty())) {
      return Status::Error(fmt::format("'{}': no signal in common", ref.analysis),
                           "the reference and the test name their signals differently");
    }
  }
  return Status::Ok();
}

// Accumulates the differences of the columns `cols` point by point (same points) or on the union
// of both grids; sets out->points, from and to.
Status Accumulate(const io::WaveformTable& ref, const io::WaveformTable& test, Kind kr,
                  const std::vector<std::pair<int, int>>& cols, std::vector<Accum>* acc,
                  TableComparison* out) {
  const bool pointwise =
      kr == Kind::kOp || (ref.rows.size() == test.rows.size() &&
                          (ref.scale.empty() || SameScale(ref.scale, test.scale)));
  const bool time_weighted = kr == Kind::kTran && !pointwise;
  if (pointwise) {
    for (size_t k = 0; k < ref.rows.size(); ++k) {
      double x = ref.scale.empty() ? 0.0 : ref.scale[k];
      for (size_t c = 0; c < cols.size(); ++c) {
        (*acc)[c].Add(x, ref.rows[k][cols[c].first], test.rows[k][cols[c].second],
                      kr == Kind::kTran);
      }
    }
    out->points = static_cast<int>(ref.rows.size());
    if (!ref.scale.empty()) {
      out->from = ref.scale.front();
      out->to = ref.scale.back();
    }
  } else {
    if (ref.scale.size() != ref.rows.size() || test.scale.size() != test.rows.size()) {
      return Status::Error(fmt::format("'{}': table without a scale", ref.analysis));
    }
    if (!NonDecreasing(ref.scale) || !NonDecreasing(test.scale)) {
      return Status::Error(
          fmt::format("'{}': {} points in the reference, {} in the test, and the scale is not "
                      "monotonic (nested sweep?)",
                      ref.analysis, ref.rows.size(), test.rows.size()),
          "nested DC sweeps can only be compared when both have the same points");
    }
    double lo = std::max(ref.scale.front(), test.scale.front());
    double hi = std::min(ref.scale.back(), test.scale.back());
    double span_ref = ref.scale.back() - ref.scale.front();
    if (hi < lo) {
      return Status::Error(
          fmt::format("'{}': scales do not overlap (reference [{:g}, {:g}], "
                      "test [{:g}, {:g}])",
                      ref.analysis, ref.scale.front(), ref.scale.back(), test.scale.front(),
                      test.scale.back()));
    }
    double eps = 1e-12 * std::max(std::abs(hi), std::abs(lo)) + 1e-300;
    if (hi - lo < span_ref * (1.0 - 1e-6) - eps) {
      out->notes.push_back(fmt::format(
          "compared on [{:g}, {:g}] only: reference covers [{:g}, {:g}], test [{:g}, {:g}]", lo, hi,
          ref.scale.front(), ref.scale.back(), test.scale.front(), test.scale.back()));
    }
    std::vector<double> grid;
    grid.reserve(ref.scale.size() + test.scale.size());
    for (double x : ref.scale)
      if (x >= lo && x <= hi) grid.push_back(x);
    for (double x : test.scale)
      if (x >= lo && x <= hi) grid.push_back(x);
    std::sort(grid.begin(), grid.end());
    std::vector<double> unique;
    for (double x : grid) {
      if (unique.empty() || x - unique.back() > eps) unique.push_back(x);
    }
    for (double x : unique) {
      for (size_t c = 0; c < cols.size(); ++c) {
        (*acc)[c].Add(x, Interpolate(ref, cols[c].first, x), Interpolate(test, cols[c].second, x),
                      time_weighted);
      }
    }
    out->points = static_cast<int>(unique.size());
    out->from = lo;
    out->to = hi;
  }
  return Status::Ok();
}

// Each compared signal's metrics and verdict against the tolerances.
Status Verdict(const io::WaveformTable& ref, const std::vector<std::string>& names,
               const std::vector<Accum>& acc, const CompareOptions& options, TableComparison* out) {
  out->pass = true;
  std::vector<std::string> bad;
  for (size_t c = 0; c < names.size(); ++c) {
    const Accum& a = acc[c];
    if (a.bad) {
      bad.push_back(names[c]);
      continue;
    }
    SignalComparison s;
    s.name = names[c];
    const double atol = IsCurrent(s.name) ? options.atol_current : options.atol_voltage;
    s.max_abs = std::max(a.max_abs, 0.0);
    s.rms = a.Rms();
    // A single point (operating point) has no range: its magnitude is the natural scale.
    const double spread =
        out->points == 1 ? std::max(std::abs(a.rmax), std::abs(a.rmin)) : a.rmax - a.rmin;
    s.range = std::max(spread, atol);
    s.max_rel = s.max_abs / s.range;
    s.rms_rel = s.rms / s.range;
    s.at = a.at;
    s.ref_at = a.ref_at;
    s.test_at = a.test_at;
    s.pass =
        s.max_abs <= options.rtol * s.range + atol && s.rms <= options.rms_rtol * s.range + atol;
    out->pass = out->pass && s.pass;
    out->signals.push_back(s);
  }
  if (!bad.empty()) {
    std::string list;
    for (const auto& b : bad) list += (list.empty() ? "" : ", ") + b;
    out->pass = false;
    return Status::Error(fmt::format("'{}': NaN or Inf in {}", ref.analysis, list),
                         "one of the simulators produced non-finite values");
  }
  return Status::Ok();
}

}  // namespace

Status CompareTables(const io::WaveformTable& ref, const io::WaveformTable& test,
                     const CompareOptions& options, TableComparison* out) {
  if (ref.complex || test.complex) return CompareComplex(ref, test, options, out);
  *out = TableComparison();
  out->analysis = ref.analysis;
  const Kind kr = KindOf(ref), kt = KindOf(test);
  if (kr != kt) {
    return Status::Error(fmt::format("cannot compare '{}' (reference) with '{}' (test)",
                                     ref.analysis, test.analysis),
                         "the two tables come from different analyses");
  }
  if (ref.rows.empty() || test.rows.empty()) {
    return Status::Error(fmt::format("'{}': {} has no points", ref.analysis,
                                     ref.rows.empty() ? "the reference" : "the test table"));
  }
  std::vector<std::pair<int, int>> cols;  // (ref column, test column)
  std::vector<std::string> names;
  if (Status s = SelectSignals(ref, test, options, &cols, &names, out); !s.ok()) return s;
  for (const auto& t : {&ref, &test}) {
    for (const auto& row : t->rows) {
      if (row.size() != t->names.size()) {
        return Status::Error(fmt::format("'{}': malformed table (row width)", t->analysis));
      }
    }
  }
  std::vector<Accum> acc(cols.size());
  if (Status s = Accumulate(ref, test, kr, cols, &acc, out); !s.ok()) return s;
  return Verdict(ref, names, acc, options, out);
}

std::string FormatComparison(const TableComparison& c, const CompareOptions& options) {
  std::string s = fmt::format("{} ({} points", c.analysis, c.points);
  if (c.to > c.from) s += fmt::format(", {:g} .. {:g}", c.from, c.to);
  s += fmt::format("; pass: max <= {:g}% and rms <= {:g}% of range, or atol {:g} V / {:g} A)\n",
                   100 * options.rtol, 100 * options.rms_rtol, options.atol_voltage,
                   options.atol_current);
  size_t w = 6;
  for (const auto& sig : c.signals) w = std::max(w, sig.name.size());
  s += fmt::format("  {:<{}}  {:>11}  {:>9}  {:>9}  {:>11}  {:>11}  {}\n", "signal", w, "max abs",
                   "max %rng", "rms %rng", "at", "range", "result");
  for (const auto& sig : c.signals) {
    s += fmt::format("  {:<{}}  {:>11.4g}  {:>9.4f}  {:>9.4f}  {:>11.4g}  {:>11.4g}  {}\n",
                     sig.name, w, sig.max_abs, 100 * sig.max_rel, 100 * sig.rms_rel, sig.at,
                     sig.range, sig.pass ? "PASS" : "FAIL");
  }
  for (const auto& n : c.notes) s += fmt::format("  note: {}\n", n);
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    std::string l;
    for (const auto& n : v) l += (l.empty() ? "" : " ") + n;
    s += fmt::format("  not compared ({}): {}\n", what, l);
  };
  list("only in reference", c.only_in_reference);
  list("only in test", c.only_in_test);
  return s;
}

std::string FormatDeckComparison(const DeckComparison& c, const CompareOptions& options) {
  std::string s;
  for (const auto& a : c.analyses) s += FormatComparison(a, options);
  if (!c.ngspice_dir.empty()) s += fmt::format("ngspice files kept in {}\n", c.ngspice_dir);
  s += fmt::format("memspice {:.3f} s, ngspice {:.3f} s: {}\n", c.memspice_seconds,
                   c.ngspice_seconds, c.pass ? "PASS" : "FAIL");
  return s;
}

std::vector<std::string> ReadSignalsHeader(const std::string& deck_path) {
  std::vector<std::string> out;
  std::ifstream f(deck_path);
  std::string line;
  while (std::getline(f, line)) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] != '*') continue;
    std::string rest = Lower(line.substr(b + 1));
    size_t k = rest.find_first_not_of(" \t");
    if (k == std::string::npos || rest.compare(k, 8, "signals:") != 0) continue;
    std::istringstream in(rest.substr(k + 8));
    std::string tok;
    while (in >> tok) out.push_back(tok);
  }
  return out;
}

}  // namespace memspice::ngspice
