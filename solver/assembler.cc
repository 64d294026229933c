#include "solver/assembler.h"

#include <algorithm>

namespace memspice::solver {

Assembler::Assembler(Circuit& circuit) : circuit_(circuit), n_(circuit.size()) {
  x_.assign(n_ + 1, 0.0);
  f_.assign(n_ + 1, 0.0);
  q_.assign(n_ + 1, 0.0);
  const size_t handles = circuit.entry_positions().size();
  g_handles_.assign(handles + 1, 0.0);
  c_handles_.assign(handles + 1, 0.0);
  g_csc_.assign(circuit.nnz(), 0.0);
  c_csc_.assign(circuit.nnz(), 0.0);
  for (auto& d : circuit.devices()) {
    if (d->IsSource()) sources_.push_back(d.get());
  }
  zero_x_.assign(n_ + 1, 0.0);
  scratch_q_.assign(n_ + 1, 0.0);
}

devices::EvalContext Assembler::Context(const EvalRequest& r, const double* x, double* q) {
  devices::EvalContext ctx;
  ctx.x = x;
  ctx.time = r.time;
  ctx.dc = r.dc;
  ctx.gmin = r.gmin;
  ctx.source_scale = r.source_scale;
  ctx.bypass = r.bypass;
  ctx.f = f_.data() + 1;
  ctx.q = q;
  ctx.G = g_handles_.data() + 1;
  ctx.C = c_handles_.data() + 1;
  return ctx;
}

void Assembler::EvaluateSources(const EvalRequest& r) {
  ++num_evaluations_;
  std::fill(f_.begin(), f_.end(), 0.0);
  // The handle arrays only collect the sources' constant entries here; Evaluate() zeroes them.
  devices::EvalContext ctx = Context(r, zero_x_.data() + 1, scratch_q_.data() + 1);
  for (devices::Device* d : sources_) d->Evaluate(ctx);
}

void Assembler::Evaluate(const double* x, const EvalRequest& r) {
  ++num_evaluations_;
  std::copy(x, x + n_, x_.begin() + 1);
  x_[0] = 0.0;
  std::fill(f_.begin(), f_.end(), 0.0);
  std::fill(q_.begin(), q_.end(), 0.0);
  // Without matrices the handles only collect unused terms: zeroed when next needed.
  if (r.matrices) {
    std::fill(g_handles_.begin(), g_handles_.end(), 0.0);
    std::fill(c_handles_.begin(), c_handles_.end(), 0.0);
  }
  devices::EvalContext ctx = Context(r, x_.data() + 1, q_.data() + 1);
  ctx.init_junctions = r.init_junctions;
  for (auto& d : circuit_.devices()) d->Evaluate(ctx);
  num_limited_ = ctx.limited;
  // Scratch slots may have been written; x[-1] must stay 0 for the next device anyway.
  double* f = f_.data() + 1;
  const auto& diag = circuit_.diag_positions();
  if (r.matrices) {
    std::fill(g_csc_.begin(), g_csc_.end(), 0.0);
    std::fill(c_csc_.begin(), c_csc_.end(), 0.0);
    const auto& pos = circuit_.entry_positions();
    const double* gh = g_handles_.data() + 1;
    const double* ch = c_handles_.data() + 1;
    for (size_t h = 0; h < pos.size(); ++h) {
      g_csc_[pos[h]] += gh[h];
      c_csc_[pos[h]] += ch[h];
    }
  }
  if (r.dc && r.dc_node_gmin > 0.0) {
    for (int i : circuit_.dc_gmin_nodes()) {
      f[i] += r.dc_node_gmin * x[i];
      if (r.matrices) g_csc_[diag[i]] += r.dc_node_gmin;
    }
  }
  if (r.all_node_gmin > 0.0) {
    const auto& u = circuit_.unknowns();
    for (int i = 0; i < n_; ++i) {
      if (u[i].kind != devices::UnknownKind::kNode) continue;
      f[i] += r.all_node_gmin * x[i];
      if (r.matrices) g_csc_[diag[i]] += r.all_node_gmin;
    }
  }
}

void CscMultiplyAdd(const Circuit& circuit, const double* a, const double* x, double* y) {
  const auto& cp = circuit.col_ptr();
  const auto& ri = circuit.row_idx();
  const int n = circuit.size();
  for (int j = 0; j < n; ++j) {
    const double xj = x[j];
    if (xj == 0.0) continue;
    for (int k = cp[j]; k < cp[j + 1]; ++k) y[ri[k]] += a[k] * xj;
  }
}

}  // namespace memspice::solver
