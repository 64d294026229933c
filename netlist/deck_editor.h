// The one deck editor: changes values in the text of a deck file by source location and keeps
// everything else as written (comments, continuation lines, spacing, case). Used to write fitted
// parameters back (autodiff/fit.h), trained conductances and bound samples into a network deck
// (training/compiler.h), and to rewrite the cards of devices ngspice lacks (ngspice/export.h).
//
// A card is a line plus its `+` continuation lines; cards are addressed by the 1-based line of
// their first line, as in netlist::SourceLoc. Values are written as given (callers format
// numbers with base::FormatNumber, which reads back exactly).
#ifndef MEMSPICE_NETLIST_DECK_EDITOR_H_
#define MEMSPICE_NETLIST_DECK_EDITOR_H_

#include <string>
#include <string_view>
#include <vector>

namespace memspice::netlist {

class DeckEditor {
 public:
  explicit DeckEditor(std::string_view text);

  int num_lines() const { return static_cast<int>(lines_.size()); }
  // The text with the edits, one '\n' after every line.
  std::string text() const;

  // Replaces the value of `key = value` (key case-insensitive) on the card at `line`; false if
  // the card does not write the key.
  bool ReplaceKey(int line, std::string_view key, std::string_view value);
  // Replaces the key's value, or appends ` key=value` to the card (before an inline comment).
  void SetKey(int line, std::string_view key, std::string_view value);
  // Replaces token `index` of the card's first line (0: the element name), skipping `keyword`
  // (case-insensitive, may be null) when it is that token, as in "V1 a 0 DC 5". False unless the
  // token is a number or a {expression}.
  bool SetToken(int line, int index, const char* keyword, std::string_view value);
  // Replaces `key`'s value on the first card that starts with `directive` (".param", ".ic") and
  // writes the key; false if no such card.
  bool SetDirectiveKey(std::string_view directive, std::string_view key, std::string_view value);

  // Reading cards. Line `line` as written (valid lines only).
  const std::string& line(int line) const { return lines_[line - 1]; }
  // Whether a card starts at `line`: it is neither blank, a comment ('*') nor a continuation.
  bool StartsCard(int line) const;
  // The last line of the card that starts at `line` (its last continuation, else `line`).
  int CardLastLine(int line) const { return CardEnd(line - 1) + 1; }
  // The card as one statement: its first line, then each continuation without its '+', joined by
  // a space, inline comments (';', or '$' after white space, outside braces) removed.
  std::string CardStatement(int line) const;
  // Replaces lines first..last (1-based, inclusive) by the lines of `text` ('\n' separated; a
  // final '\n' ends the last line). Lines after `last` move; edit from the end of the deck.
  void ReplaceLines(int first, int last, std::string_view text);

 private:
  bool ValidLine(int line) const { return line >= 1 && line <= num_lines(); }
  // 0-based index of the card's last line.
  int CardEnd(int first) const;

  std::vector<std::string> lines_;
};

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_DECK_EDITOR_H_
