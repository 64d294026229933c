#include "devices/ngspice_expr.h"

#include <fmt/format.h>

#include <cctype>
#include <optional>

#include "base/strings.h"
#include "devices/mss_model.h"
#include "netlist/expression.h"

namespace memspice::devices::spice {

NgExpr::NgExpr(double v) : text_(fmt::format("{}", v)) {
  if (v < 0.0) text_ = "(" + text_ + ")";
}

bool NgExpr::IsNumber(double v) const { return text_ == NgExpr(v).text_; }

NgExpr& NgExpr::operator+=(const NgExpr& b) { return *this = *this + b; }
NgExpr& NgExpr::operator-=(const NgExpr& b) { return *this = *this - b; }

NgExpr operator+(const NgExpr& a, const NgExpr& b) {
  if (a.IsNumber(0.0)) return b;
  if (b.IsNumber(0.0)) return a;
  return NgExpr::Raw("(" + a.text() + "+" + b.text() + ")");
}

NgExpr operator-(const NgExpr& a, const NgExpr& b) {
  if (b.IsNumber(0.0)) return a;
  return NgExpr::Raw("(" + a.text() + "-" + b.text() + ")");
}

NgExpr operator*(const NgExpr& a, const NgExpr& b) {
  if (a.IsNumber(1.0)) return b;
  if (b.IsNumber(1.0)) return a;
  return NgExpr::Raw("(" + a.text() + "*" + b.text() + ")");
}

NgExpr operator/(const NgExpr& a, const NgExpr& b) {
  if (b.IsNumber(1.0)) return a;
  return NgExpr::Raw("(" + a.text() + "/" + b.text() + ")");
}

NgExpr operator-(const NgExpr& a) { return NgExpr::Raw("(-" + a.text() + ")"); }

NgExpr exp(const NgExpr& a) { return NgExpr::Raw("exp(" + a.text() + ")"); }

NgExpr Sigmoid(const NgExpr& z) {
  return NgExpr::Raw(
      fmt::format("(1/(1+exp(-max(min({},{}),{}))))", z.text(), kSigmoidClamp, -kSigmoidClamp));
}

NgExpr LimitedExp(const NgExpr& z) {
  const double k = mss::kMaxExpArg;
  return NgExpr::Raw(fmt::format("(exp(min({0},{1}))*(1+max({0}-{1},0)))", z.text(), k));
}

NgExpr Operand(const std::string& v) {
  if (v.empty()) return NgExpr(0.0);
  if (v.front() == '{' && v.back() == '}') return NgExpr::Raw("(" + v + ")");
  if (v.front() == '\'' && v.back() == '\'') {
    return NgExpr::Raw("({" + v.substr(1, v.size() - 2) + "})");
  }
  // A plain number (engineering suffixes allowed) is written out in full.
  const std::optional<double> d = netlist::ParseSpiceNumber(v);
  const bool numeric_start =
      std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '.' || v[0] == '-' || v[0] == '+';
  if (d && numeric_start) return NgExpr(*d);
  return NgExpr::Raw("({" + v + "})");
}

NgExpr Voltage(const std::string& p, const std::string& n) {
  const std::string low = base::Lower(n);
  if (low == "0" || low == "gnd") return NgExpr::Raw("V(" + p + ")");
  return NgExpr::Raw("V(" + p + "," + n + ")");
}

bool HasDiodeBranch(const NgExpr& phi) { return !phi.IsNumber(1.0); }

}  // namespace memspice::devices::spice
