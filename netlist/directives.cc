// Top-level dot cards: analyses, initial conditions, options and output selections.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "netlist/flatten.h"

namespace memspice::netlist {

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
      static const char* kKnown[] = {".ac",   ".noise", ".tf",      ".sens", ".disto",     ".pz",
                                     ".four", ".width", ".csparam", ".data", ".spiceinit", ".hb"};
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

void Flattener::Outputs(const Card& card) {
  const std::vector<Token>& t = card.tokens;
  size_t i = 1;
  if (i < t.size() && (t[i].IsWord("tran") || t[i].IsWord("dc") || t[i].IsWord("op") ||
                       t[i].IsWord("ac") || t[i].IsWord("noise"))) {
    ++i;
  }
  auto add = [&](std::string s) {
    if (std::find(out_->outputs.begin(), out_->outputs.end(), s) == out_->outputs.end()) {
      out_->outputs.push_back(std::move(s));
    }
  };
  while (i < t.size()) {
    const Token& k = t[i];
    if (k.IsWord("all")) {
      ++i;
      continue;
    }
    if (k.Is(Token::Kind::kWord) && (k.text == "v" || k.text == "i" || k.text == "x") && i + 1 < t.size() &&
        t[i + 1].Is(Token::Kind::kLParen)) {
      std::vector<std::string> names;
      size_t j = i + 2;
      while (j < t.size() && !t[j].Is(Token::Kind::kRParen)) {
        if (t[j].Is(Token::Kind::kWord)) names.push_back(t[j].text);
        ++j;
      }
      if (j >= t.size() || names.empty() || names.size() > (k.text == "v" ? 2u : 1u)) {
        diag_.Error(k.loc, fmt::format("bad output '{}' in {}", k.raw, card.keyword),
                    "expected v(node), v(node1,node2), i(vsource) or x(memristor)");
        return;
      }
      std::string s = k.text + "(" + names[0];
      if (names.size() == 2) s += "," + names[1];
      add(s + ")");
      i = j + 1;
      continue;
    }
    if (k.Is(Token::Kind::kWord) && k.text.find_first_of("@[#") == std::string::npos &&
        !(i + 1 < t.size() && t[i + 1].Is(Token::Kind::kLParen))) {
      add("v(" + k.text + ")");  // a bare node name
      ++i;
      continue;
    }
    diag_.Warning(k.loc, fmt::format("output '{}' not supported; ignored", k.raw),
                  "use v(node), v(node1,node2), i(vsource) or x(memristor)");
    ++i;
    if (i < t.size() && t[i].Is(Token::Kind::kLParen)) {
      while (i < t.size() && !t[i].Is(Token::Kind::kRParen)) ++i;
      ++i;
    }
  }
}

}  // namespace memspice::netlist
