#include "circuits/ngspice_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "devices/mss_model.h"
#include "netlist/expression.h"

namespace memspice::circuits {
namespace {

namespace fs = std::filesystem;
using netlist::Diagnostics;
using netlist::SourceLoc;

constexpr int kMaxIncludeDepth = 64;

struct SrcLine {
  std::string text;
  SourceLoc loc;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// First whitespace-separated word, lower case.
std::string FirstWord(const std::string& s) {
  std::string t = Trim(s);
  size_t e = t.find_first_of(" \t");
  return Lower(t.substr(0, e));
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

bool IsComment(const std::string& line) {
  std::string t = Trim(line);
  return t.empty() || t[0] == '*';
}

bool IsContinuation(const std::string& line) {
  std::string t = Trim(line);
  return !t.empty() && t[0] == '+';
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

// Include resolution and inlining -------------------------------------------------------------

class Loader {
 public:
  Loader(const std::vector<std::string>& include_paths, Diagnostics& diag)
      : include_paths_(include_paths), diag_(diag) {}

  // Appends the lines of `text` (from file `name`) to out. The main deck's first line is its
  // title and is never interpreted.
  void Load(const std::string& text, const std::string& name, bool is_main, int depth,
            std::vector<SrcLine>* out) {
    diag_.AddSource(name, text);
    const std::vector<std::string> lines = SplitLines(text);
    const std::string dir = fs::path(name).parent_path().string();
    for (size_t i = 0; i < lines.size(); ++i) {
      SrcLine line{lines[i], {name, static_cast<int>(i) + 1, 1}};
      if (is_main && i == 0) {
        out->push_back(line);
        continue;
      }
      const std::string w = FirstWord(line.text);
      const size_t col = line.text.find_first_not_of(" \t");
      line.loc.col = col == std::string::npos ? 1 : static_cast<int>(col) + 1;
      if (w == ".include" || w == ".inc" || w == ".incl") {
        std::vector<std::string> args = Words(line.text);
        if (args.size() < 2) {
          diag_.Error(line.loc, "missing file name after " + w, ".include file.lib");
          continue;
        }
        IncludeFile(Unquote(args[1]), "", dir, line, depth, out);
      } else if (w == ".lib") {
        std::vector<std::string> args = Words(line.text);
        if (args.size() >= 3) {
          IncludeFile(Unquote(args[1]), Lower(args[2]), dir, line, depth, out);
        } else if (args.size() == 2 && Resolve(Unquote(args[1]), dir)) {
          IncludeFile(Unquote(args[1]), "", dir, line, depth, out);
        } else {
          // A section marker of a library included as a whole: meaningless to ngspice here.
          out->push_back({"* [memspice] " + line.text, line.loc});
        }
      } else if (w == ".endl") {
        out->push_back({"* [memspice] " + line.text, line.loc});
      } else {
        out->push_back(line);
      }
    }
  }

 private:
  std::optional<std::string> Resolve(const std::string& file, const std::string& dir) const {
    std::vector<fs::path> candidates;
    fs::path p(file);
    if (p.is_absolute()) {
      candidates.push_back(p);
    } else {
      candidates.push_back(fs::path(dir.empty() ? "." : dir) / p);
      for (const std::string& inc : include_paths_) candidates.push_back(fs::path(inc) / p);
    }
    for (const fs::path& c : candidates) {
      std::error_code ec;
      if (fs::is_regular_file(c, ec)) return fs::weakly_canonical(c, ec).string();
    }
    return std::nullopt;
  }

  void IncludeFile(const std::string& file, const std::string& section, const std::string& dir,
                   const SrcLine& line, int depth, std::vector<SrcLine>* out) {
    std::optional<std::string> path = Resolve(file, dir);
    if (!path) {
      std::string where = "'" + (dir.empty() ? std::string(".") : dir) + "'";
      for (const std::string& inc : include_paths_) where += ", '" + inc + "'";
      diag_.Error(line.loc, "cannot find include file '" + file + "'", "searched " + where);
      return;
    }
    if (depth >= kMaxIncludeDepth || std::count(stack_.begin(), stack_.end(), *path) > 0) {
      diag_.Error(line.loc, "include cycle: '" + *path + "' includes itself",
                  "remove the recursive .include");
      return;
    }
    std::ifstream in(*path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      diag_.Error(line.loc, "cannot read include file '" + *path + "'");
      return;
    }
    std::string text = ss.str();
    if (!section.empty()) {
      // Keep only the lines between `.lib section` and the next `.endl`.
      std::vector<std::string> lines = SplitLines(text);
      std::string kept;
      bool inside = false, found = false;
      for (const std::string& l : lines) {
        std::vector<std::string> w = Words(l);
        std::string head = w.empty() ? "" : Lower(w[0]);
        if (!inside && head == ".lib" && w.size() == 2 && Lower(w[1]) == section) {
          inside = found = true;
          kept += "*\n";  // keeps line numbers aligned
        } else if (inside && head == ".endl") {
          inside = false;
          kept += "*\n";
        } else {
          kept += (inside ? l : std::string("*")) + "\n";
        }
      }
      if (!found) {
        diag_.Error(line.loc, "section '" + section + "' not found in '" + *path + "'");
        return;
      }
      text = kept;
    }
    out->push_back({"* [memspice] begin " + Trim(line.text) + "  (" + *path + ")", line.loc});
    stack_.push_back(*path);
    Load(text, *path, false, depth + 1, out);
    stack_.pop_back();
    out->push_back({"* [memspice] end " + Trim(line.text), line.loc});
  }

  const std::vector<std::string>& include_paths_;
  Diagnostics& diag_;
  std::vector<std::string> stack_;
};

// Statements: a line plus its '+' continuations (comment lines in between are kept) -----------

struct Statement {
  std::vector<SrcLine> lines;  // verbatim, first is the head
  std::string joined;          // head + continuations without '+', inline comments removed
  SourceLoc loc;
  bool is_title = false;
  bool is_comment = false;
};

std::string StripInlineComment(const std::string& s) {
  // ngspice: `;` anywhere and ` $ ` start an inline comment (outside braces/quotes).
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth > 0) continue;
    if (c == ';') return s.substr(0, i);
    if (c == '$' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  }
  return s;
}

std::vector<Statement> GroupStatements(const std::vector<SrcLine>& lines) {
  std::vector<Statement> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    Statement st;
    st.loc = lines[i].loc;
    st.lines.push_back(lines[i]);
    if (i == 0) {
      st.is_title = true;
      out.push_back(st);
      continue;
    }
    if (IsComment(lines[i].text) || IsContinuation(lines[i].text)) {
      st.is_comment = true;  // a stray '+' line is passed through untouched
      out.push_back(st);
      continue;
    }
    st.joined = StripInlineComment(lines[i].text);
    // Pull continuation lines, allowing comment lines in between.
    size_t j = i + 1;
    while (j < lines.size()) {
      size_t k = j;
      while (k < lines.size() && IsComment(lines[k].text) && !IsContinuation(lines[k].text)) ++k;
      if (k < lines.size() && IsContinuation(lines[k].text)) {
        for (size_t m = j; m <= k; ++m) st.lines.push_back(lines[m]);
        std::string cont = Trim(lines[k].text).substr(1);
        st.joined += " " + StripInlineComment(cont);
        j = k + 1;
      } else {
        break;
      }
    }
    i = j - 1;
    out.push_back(st);
  }
  return out;
}

// Tokens of an element or model line: whitespace separated, `=` on its own, {..} '..' (..)
// groups kept whole.
std::vector<std::string> Tokenize(const std::string& s) {
  std::vector<std::string> toks;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) toks.push_back(cur);
    cur.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '{' || c == '(' || c == '\'') {
      const char open = c, close = c == '{' ? '}' : c == '(' ? ')' : '\'';
      int depth = 0;
      size_t j = i;
      for (; j < s.size(); ++j) {
        if (s[j] == close && (open == close ? j > i : true)) {
          if (open == close || --depth == 0) break;
        } else if (s[j] == open && open != close) {
          ++depth;
        }
      }
      cur += s.substr(i, j - i + 1);
      i = j;
    } else if (c == ' ' || c == '\t' || c == ',') {
      flush();
    } else if (c == '=') {
      flush();
      toks.push_back("=");
    } else {
      cur.push_back(c);
    }
  }
  flush();
  return toks;
}

// Splits tokens into positional words and key=value pairs (keys lower case).
void SplitParams(const std::vector<std::string>& toks, size_t from,
                 std::vector<std::string>* positional,
                 std::vector<std::pair<std::string, std::string>>* kv, bool* malformed) {
  for (size_t i = from; i < toks.size(); ++i) {
    if (i + 2 < toks.size() && toks[i + 1] == "=") {
      kv->push_back({Lower(toks[i]), toks[i + 2]});
      i += 2;
    } else if (toks[i] == "=" || (i + 1 < toks.size() && toks[i + 1] == "=")) {
      *malformed = true;
      return;
    } else {
      positional->push_back(toks[i]);
    }
  }
}

std::string Num(double v) { return fmt::format("{}", v); }  // shortest exact form

// A parameter value as an ngspice expression operand.
std::string Operand(const std::string& v) {
  if (v.empty()) return "0";
  if (v.front() == '{' && v.back() == '}') return "(" + v + ")";
  if (v.front() == '\'' && v.back() == '\'') return "({" + v.substr(1, v.size() - 2) + "})";
  // A plain number (engineering suffixes allowed) is written out in full.
  std::optional<double> d = netlist::ParseSpiceNumber(v);
  bool numeric_start =
      std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '.' || v[0] == '-' || v[0] == '+';
  if (d && numeric_start) return Num(*d);
  return "({" + v + "})";
}

// MSS models ---------------------------------------------------------------------------------

struct MssModelCard {
  std::map<std::string, std::string> params;  // lower-case name -> value text
  SourceLoc loc;
};

const std::vector<std::string>& MssParamNames() {
  static const std::vector<std::string> names = {"ron", "roff", "von", "voff", "tau", "vt",
                                                 "k",   "phi",  "af",  "bf",   "ar",  "br"};
  return names;
}

std::map<std::string, std::string> MssDefaults() {
  const devices::mss::MssParams p;
  return {{"ron", Num(p.ron)}, {"roff", Num(p.roff)}, {"von", Num(p.von)}, {"voff", Num(p.voff)},
          {"tau", Num(p.tau)}, {"vt", Num(p.vt)},     {"k", Num(p.k)},     {"phi", Num(p.phi)},
          {"af", Num(p.af)},   {"bf", Num(p.bf)},     {"ar", Num(p.ar)},   {"br", Num(p.br)},
          {"x0", "0"}};
}

bool IsMssParam(const std::string& name) {
  return name == "x0" ||
         std::find(MssParamNames().begin(), MssParamNames().end(), name) != MssParamNames().end();
}

// Parses `.model name type (...)`; returns false if it is not an MSS model.
bool ParseMssModel(const Statement& st, std::string* name, MssModelCard* card, Diagnostics& diag) {
  std::string rest = Trim(st.joined);
  rest = Trim(rest.substr(
      rest.find_first_of(" \t") == std::string::npos ? rest.size() : rest.find_first_of(" \t")));
  size_t e = rest.find_first_of(" \t(");
  if (e == std::string::npos) return false;
  *name = Lower(rest.substr(0, e));
  rest = Trim(rest.substr(e));
  size_t te = rest.find_first_of(" \t(");
  std::string type = Lower(rest.substr(0, te));
  if (type != "mss") return false;
  rest = te == std::string::npos ? "" : Trim(rest.substr(te));
  if (!rest.empty() && rest.front() == '(' && rest.back() == ')') {
    rest = rest.substr(1, rest.size() - 2);
  }
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> kv;
  bool malformed = false;
  SplitParams(Tokenize(rest), 0, &positional, &kv, &malformed);
  if (malformed || !positional.empty()) {
    diag.Error(st.loc, "malformed parameter list in .model " + *name,
               ".model name mss (ron=1k roff=100k ...)");
  }
  card->loc = st.loc;
  for (auto& [k, v] : kv) {
    if (k == "convention") {
      std::string lv = Lower(Unquote(v));
      if (lv != "knowm" && lv != "memspice" && lv != "memprop" && lv != "standard") {
        diag.Error(st.loc, "model '" + *name + "': convention = '" + v + "' is not known",
                   "use convention=knowm or omit it");
      }
      card->params[k] = lv;
    } else if (k == "level") {
      // accepted and ignored, as by the device
    } else if (!IsMssParam(k)) {
      diag.Error(st.loc, "unknown parameter '" + k + "' in model '" + *name + "'",
                 "MSS parameters are ron, roff, von, voff, tau, vt, k, phi, af, bf, ar, br, x0, "
                 "convention");
    } else {
      card->params[k] = v;
    }
  }
  return true;
}

// The exporter ---------------------------------------------------------------------------------

constexpr const char* kHelpers =
    "* [memspice] ---- behavioural helpers for native memspice devices (docs/devices/mss.md) ----\n"
    "* [memspice] memristor state x(NAME) is the voltage v(NAME_x) of a 1 F capacitor\n"
    "* [memspice] mss_dc is 1 in DC analyses and 0 in transient after 1 ps (holds x at x0 in DC)\n"
    ".global mss_dc\n"
    "Vmss_dc mss_dc 0 DC 1 PWL(0 1 1p 0)\n"
    ".func mss_sg(z) {1/(1+exp(-max(min(z,200),-200)))}\n"
    ".func mss_g(x,ron,roff) {x/ron+(1-x)/roff}\n"
    ".func mss_lexp(z) {exp(min(z,80))*(1+max(z-80,0))}\n"
    ".func mss_dx(x,u,von,voff,tau,kvt) {((1-x)*mss_sg((u-von)/kvt)-x*mss_sg((voff-u)/kvt))/tau}\n"
    ".func mss_alf(s,tau) {(max(s,0)/tau)*exp(-max(s,0)/tau)}\n"
    ".func mss_trn(s,p,nmax) {max(min(floor(s/p),nmax),0)}\n"
    ".func mss_trs(sn,n,tau,p,r) {exp(-sn/tau)/tau*(sn*(1-pow(r,n+1))/(1-r)"
    "+p*r*(1-(n+1)*pow(r,n)+n*pow(r,n+1))/((1-r)*(1-r)))}\n"
    ".func mss_train(s,tau,p,nmax) {mss_trs(max(s,0)-p*mss_trn(max(s,0),p,nmax),"
    "mss_trn(max(s,0),p,nmax),tau,p,exp(-p/tau))}\n"
    "* [memspice] ---- end of helpers ----\n";

// Time seen by alpha sources: 0 in DC analyses (ngspice lags `time` in DC sweeps).
constexpr const char* kSourceTime = "(time*(1-V(mss_dc)))";

class Exporter {
 public:
  explicit Exporter(Diagnostics& diag) : diag_(diag) {}

  bool Run(const std::vector<SrcLine>& lines, std::string* out) {
    std::vector<Statement> sts = GroupStatements(lines);
    CollectModels(sts);
    bool needs_helpers = false;
    bool control = false;
    for (const Statement& st : sts) {
      if (st.is_title || st.is_comment) continue;
      const std::string w = FirstWord(st.joined);
      if (w == ".control") control = true;
      if (w == ".endc") control = false;
      if (!control && !w.empty() && w[0] == 'y') needs_helpers = true;
    }
    std::string text;
    std::vector<std::string> scope;
    bool in_control = false;  // .control ... .endc is ngspice script: copied untouched
    for (const Statement& st : sts) {
      const std::string head = st.is_title || st.is_comment ? "" : FirstWord(st.joined);
      if (head == ".control") in_control = true;
      if (in_control) {
        if (head == ".endc") in_control = false;
        for (const SrcLine& l : st.lines) text += l.text + "\n";
        continue;
      }
      if (st.is_title) {
        text += st.lines[0].text + "\n";
        if (needs_helpers) text += kHelpers;
        continue;
      }
      if (st.is_comment) {
        text += st.lines[0].text + "\n";
        continue;
      }
      const std::string w = FirstWord(st.joined);
      if (w == ".subckt") {
        std::vector<std::string> words = Words(st.joined);
        scope.push_back(words.size() > 1 ? Lower(words[1]) : "");
      } else if (w == ".ends" && !scope.empty()) {
        scope.pop_back();
      }
      std::string name;
      MssModelCard card;
      Diagnostics scratch;
      if (w == ".model" && ParseMssModel(st, &name, &card, scratch)) {
        for (const SrcLine& l : st.lines) text += "* [memspice] " + l.text + "\n";
      } else if (!w.empty() && w[0] == 'y') {
        text += RewriteY(st, scope);
      } else if (w == ".print" || w == ".plot" || w == ".save" || w == ".probe" || w == ".meas" ||
                 w == ".measure") {
        for (const SrcLine& l : st.lines) text += RenameStates(l.text) + "\n";
      } else if (w == ".options" || w == ".option" || w == ".opt") {
        for (const SrcLine& l : st.lines) text += MapMethod(l) + "\n";
      } else {
        for (const SrcLine& l : st.lines) text += l.text + "\n";
      }
    }
    *out = std::move(text);
    return !diag_.has_errors();
  }

 private:
  static std::string ScopeKey(const std::vector<std::string>& scope) {
    std::string k;
    for (const std::string& s : scope) k += s + "/";
    return k;
  }

  void CollectModels(const std::vector<Statement>& sts) {
    std::vector<std::string> scope;
    for (const Statement& st : sts) {
      if (st.is_title || st.is_comment) continue;
      const std::string w = FirstWord(st.joined);
      if (w == ".subckt") {
        std::vector<std::string> words = Words(st.joined);
        scope.push_back(words.size() > 1 ? Lower(words[1]) : "");
      } else if (w == ".ends" && !scope.empty()) {
        scope.pop_back();
      } else if (w == ".model") {
        std::string name;
        MssModelCard card;
        if (ParseMssModel(st, &name, &card, diag_)) models_[ScopeKey(scope) + name] = card;
      }
    }
  }

  // Innermost enclosing subcircuit first, then outwards to the top level.
  const MssModelCard* FindModel(const std::string& name, std::vector<std::string> scope) const {
    while (true) {
      auto it = models_.find(ScopeKey(scope) + name);
      if (it != models_.end()) return &it->second;
      if (scope.empty()) return nullptr;
      scope.pop_back();
    }
  }

  std::string Header(const Statement& st) const {
    std::string h;
    for (const SrcLine& l : st.lines) h += "* [memspice] " + l.text + "\n";
    return h;
  }

  static std::string Voltage(const std::string& p, const std::string& n) {
    const std::string ln = Lower(n);
    if (ln == "0" || ln == "gnd") return "V(" + p + ")";
    return "V(" + p + "," + n + ")";
  }

  std::string RewriteY(const Statement& st, const std::vector<std::string>& scope) {
    std::vector<std::string> toks = Tokenize(st.joined);
    const std::string kind = Lower(toks[0]);
    if (kind == "ymss") return RewriteMss(st, toks, scope);
    if (kind == "yalpha") return RewriteAlpha(st, toks);
    diag_.Error(st.loc, "cannot export '" + toks[0] + "' to ngspice",
                "the ngspice export knows YMSS and YALPHA");
    return Header(st);
  }

  std::string RewriteMss(const Statement& st, const std::vector<std::string>& toks,
                         const std::vector<std::string>& scope) {
    const char* syntax = "syntax: YMSS name p n model [x0=value] [param=value ...]";
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, std::string>> kv;
    bool malformed = false;
    SplitParams(toks, 1, &pos, &kv, &malformed);
    if (malformed || pos.size() != 4) {
      diag_.Error(st.loc, "malformed memristor line", syntax);
      return Header(st);
    }
    const std::string name = Lower(pos[0]), p = pos[1], n = pos[2], model = Lower(pos[3]);
    const MssModelCard* card = FindModel(model, scope);
    if (card == nullptr) {
      diag_.Error(st.loc, "unknown model '" + model + "' for memristor '" + name + "'",
                  "define it with .model " + model + " mss (...) or .include mss.lib");
      return Header(st);
    }
    std::map<std::string, std::string> v = MssDefaults();
    bool knowm = false;
    for (const auto& [k, val] : card->params) {
      if (k == "convention") {
        knowm = val == "knowm";
      } else {
        v[k] = val;
      }
    }
    for (const auto& [k, val] : kv) {
      if (!IsMssParam(k)) {
        diag_.Error(st.loc, "unknown parameter '" + k + "' for memristor '" + name + "'",
                    "MSS parameters are ron, roff, von, voff, tau, vt, k, phi, af, bf, ar, br, x0");
        continue;
      }
      v[k] = val;
    }
    std::map<std::string, std::string> o;
    for (const auto& [k, val] : v) o[k] = Operand(val);
    const std::string xnode = name + "_x";
    const std::string u = Voltage(p, n);
    const std::string x = "V(" + xnode + ")";
    std::string current = "mss_g(" + x + "," + o["ron"] + "," + o["roff"] + ")*" + u;
    if (o["phi"] != Num(1.0)) {  // generalized form unless phi is literally 1
      current = o["phi"] + "*" + current + "+(1-" + o["phi"] + ")*(" + o["af"] + "*mss_lexp(" +
                o["bf"] + "*" + u + ")-" + o["ar"] + "*mss_lexp(-" + o["br"] + "*" + u + "))";
    }
    const std::string voff = knowm ? "(-" + o["voff"] + ")" : o["voff"];
    std::string s = Header(st);
    s += "* [memspice] state x(" + name + ") -> v(" + xnode + ")\n";
    s += "Bmss_" + name + " " + p + " " + n + " I = " + current + "\n";
    // IC= takes a number or a {expr}, not a parenthesised operand.
    const std::string& x0 = o["x0"];
    const std::string ic =
        x0.size() > 2 && x0[0] == '(' && x0[1] == '{' ? x0.substr(1, x0.size() - 2) : x0;
    s += "Cmss_" + name + " " + xnode + " 0 1 IC=" + ic + "\n";
    s += "Bmssx_" + name + " 0 " + xnode + " I = mss_dx(" + x + "," + u + "," + o["von"] + "," +
         voff + "," + o["tau"] + "," + o["k"] + "*" + o["vt"] + ")\n";
    s += "+ + V(mss_dc)*1e12*(" + o["x0"] + "-" + x + ")\n";
    return s;
  }

  std::string RewriteAlpha(const Statement& st, const std::vector<std::string>& toks) {
    const char* syntax =
        "syntax: YALPHA name np nn tau=0.64m w=27u period=1m [delay=0] [count=N]  or  "
        "YALPHA name np nn tau=0.64m events=(t1 w1 t2 w2 ...)";
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, std::string>> kv;
    bool malformed = false;
    SplitParams(toks, 1, &pos, &kv, &malformed);
    if (malformed || pos.size() != 3) {
      diag_.Error(st.loc, "malformed alpha source line", syntax);
      return Header(st);
    }
    const std::string name = Lower(pos[0]);
    std::map<std::string, std::string> v;
    for (const auto& [k, val] : kv) {
      if (k != "tau" && k != "w" && k != "period" && k != "delay" && k != "count" &&
          k != "events") {
        diag_.Error(st.loc, "unknown parameter '" + k + "' for alpha source '" + name + "'",
                    syntax);
      }
      v[k] = val;
    }
    const std::string tau = Operand(v.count("tau") ? v["tau"] : "0.64m");
    const std::string t = kSourceTime;
    std::string expr;
    if (v.count("events")) {
      std::string list = v["events"];
      if (list.size() >= 2 && list.front() == '(' && list.back() == ')') {
        list = list.substr(1, list.size() - 2);
      }
      std::vector<std::string> items = Tokenize(list);
      if (items.empty() || items.size() % 2 != 0) {
        diag_.Error(st.loc, "alpha source '" + name + "': events=(...) needs time/weight pairs",
                    syntax);
        return Header(st);
      }
      for (size_t i = 0; i < items.size(); i += 2) {
        if (!expr.empty()) expr += "\n+ + ";
        expr += Operand(items[i + 1]) + "*mss_alf(" + t + "-" + Operand(items[i]) + "," + tau + ")";
      }
    } else {
      if (!v.count("w")) {
        diag_.Error(st.loc, "alpha source '" + name + "' needs w= or events=", syntax);
        return Header(st);
      }
      const std::string delay = Operand(v.count("delay") ? v["delay"] : "0");
      const std::string nmax = v.count("count") ? "(" + Operand(v["count"]) + "-1)" : "1e15";
      const std::string period = v.count("period") ? Operand(v["period"]) : "1";
      expr = Operand(v["w"]) + "*(" + t + ">=" + delay + ")*(" + nmax + ">=0)*mss_train(" + t +
             "-" + delay + "," + tau + "," + period + "," + nmax + ")";
    }
    std::string s = Header(st);
    s += "Balpha_" + name + " " + pos[1] + " " + pos[2] + " I = " + expr + "\n";
    return s;
  }

  // x(NAME) -> v(NAME_x) outside of braces.
  static std::string RenameStates(const std::string& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      const bool boundary = i == 0 || !(std::isalnum(static_cast<unsigned char>(line[i - 1])) ||
                                        line[i - 1] == '_' || line[i - 1] == '.');
      if (boundary && (line[i] == 'x' || line[i] == 'X') && i + 1 < line.size() &&
          line[i + 1] == '(') {
        size_t close = line.find(')', i + 2);
        if (close != std::string::npos) {
          out += "v(" + Trim(line.substr(i + 2, close - i - 2)) + "_x)";
          i = close;
          continue;
        }
      }
      out.push_back(line[i]);
    }
    return out;
  }

  std::string MapMethod(const SrcLine& l) {
    std::string lower = Lower(l.text);
    size_t pos = lower.find("method");
    if (pos == std::string::npos) return l.text;
    size_t eq = lower.find('=', pos);
    if (eq == std::string::npos) return l.text;
    size_t b = lower.find_first_not_of(" \t", eq + 1);
    if (b == std::string::npos) return l.text;
    size_t e = lower.find_first_of(" \t", b);
    if (e == std::string::npos) e = lower.size();
    const std::string m = lower.substr(b, e - b);
    std::string repl;
    if (m == "be" || m == "euler") {
      repl = "gear maxord=1";
    } else if (m == "gear2") {
      repl = "gear maxord=2";
    } else if (m == "fe" || m == "rk4") {
      repl = "trap";
      diag_.Warning(l.loc, "ngspice has no explicit method '" + m + "'; the export uses trap");
    } else {
      return l.text;
    }
    return l.text.substr(0, b) + repl + l.text.substr(e);
  }

  Diagnostics& diag_;
  std::map<std::string, MssModelCard> models_;
};

}  // namespace

bool ExportNgspiceString(const std::string& text, const std::string& name,
                         const std::vector<std::string>& include_paths, std::string* out_text,
                         netlist::Diagnostics& diag) {
  const int errors_before = diag.num_errors();
  std::vector<SrcLine> lines;
  Loader(include_paths, diag).Load(text, name, /*is_main=*/true, 0, &lines);
  if (lines.empty()) lines.push_back({"* empty deck", {name, 1, 1}});
  Exporter(diag).Run(lines, out_text);
  return diag.num_errors() == errors_before;
}

bool ExportNgspice(const std::string& deck_path, const std::vector<std::string>& include_paths,
                   std::string* out_text, netlist::Diagnostics& diag) {
  std::ifstream in(deck_path, std::ios::binary);
  if (!in) {
    diag.Error({deck_path, 0, 0}, "cannot open deck '" + deck_path + "'");
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ExportNgspiceString(ss.str(), deck_path, include_paths, out_text, diag);
}

std::string NgspiceSignalName(const std::string& memspice_name) {
  std::string n = Lower(Trim(memspice_name));
  if (n.size() > 3 && n.rfind("x(", 0) == 0 && n.back() == ')') {
    return "v(" + n.substr(2, n.size() - 3) + "_x)";
  }
  return n;
}

}  // namespace memspice::circuits
