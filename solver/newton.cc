#include "solver/newton.h"

#include <algorithm>
#include <cmath>

namespace memspice::solver {

NewtonSolver::NewtonSolver(Assembler& assembler, KluSolver& klu)
    : asm_(assembler), klu_(klu), n_(assembler.circuit().size()) {
  j_.assign(assembler.circuit().nnz(), 0.0);
  r_.assign(n_, 0.0);
  scale_.assign(n_, 0.0);
  dx_.assign(n_, 0.0);
  x_old_.assign(n_, 0.0);
}

void NewtonSolver::AssembleJacobian(const NewtonSystem& s, const double* x) {
  const Circuit& c = asm_.circuit();
  const auto& cp = c.col_ptr();
  const auto& ri = c.row_idx();
  const auto& g = asm_.G();
  const auto& cc = asm_.C();
  for (int j = 0; j < n_; ++j) {
    const double xj = std::abs(x[j]);
    for (int k = cp[j]; k < cp[j + 1]; ++k) {
      const int i = ri[k];
      if (s.clamp != nullptr && !std::isnan(s.clamp[i])) {
        j_[k] = (i == j) ? 1.0 : 0.0;
      } else {
        j_[k] = s.wf[i] * g[k] + s.wq[i] * cc[k];
      }
      scale_[i] = std::max(scale_[i], std::abs(j_[k]) * xj);
    }
  }
}

void NewtonSolver::ScaleFromJacobian(const double* x) {
  const Circuit& c = asm_.circuit();
  const auto& cp = c.col_ptr();
  const auto& ri = c.row_idx();
  for (int j = 0; j < n_; ++j) {
    const double xj = std::abs(x[j]);
    for (int k = cp[j]; k < cp[j + 1]; ++k) {
      scale_[ri[k]] = std::max(scale_[ri[k]], std::abs(j_[k]) * xj);
    }
  }
}

bool NewtonSolver::Factor(const NewtonSystem& s, NewtonOutcome* out) {
  if (!klu_.Factor(j_.data(), s.matrix_key)) {
    out->singular = true;
    out->worst = klu_.singular_col();
    factor_valid_ = false;
    return false;
  }
  factor_valid_ = true;
  return true;
}

bool NewtonSolver::Residual(const double* x, const NewtonSystem& s, NewtonOutcome* out) {
  const double* f = asm_.f();
  const double* q = asm_.q();
  for (int i = 0; i < n_; ++i) {
    if (s.clamp != nullptr && !std::isnan(s.clamp[i])) {
      r_[i] = x[i] - s.clamp[i];
      scale_[i] = std::max(std::abs(x[i]), std::abs(s.clamp[i]));
      continue;
    }
    const double tf = s.wf[i] * f[i], tq = s.wq[i] * q[i], tb = s.b ? s.b[i] : 0.0;
    r_[i] = tf + tq + tb;
    scale_[i] = std::max({std::abs(tf), std::abs(tq), std::abs(tb)});
    if (!std::isfinite(r_[i])) {  // a device produced inf/NaN: report, never solve with it
      out->worst = i;
      factor_valid_ = false;
      return false;
    }
  }
  return true;
}

bool NewtonSolver::ResidualConverged(const NewtonSystem& s, const NewtonOptions& o,
                                     NewtonOutcome* out) {
  const auto& unknowns = asm_.circuit().unknowns();
  double worst_ratio = -1.0;
  bool residual_ok = true;
  for (int i = 0; i < n_; ++i) {
    double atol;
    if (s.clamp != nullptr && !std::isnan(s.clamp[i])) {
      atol = o.vntol;
    } else if (s.wf[i] == 0.0) {
      atol = o.q_atol;
    } else {
      atol = unknowns[i].kind == devices::UnknownKind::kBranch ? o.vntol : o.abstol;
    }
    const double tol = o.reltol * scale_[i] + atol;
    const double ratio = std::abs(r_[i]) / tol;
    if (!(ratio <= 1.0)) residual_ok = false;
    if (ratio > worst_ratio || std::isnan(ratio)) {
      worst_ratio = std::isnan(ratio) ? INFINITY : ratio;
      out->worst = i;
    }
  }
  return residual_ok;
}

bool NewtonSolver::Update(double* x, const NewtonOptions& o, double fraction, bool* dx_converged,
                          double* dx_norm, NewtonOutcome* out) {
  const auto& unknowns = asm_.circuit().unknowns();
  for (int i = 0; i < n_; ++i) dx_[i] = -r_[i];
  klu_.Solve(dx_.data());
  double max_node_dx = 0.0;
  for (int i = 0; i < n_; ++i) {
    if (!std::isfinite(dx_[i])) {
      out->worst = i;
      out->singular = true;
      factor_valid_ = false;
      return false;
    }
    if (unknowns[i].kind == devices::UnknownKind::kNode) {
      max_node_dx = std::max(max_node_dx, std::abs(dx_[i]));
    }
  }
  if (o.max_node_step > 0.0 && max_node_dx > o.max_node_step) {
    const double s_damp = o.max_node_step / max_node_dx;
    for (int i = 0; i < n_; ++i) dx_[i] *= s_damp;
  }
  *dx_converged = true;
  *dx_norm = 0.0;
  for (int i = 0; i < n_; ++i) {
    const double xn = x[i] + dx_[i];
    const double atol = unknowns[i].kind == devices::UnknownKind::kNode ? o.vntol : o.abstol;
    const double tol = o.reltol * std::max(std::abs(xn), std::abs(x[i])) + atol;
    if (std::abs(dx_[i]) > fraction * tol) *dx_converged = false;
    *dx_norm = std::max(*dx_norm, std::abs(dx_[i]) / tol);
    x[i] = xn;
  }
  return true;
}

NewtonOutcome NewtonSolver::Solve(double* x, const EvalRequest& request, const NewtonSystem& s,
                                  const NewtonOptions& o) {
  NewtonOutcome out;
  const Circuit& c = asm_.circuit();
  if (request.dc != last_dc_ || request.all_node_gmin != last_all_gmin_ ||
      request.dc_node_gmin != last_dc_gmin_) {
    Invalidate();
  }
  if (s.matrix_changed) {
    factor_valid_ = false;
    // A linear circuit may return to a matrix it has factored before (same step size).
    if (o.linear && matrices_current_ && klu_.Select(s.matrix_key)) factor_valid_ = true;
  }
  last_dc_ = request.dc;
  last_all_gmin_ = request.all_node_gmin;
  last_dc_gmin_ = request.dc_node_gmin;

  EvalRequest req = request;
  bool dx_converged = false;
  double last_dx_norm = -1.0;  // largest |dx_i| / tol_i of the previous update
  int chord_iterations = 0;
  // The iteration limit counts iterations with a fresh Jacobian; chord iterations come on top
  // (at most kChordMaxIterations per fresh one).
  for (int iter = 0, fresh = 0;; ++iter) {
    const bool reuse = (o.linear || o.chord) && factor_valid_;
    if (!reuse && fresh++ == o.max_iter) break;
    out.iterations = iter + 1;
    req.matrices = !reuse;
    req.init_junctions = request.init_junctions && iter == 0;
    // Bypass never on the first iterate (the predictor's; SPICE's MODEINITPRED).
    req.bypass = iter > 0 ? request.bypass : nullptr;
    asm_.Evaluate(x, req);
    if (req.matrices) matrices_current_ = true;
    if (!Residual(x, s, &out)) return out;
    // Residual scale from the size of the individual Jacobian terms (those of the factored
    // Jacobian when a chord iteration reuses it).
    if (!reuse) {
      AssembleJacobian(s, x);
    } else if (o.chord) {
      ScaleFromJacobian(x);
    }
    // Convergence: the last update was small and the residual is small.
    const bool residual_ok = ResidualConverged(s, o, &out);
    if (iter > 0 && dx_converged && residual_ok && asm_.num_limited() == 0) {
      out.converged = true;
      return out;
    }
    // Factor only now: a converged iterate needs no factorization.
    if (!reuse) {
      if (!Factor(s, &out)) return out;
      ++out.factorizations;
    }
    const double fraction = o.chord && reuse ? kChordErrorFraction : 1.0;
    double dx_norm = 0.0;
    if (!Update(x, o, fraction, &dx_converged, &dx_norm, &out)) return out;
    if (o.accept_update && iter > 0 && dx_converged && asm_.num_limited() == 0) {
      CscMultiplyAdd(c, asm_.G().data(), dx_.data(), asm_.mutable_f());
      CscMultiplyAdd(c, asm_.C().data(), dx_.data(), asm_.mutable_q());
      out.converged = true;
      return out;
    }
    if (o.chord) {
      // Refresh the Jacobian when the reused one stops contracting fast.
      if (reuse) ++chord_iterations;
      // (Updates at round-off level, below the chord's own target, say nothing about the rate.)
      const bool slow = reuse && last_dx_norm > 0.0 && dx_norm > kChordErrorFraction &&
                        dx_norm > kChordMaxRate * last_dx_norm;
      if (slow || chord_iterations >= kChordMaxIterations) {
        factor_valid_ = false;
        chord_iterations = 0;
      }
      last_dx_norm = dx_norm;
    }
    if (o.linear) {
      // Exact for linear f and q: update them instead of evaluating the devices again.
      CscMultiplyAdd(c, asm_.G().data(), dx_.data(), asm_.mutable_f());
      CscMultiplyAdd(c, asm_.C().data(), dx_.data(), asm_.mutable_q());
      out.converged = true;
      return out;
    }
  }
  return out;
}

}  // namespace memspice::solver
