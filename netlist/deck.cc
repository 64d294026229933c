#include "netlist/deck.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace memspice::netlist {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxIncludeDepth = 16;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'; }

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == text.size()) break;
    start = end + 1;
  }
  return lines;
}

// Cuts `;` comments (anywhere) and `$` and `//` comments (at the start or after whitespace),
// as ngspice does.
std::string_view StripInlineComment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ';') return line.substr(0, i);
    const bool word_start = i == 0 || IsSpace(line[i - 1]);
    if (line[i] == '$' && word_start) return line.substr(0, i);
    if (line[i] == '/' && i + 1 < line.size() && line[i + 1] == '/' && word_start) {
      return line.substr(0, i);
    }
  }
  return line;
}

// Ctrl-Z (DOS end-of-file mark) as the last non-blank byte ends the text there.
std::string_view StripEofMark(std::string_view text) {
  constexpr char kCtrlZ = 0x1a;
  size_t e = text.size();
  while (e > 0 && IsSpace(text[e - 1])) --e;
  if (e > 0 && text[e - 1] == kCtrlZ) return text.substr(0, e - 1);
  return text;
}

// Offset of the first byte that cannot be in a text deck (a control character other than
// blanks), or npos. Bytes >= 0x80 are accepted (UTF-8 or Latin-1 letters such as µ).
size_t FindBinaryByte(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char u = static_cast<unsigned char>(text[i]);
    if ((u < 0x20 && !IsSpace(text[i])) || u == 0x7f) return i;
  }
  return std::string_view::npos;
}

std::string FirstWord(std::string_view text) {
  size_t b = 0;
  while (b < text.size() && IsSpace(text[b])) ++b;
  size_t e = b;
  while (e < text.size() && !IsSpace(text[e]) && text[e] != '(' && text[e] != '=' &&
         text[e] != '{' && text[e] != '\'') {
    ++e;
  }
  return base::Lower(text.substr(b, e - b));
}

class Reader {
 public:
  Reader(const ParseOptions& options, Diagnostics& diag, Deck* deck)
      : options_(options), diag_(diag), deck_(deck) {}

  // Reads one file's text. `section` non-empty: take only `.lib section` ... `.endl`.
  // Returns false if `section` was requested and not found.
  bool Read(std::string_view text, const std::string& name, bool is_main, int depth,
            const std::string& section) {
    auto file = std::make_shared<const std::string>(name);
    text = StripEofMark(text);
    diag_.AddSource(name, text);
    deck_->files.push_back(name);
    deck_->sources.emplace_back(name, std::string(text));
    if (!CheckText(text, name)) return true;
    std::vector<Card> cards = BuildCards(text, file, is_main);
    deck_->cards.reserve(deck_->cards.size() + cards.size());

    bool seeking = !section.empty();
    bool found = false;
    int skip_lib_depth = 0;               // inside a `.lib name` block we are not reading
    const Card* skip_lib_card = nullptr;  // the outermost `.lib name` being skipped
    const Card* section_card = nullptr;   // the `.lib section` being read
    bool section_closed = false;
    for (size_t ci = 0; ci < cards.size(); ++ci) {
      Card& card = cards[ci];
      const std::string& kw = card.keyword;
      if (in_control_) {
        if (kw == ".endc") in_control_ = false;
        continue;
      }
      if (seeking) {
        if (kw == ".lib" && Tokenize(card, diag_) && card.tokens.size() == 2 &&
            card.tokens[1].text == section) {
          seeking = false;
          found = true;
          section_card = &card;
        }
        continue;
      }
      if (skip_lib_depth > 0) {
        if (kw == ".lib" && Tokenize(card, diag_) && card.tokens.size() == 2) ++skip_lib_depth;
        if (kw == ".endl") --skip_lib_depth;
        continue;
      }
      if (kw == ".control") {
        in_control_ = true;
        control_loc_ = card.loc();
        if (!control_warned_) {
          control_warned_ = true;
          diag_.Warning(card.loc(), ".control block ignored",
                        "memspice runs the analyses given by dot cards; use the CLI for output");
        }
        continue;
      }
      if (kw == ".endc") continue;
      if (kw == ".end") {
        if (is_main) ended_ = true;
        break;
      }
      if (kw == ".endl") {
        if (!section.empty()) {
          section_closed = true;
          break;  // end of the requested section
        }
        continue;
      }
      if (kw == ".include" || kw == ".inc") {
        Include(card, depth);
        if (ended_) break;
        continue;
      }
      if (kw == ".lib") {
        if (!Tokenize(card, diag_)) continue;
        if (card.tokens.size() == 2) {
          if (skip_lib_depth++ == 0) skip_lib_card = &card;
          continue;  // a section definition read only when asked for by name
        }
        LibInclude(card, depth);
        if (ended_) break;
        continue;
      }
      if (!Tokenize(card, diag_) || card.tokens.empty()) continue;
      deck_->cards.push_back(std::move(card));
    }
    if (skip_lib_depth > 0) UnclosedLib(*skip_lib_card);
    if (section_card != nullptr && !section_closed && !ended_) {
      diag_.Error(section_card->loc(), fmt::format("library section '{}' has no .endl", section),
                  "the section would run to the end of the file; close it with .endl");
    }
    if (is_main && in_control_) {
      in_control_ = false;
      diag_.Error(control_loc_, ".control without .endc",
                  "the block would swallow the rest of the deck; close it with .endc");
    }
    return section.empty() || found;
  }

 private:
  // Reports binary input (e.g. a NUL byte that would split a name) at its position.
  bool CheckText(std::string_view text, const std::string& name) {
    const size_t at = FindBinaryByte(text);
    if (at == std::string_view::npos) return true;
    const size_t line_start = text.rfind('\n', at);
    const size_t col0 = line_start == std::string_view::npos ? at : at - line_start - 1;
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
    diag_.Error({name, line, static_cast<int>(col0) + 1},
                fmt::format("binary data in the deck: byte 0x{:02x}{}",
                            static_cast<unsigned char>(text[at]), text[at] == 0 ? " (NUL)" : ""),
                "a netlist is a text file; was a binary or corrupted file given?");
    return false;
  }

  // A `.lib name` block that reached the end of the file without .endl.
  void UnclosedLib(const Card& card) {
    const Token& name = card.tokens[1];
    std::string searched;
    if (FindFile(name.raw, *card.file, &searched)) {
      diag_.Error(name.loc, fmt::format("'.lib {}' names a file but no section", name.raw),
                  fmt::format("write '.lib {} SECTION' to take one section (as ngspice needs), "
                              "or '.include {}' for the whole file",
                              name.raw, name.raw));
      return;
    }
    diag_.Error(card.loc(), fmt::format("library section '{}' has no .endl", name.text),
                "the section would hide the rest of the file; close it with .endl");
  }

  std::vector<Card> BuildCards(std::string_view text,
                               const std::shared_ptr<const std::string>& file, bool is_main) {
    std::vector<Card> cards;
    std::vector<std::string_view> lines = SplitLines(text);
    cards.reserve(lines.size());
    for (size_t li = 0; li < lines.size(); ++li) {
      const int lineno = static_cast<int>(li) + 1;
      std::string_view line = lines[li];
      if (is_main && li == 0) {
        size_t b = 0, e = line.size();
        while (b < e && IsSpace(line[b])) ++b;
        while (e > b && IsSpace(line[e - 1])) --e;
        deck_->title = std::string(line.substr(b, e - b));
        continue;
      }
      size_t first = 0;
      while (first < line.size() && IsSpace(line[first])) ++first;
      if (first == line.size() || line[first] == '*') continue;
      // A .control block may hold arbitrary text; keep its lines whole (no comment stripping).
      line = StripInlineComment(line);
      size_t last = line.size();
      while (last > first && IsSpace(line[last - 1])) --last;
      if (last <= first) continue;
      if (line[first] == '+') {
        if (cards.empty()) {
          diag_.Error({*file, lineno, static_cast<int>(first) + 1},
                      "continuation line '+' without a preceding card");
          continue;
        }
        Card& c = cards.back();
        c.segments.push_back({c.text.size(), lineno, static_cast<int>(first) + 1});
        c.text += ' ';
        c.text.append(line.substr(first + 1, last - first - 1));
        continue;
      }
      Card c;
      c.file = file;
      c.segments.push_back({0, lineno, 1});
      c.text = std::string(line.substr(0, last));
      cards.push_back(std::move(c));
    }
    for (Card& c : cards) c.keyword = FirstWord(c.text);
    return cards;
  }

  // Text after the keyword, trimmed, quotes removed; for file names.
  static std::string ArgText(const Card& card, size_t* offset) {
    size_t i = 0;
    while (i < card.text.size() && IsSpace(card.text[i])) ++i;
    while (i < card.text.size() && !IsSpace(card.text[i])) ++i;
    while (i < card.text.size() && IsSpace(card.text[i])) ++i;
    size_t e = card.text.size();
    while (e > i && IsSpace(card.text[e - 1])) --e;
    *offset = i;
    std::string s = card.text.substr(i, e - i);
    if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
      s = s.substr(1, s.size() - 2);
      ++*offset;
    }
    return s;
  }

  std::optional<std::string> FindFile(const std::string& name, const std::string& from,
                                      std::string* searched) {
    std::error_code ec;
    std::vector<fs::path> candidates;
    fs::path p(name);
    if (p.is_absolute()) {
      candidates.push_back(p);
    } else {
      fs::path dir = fs::path(from).parent_path();
      candidates.push_back(dir.empty() ? p : dir / p);
      for (const std::string& inc : options_.include_paths) candidates.push_back(fs::path(inc) / p);
    }
    for (const fs::path& c : candidates) {
      if (!searched->empty()) *searched += ", ";
      *searched += c.string();
      if (fs::is_regular_file(c, ec)) return c.string();
    }
    return std::nullopt;
  }

  // Reads a file (regular files only, bounded size); nullopt if it cannot be read.
  static std::optional<std::string> Slurp(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    if (fs::file_size(path, ec) > kMaxDeckBytes || ec) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  bool OpenNested(const Card& card, size_t name_offset, const std::string& name, int depth,
                  std::string* path, std::string* text) {
    if (name.empty()) {
      diag_.Error(card.loc(), fmt::format("{} needs a file name", card.keyword));
      return false;
    }
    if (depth + 1 > kMaxIncludeDepth) {
      diag_.Error(card.LocAt(name_offset),
                  fmt::format("includes nested more than {} deep", kMaxIncludeDepth),
                  "does the file include itself?");
      return false;
    }
    std::string searched;
    std::optional<std::string> found = FindFile(name, *card.file, &searched);
    std::optional<std::string> body;
    if (found) body = Slurp(*found);
    if (!body) {
      diag_.Error(card.LocAt(name_offset), fmt::format("cannot open file '{}'", name),
                  fmt::format("searched: {}", searched));
      return false;
    }
    *path = *found;
    *text = std::move(*body);
    return true;
  }

  void Include(const Card& card, int depth) {
    size_t off = 0;
    std::string name = ArgText(card, &off);
    std::string path, text;
    if (!OpenNested(card, off, name, depth, &path, &text)) return;
    Read(text, path, false, depth + 1, "");
  }

  void LibInclude(const Card& card, int depth) {
    // .lib file section (file name may be quoted, hence the raw token).
    if (card.tokens.size() != 3) {
      diag_.Error(card.loc(), "expected '.lib file section' or '.lib section'",
                  "a library section ends with .endl");
      return;
    }
    const Token& file_tok = card.tokens[1];
    const Token& sec_tok = card.tokens[2];
    std::string name = file_tok.raw;
    if (name.size() >= 2 && (name.front() == '"') && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    if (file_tok.kind == Token::Kind::kExpr) name = file_tok.raw;
    std::string path, text;
    if (!OpenNested(card, file_tok.pos, name, depth, &path, &text)) return;
    if (!Read(text, path, false, depth + 1, sec_tok.text)) {
      diag_.Error(sec_tok.loc, fmt::format("unknown .lib section '{}' in '{}'", sec_tok.text, name),
                  "the file has no '.lib " + sec_tok.text + "' ... '.endl' block");
    }
  }

  const ParseOptions& options_;
  Diagnostics& diag_;
  Deck* deck_;
  bool in_control_ = false;
  SourceLoc control_loc_;  // the open .control card
  bool control_warned_ = false;
  bool ended_ = false;
};

}  // namespace

SourceLoc Card::LocAt(size_t offset) const {
  SourceLoc loc;
  if (file) loc.file = *file;
  if (segments.empty()) return loc;
  auto it = std::upper_bound(segments.begin(), segments.end(), offset,
                             [](size_t off, const Segment& s) { return off < s.offset; });
  const Segment& s = it == segments.begin() ? segments.front() : *(it - 1);
  loc.line = s.line;
  loc.col = s.col + static_cast<int>(offset - std::min(offset, s.offset));
  return loc;
}

bool Tokenize(Card& card, Diagnostics& diag) {
  card.tokens.clear();
  const std::string& t = card.text;
  size_t i = 0;
  const size_t n = t.size();
  auto push = [&](Token::Kind kind, size_t pos, size_t end, std::string raw, size_t loc_pos) {
    Token tok;
    tok.kind = kind;
    tok.text = base::Lower(raw);
    tok.raw = std::move(raw);
    tok.pos = pos;
    tok.end = end;
    tok.loc = card.LocAt(loc_pos);
    card.tokens.push_back(std::move(tok));
  };
  while (i < n) {
    char c = t[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (c == '=' || c == '(' || c == ')' || c == ',') {
      Token::Kind k = c == '='   ? Token::Kind::kEq
                      : c == '(' ? Token::Kind::kLParen
                      : c == ')' ? Token::Kind::kRParen
                                 : Token::Kind::kComma;
      push(k, i, i + 1, std::string(1, c), i);
      ++i;
      continue;
    }
    if (c == '{') {
      int depth = 0;
      size_t j = i;
      for (; j < n; ++j) {
        if (t[j] == '{') ++depth;
        if (t[j] == '}' && --depth == 0) break;
      }
      if (j >= n) {
        diag.Error(card.LocAt(i), "unterminated '{' expression", "add the closing '}'");
        return false;
      }
      push(Token::Kind::kExpr, i + 1, j + 1, t.substr(i + 1, j - i - 1), i);
      i = j + 1;
      continue;
    }
    if (c == '\'') {
      size_t j = t.find('\'', i + 1);
      if (j == std::string::npos) {
        diag.Error(card.LocAt(i), "unterminated ' expression", "add the closing quote");
        return false;
      }
      push(Token::Kind::kExpr, i + 1, j + 1, t.substr(i + 1, j - i - 1), i);
      i = j + 1;
      continue;
    }
    if (c == '"') {
      size_t j = t.find('"', i + 1);
      if (j == std::string::npos) j = n - 1;
      push(Token::Kind::kWord, i, j + 1, t.substr(i + 1, j > i ? j - i - 1 : 0), i);
      i = j + 1;
      continue;
    }
    size_t j = i;
    while (j < n && !IsSpace(t[j]) && t[j] != '=' && t[j] != '(' && t[j] != ')' && t[j] != ',' &&
           t[j] != '{' && t[j] != '\'' && t[j] != '"') {
      ++j;
    }
    push(Token::Kind::kWord, i, j, t.substr(i, j - i), i);
    i = j;
  }
  return true;
}

bool ReadDeck(std::string_view text, const std::string& name, const ParseOptions& options,
              Diagnostics& diag, Deck* deck) {
  int before = diag.num_errors();
  for (const std::string& dir : options.include_paths) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      diag.Warning(SourceLoc{name, 0, 0},
                   fmt::format("include folder '{}' does not exist; ignored", dir));
    }
  }
  Reader reader(options, diag, deck);
  reader.Read(text, name, true, 0, "");
  return diag.num_errors() == before;
}

}  // namespace memspice::netlist
