#include "ngspice/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "base/strings.h"
#include "devices/registry.h"
#include "netlist/deck_editor.h"

namespace memspice::ngspice {
namespace {

namespace fs = std::filesystem;
using netlist::Diagnostics;
using netlist::SourceLoc;

constexpr int kMaxIncludeDepth = 64;

struct SrcLine {
  std::string text;
  SourceLoc loc;
};

using base::Lower;
using base::Trim;
using base::Upper;

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

// Cards: a line plus its '+' continuations (comment lines in between), read through the deck
// editor --------------------------------------------------------------------------------------

struct Card {
  int first = 0, last = 0;  // lines in the deck editor
  std::string statement;    // netlist::DeckEditor::CardStatement
  SourceLoc loc;
};

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

// Model cards of devices ngspice lacks -----------------------------------------------------------

struct ModelCard {
  const devices::DeviceDescriptor* device = nullptr;
  std::map<std::string, std::string> params;  // lower-case name -> value text
  SourceLoc loc;
};

// A parameter value as the device's writer receives it: text parameters are unquoted and lower
// case (convention=knowm).
std::string ValueText(const devices::ParamInfo& info, const std::string& v) {
  return info.kind == devices::ParamKind::kText ? Lower(Unquote(v)) : v;
}

// Parses `.model name type (...)`; returns false unless the type belongs to a device the export
// rewrites (ngspice lacks it). Keys are checked against the device's parameter table.
bool ParseExportedModel(const Card& st, std::string* name, ModelCard* card, Diagnostics& diag) {
  std::string rest = Trim(st.statement);
  rest = Trim(rest.substr(
      rest.find_first_of(" \t") == std::string::npos ? rest.size() : rest.find_first_of(" \t")));
  size_t e = rest.find_first_of(" \t(");
  if (e == std::string::npos) return false;
  *name = Lower(rest.substr(0, e));
  rest = Trim(rest.substr(e));
  size_t te = rest.find_first_of(" \t(");
  const std::string type = Lower(rest.substr(0, te));
  card->device = devices::FindDescriptorByModelType(type);
  if (card->device == nullptr || card->device->ngspice.native) return false;
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
               ".model " + *name + " " + type + " (name=value ...)");
  }
  card->loc = st.loc;
  const auto table = card->device->params;
  for (auto& [k, v] : kv) {
    const devices::ParamInfo* info = devices::FindParam(table, k, devices::ParamPlace::kModelCard);
    if (info == nullptr) {
      diag.Error(st.loc, "unknown parameter '" + k + "' in model '" + *name + "'",
                 "parameters of ." + type +
                     " models: " + devices::ParamNames(table, devices::ParamPlace::kModelCard));
    } else {
      card->params[k] = ValueText(*info, v);
    }
  }
  return true;
}

// The exporter ---------------------------------------------------------------------------------

// Emitted once before the first exported device: the DC flag of devices/ngspice_expr.h.
constexpr const char* kPreamble =
    "* [memspice] ---- behavioural helpers for native memspice devices (docs/devices/) ----\n"
    "* [memspice] memristor state x(NAME) is the voltage v(NAME_x) of a 1 F capacitor\n"
    "* [memspice] mss_dc is 1 in DC analyses and 0 in transient after 1 ps (holds x at x0 in DC)\n"
    ".global mss_dc\n"
    "Vmss_dc mss_dc 0 DC 1 PWL(0 1 1p 0)\n";
constexpr const char* kPreambleEnd = "* [memspice] ---- end of helpers ----\n";

// The device of an element line, by its letter (and type for Y: "YMSS m1" is type "mss").
const devices::DeviceDescriptor* LineDevice(const std::string& first_word) {
  if (first_word.empty() || !std::isalpha(static_cast<unsigned char>(first_word[0]))) {
    return nullptr;
  }
  const char letter = first_word[0];
  return devices::FindDescriptor(letter, letter == 'y' ? first_word.substr(1) : "");
}

// Whether the device is rewritten (ngspice lacks it).
bool Exported(const devices::DeviceDescriptor* d) { return d != nullptr && !d->ngspice.native; }

class Exporter {
 public:
  Exporter(const std::vector<SrcLine>& lines, Diagnostics& diag)
      : lines_(lines), deck_(JoinLines(lines)), diag_(diag) {}

  std::string Run() {
    const std::vector<Card> cards = ReadCards();
    CollectModels(cards);
    // Rewritten from the last card to the first, so that the line numbers of the cards before
    // stay valid; .control ... .endc is ngspice script and stays untouched.
    std::vector<std::string> scope;
    std::vector<std::pair<const Card*, std::string>> edits;
    bool in_control = false;
    for (const Card& card : cards) {
      const std::string w = FirstWord(card.statement);
      if (w == ".control") in_control = true;
      if (in_control) {
        if (w == ".endc") in_control = false;
        continue;
      }
      if (w == ".subckt") {
        std::vector<std::string> words = Words(card.statement);
        scope.push_back(words.size() > 1 ? Lower(words[1]) : "");
      } else if (w == ".ends" && !scope.empty()) {
        scope.pop_back();
      }
      std::optional<std::string> text = RewriteCard(card, w, scope);
      if (text) edits.emplace_back(&card, std::move(*text));
    }
    for (auto it = edits.rbegin(); it != edits.rend(); ++it) {
      deck_.ReplaceLines(it->first->first, it->first->last, it->second);
    }
    // The helpers of the exported devices, once each in order of first use, after the title.
    const std::vector<const devices::DeviceDescriptor*> used = UsedDevices(cards);
    if (!used.empty() && deck_.num_lines() > 0) {
      std::string title = deck_.line(1) + "\n" + kPreamble;
      for (const devices::DeviceDescriptor* d : used) title += d->ngspice.helpers;
      deck_.ReplaceLines(1, 1, title + kPreambleEnd);
    }
    return deck_.text();
  }

 private:
  static std::string JoinLines(const std::vector<SrcLine>& lines) {
    std::string text;
    for (const SrcLine& l : lines) text += l.text + "\n";
    return text;
  }

  // Every card after the title (line 1, never interpreted).
  std::vector<Card> ReadCards() const {
    std::vector<Card> cards;
    for (int l = 2; l <= deck_.num_lines(); ++l) {
      if (!deck_.StartsCard(l)) continue;  // comments and stray '+' lines pass through
      Card card;
      card.first = l;
      card.last = deck_.CardLastLine(l);
      card.statement = deck_.CardStatement(l);
      card.loc = lines_[l - 1].loc;
      l = card.last;
      cards.push_back(std::move(card));
    }
    return cards;
  }

  // The new text of a card, or nullopt when it is copied as written.
  std::optional<std::string> RewriteCard(const Card& card, const std::string& w,
                                         const std::vector<std::string>& scope) {
    std::string name, text;
    ModelCard model;
    Diagnostics scratch;
    const devices::DeviceDescriptor* device = LineDevice(w);
    if (w == ".model" && ParseExportedModel(card, &name, &model, scratch)) return Header(card);
    if (Exported(device) || (!w.empty() && w[0] == 'y')) return RewriteDevice(card, scope, device);
    if (w == ".print" || w == ".plot" || w == ".save" || w == ".probe" || w == ".meas" ||
        w == ".measure") {
      for (int l = card.first; l <= card.last; ++l) text += RenameStates(deck_.line(l)) + "\n";
      return text;
    }
    if (w == ".options" || w == ".option" || w == ".opt") {
      for (int l = card.first; l <= card.last; ++l) text += MapMethod(lines_[l - 1]) + "\n";
      return text;
    }
    return std::nullopt;
  }

  // Exported devices in order of first use (outside .control blocks).
  static std::vector<const devices::DeviceDescriptor*> UsedDevices(const std::vector<Card>& cards) {
    std::vector<const devices::DeviceDescriptor*> used;
    bool control = false;
    for (const Card& card : cards) {
      const std::string w = FirstWord(card.statement);
      if (w == ".control") control = true;
      if (w == ".endc") control = false;
      const devices::DeviceDescriptor* d = LineDevice(w);
      if (!control && Exported(d) && std::count(used.begin(), used.end(), d) == 0) {
        used.push_back(d);
      }
    }
    return used;
  }

  static std::string ScopeKey(const std::vector<std::string>& scope) {
    std::string k;
    for (const std::string& s : scope) k += s + "/";
    return k;
  }

  void CollectModels(const std::vector<Card>& cards) {
    std::vector<std::string> scope;
    for (const Card& card : cards) {
      const std::string w = FirstWord(card.statement);
      if (w == ".subckt") {
        std::vector<std::string> words = Words(card.statement);
        scope.push_back(words.size() > 1 ? Lower(words[1]) : "");
      } else if (w == ".ends" && !scope.empty()) {
        scope.pop_back();
      } else if (w == ".model") {
        std::string name;
        ModelCard model;
        if (ParseExportedModel(card, &name, &model, diag_)) models_[ScopeKey(scope) + name] = model;
      }
    }
  }

  // Innermost enclosing subcircuit first, then outwards to the top level.
  const ModelCard* FindModel(const std::string& name, std::vector<std::string> scope) const {
    while (true) {
      auto it = models_.find(ScopeKey(scope) + name);
      if (it != models_.end()) return &it->second;
      if (scope.empty()) return nullptr;
      scope.pop_back();
    }
  }

  // The card's lines commented out.
  std::string Header(const Card& card) const {
    std::string h;
    for (int l = card.first; l <= card.last; ++l) h += "* [memspice] " + deck_.line(l) + "\n";
    return h;
  }

  // Writes an element line of a device ngspice lacks through the device's NgspiceWriter:
  // parameter defaults from its table, then its model card, then the instance line.
  std::string RewriteDevice(const Card& st, const std::vector<std::string>& scope,
                            const devices::DeviceDescriptor* d) {
    const std::vector<std::string> toks = Tokenize(st.statement);
    if (d == nullptr) {
      std::string known;
      for (const devices::DeviceDescriptor& e : devices::Registry()) {
        if (e.letter == 'y') known += (known.empty() ? "Y" : ", Y") + Upper(e.type);
      }
      diag_.Error(st.loc, "cannot export '" + toks[0] + "' to ngspice",
                  "the ngspice export knows " + known);
      return Header(st);
    }
    devices::NgspiceInstance inst;
    inst.loc = st.loc;
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, std::string>> kv;
    bool malformed = false;
    SplitParams(toks, 1, &pos, &kv, &malformed);
    if (!malformed && !pos.empty()) {
      inst.name = Lower(pos[0]);
      inst.positional.assign(pos.begin() + 1, pos.end());  // else the writer reports the syntax
    }
    for (const devices::ParamInfo& info : d->params) {
      if (info.scope != devices::ParamScope::kValue && !std::isnan(info.default_value)) {
        inst.values[info.name] = fmt::format("{}", info.default_value);
      }
    }
    if (d->model_type != nullptr && !inst.positional.empty()) {
      const ModelCard* card = FindModel(Lower(inst.positional.back()), scope);
      if (card != nullptr && card->device == d) {
        inst.has_model = true;
        for (const auto& [k, v] : card->params) inst.values[k] = v;
      }
    }
    for (const auto& [k, v] : kv) {
      const devices::ParamInfo* info =
          devices::FindParam(d->params, k, devices::ParamPlace::kInstance);
      if (info == nullptr) {
        diag_.Error(
            st.loc, "unknown parameter '" + k + "' for '" + inst.name + "'",
            "known parameters: " + devices::ParamNames(d->params, devices::ParamPlace::kInstance));
        continue;
      }
      inst.values[k] = ValueText(*info, v);
    }
    std::string cards = Header(st);
    if (!d->ngspice.write(inst, diag_, &cards)) return Header(st);
    return cards;
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

  const std::vector<SrcLine>& lines_;  // the deck with its includes inlined, with locations
  netlist::DeckEditor deck_;           // the same lines, rewritten card by card
  Diagnostics& diag_;
  std::map<std::string, ModelCard> models_;
};

}  // namespace

bool ExportNgspiceString(const std::string& text, const std::string& name,
                         const std::vector<std::string>& include_paths, std::string* out_text,
                         netlist::Diagnostics& diag) {
  const int errors_before = diag.num_errors();
  std::vector<SrcLine> lines;
  Loader(include_paths, diag).Load(text, name, /*is_main=*/true, 0, &lines);
  if (lines.empty()) lines.push_back({"* empty deck", {name, 1, 1}});
  *out_text = Exporter(lines, diag).Run();
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

}  // namespace memspice::ngspice
