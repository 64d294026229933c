// Byte counts in messages (memory budgets, output sizes).
#ifndef MEMSPICE_BASE_BYTES_H_
#define MEMSPICE_BASE_BYTES_H_

#include <string>

namespace memspice::base {

// "1.5 GB", "320 kB", "12 bytes" (decimal units, three significant digits).
std::string FormatBytes(double bytes);

}  // namespace memspice::base

#endif  // MEMSPICE_BASE_BYTES_H_
