// Thin RAII wrapper over KLU for the fixed CSC pattern of a circuit: analyse once, factor the
// first time, refactor (same pivot order) afterwards, solve and transposed solve.
//
// The symbolic analysis (fill-reducing ordering, block triangular form) depends on the pattern
// only; KluSymbolic shares it between every solver of one pattern, so the transient engine, the
// adjoint's replay and its transposed solves analyse a circuit once.
//
// Optionally keeps several numeric factorizations keyed by a caller-chosen number (the a0 of a
// linear circuit's G + a0 C), so that returning to an earlier step size costs no factorization.
#ifndef MEMSPICE_SOLVER_KLU_SOLVER_H_
#define MEMSPICE_SOLVER_KLU_SOLVER_H_

#include <klu.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "solver/klu_supernodes.h"

namespace memspice::solver {

// Unknowns from which a pattern is ordered by METIS nested dissection without BTF instead of
// KLU's default AMD with BTF: 13% less fill, 1.5x faster solves and 1.6x faster refactors at
// 128 x 128 crossbars (33k unknowns), while the 20-120 ms analysis does not pay below
// (docs/benchmarks.md, "KLU budget").
inline constexpr int kMetisMinUnknowns = 20000;

// Solves of one factorization of a system with at least kMetisMinUnknowns unknowns (one block)
// after which it is copied into supernodal form (klu_supernodes.h): the copy costs about ten
// solves and saves a third of each following one, so factorizations used once or twice (Newton,
// a linear transient's growing first steps) keep KLU's own solve.
inline constexpr int kSupernodalMinSolves = 8;

// KLU user ordering (klu_common::user_order with ordering = 3): METIS nested dissection of the
// pattern through CHOLMOD, ordering it as a structurally symmetric matrix (exact for MNA of
// R/C/V circuits, a good ordering otherwise). Returns KLU's nnz(L) estimate, 0 on failure.
// Null when the build has no CHOLMOD.
using KluUserOrder = int (*)(int n, int* ap, int* ai, int* perm, klu_common* common);
KluUserOrder MetisUserOrder();

class KluSymbolic {
 public:
  // The analysis of this pattern: the one a solver of the same pattern made recently (the few
  // most recently used patterns stay alive), else a fresh klu_analyze. nullptr on a KLU error.
  static std::shared_ptr<KluSymbolic> ForPattern(int n, const std::vector<int>& col_ptr,
                                                 const std::vector<int>& row_idx);
  ~KluSymbolic();
  KluSymbolic(const KluSymbolic&) = delete;
  KluSymbolic& operator=(const KluSymbolic&) = delete;

  klu_symbolic* get() const { return symbolic_; }
  int n() const { return n_; }
  // The pattern, kept alive with the analysis (KLU's numeric calls read it).
  int* col_ptr() const { return const_cast<int*>(col_ptr_.data()); }
  int* row_idx() const { return const_cast<int*>(row_idx_.data()); }
  // Number of klu_analyze calls made in this process (for tests of the sharing).
  static int num_analyses();

 private:
  KluSymbolic() = default;
  int n_ = 0;
  std::vector<int> col_ptr_, row_idx_;
  klu_common common_;
  klu_symbolic* symbolic_ = nullptr;
};

class KluSolver {
 public:
  KluSolver();
  ~KluSolver();
  KluSolver(const KluSolver&) = delete;
  KluSolver& operator=(const KluSolver&) = delete;

  // Symbolic analysis of the pattern (shared, see KluSymbolic). Returns false on a KLU error.
  bool Analyze(int n, const std::vector<int>& col_ptr, const std::vector<int>& row_idx);
  const std::shared_ptr<KluSymbolic>& symbolic() const { return symbolic_; }

  // Numeric factorization of `values` (CSC order of the analysed pattern). Uses klu_refactor
  // when a factorization exists and falls back to a fresh pivoting factorization if the
  // refactored pivots became poor. Returns false if the matrix is singular; singular_col() then
  // names the original column (unknown) of the zero pivot, or -1 if unknown.
  // With a key (not NaN) the result is remembered under it (see Select).
  bool Factor(const double* values, double key = std::numeric_limits<double>::quiet_NaN());
  // Makes the factorization remembered under `key` current; false if there is none.
  bool Select(double key);
  // Forgets all keys (values changed); the numeric objects are recycled by later factorizations.
  void ForgetKeys();
  // Number of factorizations kept (>= 1). Default 1.
  void set_cache_capacity(int capacity);

  // In-place solves with the current factorization: A x = b and A^T x = b.
  void Solve(double* b);
  void TSolve(double* b);

  bool has_factorization() const;
  int singular_col() const { return singular_col_; }
  int n() const { return n_; }
  // Counts of numeric work, for performance reports and tests.
  int num_factor() const { return num_factor_; }
  int num_refactor() const { return num_refactor_; }

 private:
  struct Entry {
    double key = std::numeric_limits<double>::quiet_NaN();
    klu_numeric* numeric = nullptr;
    double fresh_rcond = 0.0;  // rcond of the last pivoting factorization into this entry
    uint64_t last_use = 0;
    int solves = 0;                             // since its last (re)factorization
    std::unique_ptr<KluSupernodes> supernodes;  // of numeric, once it is reused (see Solve)
  };
  void FreeEntry(Entry* e);
  klu_numeric* current() const;

  int n_ = 0;
  klu_common common_;
  std::shared_ptr<KluSymbolic> symbolic_;
  std::vector<Entry> entries_;
  int current_ = -1;
  size_t capacity_ = 1;
  uint64_t clock_ = 0;
  int singular_col_ = -1;
  int num_factor_ = 0;
  int num_refactor_ = 0;
};

// Complex LU (KLU's klu_z_* routines) on the same analysed pattern, for the .ac analysis:
// values are interleaved (re, im) per CSC entry, right-hand sides likewise per unknown. Every
// Factor() pivots afresh: G + j w C changes character over a frequency sweep.
class KluComplexSolver {
 public:
  explicit KluComplexSolver(std::shared_ptr<KluSymbolic> symbolic);
  ~KluComplexSolver();
  KluComplexSolver(const KluComplexSolver&) = delete;
  KluComplexSolver& operator=(const KluComplexSolver&) = delete;

  // Factors `values` (2 * nnz doubles). False if singular; singular_col() then names the
  // column (unknown) of the zero pivot, or -1.
  bool Factor(const double* values);
  // In-place solve A x = b with the current factorization (b: 2 n doubles).
  void Solve(double* b);
  int singular_col() const { return singular_col_; }

 private:
  klu_common common_;
  std::shared_ptr<KluSymbolic> symbolic_;
  klu_numeric* numeric_ = nullptr;
  int singular_col_ = -1;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_KLU_SOLVER_H_
