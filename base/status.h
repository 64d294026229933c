// Status is the one error style of every library: a failure travels back as a value with a
// message and a hint (what is wrong, what would be right); nothing throws inside the libraries
// (the Newton loop, the trainer), apps/ turns a failed Status into a message and an exit code.
// Options are named as base::Opt("name") markers, rendered here in the front end's spelling.
// It lives in namespace memspice itself so that every library names it `Status`.
#ifndef MEMSPICE_BASE_STATUS_H_
#define MEMSPICE_BASE_STATUS_H_

#include <string>

#include "base/option_names.h"

namespace memspice {

class Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message, std::string hint = "") {
    Status s;
    s.ok_ = false;
    s.message_ = base::RenderOptionNames(std::move(message));
    s.hint_ = base::RenderOptionNames(std::move(hint));
    return s;
  }
  // A request refused before any work because it passes a limit (max_points, max_memory):
  // the input is at fault, not the run, so commands exit 1 as for a bad option.
  static Status Refused(std::string message, std::string hint = "") {
    Status s = Error(std::move(message), std::move(hint));
    s.refused_ = true;
    return s;
  }
  bool ok() const { return ok_; }
  bool refused() const { return refused_; }
  // The same failure (kind and hint kept) with `prefix` before its message.
  Status Prefixed(const std::string& prefix) const {
    Status s = *this;
    s.message_ = base::RenderOptionNames(prefix) + message_;
    return s;
  }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

 private:
  bool ok_ = true;
  bool refused_ = false;
  std::string message_;
  std::string hint_;
};

}  // namespace memspice

#endif  // MEMSPICE_BASE_STATUS_H_
