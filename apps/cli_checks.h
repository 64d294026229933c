// Command-line validators shared by the subcommands. Unlike CLI11's PositiveNumber/Range they
// refuse nan and inf, print short numbers (not 309-digit limits), and accept SPICE suffixes for
// real values ("10u"). CLI11 prefixes the message with the option name.
#ifndef MEMSPICE_APPS_CLI_CHECKS_H_
#define MEMSPICE_APPS_CLI_CHECKS_H_

#include <CLI/CLI.hpp>
#include <string>

namespace memspice::apps {

// A finite number > 0. Used with ->transform(), SPICE suffixes are accepted and the value is
// rewritten as a plain number; with ->check() the option's own conversion applies.
CLI::Validator Positive();
// A finite number >= 0.
CLI::Validator NonNegative();
// An integer in [lo, hi].
CLI::Validator IntRange(long long lo, long long hi);

// Adds --fixed-step (seconds, > 0; absent means adaptive stepping).
CLI::Option* AddFixedStepOption(CLI::App* cmd, double* fixed_step);

// Adds --max-points and --max-memory (limits of SimOptions, see docs/reliability.md).
void AddLimitOptions(CLI::App* cmd, double* max_points, double* max_memory);

}  // namespace memspice::apps

#endif  // MEMSPICE_APPS_CLI_CHECKS_H_
