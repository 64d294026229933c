#include "autodiff/adjoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/option_names.h"
#include "solver/integrators.h"

namespace memspice::autodiff {

using solver::Method;
using solver::Status;

namespace {
std::string Sec(double v) { return fmt::format("{:.6g}", v); }

// A chord update that shrinks the last one by less than this refreshes the Jacobian (the
// forward's exact steps) or the factorization refined on (the reverse pass).
constexpr double kChordRate = 0.1;
// Relative size of a Newton update (per unknown, with absolute floors) or of a refinement
// correction (max norm) that is round-off: the iteration has converged.
constexpr double kRoundOff = 1e-14;
// A fresh Newton update, or a refinement correction, that no longer halves stagnates at
// round-off when it is below this: converged as far as double precision goes.
constexpr double kStagnation = 1e-6;
// A chord update below this that stops shrinking right after shrinking by 10x or more has hit
// the round-off floor of some row (1e-14..1e-12 on crossbars, growing with their size), not a
// slow contraction: the iteration has converged, and the Jacobian is not refreshed for it.
constexpr double kChordNoise = 1e-11;
// Most refinement corrections of one transposed solve before it refactors.
constexpr int kMaxRefinements = 8;
// A refinement correction that no longer halves is accepted only below this (relative, max norm):
// round-off of an ill-conditioned but current factorization. Above it the kept factorization is
// too far from J (a switch that flipped, a junction that turned on) and is refactored; 1e-6
// left 1e-7..1e-6 errors in the gradients of a hysteretic switch.
constexpr double kRefineStagnation = 1e-10;

// Absolute floors a thousandth of SPICE's vntol (1 uV) and abstol (1 pA): below them an update is
// round-off of a quantity that is itself zero (a 0 V sense source's current).
double UpdateFloor(devices::UnknownKind kind) {
  return kind == devices::UnknownKind::kNode     ? 1e-9
         : kind == devices::UnknownKind::kBranch ? 1e-15
                                                 : 1e-12;
}
}  // namespace

// The run's observer for an exact tape: solves its implicit steps and records the accepted ones.
class DiscreteAdjoint::ExactRecorder : public solver::StepObserver,
                                       public solver::ImplicitStepSolver {
 public:
  explicit ExactRecorder(DiscreteAdjoint* adjoint) : a_(adjoint) {}
  void OnStep(const solver::StepInfo& info) override { a_->ExactAccept(info); }
  solver::ImplicitStepSolver* step_solver() override { return this; }
  Status Start(std::vector<double>* x, double* q) override { return a_->ExactStart(x, q); }
  bool Solve(double time, double a0, const double* b, double* x, double* q, int* worst) override {
    if (!a_->ExactSolve(x, time, a0, b, worst).ok()) return false;
    const int n = a_->n_;
    std::copy(a_->exact_q_.begin(), a_->exact_q_.end(), q);
    a_->exact_qdot_.resize(n);
    for (int i = 0; i < n; ++i) a_->exact_qdot_[i] = a0 * q[i] + b[i];
    return true;
  }

 private:
  DiscreteAdjoint* a_;
};

DeterministicKlu::DeterministicKlu() { klu_defaults(&common_); }

DeterministicKlu::~DeterministicKlu() {
  if (numeric_ != nullptr) klu_free_numeric(&numeric_, &common_);
  if (reference_ != nullptr) klu_free_numeric(&reference_, &common_);
}

bool DeterministicKlu::Analyze(int n, const std::vector<int>& col_ptr,
                               const std::vector<int>& row_idx) {
  n_ = n;
  symbolic_ = solver::KluSymbolic::ForPattern(n, col_ptr, row_idx);
  return symbolic_ != nullptr;
}

bool DeterministicKlu::Factor(const double* values) {
  ++num_factors_;
  if (numeric_ != nullptr) klu_free_numeric(&numeric_, &common_);
  current_ = nullptr;
  if (n_ == 0) return true;
  if (symbolic_ == nullptr) return false;
  numeric_ = klu_factor(symbolic_->col_ptr(), symbolic_->row_idx(), const_cast<double*>(values),
                        symbolic_->get(), &common_);
  current_ = numeric_;
  return numeric_ != nullptr && common_.status == KLU_OK;
}

bool DeterministicKlu::FactorOnPivots(const double* values) {
  // Refactored pivots are kept while the pivot ratio stays within this factor of the
  // reference's own (the rule of solver::KluSolver).
  constexpr double kPivotDecay = 1e-3;
  if (n_ == 0 || symbolic_ == nullptr) return Factor(values);
  ++num_factors_;
  double* v = const_cast<double*>(values);
  if (reference_ == nullptr) {
    reference_ =
        klu_factor(symbolic_->col_ptr(), symbolic_->row_idx(), v, symbolic_->get(), &common_);
    if (reference_ == nullptr || common_.status != KLU_OK ||
        !klu_rcond(symbolic_->get(), reference_, &common_) || !std::isfinite(common_.rcond)) {
      if (reference_ != nullptr) klu_free_numeric(&reference_, &common_);
      return Factor(values);
    }
    reference_rcond_ = common_.rcond;
    current_ = reference_;
    return true;
  }
  if (klu_refactor(symbolic_->col_ptr(), symbolic_->row_idx(), v, symbolic_->get(), reference_,
                   &common_) &&
      common_.status == KLU_OK && klu_rcond(symbolic_->get(), reference_, &common_) &&
      std::isfinite(common_.rcond) && common_.rcond > kPivotDecay * reference_rcond_) {
    current_ = reference_;
    return true;
  }
  return Factor(values);
}

void DeterministicKlu::Solve(double* b) {
  if (n_ > 0 && current_ != nullptr) klu_solve(symbolic_->get(), current_, n_, 1, b, &common_);
}

void DeterministicKlu::TSolve(double* b) {
  ++num_tsolves_;
  if (n_ > 0 && current_ != nullptr) {
    klu_tsolve(symbolic_->get(), current_, n_, 1, b, &common_);
  }
}

DiscreteAdjoint::DiscreteAdjoint(solver::Circuit& circuit, const netlist::Netlist& netlist,
                                 const netlist::Analysis& analysis,
                                 const solver::SimOptions& options, Method method, Tape* tape,
                                 const Objective* objective)
    : c_(circuit),
      nl_(netlist),
      an_(analysis),
      o_(options),
      method_(method),
      explicit_(solver::IsExplicit(method)),
      tape_(tape),
      obj_(objective),
      n_(circuit.size()),
      asm_(circuit) {
  klu_.Analyze(n_, c_.col_ptr(), c_.row_idx());
  fwd_klu_.Analyze(n_, c_.col_ptr(), c_.row_idx());
  rev_klu_.Analyze(n_, c_.col_ptr(), c_.row_idx());
  ones_.assign(n_, 1.0);
  zeros_.assign(n_, 0.0);
  jac_.assign(c_.nnz(), 0.0);
}

DiscreteAdjoint::~DiscreteAdjoint() = default;

solver::EvalRequest DiscreteAdjoint::Tran(double time) const {
  solver::EvalRequest r;
  r.time = time;
  r.dc = false;
  r.gmin = o_.gmin;
  return r;
}

solver::EvalRequest DiscreteAdjoint::Dc() const {
  solver::EvalRequest r;
  r.time = 0.0;
  r.dc = true;
  r.gmin = o_.gmin;
  r.dc_node_gmin = std::max(o_.gmin, 1e-15);
  return r;
}

bool DiscreteAdjoint::FactorJacobian(bool dc) {
  // Transient matrices share the reference pivots; DC ones differ in kind and pivot afresh.
  return dc ? klu_.Factor(jac_.data()) : klu_.FactorOnPivots(jac_.data());
}

double DiscreteAdjoint::Tau(int k) const { return k == 0 ? 0.0 : tape_->time(k - 1) + tape_->h(k); }

void DiscreteAdjoint::TransposeMultiply(const std::vector<double>& a, const double* v,
                                        double* out) const {
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  for (int j = 0; j < n_; ++j) {
    double s = 0.0;
    for (int k = cp[j]; k < cp[j + 1]; ++k) s += a[k] * v[ri[k]];
    out[j] += s;
  }
}

void DiscreteAdjoint::Multiply(const std::vector<double>& a, const double* v, double* out) const {
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  for (int j = 0; j < n_; ++j) {
    for (int k = cp[j]; k < cp[j + 1]; ++k) out[ri[k]] += a[k] * v[j];
  }
}

void DiscreteAdjoint::EvalFq(const double* x, double time, std::vector<double>* f,
                             std::vector<double>* q) {
  SettledEvaluate(asm_, x, Tran(time));
  if (f != nullptr) f->assign(asm_.f(), asm_.f() + n_);
  if (q != nullptr) q->assign(asm_.q(), asm_.q() + n_);
}

Status DiscreteAdjoint::Solve(std::vector<double>* xv, const solver::EvalRequest& request,
                              const double* wf, const double* wq, const double* b,
                              const double* clamp, const char* what) {
  double* x = xv->data();
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  std::vector<double> r(n_);
  double last = std::numeric_limits<double>::infinity();
  solver::EvalRequest req = request;
  req.matrices = true;
  SettledEvaluate(asm_, x, req);
  // Chord iteration within the step: the Jacobian of the step's first iterate is reused while
  // each update shrinks the last one by kReplayChordRate; a step never reuses the factorization of
  // another (the replay of a checkpoint segment must repeat the full replay bit for bit).
  constexpr double kReplayChordRate = 0.1;
  bool factored = false;
  for (int iter = 0; iter < 60; ++iter) {
    const bool reuse = factored;
    req.matrices = !reuse;
    if (iter > 0) asm_.Evaluate(x, req);
    const double* f = asm_.f();
    const double* q = asm_.q();
    for (int i = 0; i < n_; ++i) {
      if (clamp != nullptr && !std::isnan(clamp[i])) {
        r[i] = x[i] - clamp[i];
      } else {
        r[i] = wf[i] * f[i] + wq[i] * q[i] + (b != nullptr ? b[i] : 0.0);
      }
      if (!std::isfinite(r[i])) {
        return Status::Error(
            fmt::format("replay of the {} at t = {} s: residual of {} is not "
                        "finite",
                        what, Sec(req.time), c_.DescribeUnknown(i)));
      }
    }
    if (!reuse) {
      for (int j = 0; j < n_; ++j) {
        for (int k = cp[j]; k < cp[j + 1]; ++k) {
          const int i = ri[k];
          jac_[k] = (clamp != nullptr && !std::isnan(clamp[i]))
                        ? (i == j ? 1.0 : 0.0)
                        : wf[i] * asm_.G()[k] + wq[i] * asm_.C()[k];
        }
      }
      if (!FactorJacobian(req.dc)) {
        return Status::Error(
            fmt::format("replay of the {} at t = {} s: singular matrix", what, Sec(req.time)));
      }
      factored = true;
    }
    klu_.Solve(r.data());
    double worst = 0.0;
    const auto& unknowns = c_.unknowns();
    for (int i = 0; i < n_; ++i) {
      x[i] -= r[i];
      // Absolute floors a thousandth of SPICE's vntol (1 uV) and abstol (1 pA): below them an
      // update is round-off of a quantity that is itself zero (a 0 V sense source's current).
      const double floor = unknowns[i].kind == devices::UnknownKind::kNode     ? 1e-9
                           : unknowns[i].kind == devices::UnknownKind::kBranch ? 1e-15
                                                                               : 1e-12;
      worst = std::max(worst, std::abs(r[i]) / (std::abs(x[i]) + floor));
    }
    // Converged to round-off, or a Newton update stagnating at it; a linear system is solved by
    // the first update, the second only confirms it.
    if (worst <= 1e-14 || (!reuse && worst <= 1e-6 && worst >= 0.5 * last) ||
        (c_.all_linear() && iter >= 1)) {
      return Status::Ok();
    }
    if (reuse && worst > kReplayChordRate * last) factored = false;
    last = worst;
  }
  if (last <= 1e-7) return Status::Ok();
  return Status::Error(
      fmt::format("replay of the {} at t = {} s: Newton did not converge to "
                  "round-off (last relative update {:.3g})",
                  what, Sec(req.time), last),
      "the gradient needs converged steps; use a smaller " + base::Opt("fixed_step"));
}

Status DiscreteAdjoint::Initial(std::vector<double>* x_op) {
  Status s = IcClamp(c_, nl_, &clamp_);
  if (!s.ok()) return s;
  has_clamp_ = false;
  for (double v : clamp_) has_clamp_ |= !std::isnan(v);
  if (an_.uic) return UicStart(c_, nl_, x_op);
  if (tape_->state(0) == nullptr) return Status::Error("tape has no initial state");
  x_op->assign(tape_->state(0), tape_->state(0) + n_);
  return Solve(x_op, Dc(), ones_.data(), zeros_.data(), nullptr,
               has_clamp_ ? clamp_.data() : nullptr, "DC operating point");
}

Status DiscreteAdjoint::Stage(const std::vector<double>& Q, double time, std::vector<double>* y) {
  std::vector<double> b(n_, 0.0);
  for (int i = 0; i < n_; ++i) b[i] = diff_[i] ? -Q[i] : 0.0;
  return Solve(y, Tran(time), wf_stage_.data(), wq_stage_.data(), b.data(), nullptr,
               explicit_ && method_ == Method::kRk4 ? "RK4 stage" : "forward Euler stage");
}

Status DiscreteAdjoint::ImplicitStep(int n, const std::vector<double>& xm1,
                                     const std::vector<double>& xm2, const std::vector<double>& qm1,
                                     const std::vector<double>& qm2,
                                     const std::vector<double>& qdm1, std::vector<double>* xn,
                                     std::vector<double>* qn, std::vector<double>* qdn) {
  const double h = tape_->h(n);
  const double hp = n >= 2 ? tape_->h(n - 1) : 0.0;
  const solver::LmsCoefficients co = solver::ComputeLms(tape_->method(n), h, hp, false);
  std::vector<double> b(n_), wq(n_, co.a0);
  co.History(n_, qm1.data(), qm2.data(), qdm1.data(), b.data());
  *xn = xm1;
  if (exact_) {
    // The rules of the run's own steps (solver/transient.cc): predictor unless restarted.
    if (!tape_->restart(n)) solver::PredictLinear(n_, h, hp, xm1.data(), xm2.data(), xn->data());
    Status s = tape_->has_anchor(n) ? LoadAnchor(tape_->anchor(n)) : Status::Ok();
    int worst = -1;
    if (s.ok()) s = ExactSolve(xn->data(), Tau(n), co.a0, b.data(), &worst);
    if (!s.ok()) return s;
    *qn = exact_q_;
  } else {
    if (!c_.all_linear() && n >= 2 && hp > 0.0) {
      solver::PredictLinear(n_, h, hp, xm1.data(), xm2.data(), xn->data());
    }
    Status s = Solve(xn, Tran(Tau(n)), ones_.data(), wq.data(), b.data(), nullptr,
                     solver::MethodName(tape_->method(n)));
    if (!s.ok()) return s;
    EvalFq(xn->data(), Tau(n), nullptr, qn);
  }
  qdn->resize(n_);
  for (int i = 0; i < n_; ++i) (*qdn)[i] = co.a0 * (*qn)[i] + b[i];
  return Status::Ok();
}

Status DiscreteAdjoint::ExplicitStep(int n, const std::vector<double>& x0,
                                     const std::vector<double>& f0, const std::vector<double>& q0,
                                     std::vector<double>* x1,
                                     std::vector<std::vector<double>>* stages) {
  const double h = tape_->h(n);
  const double t = tape_->time(n - 1);
  std::vector<double> Q(n_);
  *x1 = x0;
  if (method_ == Method::kForwardEuler) {
    for (int i = 0; i < n_; ++i) Q[i] = q0[i] - h * f0[i];
    return Stage(Q, t + h, x1);
  }
  std::vector<double> fs(n_), k1(n_), k2(n_), k3(n_), k4(n_);
  if (stages != nullptr) stages->clear();
  for (int i = 0; i < n_; ++i) {
    k1[i] = -f0[i];
    Q[i] = q0[i] + 0.5 * h * k1[i];
  }
  Status s = Stage(Q, t + 0.5 * h, x1);
  if (!s.ok()) return s;
  if (stages != nullptr) stages->push_back(*x1);
  EvalFq(x1->data(), t + 0.5 * h, &fs, nullptr);
  for (int i = 0; i < n_; ++i) {
    k2[i] = -fs[i];
    Q[i] = q0[i] + 0.5 * h * k2[i];
  }
  s = Stage(Q, t + 0.5 * h, x1);
  if (!s.ok()) return s;
  if (stages != nullptr) stages->push_back(*x1);
  EvalFq(x1->data(), t + 0.5 * h, &fs, nullptr);
  for (int i = 0; i < n_; ++i) {
    k3[i] = -fs[i];
    Q[i] = q0[i] + h * k3[i];
  }
  s = Stage(Q, t + h, x1);
  if (!s.ok()) return s;
  if (stages != nullptr) stages->push_back(*x1);
  EvalFq(x1->data(), t + h, &fs, nullptr);
  for (int i = 0; i < n_; ++i) {
    k4[i] = -fs[i];
    Q[i] = q0[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  }
  return Stage(Q, t + h, x1);
}

Status DiscreteAdjoint::Replay(double* objective) {
  const int N = tape_->size();
  if (N < 2) return Status::Error("the transient run has no steps to differentiate");
  Status s = Initial(&x_op_);
  if (!s.ok()) return s;
  const int nt = obj_->num_terms();
  std::vector<std::vector<double>> values(nt, std::vector<double>(N, 0.0));
  auto record = [&](int k, const std::vector<double>& x, const std::vector<double>* prev,
                    const std::vector<double>* qdot) {
    tape_->SetState(k, x.data(), prev ? prev->data() : nullptr, qdot ? qdot->data() : nullptr);
    for (int t = 0; t < nt; ++t) values[t][k] = obj_->TermValue(t, x.data(), tape_->time(k));
  };
  if (!explicit_) {
    std::vector<double> xm2 = x_op_, xm1 = x_op_, qm2, qm1, qdm1(n_, 0.0), xn, qn, qdn;
    EvalFq(xm1.data(), 0.0, nullptr, &qm1);
    qm2 = qm1;
    record(0, xm1, &xm1, &qdm1);
    for (int k = 1; k < N; ++k) {
      s = ImplicitStep(k, xm1, xm2, qm1, qm2, qdm1, &xn, &qn, &qdn);
      if (!s.ok()) return s;
      record(k, xn, &xm1, &qdn);
      xm2.swap(xm1);
      xm1.swap(xn);
      qm2.swap(qm1);
      qm1.swap(qn);
      qdm1.swap(qdn);
    }
  } else {
    // Differential rows from C at the operating point, as the solver classifies them.
    SettledEvaluate(asm_, x_op_.data(), Tran(0.0));
    diff_ = solver::DifferentialRows(c_, asm_.C());
    wf_stage_.assign(n_, 0.0);
    wq_stage_.assign(n_, 0.0);
    for (int i = 0; i < n_; ++i) (diff_[i] ? wq_stage_ : wf_stage_)[i] = 1.0;
    std::vector<double> Q(asm_.q(), asm_.q() + n_), x = x_op_, f, q, x1;
    s = Stage(Q, 0.0, &x);
    if (!s.ok()) return s;
    record(0, x, nullptr, nullptr);
    EvalFq(x.data(), 0.0, &f, &q);
    for (int k = 1; k < N; ++k) {
      s = ExplicitStep(k, x, f, q, &x1, nullptr);
      if (!s.ok()) return s;
      x.swap(x1);
      EvalFq(x.data(), Tau(k), &f, &q);
      record(k, x, nullptr, nullptr);
    }
  }
  seg_start_ = -1;
  return obj_->Combine(tape_->times(), values, objective, &dvalues_);
}

Status DiscreteAdjoint::RecomputeSegment(int start) {
  const int N = tape_->size();
  const int K = tape_->keep_every();
  const int end = std::min(start + K, N);
  seg_.assign(end - start, std::vector<double>());
  const double* xc = tape_->state(start);
  if (xc == nullptr) return Status::Error(fmt::format("tape has no checkpoint at step {}", start));
  seg_[0].assign(xc, xc + n_);
  if (!explicit_) {
    const double* pv = tape_->prev_state(start);
    const double* qd = tape_->qdot(start);
    std::vector<double> xm1 = seg_[0], xm2(pv, pv + n_), qdm1(qd, qd + n_), qm1, qm2, xn, qn, qdn;
    EvalFq(xm1.data(), Tau(start), nullptr, &qm1);
    EvalFq(xm2.data(), start >= 1 ? Tau(start - 1) : 0.0, nullptr, &qm2);
    if (start == 0) qm2 = qm1;
    for (int k = start + 1; k < end; ++k) {
      Status s = ImplicitStep(k, xm1, xm2, qm1, qm2, qdm1, &xn, &qn, &qdn);
      if (!s.ok()) return s;
      seg_[k - start] = xn;
      xm2.swap(xm1);
      xm1.swap(xn);
      qm2.swap(qm1);
      qm1.swap(qn);
      qdm1.swap(qdn);
    }
  } else {
    std::vector<double> x = seg_[0], f, q, x1;
    EvalFq(x.data(), Tau(start), &f, &q);
    for (int k = start + 1; k < end; ++k) {
      Status s = ExplicitStep(k, x, f, q, &x1, nullptr);
      if (!s.ok()) return s;
      x.swap(x1);
      EvalFq(x.data(), Tau(k), &f, &q);
      seg_[k - start] = x;
    }
  }
  seg_start_ = start;
  return Status::Ok();
}

const double* DiscreteAdjoint::State(int k) {
  if (const double* x = tape_->state(k)) return x;
  const int start = (k / tape_->keep_every()) * tape_->keep_every();
  if (seg_start_ != start && !RecomputeSegment(start).ok()) return nullptr;
  return seg_[k - start].data();
}

void DiscreteAdjoint::ObjectiveGradient(int k, const double* x, std::vector<double>* g) const {
  g->assign(n_, 0.0);
  for (int t = 0; t < obj_->num_terms(); ++t) {
    const double w = dvalues_[t][k];
    if (w != 0.0) obj_->TermValue(t, x, tape_->time(k), w, g->data());
  }
}

Status DiscreteAdjoint::PointAdjoint(const double* y, const solver::EvalRequest& request,
                                     const double* wf, const double* wq, const double* clamp,
                                     const double* xbar, const double* fbar, const double* qbar,
                                     ParamPartials& partials, double* grad,
                                     std::vector<double>* mu) {
  solver::EvalRequest req = request;
  req.matrices = true;
  SettledEvaluate(asm_, y, req);
  const std::vector<double> G = asm_.G(), C = asm_.C();
  mu->assign(n_, 0.0);
  double* m = mu->data();
  for (int i = 0; i < n_; ++i) m[i] = xbar != nullptr ? xbar[i] : 0.0;
  if (fbar != nullptr) TransposeMultiply(G, fbar, m);
  if (qbar != nullptr) TransposeMultiply(C, qbar, m);
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  for (int j = 0; j < n_; ++j) {
    for (int k = cp[j]; k < cp[j + 1]; ++k) {
      const int i = ri[k];
      jac_[k] = (clamp != nullptr && !std::isnan(clamp[i])) ? (i == j ? 1.0 : 0.0)
                                                            : wf[i] * G[k] + wq[i] * C[k];
    }
  }
  if (!SolveTransposed(req.dc, m)) {
    return Status::Error(fmt::format("adjoint at t = {} s: singular matrix", Sec(req.time)));
  }
  std::vector<double> wfo(n_), wqo(n_);
  for (int i = 0; i < n_; ++i) {
    const bool clamped = clamp != nullptr && !std::isnan(clamp[i]);
    wfo[i] = (fbar != nullptr ? fbar[i] : 0.0) - (clamped ? 0.0 : wf[i] * m[i]);
    wqo[i] = (qbar != nullptr ? qbar[i] : 0.0) - (clamped ? 0.0 : wq[i] * m[i]);
    if (!std::isfinite(m[i])) {
      return Status::Error(fmt::format("adjoint at t = {} s: the multiplier of {} is not finite",
                                       Sec(req.time), c_.DescribeUnknown(i)));
    }
  }
  partials.Vjp(y, req, wfo.data(), wqo.data(), grad);
  return Status::Ok();
}

Status DiscreteAdjoint::InitialAdjoint(const std::vector<double>& xbar, ParamPartials& partials,
                                       double* grad) {
  if (an_.uic) {
    partials.UicVjp(xbar.data(), grad);
    return Status::Ok();
  }
  std::vector<double> mu;
  Status s = PointAdjoint(x_op_.data(), Dc(), ones_.data(), zeros_.data(),
                          has_clamp_ ? clamp_.data() : nullptr, xbar.data(), nullptr, nullptr,
                          partials, grad, &mu);
  if (!s.ok()) return s;
  if (has_clamp_) partials.ClampVjp(mu.data(), grad);
  return Status::Ok();
}

Status DiscreteAdjoint::Reverse(ParamPartials& partials, std::vector<double>* grad_out) {
  grad_out->assign(partials.size(), 0.0);
  return explicit_ ? ExplicitReverse(partials, grad_out->data())
                   : ImplicitReverse(partials, grad_out->data());
}

Status DiscreteAdjoint::ImplicitReverse(ParamPartials& partials, double* grad) {
  const int N = tape_->size();
  std::vector<double> x, g, mu;
  // u_k: adjoint of the history vector b of step k; see docs/adjoint.md.
  std::vector<double> u1(n_, 0.0), u2(n_, 0.0), s(n_), qdbar(n_), ybar(n_), wq(n_);
  solver::LmsCoefficients c1, c2;  // steps n+1 and n+2
  for (int k = N - 1; k >= 0; --k) {
    const double* xp = State(k);
    if (xp == nullptr) return Status::Error(fmt::format("cannot recompute step {}", k));
    x.assign(xp, xp + n_);
    for (int i = 0; i < n_; ++i) {
      s[i] = (k + 1 < N ? c1.a1 * u1[i] : 0.0) + (k + 2 < N ? c2.a2 * u2[i] : 0.0);
      qdbar[i] = k + 1 < N ? c1.b1 * u1[i] : 0.0;
    }
    ObjectiveGradient(k, x.data(), &g);
    if (k == 0) {
      // x_0 enters the history through q(x_0) only (qdot_0 = 0 is a constant).
      SettledEvaluate(asm_, x.data(), Tran(0.0));
      std::vector<double> C = asm_.C();
      TransposeMultiply(C, s.data(), g.data());
      partials.Vjp(x.data(), Tran(0.0), nullptr, s.data(), grad);
      return InitialAdjoint(g, partials, grad);
    }
    const solver::LmsCoefficients co =
        solver::ComputeLms(tape_->method(k), tape_->h(k), k >= 2 ? tape_->h(k - 1) : 0.0, false);
    std::vector<double> qbar(n_);
    for (int i = 0; i < n_; ++i) {
      qbar[i] = s[i] + co.a0 * qdbar[i];
      wq[i] = co.a0;
    }
    Status st = PointAdjoint(x.data(), Tran(Tau(k)), ones_.data(), wq.data(), nullptr, g.data(),
                             nullptr, qbar.data(), partials, grad, &mu);
    if (!st.ok()) return st;
    u2.swap(u1);
    c2 = c1;
    for (int i = 0; i < n_; ++i) u1[i] = qdbar[i] - mu[i];
    c1 = co;
  }
  return Status::Ok();
}

Status DiscreteAdjoint::Rk4StepAdjoint(ParamPartials& partials, int k, const std::vector<double>& x,
                                       const std::vector<double>& Qbar_next,
                                       std::vector<double>* fbar, std::vector<double>* qbar,
                                       double* grad) {
  const double h = tape_->h(k + 1);
  std::vector<double> f0, q0, x1, mu;
  std::vector<std::vector<double>> st;
  EvalFq(x.data(), Tau(k), &f0, &q0);
  Status s = ExplicitStep(k + 1, x, f0, q0, &x1, &st);
  if (!s.ok()) return s;
  const double t = tape_->time(k);
  std::vector<double> k1b(n_), k2b(n_), k3b(n_), k4b(n_), fb(n_);
  for (int i = 0; i < n_; ++i) {
    k1b[i] = h / 6.0 * Qbar_next[i];
    k2b[i] = h / 3.0 * Qbar_next[i];
    k3b[i] = h / 3.0 * Qbar_next[i];
    k4b[i] = h / 6.0 * Qbar_next[i];
    (*qbar)[i] = Qbar_next[i];
  }
  const double times[3] = {t + 0.5 * h, t + 0.5 * h, t + h};
  std::vector<double>* kin[3] = {&k2b, &k3b, &k4b};   // k produced by stage s: k_{s+2}
  std::vector<double>* kout[3] = {&k1b, &k2b, &k3b};  // k feeding the stage's Q
  const double qw[3] = {0.5 * h, 0.5 * h, h};
  for (int sidx = 2; sidx >= 0; --sidx) {
    for (int i = 0; i < n_; ++i) fb[i] = -(*kin[sidx])[i];
    s = PointAdjoint(st[sidx].data(), Tran(times[sidx]), wf_stage_.data(), wq_stage_.data(),
                     nullptr, nullptr, fb.data(), nullptr, partials, grad, &mu);
    if (!s.ok()) return s;
    for (int i = 0; i < n_; ++i) {
      const double Qb = diff_[i] ? mu[i] : 0.0;
      (*qbar)[i] += Qb;
      (*kout[sidx])[i] += qw[sidx] * Qb;
    }
  }
  for (int i = 0; i < n_; ++i) (*fbar)[i] = -k1b[i];
  return Status::Ok();
}

Status DiscreteAdjoint::ExplicitReverse(ParamPartials& partials, double* grad) {
  const int N = tape_->size();
  std::vector<double> x, g, mu;
  // Qbar is the adjoint of the charge target of the stage that produced x_k.
  std::vector<double> Qbar_next(n_, 0.0), fbar(n_), qbar(n_);
  for (int k = N - 1; k >= 0; --k) {
    const double* xp = State(k);
    if (xp == nullptr) return Status::Error(fmt::format("cannot recompute step {}", k));
    x.assign(xp, xp + n_);
    std::fill(fbar.begin(), fbar.end(), 0.0);
    std::fill(qbar.begin(), qbar.end(), 0.0);
    if (k + 1 < N && method_ == Method::kForwardEuler) {
      const double h = tape_->h(k + 1);
      for (int i = 0; i < n_; ++i) {
        fbar[i] = -h * Qbar_next[i];
        qbar[i] = Qbar_next[i];
      }
    } else if (k + 1 < N) {
      // Reverse the three inner stages of step k+1 (recomputed from x_k).
      Status s = Rk4StepAdjoint(partials, k, x, Qbar_next, &fbar, &qbar, grad);
      if (!s.ok()) return s;
    }
    ObjectiveGradient(k, x.data(), &g);
    Status s = PointAdjoint(x.data(), Tran(Tau(k)), wf_stage_.data(), wq_stage_.data(), nullptr,
                            g.data(), fbar.data(), qbar.data(), partials, grad, &mu);
    if (!s.ok()) return s;
    for (int i = 0; i < n_; ++i) Qbar_next[i] = diff_[i] ? mu[i] : 0.0;
  }
  // x_0 = stage(q(x_op)): the operating point enters through Q = q(x_op).
  SettledEvaluate(asm_, x_op_.data(), Tran(0.0));
  std::vector<double> C = asm_.C(), xbar(n_, 0.0);
  TransposeMultiply(C, Qbar_next.data(), xbar.data());
  partials.Vjp(x_op_.data(), Tran(0.0), nullptr, Qbar_next.data(), grad);
  return InitialAdjoint(xbar, partials, grad);
}

Status DiscreteAdjoint::TangentSolve(const double* y, const solver::EvalRequest& req,
                                     const double* wf, const double* wq, const double* clamp,
                                     std::vector<double>* v, TangentScratch* t) {
  solver::EvalRequest r = req;
  r.matrices = true;
  SettledEvaluate(asm_, y, r);
  t->G = asm_.G();
  t->C = asm_.C();
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  for (int jj = 0; jj < n_; ++jj) {
    for (int k = cp[jj]; k < cp[jj + 1]; ++k) {
      const int i = ri[k];
      jac_[k] = (clamp != nullptr && !std::isnan(clamp[i])) ? (i == jj ? 1.0 : 0.0)
                                                            : wf[i] * t->G[k] + wq[i] * t->C[k];
    }
  }
  if (!FactorJacobian(req.dc)) return Status::Error("tangent: singular matrix");
  klu_.Solve(v->data());
  return Status::Ok();
}

Status DiscreteAdjoint::TangentTrajectory(ParamPartials& partials, int j,
                                          const TangentVisitor& visit) {
  TangentScratch t;
  t.df.resize(n_);
  t.dq.resize(n_);
  // Initial point.
  std::vector<double> xdot_op(n_, 0.0);
  if (an_.uic) {
    xdot_op = partials.uic_derivative(j);
  } else {
    partials.Jvp(j, x_op_.data(), Dc(), t.df.data(), t.dq.data());
    const auto& dc = partials.clamp_derivative(j);
    for (int i = 0; i < n_; ++i) {
      xdot_op[i] = (has_clamp_ && !std::isnan(clamp_[i])) ? dc[i] : -t.df[i];
    }
    Status s = TangentSolve(x_op_.data(), Dc(), ones_.data(), zeros_.data(),
                            has_clamp_ ? clamp_.data() : nullptr, &xdot_op, &t);
    if (!s.ok()) return s;
  }
  return explicit_ ? ExplicitTangent(partials, j, xdot_op, visit, &t)
                   : ImplicitTangent(partials, j, xdot_op, visit, &t);
}

Status DiscreteAdjoint::ImplicitTangent(ParamPartials& partials, int j,
                                        const std::vector<double>& xdot_op,
                                        const TangentVisitor& visit, TangentScratch* t) {
  const int N = tape_->size();
  std::vector<double> x(n_), xdot = xdot_op, qdot_m1(n_), qdot_m2(n_), qddot(n_, 0.0), b(n_),
                             wq(n_), qd(n_);
  // qdot_k := d q(x_k)/dp.
  SettledEvaluate(asm_, x_op_.data(), Tran(0.0));
  t->C = asm_.C();
  partials.Jvp(j, x_op_.data(), Tran(0.0), t->df.data(), qdot_m1.data());
  Multiply(t->C, xdot.data(), qdot_m1.data());
  qdot_m2 = qdot_m1;
  visit(0, x_op_.data(), xdot);
  for (int k = 1; k < N; ++k) {
    const double* xp = State(k);
    if (xp == nullptr) return Status::Error(fmt::format("cannot recompute step {}", k));
    x.assign(xp, xp + n_);
    const solver::LmsCoefficients co =
        solver::ComputeLms(tape_->method(k), tape_->h(k), k >= 2 ? tape_->h(k - 1) : 0.0, false);
    co.History(n_, qdot_m1.data(), qdot_m2.data(), qddot.data(), b.data());
    std::fill(wq.begin(), wq.end(), co.a0);
    partials.Jvp(j, x.data(), Tran(Tau(k)), t->df.data(), t->dq.data());
    for (int i = 0; i < n_; ++i) xdot[i] = -(t->df[i] + co.a0 * t->dq[i] + b[i]);
    Status s = TangentSolve(x.data(), Tran(Tau(k)), ones_.data(), wq.data(), nullptr, &xdot, t);
    if (!s.ok()) return s;
    qd = t->dq;
    Multiply(t->C, xdot.data(), qd.data());
    for (int i = 0; i < n_; ++i) qddot[i] = co.a0 * qd[i] + b[i];
    qdot_m2.swap(qdot_m1);
    qdot_m1 = qd;
    visit(k, x.data(), xdot);
  }
  return Status::Ok();
}

Status DiscreteAdjoint::StageTangent(ParamPartials& partials, int j, const double* y, double time,
                                     const std::vector<double>& Qdot, std::vector<double>* ydot,
                                     std::vector<double>* fdot, std::vector<double>* qdot,
                                     TangentScratch* t) {
  partials.Jvp(j, y, Tran(time), t->df.data(), t->dq.data());
  ydot->assign(n_, 0.0);
  for (int i = 0; i < n_; ++i) (*ydot)[i] = diff_[i] ? Qdot[i] - t->dq[i] : -t->df[i];
  Status s = TangentSolve(y, Tran(time), wf_stage_.data(), wq_stage_.data(), nullptr, ydot, t);
  if (!s.ok()) return s;
  *fdot = t->df;
  *qdot = t->dq;
  Multiply(t->G, ydot->data(), fdot->data());
  Multiply(t->C, ydot->data(), qdot->data());
  return Status::Ok();
}

Status DiscreteAdjoint::Rk4TangentCharge(ParamPartials& partials, int j, int k,
                                         const std::vector<double>& x,
                                         const std::vector<double>& fdot,
                                         const std::vector<double>& qdot, std::vector<double>* Qdot,
                                         TangentScratch* t) {
  const double h = tape_->h(k);
  std::vector<double> f0, q0, x1;
  std::vector<std::vector<double>> st;
  EvalFq(x.data(), Tau(k - 1), &f0, &q0);
  Status s = ExplicitStep(k, x, f0, q0, &x1, &st);
  if (!s.ok()) return s;
  const double time = tape_->time(k - 1);
  std::vector<double> k1 = fdot, ydot, yf, yq, k2, k3, k4;
  for (double& v : k1) v = -v;
  for (int i = 0; i < n_; ++i) (*Qdot)[i] = qdot[i] + 0.5 * h * k1[i];
  s = StageTangent(partials, j, st[0].data(), time + 0.5 * h, *Qdot, &ydot, &yf, &yq, t);
  if (!s.ok()) return s;
  k2 = yf;
  for (double& v : k2) v = -v;
  for (int i = 0; i < n_; ++i) (*Qdot)[i] = qdot[i] + 0.5 * h * k2[i];
  s = StageTangent(partials, j, st[1].data(), time + 0.5 * h, *Qdot, &ydot, &yf, &yq, t);
  if (!s.ok()) return s;
  k3 = yf;
  for (double& v : k3) v = -v;
  for (int i = 0; i < n_; ++i) (*Qdot)[i] = qdot[i] + h * k3[i];
  s = StageTangent(partials, j, st[2].data(), time + h, *Qdot, &ydot, &yf, &yq, t);
  if (!s.ok()) return s;
  k4 = yf;
  for (double& v : k4) v = -v;
  for (int i = 0; i < n_; ++i) {
    (*Qdot)[i] = qdot[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
  }
  return Status::Ok();
}

Status DiscreteAdjoint::ExplicitTangent(ParamPartials& partials, int j,
                                        const std::vector<double>& xdot_op,
                                        const TangentVisitor& visit, TangentScratch* t) {
  const int N = tape_->size();
  std::vector<double> Qdot(n_), xdot, fdot, qdot;
  SettledEvaluate(asm_, x_op_.data(), Tran(0.0));
  t->C = asm_.C();
  partials.Jvp(j, x_op_.data(), Tran(0.0), t->df.data(), Qdot.data());
  Multiply(t->C, xdot_op.data(), Qdot.data());
  std::vector<double> x(State(0), State(0) + n_);
  Status s = StageTangent(partials, j, x.data(), 0.0, Qdot, &xdot, &fdot, &qdot, t);
  if (!s.ok()) return s;
  visit(0, x.data(), xdot);
  for (int k = 1; k < N; ++k) {
    if (method_ == Method::kForwardEuler) {
      const double h = tape_->h(k);
      for (int i = 0; i < n_; ++i) Qdot[i] = qdot[i] - h * fdot[i];
    } else {
      s = Rk4TangentCharge(partials, j, k, x, fdot, qdot, &Qdot, t);
      if (!s.ok()) return s;
    }
    const double* xp = State(k);
    if (xp == nullptr) return Status::Error(fmt::format("cannot recompute step {}", k));
    x.assign(xp, xp + n_);
    s = StageTangent(partials, j, x.data(), Tau(k), Qdot, &xdot, &fdot, &qdot, t);
    if (!s.ok()) return s;
    visit(k, x.data(), xdot);
  }
  return Status::Ok();
}

Status DiscreteAdjoint::Tangent(ParamPartials& partials, int j, double* dj) {
  *dj = 0.0;
  std::vector<double> g;
  return TangentTrajectory(partials, j,
                           [&](int k, const double* x, const std::vector<double>& xdot) {
                             ObjectiveGradient(k, x, &g);
                             for (int i = 0; i < n_; ++i) *dj += g[i] * xdot[i];
                           });
}

}  // namespace memspice::autodiff

namespace memspice::autodiff {

std::string DiscreteAdjoint::Stats() const {
  return fmt::format(
      "adjoint: {} steps, forward {} factorizations (replay {}), reverse {} factorizations, {} "
      "transposed solves, {} evaluations",
      tape_->size() - 1, fwd_klu_.num_factors(), klu_.num_factors(), rev_klu_.num_factors(),
      rev_klu_.num_tsolves(), asm_.num_evaluations());
}

solver::StepObserver* DiscreteAdjoint::exact_recorder() {
  exact_ = true;
  if (recorder_ == nullptr) recorder_ = std::make_unique<ExactRecorder>(this);
  return recorder_.get();
}

Status DiscreteAdjoint::ExactStart(std::vector<double>* x, double* q) {
  Status s = IcClamp(c_, nl_, &clamp_);
  if (!s.ok()) return s;
  has_clamp_ = false;
  for (double v : clamp_) has_clamp_ |= !std::isnan(v);
  s = an_.uic ? UicStart(c_, nl_, x)
              : Solve(x, Dc(), ones_.data(), zeros_.data(), nullptr,
                      has_clamp_ ? clamp_.data() : nullptr, "DC operating point");
  if (!s.ok()) return s;
  x_op_ = *x;
  EvalFq(x->data(), 0.0, nullptr, &exact_q_);
  std::copy(exact_q_.begin(), exact_q_.end(), q);
  exact_qdot_.assign(n_, 0.0);
  exact_values_.assign(obj_->num_terms(), std::vector<double>());
  anchor_ = nullptr;
  return Status::Ok();
}

Status DiscreteAdjoint::MakeAnchor(const double* x, double time, double a0) {
  solver::EvalRequest req = Tran(time);
  req.matrices = true;
  SettledEvaluate(asm_, x, req);
  const double* G = asm_.G().data();
  const double* C = asm_.C().data();
  for (size_t k = 0; k < jac_.size(); ++k) jac_[k] = G[k] + a0 * C[k];
  anchor_ = nullptr;
  if (!fwd_klu_.FactorOnPivots(jac_.data())) {
    return Status::Error(fmt::format("step to t = {} s: singular matrix", Sec(time)));
  }
  auto a = std::make_shared<Tape::Anchor>();
  a->time = time;
  a->a0 = a0;
  // Only a checkpointed tape restarts from anchors.
  if (tape_->keep_every() > 1) a->x.assign(x, x + n_);
  anchor_ = std::move(a);
  return Status::Ok();
}

Status DiscreteAdjoint::LoadAnchor(const std::shared_ptr<const Tape::Anchor>& anchor) {
  if (anchor == nullptr) {
    anchor_ = nullptr;
    return Status::Ok();
  }
  Status s = MakeAnchor(anchor->x.data(), anchor->time, anchor->a0);
  if (s.ok()) anchor_ = anchor;
  return s;
}

Status DiscreteAdjoint::ExactSolve(double* x, double time, double a0, const double* b,
                                   int* worst_unknown) {
  attempt_anchor_ = anchor_;
  const bool linear = c_.all_linear();
  const solver::EvalRequest req = Tran(time);
  // A linear circuit's Jacobian is exact for its own a0: one solve, the next update confirms.
  if (linear && anchor_ != nullptr && anchor_->a0 != a0) anchor_ = nullptr;
  bool fresh = anchor_ == nullptr;  // the factorization is of J at the current iterate
  Status s = fresh ? MakeAnchor(x, time, a0) : Status::Ok();
  if (!s.ok()) return s;
  if (!fresh) SettledEvaluate(asm_, x, req);
  bool evaluated = true;
  exact_r_.resize(n_);
  double* r = exact_r_.data();
  const auto& unknowns = c_.unknowns();
  double last = std::numeric_limits<double>::infinity();
  bool was_fast = false;  // the last update shrank the one before by kChordRate or more
  bool noise = false;     // the updates have reached the round-off floor (kChordNoise)
  constexpr int kMaxIterations = 60;
  for (int iter = 0; iter < kMaxIterations; ++iter) {
    if (!evaluated) asm_.Evaluate(x, req);
    const double* f = asm_.f();
    const double* q = asm_.q();
    for (int i = 0; i < n_; ++i) {
      r[i] = f[i] + a0 * q[i] + b[i];
      if (!std::isfinite(r[i])) {
        *worst_unknown = i;
        return Status::Error(fmt::format("step to t = {} s: residual of {} is not finite",
                                         Sec(time), c_.DescribeUnknown(i)));
      }
    }
    fwd_klu_.Solve(r);
    double worst = 0.0;
    for (int i = 0; i < n_; ++i) {
      const double e = std::abs(r[i]) / (std::abs(x[i] - r[i]) + UpdateFloor(unknowns[i].kind));
      if (e > worst) {
        worst = e;
        *worst_unknown = i;
      }
    }
    // A linear circuit is solved by the first update on its own factorization: x is kept where
    // f and q were evaluated.
    if (linear && iter >= 1) {
      exact_q_.assign(q, q + n_);
      return Status::Ok();
    }
    for (int i = 0; i < n_; ++i) x[i] -= r[i];
    // Converged to round-off (the chord's remaining error is a fraction of this last update),
    // or stagnating at it (a Newton update, or a chord update at the round-off floor of a badly
    // scaled row): q at the final x.
    noise = noise || (!fresh && worst <= kChordNoise && was_fast);
    const bool stagnating = worst >= 0.5 * last && (fresh ? worst <= kStagnation : noise);
    if (worst <= kRoundOff || stagnating) {
      asm_.Evaluate(x, req);
      exact_q_.assign(asm_.q(), asm_.q() + n_);
      return Status::Ok();
    }
    evaluated = false;
    was_fast = worst <= kChordRate * last;
    if (!fresh && !was_fast && !noise) {
      s = MakeAnchor(x, time, a0);  // also evaluates at x
      if (!s.ok()) return s;
      evaluated = fresh = true;
    } else {
      fresh = false;
    }
    last = worst;
  }
  return Status::Error(
      fmt::format("step to t = {} s: Newton did not converge to round-off (last "
                  "relative update {:.3g})",
                  Sec(time), last));
}

void DiscreteAdjoint::ExactAccept(const solver::StepInfo& info) {
  const int k = tape_->size();
  tape_->AppendStep(info.time, info.h, info.method, info.restart);
  tape_->SetState(k, info.x, k == 0 ? info.x : exact_prev_.data(),
                  k == 0 ? zeros_.data() : exact_qdot_.data());
  // A checkpoint segment's replay starts with the anchor of its first step, and takes over any
  // anchor a rejected attempt left (it replays accepted steps only).
  if (k >= 1 && tape_->keep_every() > 1 &&
      (tape_->IsCheckpoint(k - 1) || attempt_anchor_ != exact_prev_anchor_)) {
    tape_->SetAnchor(k, attempt_anchor_);
  }
  exact_prev_anchor_ = anchor_;
  for (int t = 0; t < obj_->num_terms(); ++t) {
    exact_values_[t].push_back(obj_->TermValue(t, info.x, info.time));
  }
  exact_prev_.assign(info.x, info.x + n_);
}

Status DiscreteAdjoint::Finish(double* objective) {
  if (tape_->size() < 2) return Status::Error("the transient run has no steps to differentiate");
  seg_start_ = -1;
  return obj_->Combine(tape_->times(), exact_values_, objective, &dvalues_);
}

bool DiscreteAdjoint::SolveTransposed(bool dc, double* m) {
  if (dc) {
    rev_valid_ = false;
    if (!rev_klu_.Factor(jac_.data())) return false;
    rev_klu_.TSolve(m);
    return true;
  }
  if (rev_valid_) {
    // Iterative refinement on the kept factorization F ~ J: m <- m + F^-T (rhs - J^T m).
    rev_rhs_.assign(m, m + n_);
    rev_klu_.TSolve(m);
    double last = std::numeric_limits<double>::infinity();
    for (int it = 0; it < kMaxRefinements; ++it) {
      rev_res_.assign(n_, 0.0);
      TransposeMultiply(jac_, m, rev_res_.data());
      for (int i = 0; i < n_; ++i) rev_res_[i] = rev_rhs_[i] - rev_res_[i];
      rev_klu_.TSolve(rev_res_.data());
      double dn = 0.0, mn = 0.0;
      for (int i = 0; i < n_; ++i) {
        m[i] += rev_res_[i];
        dn = std::max(dn, std::abs(rev_res_[i]));
        mn = std::max(mn, std::abs(m[i]));
      }
      if (!std::isfinite(dn)) break;
      if (dn <= kRoundOff * mn || (dn >= 0.5 * last && dn <= kRefineStagnation * mn)) return true;
      if (dn > kChordRate * (it == 0 ? mn : last)) break;
      last = dn;
    }
    std::copy(rev_rhs_.begin(), rev_rhs_.end(), m);
  }
  rev_valid_ = false;
  if (!rev_klu_.FactorOnPivots(jac_.data())) return false;
  rev_valid_ = true;
  rev_klu_.TSolve(m);
  return true;
}

}  // namespace memspice::autodiff
