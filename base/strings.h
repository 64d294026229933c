// String and number helpers used by every library: one spelling of each, so that case folding,
// trimming and the number format of every deck writer agree.
#ifndef MEMSPICE_BASE_STRINGS_H_
#define MEMSPICE_BASE_STRINGS_H_

#include <string>
#include <string_view>

namespace memspice::base {

// ASCII lower / upper case (netlists are case-insensitive; locale plays no part).
std::string Lower(std::string_view s);
std::string Upper(std::string_view s);

// `s` without leading and trailing white space (std::isspace in the C locale).
std::string Trim(std::string_view s);

// The number format of every deck and file memspice writes: the shortest decimal text that
// reads back as exactly `v` ("0.1", "1e-14", "100000"), so that a written deck simulates the
// values that were in memory. Infinities and NaN are written as "inf", "-inf", "nan".
std::string FormatNumber(double v);
// FormatNumber(v) appended to `out` without a temporary string (the hot loop of CSV output).
void AppendNumber(double v, std::string& out);

}  // namespace memspice::base

#endif  // MEMSPICE_BASE_STRINGS_H_
