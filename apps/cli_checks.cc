#include "apps/cli_checks.h"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "netlist/expression.h"
#include "solver/simulator.h"

namespace memspice::apps {
namespace {

// Parses a real option value (SPICE suffixes allowed); nullopt if it is not a finite number.
std::optional<double> FiniteNumber(const std::string& s) {
  std::optional<double> v = netlist::ParseSpiceNumber(s);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

CLI::Validator RealAbove(double lo, bool inclusive, const std::string& what) {
  return CLI::Validator(
      [lo, inclusive, what](std::string& s) -> std::string {
        std::optional<double> v = FiniteNumber(s);
        if (!v)
          return fmt::format("'{}' is not a finite number (expected {}, e.g. 1.5 or 10u)", s, what);
        if (inclusive ? *v < lo : *v <= lo) return fmt::format("{} must be {}", s, what);
        s = fmt::format("{:.17g}", *v);
        return "";
      },
      what);
}

}  // namespace

CLI::Validator Positive() { return RealAbove(0.0, false, "> 0"); }

CLI::Validator NonNegative() { return RealAbove(0.0, true, ">= 0"); }

CLI::Validator IntRange(long long lo, long long hi) {
  const std::string what = fmt::format("an integer in [{}, {}]", lo, hi);
  return CLI::Validator(
      [lo, hi, what](std::string& s) -> std::string {
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size()) return fmt::format("'{}' is not {}", s, what);
        if (v < lo || v > hi) return fmt::format("{} is out of range: expected {}", s, what);
        return "";
      },
      what);
}

CLI::Option* AddFixedStepOption(CLI::App* cmd, double* fixed_step) {
  return cmd
      ->add_option("--fixed-step", *fixed_step,
                   "Fixed time step in seconds, > 0 (default: adaptive stepping)")
      ->transform(Positive());  // a transform: "10u" becomes 1e-05 before conversion
}

void AddLimitOptions(CLI::App* cmd, double* max_points, double* max_memory) {
  *max_points = static_cast<double>(solver::SimOptions::kDefaultMaxPoints);
  *max_memory = static_cast<double>(solver::SimOptions::kDefaultMaxMemory);
  cmd->add_option("--max-points", *max_points,
                  "Most time points an analysis may produce (default 1e8; 0: no limit)")
      ->transform(NonNegative());
  cmd->add_option("--max-memory", *max_memory,
                  "Most bytes of waveforms kept in memory (default 4G; 0: no limit)")
      ->transform(NonNegative());
}

}  // namespace memspice::apps
