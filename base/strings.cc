#include "base/strings.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace memspice::base {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kSpace);
  return std::string(s.substr(b, e - b + 1));
}

std::string FormatNumber(double v) {
  std::string out;
  AppendNumber(v, out);
  return out;
}

void AppendNumber(double v, std::string& out) {
  // Compiled format: no format-string parsing and no growth checks per number.
  char tmp[32];  // the longest shortest-form double is 24 characters
  char* end = fmt::format_to(tmp, FMT_COMPILE("{}"), v);
  out.append(tmp, static_cast<size_t>(end - tmp));
}

}  // namespace memspice::base
