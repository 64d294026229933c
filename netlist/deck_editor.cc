#include "netlist/deck_editor.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "base/strings.h"

namespace memspice::netlist {

namespace {

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool IsContinuation(const std::string& line) {
  const size_t i = line.find_first_not_of(" \t");
  return i != std::string::npos && line[i] == '+';
}

bool IsComment(const std::string& line) {
  const size_t i = line.find_first_not_of(" \t\r");
  return i == std::string::npos || line[i] == '*';
}

// End of the value token starting at `b`: a {...} expression, a quoted string, else up to
// whitespace, ')' or ','.
size_t TokenEnd(const std::string& s, size_t b) {
  if (b < s.size() && (s[b] == '{' || s[b] == '\'')) {
    const char close = s[b] == '{' ? '}' : '\'';
    int depth = 0;
    for (size_t i = b; i < s.size(); ++i) {
      if (s[i] == '{' && close == '}') ++depth;
      if (s[i] == close && (close == '\'' ? i > b : --depth == 0)) return i + 1;
    }
    return s.size();
  }
  size_t e = b;
  while (e < s.size() && !IsSpace(s[e]) && s[e] != ')' && s[e] != ',') ++e;
  return e;
}

// Whitespace-separated tokens of a line as [begin, end) offsets ({...} kept whole).
std::vector<std::pair<size_t, size_t>> Tokens(const std::string& s) {
  std::vector<std::pair<size_t, size_t>> t;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size()) break;
    size_t e = i;
    if (s[i] == '{') {
      e = TokenEnd(s, i);
    } else {
      while (e < s.size() && !IsSpace(s[e])) ++e;
    }
    t.emplace_back(i, e);
    i = e;
  }
  return t;
}

bool LooksNumeric(std::string_view tok) {
  return !tok.empty() && (tok[0] == '{' || std::isdigit(static_cast<unsigned char>(tok[0])) ||
                          tok[0] == '.' || tok[0] == '-' || tok[0] == '+');
}

// Replaces the value of `key = value` on one line; false if the key is not there.
bool ReplaceOnLine(std::string* s, const std::string& key, std::string_view value) {
  const std::string low = base::Lower(*s);
  size_t pos = 0;
  while ((pos = low.find(key, pos)) != std::string::npos) {
    const bool start_ok =
        pos == 0 || IsSpace(low[pos - 1]) || low[pos - 1] == '(' || low[pos - 1] == ',';
    size_t e = pos + key.size();
    while (e < low.size() && (low[e] == ' ' || low[e] == '\t')) ++e;
    if (start_ok && e < low.size() && low[e] == '=') {
      size_t b = e + 1;
      while (b < s->size() && (s->at(b) == ' ' || s->at(b) == '\t')) ++b;
      s->replace(b, TokenEnd(*s, b) - b, value);
      return true;
    }
    pos += key.size();
  }
  return false;
}

// `s` without its inline comment: ngspice starts one at ';' anywhere and at '$' after white space,
// outside braces.
std::string StripInlineComment(const std::string& s) {
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (depth > 0) continue;
    if (c == ';') return s.substr(0, i);
    if (c == '$' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) return s.substr(0, i);
  }
  return s;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  std::string line;
  for (char c : text) {
    if (c == '\n') {
      lines.push_back(std::move(line));
      line.clear();
    } else {
      line.push_back(c);
    }
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

DeckEditor::DeckEditor(std::string_view text) : lines_(SplitLines(text)) {}

std::string DeckEditor::text() const {
  std::string out;
  for (const std::string& l : lines_) out += l + "\n";
  return out;
}

int DeckEditor::CardEnd(int first) const {
  int last = first;
  // Comment and blank lines may sit between a card and its continuations.
  for (int l = first + 1; l < num_lines(); ++l) {
    if (IsContinuation(lines_[l])) {
      last = l;
    } else if (!IsComment(lines_[l])) {
      break;
    }
  }
  return last;
}

bool DeckEditor::ReplaceKey(int line, std::string_view key, std::string_view value) {
  if (!ValidLine(line)) return false;
  const std::string k = base::Lower(key);
  for (int l = line - 1; l <= CardEnd(line - 1); ++l) {
    if (ReplaceOnLine(&lines_[l], k, value)) return true;
  }
  return false;
}

void DeckEditor::SetKey(int line, std::string_view key, std::string_view value) {
  if (!ValidLine(line) || ReplaceKey(line, key, value)) return;
  // Appended before an inline comment ('; ...' or ' $ ...'), if any.
  std::string& l = lines_[CardEnd(line - 1)];
  size_t cut = std::min(l.find(';'), l.find(" $ "));
  if (cut == std::string::npos) cut = l.size();
  while (cut > 0 && IsSpace(l[cut - 1])) --cut;
  std::string kv = " ";  // built by appending: GCC 12 warns falsely on " " + std::string
  kv.append(key).append("=").append(value);
  l.insert(cut, kv);
}

bool DeckEditor::SetToken(int line, int index, const char* keyword, std::string_view value) {
  if (!ValidLine(line) || index < 0) return false;
  std::string& s = lines_[line - 1];
  const auto tok = Tokens(s);
  auto text = [&](size_t k) {
    return base::Lower(std::string_view(s).substr(tok[k].first, tok[k].second - tok[k].first));
  };
  size_t k = static_cast<size_t>(index);
  if (keyword != nullptr && tok.size() > k + 1 && text(k) == keyword) ++k;
  if (k >= tok.size() || !LooksNumeric(text(k))) return false;
  s.replace(tok[k].first, tok[k].second - tok[k].first, value);
  return true;
}

bool DeckEditor::SetDirectiveKey(std::string_view directive, std::string_view key,
                                 std::string_view value) {
  const std::string d = base::Lower(directive);
  for (int l = 0; l < num_lines(); ++l) {
    const std::string head = base::Lower(base::Trim(lines_[l]));
    const bool starts =
        head.rfind(d, 0) == 0 && (head.size() == d.size() || IsSpace(head[d.size()]));
    if (starts && ReplaceKey(l + 1, key, value)) return true;
  }
  return false;
}

bool DeckEditor::StartsCard(int line) const {
  return ValidLine(line) && !IsComment(lines_[line - 1]) && !IsContinuation(lines_[line - 1]);
}

std::string DeckEditor::CardStatement(int line) const {
  if (!ValidLine(line)) return "";
  std::string statement = StripInlineComment(lines_[line - 1]);
  for (int l = line; l <= CardEnd(line - 1); ++l) {
    if (!IsContinuation(lines_[l])) continue;
    const std::string cont = base::Trim(lines_[l]).substr(1);
    statement += " " + StripInlineComment(cont);
  }
  return statement;
}

void DeckEditor::ReplaceLines(int first, int last, std::string_view text) {
  if (!ValidLine(first) || !ValidLine(last) || last < first) return;
  std::vector<std::string> lines = SplitLines(text);
  lines_.erase(lines_.begin() + (first - 1), lines_.begin() + last);
  lines_.insert(lines_.begin() + (first - 1), std::make_move_iterator(lines.begin()),
                std::make_move_iterator(lines.end()));
}

}  // namespace memspice::netlist
