#include "netlist/flatten.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/option_names.h"

namespace memspice::netlist {

Flattener::Flattener(const SubcktDef& top, const std::set<std::string>& globals,
                     const ParseOptions& options, Diagnostics& diag, Netlist* out)
    : top_def_(top), globals_(globals), options_(options), diag_(diag), out_(out) {}

void Flattener::Run() {
  rng_.seed(Seed());
  root_ = std::make_unique<Frame>();
  root_->def = &top_def_;
  for (const ParamDef& p : top_def_.params) root_->params[p.name].def = &p;
  for (const auto& [raw_name, value] : options_.overrides) {
    std::string name = base::Lower(raw_name);
    auto it = root_->params.find(name);
    if (it == root_->params.end()) {
      diag_.Error(SourceLoc{out_->files.empty() ? "" : out_->files[0], 0, 0},
                  fmt::format("{} names unknown parameter '{}'", base::Opt("set"), name),
                  "only top-level .param values can be overridden");
      continue;
    }
    it->second.def = nullptr;
    it->second.state = Frame::Slot::State::kDone;
    it->second.value = value;
  }
  for (auto& [name, slot] : root_->params) {
    out_->params[name] = EvaluateSlot(root_.get(), name, slot);
  }
  out_->elements.reserve(top_def_.elements.size());
  element_names_.reserve(top_def_.elements.size());
  stack_.push_back(&top_def_);
  Expand(root_.get());
  stack_.pop_back();
}

uint64_t Flattener::Seed() {
  if (options_.seed) return *options_.seed;
  auto it = out_->options.find("seed");
  if (it == out_->options.end()) return kDefaultSeed;
  const double v = it->second;
  if (!(v >= 0.0 && v <= kMaxSeed && v == std::floor(v))) {
    diag_.Warning(SourceLoc{out_->files.empty() ? "" : out_->files[0], 0, 0},
                  fmt::format(".options seed={} is not an integer in [0, 2^53]; seed {} used", v,
                              kDefaultSeed));
    return kDefaultSeed;
  }
  return static_cast<uint64_t>(v);
}

std::optional<double> Flattener::LookupParam(Frame* f, const std::string& name) {
  for (Frame* fr = f; fr != nullptr; fr = fr->parent) {
    auto it = fr->params.find(name);
    if (it != fr->params.end()) return EvaluateSlot(fr, name, it->second);
  }
  return std::nullopt;
}

std::shared_ptr<const ExprNode> Flattener::LookupParamTree(Frame* f, const std::string& name) {
  for (Frame* fr = f; fr != nullptr; fr = fr->parent) {
    auto it = fr->params.find(name);
    if (it != fr->params.end()) return it->second.temper_tree;
  }
  return nullptr;
}

double Flattener::EvaluateSlot(Frame* f, const std::string& name, Frame::Slot& slot) {
  using State = Frame::Slot::State;
  if (slot.state == State::kDone) return slot.value;
  if (slot.state == State::kBusy) {
    auto it = std::find(eval_stack_.begin(), eval_stack_.end(), name);
    std::string path;
    for (; it != eval_stack_.end(); ++it) path += *it + " -> ";
    path += name;
    diag_.Error(slot.def->loc, fmt::format("parameter '{}' depends on itself: {}", name, path),
                "break the cycle by giving one of these parameters a value");
    return 0.0;
  }
  if (eval_stack_.size() >= kMaxParamChain) {
    diag_.Error(slot.def->loc,
                fmt::format("parameter '{}' is at the end of a dependency chain longer than {}",
                            name, kMaxParamChain));
    return 0.0;
  }
  slot.state = State::kBusy;
  eval_stack_.push_back(name);
  double value = 0.0;
  Expr e = ResolveExpr(f, slot.def->expr, slot.def->text, slot.def->loc);
  if (e) {
    if (!e->probes().empty() || e->uses_time()) {
      diag_.Error(slot.def->loc, fmt::format("parameter '{}' must be constant", name),
                  "V(), I() and time belong in B sources, E/G VALUE= or R={...}");
    } else {
      value = e->Evaluate(nullptr, 0.0, out_->temp, nullptr);
      if (sweeps_temp_ && e->uses_temper()) slot.temper_tree = e->root();
    }
  }
  eval_stack_.pop_back();
  slot.state = State::kDone;
  slot.value = value;
  return value;
}

const FuncDef* Flattener::LookupFunc(const Frame* f, const std::string& name) const {
  for (const SubcktDef* d = f->def; d != nullptr; d = d->parent) {
    auto it = d->funcs.find(name);
    if (it != d->funcs.end()) return &it->second;
  }
  return nullptr;
}

Scope Flattener::MakeScope(Frame* f) {
  Scope s;
  s.param = [this, f](const std::string& n) { return LookupParam(f, n); };
  s.param_tree = [this, f](const std::string& n) { return LookupParamTree(f, n); };
  s.func = [this, f](const std::string& n) { return LookupFunc(f, n); };
  s.map_node = [this, f](const std::string& n) { return MapNode(f, n); };
  s.map_element = [f](const std::string& n) { return f->prefix + n; };
  s.random = [this](bool gaussian) {
    ++out_->random_draws;
    if (options_.nominal) return 0.0;
    if (gaussian) return std::normal_distribution<double>(0.0, 1.0)(rng_);
    return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
  };
  return s;
}

std::string Flattener::MapNode(const Frame* f, const std::string& node) const {
  if (node == "0" || node == "gnd") return "0";
  if (globals_.count(node) != 0) return node;
  auto it = f->ports.find(node);
  if (it != f->ports.end()) return it->second;
  return f->prefix + node;
}

const ModelDef* Flattener::LookupModel(const Frame* f, const std::string& name,
                                       std::string* flat) const {
  for (const Frame* fr = f; fr != nullptr; fr = fr->parent) {
    auto it = fr->def->models.find(name);
    if (it != fr->def->models.end()) {
      *flat = fr->prefix + name;
      return &it->second;
    }
  }
  return nullptr;
}

const SubcktDef* Flattener::LookupSubckt(const Frame* f, const std::string& name) const {
  for (const Frame* fr = f; fr != nullptr; fr = fr->parent) {
    for (const SubcktDef* d = fr->def; d != nullptr; d = d->parent) {
      auto it = d->subckts.find(name);
      if (it != d->subckts.end()) return it->second.get();
    }
  }
  return nullptr;
}

void Flattener::Expand(Frame* f) {
  if (too_large_) return;
  for (auto& [name, slot] : f->params) EvaluateSlot(f, name, slot);
  for (const auto& [name, m] : f->def->models) AddModel(f, m);
  for (const Card* card : f->def->elements) {
    if (too_large_) return;
    if (card->keyword[0] == 'x') {
      Instantiate(f, *card);
    } else if (options_.only_letters.empty() ||
               options_.only_letters.find(card->keyword[0]) != std::string::npos) {
      ParseElement(f, *card);
    }
  }
}

void Flattener::Instantiate(Frame* f, const Card& card) {
  const std::vector<Token>& t = card.tokens;
  const std::string xname = t[0].text;
  size_t i = 1;
  std::vector<const Token*> names;
  while (i < t.size()) {
    const Token& tok = t[i];
    if (tok.IsWord("params:")) break;
    if (i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) break;
    if (!tok.Is(Token::Kind::kWord)) {
      diag_.Error(tok.loc, fmt::format("unexpected '{}' in instance '{}'", tok.raw, t[0].raw),
                  "expected: Xname node... subckt [params:] name=value ...");
      return;
    }
    names.push_back(&tok);
    ++i;
  }
  if (names.empty()) {
    diag_.Error(EndLoc(card),
                fmt::format("instance '{}' needs nodes and a subcircuit name", t[0].raw));
    return;
  }
  const Token& sub_tok = *names.back();
  names.pop_back();
  const SubcktDef* def = LookupSubckt(f, sub_tok.text);
  if (def == nullptr) {
    diag_.Error(sub_tok.loc, fmt::format("unknown subcircuit '{}'", sub_tok.text),
                "define it with .subckt or .include the file that does");
    return;
  }
  if (names.size() != def->ports.size()) {
    diag_.Error(sub_tok.loc,
                fmt::format("instance '{}' connects {} node{} but subcircuit '{}' has {} port{}",
                            t[0].raw, names.size(), names.size() == 1 ? "" : "s", def->name,
                            def->ports.size(), def->ports.size() == 1 ? "" : "s"),
                fmt::format("'{}' is defined at {}:{}", def->name, def->loc.file, def->loc.line));
    return;
  }
  if (std::find(stack_.begin(), stack_.end(), def) != stack_.end()) {
    diag_.Error(sub_tok.loc, fmt::format("recursive instantiation of subcircuit '{}'", def->name),
                "a subcircuit cannot contain an instance of itself");
    return;
  }
  if (static_cast<int>(stack_.size()) > kMaxSubcktDepth) {
    diag_.Error(sub_tok.loc, fmt::format("subcircuits nested more than {} deep", kMaxSubcktDepth));
    return;
  }
  std::vector<ParamDef> assigns;
  if (i < t.size() && !ParseAssignments(card, t[i].pos, &assigns, diag_)) return;

  std::string flat_name = f->prefix + xname;
  auto [prev, inserted] = element_names_.emplace(flat_name, t[0].loc);
  if (!inserted) {
    diag_.Error(t[0].loc, fmt::format("duplicate instance name '{}'", flat_name),
                fmt::format("first defined at {}:{}:{}", prev->second.file, prev->second.line,
                            prev->second.col));
    return;
  }
  auto child = std::make_unique<Frame>();
  child->def = def;
  child->parent = f;
  child->prefix = flat_name + ".";
  for (size_t k = 0; k < names.size(); ++k) {
    child->ports[def->ports[k]] = MapNode(f, names[k]->text);
  }
  for (const ParamDef& d : def->defaults) child->params[d.name].def = &d;
  for (const ParamDef& a : assigns) {
    auto it = child->params.find(a.name);
    if (it == child->params.end()) {
      diag_.Error(a.loc, fmt::format("subcircuit '{}' has no parameter '{}'", def->name, a.name),
                  "declare it in the .subckt line: params: " + a.name + "=...");
      continue;
    }
    Expr e = ResolveExpr(f, a.expr, a.text, a.loc);
    double v = 0.0;
    if (e) {
      if (!e->probes().empty() || e->uses_time()) {
        diag_.Error(a.loc, fmt::format("parameter '{}' must be constant", a.name));
      } else {
        v = e->Evaluate(nullptr, 0.0, out_->temp, nullptr);
        if (sweeps_temp_ && e->uses_temper()) {
          diag_.Error(a.loc,
                      fmt::format("instance value of parameter '{}' reads temper, which cannot "
                                  "follow .dc temp",
                                  a.name),
                      "ngspice rejects temper in X instance values; write it in the params: "
                      "default or a .param, which follow the sweep");
        }
      }
    }
    it->second.def = nullptr;
    it->second.state = Frame::Slot::State::kDone;
    it->second.value = v;
  }
  // ngspice's rule: a body .param replaces the default of the same name; an instance value
  // (def == nullptr after the override above) replaces both.
  for (const ParamDef& p : def->params) {
    Frame::Slot& slot = child->params[p.name];
    if (slot.def != nullptr || slot.state == Frame::Slot::State::kPending) slot.def = &p;
  }
  stack_.push_back(def);
  Expand(child.get());
  stack_.pop_back();
}

void Flattener::AddModel(Frame* f, const ModelDef& m) {
  Model model;
  model.name = f->prefix + m.name;
  model.type = m.type;
  model.loc = m.loc;
  const Card& card = *m.card;
  const std::vector<Token>& t = card.tokens;
  for (size_t i = 3; i < t.size(); ++i) {
    const Token& tok = t[i];
    if (tok.Is(Token::Kind::kLParen) || tok.Is(Token::Kind::kRParen) ||
        tok.Is(Token::Kind::kComma)) {
      continue;
    }
    if (!tok.Is(Token::Kind::kWord)) {
      diag_.Error(tok.loc, fmt::format("expected a model parameter name but found '{}'", tok.raw));
      return;
    }
    if (i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) {
      if (i + 2 >= t.size() ||
          !(t[i + 2].Is(Token::Kind::kWord) || t[i + 2].Is(Token::Kind::kExpr))) {
        diag_.Error(t[i + 1].loc, fmt::format("missing value for model parameter '{}'", tok.text));
        return;
      }
      const Token& v = t[i + 2];
      if (v.Is(Token::Kind::kWord) && !ParseSpiceNumber(v.text)) {
        model.text_params[tok.text] = v.text;
      } else if (std::optional<double> d = Value(f, card, v, "model parameter " + tok.text,
                                                 FollowTemper(&model.temper_values, tok.text))) {
        model.params[tok.text] = *d;
      }
      i += 2;
      continue;
    }
    model.text_params[tok.text] = "";  // bare flag
  }
  out_->models[model.name] = std::move(model);
}

void Flattener::AddElement(Element e, const SourceLoc& name_loc) {
  if (options_.max_elements > 0 && out_->elements.size() >= options_.max_elements) {
    if (!too_large_) {
      diag_.Error(
          name_loc,
          fmt::format("circuit has more than {} elements after flattening", options_.max_elements),
          "raise ParseOptions::max_elements if this is intended");
    }
    too_large_ = true;
    return;
  }
  if (!e.name.empty()) {
    auto [it, inserted] = element_names_.emplace(e.name, name_loc);
    if (!inserted) {
      diag_.Error(name_loc, fmt::format("duplicate element name '{}'", e.name),
                  fmt::format("first defined at {}:{}:{}", it->second.file, it->second.line,
                              it->second.col));
    }
  }
  out_->elements.push_back(std::move(e));
}

std::optional<double> Flattener::Value(Frame* f, const Card& card, const Token& tok,
                                       const std::string& what, const TemperRule& rule) {
  if (tok.Is(Token::Kind::kWord)) {
    if (std::optional<double> v = ParseSpiceNumber(tok.text)) return v;
    std::string hint = "a value is a number with an optional suffix f p n u m k meg g t mil";
    bool is_param = false;
    for (Frame* fr = f; fr != nullptr && !is_param; fr = fr->parent) {
      is_param = fr->params.count(tok.text) != 0;
    }
    if (is_param) hint = fmt::format("write {{{}}} to use parameter '{}'", tok.text, tok.text);
    diag_.Error(tok.loc, fmt::format("'{}' is not a number; expected e.g. 1k, 2.5u, 1e-3", tok.raw),
                hint);
    return std::nullopt;
  }
  if (tok.Is(Token::Kind::kExpr)) {
    Expr e = TokenExpr(f, card, tok);
    if (!e) return std::nullopt;
    if (!e->probes().empty() || e->uses_time()) {
      diag_.Error(tok.loc, fmt::format("the {} must be constant", what),
                  "V(), I() and time are allowed in B sources, E/G VALUE= and R={...} only");
      return std::nullopt;
    }
    return Constant(e, what, rule);
  }
  diag_.Error(tok.loc, fmt::format("expected a value for the {} but found '{}'", what, tok.raw));
  return std::nullopt;
}

std::optional<double> Flattener::Constant(const Expr& e, const std::string& what,
                                          const TemperRule& rule) {
  if (sweeps_temp_ && e->uses_temper()) {
    switch (rule.kind) {
      case TemperRule::Kind::kFollow:
        (*rule.follow)[rule.key] = e;
        break;
      case TemperRule::Kind::kRefuse:
        diag_.Error(e->loc(),
                    fmt::format("the {} reads temper, which cannot follow .dc temp here", what),
                    "ngspice rejects temper in source values, gains and coupling coefficients "
                    "('Undefined parameter [temper]'); use a B source (B1 n 0 V=...), or temper "
                    "in an R, C or L value or a device or .model parameter, which follow the "
                    "sweep");
        return std::nullopt;
      case TemperRule::Kind::kOnce:
        diag_.Warning(e->loc(),
                      fmt::format("the {} reads temper but is evaluated once, at .temp = {} C; "
                                  ".dc temp does not change it",
                                  what, out_->temp),
                      "element values, instance and .model parameters and B sources follow the "
                      "sweep");
        break;
    }
  }
  return e->Evaluate(nullptr, 0.0, out_->temp, nullptr);
}

bool HasTemperValues(const Netlist& nl) {
  return std::any_of(nl.elements.begin(), nl.elements.end(),
                     [](const Element& e) { return !e.temper_values.empty(); }) ||
         std::any_of(nl.models.begin(), nl.models.end(),
                     [](const auto& m) { return !m.second.temper_values.empty(); });
}

Netlist AtTemperature(const Netlist& nl, double celsius) {
  Netlist out = nl;
  out.temp = celsius;
  auto at = [celsius](const Expr& x) { return x->Evaluate(nullptr, 0.0, celsius, nullptr); };
  for (Element& e : out.elements) {
    for (const auto& [key, x] : e.temper_values) {
      if (key == "value") {
        e.value = at(x);
      } else {
        e.params[key] = at(x);
      }
    }
  }
  for (auto& [name, m] : out.models) {
    for (const auto& [key, x] : m.temper_values) m.params[key] = at(x);
  }
  return out;
}

Expr Flattener::ResolveExpr(Frame* f, NodePtr root, std::string text, const SourceLoc& loc) {
  if (!root) return nullptr;
  Expression e(std::move(root), std::move(text), loc);
  return e.Resolve(MakeScope(f), diag_);
}

Expr Flattener::TokenExpr(Frame* f, const Card& card, const Token& tok) {
  LocFn loc_of = [&card, &tok](size_t off) { return card.LocAt(tok.pos + off); };
  NodePtr root = ParseExprTree(tok.text, loc_of, diag_, nullptr);
  if (!root) return nullptr;
  return ResolveExpr(f, root, tok.text, card.LocAt(tok.pos));
}

SourceLoc Flattener::EndLoc(const Card& card) {
  if (card.tokens.empty()) return card.loc();
  const Token& last = card.tokens.back();
  SourceLoc l = card.LocAt(last.end > 0 ? last.end - 1 : 0);
  l.col += 2;
  return l;
}

}  // namespace memspice::netlist
