#include "netlist/directive_cards.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "netlist/deck.h"

namespace memspice::netlist {
namespace {

bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == ','; }

DirectiveCard Split(const Card& card) {
  DirectiveCard d;
  d.loc = card.loc();
  d.end = card.LocAt(card.text.size());
  const std::string& s = card.text;
  size_t i = 0;
  while (i < s.size()) {
    if (IsSeparator(s[i])) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (s[i] != '=') {
      for (int depth = s[i] == '(' ? 1 : 0; j < s.size(); ++j) {
        if (depth == 0 && (IsSeparator(s[j]) || s[j] == '=')) break;
        depth += s[j] == '(' ? 1 : s[j] == ')' ? -1 : 0;
      }
    }
    std::string word;
    for (size_t k = i; k < j; ++k) {
      if (s[k] != ' ' && s[k] != '\t') {
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(s[k])));
      }
    }
    d.words.push_back({word, card.LocAt(i)});
    i = j;
  }
  return d;
}

}  // namespace

bool ReadDirectiveCardsString(std::string_view text, const std::string& name,
                              const ParseOptions& options, const std::vector<std::string>& keywords,
                              Diagnostics& diag, std::vector<DirectiveCard>* out) {
  Deck deck;
  Diagnostics local;  // the parser reports the deck's own errors; only the sources are needed
  ReadDeck(text, name, options, local, &deck);
  for (const auto& [file, src] : deck.sources) diag.AddSource(file, src);
  int depth = 0;  // inside .subckt ... .ends
  for (const Card& card : deck.cards) {
    if (card.keyword == ".subckt") ++depth;
    if (card.keyword == ".ends" && depth > 0) --depth;
    if (depth > 0) continue;
    if (std::find(keywords.begin(), keywords.end(), card.keyword) != keywords.end()) {
      out->push_back(Split(card));
    }
  }
  return true;
}

bool ReadDirectiveCards(const std::string& path, const ParseOptions& options,
                        const std::vector<std::string>& keywords, Diagnostics& diag,
                        std::vector<DirectiveCard>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.Error(SourceLoc{path, 0, 0}, "cannot open netlist '" + path + "'");
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ReadDirectiveCardsString(ss.str(), path, options, keywords, diag, out);
}

}  // namespace memspice::netlist
