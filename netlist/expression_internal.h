// Private to the netlist library: the expression tree, the compiled program and the
// position-aware parser entry used by the deck parser.
#ifndef MEMSPICE_NETLIST_EXPRESSION_INTERNAL_H_
#define MEMSPICE_NETLIST_EXPRESSION_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netlist/diagnostics.h"
#include "netlist/expression.h"

namespace memspice::netlist {

enum class ExprOp : uint8_t {
  kConst,
  kIdent,  // parameter or function argument (unresolved)
  kProbe,  // V(a), V(a,b), I(v)
  kTime,
  kTemper,
  kNeg,
  kNot,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kEq,
  kNe,
  kLt,
  kGt,
  kLe,
  kGe,
  kAnd,
  kOr,
  kTernary,  // args: cond, then, else
  kCall,     // name: function name; builtin after Resolve (fn set), user func before
};

// Built-in functions; kNone marks a call not (yet) bound to a builtin.
enum class Builtin : uint8_t {
  kNone,
  kSin,
  kCos,
  kTan,
  kAsin,
  kAcos,
  kAtan,
  kAtan2,
  kSinh,
  kCosh,
  kTanh,
  kExp,
  kLn,
  kLog10,
  kSqrt,
  kAbs,
  kMin,
  kMax,
  kPow,
  kPwr,
  kSgn,
  kFloor,
  kCeil,
  kInt,
  kNint,
  kLimit,
  kStep,
  kUramp,
  kAsinh,
  kAcosh,
  kAtanh,
};

class ExprNode {
 public:
  ExprOp op = ExprOp::kConst;
  Builtin fn = Builtin::kNone;
  double value = 0.0;    // kConst
  std::string name;      // kIdent, kCall
  Probe probe;           // kProbe
  int probe_index = -1;  // kProbe after Resolve: index into Expression::probes()
  std::vector<std::shared_ptr<const ExprNode>> args;
  int height = 1;  // levels below and including this node (bounded by kMaxExprHeight)
  SourceLoc loc;   // first character of the node's token
};

using NodePtr = std::shared_ptr<const ExprNode>;

// One stack-machine instruction. Operands are popped from the stack, the result pushed.
struct Instr {
  ExprOp op = ExprOp::kConst;
  Builtin fn = Builtin::kNone;
  uint8_t nargs = 0;  // kCall
  int index = 0;      // kProbe: probe index; jumps: target
  double value = 0.0;
};

// A resolved tree flattened into postfix order. kTernary is emitted as its three operands
// followed by a select (no jumps: evaluation has no side effects and nodes are cheap).
struct Program {
  std::vector<Instr> code;
  int max_depth = 0;
};

// Maps an offset in the parsed text to its source location (continuation lines keep their
// own line numbers, so a plain column offset is not enough).
using LocFn = std::function<SourceLoc(size_t offset)>;

// Parses an expression from text. If `end` is null the whole text must be one expression;
// otherwise parsing stops at the first token that cannot continue the expression (used for
// `.param a=1 b=2`) and *end receives the offset just past the expression.
NodePtr ParseExprTree(std::string_view text, const LocFn& loc_of, Diagnostics& diag,
                      size_t* end = nullptr);

// Maximum nesting of parentheses/operators in one expression, and of .func inlining.
inline constexpr int kMaxExprDepth = 200;
// Maximum height of a parsed tree: a flat chain `1+1+...` nests one level per operator, and the
// tree walkers recurse once per level.
inline constexpr int kMaxExprHeight = 1000;
inline constexpr int kMaxFuncDepth = 64;
// Bounds on a resolved tree (after .func inlining).
inline constexpr long kMaxResolvedNodes = 1000000;
inline constexpr int kMaxResolvedDepth = 2000;

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_EXPRESSION_INTERNAL_H_
