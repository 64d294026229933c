// Thin RAII wrapper over KLU for the fixed CSC pattern of a circuit: analyse once, factor the
// first time, refactor (same pivot order) afterwards, solve and transposed solve.
#ifndef MEMSPICE_SOLVER_KLU_SOLVER_H_
#define MEMSPICE_SOLVER_KLU_SOLVER_H_

#include <klu.h>

#include <vector>

namespace memspice::solver {

class KluSolver {
 public:
  KluSolver();
  ~KluSolver();
  KluSolver(const KluSolver&) = delete;
  KluSolver& operator=(const KluSolver&) = delete;

  // Symbolic analysis of the pattern (copied). Returns false on a KLU error.
  bool Analyze(int n, const std::vector<int>& col_ptr, const std::vector<int>& row_idx);

  // Numeric factorization of `values` (CSC order of the analysed pattern). Uses klu_refactor
  // when a factorization exists and falls back to a fresh pivoting factorization if the
  // refactored pivots became poor. Returns false if the matrix is singular; singular_col() then
  // names the original column (unknown) of the zero pivot, or -1 if unknown.
  bool Factor(const double* values);

  // In-place solves with the last successful factorization: A x = b and A^T x = b.
  void Solve(double* b);
  void TSolve(double* b);

  bool has_factorization() const { return numeric_ != nullptr; }
  int singular_col() const { return singular_col_; }
  int n() const { return n_; }
  // Counts of numeric work, for performance reports and tests.
  int num_factor() const { return num_factor_; }
  int num_refactor() const { return num_refactor_; }

 private:
  void FreeNumeric();
  int n_ = 0;
  std::vector<int> col_ptr_, row_idx_;
  klu_common common_;
  klu_symbolic* symbolic_ = nullptr;
  klu_numeric* numeric_ = nullptr;
  int singular_col_ = -1;
  double fresh_rcond_ = 0.0;  // rcond of the last pivoting factorization
  int num_factor_ = 0;
  int num_refactor_ = 0;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_KLU_SOLVER_H_
