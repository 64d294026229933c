// Gradients of a transient objective with respect to circuit parameters: the entry point for the
// CLI (`memspice grad`) and for training code.
//
// ComputeGradient runs the deck's .tran with a tape recorder, replays the discrete scheme on the
// recorded grid (autodiff/adjoint.h), evaluates the objective and runs the discrete adjoint.
// Optionally it checks the result against central finite differences of the whole simulation
// (each a full forward run) and against forward sensitivities.
#ifndef MEMSPICE_AUTODIFF_GRADIENT_H_
#define MEMSPICE_AUTODIFF_GRADIENT_H_

#include <optional>
#include <string>
#include <vector>

#include "autodiff/params.h"
#include "base/status.h"
#include "netlist/netlist.h"
#include "solver/simulator.h"

namespace memspice::autodiff {

struct GradRequest {
  std::string objective;           // see autodiff/objective.h
  std::vector<std::string> wrt;    // names or globs, see autodiff/params.h
  Reparser reparse;                // re-parses the deck with .param overrides; needed for .param
  int checkpoint_every = 1;        // 1: full tape; k > 1: keep every k-th state, recompute
  bool check_fd = false;           // central finite differences of the whole simulation
  double fd_relative_step = 1e-5;  // FD step: this * |p| (or this if p == 0)
  bool check_tangent = false;      // forward sensitivity per parameter
};

struct GradEntry {
  std::string name;
  double value = 0.0;     // the parameter's value
  double gradient = 0.0;  // dJ/dp from the adjoint
  std::optional<double> fd, fd_rel_error, tangent, tangent_rel_error;
};

struct GradResult {
  double objective = 0.0;
  std::vector<GradEntry> entries;
  double forward_s = 0.0;  // the transient run (exact steps, or solver run plus replay), wall
  double reverse_s = 0.0;  // adjoint pass
  size_t tape_bytes = 0;
  int steps = 0;  // accepted steps (without the initial point)
  std::string method;
  std::vector<std::string> warnings;
};

// Relative error |a - b| / max(|a|, |b|, floor).
double RelativeError(double a, double b, double floor = 1e-300);

// Runs the gradient computation on the deck's last .tran. Errors: no .tran, bad objective or
// parameter names, solver failures, non-finite gradients (naming the parameter).
Status ComputeGradient(const netlist::Netlist& netlist, const solver::SimOptions& options,
                       const GradRequest& request, GradResult* result);

// The objective alone (forward run and replay), e.g. for finite differences.
Status EvaluateObjective(const netlist::Netlist& netlist, const solver::SimOptions& options,
                         const std::string& objective, double* value);

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_GRADIENT_H_
