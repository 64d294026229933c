// Expression parsing (recursive descent), resolution against a scope, constant folding, and
// evaluation of the compiled postfix program with forward-mode derivatives w.r.t. probes.
//
// Numerical guards (ngspice aborts or yields inf/NaN in these cases; a Newton loop needs finite
// values, so we clamp and document it in docs/netlist.md):
//   a/b      |b| < 1e-32 is replaced by +-1e-32 as ngspice does (b == 0 counts as positive)
//   ln, log10 of x <= 1e-300 evaluate at 1e-300 (derivative 0 below that)
//   sqrt(x < 0) = 0 (derivative 0); asin/acos clamp their argument to [-1, 1]
//   exp(x > 700) continues linearly with slope exp(700)
//   x^y, pow(x,y) = |x|^y as ngspice B sources (use pwr() for sign(x)|x|^y)
//   every intermediate value and partial derivative is clamped to [-1e300, 1e300], NaN -> 0.
#include "netlist/expression.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numbers>
#include <optional>
#include <utility>

#include "base/strings.h"
#include "netlist/expression_internal.h"
#include "netlist/netlist.h"

namespace memspice::netlist {
namespace {

constexpr double kHuge = 1e300;
constexpr double kTiny = 1e-300;
constexpr double kMinDivisor = 1e-32;
constexpr double kExpLimit = 700.0;
// Largest pwl() table (it becomes a chain of that many ternaries).
constexpr size_t kMaxPwlPoints = 500;

double Sanitize(double v) {
  if (std::isnan(v)) return 0.0;
  if (v > kHuge) return kHuge;
  if (v < -kHuge) return -kHuge;
  return v;
}

// Bytes >= 0x80 are letters of non-ASCII names (UTF-8 or Latin-1), as ngspice reads them.
bool IsIdentStart(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

using base::Lower;

struct BuiltinInfo {
  const char* name;
  Builtin fn;
  int arity;
};

// `if` is not here: it becomes a kTernary node.
constexpr BuiltinInfo kBuiltins[] = {
    {"sin", Builtin::kSin, 1},     {"cos", Builtin::kCos, 1},     {"tan", Builtin::kTan, 1},
    {"asin", Builtin::kAsin, 1},   {"acos", Builtin::kAcos, 1},   {"atan", Builtin::kAtan, 1},
    {"arctan", Builtin::kAtan, 1}, {"atan2", Builtin::kAtan2, 2}, {"sinh", Builtin::kSinh, 1},
    {"cosh", Builtin::kCosh, 1},   {"tanh", Builtin::kTanh, 1},   {"exp", Builtin::kExp, 1},
    {"ln", Builtin::kLn, 1},       {"log", Builtin::kLn, 1},      {"log10", Builtin::kLog10, 1},
    {"sqrt", Builtin::kSqrt, 1},   {"abs", Builtin::kAbs, 1},     {"min", Builtin::kMin, 2},
    {"max", Builtin::kMax, 2},     {"pow", Builtin::kPow, 2},     {"pwr", Builtin::kPwr, 2},
    {"sgn", Builtin::kSgn, 1},     {"sign", Builtin::kSgn, 1},    {"floor", Builtin::kFloor, 1},
    {"ceil", Builtin::kCeil, 1},   {"int", Builtin::kInt, 1},     {"nint", Builtin::kNint, 1},
    {"limit", Builtin::kLimit, 3}, {"u", Builtin::kStep, 1},      {"uramp", Builtin::kUramp, 1},
    {"asinh", Builtin::kAsinh, 1}, {"acosh", Builtin::kAcosh, 1}, {"atanh", Builtin::kAtanh, 1},
};

const BuiltinInfo* FindBuiltin(const std::string& name) {
  for (const BuiltinInfo& b : kBuiltins) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

int Arity(ExprOp op) {
  switch (op) {
    case ExprOp::kConst:
    case ExprOp::kIdent:
    case ExprOp::kProbe:
    case ExprOp::kTime:
    case ExprOp::kTemper:
      return 0;
    case ExprOp::kNeg:
    case ExprOp::kNot:
      return 1;
    case ExprOp::kTernary:
      return 3;
    case ExprOp::kCall:
      return -1;
    default:
      return 2;
  }
}

// x^y as ngspice B sources compute it: |x|^y for any sign of x (so (-2)^3 = 8); pwr() keeps
// the sign.
double PowGuarded(double a, double b, double* p) {
  const double ax = std::fabs(a);
  const double s = a < 0.0 ? -1.0 : 1.0;
  if (ax > 0.0) {
    double r = std::pow(ax, b);
    p[0] = s * b * std::pow(ax, b - 1.0);
    p[1] = r * std::log(ax);
    return r;
  }
  p[1] = 0.0;
  if (b > 1.0) {
    p[0] = 0.0;
    return 0.0;
  }
  if (b == 1.0) {
    p[0] = 1.0;
    return 0.0;
  }
  if (b > 0.0) {
    p[0] = kHuge;  // right derivative of x^b, 0 < b < 1, is +inf
    return 0.0;
  }
  p[0] = 0.0;
  return b == 0.0 ? 1.0 : kHuge;
}

// Piecewise functions: abs, min, max, sgn, rounding, limit, step, uramp (0 for other builtins).
double ApplyPiecewise(Builtin fn, const double* a, double* p) {
  const double x = a[0];
  switch (fn) {
    case Builtin::kAbs:
      p[0] = x >= 0.0 ? 1.0 : -1.0;
      return std::fabs(x);
    case Builtin::kMin:
      if (a[0] <= a[1]) {
        p[0] = 1.0;
        return a[0];
      }
      p[1] = 1.0;
      return a[1];
    case Builtin::kMax:
      if (a[0] >= a[1]) {
        p[0] = 1.0;
        return a[0];
      }
      p[1] = 1.0;
      return a[1];
    case Builtin::kSgn:
      return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    case Builtin::kFloor:
      return std::floor(x);
    case Builtin::kCeil:
      return std::ceil(x);
    case Builtin::kInt:
      return std::trunc(x);
    case Builtin::kNint:
      return std::nearbyint(x);  // halves to even, as ngspice
    case Builtin::kLimit: {
      double lo = a[1], hi = a[2];
      bool swapped = lo > hi;
      if (swapped) std::swap(lo, hi);
      if (x < lo) {
        p[swapped ? 2 : 1] = 1.0;
        return lo;
      }
      if (x > hi) {
        p[swapped ? 1 : 2] = 1.0;
        return hi;
      }
      p[0] = 1.0;
      return x;
    }
    case Builtin::kStep:
      return x > 0.0 ? 1.0 : (x < 0.0 ? 0.0 : 0.5);  // u(0) = 0.5 as ngspice
    case Builtin::kUramp:
      if (x > 0.0) {
        p[0] = 1.0;
        return x;
      }
      return 0.0;
    default:
      return 0.0;
  }
}

// exp, the logarithms, sqrt and the powers; the other builtins go on to ApplyPiecewise.
double ApplyExpLog(Builtin fn, const double* a, double* p) {
  const double x = a[0];
  switch (fn) {
    case Builtin::kExp: {
      if (x > kExpLimit) {
        double e = std::exp(kExpLimit);
        p[0] = e;
        return e * (1.0 + (x - kExpLimit));
      }
      double e = std::exp(x);
      p[0] = e;
      return e;
    }
    case Builtin::kLn:
    case Builtin::kLog10: {
      double scale = fn == Builtin::kLn ? 1.0 : 1.0 / std::log(10.0);
      if (x <= kTiny) return std::log(kTiny) * scale;
      p[0] = scale / x;
      return std::log(x) * scale;
    }
    case Builtin::kSqrt: {
      if (x < 0.0) return 0.0;
      if (x == 0.0) {
        p[0] = kHuge;  // right derivative
        return 0.0;
      }
      double s = std::sqrt(x);
      p[0] = 0.5 / s;
      return s;
    }
    case Builtin::kPow:
      return PowGuarded(a[0], a[1], p);
    case Builtin::kPwr: {
      double ax = std::fabs(x), s = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
      double q[3] = {0, 0, 0};
      double r = PowGuarded(ax, a[1], q);
      p[0] = q[0];  // d/dx sign(x)|x|^y = y|x|^(y-1)
      p[1] = s * q[1];
      return s * r;
    }
    default:
      return ApplyPiecewise(fn, a, p);
  }
}

// Trigonometric and hyperbolic functions and their inverses; the other builtins go on to
// ApplyExpLog.
double ApplyBuiltin(Builtin fn, const double* a, double* p) {
  const double x = a[0];
  switch (fn) {
    case Builtin::kSin:
      p[0] = std::cos(x);
      return std::sin(x);
    case Builtin::kCos:
      p[0] = -std::sin(x);
      return std::cos(x);
    case Builtin::kTan: {
      double c = std::cos(x);
      p[0] = 1.0 / (c * c);
      return std::tan(x);
    }
    case Builtin::kAsin:
    case Builtin::kAcos: {
      double xc = std::clamp(x, -1.0, 1.0);
      double d = (x > -1.0 && x < 1.0) ? 1.0 / std::sqrt(1.0 - x * x) : 0.0;
      if (fn == Builtin::kAsin) {
        p[0] = d;
        return std::asin(xc);
      }
      p[0] = -d;
      return std::acos(xc);
    }
    case Builtin::kAtan:
      p[0] = 1.0 / (1.0 + x * x);
      return std::atan(x);
    case Builtin::kAtan2: {
      double y = a[0], xx = a[1], r2 = y * y + xx * xx;
      if (r2 > 0.0) {
        p[0] = xx / r2;
        p[1] = -y / r2;
      }
      return std::atan2(y, xx);
    }
    case Builtin::kSinh:
      p[0] = std::cosh(x);
      return std::sinh(x);
    case Builtin::kCosh:
      p[0] = std::sinh(x);
      return std::cosh(x);
    case Builtin::kTanh: {
      double t = std::tanh(x);
      p[0] = 1.0 - t * t;
      return t;
    }
    case Builtin::kAsinh:
      p[0] = 1.0 / std::sqrt(x * x + 1.0);
      return std::asinh(x);
    case Builtin::kAcosh:
      if (x <= 1.0) return 0.0;  // domain x >= 1: clamped like acos, derivative 0 below
      p[0] = 1.0 / std::sqrt(x * x - 1.0);
      return std::acosh(x);
    case Builtin::kAtanh:
      if (x <= -1.0 || x >= 1.0) return x < 0.0 ? -kHuge : kHuge;  // the poles
      p[0] = 1.0 / (1.0 - x * x);
      return std::atanh(x);
    default:
      return ApplyExpLog(fn, a, p);
  }
}

// Applies one operation to its argument values; p receives d(result)/d(arg_k).
double ApplyOp(ExprOp op, Builtin fn, const double* a, int nargs, double* p) {
  p[0] = p[1] = p[2] = 0.0;
  switch (op) {
    case ExprOp::kNeg:
      p[0] = -1.0;
      return -a[0];
    case ExprOp::kNot:
      return a[0] == 0.0 ? 1.0 : 0.0;
    case ExprOp::kAdd:
      p[0] = p[1] = 1.0;
      return a[0] + a[1];
    case ExprOp::kSub:
      p[0] = 1.0;
      p[1] = -1.0;
      return a[0] - a[1];
    case ExprOp::kMul:
      p[0] = a[1];
      p[1] = a[0];
      return a[0] * a[1];
    case ExprOp::kDiv: {
      // ngspice B sources replace |b| < 1e-32 by +-1e-32 (1/0 = 1e32); the derivative w.r.t. b
      // is 0 there, consistent with the clamped value.
      double b = a[1];
      if (std::fabs(b) < kMinDivisor) {
        b = std::signbit(b) ? -kMinDivisor : kMinDivisor;
        p[0] = 1.0 / b;
        return a[0] / b;
      }
      p[0] = 1.0 / b;
      p[1] = -a[0] / b / b;
      return a[0] / b;
    }
    case ExprOp::kPow:
      return PowGuarded(a[0], a[1], p);
    case ExprOp::kEq:
      return a[0] == a[1] ? 1.0 : 0.0;
    case ExprOp::kNe:
      return a[0] != a[1] ? 1.0 : 0.0;
    case ExprOp::kLt:
      return a[0] < a[1] ? 1.0 : 0.0;
    case ExprOp::kGt:
      return a[0] > a[1] ? 1.0 : 0.0;
    case ExprOp::kLe:
      return a[0] <= a[1] ? 1.0 : 0.0;
    case ExprOp::kGe:
      return a[0] >= a[1] ? 1.0 : 0.0;
    case ExprOp::kAnd:
      return (a[0] != 0.0 && a[1] != 0.0) ? 1.0 : 0.0;
    case ExprOp::kOr:
      return (a[0] != 0.0 || a[1] != 0.0) ? 1.0 : 0.0;
    case ExprOp::kTernary:
      if (a[0] != 0.0) {
        p[1] = 1.0;
        return a[1];
      }
      p[2] = 1.0;
      return a[2];
    case ExprOp::kCall:
      break;
    default:
      return 0.0;
  }
  (void)nargs;
  return ApplyBuiltin(fn, a, p);
}

double ApplySanitized(ExprOp op, Builtin fn, const double* a, int nargs, double* p) {
  double r = Sanitize(ApplyOp(op, fn, a, nargs, p));
  for (int k = 0; k < 3; ++k) p[k] = Sanitize(p[k]);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
 public:
  Parser(std::string_view text, const LocFn& loc_of, Diagnostics& diag)
      : s_(text), loc_of_(loc_of), diag_(diag) {}

  NodePtr Parse(size_t* end) {
    NodePtr n = Ternary();
    if (failed_) return nullptr;
    SkipSpace();
    if (end != nullptr) {
      *end = pos_;
      return n;
    }
    if (pos_ < s_.size()) {
      Fail(pos_, fmt::format("unexpected '{}' in expression", s_[pos_]));
      return nullptr;
    }
    return n;
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  // Consumes `tok` if the text continues with it.
  bool Accept(std::string_view tok) {
    SkipSpace();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  bool Peek(std::string_view tok) {
    SkipSpace();
    return s_.substr(pos_, tok.size()) == tok;
  }
  void Fail(size_t at, std::string msg, std::string hint = "") {
    if (failed_) return;
    failed_ = true;
    diag_.Error(loc_of_(at), std::move(msg), std::move(hint));
  }
  std::string Describe(size_t at) {
    if (at >= s_.size()) return "end of expression";
    return fmt::format("'{}'", s_[at]);
  }

  // A new node; nullptr (reported) when the tree would grow higher than kMaxExprHeight.
  NodePtr Make(ExprOp op, size_t at, std::vector<NodePtr> args = {}) {
    auto n = std::make_shared<ExprNode>();
    n->op = op;
    n->loc = loc_of_(at);
    for (const NodePtr& a : args) n->height = std::max(n->height, a->height + 1);
    n->args = std::move(args);
    if (n->height > kMaxExprHeight) {
      Fail(pos_, fmt::format("expression has more than {} levels of operators", kMaxExprHeight),
           "split a long chain into several .param values");
      return nullptr;
    }
    return n;
  }

  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  bool TooDeep() {
    if (depth_ > kMaxExprDepth) {
      Fail(pos_, fmt::format("expression nested too deeply (more than {} levels)", kMaxExprDepth));
      return true;
    }
    return false;
  }

  NodePtr Ternary() {
    DepthGuard g(this);
    if (TooDeep()) return nullptr;
    SkipSpace();
    size_t at = pos_;
    NodePtr c = Binary(0);
    if (!c) return nullptr;
    if (Accept("?")) {
      NodePtr a = Ternary();
      if (!a) return nullptr;
      if (!Accept(":")) {
        Fail(pos_, fmt::format("expected ':' of '? :' but found {}", Describe(pos_)));
        return nullptr;
      }
      NodePtr b = Ternary();
      if (!b) return nullptr;
      return Make(ExprOp::kTernary, at, {c, a, b});
    }
    return c;
  }

  // Binary levels, lowest first: || && (== !=) (< > <= >=) (+ -) (* /).
  std::optional<ExprOp> MatchOp(int level) {
    SkipSpace();
    auto rest = s_.substr(pos_);
    auto starts = [&](std::string_view t) { return rest.substr(0, t.size()) == t; };
    switch (level) {
      case 0:
        if (starts("||")) return pos_ += 2, ExprOp::kOr;
        break;
      case 1:
        if (starts("&&")) return pos_ += 2, ExprOp::kAnd;
        break;
      case 2:
        if (starts("==")) return pos_ += 2, ExprOp::kEq;
        if (starts("!=")) return pos_ += 2, ExprOp::kNe;
        break;
      case 3:
        if (starts("<=")) return pos_ += 2, ExprOp::kLe;
        if (starts(">=")) return pos_ += 2, ExprOp::kGe;
        if (starts("<")) return pos_ += 1, ExprOp::kLt;
        if (starts(">")) return pos_ += 1, ExprOp::kGt;
        break;
      case 4:
        if (starts("+")) return pos_ += 1, ExprOp::kAdd;
        if (starts("-")) return pos_ += 1, ExprOp::kSub;
        break;
      case 5:
        if (starts("**")) return std::nullopt;
        if (starts("*")) return pos_ += 1, ExprOp::kMul;
        if (starts("/")) return pos_ += 1, ExprOp::kDiv;
        break;
    }
    return std::nullopt;
  }

  NodePtr Binary(int level) {
    if (level > 5) return Unary();
    SkipSpace();
    size_t at = pos_;
    NodePtr lhs = Binary(level + 1);
    if (!lhs) return nullptr;
    while (true) {
      std::optional<ExprOp> op = MatchOp(level);
      if (!op) return lhs;
      NodePtr rhs = Binary(level + 1);
      if (!rhs) return nullptr;
      lhs = Make(*op, at, {lhs, rhs});
      if (!lhs) return nullptr;
    }
  }

  NodePtr Unary() {
    DepthGuard g(this);
    if (TooDeep()) return nullptr;
    SkipSpace();
    size_t at = pos_;
    if (Accept("-")) {
      NodePtr a = Unary();
      if (!a) return nullptr;
      if (a->op == ExprOp::kConst) {
        auto n = std::make_shared<ExprNode>(*a);
        n->value = -a->value;
        n->loc = loc_of_(at);
        return n;
      }
      return Make(ExprOp::kNeg, at, {a});
    }
    if (Accept("+")) return Unary();
    if (!Peek("!=") && Accept("!")) {
      NodePtr a = Unary();
      if (!a) return nullptr;
      return Make(ExprOp::kNot, at, {a});
    }
    return Power();
  }

  // Left associative as in ngspice (2^3^2 = 64); the exponent may carry a sign (2^-1).
  NodePtr Power() {
    SkipSpace();
    size_t at = pos_;
    NodePtr base = Primary();
    if (!base) return nullptr;
    while (Accept("**") || Accept("^")) {
      NodePtr e = SignedPrimary();
      if (!e) return nullptr;
      base = Make(ExprOp::kPow, at, {base, e});
      if (!base) return nullptr;
    }
    return base;
  }

  NodePtr SignedPrimary() {
    DepthGuard g(this);
    if (TooDeep()) return nullptr;
    SkipSpace();
    size_t at = pos_;
    if (Accept("-")) {
      NodePtr a = SignedPrimary();
      if (!a) return nullptr;
      return Make(ExprOp::kNeg, at, {a});
    }
    if (Accept("+")) return SignedPrimary();
    return Primary();
  }

  NodePtr Number() {
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) {
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t q = pos_ + 1;
      if (q < s_.size() && (s_[q] == '+' || s_[q] == '-')) ++q;
      if (q < s_.size() && std::isdigit(static_cast<unsigned char>(s_[q]))) {
        pos_ = q;
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      }
    }
    // Take trailing letters and digits too, so that "1x5" is reported whole.
    while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
    std::string_view tok = s_.substr(start, pos_ - start);
    std::optional<double> v = ParseSpiceNumber(tok);
    if (!v) {
      Fail(start, fmt::format("'{}' is not a number; expected e.g. 1k, 2.5u, 1e-3", tok));
      return nullptr;
    }
    NodePtr n = Make(ExprOp::kConst, start);
    std::const_pointer_cast<ExprNode>(n)->value = *v;
    return n;
  }

  // V(a), V(a,b), I(v): arguments are names, not expressions.
  NodePtr ProbeCall(char kind, size_t at) {
    size_t close = s_.find(')', pos_);
    if (close == std::string_view::npos) {
      Fail(at, fmt::format("missing ')' after {}(", kind));
      return nullptr;
    }
    std::vector<std::string> names;
    size_t start = pos_;
    for (size_t i = pos_; i <= close; ++i) {
      if (i == close || s_[i] == ',') {
        std::string_view part = s_.substr(start, i - start);
        size_t b = part.find_first_not_of(" \t\r\n");
        size_t e = part.find_last_not_of(" \t\r\n");
        if (b == std::string_view::npos) {
          Fail(start, fmt::format("empty name in {}()", kind));
          return nullptr;
        }
        part = part.substr(b, e - b + 1);
        for (char c : part) {
          if (std::isspace(static_cast<unsigned char>(c)) || c == '(') {
            Fail(start + b, fmt::format("bad name '{}' in {}()", part, kind));
            return nullptr;
          }
        }
        names.push_back(Lower(part));
        start = i + 1;
      }
    }
    pos_ = close + 1;
    NodePtr n = Make(ExprOp::kProbe, at);
    ExprNode* m = std::const_pointer_cast<ExprNode>(n).get();
    if (kind == 'v') {
      if (names.size() > 2) {
        Fail(at, fmt::format("V() takes one or two node names, got {}", names.size()));
        return nullptr;
      }
      m->probe.kind = Probe::Kind::kVoltage;
      m->probe.a = names[0] == "gnd" ? "0" : names[0];
      if (names.size() == 2) m->probe.b = names[1] == "gnd" ? "0" : names[1];
      if (m->probe.b == "0") m->probe.b.clear();
    } else {
      if (names.size() != 1) {
        Fail(at, fmt::format("I() takes one source name, got {}", names.size()));
        return nullptr;
      }
      m->probe.kind = Probe::Kind::kCurrent;
      // ngspice's name of an element in a subcircuit, `v.x1.vs`, is memspice's `x1.vs`.
      const std::string canonical = CanonicalSignalName("i(" + names[0] + ")");
      m->probe.a = canonical.substr(2, canonical.size() - 3);
    }
    return n;
  }

  NodePtr Group(char close, size_t at) {
    NodePtr n = Ternary();
    if (!n) return nullptr;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == close) {
      ++pos_;
      return n;
    }
    Fail(pos_, fmt::format("expected '{}' but found {}", close, Describe(pos_)),
         fmt::format("the group opened at column {} is not closed", loc_of_(at).col));
    return nullptr;
  }

  NodePtr Primary() {
    SkipSpace();
    size_t at = pos_;
    if (pos_ >= s_.size()) {
      Fail(pos_, "unexpected end of expression");
      return nullptr;
    }
    char c = s_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < s_.size() &&
         std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
      return Number();
    }
    if (c == '(' || c == '{' || c == '\'') {
      ++pos_;
      return Group(c == '(' ? ')' : (c == '{' ? '}' : '\''), at);
    }
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < s_.size() && IsIdentChar(s_[pos_])) ++pos_;
      std::string name = Lower(s_.substr(start, pos_ - start));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == '(') {
        ++pos_;
        if (name == "v" || name == "i") return ProbeCall(name[0], at);
        std::vector<NodePtr> args;
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ')') {
          ++pos_;
        } else {
          while (true) {
            NodePtr a = Ternary();
            if (!a) return nullptr;
            args.push_back(a);
            if (Accept(",")) continue;
            if (Accept(")")) break;
            Fail(pos_, fmt::format("expected ',' or ')' in call of '{}' but found {}", name,
                                   Describe(pos_)));
            return nullptr;
          }
        }
        NodePtr n = Make(ExprOp::kCall, at, std::move(args));
        if (!n) return nullptr;
        std::const_pointer_cast<ExprNode>(n)->name = name;
        return n;
      }
      NodePtr n = Make(ExprOp::kIdent, at);
      std::const_pointer_cast<ExprNode>(n)->name = name;
      return n;
    }
    Fail(at, fmt::format("expected a number, name or '(' but found {}", Describe(at)));
    return nullptr;
  }

  std::string_view s_;
  const LocFn& loc_of_;
  Diagnostics& diag_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Resolution

class Resolver {
 public:
  Resolver(const Scope& scope, Diagnostics& diag) : scope_(scope), diag_(diag) {}

  using Bindings = std::map<std::string, NodePtr>;

  NodePtr Run(const NodePtr& n, const Bindings* bind, int func_depth) {
    if (failed_) return nullptr;
    // .func inlining can multiply the tree (f2(x) = f1(x)+f1(x), ...): bound size and depth.
    if (++visited_ > kMaxResolvedNodes || depth_ >= kMaxResolvedDepth) {
      Fail(n->loc, "expression too large after .func expansion",
           fmt::format("at most {} nodes and {} levels", kMaxResolvedNodes, kMaxResolvedDepth));
      return nullptr;
    }
    ++depth_;
    NodePtr r = RunNode(n, bind, func_depth);
    --depth_;
    return r;
  }

  NodePtr RunNode(const NodePtr& n, const Bindings* bind, int func_depth) {
    switch (n->op) {
      case ExprOp::kConst:
      case ExprOp::kTime:
      case ExprOp::kTemper:
        return n;
      case ExprOp::kIdent:
        return Ident(n, bind);
      case ExprOp::kProbe: {
        auto m = std::make_shared<ExprNode>(*n);
        if (m->probe.kind == Probe::Kind::kVoltage) {
          if (scope_.map_node) {
            m->probe.a = scope_.map_node(m->probe.a);
            if (!m->probe.b.empty()) m->probe.b = scope_.map_node(m->probe.b);
          }
          if (m->probe.a == m->probe.b) return Const(0.0, n->loc);
          if (m->probe.b == "0") m->probe.b.clear();
          if (m->probe.a == "0") {
            if (m->probe.b.empty()) return Const(0.0, n->loc);
            // V(0,b) = -V(b)
            auto inner = std::make_shared<ExprNode>(*m);
            inner->probe.a = m->probe.b;
            inner->probe.b.clear();
            auto neg = std::make_shared<ExprNode>();
            neg->op = ExprOp::kNeg;
            neg->loc = n->loc;
            neg->args = {inner};
            return neg;
          }
        } else if (scope_.map_element) {
          m->probe.a = scope_.map_element(m->probe.a);
        }
        return m;
      }
      case ExprOp::kCall:
        return Call(n, bind, func_depth);
      default:
        break;
    }
    std::vector<NodePtr> args;
    for (const NodePtr& a : n->args) {
      NodePtr r = Run(a, bind, func_depth);
      if (!r) return nullptr;
      args.push_back(std::move(r));
    }
    return Fold(n, std::move(args));
  }

  bool failed() const { return failed_; }

 private:
  NodePtr Const(double v, const SourceLoc& loc) {
    auto m = std::make_shared<ExprNode>();
    m->op = ExprOp::kConst;
    m->value = v;
    m->loc = loc;
    return m;
  }

  NodePtr Fold(const NodePtr& proto, std::vector<NodePtr> args) {
    bool all_const = std::all_of(args.begin(), args.end(),
                                 [](const NodePtr& a) { return a->op == ExprOp::kConst; });
    if (all_const && args.size() <= 3) {
      double v[3] = {0, 0, 0}, p[3];
      for (size_t k = 0; k < args.size(); ++k) v[k] = args[k]->value;
      return Const(ApplySanitized(proto->op, proto->fn, v, static_cast<int>(args.size()), p),
                   proto->loc);
    }
    // A ternary with a constant condition keeps only the chosen branch.
    if (proto->op == ExprOp::kTernary && args[0]->op == ExprOp::kConst) {
      return args[0]->value != 0.0 ? args[1] : args[2];
    }
    auto m = std::make_shared<ExprNode>(*proto);
    m->args = std::move(args);
    return m;
  }

  void Fail(const SourceLoc& loc, std::string msg, std::string hint = "") {
    if (failed_) return;
    failed_ = true;
    diag_.Error(loc, std::move(msg), std::move(hint));
  }

  NodePtr Ident(const NodePtr& n, const Bindings* bind) {
    if (bind != nullptr) {
      auto it = bind->find(n->name);
      if (it != bind->end()) return it->second;
    }
    if (n->name == "time") return Leaf(ExprOp::kTime, n->loc);
    if (n->name == "temper") return Leaf(ExprOp::kTemper, n->loc);
    if (scope_.param) {
      std::optional<double> v = scope_.param(n->name);
      NodePtr tree = v && scope_.param_tree ? scope_.param_tree(n->name) : nullptr;
      if (tree) return tree;
      if (v) return Const(*v, n->loc);
    }
    if (n->name == "pi") return Const(std::numbers::pi, n->loc);
    Fail(n->loc, fmt::format("unknown parameter '{}'", n->name),
         "define it with .param (or as a subcircuit parameter) before use");
    return nullptr;
  }

  NodePtr Leaf(ExprOp op, const SourceLoc& loc) {
    auto m = std::make_shared<ExprNode>();
    m->op = op;
    m->loc = loc;
    return m;
  }

  NodePtr Call(const NodePtr& n, const Bindings* bind, int func_depth) {
    std::vector<NodePtr> args;
    for (const NodePtr& a : n->args) {
      NodePtr r = Run(a, bind, func_depth);
      if (!r) return nullptr;
      args.push_back(std::move(r));
    }
    const FuncDef* user = scope_.func ? scope_.func(n->name) : nullptr;
    if (user != nullptr) {
      if (args.size() != user->args.size()) {
        Fail(n->loc,
             fmt::format("function '{}' takes {} argument{}, got {}", n->name, user->args.size(),
                         user->args.size() == 1 ? "" : "s", args.size()));
        return nullptr;
      }
      if (func_depth >= kMaxFuncDepth || !user->body) {
        Fail(n->loc, fmt::format("function '{}' calls itself (recursive .func)", n->name));
        return nullptr;
      }
      Bindings b;
      for (size_t k = 0; k < args.size(); ++k) b[user->args[k]] = args[k];
      return Run(user->body, &b, func_depth + 1);
    }
    if (std::optional<NodePtr> r = Composite(n, args)) return *r;
    const BuiltinInfo* b = FindBuiltin(n->name);
    if (b == nullptr) {
      Fail(n->loc, fmt::format("unknown function '{}'", n->name),
           "define it with .func or use a builtin such as sin, exp, sqrt, pwr, limit");
      return nullptr;
    }
    if (static_cast<int>(args.size()) != b->arity) {
      Fail(n->loc, fmt::format("function '{}' takes {} argument{}, got {}", n->name, b->arity,
                               b->arity == 1 ? "" : "s", args.size()));
      return nullptr;
    }
    auto proto = std::make_shared<ExprNode>(*n);
    proto->fn = b->fn;
    return Fold(proto, std::move(args));
  }

  bool Arity(const NodePtr& n, size_t got, size_t want) {
    if (got == want) return true;
    Fail(n->loc, fmt::format("function '{}' takes {} argument{}, got {}", n->name, want,
                             want == 1 ? "" : "s", got));
    return false;
  }

  NodePtr Node(ExprOp op, const NodePtr& proto, std::vector<NodePtr> args) {
    auto m = std::make_shared<ExprNode>(*proto);
    m->op = op;
    m->fn = Builtin::kNone;
    return Fold(m, std::move(args));
  }

  NodePtr Builtin3(Builtin fn, const NodePtr& proto, std::vector<NodePtr> args) {
    auto m = std::make_shared<ExprNode>(*proto);
    m->op = ExprOp::kCall;
    m->fn = fn;
    return Fold(m, std::move(args));
  }

  // Functions written in terms of other operations (ngspice's names for them): if and
  // ternary_fcn, the comparisons with 0, sqr, u2, pwl, the Monte Carlo draws; ddt is refused.
  // nullopt: not one of these; nullptr: reported error.
  std::optional<NodePtr> Composite(const NodePtr& n, std::vector<NodePtr>& args) {
    const std::string& f = n->name;
    if (f == "if" || f == "ternary_fcn") {
      if (!Arity(n, args.size(), 3)) return nullptr;
      return Node(ExprOp::kTernary, n, std::move(args));
    }
    static const std::pair<const char*, ExprOp> kZeroTests[] = {
        {"eq0", ExprOp::kEq}, {"ne0", ExprOp::kNe}, {"gt0", ExprOp::kGt},
        {"lt0", ExprOp::kLt}, {"ge0", ExprOp::kGe}, {"le0", ExprOp::kLe}};
    for (const auto& [name, op] : kZeroTests) {
      if (f != name) continue;
      if (!Arity(n, args.size(), 1)) return nullptr;
      return Node(op, n, {args[0], Const(0.0, n->loc)});
    }
    if (f == "sqr") {
      if (!Arity(n, args.size(), 1)) return nullptr;
      return Node(ExprOp::kMul, n, {args[0], args[0]});
    }
    if (f == "u2") {  // 0 below 0, x on [0, 1], 1 above
      if (!Arity(n, args.size(), 1)) return nullptr;
      return Builtin3(Builtin::kLimit, n, {args[0], Const(0.0, n->loc), Const(1.0, n->loc)});
    }
    if (f == "pwl") return Pwl(n, args);
    if (f == "agauss" || f == "gauss" || f == "aunif" || f == "unif") return Random(n, args);
    if (f == "ddt") {
      Fail(n->loc, "ddt() is not supported",
           "ngspice differentiates the argument numerically over the time steps; model the "
           "derivative with a capacitor (e.g. a C fed by a B source) instead");
      return nullptr;
    }
    return std::nullopt;
  }

  // pwl(x, x1, y1, x2, y2, ...): linear interpolation, continued linearly past both ends as
  // ngspice's B-source pwl does. Built as a chain of ternaries on x.
  NodePtr Pwl(const NodePtr& n, const std::vector<NodePtr>& args) {
    const size_t npts = args.size() >= 1 ? (args.size() - 1) / 2 : 0;
    if (args.size() % 2 == 0 || npts < 2 || npts > kMaxPwlPoints) {
      Fail(n->loc, fmt::format("pwl(x, x1, y1, x2, y2, ...) needs 2 to {} points, got {} "
                               "arguments",
                               kMaxPwlPoints, args.size()));
      return nullptr;
    }
    std::vector<double> xs, ys;
    for (size_t k = 1; k < args.size(); ++k) {
      if (args[k]->op != ExprOp::kConst) {
        Fail(args[k]->loc, "pwl() points must be constants");
        return nullptr;
      }
      (k % 2 == 1 ? xs : ys).push_back(args[k]->value);
    }
    for (size_t k = 1; k < npts; ++k) {
      if (xs[k] <= xs[k - 1]) {
        Fail(args[2 * k + 1]->loc,
             fmt::format("pwl() abscissas must be ascending: {} follows {}", xs[k], xs[k - 1]),
             "as in ngspice, each x is larger than the one before");
        return nullptr;
      }
    }
    const NodePtr& x = args[0];
    auto segment = [&](size_t k) {  // y_k + slope * (x - x_k)
      const double slope = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k]);
      NodePtr dx = Node(ExprOp::kSub, n, {x, Const(xs[k], n->loc)});
      return Node(ExprOp::kAdd, n,
                  {Const(ys[k], n->loc), Node(ExprOp::kMul, n, {Const(slope, n->loc), dx})});
    };
    NodePtr r = segment(npts - 2);
    for (size_t k = npts - 2; k-- > 0;) {
      NodePtr below = Node(ExprOp::kLt, n, {x, Const(xs[k + 1], n->loc)});
      r = Node(ExprOp::kTernary, n, {below, segment(k), r});
    }
    return r;
  }

  // agauss(nom, abs_dev, sigma), gauss(nom, rel_dev, sigma): nom + dev / sigma * N(0, 1);
  // aunif(nom, abs_dev), unif(nom, rel_dev): nom + dev * U(-1, 1). Relative forms scale the
  // deviation by nom. Drawn once, when the expression is resolved, from the deck's seed.
  NodePtr Random(const NodePtr& n, const std::vector<NodePtr>& args) {
    const std::string& f = n->name;
    const bool gaussian = f == "agauss" || f == "gauss";
    if (!Arity(n, args.size(), gaussian ? 3 : 2)) return nullptr;
    for (const NodePtr& a : args) {
      if (a->op != ExprOp::kConst) {
        Fail(a->loc, fmt::format("the arguments of {}() must be constants", f),
             "a random value is drawn once, when the deck is read");
        return nullptr;
      }
    }
    if (!scope_.random) {
      Fail(n->loc, fmt::format("{}() is not available here", f));
      return nullptr;
    }
    const double nom = args[0]->value;
    double dev = args[1]->value;
    if (f == "gauss" || f == "unif") dev *= nom;
    if (gaussian) {
      const double sigma = args[2]->value;
      if (sigma == 0.0) {
        Fail(args[2]->loc, fmt::format("{}() sigma must not be 0", f));
        return nullptr;
      }
      dev /= sigma;
    }
    return Const(nom + dev * scope_.random(gaussian), n->loc);
  }

  const Scope& scope_;
  Diagnostics& diag_;
  bool failed_ = false;
  long visited_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Compilation

bool Walk(const ExprNode& n, std::vector<Probe>& probes, bool& time, bool& temper, bool& resolved) {
  switch (n.op) {
    case ExprOp::kProbe:
      if (std::find(probes.begin(), probes.end(), n.probe) == probes.end()) {
        probes.push_back(n.probe);
      }
      break;
    case ExprOp::kTime:
      time = true;
      break;
    case ExprOp::kTemper:
      temper = true;
      break;
    case ExprOp::kIdent:
      resolved = false;
      break;
    case ExprOp::kCall:
      if (n.fn == Builtin::kNone) resolved = false;
      break;
    default:
      break;
  }
  for (const NodePtr& a : n.args) Walk(*a, probes, time, temper, resolved);
  return resolved;
}

void Emit(const ExprNode& n, const std::vector<Probe>& probes, Program& prog, int& depth) {
  for (const NodePtr& a : n.args) Emit(*a, probes, prog, depth);
  Instr in;
  in.op = n.op;
  in.fn = n.fn;
  in.value = n.value;
  in.nargs = static_cast<uint8_t>(n.args.size());
  if (n.op == ExprOp::kProbe) {
    in.index = static_cast<int>(std::find(probes.begin(), probes.end(), n.probe) - probes.begin());
  }
  prog.code.push_back(in);
  depth += 1 - static_cast<int>(n.args.size());
  prog.max_depth = std::max(prog.max_depth, depth + static_cast<int>(n.args.size()));
  prog.max_depth = std::max(prog.max_depth, depth);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::optional<double> ParseSpiceNumber(std::string_view text) {
  size_t i = 0, n = text.size();
  if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
  size_t mant_start = i;
  bool digits = false;
  while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  }
  if (!digits) return std::nullopt;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    size_t q = i + 1;
    if (q < n && (text[q] == '+' || text[q] == '-')) ++q;
    if (q < n && std::isdigit(static_cast<unsigned char>(text[q]))) {
      while (q < n && std::isdigit(static_cast<unsigned char>(text[q]))) ++q;
      i = q;
    }
  }
  (void)mant_start;
  std::string num(text.substr(0, i));
  double value = std::strtod(num.c_str(), nullptr);
  std::string_view rest = text.substr(i);
  // µ as the micro suffix, as ngspice reads it: UTF-8 micro sign or Greek mu, Latin-1 micro.
  bool micro = false;
  for (std::string_view mu : {"\xc2\xb5", "\xce\xbc", "\xb5"}) {
    if (!micro && rest.substr(0, mu.size()) == mu) {
      rest.remove_prefix(mu.size());
      micro = true;
    }
  }
  for (char c : rest) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::string r = Lower(rest);
  double scale = 1.0;
  if (micro) {
    scale = 1e-6;
  } else if (r.rfind("meg", 0) == 0) {
    scale = 1e6;
  } else if (r.rfind("mil", 0) == 0) {
    scale = 25.4e-6;
  } else if (!r.empty()) {
    switch (r[0]) {
      case 'f':
        scale = 1e-15;
        break;
      case 'p':
        scale = 1e-12;
        break;
      case 'n':
        scale = 1e-9;
        break;
      case 'u':
        scale = 1e-6;
        break;
      case 'm':
        scale = 1e-3;
        break;
      case 'k':
        scale = 1e3;
        break;
      case 'g':
        scale = 1e9;
        break;
      case 't':
        scale = 1e12;
        break;
      default:
        break;  // unit letters such as V, A, ohm, F are ignored
    }
  }
  value *= scale;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

NodePtr ParseExprTree(std::string_view text, const LocFn& loc_of, Diagnostics& diag, size_t* end) {
  Parser p(text, loc_of, diag);
  return p.Parse(end);
}

Expression::Expression(std::shared_ptr<const ExprNode> root, std::string text, SourceLoc loc)
    : root_(std::move(root)), text_(std::move(text)), loc_(std::move(loc)) {
  if (!root_) return;
  bool resolved = true;
  Walk(*root_, probes_, uses_time_, uses_temper_, resolved);
  if (resolved) {
    auto prog = std::make_shared<Program>();
    int depth = 0;
    Emit(*root_, probes_, *prog, depth);
    program_ = std::move(prog);
  }
}

std::shared_ptr<Expression> Expression::Parse(std::string_view text, const SourceLoc& loc,
                                              Diagnostics& diag) {
  LocFn loc_of = [&loc](size_t off) {
    SourceLoc l = loc;
    l.col += static_cast<int>(off);
    return l;
  };
  NodePtr root = ParseExprTree(text, loc_of, diag, nullptr);
  if (!root) return nullptr;
  return std::make_shared<Expression>(root, std::string(text), loc);
}

std::shared_ptr<Expression> Expression::Resolve(const Scope& scope, Diagnostics& diag) const {
  if (!root_) return nullptr;
  Resolver r(scope, diag);
  NodePtr root = r.Run(root_, nullptr, 0);
  if (!root) return nullptr;
  return std::make_shared<Expression>(root, text_, loc_);
}

bool Expression::IsConstant() const { return probes_.empty() && !uses_time_ && !uses_temper_; }

bool Expression::uses_time() const { return uses_time_; }

double Expression::Evaluate(const double* probe_values, double time, double temper,
                            double* dprobes) const {
  const size_t np = probes_.size();
  if (dprobes != nullptr) std::fill(dprobes, dprobes + np, 0.0);
  if (!program_) return 0.0;  // unresolved: misuse, documented in the header
  const Program& prog = *program_;
  const size_t ng = dprobes != nullptr ? np : 0;
  thread_local std::vector<double> vals, grads;
  if (vals.size() < static_cast<size_t>(prog.max_depth) + 1) vals.resize(prog.max_depth + 1);
  if (grads.size() < (prog.max_depth + 1) * ng) grads.resize((prog.max_depth + 1) * ng);
  int sp = 0;  // number of values on the stack
  for (const Instr& in : prog.code) {
    switch (in.op) {
      case ExprOp::kConst:
      case ExprOp::kTime:
      case ExprOp::kTemper:
      case ExprOp::kProbe: {
        double v = in.op == ExprOp::kConst  ? in.value
                   : in.op == ExprOp::kTime ? time
                   : in.op == ExprOp::kTemper
                       ? temper
                       : (probe_values != nullptr ? probe_values[in.index] : 0.0);
        vals[sp] = v;
        if (ng > 0) {
          double* g = &grads[sp * ng];
          std::fill(g, g + ng, 0.0);
          if (in.op == ExprOp::kProbe) g[in.index] = 1.0;
        }
        ++sp;
        break;
      }
      default: {
        int na = in.op == ExprOp::kCall ? in.nargs : Arity(in.op);
        int base = sp - na;
        double p[3];
        double r = ApplySanitized(in.op, in.fn, &vals[base], na, p);
        if (ng > 0) {
          double* out = &grads[base * ng];
          for (size_t j = 0; j < ng; ++j) {
            double acc = 0.0;
            for (int k = 0; k < na; ++k) {
              if (p[k] != 0.0) acc += p[k] * grads[(base + k) * ng + j];
            }
            out[j] = Sanitize(acc);
          }
        }
        vals[base] = r;
        sp = base + 1;
        break;
      }
    }
  }
  if (ng > 0) std::copy(grads.begin(), grads.begin() + ng, dprobes);
  return sp > 0 ? Sanitize(vals[0]) : 0.0;
}

}  // namespace memspice::netlist
