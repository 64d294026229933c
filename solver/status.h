// Status carries failures out of numerical code; nothing throws inside the Newton loop.
#ifndef MEMSPICE_SOLVER_STATUS_H_
#define MEMSPICE_SOLVER_STATUS_H_

#include <string>

namespace memspice::solver {

class Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message, std::string hint = "") {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    s.hint_ = std::move(hint);
    return s;
  }
  bool ok() const { return ok_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

 private:
  bool ok_ = true;
  std::string message_;
  std::string hint_;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_STATUS_H_
