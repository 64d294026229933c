// Top-level dot cards: analyses, initial conditions, options and output selections.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>

#include "base/strings.h"
#include "netlist/flatten.h"

namespace memspice::netlist {
namespace {

// ngspice prefixes elements inside subcircuits with their letter: "v.x1.vs" -> "x1.vs".
std::string StripSubcktLetter(const std::string& element) {
  if (element.size() > 2 && std::isalpha(static_cast<unsigned char>(element[0])) &&
      element[1] == '.' && element[2] == 'x') {
    return element.substr(2);
  }
  return element;
}

}  // namespace

std::string CanonicalSignalName(const std::string& name) {
  std::string n = base::Lower(name);
  const std::string branch = "#branch";
  if (n.size() > branch.size() && n.compare(n.size() - branch.size(), branch.size(), branch) == 0) {
    return "i(" + StripSubcktLetter(n.substr(0, n.size() - branch.size())) + ")";
  }
  if (n.size() > 3 && n.compare(0, 2, "i(") == 0 && n.back() == ')') {
    return "i(" + StripSubcktLetter(n.substr(2, n.size() - 3)) + ")";
  }
  return n;
}

void Flattener::Directives(const std::vector<const Card*>& cards) {
  Frame* top = root_.get();
  for (const Card* cp : cards) {
    const Card& card = *cp;
    const std::string& kw = card.keyword;
    const std::vector<Token>& t = card.tokens;
    if (kw == ".tran") {
      Tran(card);
    } else if (kw == ".dc") {
      Dc(card);
    } else if (kw == ".ac") {
      Ac(card);
    } else if (kw == ".op") {
      Analysis a;
      a.kind = Analysis::Kind::kOp;
      a.loc = card.loc();
      out_->analyses.push_back(a);
    } else if (kw == ".ic") {
      InitialValues(card, &out_->ics);
    } else if (kw == ".nodeset") {
      InitialValues(card, &out_->nodesets);
    } else if (kw == ".options" || kw == ".option" || kw == ".opt" || kw == ".opts") {
      Options(card);
    } else if (kw == ".temp") {
      if (t.size() != 2) {
        diag_.Error(t.size() < 2 ? EndLoc(card) : t[2].loc,
                    ".temp takes one temperature (Celsius)");
        continue;
      }
      if (std::optional<double> v = Value(top, card, t[1], "temperature")) out_->temp = *v;
    } else if (kw == ".print" || kw == ".plot" || kw == ".save" || kw == ".probe") {
      Outputs(card);
    } else if (kw == ".title") {
      size_t b = card.text.find_first_not_of(" \t", t[0].end);
      out_->title = b == std::string::npos ? "" : card.text.substr(b);
    } else if (kw == ".meas" || kw == ".measure" || kw == ".step") {
      // read again by netlist/directive_cards.h for solver/measure.h and `memspice sweep`
    } else if (kw == ".global" || kw == ".endl" || kw == ".ends") {
      // handled while reading / building
    } else {
      static const char* kKnown[] = {".noise", ".tf",      ".sens", ".disto",     ".pz", ".four",
                                     ".width", ".csparam", ".data", ".spiceinit", ".hb"};
      bool known =
          std::any_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return kw == k; });
      diag_.Warning(card.loc(),
                    fmt::format("{} card '{}' ignored", known ? "unsupported" : "unknown", kw));
    }
  }
}

void Flattener::Tran(const Card& card) {
  Frame* top = root_.get();
  const std::vector<Token>& t = card.tokens;
  Analysis a;
  a.kind = Analysis::Kind::kTran;
  a.loc = card.loc();
  std::vector<std::pair<double, const Token*>> vals;
  for (size_t i = 1; i < t.size(); ++i) {
    if (t[i].IsWord("uic")) {
      a.uic = true;
      continue;
    }
    std::optional<double> v = Value(top, card, t[i], ".tran argument");
    if (!v) return;
    vals.push_back({*v, &t[i]});
  }
  if (vals.size() < 2) {
    diag_.Error(EndLoc(card), ".tran needs tstep and tstop", "e.g. .tran 1u 1m");
    return;
  }
  if (vals.size() > 4) {
    diag_.Error(vals[4].second->loc, ".tran takes tstep tstop [tstart [tmax]] [uic]");
    return;
  }
  a.tstep = vals[0].first;
  a.tstop = vals[1].first;
  if (a.tstep <= 0) {
    diag_.Error(vals[0].second->loc, fmt::format(".tran tstep must be > 0, got {}", a.tstep));
    return;
  }
  if (a.tstop <= 0) {
    diag_.Error(vals[1].second->loc, fmt::format(".tran tstop must be > 0, got {}", a.tstop));
    return;
  }
  if (vals.size() > 2) {
    a.tstart = vals[2].first;
    if (a.tstart < 0 || a.tstart >= a.tstop) {
      diag_.Error(vals[2].second->loc,
                  fmt::format(".tran tstart must be in [0, tstop), got {}", a.tstart));
      return;
    }
  }
  if (vals.size() > 3) {
    a.tmax = vals[3].first;
    if (a.tmax < 0) {
      diag_.Error(vals[3].second->loc, fmt::format(".tran tmax must be >= 0, got {}", a.tmax));
      return;
    }
  }
  out_->analyses.push_back(a);
}

void Flattener::Dc(const Card& card) {
  Frame* top = root_.get();
  const std::vector<Token>& t = card.tokens;
  Analysis a;
  a.kind = Analysis::Kind::kDc;
  a.loc = card.loc();
  size_t i = 1;
  if (t.size() < 5) {
    diag_.Error(EndLoc(card), ".dc needs source start stop step", "e.g. .dc v1 0 5 0.1");
    return;
  }
  while (i < t.size()) {
    if (i + 3 >= t.size()) {
      diag_.Error(t[i].loc, ".dc sweep needs source start stop step");
      return;
    }
    const Token& src = t[i];
    if (!src.Is(Token::Kind::kWord)) {
      diag_.Error(src.loc, fmt::format("expected a source name but found '{}'", src.raw));
      return;
    }
    DcSweep s;
    s.source = src.text;
    if (s.source != "temp") {
      bool found = false;
      for (const Element& e : out_->elements) {
        if (e.name == s.source) {
          found = e.letter == 'v' || e.letter == 'i';
          if (!found) {
            diag_.Error(src.loc,
                        fmt::format(".dc sweeps '{}', which is not a V or I source", s.source));
            return;
          }
          break;
        }
      }
      if (!found) {
        diag_.Error(src.loc, fmt::format(".dc sweeps unknown source '{}'", s.source));
        return;
      }
    }
    std::optional<double> start = Value(top, card, t[i + 1], ".dc start");
    std::optional<double> stop = Value(top, card, t[i + 2], ".dc stop");
    std::optional<double> step = Value(top, card, t[i + 3], ".dc step");
    if (!start || !stop || !step) return;
    if (*step == 0.0) {
      diag_.Error(t[i + 3].loc, ".dc step must not be 0");
      return;
    }
    if ((*stop - *start) / *step < 0) {
      diag_.Error(
          t[i + 3].loc,
          fmt::format(".dc step {} moves away from stop {} (start {})", *step, *stop, *start),
          "flip the sign of the step");
      return;
    }
    if (std::fabs((*stop - *start) / *step) > 1e8) {
      diag_.Error(t[i + 3].loc, ".dc sweep has more than 1e8 points");
      return;
    }
    s.start = *start;
    s.stop = *stop;
    s.step = *step;
    a.sweeps.push_back(s);
    i += 4;
  }
  if (a.sweeps.size() > 2) {
    diag_.Error(card.loc(), ".dc takes at most two sweeps");
    return;
  }
  out_->analyses.push_back(a);
}

void Flattener::InitialValues(const Card& card, std::vector<NodeValue>* out) {
  Frame* top = root_.get();
  const std::vector<Token>& t = card.tokens;
  size_t i = 1;
  while (i < t.size()) {
    // v ( node ) = value
    if (!(t[i].IsWord("v") && i + 5 < t.size() && t[i + 1].Is(Token::Kind::kLParen) &&
          t[i + 2].Is(Token::Kind::kWord) && t[i + 3].Is(Token::Kind::kRParen) &&
          t[i + 4].Is(Token::Kind::kEq))) {
      diag_.Error(t[i].loc, fmt::format("expected V(node)=value in {} but found '{}'", card.keyword,
                                        t[i].raw));
      return;
    }
    std::optional<double> v = Value(top, card, t[i + 5], "initial value");
    if (!v) return;
    NodeValue nv;
    nv.node = MapNode(top, t[i + 2].text);
    if (!CheckNode(t[i + 2], nv.node, card.keyword)) return;
    nv.value = *v;
    nv.loc = t[i].loc;
    out->push_back(nv);
    i += 6;
  }
}

void Flattener::Options(const Card& card) {
  Frame* top = root_.get();
  const std::vector<Token>& t = card.tokens;
  for (size_t i = 1; i < t.size(); ++i) {
    const Token& k = t[i];
    if (!k.Is(Token::Kind::kWord)) {
      diag_.Error(k.loc, fmt::format("expected an option name but found '{}'", k.raw));
      return;
    }
    if (i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) {
      if (i + 2 >= t.size()) {
        diag_.Error(t[i + 1].loc, fmt::format("missing value for option '{}'", k.text));
        return;
      }
      const Token& v = t[i + 2];
      i += 2;
      if (k.text == "method") {
        out_->method = v.text;
        continue;
      }
      if (v.Is(Token::Kind::kWord) && !ParseSpiceNumber(v.text)) {
        diag_.Warning(v.loc, fmt::format("option '{}={}' ignored (not a number)", k.text, v.text));
        continue;
      }
      if (std::optional<double> d = Value(top, card, v, "option " + k.text)) {
        out_->options[k.text] = *d;
      }
      continue;
    }
    out_->options[k.text] = 1.0;  // bare flag
  }
}

const std::set<std::string>& Flattener::KnownNodes() {
  if (known_nodes_.empty()) {
    known_nodes_.insert("0");
    for (const Element& e : out_->elements) known_nodes_.insert(e.nodes.begin(), e.nodes.end());
  }
  return known_nodes_;
}

const Element* Flattener::FindElement(const std::string& name) {
  if (element_index_.empty()) {
    element_index_.reserve(out_->elements.size());
    for (size_t k = 0; k < out_->elements.size(); ++k)
      element_index_.emplace(out_->elements[k].name, k);  // the first of a name, as a scan finds
  }
  auto it = element_index_.find(name);
  return it == element_index_.end() ? nullptr : &out_->elements[it->second];
}

bool Flattener::CheckNode(const Token& tok, const std::string& node, const std::string& what) {
  if (KnownNodes().count(node) != 0) return true;
  diag_.Error(tok.loc, fmt::format("unknown node '{}' in {}", node, what),
              "nodes are named by the element cards (inside a subcircuit: x1.node)");
  return false;
}

// One output name: v(a), v(a,b), i(el), x(el) or a bare node; ngspice's names (`v1#branch`,
// `i(v.x1.vs)`) are accepted. Vectors memspice does not compute are warned about and skipped.
std::optional<std::string> Flattener::OutputName(const Card& card, size_t* i) {
  const std::vector<Token>& t = card.tokens;
  const Token& k = t[*i];
  const bool call =
      k.Is(Token::Kind::kWord) && *i + 1 < t.size() && t[*i + 1].Is(Token::Kind::kLParen);
  if (call && (k.text == "v" || k.text == "i" || k.text == "x")) {
    std::vector<const Token*> names;
    size_t j = *i + 2;
    for (; j < t.size() && !t[j].Is(Token::Kind::kRParen); ++j) {
      if (t[j].Is(Token::Kind::kWord)) names.push_back(&t[j]);
    }
    if (j >= t.size() || names.empty() || names.size() > (k.text == "v" ? 2u : 1u)) {
      diag_.Error(k.loc, fmt::format("bad output '{}' in {}", k.raw, card.keyword),
                  "expected v(node), v(node1,node2), i(vsource) or x(memristor)");
      *i = t.size();
      return std::nullopt;
    }
    *i = j + 1;
    if (k.text == "v") {
      std::string s = "v(" + names[0]->text;
      bool ok = CheckNode(*names[0], names[0]->text, card.keyword);
      if (names.size() == 2) {
        ok = CheckNode(*names[1], names[1]->text, card.keyword) && ok;
        s += "," + names[1]->text;
      }
      if (!ok) return std::nullopt;
      return s + ")";
    }
    if (k.text == "x") return "x(" + names[0]->text + ")";
    return CurrentOutput(*names[0], "i(" + names[0]->raw + ")",
                         CanonicalSignalName("i(" + names[0]->text + ")"));
  }
  if (k.Is(Token::Kind::kWord) && !call && k.text.find("#branch") != std::string::npos) {
    ++*i;
    return CurrentOutput(k, k.raw, CanonicalSignalName(k.text));
  }
  if (k.Is(Token::Kind::kWord) && !call && k.text.find_first_of("@[#") == std::string::npos) {
    ++*i;
    if (!CheckNode(k, k.text, card.keyword)) return std::nullopt;
    return "v(" + k.text + ")";  // a bare node name
  }
  diag_.Warning(k.loc, fmt::format("output '{}' not supported; ignored", k.raw),
                "use v(node), v(node1,node2), i(vsource) or x(memristor)");
  ++*i;
  if (*i < t.size() && t[*i].Is(Token::Kind::kLParen)) {
    while (*i < t.size() && !t[*i].Is(Token::Kind::kRParen)) ++*i;
    ++*i;
  }
  return std::nullopt;
}

// i(element): the branch current of a V, E, H, L or B V= element.
std::optional<std::string> Flattener::CurrentOutput(const Token& tok, const std::string& shown,
                                                    const std::string& name) {
  const std::string element = name.substr(2, name.size() - 3);
  const Element* e = FindElement(element);
  if (e == nullptr) {
    diag_.Error(tok.loc,
                fmt::format("unknown element '{}' in current output '{}'", element, shown));
    return std::nullopt;
  }
  const bool has_branch = e->letter == 'v' || e->letter == 'e' || e->letter == 'h' ||
                          e->letter == 'l' || (e->letter == 'b' && !e->expr_is_current);
  if (!has_branch) {
    diag_.Warning(tok.loc,
                  fmt::format("current of '{}' is not an output of memspice; ignored", element),
                  "currents are those of V, E, H, L and B V= elements; put a 0 V source in "
                  "series to measure another one");
    return std::nullopt;
  }
  return name;
}

void Flattener::Outputs(const Card& card) {
  const std::vector<Token>& t = card.tokens;
  static const char* kAnalyses[] = {"tran", "dc", "op",   "ac",    "noise",
                                    "pz",   "tf", "sens", "disto", "sp"};
  size_t i = 1;
  if (i < t.size() && std::any_of(std::begin(kAnalyses), std::end(kAnalyses),
                                  [&](const char* a) { return t[i].IsWord(a); })) {
    ++i;
  }
  while (i < t.size()) {
    const Token& k = t[i];
    if (k.IsWord("all")) {
      ++i;
      continue;
    }
    if (k.IsWord("alli") || k.IsWord("allv") || k.IsWord("allp") || k.IsWord("allq")) {
      diag_.Warning(k.loc, fmt::format("'{}' ignored", k.raw),
                    "memspice saves what .print/.save name, or every node voltage and branch "
                    "current when nothing is named");
      ++i;
      continue;
    }
    std::optional<std::string> s = OutputName(card, &i);
    if (s && std::find(out_->outputs.begin(), out_->outputs.end(), *s) == out_->outputs.end()) {
      out_->outputs.push_back(std::move(*s));
    }
  }
}

void Flattener::Ac(const Card& card) {
  const std::vector<Token>& t = card.tokens;
  const char* kUsage = "e.g. .ac dec 10 1 1meg (dec|oct|lin points fstart fstop)";
  if (t.size() != 5) {
    diag_.Error(t.size() < 5 ? EndLoc(card) : t[5].loc,
                fmt::format(".ac takes 4 arguments, got {}", t.size() - 1), kUsage);
    return;
  }
  Analysis a;
  a.kind = Analysis::Kind::kAc;
  a.loc = card.loc();
  if (t[1].IsWord("dec")) {
    a.ac_sweep = Analysis::AcSweep::kDec;
  } else if (t[1].IsWord("oct")) {
    a.ac_sweep = Analysis::AcSweep::kOct;
  } else if (t[1].IsWord("lin")) {
    a.ac_sweep = Analysis::AcSweep::kLin;
  } else {
    diag_.Error(t[1].loc, fmt::format("unknown .ac sweep type '{}'", t[1].raw),
                "expected dec, oct or lin");
    return;
  }
  Frame* top = root_.get();
  std::optional<double> n = Value(top, card, t[2], ".ac number of points");
  std::optional<double> fstart = Value(top, card, t[3], ".ac fstart");
  std::optional<double> fstop = Value(top, card, t[4], ".ac fstop");
  if (!n || !fstart || !fstop) return;
  // A bound that keeps a typo from asking for an endless sweep.
  constexpr double kMaxPoints = 1e7;
  if (!(*n >= 1.0 && *n <= kMaxPoints) || *n != std::floor(*n)) {
    diag_.Error(t[2].loc,
                fmt::format(".ac number of points must be an integer in [1, 1e7], got {}", *n));
    return;
  }
  const bool log_sweep = a.ac_sweep != Analysis::AcSweep::kLin;
  if (!std::isfinite(*fstart) || (log_sweep ? *fstart <= 0.0 : *fstart < 0.0)) {
    diag_.Error(t[3].loc,
                fmt::format(".ac fstart must be {} 0, got {}", log_sweep ? ">" : ">=", *fstart),
                log_sweep ? "a dec/oct sweep starts at a positive frequency" : "");
    return;
  }
  if (!std::isfinite(*fstop) || *fstop < *fstart) {
    diag_.Error(t[4].loc, fmt::format(".ac fstop must be >= fstart ({}), got {}", *fstart, *fstop));
    return;
  }
  a.ac_points = static_cast<int>(*n);
  a.fstart = *fstart;
  a.fstop = *fstop;
  out_->analyses.push_back(a);
}

}  // namespace memspice::netlist
