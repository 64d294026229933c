// Transient steps of a circuit of linear devices. G and C are constant and f(x, t) = G x + s(t)
// with s(t) = f(0, t) from the source devices alone, so an implicit step
//
//     f(x, t) + a0 C x + b = 0   is the single solve   (G + a0 C) x = -(s(t) + b)
//
// with the factorization of G + a0 C kept per a0 (KluSolver keys). Per step only the sources
// are evaluated and q = C x is formed over C's nonzeros: no device loop, no residual, no
// Newton iteration.
#ifndef MEMSPICE_SOLVER_LINEAR_STEP_H_
#define MEMSPICE_SOLVER_LINEAR_STEP_H_

#include <vector>

#include "solver/assembler.h"
#include "solver/klu_solver.h"

namespace memspice::solver {

class LinearStep {
 public:
  // Takes G and C from a full evaluation of the circuit (which must be all_linear()) at x = 0.
  // valid() is false when f(0, t) of all devices differs from that of the sources alone (a
  // device with a source term that does not declare IsSource): callers then use Newton.
  LinearStep(Assembler& assembler, KluSolver& klu, const EvalRequest& request);

  bool valid() const { return valid_; }
  // Rows with a nonzero in C: the only rows whose q (hence the truncation error) is nonzero.
  const std::vector<int>& charge_rows() const { return charge_rows_; }

  // Solves the step at `time` with G + a0 C and history b into x, and q = C x into q.
  // False if the matrix is singular; singular_col() then names the unknown.
  bool Solve(double a0, double time, const double* b, double* x, double* q);
  int singular_col() const { return klu_.singular_col(); }

 private:
  Assembler& asm_;
  KluSolver& klu_;
  EvalRequest req_;
  int n_;
  bool valid_ = false;
  std::vector<double> g_, c_, j_;
  // C's nonzeros as (row, col, value), for q = C x.
  std::vector<int> c_row_, c_col_;
  std::vector<double> c_val_;
  std::vector<int> charge_rows_;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_LINEAR_STEP_H_
