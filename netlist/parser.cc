// Entry points: read the deck, build the subcircuit definition tree, flatten it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "netlist/deck.h"
#include "netlist/flatten.h"
#include "netlist/netlist.h"
#include "netlist/parser_internal.h"

namespace memspice::netlist {
namespace {

// Bytes >= 0x80 are letters of non-ASCII names (UTF-8 or Latin-1), as in ngspice.
bool IsIdentStart(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || u >= 0x80;
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Builds the definition tree from the flat card list.
class Builder {
 public:
  Builder(Diagnostics& diag, SubcktDef* top, std::set<std::string>* globals,
          std::vector<const Card*>* directives)
      : diag_(diag), top_(top), globals_(globals), directives_(directives) {}

  void Run(const std::vector<Card>& cards) {
    std::vector<SubcktDef*> stack = {top_};
    for (const Card& card : cards) {
      if (card.tokens.empty()) continue;
      SubcktDef* cur = stack.back();
      const std::string& kw = card.keyword;
      if (kw == ".subckt") {
        SubcktDef* def = Subckt(card, cur);
        if (def != nullptr) stack.push_back(def);
      } else if (kw == ".ends") {
        if (stack.size() == 1) {
          diag_.Error(card.loc(), ".ends without .subckt");
          continue;
        }
        if (card.tokens.size() > 1 && card.tokens[1].text != cur->name) {
          diag_.Error(card.tokens[1].loc, fmt::format("'.ends {}' closes subcircuit '{}'",
                                                      card.tokens[1].text, cur->name));
        }
        stack.pop_back();
      } else if (kw == ".param" || kw == ".params") {
        std::vector<ParamDef> defs;
        if (card.tokens.size() < 2) {
          diag_.Error(card.loc(), ".param needs name=value");
          continue;
        }
        if (ParseAssignments(card, card.tokens[1].pos, &defs, diag_)) {
          for (ParamDef& d : defs) cur->params.push_back(std::move(d));
        }
      } else if (kw == ".func") {
        Func(card, cur);
      } else if (kw == ".model") {
        Model(card, cur);
      } else if (kw == ".global") {
        for (size_t i = 1; i < card.tokens.size(); ++i) {
          if (card.tokens[i].Is(Token::Kind::kWord)) globals_->insert(card.tokens[i].text);
        }
      } else if (!kw.empty() && kw[0] == '.') {
        if (stack.size() > 1 && kw != ".endl") {
          diag_.Warning(card.loc(), fmt::format("'{}' inside .subckt '{}' ignored", kw, cur->name));
          continue;
        }
        directives_->push_back(&card);
      } else {
        cur->elements.push_back(&card);
      }
    }
    for (size_t i = stack.size(); i-- > 1;) {
      diag_.Error(stack[i]->loc, fmt::format("missing .ends for subcircuit '{}'", stack[i]->name),
                  "every .subckt needs a matching .ends");
    }
  }

 private:
  SubcktDef* Subckt(const Card& card, SubcktDef* cur) {
    const std::vector<Token>& t = card.tokens;
    if (t.size() < 2 || !t[1].Is(Token::Kind::kWord)) {
      diag_.Error(card.loc(), ".subckt needs a name and ports");
      // Still push a dummy so that its .ends pairs up.
    }
    auto def = std::make_unique<SubcktDef>();
    def->name = t.size() >= 2 ? t[1].text : "";
    def->loc = t.size() >= 2 ? t[1].loc : card.loc();
    def->parent = cur;
    def->depth = cur->depth + 1;
    size_t i = 2;
    std::set<std::string> seen;
    while (i < t.size()) {
      const Token& tok = t[i];
      if (tok.IsWord("params:")) break;
      if (i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) break;
      if (!tok.Is(Token::Kind::kWord)) {
        diag_.Error(tok.loc, fmt::format("expected a port name but found '{}'", tok.raw));
        break;
      }
      if (!seen.insert(tok.text).second) {
        diag_.Error(tok.loc,
                    fmt::format("port '{}' listed twice in .subckt '{}'", tok.text, def->name));
      }
      if (tok.text == "0" || tok.text == "gnd") {
        diag_.Warning(tok.loc,
                      fmt::format("port '{}' of .subckt '{}' is ground; the node an instance "
                                  "connects there is left unconnected, as in ngspice",
                                  tok.raw, def->name),
                      "rename the port to connect it");
      }
      def->ports.push_back(tok.text);
      ++i;
    }
    if (i < t.size()) {
      std::vector<ParamDef> defs;
      if (t[i].Is(Token::Kind::kWord) || t[i].Is(Token::Kind::kEq)) {
        ParseAssignments(card, t[i].pos, &defs, diag_);
      }
      def->defaults = std::move(defs);
    }
    if (def->depth == kMaxSubcktDepth + 1) {  // once, at the first level too deep
      diag_.Error(def->loc,
                  fmt::format(".subckt definitions nested more than {} deep", kMaxSubcktDepth));
    }
    SubcktDef* raw = def.get();
    auto it = cur->subckts.find(def->name);
    if (it != cur->subckts.end()) {
      diag_.Error(def->loc, fmt::format("duplicate subcircuit '{}'", def->name),
                  fmt::format("first defined at {}:{}:{}", it->second->loc.file,
                              it->second->loc.line, it->second->loc.col));
      orphans_.push_back(std::move(def));  // parse its body, but keep the first definition
    } else {
      cur->subckts[raw->name] = std::move(def);
    }
    return raw;
  }

  void Func(const Card& card, SubcktDef* cur) {
    const std::vector<Token>& t = card.tokens;
    if (t.size() < 4 || !t[1].Is(Token::Kind::kWord) || !t[2].Is(Token::Kind::kLParen)) {
      diag_.Error(t.size() > 1 ? t[1].loc : card.loc(), ".func needs name(args) {expression}",
                  "e.g. .func sq(x) {x*x}");
      return;
    }
    FuncDef fd;
    fd.name = t[1].text;
    fd.loc = t[1].loc;
    size_t i = 3;
    while (i < t.size() && !t[i].Is(Token::Kind::kRParen)) {
      if (t[i].Is(Token::Kind::kWord)) {
        if (!IsIdentStart(t[i].text[0])) {
          diag_.Error(t[i].loc, fmt::format("bad argument name '{}'", t[i].raw));
          return;
        }
        fd.args.push_back(t[i].text);
      } else if (!t[i].Is(Token::Kind::kComma)) {
        diag_.Error(t[i].loc, fmt::format("unexpected '{}' in .func arguments", t[i].raw));
        return;
      }
      ++i;
    }
    if (i >= t.size()) {
      diag_.Error(t[2].loc, "missing ')' in .func");
      return;
    }
    size_t body = t[i].end;
    if (i + 1 < t.size() && t[i + 1].Is(Token::Kind::kEq)) body = t[i + 1].end;
    if (i + 1 >= t.size()) {
      diag_.Error(Flattener_EndLoc(card), fmt::format(".func '{}' has no body", fd.name));
      return;
    }
    fd.body = ParseCardExpr(card, body, diag_, nullptr);
    if (!fd.body) return;
    auto [it, inserted] = cur->funcs.emplace(fd.name, fd);
    if (!inserted) it->second = fd;  // a later .func replaces an earlier one
  }

  void Model(const Card& card, SubcktDef* cur) {
    const std::vector<Token>& t = card.tokens;
    if (t.size() < 3 || !t[1].Is(Token::Kind::kWord) || !t[2].Is(Token::Kind::kWord)) {
      diag_.Error(t.size() > 1 ? t[1].loc : card.loc(), ".model needs a name and a type",
                  "e.g. .model dmod d(is=1e-14)");
      return;
    }
    ModelDef m;
    m.card = &card;
    m.name = t[1].text;
    m.type = t[2].text;
    m.loc = t[1].loc;
    auto it = cur->models.find(m.name);
    if (it != cur->models.end()) {
      diag_.Warning(m.loc,
                    fmt::format("model '{}' defined again; the first definition is used, "
                                "as in ngspice",
                                m.name),
                    fmt::format("first defined at {}:{}:{}", it->second.loc.file,
                                it->second.loc.line, it->second.loc.col));
      return;
    }
    cur->models[m.name] = m;
  }

  static SourceLoc Flattener_EndLoc(const Card& card) {
    const Token& last = card.tokens.back();
    SourceLoc l = card.LocAt(last.end > 0 ? last.end - 1 : 0);
    l.col += 2;
    return l;
  }

  Diagnostics& diag_;
  SubcktDef* top_;
  std::set<std::string>* globals_;
  std::vector<const Card*>* directives_;
  std::vector<std::unique_ptr<SubcktDef>> orphans_;
};

// Copies diagnostics, dropping exact repeats (a bad card inside a subcircuit is reported
// once, not once per instance).
void MergeUnique(const Diagnostics& from, Diagnostics& to) {
  std::set<std::tuple<int, std::string, int, int, std::string>> seen;
  for (const Diagnostic& d : from.items()) {
    auto key =
        std::make_tuple(static_cast<int>(d.severity), d.loc.file, d.loc.line, d.loc.col, d.message);
    if (!seen.insert(key).second) continue;
    if (d.severity == Severity::kError) {
      to.Error(d.loc, d.message, d.hint);
    } else {
      to.Warning(d.loc, d.message, d.hint);
    }
  }
}

// The text of the deck file at `path`, checked first (exists, regular file, not too large).
std::optional<std::string> ReadDeckFile(const std::string& path, Diagnostics& diag) {
  namespace fs = std::filesystem;
  // Check before opening: opening a FIFO blocks until a writer appears.
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    diag.Error(SourceLoc{path, 0, 0}, fmt::format("cannot open netlist '{}': no such file", path));
    return std::nullopt;
  }
  if (!fs::is_regular_file(st)) {
    diag.Error(SourceLoc{path, 0, 0},
               fmt::format("netlist '{}' is not a regular file (a {})", path,
                           fs::is_directory(st) ? "directory" : "FIFO, socket or device"),
               "give the path of a deck file");
    return std::nullopt;
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxDeckBytes) {
    diag.Error(SourceLoc{path, 0, 0},
               fmt::format("netlist '{}' is larger than {} MiB", path, kMaxDeckBytes >> 20));
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.Error(SourceLoc{path, 0, 0}, fmt::format("cannot open netlist '{}'", path));
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

}  // namespace

NodePtr ParseCardExpr(const Card& card, size_t offset, Diagnostics& diag, size_t* end) {
  std::string_view text(card.text);
  if (offset > text.size()) offset = text.size();
  LocFn loc_of = [&card, offset](size_t off) { return card.LocAt(offset + off); };
  return ParseExprTree(text.substr(offset), loc_of, diag, end);
}

bool ParseAssignments(const Card& card, size_t offset, std::vector<ParamDef>* out,
                      Diagnostics& diag) {
  const std::string& s = card.text;
  size_t i = offset;
  while (true) {
    while (i < s.size() && IsBlank(s[i])) ++i;
    if (i >= s.size()) return true;
    if (s.compare(i, 7, "params:") == 0 || s.compare(i, 7, "PARAMS:") == 0 ||
        base::Lower(s.substr(i, 7)) == "params:") {
      i += 7;
      continue;
    }
    size_t name_start = i;
    if (!IsIdentStart(s[i])) {
      diag.Error(card.LocAt(i), fmt::format("expected name=value but found '{}'", s[i]));
      return false;
    }
    while (i < s.size() && IsIdentChar(s[i])) ++i;
    std::string name = base::Lower(s.substr(name_start, i - name_start));
    while (i < s.size() && IsBlank(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {
      diag.Error(card.LocAt(i < s.size() ? i : s.size()),
                 fmt::format("expected '=' after parameter name '{}'", name), "write name=value");
      return false;
    }
    ++i;
    size_t consumed = 0;
    NodePtr root = ParseCardExpr(card, i, diag, &consumed);
    if (!root) return false;
    ParamDef d;
    d.name = name;
    d.expr = root;
    d.text = s.substr(i, consumed);
    d.loc = card.LocAt(name_start);
    out->push_back(std::move(d));
    i += consumed;
    if (consumed == 0) return false;
  }
}

struct ParsedDeck::Impl {
  Diagnostics read_diag;  // of reading the cards and sorting them into definitions
  Deck deck;
  SubcktDef top;
  std::set<std::string> globals;
  std::vector<const Card*> directives;
};

ParsedDeck::ParsedDeck() : impl_(std::make_unique<Impl>()) {}
ParsedDeck::~ParsedDeck() = default;

std::unique_ptr<ParsedDeck> ParsedDeck::Read(std::string_view text, const std::string& name,
                                             const ParseOptions& options) {
  std::unique_ptr<ParsedDeck> parsed(new ParsedDeck());
  Impl& p = *parsed->impl_;
  ReadDeck(text, name, options, p.read_diag, &p.deck);
  Builder builder(p.read_diag, &p.top, &p.globals, &p.directives);
  builder.Run(p.deck.cards);
  return parsed;
}

std::unique_ptr<ParsedDeck> ParsedDeck::ReadFile(const std::string& path,
                                                 const ParseOptions& options, Diagnostics& diag) {
  std::optional<std::string> text = ReadDeckFile(path, diag);
  if (!text) return nullptr;
  return Read(*text, path, options);
}

const std::string& ParsedDeck::text() const {
  static const std::string kEmpty;
  const auto& sources = impl_->deck.sources;
  return sources.empty() ? kEmpty : sources.front().second;
}

std::optional<Netlist> ParsedDeck::Flatten(const ParseOptions& options, Diagnostics& diag) const {
  const Impl& p = *impl_;
  Diagnostics local;
  MergeUnique(p.read_diag, local);
  Netlist out;
  out.title = p.deck.title;
  for (const std::string& f : p.deck.files) {
    if (std::find(out.files.begin(), out.files.end(), f) == out.files.end()) out.files.push_back(f);
  }
  // .temp must be known before parameters that read `temper` are evaluated.
  // So must the seed of agauss/gauss/aunif/unif.
  for (const Card* c : p.directives) {
    if (c->keyword == ".temp" && c->tokens.size() == 2) {
      if (std::optional<double> v = ParseSpiceNumber(c->tokens[1].text)) out.temp = *v;
    }
    const std::vector<Token>& t = c->tokens;
    if (c->keyword.rfind(".opt", 0) != 0) continue;
    for (size_t i = 1; i + 2 < t.size(); ++i) {
      if (!t[i].IsWord("seed") || !t[i + 1].Is(Token::Kind::kEq)) continue;
      if (std::optional<double> v = ParseSpiceNumber(t[i + 2].text)) out.options["seed"] = *v;
    }
  }
  Flattener flat(p.top, p.globals, options, local, &out);
  flat.set_sweeps_temperature(
      std::any_of(p.directives.begin(), p.directives.end(), [](const Card* c) {
        return c->keyword == ".dc" && c->tokens.size() > 1 && c->tokens[1].IsWord("temp");
      }));
  flat.Run();
  if (options.only_letters.empty()) flat.Directives(p.directives);
  for (const auto& [file, src] : p.deck.sources) diag.AddSource(file, src);
  MergeUnique(local, diag);
  if (local.has_errors()) return std::nullopt;
  return out;
}

std::optional<Netlist> ParseString(std::string_view text, const std::string& name,
                                   const ParseOptions& options, Diagnostics& diag) {
  return ParsedDeck::Read(text, name, options)->Flatten(options, diag);
}

std::optional<Netlist> ParseFile(const std::string& path, const ParseOptions& options,
                                 Diagnostics& diag) {
  std::unique_ptr<ParsedDeck> parsed = ParsedDeck::ReadFile(path, options, diag);
  if (!parsed) return std::nullopt;
  return parsed->Flatten(options, diag);
}

}  // namespace memspice::netlist
