#include "netlist/diagnostics.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "base/option_names.h"

namespace memspice::netlist {
namespace {

// Longest message or hint kept whole; a 2 MB token must not be echoed into an error.
constexpr size_t kMaxMessageChars = 400;
// Width of the source-line window echoed under a diagnostic.
constexpr int kEchoWidth = 160;

// Replaces control characters (binary input, terminal escapes) with '?'; tabs and newlines
// stay.
std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t' && c != '\n') || u == 0x7f) c = '?';
  }
  return out;
}

// Printable text cut to kMaxMessageChars with a note of how much was left out.
std::string Clip(std::string s) {
  if (s.size() <= kMaxMessageChars) return Printable(s);
  return fmt::format("{}... ({} more characters)", Printable(s.substr(0, kMaxMessageChars)),
                     s.size() - kMaxMessageChars);
}

}  // namespace

void Diagnostics::AddSource(const std::string& file, std::string_view text) {
  std::vector<std::string>& lines = sources_[file];
  lines.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
}

void Diagnostics::Error(const SourceLoc& loc, std::string message, std::string hint) {
  items_.push_back({Severity::kError, loc, Clip(base::RenderOptionNames(std::move(message))),
                    Clip(base::RenderOptionNames(std::move(hint)))});
  ++num_errors_;
}

void Diagnostics::Warning(const SourceLoc& loc, std::string message, std::string hint) {
  items_.push_back({Severity::kWarning, loc, Clip(base::RenderOptionNames(std::move(message))),
                    Clip(base::RenderOptionNames(std::move(hint)))});
}

const std::string* Diagnostics::SourceLine(const std::string& file, int line) const {
  auto it = sources_.find(file);
  if (it == sources_.end() || line < 1 || line > static_cast<int>(it->second.size()))
    return nullptr;
  return &it->second[line - 1];
}

std::string Diagnostics::FormatOne(const Diagnostic& d, const std::string* source_line) {
  const char* kind = d.severity == Severity::kError ? "error" : "warning";
  std::string out;
  if (d.loc.line > 0) {
    out = fmt::format("{}:{}:{}: {}: {}\n", d.loc.file, d.loc.line, d.loc.col, kind, d.message);
  } else if (!d.loc.file.empty()) {
    out = fmt::format("{}: {}: {}\n", d.loc.file, kind, d.message);
  } else {
    out = fmt::format("{}: {}\n", kind, d.message);
  }
  if (source_line != nullptr && d.loc.line > 0) {
    // A window of kEchoWidth characters around the column; "..." marks cut ends.
    const std::string& line = *source_line;
    const int col = std::max(d.loc.col, 1);
    const int first =
        std::max(0, std::min(col - 1 - kEchoWidth / 2, static_cast<int>(line.size()) - kEchoWidth));
    const std::string lead = first > 0 ? "..." : "";
    std::string shown = Printable(std::string_view(line).substr(first, kEchoWidth));
    const bool cut_end = first + kEchoWidth < static_cast<int>(line.size());
    out += fmt::format("  {}{}{}\n", lead, shown, cut_end ? "..." : "");
    // Keep tabs so the caret lines up under the same column in a terminal.
    std::string pad(lead.size(), ' ');
    for (int i = first; i + 1 < col && i < static_cast<int>(line.size()); ++i) {
      pad += line[i] == '\t' ? '\t' : ' ';
    }
    out += fmt::format("  {}^\n", pad);
  }
  if (!d.hint.empty()) out += fmt::format("  note: {}\n", d.hint);
  return out;
}

namespace {

// Longest source line echoed from disk; the caret of a later column is still placed correctly
// up to here.
constexpr size_t kMaxEchoedLine = 300;

// Line `line` of a regular file on disk (diagnostics raised after parsing, e.g. by the circuit
// builder, carry a location but no registered source). nullopt if unavailable.
std::optional<std::string> ReadLineFromDisk(const std::string& file, int line) {
  std::error_code ec;
  if (line < 1 || !std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  std::string text;
  for (int i = 0; i < line; ++i) {
    if (!std::getline(in, text)) return std::nullopt;
  }
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.size() > kMaxEchoedLine) text = text.substr(0, kMaxEchoedLine) + " ...";
  return text;
}

}  // namespace

std::string Diagnostics::Format() const {
  std::string out;
  for (const Diagnostic& d : items_) {
    const std::string* line = SourceLine(d.loc.file, d.loc.line);
    std::optional<std::string> from_disk;
    if (line == nullptr && d.loc.line > 0) {
      from_disk = ReadLineFromDisk(d.loc.file, d.loc.line);
      if (from_disk) line = &*from_disk;
    }
    out += FormatOne(d, line);
  }
  return out;
}

}  // namespace memspice::netlist
