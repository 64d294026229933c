// Supernodal forward and back substitution on a KLU factorization of one block (no BTF).
//
// KLU stores every column of L and U with a row index per entry and solves column by column, one
// dependent subtraction after another. Under nested dissection most of L lies in supernodes, runs
// of columns with the same rows below a dense triangle (69 % of L's entries at a 128 x 128
// crossbar), and U in the same runs by rows. Storing each run's rows once and its values as dense
// blocks streams a third less memory per solve, reads x once per row instead of once per entry,
// and lets four rows be updated as independent chains. Every x entry still receives the same
// products in the same order as in KLU's klu_solve, so the results are identical to the last bit.
#ifndef MEMSPICE_SOLVER_KLU_SUPERNODES_H_
#define MEMSPICE_SOLVER_KLU_SUPERNODES_H_

#include <klu.h>

#include <vector>

namespace memspice::solver {

class KluSupernodes {
 public:
  // Copies the factorization into supernodal form; false (and empty) if it has more than one
  // block. Call again after every (re)factorization of `numeric`.
  bool Build(const klu_numeric& numeric);
  bool empty() const { return n_ == 0; }
  // A x = b in place, as klu_solve with one right-hand side: row scaling and pivot permutation,
  // L and U substitution, column permutation.
  void Solve(const klu_symbolic& symbolic, const klu_numeric& numeric, double* b);

 private:
  // A run of `width` columns (L) or rows (U) from `first`: its dense triangle, then a dense
  // rectangle over `index`, row-major (L: rows below; U: columns right, decreasing).
  struct Run {
    int first = 0, width = 0;
    size_t index_begin = 0, index_end = 0;
    size_t values = 0;  // triangle (width (width - 1) / 2 values), then the rectangle
  };
  void BuildL(const klu_numeric& f);
  void BuildU(const klu_numeric& f);
  void LSolve(double* x) const;
  void USolve(double* x) const;

  int n_ = 0;
  std::vector<Run> l_runs_, u_runs_;
  std::vector<int> l_index_, u_index_;
  std::vector<double> l_values_, u_values_, u_diag_;
  std::vector<double> work_;  // permuted x
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_KLU_SUPERNODES_H_
