#include "autodiff/gradient.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "autodiff/adjoint.h"
#include "autodiff/objective.h"
#include "autodiff/tape.h"
#include "base/option_names.h"
#include "io/waveform.h"
#include "solver/circuit.h"
#include "solver/integrators.h"

namespace memspice::autodiff {

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// State of one forward run: circuit, tape, replayed trajectory and objective.
struct Run {
  std::unique_ptr<solver::Circuit> circuit;
  std::unique_ptr<Tape> tape;
  Objective objective;
  std::unique_ptr<DiscreteAdjoint> adjoint;
  const netlist::Analysis* analysis = nullptr;
  solver::Method method = solver::Method::kTrapezoidal;
  double value = 0.0;
  double seconds = 0.0;  // the run (and replay): what `memspice sim` reports for the analysis
};

Status Forward(const netlist::Netlist& nl, const solver::SimOptions& options,
               const std::string& objective, int keep_every, Run* run) {
  for (const auto& a : nl.analyses) {
    if (a.kind == netlist::Analysis::Kind::kTran) run->analysis = &a;
  }
  if (run->analysis == nullptr) {
    return Status::Error("the deck has no .tran analysis to differentiate",
                         "add e.g. '.tran 1u 1m'");
  }
  netlist::Diagnostics diag;
  run->circuit = solver::Circuit::Build(nl, diag);
  if (!run->circuit) {
    return Status::Error("circuit: " +
                         (diag.items().empty() ? std::string("build failed") : diag.Format()));
  }
  Status s = Objective::Parse(objective, nl, *run->circuit, &run->objective);
  if (!s.ok()) return s;
  solver::SimOptions o = options;
  if (!o.method) {
    if (!nl.method.empty()) o.method = solver::ParseMethod(nl.method);
  }
  run->method = o.method.value_or(solver::Method::kTrapezoidal);
  o.method = run->method;
  run->tape = std::make_unique<Tape>(run->circuit->size(), keep_every);
  run->adjoint = std::make_unique<DiscreteAdjoint>(*run->circuit, nl, *run->analysis, o,
                                                   run->method, run->tape.get(), &run->objective);
  io::WaveformTable table;
  const auto start = std::chrono::steady_clock::now();
  if (solver::IsExplicit(run->method)) {
    // Explicit methods: the solver's run fixes the grid, the replay solves it to round-off.
    TapeRecorder recorder(run->tape.get());
    s = solver::RunAnalysis(*run->circuit, nl, *run->analysis, o, &recorder, &table);
    if (s.ok()) s = run->adjoint->Replay(&run->value);
  } else {
    // Implicit methods: the run's steps are solved exactly as they are taken (no replay).
    s = solver::RunAnalysis(*run->circuit, nl, *run->analysis, o, run->adjoint->exact_recorder(),
                            &table);
    if (s.ok()) s = run->adjoint->Finish(&run->value);
  }
  run->seconds = Seconds(start);
  if (!s.ok()) return s;
  if (!std::isfinite(run->value)) {
    return Status::Error(
        fmt::format("the objective '{}' is not finite ({})", objective, run->value));
  }
  return Status::Ok();
}

}  // namespace

double RelativeError(double a, double b, double floor) {
  const double d = std::abs(a - b);
  const double m = std::max({std::abs(a), std::abs(b), floor});
  return d == 0.0 ? 0.0 : d / m;
}

Status EvaluateObjective(const netlist::Netlist& netlist, const solver::SimOptions& options,
                         const std::string& objective, double* value) {
  Run run;
  Status s = Forward(netlist, options, objective, 1, &run);
  if (!s.ok()) return s;
  *value = run.value;
  return Status::Ok();
}

Status ComputeGradient(const netlist::Netlist& nl, const solver::SimOptions& options,
                       const GradRequest& request, GradResult* result) {
  *result = GradResult();
  if (request.checkpoint_every < 1) {
    return Status::Error(
        fmt::format("checkpoint interval {} must be >= 1", request.checkpoint_every));
  }
  std::vector<ParamSpec> specs;
  Status s = ResolveParams(nl, request.wrt, static_cast<bool>(request.reparse), &specs);
  if (!s.ok()) return s.Prefixed(base::Opt("wrt") + " ");
  if (specs.empty())
    return Status::Error("no parameters to differentiate (" + base::Opt("wrt") + ")");

  Run run;
  s = Forward(nl, options, request.objective, request.checkpoint_every, &run);
  if (!s.ok()) return s;
  result->forward_s = run.seconds;
  result->objective = run.value;
  result->steps = run.tape->size() - 1;
  result->method = solver::MethodName(run.method);

  devices::AnalysisInfo info;
  info.tstep = run.analysis->tstep;
  info.tstop = run.analysis->tstop;
  info.temp = nl.temp;
  std::unique_ptr<ParamPartials> partials;
  s = ParamPartials::Create(nl, specs, request.reparse, info, run.circuit->size(), &partials,
                            run.circuit.get());
  if (!s.ok()) return s;

  auto t1 = std::chrono::steady_clock::now();
  std::vector<double> grad;
  s = run.adjoint->Reverse(*partials, &grad);
  if (!s.ok()) return s;
  result->reverse_s = Seconds(t1);
  if (std::getenv("MEMSPICE_SOLVER_STATS") != nullptr) {
    std::fprintf(stderr, "%s\n", run.adjoint->Stats().c_str());
  }
  result->tape_bytes = run.tape->bytes();

  bool all_zero = true;
  for (size_t j = 0; j < specs.size(); ++j) {
    if (!std::isfinite(grad[j])) {
      return Status::Error(
          fmt::format("the gradient with respect to '{}' is not finite ({})", specs[j].name,
                      grad[j]),
          "the objective or the circuit is not differentiable there; check the parameter's "
          "value and the time step");
    }
    if (grad[j] != 0.0) all_zero = false;
    GradEntry e;
    e.name = specs[j].name;
    e.value = specs[j].value;
    e.gradient = grad[j];
    result->entries.push_back(e);
  }
  if (all_zero) {
    result->warnings.push_back(
        "the gradient is zero for every parameter: the objective does not depend on them");
  }
  if (request.check_tangent) {
    for (size_t j = 0; j < specs.size(); ++j) {
      double dj = 0.0;
      s = run.adjoint->Tangent(*partials, static_cast<int>(j), &dj);
      if (!s.ok()) return s;
      result->entries[j].tangent = dj;
      result->entries[j].tangent_rel_error = RelativeError(dj, grad[j]);
    }
  }
  if (request.check_fd) {
    for (size_t j = 0; j < specs.size(); ++j) {
      const ParamSpec& p = specs[j];
      const double d =
          p.value != 0.0 ? request.fd_relative_step * std::abs(p.value) : request.fd_relative_step;
      double jp = 0.0, jm = 0.0;
      netlist::Netlist np, nm;
      s = WithParam(nl, p, p.value + d, request.reparse, &np);
      if (s.ok()) s = EvaluateObjective(np, options, request.objective, &jp);
      if (s.ok()) s = WithParam(nl, p, p.value - d, request.reparse, &nm);
      if (s.ok()) s = EvaluateObjective(nm, options, request.objective, &jm);
      if (!s.ok()) {
        return Status::Error(fmt::format("finite difference for '{}': {}", p.name, s.message()),
                             s.hint());
      }
      const double fd = (jp - jm) / (2.0 * d);
      result->entries[j].fd = fd;
      result->entries[j].fd_rel_error = RelativeError(fd, grad[j]);
    }
  }
  return Status::Ok();
}

}  // namespace memspice::autodiff
