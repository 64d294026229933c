// Private to the netlist library: the subcircuit definition tree built from the card list,
// and the instance frames used while flattening it.
#ifndef MEMSPICE_NETLIST_PARSER_INTERNAL_H_
#define MEMSPICE_NETLIST_PARSER_INTERNAL_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "netlist/deck.h"
#include "netlist/expression.h"
#include "netlist/expression_internal.h"
#include "netlist/netlist.h"

namespace memspice::netlist {

inline constexpr int kMaxSubcktDepth = 64;
// Longest chain of parameters that depend on each other (bounds recursion).
inline constexpr size_t kMaxParamChain =
    200;  // ~10 frames per level: 400 overflowed 8 MB under ASan

struct ParamDef {
  std::string name;
  NodePtr expr;
  std::string text;
  SourceLoc loc;
};

struct ModelDef {
  const Card* card = nullptr;
  std::string name;
  std::string type;
  SourceLoc loc;
};

// One .subckt body (or the top level). Nested definitions are visible only inside.
struct SubcktDef {
  std::string name;
  SourceLoc loc;
  std::vector<std::string> ports;
  std::vector<ParamDef> defaults;  // `params: a=1`
  std::vector<ParamDef> params;    // .param cards of the body, in order
  std::map<std::string, FuncDef> funcs;
  std::map<std::string, ModelDef> models;
  std::vector<const Card*> elements;  // element and X cards, in order
  std::map<std::string, std::unique_ptr<SubcktDef>> subckts;
  SubcktDef* parent = nullptr;
  int depth = 0;
};

// One instance of a SubcktDef while flattening (the top level is the root frame).
struct Frame {
  struct Slot {
    const ParamDef* def = nullptr;  // null for values fixed by an X override or --set
    enum class State { kPending, kBusy, kDone } state = State::kPending;
    double value = 0.0;
    // Under `.dc temp`: the resolved value when it reads `temper`, inlined where the parameter
    // is used so that the use follows the sweep (ngspice re-evaluates such parameters).
    std::shared_ptr<const ExprNode> temper_tree;
  };
  const SubcktDef* def = nullptr;
  Frame* parent = nullptr;
  std::string prefix;                        // "" at top, "x1." inside X1, "x1.x2." ...
  std::map<std::string, std::string> ports;  // port name -> caller's flattened node
  std::map<std::string, Slot> params;
};

// Splits `name=value` pairs (values are expressions) from card text starting at `offset`;
// a `params:` keyword is skipped. Returns false after reporting on malformed input.
bool ParseAssignments(const Card& card, size_t offset, std::vector<ParamDef>* out,
                      Diagnostics& diag);

// Parses an expression that starts at `offset` of the card text. If `end` is non-null,
// parsing stops where the expression ends; otherwise the rest of the card must be consumed.
NodePtr ParseCardExpr(const Card& card, size_t offset, Diagnostics& diag, size_t* end);

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_PARSER_INTERNAL_H_
