// Private to the netlist library: reading files into logical cards.
//
// A card is one logical line: comments stripped, `+` continuation lines appended. Every
// character keeps its source position so that errors point at the physical line and column.
// `.include`, `.lib file section`, `.control`/`.endc` and `.end` are handled here, so the card
// list the parser sees is already one flat sequence.
#ifndef MEMSPICE_NETLIST_DECK_H_
#define MEMSPICE_NETLIST_DECK_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::netlist {

// Largest deck or included file read (bounds memory on a wrong or hostile input).
inline constexpr std::uintmax_t kMaxDeckBytes = std::uintmax_t{256} << 20;

struct Token {
  enum class Kind { kWord, kExpr, kEq, kLParen, kRParen, kComma };
  Kind kind = Kind::kWord;
  std::string text;  // lower case; kExpr: the text inside the braces or quotes
  std::string raw;   // as written (file names keep their case)
  size_t pos = 0;    // offset of the first character in Card::text (kExpr: first inner char)
  size_t end = 0;    // offset just past the token (kExpr: past the closing brace or quote)
  SourceLoc loc;     // location of the token's first character (kExpr: the brace or quote)

  bool Is(Kind k) const { return kind == k; }
  bool IsWord(std::string_view w) const { return kind == Kind::kWord && text == w; }
};

struct Card {
  // Maps a run of Card::text starting at `offset` to a physical position.
  struct Segment {
    size_t offset;
    int line;
    int col;
  };
  std::shared_ptr<const std::string> file;
  std::string text;
  std::vector<Segment> segments;
  std::vector<Token> tokens;
  std::string keyword;  // first word, lower case (".param", "r1", ...)

  SourceLoc LocAt(size_t offset) const;
  SourceLoc loc() const { return LocAt(0); }
};

struct Deck {
  std::string title;
  std::vector<Card> cards;
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string>> sources;  // file name, text
};

// Splits `text` into cards and tokenizes them, following .include/.lib. `name` is the file
// name used in locations and as the base directory of relative includes. Returns false if an
// error was reported (the deck may still be used to collect more errors).
bool ReadDeck(std::string_view text, const std::string& name, const ParseOptions& options,
              Diagnostics& diag, Deck* deck);

// Tokenizes card.text into card.tokens; reports unterminated braces/quotes.
bool Tokenize(Card& card, Diagnostics& diag);

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_DECK_H_
