#include "autodiff/fit.h"

#include <ceres/ceres.h>
#include <fmt/format.h>
#include <glog/logging.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

#include "autodiff/adjoint.h"
#include "autodiff/objective.h"
#include "autodiff/tape.h"
#include "base/option_names.h"
#include "base/strings.h"
#include "devices/registry.h"
#include "netlist/deck_editor.h"
#include "solver/circuit.h"

namespace memspice::autodiff {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

using base::Lower;

const netlist::Element* FindElement(const netlist::Netlist& nl, const std::string& name) {
  for (const auto& e : nl.elements) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// The physical range of a parameter where it is obvious, and whether it is a positive scale
// (fitted in log space).
struct Range {
  double lo = -kInf, hi = kInf;
  bool scale = false;
};

// The row of the device's parameter table (devices/descriptor.h) that describes p, or nullptr.
const devices::ParamInfo* DescribeParam(const ParamSpec& p, const netlist::Netlist& nl) {
  using devices::ParamPlace;
  if (p.kind == ParamSpec::Kind::kElementValue || p.kind == ParamSpec::Kind::kInstance) {
    const netlist::Element* e = FindElement(nl, p.target);
    const devices::DeviceDescriptor* d = e == nullptr ? nullptr : devices::FindDescriptor(*e);
    if (d == nullptr) return nullptr;
    return p.kind == ParamSpec::Kind::kElementValue
               ? devices::ValueParam(d->params)
               : devices::FindParam(d->params, p.key, ParamPlace::kInstance);
  }
  if (p.kind == ParamSpec::Kind::kModel) {
    const auto m = nl.models.find(p.target);
    if (m == nl.models.end()) return nullptr;
    const devices::DeviceDescriptor* d = devices::FindDescriptorByModelType(m->second.type);
    return d == nullptr ? nullptr : devices::FindParam(d->params, p.key, ParamPlace::kModelCard);
  }
  return nullptr;
}

Range DefaultRange(const ParamSpec& p, const netlist::Netlist& nl) {
  const devices::ParamInfo* info = DescribeParam(p, nl);
  if (info == nullptr) return {};
  return {info->lo, info->hi, info->log_scale};
}

const netlist::Analysis* LastTran(const netlist::Netlist& nl) {
  const netlist::Analysis* a = nullptr;
  for (const auto& an : nl.analyses) {
    if (an.kind == netlist::Analysis::Kind::kTran) a = &an;
  }
  return a;
}

std::string ProbeText(const std::vector<std::string>& signals) {
  std::string t;
  for (const auto& s : signals) t += (t.empty() ? "" : " + ") + fmt::format("final({})", s);
  return t;
}

// One forward run kept alive for its tangents: the netlist, circuit, tape and replay. The
// signals are read through an Objective of `final(signal)` terms: TermValue gives each signal
// and its gradient with respect to the unknowns.
struct Sim {
  netlist::Netlist nl;
  const netlist::Analysis* analysis = nullptr;
  std::unique_ptr<solver::Circuit> circuit;
  Objective probes;
  std::unique_ptr<Tape> tape;
  std::unique_ptr<DiscreteAdjoint> adjoint;
  std::vector<std::pair<int, double>> interp;  // per target time: interval k and weight
};

// Simulated signals on a fixed set of target times as a function of the parameter values, and
// their forward-sensitivity Jacobian.
class WaveformModel {
 public:
  WaveformModel(const netlist::Netlist& base, const solver::SimOptions& options,
                std::vector<ParamSpec> specs, Reparser reparse, std::vector<std::string> signals,
                std::vector<double> times)
      : base_(base),
        options_(options),
        specs_(std::move(specs)),
        reparse_(std::move(reparse)),
        signals_(std::move(signals)),
        times_(std::move(times)) {}

  int num_params() const { return static_cast<int>(specs_.size()); }
  int num_outputs() const { return static_cast<int>(signals_.size() * times_.size()); }

  // Runs the simulation at p; y[s * M + j] = signal s at times_[j].
  Status Simulate(const std::vector<double>& p, std::vector<double>* y) {
    sim_.reset();
    auto sim = std::make_unique<Sim>();
    Status s = BuildNetlist(p, &sim->nl);
    if (!s.ok()) return s;
    sim->analysis = LastTran(sim->nl);
    if (sim->analysis == nullptr) {
      return Status::Error("the deck has no .tran analysis to fit", "add e.g. '.tran 1u 1m'");
    }
    netlist::Diagnostics diag;
    sim->circuit = solver::Circuit::Build(sim->nl, diag);
    if (!sim->circuit) {
      return Status::Error(AtValues(p) + ": circuit: " +
                           (diag.items().empty() ? std::string("build failed") : diag.Format()));
    }
    s = Objective::Parse(ProbeText(signals_), sim->nl, *sim->circuit, &sim->probes);
    if (!s.ok()) return s;
    solver::SimOptions o = options_;
    if (!o.method && !sim->nl.method.empty()) o.method = solver::ParseMethod(sim->nl.method);
    const solver::Method method = o.method.value_or(solver::Method::kTrapezoidal);
    o.method = method;
    sim->tape = std::make_unique<Tape>(sim->circuit->size(), 1);
    TapeRecorder recorder(sim->tape.get());
    io::WaveformTable table;
    s = solver::RunAnalysis(*sim->circuit, sim->nl, *sim->analysis, o, &recorder, &table);
    if (!s.ok()) return s.Prefixed(AtValues(p) + ": ");
    sim->adjoint = std::make_unique<DiscreteAdjoint>(*sim->circuit, sim->nl, *sim->analysis, o,
                                                     method, sim->tape.get(), &sim->probes);
    double unused = 0.0;
    s = sim->adjoint->Replay(&unused);
    if (!s.ok()) return Status::Error(AtValues(p) + ": " + s.message(), s.hint());
    const std::vector<double>& t = sim->tape->times();
    const int N = static_cast<int>(t.size());
    const double slack = 1e-9 * std::max(std::abs(t.back()), 1e-300);
    sim->interp.clear();
    for (double tj : times_) {
      if (tj < t.front() - slack || tj > t.back() + slack) {
        return Status::Error(
            fmt::format("target time {:.9g} s lies outside the simulated span "
                        "[{:.9g}, {:.9g}] s",
                        tj, t.front(), t.back()));
      }
      int k = static_cast<int>(std::upper_bound(t.begin(), t.end(), tj) - t.begin()) - 1;
      k = std::clamp(k, 0, N - 2);
      const double h = t[k + 1] - t[k];
      const double w = h > 0.0 ? std::clamp((tj - t[k]) / h, 0.0, 1.0) : 0.0;
      sim->interp.emplace_back(k, w);
    }
    const int S = static_cast<int>(signals_.size()), M = static_cast<int>(times_.size());
    std::vector<std::vector<double>> values(S, std::vector<double>(N));
    for (int k = 0; k < N; ++k) {
      const double* x = sim->adjoint->State(k);
      if (x == nullptr) return Status::Error(fmt::format("cannot recompute step {}", k));
      for (int si = 0; si < S; ++si) {
        values[si][k] = sim->probes.TermValue(si, x, t[k]);
        if (!std::isfinite(values[si][k])) {
          return Status::Error(fmt::format("{}: signal {} is not finite at t = {:.9g} s",
                                           AtValues(p), signals_[si], t[k]));
        }
      }
    }
    y->assign(static_cast<size_t>(S) * M, 0.0);
    for (int si = 0; si < S; ++si) {
      for (int j = 0; j < M; ++j) {
        const auto [k, w] = sim->interp[j];
        (*y)[si * M + j] = (1.0 - w) * values[si][k] + w * values[si][k + 1];
      }
    }
    sim_ = std::move(sim);
    p_ = p;
    return Status::Ok();
  }

  // Jacobian of the last Simulate(): jac[(s * M + j) * P + i] = dy_s(t_j)/dp_i, one forward
  // sensitivity pass per parameter.
  Status Jacobian(std::vector<double>* jac) {
    if (!sim_) return Status::Error("internal: Jacobian without a simulation");
    Sim& sim = *sim_;
    const int P = num_params(), S = static_cast<int>(signals_.size());
    const int M = static_cast<int>(times_.size()), n = sim.circuit->size();
    std::vector<ParamSpec> at = specs_;
    for (int i = 0; i < P; ++i) at[i].value = p_[i];
    devices::AnalysisInfo info;
    info.tstep = sim.analysis->tstep;
    info.tstop = sim.analysis->tstop;
    info.temp = sim.nl.temp;
    std::unique_ptr<ParamPartials> partials;
    Status s =
        ParamPartials::Create(sim.nl, at, PointReparser(p_), info, n, &partials, sim.circuit.get());
    if (!s.ok()) return s;
    const std::vector<double>& t = sim.tape->times();
    std::vector<std::vector<double>> dv(S, std::vector<double>(t.size(), 0.0));
    std::vector<double> g(n);
    jac->assign(static_cast<size_t>(S) * M * P, 0.0);
    for (int i = 0; i < P; ++i) {
      s = sim.adjoint->TangentTrajectory(
          *partials, i, [&](int k, const double* x, const std::vector<double>& xdot) {
            for (int si = 0; si < S; ++si) {
              std::fill(g.begin(), g.end(), 0.0);
              sim.probes.TermValue(si, x, t[k], 1.0, g.data());
              double d = 0.0;
              for (int r = 0; r < n; ++r) d += g[r] * xdot[r];
              dv[si][k] = d;
            }
          });
      if (!s.ok()) return s;
      for (int si = 0; si < S; ++si) {
        for (int j = 0; j < M; ++j) {
          const auto [k, w] = sim.interp[j];
          const double d = (1.0 - w) * dv[si][k] + w * dv[si][k + 1];
          if (!std::isfinite(d)) {
            return Status::Error(
                fmt::format("{}: the sensitivity of {} to '{}' is not finite at t = {:.9g} s",
                            AtValues(p_), signals_[si], specs_[i].name, times_[j]));
          }
          (*jac)[(static_cast<size_t>(si) * M + j) * P + i] = d;
        }
      }
    }
    return Status::Ok();
  }

  // The deck with every parameter at p: .params by one re-parse, the rest edited in.
  Status BuildNetlist(const std::vector<double>& p, netlist::Netlist* out) const {
    std::map<std::string, double> over;
    for (int i = 0; i < num_params(); ++i) {
      if (specs_[i].kind == ParamSpec::Kind::kParam) over[specs_[i].target] = p[i];
    }
    return BuildWith(p, over, out);
  }

  std::string AtValues(const std::vector<double>& p) const {
    std::string s = "simulation at ";
    for (int i = 0; i < num_params(); ++i) {
      s += fmt::format("{}{}={:.6g}", i ? ", " : "", specs_[i].name, p[i]);
    }
    return s;
  }

 private:
  Status BuildWith(const std::vector<double>& p, const std::map<std::string, double>& over,
                   netlist::Netlist* out) const {
    if (!over.empty()) {
      if (!reparse_) return Status::Error("fitting a .param needs the deck text to re-parse it");
      std::string err;
      std::optional<netlist::Netlist> nl = reparse_(over, &err);
      if (!nl) return Status::Error("re-parsing the deck with the fitted .param values: " + err);
      *out = std::move(*nl);
    } else {
      *out = base_;
    }
    for (int i = 0; i < num_params(); ++i) {
      if (specs_[i].kind == ParamSpec::Kind::kParam) continue;
      netlist::Netlist next;
      Status s = WithParam(*out, specs_[i], p[i], reparse_, &next);
      if (!s.ok()) return s;
      *out = std::move(next);
    }
    return Status::Ok();
  }

  // Re-parser for ParamPartials at point p: a perturbed .param must keep every other parameter
  // at p (the plain re-parser would reset them to the deck's values).
  Reparser PointReparser(const std::vector<double>& p) const {
    return [this, p](const std::map<std::string, double>& extra,
                     std::string* error) -> std::optional<netlist::Netlist> {
      std::map<std::string, double> over;
      for (int i = 0; i < num_params(); ++i) {
        if (specs_[i].kind == ParamSpec::Kind::kParam) over[specs_[i].target] = p[i];
      }
      for (const auto& [k, v] : extra) over[k] = v;
      netlist::Netlist nl;
      Status s = BuildWith(p, over, &nl);
      if (!s.ok()) {
        *error = s.message();
        return std::nullopt;
      }
      return nl;
    };
  }

  const netlist::Netlist& base_;
  solver::SimOptions options_;
  std::vector<ParamSpec> specs_;
  Reparser reparse_;
  std::vector<std::string> signals_;
  std::vector<double> times_;
  std::unique_ptr<Sim> sim_;
  std::vector<double> p_;
};

// Scaled residuals and their Jacobian in the solver's variables z (p = e^z for log-space
// parameters), cached per point: Ceres evaluates every residual block at the same z in turn.
class FitEvaluator {
 public:
  FitEvaluator(WaveformModel* model, std::vector<bool> log_space, std::vector<double> target,
               std::vector<double> scale)
      : model_(model),
        log_(std::move(log_space)),
        target_(std::move(target)),
        scale_(std::move(scale)) {}

  std::vector<double> ToParams(const double* z) const {
    std::vector<double> p(log_.size());
    for (size_t i = 0; i < p.size(); ++i) p[i] = log_[i] ? std::exp(z[i]) : z[i];
    return p;
  }

  bool Ensure(const double* z, bool want_jacobian) {
    const int P = static_cast<int>(log_.size());
    const bool same = have_ && std::equal(z, z + P, z_.begin());
    if (!same) {
      z_.assign(z, z + P);
      have_ = true;
      have_jac_ = false;
      ++evaluations_;
      status_ = model_->Simulate(ToParams(z), &y_);
      if (status_.ok()) {
        residual_.resize(y_.size());
        for (size_t r = 0; r < y_.size(); ++r) {
          residual_[r] = (y_[r] - target_[r]) / scale_[r];
        }
      }
      if (!status_.ok()) last_error_ = status_;
    }
    if (!status_.ok()) return false;
    if (want_jacobian && !have_jac_) {
      ++jacobian_evaluations_;
      jac_status_ = model_->Jacobian(&jac_);
      have_jac_ = true;
      if (!jac_status_.ok()) last_error_ = jac_status_;
    }
    return !want_jacobian || jac_status_.ok();
  }

  double residual(int r) const { return residual_[r]; }
  void JacobianRow(int r, double* row) const {
    const int P = static_cast<int>(log_.size());
    for (int i = 0; i < P; ++i) {
      const double chain = log_[i] ? std::exp(z_[i]) : 1.0;
      row[i] = jac_[static_cast<size_t>(r) * P + i] * chain / scale_[r];
    }
  }
  const Status& last_error() const { return last_error_; }
  int evaluations() const { return evaluations_; }
  int jacobian_evaluations() const { return jacobian_evaluations_; }

 private:
  WaveformModel* model_;
  std::vector<bool> log_;
  std::vector<double> target_, scale_;
  std::vector<double> z_, y_, residual_, jac_;
  bool have_ = false, have_jac_ = false;
  Status status_, jac_status_, last_error_;
  int evaluations_ = 0, jacobian_evaluations_ = 0;
};

// One scaled residual; Huber's loss applies residual by residual.
class ResidualCost : public ceres::CostFunction {
 public:
  ResidualCost(FitEvaluator* ev, int index, int num_params) : ev_(ev), index_(index) {
    set_num_residuals(1);
    mutable_parameter_block_sizes()->push_back(num_params);
  }
  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    const bool want = jacobians != nullptr && jacobians[0] != nullptr;
    if (!ev_->Ensure(parameters[0], want)) return false;
    residuals[0] = ev_->residual(index_);
    if (want) ev_->JacobianRow(index_, jacobians[0]);
    return true;
  }

 private:
  FitEvaluator* ev_;
  int index_;
};

// Ceres logs through glog; a rank-deficient covariance would print an error to stderr that the
// fit already reports in its own words.
void QuietCeresLogging() {
  if (!google::IsGoogleLoggingInitialized()) google::InitGoogleLogging("memspice");
  FLAGS_minloglevel = google::GLOG_FATAL;
}

// Names given by the user (globs allowed) -> indices into specs.
Status MatchNames(const netlist::Netlist& nl, const std::string& what, const std::string& name,
                  const std::vector<ParamSpec>& specs, bool have_reparser, std::vector<int>* idx) {
  std::vector<ParamSpec> m;
  Status s = ResolveParams(nl, {name}, have_reparser, &m);
  idx->clear();
  if (s.ok()) {
    for (const auto& p : m) {
      for (size_t i = 0; i < specs.size(); ++i) {
        if (specs[i].name == p.name) idx->push_back(static_cast<int>(i));
      }
    }
  }
  if (idx->empty()) {
    std::string list;
    for (const auto& p : specs) list += (list.empty() ? "" : ", ") + p.name;
    return Status::Error(
        fmt::format("{} '{}' is not one of the fitted parameters ({})", what, name, list));
  }
  return Status::Ok();
}

}  // namespace

Status SimulateAtTimes(const netlist::Netlist& netlist, const solver::SimOptions& options,
                       const std::vector<std::string>& names, const std::vector<double>& values,
                       const Reparser& reparse, const std::vector<std::string>& signals,
                       const std::vector<double>& times, std::vector<double>* y,
                       std::vector<double>* jacobian) {
  std::vector<ParamSpec> specs;
  Status s = ResolveParams(netlist, names, static_cast<bool>(reparse), &specs);
  if (!s.ok()) return s;
  if (specs.size() != values.size()) {
    return Status::Error(
        fmt::format("{} parameter names matched {} parameters but {} values "
                    "were given",
                    names.size(), specs.size(), values.size()));
  }
  WaveformModel model(netlist, options, specs, reparse, signals, times);
  s = model.Simulate(values, y);
  if (!s.ok() || jacobian == nullptr) return s;
  return model.Jacobian(jacobian);
}

namespace {

// The fitted samples: the target's rows within the simulated span, signal-major.
struct FitTarget {
  std::vector<double> times;   // M sample times in [0, tstop]
  std::vector<double> values;  // S * M target values
  std::vector<double> scale;   // S * M: the range of each signal's samples (residual weight)
  int signals = 0, samples = 0;
};

// Each fitted signal must be a probe of the circuit.
Status CheckSignals(const netlist::Netlist& nl, const std::vector<std::string>& signals) {
  netlist::Diagnostics diag;
  auto circuit = solver::Circuit::Build(nl, diag);
  if (!circuit) {
    return Status::Error("circuit: " +
                         (diag.items().empty() ? std::string("build failed") : diag.Format()));
  }
  for (const auto& sig : signals) {
    Objective probe;
    Status ps = Objective::Parse(fmt::format("final({})", sig), nl, *circuit, &probe);
    if (!ps.ok()) {
      return Status::Error(fmt::format("{} '{}': {}", base::Opt("signals"), sig, ps.message()),
                           "signals are v(node), v(a,b), i(vsource) or x(memristor) of the "
                           "deck");
    }
  }
  return Status::Ok();
}

// The target's samples of the fitted signals within [0, tstop]; rows outside are counted in
// result->rows_ignored.
Status ReadTarget(const FitRequest& request, double tstop, FitTarget* out, FitResult* result) {
  const io::WaveformTable& tg = request.target;
  std::vector<int> columns;
  for (const auto& sig : request.signals) {
    const int c = tg.Find(sig);
    if (c < 0) {
      std::string have;
      for (const auto& n : tg.names) have += (have.empty() ? "" : ", ") + n;
      return Status::Error(
          fmt::format("signal '{}' is not a column of the target (columns: {})", sig, have));
    }
    columns.push_back(c);
  }
  std::vector<int> rows;
  const double slack = 1e-9 * tstop;
  for (int r = 0; r < static_cast<int>(tg.scale.size()); ++r) {
    const double t = tg.scale[r];
    if (std::isfinite(t) && t >= -slack && t <= tstop + slack) {
      out->times.push_back(std::clamp(t, 0.0, tstop));
      rows.push_back(r);
    } else {
      ++result->rows_ignored;
    }
  }
  const int S = static_cast<int>(columns.size()), M = static_cast<int>(out->times.size());
  out->signals = S;
  out->samples = M;
  out->values.resize(static_cast<size_t>(S) * M);
  out->scale.resize(out->values.size());
  for (int si = 0; si < S; ++si) {
    double lo = kInf, hi = -kInf, amax = 0.0;
    for (int j = 0; j < M; ++j) {
      const double v = tg.rows[rows[j]][columns[si]];
      if (!std::isfinite(v)) {
        return Status::Error(fmt::format("target value of {} at t = {:.9g} s is not finite",
                                         request.signals[si], out->times[j]));
      }
      out->values[si * M + j] = v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      amax = std::max(amax, std::abs(v));
    }
    const double sc = hi > lo ? hi - lo : (amax > 0.0 ? amax : 1.0);
    for (int j = 0; j < M; ++j) out->scale[si * M + j] = sc;
  }
  return Status::Ok();
}

// Start values (the deck's, then the requested start) and bounds (each parameter's valid range
// narrowed by the requested bounds).
Status StartAndBounds(const netlist::Netlist& nl, const FitRequest& request,
                      const std::vector<ParamSpec>& specs, std::vector<double>* p0,
                      std::vector<Range>* ranges) {
  const int P = static_cast<int>(specs.size());
  p0->resize(P);
  for (int i = 0; i < P; ++i) (*p0)[i] = specs[i].value;
  for (const auto& [name, v] : request.start) {
    std::vector<int> idx;
    Status s =
        MatchNames(nl, base::Opt("start"), name, specs, static_cast<bool>(request.reparse), &idx);
    if (!s.ok()) return s;
    if (!std::isfinite(v))
      return Status::Error(fmt::format("{} {}: not finite", base::Opt("start"), name));
    for (int i : idx) (*p0)[i] = v;
  }
  ranges->resize(P);
  for (int i = 0; i < P; ++i) (*ranges)[i] = DefaultRange(specs[i], nl);
  for (const auto& [name, b] : request.bounds) {
    std::vector<int> idx;
    Status s =
        MatchNames(nl, base::Opt("bounds"), name, specs, static_cast<bool>(request.reparse), &idx);
    if (!s.ok()) return s;
    for (int i : idx) {
      Range& r = (*ranges)[i];
      const double lo = b.first.value_or(r.lo), hi = b.second.value_or(r.hi);
      if (!(lo < hi)) {
        return Status::Error(fmt::format("{} {}: lower bound {:.6g} is not below the upper "
                                         "bound {:.6g}",
                                         base::Opt("bounds"), name, lo, hi),
                             "write NAME=LO:HI with LO < HI, e.g. ron=100:10k");
      }
      r.lo = std::max(lo, r.lo);
      r.hi = std::min(hi, r.hi);
      if (!(r.lo < r.hi)) {
        return Status::Error(
            fmt::format("{} {}: [{:.6g}, {:.6g}] lies outside the valid "
                        "range of '{}'",
                        base::Opt("bounds"), name, lo, hi, specs[i].name));
      }
    }
  }
  return Status::Ok();
}

// The start point in the solver's variables z (log p where the parameter's scale is logarithmic
// and request.log_space), with each parameter's record in result->params.
Status StartPoint(const FitRequest& request, const std::vector<ParamSpec>& specs,
                  const std::vector<double>& p0, const std::vector<Range>& ranges,
                  std::vector<bool>* logs, std::vector<double>* z, FitResult* result) {
  const int P = static_cast<int>(specs.size());
  logs->assign(P, false);
  z->assign(P, 0.0);
  for (int i = 0; i < P; ++i) {
    const Range& r = ranges[i];
    if (!(p0[i] >= r.lo && p0[i] <= r.hi)) {
      return Status::Error(fmt::format("the start value {:.6g} of '{}' lies outside its bounds "
                                       "[{:.6g}, {:.6g}]",
                                       p0[i], specs[i].name, r.lo, r.hi),
                           "change " + base::Opt("start") + " or " + base::Opt("bounds"));
    }
    (*logs)[i] = request.log_space && r.scale && p0[i] > 0.0;
    (*z)[i] = (*logs)[i] ? std::log(p0[i]) : p0[i];
    FitParam fp;
    fp.name = specs[i].name;
    fp.initial = p0[i];
    fp.lower = r.lo;
    fp.upper = r.hi;
    fp.log_space = (*logs)[i];
    result->params.push_back(fp);
  }
  return Status::Ok();
}

// The parameter bounds in the solver's variables.
void SetBounds(const std::vector<Range>& ranges, const std::vector<bool>& logs, double* z,
               ceres::Problem* problem) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    const Range& r = ranges[i];
    const double lo = logs[i] ? (r.lo > 0.0 ? std::log(r.lo) : -kInf) : r.lo;
    const double hi = logs[i] ? (std::isfinite(r.hi) ? std::log(r.hi) : kInf) : r.hi;
    const int k = static_cast<int>(i);
    if (std::isfinite(lo)) problem->SetParameterLowerBound(z, k, lo);
    if (std::isfinite(hi)) problem->SetParameterUpperBound(z, k, hi);
  }
}

// Runs the trust-region solver; its report goes to result.
ceres::Solver::Summary Solve(const FitRequest& request, ceres::Problem* problem,
                             FitResult* result) {
  ceres::Solver::Options so;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = request.max_iterations;
  so.function_tolerance = 1e-12;
  so.parameter_tolerance = 1e-10;
  so.gradient_tolerance = 1e-14;
  so.num_threads = 1;  // the cached simulation is shared by every residual block
  so.logging_type = ceres::SILENT;
  ceres::Solver::Summary summary;
  ceres::Solve(so, problem, &summary);
  result->termination = summary.message;
  result->iterations = summary.num_successful_steps + summary.num_unsuccessful_steps;
  result->initial_cost = summary.initial_cost;
  result->final_cost = summary.final_cost;
  // Ceres reports running out of trust region as CONVERGENCE; it is a failure to converge.
  result->converged = summary.termination_type == ceres::CONVERGENCE &&
                      summary.message.rfind("Minimum trust region radius", 0) != 0;
  return summary;
}

// One standard deviation per parameter from the Jacobian at the solution (in result->params),
// or a note why there is none.
void EstimateUncertainty(ceres::Problem& problem, double* z, int P, int dof, double final_cost,
                         const std::vector<bool>& logs, const std::vector<double>& p,
                         FitResult* result) {
  ceres::Covariance::Options co;
  co.algorithm_type = ceres::DENSE_SVD;
  co.num_threads = 1;
  ceres::Covariance covariance(co);
  std::vector<std::pair<const double*, const double*>> blocks = {{z, z}};
  std::vector<double> cov(static_cast<size_t>(P) * P);
  if (covariance.Compute(blocks, &problem) && covariance.GetCovarianceBlock(z, z, cov.data())) {
    const double s2 = 2.0 * final_cost / dof;
    for (int i = 0; i < P; ++i) {
      const double var = cov[static_cast<size_t>(i) * P + i] * s2;
      if (std::isfinite(var) && var >= 0.0) {
        result->params[i].sigma = std::sqrt(var) * (logs[i] ? p[i] : 1.0);
      }
    }
  } else {
    result->covariance_note =
        "the Jacobian at the solution is rank-deficient: the parameters are not jointly "
        "identifiable from these signals (no uncertainty estimate)";
  }
}

}  // namespace

Status Fit(const netlist::Netlist& nl, const solver::SimOptions& options, const FitRequest& request,
           FitResult* result) {
  *result = FitResult();
  result->input_error = true;  // until the first simulation
  const auto t0 = std::chrono::steady_clock::now();
  const netlist::Analysis* tran = LastTran(nl);
  if (tran == nullptr) {
    return Status::Error("the deck has no .tran analysis to fit", "add e.g. '.tran 1u 1m'");
  }
  if (request.params.empty())
    return Status::Error("no parameters to fit (" + base::Opt("params") + ")");
  if (request.signals.empty())
    return Status::Error("no signals to fit (" + base::Opt("signals") + ")");
  std::vector<ParamSpec> specs;
  Status s = ResolveParams(nl, request.params, static_cast<bool>(request.reparse), &specs);
  if (!s.ok()) return s.Prefixed(base::Opt("params") + " ");
  const int P = static_cast<int>(specs.size());

  // Signals: each must be a probe of the circuit and a column of the target.
  const io::WaveformTable& tg = request.target;
  if (Lower(tg.scale_name) != "time" || tg.scale.empty()) {
    return Status::Error(
        fmt::format("the target has no time column (first column '{}')", tg.scale_name),
        "the target must be a transient waveform: a CSV with header 'time,<signal>,...' or a "
        "SPICE raw file of a .tran");
  }
  if (s = CheckSignals(nl, request.signals); !s.ok()) return s;
  FitTarget target;
  if (s = ReadTarget(request, tran->tstop, &target, result); !s.ok()) return s;
  const int S = target.signals, M = target.samples;
  if (S * M <= P) {
    return Status::Error(
        fmt::format("the target has {} usable rows ({} residuals) for {} "
                    "parameters; it needs more rows than parameters within the "
                    "simulated span [0, {:.6g}] s",
                    M, S * M, P, tran->tstop));
  }
  if (result->rows_ignored > 0) {
    result->warnings.push_back(
        fmt::format("{} target rows outside the simulated span [0, {:.6g}] s are ignored",
                    result->rows_ignored, tran->tstop));
  }

  // Start values, bounds, log space.
  std::vector<double> p0;
  std::vector<Range> ranges;
  if (s = StartAndBounds(nl, request, specs, &p0, &ranges); !s.ok()) return s;
  std::vector<bool> logs;
  std::vector<double> z;
  if (s = StartPoint(request, specs, p0, ranges, &logs, &z, result); !s.ok()) return s;

  result->input_error = false;
  WaveformModel model(nl, options, specs, request.reparse, request.signals, target.times);
  FitEvaluator ev(&model, logs, target.values, target.scale);
  // Fail early, with the simulator's message, if the start point does not simulate.
  if (!ev.Ensure(z.data(), true)) {
    const Status& e = ev.last_error();
    return e.Prefixed("at the start values: ");
  }

  QuietCeresLogging();
  ceres::Problem::Options po;
  po.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  std::unique_ptr<ceres::LossFunction> loss;
  if (request.huber) loss = std::make_unique<ceres::HuberLoss>(request.huber_scale);
  for (int r = 0; r < S * M; ++r) {
    problem.AddResidualBlock(new ResidualCost(&ev, r, P), loss.get(), z.data());
  }
  SetBounds(ranges, logs, z.data(), &problem);
  const ceres::Solver::Summary summary = Solve(request, &problem, result);
  result->residuals = S * M;
  if (!summary.IsSolutionUsable() || !std::isfinite(summary.final_cost)) {
    const Status& e = ev.last_error();
    return Status::Error(
        "the fit failed: " + summary.message + (e.ok() ? "" : " (last error: " + e.message() + ")"),
        e.hint());
  }
  const std::vector<double> p = ev.ToParams(z.data());
  for (int i = 0; i < P; ++i) {
    if (!std::isfinite(p[i])) {
      return Status::Error(fmt::format("the fitted value of '{}' is not finite", specs[i].name));
    }
    result->params[i].fitted = p[i];
  }

  // Uncertainty from the Jacobian at the solution.
  EstimateUncertainty(problem, z.data(), P, S * M - P, summary.final_cost, logs, p, result);
  result->evaluations = ev.evaluations();
  result->jacobian_evaluations = ev.jacobian_evaluations();
  result->jacobian_method = fmt::format(
      "forward sensitivity ({} tangent pass{} per Jacobian for {} residuals; the adjoint would "
      "need {} reverse passes)",
      P, P == 1 ? "" : "es", S * M, S * M);
  result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Writing the fitted deck.

namespace {

// Writes one resolved parameter into the deck; false if the deck text does not hold it (defined
// in an included file, or inside a subcircuit).
bool WriteParam(const ParamSpec& p, const netlist::Netlist& nl, const std::string& v,
                netlist::DeckEditor* deck) {
  const std::string main = nl.files.empty() ? std::string() : nl.files[0];
  auto in_main = [&](const netlist::SourceLoc& loc) {
    return loc.file == main && loc.line >= 1 && loc.line <= deck->num_lines();
  };
  auto top_level = [&](const netlist::Element& e) {
    return in_main(e.loc) && e.name.find('.') == std::string::npos;
  };
  switch (p.kind) {
    case ParamSpec::Kind::kParam:
      return deck->SetDirectiveKey(".param", p.target, v);
    case ParamSpec::Kind::kElementValue: {
      const netlist::Element* e = FindElement(nl, p.target);
      const devices::DeviceDescriptor* d = e == nullptr ? nullptr : devices::FindDescriptor(*e);
      return d != nullptr && top_level(*e) && d->value.token != devices::kNoValueToken &&
             deck->SetToken(e->loc.line, d->value.token, d->value.keyword, v);
    }
    case ParamSpec::Kind::kInstance: {
      const netlist::Element* e = FindElement(nl, p.target);
      if (e == nullptr || !top_level(*e)) return false;
      deck->SetKey(e->loc.line, p.key, v);
      return true;
    }
    case ParamSpec::Kind::kModel: {
      const auto m = nl.models.find(p.target);
      if (m == nl.models.end()) return false;
      if (in_main(m->second.loc)) return deck->ReplaceKey(m->second.loc.line, p.key, v);
      // The card is in a library: write the value on every instance, if they may override it.
      const devices::DeviceDescriptor* d = devices::FindDescriptorByModelType(m->second.type);
      if (d == nullptr || !devices::FindParam(d->params, p.key, devices::ParamPlace::kInstance)) {
        return false;
      }
      bool all = true, any = false;
      for (const auto& e : nl.elements) {
        if (e.model != p.target) continue;
        if (top_level(e)) {
          deck->SetKey(e.loc.line, p.key, v);
          any = true;
        } else {
          all = false;
        }
      }
      return any && all;
    }
    case ParamSpec::Kind::kIc:
      return deck->SetDirectiveKey(".ic", "v(" + p.target + ")", v);
  }
  return false;
}

}  // namespace

Status SubstituteParams(const std::string& text, const netlist::Netlist& nl,
                        const std::vector<std::pair<std::string, double>>& values, std::string* out,
                        std::vector<std::string>* unwritten) {
  netlist::DeckEditor deck(text);
  unwritten->clear();
  for (const auto& [name, value] : values) {
    std::vector<ParamSpec> specs;
    Status s = ResolveParams(nl, {name}, true, &specs);
    if (!s.ok()) return s;
    const std::string v = base::FormatNumber(value);
    for (const ParamSpec& p : specs) {
      if (!WriteParam(p, nl, v, &deck)) unwritten->push_back(p.name);
    }
  }
  *out = deck.text();
  return Status::Ok();
}

}  // namespace memspice::autodiff
