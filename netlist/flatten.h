// Private to the netlist library: expands the SubcktDef tree into a flat Netlist.
//
// Parameters are evaluated lazily per frame (any order within a scope, cycles reported);
// X overrides are evaluated in the caller's frame. Element cards are parsed per instance
// (elements.cc), top-level dot cards after the elements are known (directives.cc).
#ifndef MEMSPICE_NETLIST_FLATTEN_H_
#define MEMSPICE_NETLIST_FLATTEN_H_

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "netlist/parser_internal.h"

namespace memspice::netlist {

// What a value that reads `temper` becomes under `.dc temp` (without it, every such value is
// evaluated at .temp). kFollow: the expression is kept in *follow under `key` and re-evaluated
// at each sweep temperature, as ngspice re-evaluates instance and .model parameters. kRefuse:
// an error, where ngspice rejects `temper` (source values, gains). kOnce: evaluated at .temp
// with a warning (dot-card arguments).
struct TemperRule {
  enum class Kind { kOnce, kFollow, kRefuse };
  Kind kind = Kind::kOnce;
  std::map<std::string, Expr>* follow = nullptr;
  std::string key;
};
inline TemperRule FollowTemper(std::map<std::string, Expr>* values, std::string key) {
  return {TemperRule::Kind::kFollow, values, std::move(key)};
}
inline TemperRule RefuseTemper() { return {TemperRule::Kind::kRefuse, nullptr, {}}; }

class Flattener {
 public:
  Flattener(const SubcktDef& top, const std::set<std::string>& globals, const ParseOptions& options,
            Diagnostics& diag, Netlist* out);

  // Applies --set overrides, evaluates top-level parameters and expands everything.
  void Run();
  // The deck has `.dc temp`: values that read `temper` follow the sweep where ngspice
  // re-evaluates them (TemperRule), and are refused or reported elsewhere.
  void set_sweeps_temperature(bool on) { sweeps_temp_ = on; }
  // Processes the top-level dot cards (after Run, so that sources and nodes are known).
  void Directives(const std::vector<const Card*>& cards);

 private:
  // --- frames and parameters (flatten.cc)
  uint64_t Seed();  // of the Monte Carlo functions: ParseOptions::seed, else `.options seed=`
  std::optional<double> LookupParam(Frame* f, const std::string& name);
  // The temper_tree (see Frame::Slot) of a parameter LookupParam has evaluated, or nullptr.
  std::shared_ptr<const ExprNode> LookupParamTree(Frame* f, const std::string& name);
  double EvaluateSlot(Frame* f, const std::string& name, Frame::Slot& slot);
  const FuncDef* LookupFunc(const Frame* f, const std::string& name) const;
  Scope MakeScope(Frame* f);
  std::string MapNode(const Frame* f, const std::string& node) const;
  // Flattened name of a model visible from f, and its definition; nullptr if unknown.
  const ModelDef* LookupModel(const Frame* f, const std::string& name, std::string* flat) const;
  const SubcktDef* LookupSubckt(const Frame* f, const std::string& name) const;
  void Expand(Frame* f);
  void Instantiate(Frame* f, const Card& card);
  void AddModel(Frame* f, const ModelDef& m);
  void AddElement(Element e, const SourceLoc& name_loc);

  // Values of tokens: a number, or a {expr}/'expr' that must be constant.
  std::optional<double> Value(Frame* f, const Card& card, const Token& tok, const std::string& what,
                              const TemperRule& rule = {});
  // Value of a constant expression at the deck temperature; what happens under `.dc temp` to
  // an expression that reads `temper` is up to `rule`. nullopt after an error.
  std::optional<double> Constant(const Expr& e, const std::string& what,
                                 const TemperRule& rule = {});
  // A resolved expression from a kExpr token or bare text starting at a token.
  Expr ResolveExpr(Frame* f, NodePtr root, std::string text, const SourceLoc& loc);
  Expr TokenExpr(Frame* f, const Card& card, const Token& tok);
  // Location just past the last token (where a missing item would go).
  static SourceLoc EndLoc(const Card& card);

  // --- elements (elements.cc)
  void ParseElement(Frame* f, const Card& card);
  struct KeyValue {
    const Token* key = nullptr;
    const Token* value = nullptr;  // null when a list was given
    std::vector<const Token*> list;
    bool is_list = false;
    const Token* comma = nullptr;  // the first ',' of a list written key=a,b,... (no parentheses)
  };
  struct Args {
    std::vector<const Token*> pos;
    std::vector<KeyValue> kv;
  };
  // Positional tokens and key=value pairs (key=(a b ...) a list); with `comma_lists`, also
  // key=a,b,... (M, Q, J: IC=vds,vgs,vbs), else a ',' after a value is an error.
  bool SplitArgs(const Card& card, size_t start, Args* args, bool comma_lists = false);
  // The rest of a list key=a,b,... after its first value (at *i: a ',' or the next argument).
  bool CommaList(const Card& card, size_t* i, KeyValue* kv);
  bool Nodes(Frame* f, const Card& card, const Args& args, size_t count, const std::string& what,
             Element* e);
  // key=value instance parameters into e->params; under `.dc temp` those written with `temper`
  // follow the sweep unless `refuse_temper` (then they are an error, as in ngspice).
  bool KvParams(Frame* f, const Card& card, const std::vector<KeyValue>& kv, Element* e,
                const std::set<std::string>& value_keys, bool refuse_temper = false);
  void TwoTerminal(Frame* f, const Card& card, Element e, const char* kind, const char* value_key);
  // An expression written without braces from token `tok` on (`(a ? b : c)`); *next_tok receives
  // the first token after it.
  Expr BareExpr(Frame* f, const Card& card, size_t tok, size_t* next_tok);
  // Moves tc1/tc2 of a behavioural element into its expression.
  static void FoldTempCoefficients(Element* e);
  void Source(Frame* f, const Card& card, Element e);
  // PULSE/SIN(E)/EXP/PWL starting at token *i; advances *i past it.
  static bool IsTimeFunction(const Token& tok);
  bool TimeFunction(Frame* f, const Card& card, size_t* i, Element* e);
  bool FunctionItems(const Card& card, size_t* i, const std::string& kind,
                     std::vector<const Token*>* items);
  bool PwlItems(const Card& card, size_t* i, std::vector<const Token*>* items, const Token** repeat,
                const Token** delay);
  bool PwlPoints(Frame* f, const Card& card, const Token& key,
                 const std::vector<const Token*>& items, const Token* repeat, const Token* delay,
                 std::vector<double>* args, Waveform* w);
  void Controlled(Frame* f, const Card& card, Element e);
  void CurrentControlled(Frame* f, const Card& card, Element e);
  void Behavioural(Frame* f, const Card& card, Element e);
  void Diode(Frame* f, const Card& card, Element e);
  // Model-based elements M, Q, J, S, W: nodes (between min_nodes and max_nodes; W also names a
  // controlling source), a model of one of `types`, then [area] [off|on] and key=value.
  void ModelElement(Frame* f, const Card& card, Element e, size_t min_nodes, size_t max_nodes,
                    const char* kind, std::vector<std::string> types, const char* usage);
  // IC=v1[,v2[,v3]] of an M, Q or J line into e->ic (at most 3, 2, 2 values, as ngspice); the
  // other key=value pairs stay in *kv. False after an error.
  bool InitialVoltages(Frame* f, const Card& card, const char* kind, std::vector<KeyValue>* kv,
                       Element* e);
  void Coupling(Frame* f, const Card& card, Element e);
  // E/G/F/H `POLY(n) controls... coefficients...`: becomes the equivalent behavioural element
  // (E/H: voltage VALUE=, G/F: current VALUE=). Returns after reporting on malformed cards.
  void Poly(Frame* f, const Card& card, Element e);
  void Table(Frame* f, const Card& card, Element e);
  void YDevice(Frame* f, const Card& card);

  // --- dot cards (directives.cc)
  void Tran(const Card& card);
  void Dc(const Card& card);
  void Ac(const Card& card);
  void InitialValues(const Card& card, std::vector<NodeValue>* out);
  void Options(const Card& card);
  void Outputs(const Card& card);
  std::optional<std::string> OutputName(const Card& card, size_t* i);
  std::optional<std::string> CurrentOutput(const Token& tok, const std::string& shown,
                                           const std::string& name);
  // Nodes of the flattened elements (and "0"); reports an unknown one at `tok`.
  const std::set<std::string>& KnownNodes();
  bool CheckNode(const Token& tok, const std::string& node, const std::string& what);
  const Element* FindElement(const std::string& name);

  const SubcktDef& top_def_;
  const std::set<std::string>& globals_;
  const ParseOptions& options_;
  Diagnostics& diag_;
  Netlist* out_;
  std::unique_ptr<Frame> root_;
  std::vector<std::unique_ptr<Frame>> frames_;
  std::vector<const SubcktDef*> stack_;  // defs being expanded (recursion check)
  std::vector<std::string> eval_stack_;  // params being evaluated (cycle path)
  std::unordered_map<std::string, SourceLoc> element_names_;
  bool too_large_ = false;
  bool sweeps_temp_ = false;
  std::set<std::string> known_nodes_;  // filled on first use, after the elements
  std::unordered_map<std::string, size_t> element_index_;  // by name, as known_nodes_
  std::mt19937_64 rng_;  // agauss/gauss/aunif/unif, seeded by `.options seed=`
};

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_FLATTEN_H_
