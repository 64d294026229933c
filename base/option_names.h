// How library messages name a user-settable option without knowing the front end.
//
// Libraries write an option as "{opt:fixed_step}" (its neutral snake_case name); Status, the
// netlist diagnostics and the training errors render the marker when the message is made, through
// the spelling the front end installed once at start-up: the CLI writes "--fixed-step", the Python
// module "fixed_step=". Without a front end the name reads "option fixed_step". So the
// libraries never spell a command-line flag, and every front end gets advice in its own terms.
#ifndef MEMSPICE_BASE_OPTION_NAMES_H_
#define MEMSPICE_BASE_OPTION_NAMES_H_

#include <string>
#include <string_view>

namespace memspice::base {

// The marker for option `name` ("{opt:" name "}"), for messages built with fmt.
std::string Opt(std::string_view name);

// Spells a neutral option name for one front end. Must be callable from any thread.
using OptionSpelling = std::string (*)(std::string_view name);

// Installs the spelling (nullptr: the neutral quoted name). Call once before any work starts.
void SetOptionSpelling(OptionSpelling spelling);

// `text` with every "{opt:NAME}" marker replaced by the installed spelling of NAME.
std::string RenderOptionNames(std::string text);

// The command-line spelling: "fixed_step" -> "--fixed-step".
std::string CliOptionSpelling(std::string_view name);

}  // namespace memspice::base

#endif  // MEMSPICE_BASE_OPTION_NAMES_H_
