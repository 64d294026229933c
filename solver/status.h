// The solver's first name for base/status.h's Status, kept so that code written against it
// (solver::Status, #include "solver/status.h") still compiles; new code writes Status.
#ifndef MEMSPICE_SOLVER_STATUS_H_
#define MEMSPICE_SOLVER_STATUS_H_

#include "base/status.h"

namespace memspice::solver {
using memspice::Status;
}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_STATUS_H_
