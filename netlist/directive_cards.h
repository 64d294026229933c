// Directives handled after parsing: `.meas`/`.measure` (solver/measure.h) and `.step`
// (`memspice sweep`). The parser accepts these cards without keeping them in the Netlist; this
// reads the deck again (following .include/.lib as the parser does) and returns them as words
// with their source locations, so that later stages report errors as file:line:col.
#ifndef MEMSPICE_NETLIST_DIRECTIVE_CARDS_H_
#define MEMSPICE_NETLIST_DIRECTIVE_CARDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::netlist {

// A card split at blanks, '=' and ',' outside parentheses, lower case; '=' is a word of its own:
// ".meas tran t1 find v(out) at=1m" -> .meas, tran, t1, find, v(out), at, =, 1m.
struct DirectiveCard {
  struct Word {
    std::string text;
    SourceLoc loc;
  };
  std::vector<Word> words;  // words[0] is the keyword as written in lower case (".meas", ".step")
  SourceLoc loc;
  // Location just past the last word (for "missing ..." errors).
  SourceLoc end;
};

// The top-level cards of the deck at `path` whose keyword is one of `keywords`, in deck order.
// The deck's sources are registered in `diag` so that errors on the words echo the source line.
// Returns false (with diagnostics) if the file cannot be read.
bool ReadDirectiveCards(const std::string& path, const ParseOptions& options,
                        const std::vector<std::string>& keywords, Diagnostics& diag,
                        std::vector<DirectiveCard>* out);
// Same for deck text; `name` as in ParseString.
bool ReadDirectiveCardsString(std::string_view text, const std::string& name,
                              const ParseOptions& options, const std::vector<std::string>& keywords,
                              Diagnostics& diag, std::vector<DirectiveCard>* out);

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_DIRECTIVE_CARDS_H_
