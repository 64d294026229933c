// Newton's method on the assembled system
//
//     r_i(x) = wf_i f_i(x) + wq_i q_i(x) + b_i            (rows with a finite clamp_i: x_i -
//     clamp_i) J      = diag(wf) G + diag(wq) C                     (same CSC pattern as G and C)
//
// which covers DC (wf = 1, wq = 0), implicit LMS steps (wf = 1, wq = a0, b = history) and the
// stages of explicit methods (differential rows wf = 0, wq = 1, b = -Q; algebraic rows wf = 1,
// wq = 0). Nothing throws; the outcome says what happened and where.
#ifndef MEMSPICE_SOLVER_NEWTON_H_
#define MEMSPICE_SOLVER_NEWTON_H_

#include <limits>
#include <vector>

#include "solver/assembler.h"
#include "solver/klu_solver.h"

namespace memspice::solver {

struct NewtonSystem {
  const double* wf = nullptr;     // length n
  const double* wq = nullptr;     // length n
  const double* b = nullptr;      // length n or null (zero)
  const double* clamp = nullptr;  // length n or null; NaN = row not clamped
  // wf/wq/clamp differ from the previous call: a linear circuit must refactor.
  bool matrix_changed = true;
  // Identifies J among the matrices of this analysis (e.g. a0 of G + a0 C); not NaN lets a linear
  // circuit reuse a cached factorization of the same J.
  double matrix_key = std::numeric_limits<double>::quiet_NaN();
};

struct NewtonOptions {
  int max_iter = 100;  // iterations with a fresh Jacobian (chord iterations come on top)
  double reltol = 1e-3;
  double vntol = 1e-6;         // node voltages
  double abstol = 1e-12;       // currents and states; KCL residuals
  double q_atol = 1e-14;       // residual of pure charge rows (wf = 0)
  double max_node_step = 0.0;  // > 0: damp updates larger than this many volts
  bool linear = false;         // f, q linear in x: one solve, factorization reused while unchanged
  // Chord iteration: keep the factorization across iterations and calls (while matrix_key is
  // unchanged) as long as each update shrinks the previous one by kChordMaxRate or better, else
  // refactor. An update from a reused factorization counts as converged only below
  // kChordErrorFraction of the tolerance (its error is not quadratically small).
  bool chord = false;
  // SPICE's test: from the second iteration on, an update within the tolerances with no limited
  // voltage ends the iteration at the updated iterate, whose f and q are taken through the
  // linearisation (f += G dx, q += C dx) instead of evaluating the devices again.
  bool accept_update = false;
};

// Largest ratio |dx_k| / |dx_k-1| (in units of the tolerance) a chord iteration may show before
// the Jacobian is refreshed.
inline constexpr double kChordMaxRate = 0.1;
// Fraction of the Newton tolerance a chord update must stay below to end the iteration: the
// result then matches a full Newton solve to ~1e-10 relative (MNA-vs-fast-path checks need it).
inline constexpr double kChordErrorFraction = 1e-7;
// Chord iterations in one call before the Jacobian is refreshed regardless of the rate.
inline constexpr int kChordMaxIterations = 12;

struct NewtonOutcome {
  bool converged = false;
  bool singular = false;
  int iterations = 0;
  int factorizations = 0;
  int worst = -1;  // unknown with the largest scaled residual (or singular column)
};

class NewtonSolver {
 public:
  NewtonSolver(Assembler& assembler, KluSolver& klu);

  // Solves from the initial guess in x (length n); on success x holds the solution and the
  // assembler's f() and q() are evaluated at it.
  NewtonOutcome Solve(double* x, const EvalRequest& request, const NewtonSystem& system,
                      const NewtonOptions& options);

  // Forces assembly and factorization at the next Solve (e.g. after a change of analysis).
  void Invalidate() {
    factor_valid_ = false;
    matrices_current_ = false;
    klu_.ForgetKeys();
  }
  const std::vector<double>& jacobian() const { return j_; }

 private:
  // J = diag(wf) G + diag(wq) C, and ScaleFromJacobian's terms in the same pass.
  void AssembleJacobian(const NewtonSystem& s, const double* x);
  // Adds |J_ik x_k| (the size of each Jacobian term) to the residual scale of row i.
  void ScaleFromJacobian(const double* x);
  bool Factor(const NewtonSystem& s, NewtonOutcome* out);
  // The residual r_ of the assembled f and q (and its term sizes in scale_); false, with
  // out->worst, if a device produced inf or NaN.
  bool Residual(const double* x, const NewtonSystem& s, NewtonOutcome* out);
  // Whether every residual is within tolerance; out->worst is the row furthest from it.
  bool ResidualConverged(const NewtonSystem& s, const NewtonOptions& o, NewtonOutcome* out);
  // Solves for the update, damps it (max_node_step) and applies it to x; `dx_converged` tells
  // whether every |dx| is within `fraction` of its tolerance, `dx_norm` the largest ratio.
  // False, with out->singular, if the update is not finite.
  bool Update(double* x, const NewtonOptions& o, double fraction, bool* dx_converged,
              double* dx_norm, NewtonOutcome* out);
  Assembler& asm_;
  KluSolver& klu_;
  int n_;
  std::vector<double> j_, r_, scale_, dx_, x_old_;
  bool factor_valid_ = false;
  bool matrices_current_ = false;  // G and C values belong to the current analysis settings
  bool last_dc_ = false;
  double last_all_gmin_ = -1.0;
  double last_dc_gmin_ = -1.0;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_NEWTON_H_
