#include "autodiff/objective.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/option_names.h"
#include "base/strings.h"

namespace memspice::autodiff {

namespace {

constexpr char kStatePrefix[] = "memspice_state_";

using base::Lower;
using base::Trim;

bool IsIdent(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '#';
}

// x(name) is not a probe of the expression language: rewrite it as a voltage probe of a reserved
// node name that Parse() maps back to the state unknown "x(name)".
std::string RewriteStates(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == 'x' || s[i] == 'X') && (i == 0 || !IsIdent(s[i - 1]))) {
      size_t j = i + 1;
      while (j < s.size() && s[j] == ' ') ++j;
      if (j < s.size() && s[j] == '(') {
        out += "v(";
        out += kStatePrefix;
        i = j;
        while (i + 1 < s.size() && s[i + 1] == ' ') ++i;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// Splits at top-level separators `sep` (outside parentheses).
std::vector<std::pair<size_t, std::string>> SplitTop(const std::string& s, char sep) {
  std::vector<std::pair<size_t, std::string>> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '(') ++depth;
    if (s[i] == ')') --depth;
    if (s[i] == sep && depth == 0) {
      parts.emplace_back(start, s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.emplace_back(start, s.substr(start));
  return parts;
}

Status ReadTarget(const std::string& path, const std::string& signal, std::vector<double>* t,
                  std::vector<double>* y) {
  std::ifstream in(path);
  if (!in) {
    return Status::Error(fmt::format("objective: cannot open target file '{}'", path),
                         "mse(signal, FILE) needs a CSV with a header row and a time column");
  }
  std::string line;
  std::vector<std::string> header;
  int col = -1;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty() || line[0] == '#') continue;
    std::vector<std::string> cells;
    for (auto& [pos, cell] : SplitTop(line, ',')) cells.push_back(Lower(Trim(cell)));
    if (header.empty()) {
      header = cells;
      for (size_t k = 1; k < header.size(); ++k) {
        if (header[k] == Lower(signal)) col = static_cast<int>(k);
      }
      // A file with one unnamed-signal column (e.g. "time,value") is the target; one whose
      // column names another signal is not silently compared against this one.
      const bool names_a_signal =
          header.size() == 2 && header[1].size() > 3 && header[1][1] == '(' &&
          (header[1][0] == 'v' || header[1][0] == 'i' || header[1][0] == 'x');
      if (col < 0 && header.size() == 2 && !names_a_signal) col = 1;
      if (col < 0) {
        std::string names;
        for (size_t k = 1; k < header.size(); ++k) names += (k > 1 ? ", " : "") + header[k];
        return Status::Error(
            fmt::format("objective: target file '{}' has no column '{}' (columns: {})", path,
                        signal, names),
            "name the target column like the signal (or give a two-column file whose second "
            "column is not named after another signal, e.g. time,target)");
      }
      continue;
    }
    if (static_cast<int>(cells.size()) <= col) {
      return Status::Error(fmt::format("objective: {}:{}: expected {} columns, found {}", path,
                                       lineno, header.size(), cells.size()));
    }
    char* end = nullptr;
    const double tv = std::strtod(cells[0].c_str(), &end);
    const bool ok_t = end != cells[0].c_str() && *end == '\0';
    const double yv = std::strtod(cells[col].c_str(), &end);
    const bool ok_y = end != cells[col].c_str() && *end == '\0';
    if (!ok_t || !ok_y || !std::isfinite(tv) || !std::isfinite(yv)) {
      return Status::Error(
          fmt::format("objective: {}:{}: not a finite number in the time or '{}' column", path,
                      lineno, header[col]));
    }
    if (!t->empty() && tv <= t->back()) {
      return Status::Error(fmt::format("objective: {}:{}: times must increase", path, lineno));
    }
    t->push_back(tv);
    y->push_back(yv);
  }
  if (t->empty())
    return Status::Error(fmt::format("objective: target file '{}' has no rows", path));
  return Status::Ok();
}

// Index k and weight a with value(T) = (1 - a) v[k] + a v[k+1]; false if T is outside.
bool Bracket(const std::vector<double>& times, double T, int* k, double* a) {
  const int n = static_cast<int>(times.size());
  if (n == 0) return false;
  const double tol = 1e-12 * std::max(std::abs(times.back()), 1e-300);
  if (T < times.front() - tol || T > times.back() + tol) return false;
  if (n == 1) {
    *k = 0;
    *a = 0.0;
    return true;
  }
  auto it = std::upper_bound(times.begin(), times.end(), T);
  int i = static_cast<int>(it - times.begin()) - 1;
  i = std::clamp(i, 0, n - 2);
  const double span = times[i + 1] - times[i];
  *k = i;
  *a = span > 0.0 ? std::clamp((T - times[i]) / span, 0.0, 1.0) : 0.0;
  return true;
}

// Splits an objective into signed terms at top-level + and - (not those of a number's exponent,
// 2e-3, nor after an operator, 2*-1).
Status SplitTerms(const std::string& text, std::vector<std::pair<double, std::string>>* pieces) {
  int depth = 0;
  double sign = 1.0;
  std::string cur;
  char last = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    const bool exponent = (last == 'e' || last == 'E') && cur.size() >= 2 &&
                          std::isdigit(static_cast<unsigned char>(cur[cur.size() - 2]));
    const bool after_op = last == '*' || last == '/' || last == '^';
    if (depth == 0 && (c == '+' || c == '-') && !exponent && !after_op) {
      if (!Trim(cur).empty()) pieces->emplace_back(sign, cur);
      sign = c == '-' ? -1.0 : 1.0;
      cur.clear();
      last = 0;
      continue;
    }
    cur += c;
    if (!std::isspace(static_cast<unsigned char>(c))) last = c;
  }
  if (depth != 0) return Status::Error(fmt::format("objective '{}': unbalanced parentheses", text));
  if (!Trim(cur).empty()) pieces->emplace_back(sign, cur);
  return Status::Ok();
}

// A coefficient of a term: a SPICE number or a .param of the deck.
Status Coefficient(const std::string& num, const std::string& term, const netlist::Netlist& netlist,
                   double* value) {
  std::optional<double> v = netlist::ParseSpiceNumber(num);
  if (!v) {
    auto p = netlist.params.find(Lower(num));
    if (p != netlist.params.end()) v = p->second;
  }
  if (!v || !std::isfinite(*v)) {
    return Status::Error(fmt::format("objective term '{}': '{}' is not a number", term, num));
  }
  *value = *v;
  return Status::Ok();
}

// Takes an optional `NUMBER *` prefix and `* NUMBER` suffix off the term `s` into `coef`.
Status TakeCoefficients(const netlist::Netlist& netlist, std::string* s, double* coef) {
  const size_t star = s->find('*');
  const size_t paren = s->find('(');
  if (star != std::string::npos && paren != std::string::npos && star < paren) {
    double v = 0.0;
    if (Status st = Coefficient(Trim(s->substr(0, star)), *s, netlist, &v); !st.ok()) return st;
    *coef *= v;
    *s = Trim(s->substr(star + 1));
  }
  if (!s->empty() && s->back() != ')') {
    const size_t rstar = s->rfind('*');
    if (rstar != std::string::npos && s->find(')', rstar) == std::string::npos) {
      double v = 0.0;
      if (Status st = Coefficient(Trim(s->substr(rstar + 1)), *s, netlist, &v); !st.ok()) {
        return st;
      }
      *coef *= v;
      *s = Trim(s->substr(0, rstar));
    }
  }
  return Status::Ok();
}

// The kind of a term and its number of arguments; false for an unknown kind.
bool ParseKind(const std::string& kind, Objective::Kind* k, size_t* args) {
  using K = Objective::Kind;
  static const std::pair<const char*, std::pair<K, size_t>> kKinds[] = {
      {"integral", {K::kIntegral, 1}},
      {"final", {K::kFinal, 1}},
      {"mean", {K::kMean, 1}},
      {"at", {K::kAt, 2}},
      {"mse", {K::kMse, 2}}};
  for (const auto& [name, kind_args] : kKinds) {
    if (kind == name) {
      *k = kind_args.first;
      *args = kind_args.second;
      return true;
    }
  }
  return false;
}

// The term's expression resolved against the deck's parameters (no functions).
Status ParseTermExpression(const std::string& expr_text, int col, const netlist::Netlist& netlist,
                           const std::string& term,
                           std::shared_ptr<netlist::Expression>* resolved) {
  netlist::Diagnostics diag;
  netlist::SourceLoc loc{"objective", 1, col};
  auto parsed = netlist::Expression::Parse(RewriteStates(expr_text), loc, diag);
  if (parsed) {
    netlist::Scope scope;
    scope.param = [&](const std::string& name) -> std::optional<double> {
      auto it = netlist.params.find(name);
      if (it == netlist.params.end()) return std::nullopt;
      return it->second;
    };
    scope.func = [](const std::string&) -> const netlist::FuncDef* { return nullptr; };
    *resolved = parsed->Resolve(scope, diag);
  }
  if (!*resolved || diag.has_errors()) {
    std::string msg = diag.items().empty() ? "invalid expression" : diag.items()[0].message;
    return Status::Error(fmt::format("objective term '{}': {}", term, msg));
  }
  return Status::Ok();
}

// The unknown read by one side of a voltage probe (-1: ground), a node or a state x(NAME).
Status ProbeNode(const std::string& node, const solver::Circuit& circuit, const std::string& term,
                 int* idx) {
  if (node.empty() || node == "0") return Status::Ok();
  if (node.rfind(kStatePrefix, 0) == 0) {
    const std::string name = "x(" + node.substr(sizeof(kStatePrefix) - 1) + ")";
    *idx = circuit.FindUnknown(name);
    if (*idx < 0) {
      return Status::Error(
          fmt::format("objective term '{}': {} is not a state of the circuit", term, name),
          "states are named after their device, e.g. x(m1) or x(xn1.m1)");
    }
    return Status::Ok();
  }
  *idx = circuit.FindNode(node);
  if (*idx < 0) {
    return Status::Error(
        fmt::format("objective term '{}': node '{}' is not in the circuit", term, node));
  }
  return Status::Ok();
}

// The unknowns of every probe of the expression: (plus, minus) per probe, -1 for none.
Status ResolveProbes(const netlist::Expression& expr, const solver::Circuit& circuit,
                     const std::string& term, std::vector<int>* plus, std::vector<int>* minus) {
  for (const auto& p : expr.probes()) {
    int a = -1, b = -1;
    if (p.kind == netlist::Probe::Kind::kCurrent) {
      a = circuit.FindBranch(p.a);
      if (a < 0) {
        return Status::Error(
            fmt::format("objective term '{}': i({}) is not a branch current", term, p.a),
            "i() reads voltage sources, inductors and other branch elements");
      }
    } else {
      if (Status s = ProbeNode(p.a, circuit, term, &a); !s.ok()) return s;
      if (Status s = ProbeNode(p.b, circuit, term, &b); !s.ok()) return s;
    }
    plus->push_back(a);
    minus->push_back(b);
  }
  return Status::Ok();
}

}  // namespace

Status Objective::Parse(const std::string& text, const netlist::Netlist& netlist,
                        const solver::Circuit& circuit, Objective* out) {
  out->text_ = text;
  out->terms_.clear();
  if (Trim(text).empty())
    return Status::Error("objective is empty",
                         "e.g. " + base::Opt("objective") + " 'final(v(out))'");
  std::vector<std::pair<double, std::string>> pieces;
  if (Status st = SplitTerms(text, &pieces); !st.ok()) return st;
  for (auto& [sign, raw] : pieces) {
    Term term;
    std::string s = Trim(raw);
    term.text = s;
    term.coef = sign;
    if (Status st = TakeCoefficients(netlist, &s, &term.coef); !st.ok()) return st;
    const size_t open = s.find('(');
    if (open == std::string::npos || s.back() != ')') {
      return Status::Error(
          fmt::format("objective term '{}' is not KIND(...)", term.text),
          "kinds: integral(expr), final(expr), at(expr, T), mean(expr), mse(signal, FILE)");
    }
    const std::string kind = Lower(Trim(s.substr(0, open)));
    const std::string inner = s.substr(open + 1, s.size() - open - 2);
    auto args = SplitTop(inner, ',');
    size_t want = 1;
    if (!ParseKind(kind, &term.kind, &want)) {
      return Status::Error(
          fmt::format("objective term '{}': unknown kind '{}'", term.text, kind),
          "kinds: integral(expr), final(expr), at(expr, T), mean(expr), mse(signal, FILE)");
    }
    if (args.size() != want) {
      return Status::Error(fmt::format("objective term '{}': {}() takes {} argument{}, got {}",
                                       term.text, kind, want, want == 1 ? "" : "s", args.size()));
    }
    const std::string expr_text = Trim(args[0].second);
    const int col = static_cast<int>(open + 2 + args[0].first);
    std::shared_ptr<netlist::Expression> resolved;
    Status st = ParseTermExpression(expr_text, col, netlist, term.text, &resolved);
    if (!st.ok()) return st;
    st = ResolveProbes(*resolved, circuit, term.text, &term.plus, &term.minus);
    if (!st.ok()) return st;
    term.expr = resolved;
    if (term.kind == Kind::kAt) {
      const std::string ts = Trim(args[1].second);
      std::optional<double> v = netlist::ParseSpiceNumber(ts);
      if (!v || !std::isfinite(*v)) {
        return Status::Error(
            fmt::format("objective term '{}': time '{}' is not a number", term.text, ts));
      }
      term.at_time = *v;
    }
    if (term.kind == Kind::kMse) {
      std::string file = Trim(args[1].second);
      if (file.size() >= 2 && (file.front() == '"' || file.front() == '\'')) {
        file = file.substr(1, file.size() - 2);
      }
      st = ReadTarget(file, expr_text, &term.target_t, &term.target_y);
      if (!st.ok()) return st;
    }
    out->terms_.push_back(std::move(term));
  }
  return Status::Ok();
}

double Objective::TermValue(int k, const double* x, double t, double weight, double* dx) const {
  const Term& term = terms_[k];
  const size_t np = term.plus.size();
  double pv[64], dp[64];
  std::vector<double> pv_big, dp_big;
  double* pvals = pv;
  double* dprobes = dp;
  if (np > 64) {
    pv_big.resize(np);
    dp_big.resize(np);
    pvals = pv_big.data();
    dprobes = dp_big.data();
  }
  for (size_t i = 0; i < np; ++i) {
    const double a = term.plus[i] >= 0 ? x[term.plus[i]] : 0.0;
    const double b = term.minus[i] >= 0 ? x[term.minus[i]] : 0.0;
    pvals[i] = a - b;
  }
  const double v = term.expr->Evaluate(pvals, t, 27.0, dx != nullptr ? dprobes : nullptr);
  if (dx != nullptr && weight != 0.0) {
    for (size_t i = 0; i < np; ++i) {
      if (term.plus[i] >= 0) dx[term.plus[i]] += weight * dprobes[i];
      if (term.minus[i] >= 0) dx[term.minus[i]] -= weight * dprobes[i];
    }
  }
  return v;
}

Status Objective::Combine(const std::vector<double>& times,
                          const std::vector<std::vector<double>>& values, double* objective,
                          std::vector<std::vector<double>>* dvalues) const {
  const int n = static_cast<int>(times.size());
  dvalues->assign(terms_.size(), std::vector<double>(n, 0.0));
  double total = 0.0;
  if (n == 0) return Status::Error("objective: the trajectory is empty");
  for (size_t k = 0; k < terms_.size(); ++k) {
    const Term& term = terms_[k];
    const std::vector<double>& e = values[k];
    std::vector<double>& de = (*dvalues)[k];
    double j = 0.0;
    switch (term.kind) {
      case Kind::kFinal:
        j = e[n - 1];
        de[n - 1] = 1.0;
        break;
      case Kind::kIntegral:
      case Kind::kMean: {
        const double span = times[n - 1] - times[0];
        const double scale = term.kind == Kind::kMean ? (span > 0 ? 1.0 / span : 0.0) : 1.0;
        if (term.kind == Kind::kMean && n == 1) {
          j = e[0];
          de[0] = 1.0;
          break;
        }
        for (int i = 1; i < n; ++i) {
          const double w = 0.5 * (times[i] - times[i - 1]) * scale;
          j += w * (e[i - 1] + e[i]);
          de[i - 1] += w;
          de[i] += w;
        }
        break;
      }
      case Kind::kAt: {
        int i = 0;
        double a = 0.0;
        if (!Bracket(times, term.at_time, &i, &a)) {
          return Status::Error(
              fmt::format("objective term '{}': time {:g} s is outside the "
                          "simulated span [{:g}, {:g}] s",
                          term.text, term.at_time, times.front(), times.back()));
        }
        j = (1.0 - a) * e[i] + (n > 1 ? a * e[i + 1] : 0.0);
        de[i] += 1.0 - a;
        if (n > 1) de[i + 1] += a;
        break;
      }
      case Kind::kMse: {
        int used = 0;
        std::vector<std::pair<int, double>> br;
        std::vector<double> resid;
        for (size_t r = 0; r < term.target_t.size(); ++r) {
          int i = 0;
          double a = 0.0;
          if (!Bracket(times, term.target_t[r], &i, &a)) continue;
          const double s = (1.0 - a) * e[i] + (n > 1 ? a * e[i + 1] : 0.0);
          br.emplace_back(i, a);
          resid.push_back(s - term.target_y[r]);
          ++used;
        }
        if (used == 0) {
          return Status::Error(
              fmt::format("objective term '{}': no target time lies in the "
                          "simulated span [{:g}, {:g}] s",
                          term.text, times.front(), times.back()));
        }
        for (int r = 0; r < used; ++r) {
          j += resid[r] * resid[r] / used;
          const double g = 2.0 * resid[r] / used;
          de[br[r].first] += g * (1.0 - br[r].second);
          if (n > 1) de[br[r].first + 1] += g * br[r].second;
        }
        break;
      }
    }
    total += term.coef * j;
    for (double& d : de) d *= term.coef;
  }
  *objective = total;
  return Status::Ok();
}

}  // namespace memspice::autodiff
