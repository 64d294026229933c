#include "solver/linear_step.h"

#include <algorithm>
#include <cmath>

namespace memspice::solver {

namespace {

// Sources alone and all devices may sum a row's terms in another order.
constexpr double kSourceTermRelTol = 1e-12;

}  // namespace

LinearStep::LinearStep(Assembler& assembler, KluSolver& klu, const EvalRequest& request)
    : asm_(assembler), klu_(klu), req_(request), n_(assembler.circuit().size()) {
  const Circuit& c = asm_.circuit();
  req_.matrices = true;
  std::vector<double> zero(n_, 0.0);
  asm_.Evaluate(zero.data(), req_);
  g_ = asm_.G();
  c_ = asm_.C();
  j_.assign(c.nnz(), 0.0);
  std::vector<double> f_all(asm_.f(), asm_.f() + n_);
  valid_ = std::all_of(asm_.q(), asm_.q() + n_, [](double v) { return v == 0.0; });
  asm_.EvaluateSources(req_);
  for (int i = 0; i < n_ && valid_; ++i) {
    const double a = f_all[i], s = asm_.f()[i];
    valid_ = std::abs(a - s) <= kSourceTermRelTol * std::max(std::abs(a), std::abs(s));
  }
  std::vector<char> charge(n_, 0);
  for (int j = 0; j < n_; ++j) {
    for (int k = c.col_ptr()[j]; k < c.col_ptr()[j + 1]; ++k) {
      if (c_[k] == 0.0) continue;
      c_row_.push_back(c.row_idx()[k]);
      c_col_.push_back(j);
      c_val_.push_back(c_[k]);
      charge[c.row_idx()[k]] = 1;
    }
  }
  for (int i = 0; i < n_; ++i) {
    if (charge[i]) charge_rows_.push_back(i);
  }
}

bool LinearStep::Solve(double a0, double time, const double* b, double* x, double* q) {
  if (!klu_.Select(a0)) {
    for (size_t k = 0; k < j_.size(); ++k) j_[k] = g_[k] + a0 * c_[k];
    if (!klu_.Factor(j_.data(), a0)) return false;
  }
  req_.time = time;
  asm_.EvaluateSources(req_);
  const double* s = asm_.f();
  for (int i = 0; i < n_; ++i) x[i] = -(s[i] + b[i]);
  klu_.Solve(x);
  std::fill(q, q + n_, 0.0);
  for (size_t k = 0; k < c_val_.size(); ++k) q[c_row_[k]] += c_val_[k] * x[c_col_[k]];
  return true;
}

}  // namespace memspice::solver
