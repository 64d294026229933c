// Source locations and compiler-style diagnostics for netlist errors.
//
// Every error reads `file:line:col: error: message`, followed by the source line and a caret under the
// column, and optionally a `note: hint` line. Errors of one pass are collected; callers stop after the
// pass when has_errors() is true.
#ifndef MEMSPICE_NETLIST_DIAGNOSTICS_H_
#define MEMSPICE_NETLIST_DIAGNOSTICS_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace memspice::netlist {

// A position in a netlist file. line and col are 1-based; line 0 means "no location".
struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLoc loc;
  std::string message;
  std::string hint;  // what would be right; may be empty
};

class Diagnostics {
 public:
  // Registers the text of a file so that Format() can echo the offending line.
  void AddSource(const std::string& file, std::string_view text);

  void Error(const SourceLoc& loc, std::string message, std::string hint = "");
  void Warning(const SourceLoc& loc, std::string message, std::string hint = "");

  bool has_errors() const { return num_errors_ > 0; }
  int num_errors() const { return num_errors_; }
  const std::vector<Diagnostic>& items() const { return items_; }

  // All diagnostics, one block each: header line, source line, caret, optional note.
  std::string Format() const;
  static std::string FormatOne(const Diagnostic& d, const std::string* source_line);

  // The text of line `line` (1-based) of `file`, or nullptr if unknown.
  const std::string* SourceLine(const std::string& file, int line) const;

 private:
  std::vector<Diagnostic> items_;
  int num_errors_ = 0;
  std::map<std::string, std::vector<std::string>> sources_;
};

}  // namespace memspice::netlist

#endif  // MEMSPICE_NETLIST_DIAGNOSTICS_H_
