// Element cards: R C L V I E F G H B D Y (X is expanded in flatten.cc).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "base/strings.h"
#include "netlist/flatten.h"

namespace memspice::netlist {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// What ngspice 39 makes of a resistance of exactly 0 (or -0).
constexpr double kZeroResistance = 1e-3;
// Most (x, y) pairs of an E/G TABLE (each adds two levels of nesting to its expression).
constexpr size_t kMaxTablePoints = 200;
// ngspice 39 rounds each corner of a TABLE with a parabola over +- this fraction of the shorter
// adjacent segment between points (the end points: their one segment); measured against it.
constexpr double kTableRounding = 0.1;

Expr ConstantExpr(double v, const SourceLoc& loc) {
  auto n = std::make_shared<ExprNode>();
  n->op = ExprOp::kConst;
  n->value = v;
  n->loc = loc;
  return std::make_shared<const Expression>(n, fmt::format("{}", v), loc);
}

// e * (1 + tc1 (temper - 27) + tc2 (temper - 27)^2): ngspice's temperature factor of B sources
// and behavioural resistors, kept symbolic so that the value follows the analysis temperature.
Expr ScaleByTemperature(const Expr& e, double tc1, double tc2) {
  constexpr double kNominal = 27.0;  // TNOM, Celsius
  auto node = [&](ExprOp op, std::vector<NodePtr> args, double value = 0.0) {
    auto n = std::make_shared<ExprNode>();
    n->op = op;
    n->value = value;
    n->loc = e->loc();
    n->args = std::move(args);
    return NodePtr(n);
  };
  NodePtr dt = node(ExprOp::kSub, {node(ExprOp::kTemper, {}), node(ExprOp::kConst, {}, kNominal)});
  NodePtr lin = node(ExprOp::kMul, {node(ExprOp::kConst, {}, tc1), dt});
  NodePtr quad = node(ExprOp::kMul, {node(ExprOp::kConst, {}, tc2), node(ExprOp::kMul, {dt, dt})});
  NodePtr factor =
      node(ExprOp::kAdd, {node(ExprOp::kConst, {}, 1.0), node(ExprOp::kAdd, {lin, quad})});
  return std::make_shared<const Expression>(node(ExprOp::kMul, {e->root(), factor}), e->text(),
                                            e->loc());
}

bool IsValueToken(const Token& t) {
  return t.Is(Token::Kind::kExpr) || (t.Is(Token::Kind::kWord) && ParseSpiceNumber(t.text));
}

using base::Trim;

bool IsSourceKeyword(const std::string& w) {
  return w == "dc" || w == "ac" || w == "pulse" || w == "sin" || w == "sine" || w == "exp" ||
         w == "pwl" || w == "sffm" || w == "am" || w == "trnoise" || w == "trrandom" ||
         w == "distof1" || w == "distof2";
}

}  // namespace

bool Flattener::CommaList(const Card& card, size_t* i, KeyValue* kv) {
  const std::vector<Token>& t = card.tokens;
  while (*i < t.size() && t[*i].Is(Token::Kind::kComma)) {
    if (kv->comma == nullptr) {
      kv->comma = &t[*i];
      kv->list.push_back(kv->value);
      kv->value = nullptr;
      kv->is_list = true;
    }
    if (*i + 1 >= t.size() ||
        !(t[*i + 1].Is(Token::Kind::kWord) || t[*i + 1].Is(Token::Kind::kExpr))) {
      diag_.Error(t[*i].loc,
                  fmt::format("missing value after ',' in the list of '{}'", kv->key->raw));
      return false;
    }
    kv->list.push_back(&t[*i + 1]);
    *i += 2;
  }
  return true;
}

bool Flattener::SplitArgs(const Card& card, size_t start, Args* args, bool comma_lists) {
  const std::vector<Token>& t = card.tokens;
  size_t i = start;
  while (i < t.size()) {
    const Token& tok = t[i];
    if (tok.Is(Token::Kind::kWord) && i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) {
      KeyValue kv;
      kv.key = &tok;
      i += 2;
      if (i >= t.size()) {
        diag_.Error(t[i - 1].loc, fmt::format("missing value after '{}='", tok.raw));
        return false;
      }
      if (t[i].Is(Token::Kind::kLParen)) {
        kv.is_list = true;
        ++i;
        while (i < t.size() && !t[i].Is(Token::Kind::kRParen)) {
          if (!t[i].Is(Token::Kind::kComma)) kv.list.push_back(&t[i]);
          ++i;
        }
        if (i >= t.size()) {
          diag_.Error(t[i - 1].loc, fmt::format("missing ')' in list of '{}'", tok.raw));
          return false;
        }
        ++i;
      } else if (t[i].Is(Token::Kind::kWord) || t[i].Is(Token::Kind::kExpr)) {
        kv.value = &t[i];
        ++i;
        if (comma_lists && !CommaList(card, &i, &kv)) return false;
      } else {
        diag_.Error(t[i].loc,
                    fmt::format("expected a value after '{}=' but found '{}'", tok.raw, t[i].raw));
        return false;
      }
      args->kv.push_back(std::move(kv));
      continue;
    }
    if (tok.Is(Token::Kind::kWord) || tok.Is(Token::Kind::kExpr)) {
      args->pos.push_back(&tok);
      ++i;
      continue;
    }
    diag_.Error(tok.loc, fmt::format("unexpected '{}' in '{}'", tok.raw, t[0].raw));
    return false;
  }
  return true;
}

bool Flattener::Nodes(Frame* f, const Card& card, const Args& args, size_t count,
                      const std::string& what, Element* e) {
  if (args.pos.size() < count) {
    diag_.Error(EndLoc(card), fmt::format("{} '{}' needs {} nodes, got {}", what,
                                          card.tokens[0].raw, count, args.pos.size()));
    return false;
  }
  for (size_t k = 0; k < count; ++k) {
    const Token& t = *args.pos[k];
    if (!t.Is(Token::Kind::kWord)) {
      diag_.Error(t.loc, fmt::format("expected a node name but found '{}'", t.raw));
      return false;
    }
    e->nodes.push_back(MapNode(f, t.text));
  }
  return true;
}

bool Flattener::KvParams(Frame* f, const Card& card, const std::vector<KeyValue>& kv, Element* e,
                         const std::set<std::string>& skip, bool refuse_temper) {
  bool ok = true;
  for (const KeyValue& p : kv) {
    const std::string& key = p.key->text;
    if (skip.count(key) != 0) continue;
    if (p.comma != nullptr) {
      diag_.Error(p.comma->loc, fmt::format("unexpected ',' after the value of '{}'", key),
                  "only IC= of M, Q and J lines takes a list of values (IC=vds,vgs,vbs)");
      ok = false;
      continue;
    }
    if (p.is_list) {
      if (!e->list.empty()) {
        diag_.Error(p.key->loc, fmt::format("only one list parameter is supported ('{}')", key));
        ok = false;
        continue;
      }
      for (const Token* t : p.list) {
        std::optional<double> v = Value(f, card, *t, "list item of " + key, RefuseTemper());
        if (!v) {
          ok = false;
          break;
        }
        e->list.push_back(*v);
      }
      continue;
    }
    std::optional<double> v =
        Value(f, card, *p.value, "parameter " + key,
              refuse_temper ? RefuseTemper() : FollowTemper(&e->temper_values, key));
    if (!v) {
      ok = false;
      continue;
    }
    e->params[key] = *v;
  }
  return ok;
}

void Flattener::ParseElement(Frame* f, const Card& card) {
  const Token& t0 = card.tokens[0];
  if (!t0.Is(Token::Kind::kWord) || t0.text.empty() ||
      !std::isalpha(static_cast<unsigned char>(t0.text[0]))) {
    diag_.Error(t0.loc, fmt::format("expected an element or a dot card but found '{}'", t0.raw));
    return;
  }
  Element e;
  e.letter = t0.text[0];
  e.name = f->prefix + t0.text;
  e.loc = t0.loc;
  switch (e.letter) {
    case 'r':
      return TwoTerminal(f, card, std::move(e), "resistor", "r");
    case 'c':
      return TwoTerminal(f, card, std::move(e), "capacitor", "c");
    case 'l':
      return TwoTerminal(f, card, std::move(e), "inductor", "l");
    case 'v':
    case 'i':
      return Source(f, card, std::move(e));
    case 'e':
    case 'g':
      return Controlled(f, card, std::move(e));
    case 'f':
    case 'h':
      return CurrentControlled(f, card, std::move(e));
    case 'b':
      return Behavioural(f, card, std::move(e));
    case 'd':
      return Diode(f, card, std::move(e));
    case 'm':
      return ModelElement(f, card, std::move(e), 4, 4, "MOSFET", {"nmos", "pmos"},
                          "Mname d g s b model [L=..] [W=..] [AD= AS= PD= PS= NRD= NRS= M=] [OFF] "
                          "[IC=vds,vgs,vbs]");
    case 'q':
      return ModelElement(
          f, card, std::move(e), 3, 4, "BJT", {"npn", "pnp"},
          "Qname c b e [substrate] model [area] [OFF] [area=..] [m=..] [IC=vbe,vce]");
    case 'j':
      return ModelElement(f, card, std::move(e), 3, 3, "JFET", {"njf", "pjf"},
                          "Jname d g s model [area] [OFF] [IC=vds,vgs]");
    case 's':
      return ModelElement(f, card, std::move(e), 4, 4, "switch", {"sw"},
                          "Sname n+ n- nc+ nc- model [ON|OFF]");
    case 'w':
      return ModelElement(f, card, std::move(e), 2, 2, "switch", {"csw"},
                          "Wname n+ n- vcontrol model [ON|OFF]");
    case 'k':
      return Coupling(f, card, std::move(e));
    case 'y':
      return YDevice(f, card);
    default:
      break;
  }
  diag_.Error(
      t0.loc,
      fmt::format("unsupported element type '{}' in '{}'",
                  static_cast<char>(std::toupper(static_cast<unsigned char>(t0.raw[0]))), t0.raw),
      "memspice supports R, C, L, K, V, I, E, F, G, H, B, D, M, Q, J, S, W, X and Y (Xyce-style) "
      "elements");
}

void Flattener::TwoTerminal(Frame* f, const Card& card, Element e, const char* kind,
                            const char* value_key) {
  const std::vector<Token>& t = card.tokens;
  // An expression without braces after `r =`, e.g. `R1 a b r = (time < 1m ? {rload} : 1k)`.
  size_t first_arg = 1;
  Expr bare;
  if (t.size() > 3 && t[3].Is(Token::Kind::kLParen)) {
    diag_.Error(
        t[3].loc,
        fmt::format("a {} value starting with '(' needs '{} =' before it", kind, value_key),
        fmt::format("ngspice reads '{}' as a model name here; write {} = (...) or {{...}}",
                    card.text.substr(t[3].pos, t.size() > 4 ? t[4].end - t[3].pos : 1), value_key));
    return;
  }
  if (t.size() > 5 && t[3].IsWord(value_key) && t[4].Is(Token::Kind::kEq) &&
      t[5].Is(Token::Kind::kLParen)) {
    bare = BareExpr(f, card, 5, &first_arg);
    if (!bare) return;
  }
  Args a;
  if (bare) {
    Args nodes;
    nodes.pos = {&t[1], &t[2]};
    if (!Nodes(f, card, nodes, 2, kind, &e)) return;
    if (!SplitArgs(card, first_arg, &a)) return;
    if (!a.pos.empty()) {
      diag_.Error(a.pos[0]->loc, fmt::format("unexpected '{}' after the value of {} '{}'",
                                             a.pos[0]->raw, kind, t[0].raw));
      return;
    }
  } else {
    if (!SplitArgs(card, 1, &a)) return;
    if (!Nodes(f, card, a, 2, kind, &e)) return;
  }
  const Token* value_tok = !bare && a.pos.size() >= 3 ? a.pos[2] : nullptr;
  if (!bare && a.pos.size() > 3) {
    diag_.Error(a.pos[3]->loc, fmt::format("unexpected '{}' after the value of {} '{}'",
                                           a.pos[3]->raw, kind, t[0].raw));
    return;
  }
  for (const KeyValue& kv : a.kv) {
    if (kv.key->text != value_key) continue;
    if (value_tok != nullptr || bare || kv.is_list) {
      diag_.Error(kv.key->loc, fmt::format("{} '{}' has two values", kind, t[0].raw));
      return;
    }
    value_tok = kv.value;
  }
  if (value_tok == nullptr && !bare) {
    diag_.Error(EndLoc(card), fmt::format("missing value for {} '{}'", kind, t[0].raw),
                fmt::format("e.g. {} {} {} 1k", t[0].raw, t[1].raw, t[2].raw));
    return;
  }
  Expr x = bare;
  if (!x && value_tok->Is(Token::Kind::kExpr)) x = TokenExpr(f, card, *value_tok);
  if (!x && value_tok->Is(Token::Kind::kExpr)) return;
  if (x && !x->probes().empty() && e.letter != 'r') {
    diag_.Error(x->loc(), fmt::format("the {} value must not read V() or I()", kind),
                "only resistors may be behavioural (R={...}); use a B source otherwise");
    return;
  }
  if (x && e.letter == 'r' &&
      (!x->probes().empty() || x->uses_time() || (sweeps_temp_ && x->uses_temper()))) {
    e.expr = x;  // behavioural resistor (or one that follows .dc temp)
  } else if (x) {
    if (x->uses_time()) {
      diag_.Error(x->loc(), fmt::format("the {} value must be constant", kind),
                  "time is allowed in B sources, E/G VALUE= and R={...} only");
      return;
    }
    e.value = Constant(x, std::string(kind) + " value", FollowTemper(&e.temper_values, "value"));
    if (!e.value) return;
  } else {
    std::optional<double> v = Value(f, card, *value_tok, std::string(kind) + " value");
    if (!v) return;
    e.value = *v;
  }
  // tc1/tc2/ac of a resistor may fold into a behavioural expression: they stay constants.
  if (!KvParams(f, card, a.kv, &e, {value_key}, /*refuse_temper=*/e.letter == 'r')) return;
  if (e.letter == 'r' && sweeps_temp_ && e.value &&
      (e.params.count("tc1") != 0 || e.params.count("tc2") != 0)) {
    e.expr = ConstantExpr(*e.value, e.loc);  // so that tc1/tc2 follow .dc temp
    e.value.reset();
  }
  if (e.letter == 'r' && e.expr) FoldTempCoefficients(&e);
  if (e.letter == 'r' && e.value && *e.value == 0.0) {
    e.value = kZeroResistance;
    diag_.Warning(t[0].loc,
                  fmt::format("resistance of '{}' is 0; set to 1 mOhm as ngspice does", t[0].raw),
                  "use a 0 V source for a short circuit");
  }
  AddElement(std::move(e), t[0].loc);
}

Expr Flattener::BareExpr(Frame* f, const Card& card, size_t tok, size_t* next_tok) {
  const std::vector<Token>& t = card.tokens;
  size_t len = 0;
  NodePtr root = ParseCardExpr(card, t[tok].pos, diag_, &len);
  if (!root) return nullptr;
  const size_t stop = t[tok].pos + len;
  size_t k = tok;
  while (k < t.size() && t[k].pos < stop) ++k;
  *next_tok = k;
  return ResolveExpr(f, root, Trim(card.text.substr(t[tok].pos, len)), t[tok].loc);
}

void Flattener::FoldTempCoefficients(Element* e) {
  auto tc1 = e->params.find("tc1"), tc2 = e->params.find("tc2");
  if (tc1 == e->params.end() && tc2 == e->params.end()) return;
  const double c1 = tc1 != e->params.end() ? tc1->second : 0.0;
  const double c2 = tc2 != e->params.end() ? tc2->second : 0.0;
  e->params.erase("tc1");
  e->params.erase("tc2");
  e->expr = ScaleByTemperature(e->expr, c1, c2);
}

void Flattener::Source(Frame* f, const Card& card, Element e) {
  const std::vector<Token>& t = card.tokens;
  const std::string& raw_name = t[0].raw;
  Args node_args;
  for (size_t k = 1; k < t.size() && k < 3; ++k) node_args.pos.push_back(&t[k]);
  if (!Nodes(f, card, node_args, 2, "source", &e)) return;
  bool have_wave = false;
  size_t i = 3;
  int group_depth = 0;  // `(PULSE ...)`, `(AC 1v)`: ngspice's parenthesised specifications
  auto value_at = [&](size_t k, const std::string& what) -> std::optional<double> {
    if (k >= t.size() || !IsValueToken(t[k])) {
      diag_.Error(k < t.size() ? t[k].loc : EndLoc(card),
                  fmt::format("missing {} in source '{}'", what, raw_name));
      return std::nullopt;
    }
    return Value(f, card, t[k], what, RefuseTemper());
  };
  while (i < t.size()) {
    const Token& tok = t[i];
    if (tok.Is(Token::Kind::kLParen) && i + 1 < t.size() && t[i + 1].Is(Token::Kind::kWord) &&
        IsSourceKeyword(t[i + 1].text)) {
      ++group_depth;
      ++i;
      continue;
    }
    if (tok.Is(Token::Kind::kRParen) && group_depth > 0) {
      --group_depth;
      ++i;
      continue;
    }
    if (tok.IsWord("dc")) {
      size_t v = i + 1;
      if (v < t.size() && t[v].Is(Token::Kind::kEq)) ++v;  // DC=0, dc = -1mA
      std::optional<double> val = value_at(v, "DC value");
      if (!val) return;
      e.value = *val;
      i = v + 1;
      continue;
    }
    if (tok.IsWord("ac")) {
      // `AC` alone means magnitude 1 (ngspice); `ac=mag` is the same as `AC mag`.
      const bool eq = i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq);
      if (eq) ++i;
      if (!eq && (i + 1 >= t.size() || !IsValueToken(t[i + 1]))) {
        e.ac_mag = 1.0;
        ++i;
        continue;
      }
      std::optional<double> v = value_at(i + 1, "AC magnitude");
      if (!v) return;
      e.ac_mag = *v;
      i += 2;
      if (i < t.size() && IsValueToken(t[i])) {
        std::optional<double> ph = Value(f, card, t[i], "AC phase", RefuseTemper());
        if (!ph) return;
        e.ac_phase = *ph;
        ++i;
      }
      continue;
    }
    if (IsTimeFunction(tok)) {
      if (have_wave) {
        diag_.Error(tok.loc, fmt::format("source '{}' has two time functions", raw_name));
        return;
      }
      have_wave = true;
      if (!TimeFunction(f, card, &i, &e)) return;
      continue;
    }
    if (tok.Is(Token::Kind::kWord) && IsSourceKeyword(tok.text)) {
      diag_.Error(tok.loc, fmt::format("'{}' sources are not supported", tok.raw),
                  "supported: DC, AC, PULSE, SIN, EXP, PWL");
      return;
    }
    if (IsValueToken(tok) && !e.value) {
      std::optional<double> v = Value(f, card, tok, "source value", RefuseTemper());
      if (!v) return;
      e.value = *v;
      ++i;
      continue;
    }
    if (tok.Is(Token::Kind::kWord) && !IsValueToken(tok) && !e.value && !have_wave &&
        (i + 1 >= t.size() || !t[i + 1].Is(Token::Kind::kEq))) {
      Value(f, card, tok, "source value");  // reports "'1x5' is not a number"
      return;
    }
    diag_.Error(tok.loc, fmt::format("unexpected '{}' in source '{}'", tok.raw, raw_name),
                "expected [DC] value, AC mag [phase], PULSE, SIN, EXP or PWL");
    return;
  }
  if (group_depth > 0) {
    diag_.Error(EndLoc(card), fmt::format("missing ')' in source '{}'", raw_name));
    return;
  }
  if (!e.value && !have_wave) {
    diag_.Warning(t[0].loc, fmt::format("source '{}' has no value; DC 0 assumed", raw_name));
    e.value = 0.0;
  }
  AddElement(std::move(e), t[0].loc);
}

bool Flattener::IsTimeFunction(const Token& tok) {
  return tok.IsWord("pulse") || tok.IsWord("sin") || tok.IsWord("sine") || tok.IsWord("exp") ||
         tok.IsWord("pwl");
}

// Reads the argument tokens of PULSE/SIN/EXP after the keyword: `(a b c)` or `a b c`.
bool Flattener::FunctionItems(const Card& card, size_t* i, const std::string& kind,
                              std::vector<const Token*>* items) {
  const std::vector<Token>& t = card.tokens;
  const Token& key = t[*i - 1];
  if (*i < t.size() && t[*i].Is(Token::Kind::kLParen)) {
    ++*i;
    while (*i < t.size() && !t[*i].Is(Token::Kind::kRParen)) {
      if (t[*i].Is(Token::Kind::kEq)) {
        diag_.Error(t[*i].loc, fmt::format("{} options with '=' are not supported", kind));
        return false;
      }
      if (!t[*i].Is(Token::Kind::kComma)) items->push_back(&t[*i]);
      ++*i;
    }
    if (*i >= t.size()) {
      diag_.Error(key.loc, fmt::format("missing ')' after {}(", kind));
      return false;
    }
    ++*i;
    return true;
  }
  while (*i < t.size() && (IsValueToken(t[*i]) || t[*i].Is(Token::Kind::kComma))) {
    if (!t[*i].Is(Token::Kind::kComma)) items->push_back(&t[*i]);
    ++*i;
  }
  return true;
}

// Reads PWL points written flat, in one group or in one group per pair (`(0 5) (1n 0)`), and
// the options r= (repeat from that time) and td= (delay), inside or after the parentheses.
bool Flattener::PwlItems(const Card& card, size_t* i, std::vector<const Token*>* items,
                         const Token** repeat, const Token** delay) {
  const std::vector<Token>& t = card.tokens;
  const Token& key = t[*i - 1];
  int depth = 0;
  while (*i < t.size()) {
    const Token& x = t[*i];
    if (x.Is(Token::Kind::kLParen)) {
      ++depth;
    } else if (x.Is(Token::Kind::kRParen)) {
      if (depth == 0) break;  // closes an outer `(PWL ...)` group
      --depth;
    } else if (x.Is(Token::Kind::kWord) && (x.text == "r" || x.text == "td") && *i + 2 < t.size() &&
               t[*i + 1].Is(Token::Kind::kEq)) {
      *(x.text == "r" ? repeat : delay) = &t[*i + 2];
      *i += 2;
    } else if (IsValueToken(x)) {
      items->push_back(&x);
    } else if (!x.Is(Token::Kind::kComma)) {
      if (depth > 0) {
        diag_.Error(x.loc, fmt::format("unexpected '{}' in PWL", x.raw),
                    "expected time-value pairs and the options r= and td=");
        return false;
      }
      break;
    }
    ++*i;
  }
  if (depth > 0) {
    diag_.Error(key.loc, "missing ')' after PWL(");
    return false;
  }
  return true;
}

bool Flattener::TimeFunction(Frame* f, const Card& card, size_t* i, Element* e) {
  const Token& tok = card.tokens[*i];
  const std::string kind = tok.text == "sine" ? "sin" : tok.text;  // SINE: ngspice's alias
  std::vector<const Token*> items;
  const Token *repeat = nullptr, *delay = nullptr;
  ++*i;
  if (kind == "pwl" ? !PwlItems(card, i, &items, &repeat, &delay)
                    : !FunctionItems(card, i, kind, &items)) {
    return false;
  }
  std::vector<double> args;
  for (const Token* it : items) {
    std::optional<double> v = Value(f, card, *it, kind + " argument", RefuseTemper());
    if (!v) return false;
    args.push_back(*v);
  }
  // PULSE's 8th argument is ngspice's number of pulses (NP).
  size_t min_args = 2, max_args = kind == "pulse" ? 8 : 6;
  if (kind == "pwl") max_args = std::numeric_limits<size_t>::max();
  if (args.size() < min_args || args.size() > max_args) {
    diag_.Error(tok.loc, kind == "pwl"
                             ? fmt::format("PWL needs at least one time-value pair, got {} numbers",
                                           args.size())
                             : fmt::format("{} takes {} to {} arguments, got {}", kind, min_args,
                                           max_args, args.size()));
    return false;
  }
  if (kind == "pulse") {
    e->waveform.kind = Waveform::Kind::kPulse;
    const double defaults[7] = {0, 0, 0, kNaN, kNaN, kNaN, kNaN};  // tr tf = tstep, pw per = tstop
    while (args.size() < 7) args.push_back(defaults[args.size()]);
  } else if (kind == "sin") {
    e->waveform.kind = Waveform::Kind::kSin;
    const double defaults[6] = {0, 0, kNaN, 0, 0, 0};  // freq = 1/tstop
    while (args.size() < 6) args.push_back(defaults[args.size()]);
  } else if (kind == "exp") {
    e->waveform.kind = Waveform::Kind::kExp;
    // tau1 = tstep, td2 = td1 + tstep, tau2 = tstep
    const double defaults[6] = {0, 0, 0, kNaN, kNaN, kNaN};
    while (args.size() < 6) args.push_back(defaults[args.size()]);
  } else {
    e->waveform.kind = Waveform::Kind::kPwl;
    if (!PwlPoints(f, card, tok, items, repeat, delay, &args, &e->waveform)) return false;
  }
  e->waveform.args = std::move(args);
  return true;
}

bool Flattener::PwlPoints(Frame* f, const Card& card, const Token& key,
                          const std::vector<const Token*>& items, const Token* repeat,
                          const Token* delay, std::vector<double>* args, Waveform* w) {
  std::vector<double>& a = *args;
  if (a.size() % 2 != 0) {
    diag_.Error(key.loc, fmt::format("PWL needs time-value pairs, got {} numbers", a.size()));
    return false;
  }
  for (size_t k = 2; k < a.size(); k += 2) {
    if (a[k] < a[k - 2]) {
      diag_.Error(items[k]->loc,
                  fmt::format("PWL time {} is before the previous time {}", a[k], a[k - 2]));
      return false;
    }
  }
  double td = 0.0;
  if (delay != nullptr) {
    std::optional<double> v = Value(f, card, *delay, "PWL td", RefuseTemper());
    if (!v) return false;
    td = *v;
  }
  if (repeat != nullptr) {
    std::optional<double> r = Value(f, card, *repeat, "PWL r", RefuseTemper());
    if (!r) return false;
    if (*r < a[0] || *r >= a[a.size() - 2]) {
      diag_.Error(repeat->loc,
                  fmt::format("PWL r={} is outside [{}, {}): the repeat starts at a time point "
                              "before the last one",
                              *r, a[0], a[a.size() - 2]));
      return false;
    }
    w->repeat = *r + td;
  }
  for (size_t k = 0; k < a.size(); k += 2) a[k] += td;
  return true;
}

void Flattener::Controlled(Frame* f, const Card& card, Element e) {
  const std::vector<Token>& t = card.tokens;
  const bool is_e = e.letter == 'e';
  if (t.size() > 3 && t[3].IsWord("poly")) return Poly(f, card, std::move(e));
  if (t.size() > 3 && t[3].IsWord("table")) return Table(f, card, std::move(e));
  if (t.size() > 3 && t[3].Is(Token::Kind::kWord) &&
      (t[3].text == "laplace" || t[3].text == "freq")) {
    diag_.Error(t[3].loc,
                fmt::format("{} sources with {} are not supported", is_e ? "E" : "G", t[3].raw),
                "use VALUE={...} or a B source");
    return;
  }
  // VALUE={...}, or VALUE {...} without '=' as ngspice also reads it.
  if (t.size() > 4 && t[3].Is(Token::Kind::kWord) &&
      (t[3].text == "value" || t[3].text == (is_e ? "vol" : "cur")) &&
      (t[4].Is(Token::Kind::kEq) || t[4].Is(Token::Kind::kExpr))) {
    Args nodes;
    nodes.pos = {&t[1], &t[2]};
    if (!Nodes(f, card, nodes, 2, is_e ? "VCVS" : "VCCS", &e)) return;
    const size_t start = t[4].Is(Token::Kind::kEq) ? t[4].end : t[4].pos - 1;
    size_t end = 0;
    NodePtr root = ParseCardExpr(card, start, diag_, &end);
    if (!root) return;
    size_t stop = start + end;
    e.expr = ResolveExpr(f, root, Trim(card.text.substr(start, end)), card.LocAt(start));
    if (!e.expr) return;
    size_t k = 4;
    while (k < t.size() && t[k].pos < stop) ++k;
    if (k < t.size()) {
      diag_.Error(t[k].loc, fmt::format("unexpected '{}' after the expression", t[k].raw));
      return;
    }
    AddElement(std::move(e), t[0].loc);
    return;
  }
  Args a;
  if (!SplitArgs(card, 1, &a)) return;
  if (!Nodes(f, card, a, 4, is_e ? "VCVS" : "VCCS", &e)) return;
  const Token* gain = a.pos.size() >= 5 ? a.pos[4] : nullptr;
  for (const KeyValue& kv : a.kv) {
    if (kv.key->text == "gain" && !kv.is_list) gain = kv.value;
  }
  if (gain == nullptr) {
    diag_.Error(EndLoc(card), fmt::format("missing gain for '{}'", t[0].raw),
                fmt::format("e.g. {} out 0 in 0 2, or {} out 0 VALUE={{...}}", t[0].raw, t[0].raw));
    return;
  }
  if (a.pos.size() > 5) {
    diag_.Error(a.pos[5]->loc, fmt::format("unexpected '{}' after the gain", a.pos[5]->raw));
    return;
  }
  std::optional<double> v = Value(f, card, *gain, "gain", RefuseTemper());
  if (!v) return;
  e.value = *v;
  if (!KvParams(f, card, a.kv, &e, {"gain"})) return;
  AddElement(std::move(e), t[0].loc);
}

// `E1 n+ n- TABLE {expr} = (x1, y1) (x2, y2) ...` (G alike; parentheses and commas optional):
// the output is piecewise linear in expr through the points and holds y1 below x1 and yn above
// xn, as ngspice; like ngspice 39 each corner is rounded by a parabola tangent to both pieces
// at x_j -+ h_j, h_j = kTableRounding times the shorter adjacent piece, so the output is
// continuously differentiable. Built as an expression of nested selects, like VALUE={...}.
void Flattener::Table(Frame* f, const Card& card, Element e) {
  const std::vector<Token>& t = card.tokens;
  const char* kind = e.letter == 'e' ? "VCVS" : "VCCS";
  const std::string usage = fmt::format("e.g. {} out 0 TABLE {{V(in)}} = (0, 0) (1, 2)", t[0].raw);
  Args nodes;
  nodes.pos = {&t[1], &t[2]};
  if (!Nodes(f, card, nodes, 2, kind, &e)) return;
  if (t.size() < 5) {
    diag_.Error(EndLoc(card), fmt::format("TABLE of '{}' needs an expression and points", t[0].raw),
                usage);
    return;
  }
  size_t end = 0;
  NodePtr x = ParseCardExpr(card, t[3].end, diag_, &end);
  if (!x) return;
  const size_t stop = t[3].end + end;
  size_t k = 4;
  while (k < t.size() && t[k].pos < stop) ++k;
  if (k >= t.size() || !t[k].Is(Token::Kind::kEq)) {
    diag_.Error(k < t.size() ? t[k].loc : EndLoc(card),
                "expected '=' between the TABLE expression and its points", usage);
    return;
  }
  std::vector<double> values;
  std::vector<SourceLoc> locs;
  for (++k; k < t.size(); ++k) {
    const Token& p = t[k];
    if (p.Is(Token::Kind::kLParen) || p.Is(Token::Kind::kRParen) || p.Is(Token::Kind::kComma)) {
      continue;
    }
    std::optional<double> v = Value(f, card, p, "table point", RefuseTemper());
    if (!v) return;
    values.push_back(*v);
    locs.push_back(p.loc);
  }
  const size_t npts = values.size() / 2;
  if (values.size() % 2 != 0 || npts < 2 || npts > kMaxTablePoints) {
    diag_.Error(values.empty() ? EndLoc(card) : locs.back(),
                fmt::format("TABLE of '{}' needs 2 to {} (x, y) pairs, got {} numbers", t[0].raw,
                            kMaxTablePoints, values.size()),
                usage);
    return;
  }
  for (size_t j = 1; j < npts; ++j) {
    if (values[2 * j] <= values[2 * j - 2]) {
      diag_.Error(locs[2 * j], fmt::format("TABLE abscissas must be ascending: {} follows {}",
                                           values[2 * j], values[2 * j - 2]));
      return;
    }
  }
  const SourceLoc loc = t[3].loc;
  auto node = [&](ExprOp op, std::vector<NodePtr> args, double value = 0.0) {
    auto n = std::make_shared<ExprNode>();
    n->op = op;
    n->value = value;
    n->loc = loc;
    for (const NodePtr& a : args) n->height = std::max(n->height, a->height + 1);
    n->args = std::move(args);
    return NodePtr(n);
  };
  auto constant = [&](double v) { return node(ExprOp::kConst, {}, v); };
  // Points with the flat continuations: slope[j] is the slope left of point j (slope[npts] the
  // right end's, 0), half[j] the rounding half-width at point j.
  std::vector<double> px(npts), py(npts), slope(npts + 1, 0.0), half(npts);
  for (size_t j = 0; j < npts; ++j) {
    px[j] = values[2 * j];
    py[j] = values[2 * j + 1];
  }
  for (size_t j = 1; j < npts; ++j) slope[j] = (py[j] - py[j - 1]) / (px[j] - px[j - 1]);
  for (size_t j = 0; j < npts; ++j) {
    constexpr double kNone = std::numeric_limits<double>::infinity();
    const double left = j == 0 ? kNone : px[j] - px[j - 1];
    const double right = j + 1 == npts ? kNone : px[j + 1] - px[j];
    half[j] = kTableRounding * std::min(left, right);
  }
  // y on the straight piece right of point j, and on the parabola around point j.
  auto line = [&](size_t j) {
    return node(ExprOp::kAdd,
                {constant(py[j]), node(ExprOp::kMul, {constant(slope[j + 1]),
                                                      node(ExprOp::kSub, {x, constant(px[j])})})});
  };
  auto corner = [&](size_t j) {
    NodePtr u = node(ExprOp::kSub, {x, constant(px[j] - half[j])});
    NodePtr left = node(ExprOp::kAdd, {constant(py[j] - slope[j] * half[j]),
                                       node(ExprOp::kMul, {constant(slope[j]), u})});
    const double k = (slope[j + 1] - slope[j]) / (4.0 * half[j]);
    return node(ExprOp::kAdd,
                {left, node(ExprOp::kMul, {constant(k), node(ExprOp::kMul, {u, u})})});
  };
  NodePtr r = constant(py[npts - 1]);
  for (size_t j = npts; j-- > 0;) {
    if (j + 1 < npts) {
      r = node(ExprOp::kTernary,
               {node(ExprOp::kLt, {x, constant(px[j + 1] - half[j + 1])}), line(j), r});
    }
    r = node(ExprOp::kTernary, {node(ExprOp::kLt, {x, constant(px[j] + half[j])}), corner(j), r});
  }
  r = node(ExprOp::kTernary,
           {node(ExprOp::kLt, {x, constant(px[0] - half[0])}), constant(py[0]), r});
  e.expr = ResolveExpr(f, r, Trim(card.text.substr(t[3].pos)), loc);
  if (!e.expr) return;
  AddElement(std::move(e), t[0].loc);
}

void Flattener::CurrentControlled(Frame* f, const Card& card, Element e) {
  if (card.tokens.size() > 3 && card.tokens[3].IsWord("poly")) return Poly(f, card, std::move(e));
  Args a;
  if (!SplitArgs(card, 1, &a)) return;
  const char* kind = e.letter == 'f' ? "CCCS" : "CCVS";
  if (!Nodes(f, card, a, 2, kind, &e)) return;
  if (a.pos.size() < 3 || !a.pos[2]->Is(Token::Kind::kWord)) {
    diag_.Error(a.pos.size() < 3 ? EndLoc(card) : a.pos[2]->loc,
                fmt::format("{} '{}' needs a controlling voltage source", kind, card.tokens[0].raw),
                fmt::format("e.g. {} out 0 vsense 2", card.tokens[0].raw));
    return;
  }
  e.control = f->prefix + a.pos[2]->text;
  if (a.pos.size() < 4) {
    diag_.Error(EndLoc(card), fmt::format("missing gain for '{}'", card.tokens[0].raw));
    return;
  }
  if (a.pos.size() > 4) {
    diag_.Error(a.pos[4]->loc, fmt::format("unexpected '{}' after the gain", a.pos[4]->raw));
    return;
  }
  std::optional<double> v = Value(f, card, *a.pos[3], "gain", RefuseTemper());
  if (!v) return;
  e.value = *v;
  if (!KvParams(f, card, a.kv, &e, {})) return;
  AddElement(std::move(e), card.tokens[0].loc);
}

namespace {

// Appends the SPICE POLY terms of degree `degree` (index tuples i <= j <= ..., in lexicographic
// order) with their coefficients from coeffs[*next]; stops when the coefficients run out.
void PolyTerms(const std::vector<std::string>& vars, const std::vector<double>& coeffs,
               size_t degree, size_t first, std::string prefix, size_t* next, std::string* out) {
  for (size_t i = first; i < vars.size() && *next < coeffs.size(); ++i) {
    const std::string term = prefix.empty() ? vars[i] : prefix + "*" + vars[i];
    if (degree == 1) {
      if (coeffs[*next] != 0.0) *out += fmt::format("+({:.17g})*{}", coeffs[*next], term);
      ++*next;
    } else {
      PolyTerms(vars, coeffs, degree - 1, i, term, next, out);
    }
  }
}

}  // namespace

void Flattener::Poly(Frame* f, const Card& card, Element e) {
  const std::vector<Token>& t = card.tokens;
  const bool current_controlled = e.letter == 'f' || e.letter == 'h';
  const char* usage = current_controlled ? "e.g. F1 out 0 POLY(2) V1 V2 0 1 1 (c0 c1 c2 ...)"
                                         : "e.g. E1 out 0 POLY(2) a 0 b 0 0 1 1 (c0 c1 c2 ...)";
  Args nodes;
  nodes.pos = {&t[1], &t[2]};
  if (!Nodes(f, card, nodes, 2, "POLY source", &e)) return;
  std::optional<double> dims;
  if (t.size() > 6 && t[4].Is(Token::Kind::kLParen) && t[6].Is(Token::Kind::kRParen)) {
    dims = Value(f, card, t[5], "POLY dimension", RefuseTemper());
  }
  if (!dims || *dims < 1 || *dims > 20 || *dims != std::floor(*dims)) {
    diag_.Error(t[3].loc, "POLY needs an integer dimension in 1..20: POLY(n)", usage);
    return;
  }
  const size_t n = static_cast<size_t>(*dims);
  const size_t per = current_controlled ? 1 : 2;
  std::vector<const Token*> rest;
  for (size_t k = 7; k < t.size(); ++k) {
    if (!t[k].Is(Token::Kind::kComma)) rest.push_back(&t[k]);
  }
  if (rest.size() < n * per + 1) {
    diag_.Error(EndLoc(card),
                fmt::format("POLY({}) needs {} {} and at least one coefficient", n, n * per,
                            current_controlled ? "controlling sources" : "controlling nodes"),
                usage);
    return;
  }
  std::vector<std::string> vars;
  for (size_t k = 0; k < n; ++k) {
    if (current_controlled) {
      vars.push_back(fmt::format("i({})", rest[k]->text));
    } else {
      vars.push_back(fmt::format("v({},{})", rest[2 * k]->text, rest[2 * k + 1]->text));
    }
  }
  std::vector<double> coeffs;
  for (size_t k = n * per; k < rest.size(); ++k) {
    std::optional<double> v = Value(f, card, *rest[k], "POLY coefficient", RefuseTemper());
    if (!v) return;
    coeffs.push_back(*v);
  }
  std::string text = fmt::format("{:.17g}", coeffs[0]);
  size_t next = 1;
  for (size_t degree = 1; next < coeffs.size(); ++degree) {
    PolyTerms(vars, coeffs, degree, 0, "", &next, &text);
  }
  const SourceLoc loc = t[3].loc;
  NodePtr root = ParseExprTree(
      text, [loc](size_t) { return loc; }, diag_);
  if (!root) return;
  e.expr = ResolveExpr(f, root, text, loc);
  if (!e.expr) return;
  // F and H become the behavioural G and E they are equivalent to.
  if (e.letter == 'f') e.letter = 'g';
  if (e.letter == 'h') e.letter = 'e';
  AddElement(std::move(e), t[0].loc);
}

void Flattener::Behavioural(Frame* f, const Card& card, Element e) {
  const std::vector<Token>& t = card.tokens;
  Args nodes;
  for (size_t k = 1; k < t.size() && k < 3; ++k) nodes.pos.push_back(&t[k]);
  if (!Nodes(f, card, nodes, 2, "B source", &e)) return;
  if (t.size() < 5 || !(t[3].IsWord("v") || t[3].IsWord("i")) || !t[4].Is(Token::Kind::kEq)) {
    diag_.Error(t.size() > 3 ? t[3].loc : EndLoc(card),
                fmt::format("B source '{}' needs V=expression or I=expression", t[0].raw));
    return;
  }
  e.expr_is_current = t[3].text == "i";
  size_t end = 0;
  NodePtr root = ParseCardExpr(card, t[4].end, diag_, &end);
  if (!root) return;
  size_t stop = t[4].end + end;
  e.expr = ResolveExpr(f, root, Trim(card.text.substr(t[4].end, end)), card.LocAt(t[4].end));
  if (!e.expr) return;
  size_t k = 5;
  while (k < t.size() && t[k].pos < stop) ++k;
  if (k < t.size()) {
    Args a;
    if (!SplitArgs(card, k, &a)) return;
    if (!a.pos.empty()) {
      diag_.Error(a.pos[0]->loc,
                  fmt::format("unexpected '{}' after the expression", a.pos[0]->raw));
      return;
    }
    if (!KvParams(f, card, a.kv, &e, {}, /*refuse_temper=*/true)) return;
    FoldTempCoefficients(&e);
  }
  AddElement(std::move(e), t[0].loc);
}

void Flattener::Diode(Frame* f, const Card& card, Element e) {
  Args a;
  if (!SplitArgs(card, 1, &a)) return;
  if (!Nodes(f, card, a, 2, "diode", &e)) return;
  if (a.pos.size() < 3 || !a.pos[2]->Is(Token::Kind::kWord)) {
    diag_.Error(a.pos.size() < 3 ? EndLoc(card) : a.pos[2]->loc,
                fmt::format("diode '{}' needs a model name", card.tokens[0].raw),
                fmt::format("e.g. {} a k dmod with .model dmod d(is=1e-14)", card.tokens[0].raw));
    return;
  }
  const Token& mt = *a.pos[2];
  std::string flat;
  const ModelDef* m = LookupModel(f, mt.text, &flat);
  if (m == nullptr) {
    diag_.Error(mt.loc, fmt::format("unknown model '{}'", mt.text),
                fmt::format("define it, e.g. .model {} d(is=1e-14 n=1)", mt.text));
    return;
  }
  if (m->type != "d") {
    diag_.Error(mt.loc,
                fmt::format("model '{}' has type '{}', a diode needs type 'd'", mt.text, m->type));
    return;
  }
  e.model = flat;
  e.type.assign(1, 'd');  // assign(): avoids a GCC 12 -Wrestrict false positive
  for (size_t k = 3; k < a.pos.size(); ++k) {
    const Token& p = *a.pos[k];
    if (p.IsWord("off")) {
      e.params["off"] = 1.0;
    } else if (k == 3 && IsValueToken(p)) {
      std::optional<double> v = Value(f, card, p, "area", FollowTemper(&e.temper_values, "area"));
      if (!v) return;
      e.params["area"] = *v;
    } else {
      diag_.Error(p.loc, fmt::format("unexpected '{}' in diode '{}'", p.raw, card.tokens[0].raw),
                  "expected: Dname anode cathode model [area] [off] [ic=v]");
      return;
    }
  }
  if (!KvParams(f, card, a.kv, &e, {})) return;
  AddElement(std::move(e), card.tokens[0].loc);
}

void Flattener::ModelElement(Frame* f, const Card& card, Element e, size_t min_nodes,
                             size_t max_nodes, const char* kind, std::vector<std::string> types,
                             const char* usage) {
  Args a;
  if (!SplitArgs(card, 1, &a, /*comma_lists=*/true)) return;
  const std::string& raw = card.tokens[0].raw;
  const size_t controls = e.letter == 'w' ? 1 : 0;  // W names its controlling source
  // The model is the first word after the minimum node count that names a model.
  size_t at = 0;
  const ModelDef* model = nullptr;
  std::string flat;
  for (size_t k = min_nodes + controls; k <= max_nodes + controls && k < a.pos.size(); ++k) {
    if (a.pos[k]->Is(Token::Kind::kWord)) model = LookupModel(f, a.pos[k]->text, &flat);
    if (model != nullptr) {
      at = k;
      break;
    }
  }
  if (model == nullptr) {
    const bool short_card = a.pos.size() <= min_nodes + controls;
    diag_.Error(short_card ? EndLoc(card) : a.pos[min_nodes + controls]->loc,
                short_card ? fmt::format("{} '{}' needs {} nodes and a model", kind, raw, min_nodes)
                           : fmt::format("unknown model '{}' for {} '{}'",
                                         a.pos[min_nodes + controls]->raw, kind, raw),
                fmt::format("expected: {}", usage));
    return;
  }
  if (std::find(types.begin(), types.end(), model->type) == types.end()) {
    std::string list;
    for (const auto& t : types) list += (list.empty() ? "" : " or ") + t;
    diag_.Error(a.pos[at]->loc, fmt::format("model '{}' has type '{}', a {} needs {}",
                                            a.pos[at]->raw, model->type, kind, list));
    return;
  }
  Args nodes;
  nodes.pos.assign(a.pos.begin(), a.pos.begin() + (at - controls));
  if (!Nodes(f, card, nodes, nodes.pos.size(), kind, &e)) return;
  if (controls != 0) {
    if (!a.pos[at - 1]->Is(Token::Kind::kWord)) {
      diag_.Error(a.pos[at - 1]->loc, fmt::format("expected a controlling source name"));
      return;
    }
    e.control = f->prefix + a.pos[at - 1]->text;
  }
  e.model = flat;
  e.type = model->type;
  for (size_t k = at + 1; k < a.pos.size(); ++k) {
    const Token& p = *a.pos[k];
    if (p.IsWord("off") || p.IsWord("on")) {
      e.params[p.text] = 1.0;
    } else if (k == at + 1 && IsValueToken(p) && (e.letter == 'q' || e.letter == 'j')) {
      std::optional<double> v = Value(f, card, p, "area", FollowTemper(&e.temper_values, "area"));
      if (!v) return;
      e.params["area"] = *v;
    } else {
      diag_.Error(p.loc, fmt::format("unexpected '{}' in {} '{}'", p.raw, kind, raw),
                  fmt::format("expected: {}", usage));
      return;
    }
  }
  if (e.letter == 'm' || e.letter == 'q' || e.letter == 'j') {
    if (!InitialVoltages(f, card, kind, &a.kv, &e)) return;
  }
  if (!KvParams(f, card, a.kv, &e, {})) return;
  AddElement(std::move(e), card.tokens[0].loc);
}

bool Flattener::InitialVoltages(Frame* f, const Card& card, const char* kind,
                                std::vector<KeyValue>* kv, Element* e) {
  const bool mos = e->letter == 'm';
  const size_t max_values = mos ? 3 : 2;  // as ngspice: M vds vgs vbs, Q vbe vce, J vds vgs
  const char* form = mos ? "IC=vds,vgs,vbs" : e->letter == 'q' ? "IC=vbe,vce" : "IC=vds,vgs";
  const std::string& raw = card.tokens[0].raw;
  auto it =
      std::find_if(kv->begin(), kv->end(), [](const KeyValue& p) { return p.key->text == "ic"; });
  if (it == kv->end()) return true;
  const KeyValue p = *it;
  kv->erase(it);
  if (p.is_list && p.comma == nullptr) {
    diag_.Error(p.key->loc,
                fmt::format("IC of {} '{}' must be written without parentheses", kind, raw),
                fmt::format("write {} (ngspice ignores IC=(...) here)", form));
    return false;
  }
  const std::vector<const Token*> items = p.is_list ? p.list : std::vector{p.value};
  if (items.size() > max_values) {
    diag_.Error(items[max_values]->loc,
                fmt::format("IC of {} '{}' takes at most {} values ({}), got {}", kind, raw,
                            max_values, form, items.size()));
    return false;
  }
  for (const Token* t : items) {
    std::optional<double> v = Value(f, card, *t, "IC value", RefuseTemper());
    if (!v) return false;
    e->ic.push_back(*v);
  }
  return true;
}

void Flattener::Coupling(Frame* f, const Card& card, Element e) {
  Args a;
  if (!SplitArgs(card, 1, &a)) return;
  const std::string& raw = card.tokens[0].raw;
  if (a.pos.size() != 3 || !a.pos[0]->Is(Token::Kind::kWord) || !a.pos[1]->Is(Token::Kind::kWord) ||
      !a.kv.empty()) {
    diag_.Error(a.pos.size() > 3 ? a.pos[3]->loc : card.tokens[0].loc,
                fmt::format("coupling '{}' needs two inductors and a coefficient", raw),
                fmt::format("e.g. {} L1 L2 0.99", raw));
    return;
  }
  e.control = f->prefix + a.pos[0]->text;
  e.control2 = f->prefix + a.pos[1]->text;
  std::optional<double> v = Value(f, card, *a.pos[2], "coupling coefficient", RefuseTemper());
  if (!v) return;
  e.value = *v;
  AddElement(std::move(e), card.tokens[0].loc);
}

void Flattener::YDevice(Frame* f, const Card& card) {
  const std::vector<Token>& t = card.tokens;
  Element e;
  e.letter = 'y';
  e.type = t[0].text.substr(1);
  e.loc = t[0].loc;
  if (e.type.empty()) {
    diag_.Error(t[0].loc, "Y device needs a type after the Y, e.g. YMSS m1 p n model");
    return;
  }
  if (t.size() < 2 || !t[1].Is(Token::Kind::kWord) || (t.size() > 2 && t[2].Is(Token::Kind::kEq))) {
    diag_.Error(t.size() < 2 ? EndLoc(card) : t[1].loc,
                fmt::format("Y device '{}' needs an instance name, e.g. {} m1 p n model", t[0].raw,
                            t[0].raw));
    return;
  }
  e.name = f->prefix + t[1].text;
  Args a;
  if (!SplitArgs(card, 2, &a)) return;
  for (const Token* p : a.pos) {
    if (!p->Is(Token::Kind::kWord)) {
      diag_.Error(p->loc, fmt::format("expected a node or model name but found '{}'", p->raw));
      return;
    }
  }
  size_t nnodes = a.pos.size();
  if (nnodes > 0) {
    std::string flat;
    if (LookupModel(f, a.pos.back()->text, &flat) != nullptr) {
      e.model = flat;
      --nnodes;
    }
  }
  for (size_t k = 0; k < nnodes; ++k) e.nodes.push_back(MapNode(f, a.pos[k]->text));
  if (!KvParams(f, card, a.kv, &e, {})) return;
  AddElement(std::move(e), t[1].loc);
}

}  // namespace memspice::netlist
