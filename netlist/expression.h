// Expressions of the ngspice dialect: arithmetic, comparisons, `? :`, `&& ||`, math functions,
// `.func` calls, parameters, and the circuit probes V(a), V(a,b), I(vsrc), `time`, `temper`.
//
// Parsing gives an unresolved tree. Resolve() binds it to a scope: parameters and .func bodies
// become constants/inlined trees; what is left symbolic are probes, `time` and `temper`. A
// resolved expression evaluates to a value and its derivatives with respect to its probes, which
// is what a behavioural source needs for its Jacobian.
#ifndef MEMSPICE_NETLIST_EXPRESSION_H_
#define MEMSPICE_NETLIST_EXPRESSION_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netlist/diagnostics.h"

namespace memspice::netlist {

// A circuit quantity an expression reads.
struct Probe {
  enum class Kind { kVoltage, kCurrent };
  Kind kind = Kind::kVoltage;
  std::string a;  // kVoltage: positive node; kCurrent: element name (e.g. "v1", "x1.vsense")
  std::string b;  // kVoltage: negative node, empty means ground
  bool operator==(const Probe& o) const { return kind == o.kind && a == o.a && b == o.b; }
};

class ExprNode;  // opaque tree node, defined in expression_internal.h
struct Program;  // compiled postfix form of a resolved tree, defined in expression_internal.h

// A user function from `.func name(args) {body}`.
struct FuncDef {
  std::string name;
  std::vector<std::string> args;
  std::shared_ptr<const ExprNode> body;
  SourceLoc loc;
};

// Name lookup used by Resolve(): parameters by name, user functions by name. Lookups are
// case-insensitive (callers pass lower case). Returning nullopt/nullptr means "unknown".
struct Scope {
  std::function<std::optional<double>(const std::string&)> param;
  // A parameter to inline as a tree rather than as its value (one that reads `temper` under
  // `.dc temp`), or nullptr.
  std::function<std::shared_ptr<const ExprNode>(const std::string&)> param_tree;
  std::function<const FuncDef*(const std::string&)> func;
  // Maps a node or element name written inside the expression to its flattened name
  // (subcircuit instances prefix "x1."). Identity when empty.
  std::function<std::string(const std::string&)> map_node;
  std::function<std::string(const std::string&)> map_element;
  // Monte Carlo draws for agauss/gauss (gaussian: N(0, 1)) and aunif/unif (U(-1, 1)); when
  // empty these functions are errors.
  std::function<double(bool gaussian)> random;
};

class Expression {
 public:
  // Parses `text` (without surrounding braces or quotes). `loc` is the location of text[0];
  // errors are reported at the exact column. Returns nullptr on error.
  static std::shared_ptr<Expression> Parse(std::string_view text, const SourceLoc& loc,
                                           Diagnostics& diag);

  // Binds parameters and functions. Returns nullptr (and reports) on unknown names, wrong
  // arity, recursion. Probes are renamed through scope.map_node/map_element.
  std::shared_ptr<Expression> Resolve(const Scope& scope, Diagnostics& diag) const;

  // True if the resolved expression reads no probe, `time` or `temper`.
  bool IsConstant() const;
  bool uses_time() const;
  bool uses_temper() const { return uses_temper_; }
  // Probes in a fixed order; Evaluate's probe arrays follow this order.
  const std::vector<Probe>& probes() const { return probes_; }

  // Value at the given probe values; if dprobes is non-null it receives d(value)/d(probe_k).
  // Parameters are constants here; call only on resolved expressions.
  double Evaluate(const double* probe_values, double time, double temper,
                  double* dprobes = nullptr) const;
  // Evaluate a constant expression (no probes).
  double EvaluateConstant() const { return Evaluate(nullptr, 0.0, 27.0, nullptr); }

  const std::string& text() const { return text_; }
  const SourceLoc& loc() const { return loc_; }
  std::shared_ptr<const ExprNode> root() const { return root_; }

  // Builds an expression around an existing tree (used for .func bodies and by Resolve).
  Expression(std::shared_ptr<const ExprNode> root, std::string text, SourceLoc loc);

 private:
  std::shared_ptr<const ExprNode> root_;
  std::string text_;
  SourceLoc loc_;
  std::vector<Probe> probes_;
  bool uses_time_ = false;
  bool uses_temper_ = false;
  // Set when the tree has no unresolved names (parameters, user functions); Evaluate runs it.
  std::shared_ptr<const Program> program_;
};

using Expr = std::shared_ptr<const Expression>;

// Parses a number with SPICE engineering suffixes (f p n u m k meg g t mil, case-insensitive;
// trailing letters after a suffix are ignored as ngspice does: "10uF", "1kohm"). Returns nullopt
// if `text` does not start with a number or has junk that is not letters.
std::optional<double> ParseSpiceNumber(std::string_view text);

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_EXPRESSION_H_
