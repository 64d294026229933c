// Discrete adjoint of a transient run: differentiate the scheme actually run.
//
// The forward run (solver) fixes the time grid: accepted times, step sizes and the formula of
// every step are read from the Tape and treated as constants (step-size control is not
// differentiated; see docs/adjoint.md). Replay() then re-solves exactly the discrete equations
// the solver solved on that grid -- the DC operating point (or the uic start), every implicit LMS
// step f(x_n) + a0 q(x_n) + a1 q(x_{n-1}) + a2 q(x_{n-2}) + b1 qdot_{n-1} = 0, every stage
// { q_D(y) = Q, f_A(y) = 0 } of FE/RK4 -- with Newton converged to round-off and a fresh KLU
// factorization per iteration, so the replayed trajectory is a deterministic function of the
// tape. It stores states through the tape (all columns, or checkpoints every k steps with the
// segments recomputed bit-identically on demand) and the objective's per-point term values.
//
// Implicit methods need no replay: exact_recorder(), passed to the run as its observer, solves the
// run's own steps that way (chord iteration to round-off on a Jacobian that depends only on the
// accepted history, see ExactSolve) and records them, so the simulation is the trajectory.
//
// Reverse() runs the adjoint recurrences backwards (transposed KLU solves on the symbolic
// analysis done once for the circuit's pattern, refined to round-off on a kept factorization
// while that converges fast) and accumulates lambda^T dF/dp through ParamPartials; Tangent()
// propagates one parameter forwards (forward sensitivity) for checks.
#ifndef MEMSPICE_AUTODIFF_ADJOINT_H_
#define MEMSPICE_AUTODIFF_ADJOINT_H_

#include <klu.h>

#include <functional>
#include <memory>
#include <vector>

#include "autodiff/objective.h"
#include "autodiff/params.h"
#include "autodiff/tape.h"
#include "netlist/netlist.h"
#include "solver/assembler.h"
#include "solver/circuit.h"
#include "solver/klu_solver.h"
#include "solver/simulator.h"
#include "solver/status.h"

namespace memspice::autodiff {

// KLU whose results depend only on the matrix values, never on the order of earlier calls
// (needed for bit-identical replays from checkpoints). Factor() pivots afresh. FactorOnPivots()
// refactors on the pivot order of the first matrix it was given (a reference kept for the
// object's life; a refactor costs ~4x less than a pivoting factorization) and pivots afresh, for
// this matrix only, when those pivots are poor for it. The symbolic analysis is the one the
// forward run's solver made for the circuit's pattern (solver::KluSymbolic).
class DeterministicKlu {
 public:
  DeterministicKlu();
  ~DeterministicKlu();
  DeterministicKlu(const DeterministicKlu&) = delete;
  DeterministicKlu& operator=(const DeterministicKlu&) = delete;
  bool Analyze(int n, const std::vector<int>& col_ptr, const std::vector<int>& row_idx);
  bool Factor(const double* values);
  bool FactorOnPivots(const double* values);
  void Solve(double* b);
  void TSolve(double* b);
  int num_tsolves() const { return num_tsolves_; }
  int num_factors() const { return num_factors_; }  // Factor and FactorOnPivots calls
  const std::shared_ptr<solver::KluSymbolic>& symbolic() const { return symbolic_; }

 private:
  int n_ = 0;
  klu_common common_;
  std::shared_ptr<solver::KluSymbolic> symbolic_;
  klu_numeric* numeric_ = nullptr;    // the last pivoting factorization
  klu_numeric* reference_ = nullptr;  // pivot order of FactorOnPivots, values of its last call
  double reference_rcond_ = 0.0;      // rcond of the reference's own pivoting factorization
  klu_numeric* current_ = nullptr;    // what Solve and TSolve use
  int num_tsolves_ = 0;
  int num_factors_ = 0;
};

class DiscreteAdjoint {
 public:
  // `method` is the base method of the run; `tape` holds the grid recorded by the solver.
  DiscreteAdjoint(solver::Circuit& circuit, const netlist::Netlist& netlist,
                  const netlist::Analysis& analysis, const solver::SimOptions& options,
                  solver::Method method, Tape* tape, const Objective* objective);
  ~DiscreteAdjoint();

  // Replays the scheme on the tape's grid, stores states, evaluates the objective.
  solver::Status Replay(double* objective);
  // Exact tape of an implicit run: the observer to pass to solver::RunAnalysis (it solves and
  // records the steps), then Finish() for the objective. Replaces Replay().
  solver::StepObserver* exact_recorder();
  solver::Status Finish(double* objective);
  // dJ/dp for every parameter of `partials` into grad (resized).
  solver::Status Reverse(ParamPartials& partials, std::vector<double>* grad);
  // dJ/dp_j by forward sensitivity.
  solver::Status Tangent(ParamPartials& partials, int j, double* dj);
  // Forward sensitivity of the whole trajectory to p_j: visit(k, x_k, dx_k/dp_j) for every step
  // k = 0..N-1 in order (waveform Jacobians for fitting; Tangent() is one use of it).
  using TangentVisitor =
      std::function<void(int k, const double* x, const std::vector<double>& xdot)>;
  solver::Status TangentTrajectory(ParamPartials& partials, int j, const TangentVisitor& visit);

  // Replayed state of step k (recomputes its checkpoint segment if needed); nullptr on failure.
  const double* State(int k);
  int num_steps() const { return tape_->size(); }
  // "forward: F factorizations, reverse: R factorizations, T transposed solves" (diagnostics).
  std::string Stats() const;

 private:
  struct StageSet;  // RK4 stage states of one step
  class ExactRecorder;
  solver::EvalRequest Tran(double time) const;
  solver::EvalRequest Dc() const;
  double Tau(int k) const;  // evaluation time of the equations that produce step k
  // Factors jac_ into klu_ (deterministically, see DeterministicKlu). False if singular.
  bool FactorJacobian(bool dc);
  // Newton on wf f + wq q + b (clamped rows: x - clamp) from the guess in x, to round-off.
  solver::Status Solve(std::vector<double>* x, const solver::EvalRequest& req, const double* wf,
                       const double* wq, const double* b, const double* clamp, const char* what);
  solver::Status Initial(std::vector<double>* x_op);
  // Exact tape: the initial point (operating point to round-off, or the uic start) and q there.
  solver::Status ExactStart(std::vector<double>* x, double* q);
  // Chord iteration to round-off on f(x, time) + a0 q(x) + b = 0 from the guess in x, reusing
  // the anchor's factorization across steps and refreshing it (a new anchor at the current
  // iterate) when an update shrinks the last by less than 10x. Deterministic in the accepted
  // history and the anchor a step starts from, so checkpoint segments repeat it bit for bit.
  solver::Status ExactSolve(double* x, double time, double a0, const double* b, int* worst);
  // Factors G + a0 C at x (settled evaluation) into fwd_klu_ and makes it the current anchor.
  solver::Status MakeAnchor(const double* x, double time, double a0);
  solver::Status LoadAnchor(const std::shared_ptr<const Tape::Anchor>& anchor);
  void ExactAccept(const solver::StepInfo& info);
  // Solves jac_^T m = m in place to round-off: iterative refinement on the kept factorization
  // of rev_klu_ while it contracts fast, else a refactorization of jac_ (always for DC).
  bool SolveTransposed(bool dc, double* m);
  solver::Status Stage(const std::vector<double>& Q, double time, std::vector<double>* y);
  // One implicit step n from the history; outputs x_n, q_n, qdot_n.
  solver::Status ImplicitStep(int n, const std::vector<double>& xm1, const std::vector<double>& xm2,
                              const std::vector<double>& qm1, const std::vector<double>& qm2,
                              const std::vector<double>& qdm1, std::vector<double>* xn,
                              std::vector<double>* qn, std::vector<double>* qdn);
  // One explicit step n from (x, f, q) of step n-1; stages (RK4) optional.
  solver::Status ExplicitStep(int n, const std::vector<double>& x0, const std::vector<double>& f0,
                              const std::vector<double>& q0, std::vector<double>* x1,
                              std::vector<std::vector<double>>* stages);
  void EvalFq(const double* x, double time, std::vector<double>* f, std::vector<double>* q);
  // The reverse sweep of Reverse() for implicit and explicit runs, accumulating dJ/dp in grad.
  solver::Status ImplicitReverse(ParamPartials& partials, double* grad);
  solver::Status ExplicitReverse(ParamPartials& partials, double* grad);
  // RK4: the adjoints fbar, qbar at x_k of step k+1's inner stages, from the adjoint Qbar_next of
  // step k+1's charge target.
  solver::Status Rk4StepAdjoint(ParamPartials& partials, int k, const std::vector<double>& x,
                                const std::vector<double>& Qbar_next, std::vector<double>* fbar,
                                std::vector<double>* qbar, double* grad);
  // Scratch of the tangent (forward sensitivity) pass: df/dp, dq/dp and the matrices of the last
  // TangentSolve.
  struct TangentScratch {
    std::vector<double> df, dq, G, C;
  };
  // Solves J v = v in place, J = wf G + wq C at y (rows with a clamp: identity).
  solver::Status TangentSolve(const double* y, const solver::EvalRequest& req, const double* wf,
                              const double* wq, const double* clamp, std::vector<double>* v,
                              TangentScratch* t);
  // The tangent of every step after the initial point's xdot_op, for implicit and explicit runs.
  solver::Status ImplicitTangent(ParamPartials& partials, int j, const std::vector<double>& xdot_op,
                                 const TangentVisitor& visit, TangentScratch* t);
  solver::Status ExplicitTangent(ParamPartials& partials, int j, const std::vector<double>& xdot_op,
                                 const TangentVisitor& visit, TangentScratch* t);
  // Explicit stage tangent J_S ydot = D (Qdot - dq/dp) - A df/dp at y, with fdot, qdot there.
  solver::Status StageTangent(ParamPartials& partials, int j, const double* y, double time,
                              const std::vector<double>& Qdot, std::vector<double>* ydot,
                              std::vector<double>* fdot, std::vector<double>* qdot,
                              TangentScratch* t);
  // RK4: the charge tangent Qdot at the end of step k from step k-1's (x, fdot, qdot).
  solver::Status Rk4TangentCharge(ParamPartials& partials, int j, int k,
                                  const std::vector<double>& x, const std::vector<double>& fdot,
                                  const std::vector<double>& qdot, std::vector<double>* Qdot,
                                  TangentScratch* t);
  solver::Status RecomputeSegment(int start);
  // Adjoint of one solved system at point y: ybar = xbar + G^T fbar + C^T qbar, mu = J^-T ybar,
  // accumulates w_f = fbar - wf*mu, w_q = qbar - wq*mu into the gradient; returns mu.
  solver::Status PointAdjoint(const double* y, const solver::EvalRequest& req, const double* wf,
                              const double* wq, const double* clamp, const double* xbar,
                              const double* fbar, const double* qbar, ParamPartials& partials,
                              double* grad, std::vector<double>* mu);
  solver::Status InitialAdjoint(const std::vector<double>& xbar, ParamPartials& partials,
                                double* grad);
  void ObjectiveGradient(int k, const double* x, std::vector<double>* g) const;
  void TransposeMultiply(const std::vector<double>& a, const double* v, double* out) const;
  void Multiply(const std::vector<double>& a, const double* v, double* out) const;

  solver::Circuit& c_;
  const netlist::Netlist& nl_;
  const netlist::Analysis& an_;
  solver::SimOptions o_;
  solver::Method method_;
  bool explicit_;
  Tape* tape_;
  const Objective* obj_;
  int n_;
  solver::Assembler asm_;
  DeterministicKlu klu_;      // replay (explicit methods, DC) and tangent
  DeterministicKlu fwd_klu_;  // exact tape: the anchors
  DeterministicKlu rev_klu_;  // reverse pass
  bool rev_valid_ = false;    // rev_klu_ holds a transient factorization to refine on
  std::vector<double> rev_rhs_, rev_res_;
  bool exact_ = false;
  std::unique_ptr<ExactRecorder> recorder_;
  // Current anchor, the one the latest ExactSolve started with, and the current one when the
  // previous step was accepted.
  std::shared_ptr<const Tape::Anchor> anchor_, attempt_anchor_, exact_prev_anchor_;
  std::vector<double> exact_q_, exact_qdot_, exact_prev_, exact_r_;
  std::vector<std::vector<double>> exact_values_;  // objective term values per step
  std::vector<double> ones_, zeros_, clamp_, jac_;
  bool has_clamp_ = false;
  std::vector<double> x_op_;
  std::vector<char> diff_;                    // explicit: differential rows
  std::vector<double> wf_stage_, wq_stage_;   // explicit stage weights
  std::vector<std::vector<double>> dvalues_;  // dJ/d(term value) per term and step
  int seg_start_ = -1;
  std::vector<std::vector<double>> seg_;  // recomputed columns of one segment
};

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_ADJOINT_H_
