// Parameter fitting: nonlinear least squares (Ceres Solver) of simulated waveforms against a
// target waveform, with Jacobians from memspice's own forward sensitivities.
//
// Residuals: r_{s,j} = (y_s(t_j; p) - target_s(t_j)) / scale_s for every fitted signal s and every
// target row j inside the simulated span, where y_s(t_j) interpolates the replayed trajectory
// linearly on the accepted time grid (the grid and the interpolation weights are constants, as
// in docs/adjoint.md) and scale_s is the target signal's range (max - min).
//
// Jacobian: with P parameters and M = rows x signals residuals (P << M), one forward-sensitivity
// pass per parameter (DiscreteAdjoint::TangentTrajectory) gives dx_k/dp_j at every step and so
// the whole waveform's sensitivity; the adjoint would need one reverse pass per residual. Cost
// per Jacobian: one simulation + replay + P tangent passes.
//
// Positive scale parameters (R, C, L values, MSS ron/roff/tau/vt/k, diode is/n/...) are fitted
// in log space (z = ln p): relative steps condition parameters that span decades (ron 1e3,
// roff 1e5, tau 1e-3) and keep them positive; bounds apply in that space. Uncertainty:
// sigma_j = sqrt(Cov_jj * 2 cost / (M - P)) with Cov = (J^T J)^-1 from ceres::Covariance
// (mapped from log space by sigma_p = p sigma_z), i.e. the residual variance is estimated from
// the fit.
#ifndef MEMSPICE_AUTODIFF_FIT_H_
#define MEMSPICE_AUTODIFF_FIT_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/params.h"
#include "base/status.h"
#include "io/waveform.h"
#include "netlist/netlist.h"
#include "solver/simulator.h"

namespace memspice::autodiff {

struct FitRequest {
  std::vector<std::string> params;      // names as in autodiff/params.h (each resolved, globs ok)
  std::vector<std::string> signals;     // v(out), i(v1), x(m1), v(a,b); columns of the target
  io::WaveformTable target;             // scale = time; columns named like the signals
  std::map<std::string, double> start;  // initial values overriding the deck's (by name)
  // Bounds by parameter name; a missing side keeps the default range.
  std::map<std::string, std::pair<std::optional<double>, std::optional<double>>> bounds;
  bool huber = false;         // ceres::HuberLoss on each scaled residual
  double huber_scale = 0.01;  // Huber's a, in units of the signal range
  bool log_space = true;      // positive scale parameters in log space
  int max_iterations = 100;
  Reparser reparse;  // re-parses the deck with .param overrides (needed for .param names)
};

struct FitParam {
  std::string name;
  double initial = 0.0, fitted = 0.0;
  std::optional<double> sigma;      // 1-sigma uncertainty; empty if the covariance is singular
  double lower = 0.0, upper = 0.0;  // effective bounds (+-inf if none)
  bool log_space = false;
};

struct FitResult {
  std::vector<FitParam> params;
  double initial_cost = 0.0, final_cost = 0.0;  // 0.5 sum r^2 (robustified with Huber)
  int iterations = 0;
  int evaluations = 0;           // simulations run (residuals), jacobian_evaluations of them
  int jacobian_evaluations = 0;  // with P tangent passes
  int residuals = 0;             // M
  int rows_ignored = 0;          // target rows outside the simulated span
  double seconds = 0.0;
  std::string jacobian_method;  // how the Jacobian was computed, and why
  std::string termination;      // Ceres' message
  bool converged = false;       // Ceres converged (running out of trust region is not)
  std::string covariance_note;  // why sigma is missing, if it is
  std::vector<std::string> warnings;
  bool input_error = false;  // Fit() failed on its input (names, target, bounds), not a run
};

// Fits request.params of the deck's last .tran to the target. Errors: no .tran, unknown
// parameter or signal, signal missing from the target, bad bounds or start values, too few
// residuals, a simulation that fails at the start point, non-finite residuals or Jacobians.
Status Fit(const netlist::Netlist& netlist, const solver::SimOptions& options,
           const FitRequest& request, FitResult* result);

// The simulated signals at the target times for the parameter values `values` (in the order of
// `names`) and optionally their Jacobian by forward sensitivity (jacobian[(s * M + j) * P + i] =
// d y_s(t_j) / d p_i). `times` must lie within the simulated span. For tests and tools.
Status SimulateAtTimes(const netlist::Netlist& netlist, const solver::SimOptions& options,
                       const std::vector<std::string>& names, const std::vector<double>& values,
                       const Reparser& reparse, const std::vector<std::string>& signals,
                       const std::vector<double>& times, std::vector<double>* y,
                       std::vector<double>* jacobian);

// Rewrites the deck text `text` (the main file of a deck; `name` for messages) with parameter
// values substituted: .param lines, element values, instance parameters (added if missing),
// .model cards in this file, .ic values. A model parameter of a model defined in an included
// file becomes an instance override on every MSS instance of this file that uses it. Parameters
// that cannot be written this way are listed in *unwritten.
Status SubstituteParams(const std::string& text, const netlist::Netlist& netlist,
                        const std::vector<std::pair<std::string, double>>& values, std::string* out,
                        std::vector<std::string>* unwritten);

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_FIT_H_
