#include "solver/klu_solver.h"

#include <cmath>

namespace memspice::solver {

KluSolver::KluSolver() {
  klu_defaults(&common_);
  common_.halt_if_singular = 1;
}

KluSolver::~KluSolver() {
  FreeNumeric();
  if (symbolic_ != nullptr) klu_free_symbolic(&symbolic_, &common_);
}

void KluSolver::FreeNumeric() {
  if (numeric_ != nullptr) klu_free_numeric(&numeric_, &common_);
  numeric_ = nullptr;
}

bool KluSolver::Analyze(int n, const std::vector<int>& col_ptr, const std::vector<int>& row_idx) {
  FreeNumeric();
  if (symbolic_ != nullptr) klu_free_symbolic(&symbolic_, &common_);
  n_ = n;
  col_ptr_ = col_ptr;
  row_idx_ = row_idx;
  if (n == 0) return true;
  symbolic_ = klu_analyze(n, col_ptr_.data(), row_idx_.data(), &common_);
  return symbolic_ != nullptr;
}

bool KluSolver::Factor(const double* values) {
  singular_col_ = -1;
  if (n_ == 0) return true;
  if (symbolic_ == nullptr) return false;
  // klu_refactor takes a non-const pointer but does not modify the values.
  double* ax = const_cast<double*>(values);
  if (numeric_ != nullptr) {
    int ok = klu_refactor(col_ptr_.data(), row_idx_.data(), ax, symbolic_, numeric_, &common_);
    if (ok && common_.status == KLU_OK) {
      // A pivot order chosen for other values can turn poor; then pivot afresh.
      klu_rcond(symbolic_, numeric_, &common_);
      if (std::isfinite(common_.rcond) && common_.rcond > 1e-3 * fresh_rcond_) {
        ++num_refactor_;
        return true;
      }
    }
    FreeNumeric();
  }
  numeric_ = klu_factor(col_ptr_.data(), row_idx_.data(), ax, symbolic_, &common_);
  if (numeric_ == nullptr || common_.status != KLU_OK) {
    singular_col_ = (common_.singular_col >= 0 && common_.singular_col < n_) ? common_.singular_col
                                                                              : -1;
    FreeNumeric();
    return false;
  }
  klu_rcond(symbolic_, numeric_, &common_);
  fresh_rcond_ = std::isfinite(common_.rcond) ? common_.rcond : 0.0;
  ++num_factor_;
  return true;
}

void KluSolver::Solve(double* b) {
  if (n_ == 0 || numeric_ == nullptr) return;
  klu_solve(symbolic_, numeric_, n_, 1, b, &common_);
}

void KluSolver::TSolve(double* b) {
  if (n_ == 0 || numeric_ == nullptr) return;
  klu_tsolve(symbolic_, numeric_, n_, 1, b, &common_);
}

}  // namespace memspice::solver
