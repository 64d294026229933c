// Transient analysis: implicit LMS methods (BE, trap, Gear2) with LTE step control from divided
// differences of q, and explicit methods (FE, RK4) that solve the algebraic part of the DAE at
// every stage, with step-doubling error control. See docs/solver.md.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "base/option_names.h"
#include "solver/engine.h"
#include "solver/integrators.h"
#include "solver/linear_step.h"

namespace memspice::solver {

namespace {

// What to try when an explicit method loses stability.
std::string ExplicitStabilityHint() {
  return "explicit methods are only stable for small steps: use a smaller " +
         base::Opt("fixed_step") + " or " + base::Opt("method") + " be|trap|gear2";
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Sec(double v) { return fmt::format("{:.6g}", v); }

// Step-size bookkeeping shared by the implicit and explicit drivers.
struct StepControl {
  bool fixed = false;
  double fixed_h = 0.0;
  double maxstep = 0.0;
  double hmin = 0.0;
  double h0 = 0.0;
  std::vector<double> breakpoints;  // sorted, in (0, tstop], tstop last
  size_t next = 0;

  // Clips h so that a step from t does not pass the next breakpoint; sets *hit if it lands on it.
  double Clip(double t, double h, bool* hit) {
    *hit = false;
    if (fixed) {
      const double rest = breakpoints.back() - t;
      if (h >= rest - 1e-9 * fixed_h) {
        *hit = true;
        return rest;
      }
      return h;
    }
    while (next < breakpoints.size() && breakpoints[next] <= t + hmin) ++next;
    const double bp = next < breakpoints.size() ? breakpoints[next] : breakpoints.back();
    h = std::min(h, maxstep);
    if (t + h >= bp - hmin) {
      *hit = true;
      return bp - t;
    }
    return h;
  }
};

// Divergence guard of the explicit methods: stops a run at the first accepted step where an
// unknown runs away, long before it overflows (an FE membrane at dt (G1 + G2) / C = 2.7 used to
// grow for ~190 steps and end in a singular matrix). Two signatures, either one stops:
//   - a bound: a node voltage beyond max(1 kV, 100x the largest |node voltage| at t = 0), a
//     branch current beyond max(1 kA, 100x the largest |branch current| at t = 0);
//   - the explicit-instability oscillation: the step-to-step change of one unknown flips sign
//     and grows by more than 1.5x on kGrowthSteps consecutive steps (x25 in all), once it is
//     above a floor (1 uV, 1 nA, 1e-6 for states). Physical transients resolved by the step
//     do not flip sign every step while growing; an unstable FE/RK4 mode does.
class DivergenceGuard {
 public:
  static constexpr int kGrowthSteps = 8;
  static constexpr double kGrowthRatio = 1.5;

  DivergenceGuard(const std::vector<UnknownInfo>& unknowns, const std::vector<double>& x0)
      : kind_(unknowns.size()),
        name_(unknowns.size()),
        dx_(unknowns.size(), 0.0),
        count_(unknowns.size(), 0) {
    double vmax = 0.0, imax = 0.0;
    for (size_t i = 0; i < unknowns.size(); ++i) {
      kind_[i] = unknowns[i].kind;
      name_[i] = unknowns[i].name;
      if (kind_[i] == devices::UnknownKind::kNode) vmax = std::max(vmax, std::abs(x0[i]));
      if (kind_[i] == devices::UnknownKind::kBranch) imax = std::max(imax, std::abs(x0[i]));
    }
    vlimit_ = std::max(1e3, 100.0 * vmax);
    ilimit_ = std::max(1e3, 100.0 * imax);
  }

  // Checks the step x0 -> x1; returns the index of a diverging unknown and a description of the
  // symptom in *why, or -1.
  int Check(const std::vector<double>& x0, const std::vector<double>& x1, std::string* why) {
    // Several unknowns usually run away together: report a node if one does.
    int hit = -1;
    for (size_t i = 0; i < x1.size(); ++i) {
      std::string reason;
      // Memristor states are bounded by their device's CheckState instead.
      const double limit = kind_[i] == devices::UnknownKind::kNode     ? vlimit_
                           : kind_[i] == devices::UnknownKind::kBranch ? ilimit_
                                                                       : INFINITY;
      const double d = x1[i] - x0[i];
      const double floor = kind_[i] == devices::UnknownKind::kBranch ? 1e-9 : 1e-6;
      if (std::abs(d) > floor && d * dx_[i] < 0.0 &&
          std::abs(d) > kGrowthRatio * std::abs(dx_[i])) {
        ++count_[i];
      } else {
        count_[i] = 0;
      }
      dx_[i] = d;
      if (std::abs(x1[i]) > limit) {
        reason = fmt::format("{} = {:.4g} {} is beyond the explicit-method bound of {:.4g} {}",
                             name_[i], x1[i], Unit(i), limit, Unit(i));
      } else if (count_[i] >= kGrowthSteps) {
        reason = fmt::format(
            "{} = {:.4g} {} oscillates with growing amplitude (its change per step flipped "
            "sign and grew by more than {}x on {} consecutive steps, to {:.3g} {})",
            name_[i], x1[i], Unit(i), kGrowthRatio, kGrowthSteps, std::abs(d), Unit(i));
      }
      if (reason.empty()) continue;
      if (hit < 0 ||
          (kind_[hit] != devices::UnknownKind::kNode && kind_[i] == devices::UnknownKind::kNode)) {
        hit = static_cast<int>(i);
        *why = reason;
      }
    }
    return hit;
  }

 private:
  const char* Unit(size_t i) const {
    return kind_[i] == devices::UnknownKind::kNode     ? "V"
           : kind_[i] == devices::UnknownKind::kBranch ? "A"
                                                       : "";
  }

  std::vector<devices::UnknownKind> kind_;
  std::vector<std::string> name_;
  std::vector<double> dx_;
  std::vector<int> count_;
  double vlimit_ = 0.0, ilimit_ = 0.0;
};

// The devices whose CheckState can fail (see Device::CheckState): nonlinear devices and sources.
std::vector<devices::Device*> StateCheckedDevices(
    const std::vector<std::unique_ptr<devices::Device>>& devices) {
  std::vector<devices::Device*> out;
  for (const auto& d : devices) {
    if (!d->IsLinear() || d->IsSource()) out.push_back(d.get());
  }
  return out;
}

}  // namespace

Status Engine::Transient(const netlist::Analysis& an, const OutputSelection& sel,
                         StepObserver* observer, WaveformTable* out) {
  if (!(std::isfinite(an.tstop) && an.tstop > 0.0)) {
    return Status::Error(fmt::format(".tran stop time {:g} must be > 0", an.tstop));
  }
  if (!(std::isfinite(an.tstep) && an.tstep > 0.0)) {
    return Status::Error(fmt::format(".tran step {:g} must be > 0", an.tstep));
  }
  if (!(an.tstart >= 0.0 && an.tstart < an.tstop)) {
    return Status::Error(
        fmt::format(".tran start time {:g} must be in [0, tstop = {:g})", an.tstart, an.tstop));
  }
  const Method method = o_.method.value_or(Method::kTrapezoidal);
  devices::AnalysisInfo info;
  info.tstep = an.tstep;
  info.tstop = an.tstop;
  info.temp = nl_.temp;
  SetAnalysisInfo(info);
  std::vector<double> x(n_, 0.0);
  if (an.uic) {
    std::vector<double> buf(n_ + 1, 0.0);
    for (auto& d : c_.devices()) d->InitialState(buf.data() + 1);
    std::copy(buf.begin() + 1, buf.end(), x.begin());
    std::vector<double> ic;
    Status s = BuildClamp(nl_.ics, &ic);
    if (!s.ok()) return s;
    for (int i = 0; i < n_; ++i) {
      if (!std::isnan(ic[i])) x[i] = ic[i];
    }
    // The t = 0 row must be consistent: keep the charges (capacitor voltages, inductor
    // currents, states) and solve the algebraic rows, so that source nodes read their t = 0
    // values. Where that system is singular (a capacitor across a source) x stays as given.
    EvalRequest req;
    req.dc = false;
    req.gmin = o_.gmin;
    req.time = 0.0;
    asm_.Evaluate(x.data(), req);
    const std::vector<char> diff = DifferentialRows(c_, asm_.C());
    std::vector<double> wf(n_), wq(n_), b(n_, 0.0);
    for (int i = 0; i < n_; ++i) (diff[i] ? wq : wf)[i] = 1.0;
    for (int i = 0; i < n_; ++i) b[i] = -wq[i] * asm_.q()[i];
    NewtonSystem sys;
    sys.wf = wf.data();
    sys.wq = wq.data();
    sys.b = b.data();
    std::vector<double> xc = x;
    if (newton_.Solve(xc.data(), req, sys, DcNewtonOptions()).converged) x = std::move(xc);
    newton_.Invalidate();
  } else {
    Status s = OperatingPoint(0.0, false, true, &x);
    if (!s.ok()) {
      return Status::Error("initial operating point: " + s.message(),
                           s.hint().empty() ? "or start from .ic values with 'uic'" : s.hint());
    }
  }
  if (IsExplicit(method)) return TransientExplicit(an, method, sel, observer, out, std::move(x));
  return TransientImplicit(an, method, sel, observer, out, std::move(x));
}

namespace {

// Records an accepted time point: into the output from tstart on (and the initial point when
// tstart is 0), and to the observer always. Shared by the implicit and explicit drivers.
Status EmitPoint(const netlist::Analysis& an, int step, double time, double h, Method method,
                 bool restart, const std::vector<double>& x, const OutputSelection& sel,
                 StepObserver* observer, WaveformTable* out) {
  if (out->max_points > 0 && step > out->max_points) {
    return Status::Error(fmt::format("stopped at t = {} s after {} time points, the limit ({})",
                                     Sec(time), out->max_points, base::Opt("max_points")),
                         "the step control took more steps than estimated; raise the limit with " +
                             base::Opt("max_points") + " N or relax .options reltol/trtol");
  }
  if (time >= an.tstart - 1e-12 * an.tstop || (step == 0 && an.tstart <= 0.0)) {
    if (Status s = sel.Emit(time, x.data(), out); !s.ok()) return s;
  }
  if (observer != nullptr) {
    StepInfo si;
    si.step = step;
    si.time = time;
    si.h = h;
    si.method = method;
    si.restart = restart;
    si.x = x.data();
    observer->OnStep(si);
  }
  return Status::Ok();
}

StepControl MakeStepControl(const netlist::Analysis& an, const SimOptions& o,
                            std::vector<std::unique_ptr<devices::Device>>& devices) {
  StepControl sc;
  sc.fixed = o.fixed_step > 0.0;
  sc.fixed_h = o.fixed_step;
  sc.maxstep = o.maxstep > 0.0 ? o.maxstep
               : an.tmax > 0.0 ? an.tmax
                               : std::min(an.tstep, (an.tstop - an.tstart) / 50.0);
  sc.maxstep = std::min(sc.maxstep, an.tstop);
  sc.hmin = 1e-9 * sc.maxstep;
  sc.h0 = std::min({an.tstep, an.tstop / 100.0, sc.maxstep}) / 10.0;
  if (!sc.fixed) {
    for (auto& d : devices) d->Breakpoints(an.tstop, &sc.breakpoints);
  }
  std::vector<double> bps;
  for (double b : sc.breakpoints) {
    if (std::isfinite(b) && b > sc.hmin && b < an.tstop - sc.hmin) bps.push_back(b);
  }
  std::sort(bps.begin(), bps.end());
  std::vector<double> merged;
  for (double b : bps) {
    if (merged.empty() || b - merged.back() > sc.hmin) merged.push_back(b);
  }
  merged.push_back(an.tstop);
  sc.breakpoints = std::move(merged);
  return sc;
}

// Refuses up front a transient whose time points cannot fit the limits: every step is at most the
// fixed step or maxstep long, so tstop / step is a lower bound of the count.
Status CheckPointBudget(const StepControl& sc, const netlist::Analysis& an,
                        const OutputSelection& sel, int64_t max_points, const WaveformTable& out) {
  const double step = sc.fixed ? sc.fixed_h : sc.maxstep;
  const double points = an.tstop / step + static_cast<double>(sc.breakpoints.size());
  const std::string hint =
      sc.fixed ? "use a larger " + base::Opt("fixed_step") + " or a shorter stop time"
               : "check the .tran step, tmax and .options maxstep (is a unit suffix missing?)";
  if (max_points <= 0 || points <= static_cast<double>(max_points)) {
    return out.CheckBudget(points, hint);  // the memory limit of kept points
  }
  // In memory and in a binary raw file: the scale and every signal as 8-byte doubles.
  const double bytes = (an.tstop - an.tstart) / step * 8.0 * (sel.names.size() + 1.0);
  return Status::Refused(
      fmt::format(".tran to {:g} s with {} step {:g} s needs at least {:.3g} time points "
                  "(about {} of waveforms), over the limit of {} points",
                  an.tstop, sc.fixed ? "a fixed" : "a largest", step, points, FormatBytes(bytes),
                  max_points),
      hint + ", or raise the limit with " + base::Opt("max_points") + " N");
}

// The charges of the accepted points since the last restart and the local truncation error of a
// new point from their divided differences (the implicit driver's step control).
class LteHistory {
 public:
  explicit LteHistory(int n) : qh_(kDepth, std::vector<double>(n, 0.0)) {}

  // Starts the history at the point (time, q).
  void Restart(double time, const std::vector<double>& q) {
    count_ = 1;
    qh_[0] = q;
    th_[0] = time;
  }
  // Adds the accepted point (time, q); `restart` forgets the older points (a breakpoint).
  void Push(double time, const std::vector<double>& q, bool restart) {
    if (restart) {
      count_ = 1;
    } else {
      std::rotate(qh_.begin(), qh_.begin() + kDepth - 1, qh_.end());
      th_[3] = th_[2];
      th_[2] = th_[1];
      th_[1] = th_[0];
      count_ = std::min(count_ + 1, kDepth);
    }
    qh_[0] = q;
    th_[0] = time;
  }
  // Whether enough points are known for an estimate.
  bool CanEstimate() const { return count_ + 1 >= 3; }

  // The largest ratio of the estimated error to its tolerance over `rows` for the candidate point
  // (t + h, qnew) with slopes qdotnew (and qdotn at the previous point); *worst receives its row
  // and *order the order of the divided difference used.
  double Ratio(const LmsCoefficients& co, double t, double h, const std::vector<double>& qnew,
               const std::vector<double>& qdotnew, const std::vector<double>& qdotn,
               const std::vector<int>& rows, const SimOptions& o, int* worst, int* order) const {
    const int k = co.order;
    const int d = (count_ + 1 >= k + 2) ? k + 1 : 2;
    *order = d;
    const double cerr = (d == k + 1) ? co.err_const : 0.5;
    const double fact = d == 2 ? 2.0 : 6.0;
    const double hd = std::pow(h, d);
    const double t0 = t + h, t1 = th_[0], t2 = th_[1], t3 = th_[2];
    const double i01 = 1.0 / (t0 - t1), i12 = 1.0 / (t1 - t2), i02 = 1.0 / (t0 - t2);
    const double i23 = d == 3 ? 1.0 / (t2 - t3) : 0.0, i13 = d == 3 ? 1.0 / (t1 - t3) : 0.0,
                 i03 = d == 3 ? 1.0 / (t0 - t3) : 0.0;
    const double inv_h = 1.0 / h;
    const double scale = std::abs(cerr * hd * fact) * inv_h;
    const double* q1v = qh_[0].data();
    const double* q2v = qh_[1].data();
    const double* q3v = qh_[2].data();
    double ratio = 0.0;
    for (const int i : rows) {
      const double q0 = qnew[i], q1 = q1v[i], q2 = q2v[i];
      const double d01 = (q0 - q1) * i01, d12 = (q1 - q2) * i12;
      double dd = (d01 - d12) * i02;
      if (d == 3) {
        const double d23 = (q2 - q3v[i]) * i23;
        dd = (dd - (d12 - d23) * i13) * i03;
      }
      if (dd == 0.0) continue;
      const double err = scale * std::abs(dd);
      const double volttol =
          o.reltol * std::max(std::abs(qdotnew[i]), std::abs(qdotn[i])) + o.abstol;
      const double chargetol = o.reltol * std::max({std::abs(q0), std::abs(q1), o.chgtol}) * inv_h;
      const double r = err / (o.trtol * std::max(volttol, chargetol));
      if (r > ratio) {
        ratio = r;
        *worst = i;
      }
    }
    return ratio;
  }

 private:
  static constexpr int kDepth = 4;  // q_{n+1} and three earlier points: third differences
  std::vector<std::vector<double>> qh_;
  double th_[kDepth] = {0, 0, 0, 0};
  int count_ = 1;
};

// Checks an accepted point: every unknown finite and every checked device's state valid.
Status CheckAcceptedPoint(const Circuit& circuit, const std::vector<devices::Device*>& checked,
                          const std::vector<double>& x, double time, const std::string& finite_hint,
                          const std::string& state_hint) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      return Status::Error(fmt::format("{} became non-finite at t = {} s",
                                       circuit.DescribeUnknown(static_cast<int>(i)), Sec(time)),
                           finite_hint);
    }
  }
  for (devices::Device* d : checked) {
    std::string msg = d->CheckState(x.data());
    if (!msg.empty())
      return Status::Error(fmt::format("{} at t = {} s", msg, Sec(time)), state_hint);
  }
  return Status::Ok();
}

// The error of an implicit step whose Newton iteration failed at t + h, or Ok when a smaller step
// may be tried (adaptive stepping).
Status ImplicitStepFailure(const Engine& engine, const Circuit& circuit, const NewtonOutcome& no,
                           bool fixed, double t, double h) {
  if (no.singular) {
    return Status::Error(fmt::format("{} at t = {} s (h = {} s)", engine.SingularMessage(no.worst),
                                     Sec(t + h), Sec(h)),
                         "check for nodes connected only through capacitors and current "
                         "sources, and for loops of voltage sources or inductors");
  }
  if (fixed) {
    return Status::Error(
        fmt::format("Newton failed at t = {} s (h = {} s): largest residual at {}", Sec(t + h),
                    Sec(h), circuit.DescribeUnknown(no.worst)),
        "use a smaller " + base::Opt("fixed_step") + ", adaptive stepping, or raise .options itl4");
  }
  return Status::Ok();
}

// The adaptive step after an accepted step of hprev: back to h0 after a breakpoint, doubled when
// the error estimate (ratio < 0: none) allows.
double NextImplicitStep(const StepControl& sc, bool hit, double ratio, int order, double h,
                        double hprev) {
  if (hit) return std::min(hprev, sc.h0);
  if (ratio >= 0.0) {
    const double grow = ratio > 0.0 ? 0.9 * std::pow(ratio, -1.0 / (order + 1)) : 1e9;
    return grow >= 2.0 ? std::min(2.0 * h, sc.maxstep) : h;
  }
  return std::min(2.0 * h, sc.maxstep);
}

// The point at t = 0 of the implicit driver: always to the observer, to the table only when
// tstart is 0.
Status EmitInitialPoint(const netlist::Analysis& an, Method method, const std::vector<double>& x,
                        const OutputSelection& sel, StepObserver* observer, WaveformTable* out) {
  if (an.tstart <= 0.0) {
    if (Status s = sel.Emit(0.0, x.data(), out); !s.ok()) return s;
  }
  if (observer != nullptr) {
    StepInfo si;
    si.time = 0.0;
    si.method = method;
    si.x = x.data();
    observer->OnStep(si);
  }
  return Status::Ok();
}

// 0, 1, ..., n - 1.
std::vector<int> AllRows(int n) {
  std::vector<int> rows(n);
  for (int i = 0; i < n; ++i) rows[i] = i;
  return rows;
}

}  // namespace

namespace {

// Solves the steps of an implicit method, f(x, t + h) + a0 q(x) + b = 0, with the step solver of
// an observer that has one (the adjoint's exact tape), else the linear fast path for a linear
// circuit (one solve per step without the device loop, linear_step.h), else Newton.
class ImplicitStepper {
 public:
  ImplicitStepper(const Circuit& circuit, Assembler& assembler, KluSolver& klu,
                  NewtonSolver& newton, NewtonOptions nopt, const SimOptions& o,
                  ImplicitStepSolver* exact, const double* ones)
      : asm_(assembler),
        newton_(newton),
        nopt_(nopt),
        bypass_{o.reltol, o.vntol, o.abstol},
        use_bypass_(o.bypass),
        exact_(exact),
        n_(static_cast<int>(circuit.unknowns().size())),
        wq_(n_),
        b_(n_) {
    req_.dc = false;
    req_.gmin = o.gmin;
    req_.time = 0.0;
    if (circuit.all_linear() && exact_ == nullptr) {
      newton_.Invalidate();
      fast_ = std::make_unique<LinearStep>(asm_, klu, req_);
      if (!fast_->valid()) fast_.reset();
    }
    sys_.wf = ones;
    sys_.wq = wq_.data();
    sys_.b = b_.data();
  }
  ~ImplicitStepper() {
    if (fast_ != nullptr) newton_.Invalidate();  // the KLU factorization is no longer Newton's
  }

  // The rows the truncation error comes from: those with a charge.
  std::vector<int> LteRows() const { return fast_ != nullptr ? fast_->charge_rows() : AllRows(n_); }
  // The fast path solves from scratch: it needs no initial guess.
  bool NeedsGuess() const { return fast_ == nullptr; }

  // q at the initial point x (which the exact solver may refine).
  Status Start(std::vector<double>* x, std::vector<double>* q) {
    if (exact_ != nullptr) return exact_->Start(x, q->data());
    asm_.Evaluate(x->data(), req_);
    std::copy(asm_.q(), asm_.q() + n_, q->begin());
    return Status::Ok();
  }

  // The step to `time` with coefficients co and the history (q, q_prev, qdot) of the last point:
  // x from the guess in *x, its q and qdot = a0 q + b.
  NewtonOutcome Step(const LmsCoefficients& co, double time, const std::vector<double>& qn,
                     const std::vector<double>& qprev, const std::vector<double>& qdotn,
                     std::vector<double>* x, std::vector<double>* q, std::vector<double>* qdot) {
    sys_.matrix_changed = co.a0 != last_a0_;
    sys_.matrix_key = co.a0;
    if (sys_.matrix_changed) {
      std::fill(wq_.begin(), wq_.end(), co.a0);
      last_a0_ = co.a0;
    }
    co.History(n_, qn.data(), qprev.data(), qdotn.data(), b_.data());
    req_.time = time;
    NewtonOutcome no;
    if (exact_ != nullptr) {
      no.converged = exact_->Solve(time, co.a0, b_.data(), x->data(), q->data(), &no.worst);
    } else if (fast_ != nullptr) {
      no.converged = fast_->Solve(co.a0, time, b_.data(), x->data(), q->data());
      no.singular = !no.converged;
      no.worst = fast_->singular_col();
    } else {
      // Devices may bypass re-evaluation within Newton's tolerances (the adjoint's exact tape,
      // which solves the steps itself, never does).
      EvalRequest newton_req = req_;
      newton_req.bypass = use_bypass_ ? &bypass_ : nullptr;
      no = newton_.Solve(x->data(), newton_req, sys_, nopt_);
      if (no.converged) std::copy(asm_.q(), asm_.q() + n_, q->begin());
    }
    if (no.converged) {
      for (int i = 0; i < n_; ++i) (*qdot)[i] = co.a0 * (*q)[i] + b_[i];
    }
    return no;
  }

 private:
  Assembler& asm_;
  NewtonSolver& newton_;
  const NewtonOptions nopt_;
  const devices::BypassTolerances bypass_;
  const bool use_bypass_;
  ImplicitStepSolver* exact_;
  std::unique_ptr<LinearStep> fast_;
  const int n_;
  EvalRequest req_;
  NewtonSystem sys_;
  std::vector<double> wq_, b_;
  double last_a0_ = kNaN;
};

// The step after a failed Newton iteration at t + h: an eighth of it, or an error when that is
// below hmin (ImplicitStepFailure gives the errors of fixed steps and singular matrices).
Status ShrinkAfterNewtonFailure(const Circuit& circuit, const StepControl& sc,
                                const NewtonOutcome& no, double t, double* h) {
  *h /= 8.0;
  if (*h >= sc.hmin) return Status::Ok();
  return Status::Error(fmt::format("time step too small at t = {} s: {} does not converge", Sec(t),
                                   circuit.DescribeUnknown(no.worst)),
                       "Newton fails even for tiny steps; check the device parameters near this "
                       "time, or raise .options itl4");
}

// The step after a step rejected for its truncation error (ratio > 1 with a divided difference
// of order d), or an error when that is below hmin.
Status ShrinkAfterLte(const Circuit& circuit, const StepControl& sc, double ratio, int d, int worst,
                      double t, double* h) {
  const double factor =
      std::isfinite(ratio) ? std::max(0.25, 0.9 * std::pow(ratio, -1.0 / (d))) : 0.25;
  *h *= factor;
  if (*h >= sc.hmin) return Status::Ok();
  return Status::Error(fmt::format("time step too small at t = {} s: {} does not converge", Sec(t),
                                   circuit.DescribeUnknown(worst)),
                       "the local truncation error stays too large; check for discontinuities or "
                       "relax .options reltol/trtol");
}

}  // namespace

Status Engine::TransientImplicit(const netlist::Analysis& an, Method method,
                                 const OutputSelection& sel, StepObserver* observer,
                                 WaveformTable* out, std::vector<double> xn) {
  StepControl sc = MakeStepControl(an, o_, c_.devices());
  const double tstop = an.tstop;
  if (Status s = CheckPointBudget(sc, an, sel, o_.max_points, *out); !s.ok()) return s;
  const bool linear = c_.all_linear();
  NewtonOptions nopt = TranNewtonOptions();
  // The chord iteration saves factorisations at the price of more evaluations (its updates must
  // reach kChordErrorFraction of the tolerance): it pays on large arrays of cheap devices, not on
  // junction devices (diodes, BJTs, MOSFETs), whose evaluation dominates and whose Newton limiting
  // moves the linearisation point between iterations.
  nopt.chord = !linear && !c_.has_limiting_state();
  // SPICE's convergence test on the update alone (devices may bypass re-evaluation:
  // ImplicitStepper).
  nopt.accept_update = !linear && o_.bypass;
  Progress progress(o_.progress, "tran");

  std::vector<double> xprev = xn, xtry(n_), qn(n_), qprev(n_), qdotn(n_, 0.0), qnew(n_),
                      qdotnew(n_);
  LteHistory history(n_);
  ImplicitStepper stepper(c_, asm_, klu_, newton_, nopt, o_,
                          observer != nullptr ? observer->step_solver() : nullptr, ones_.data());
  const std::vector<int> lte_rows = stepper.LteRows();
  const std::vector<devices::Device*> checked = StateCheckedDevices(c_.devices());
  if (Status s = stepper.Start(&xn, &qn); !s.ok()) return s;
  qprev = qn;
  history.Restart(0.0, qn);

  double t = 0.0;
  int step = 0;
  if (Status s = EmitInitialPoint(an, method, xn, sel, observer, out); !s.ok()) return s;
  // Linear circuits keep the factorizations of recent step sizes (restarts after breakpoints
  // return to the same h0, 2 h0, ... sequence).
  if (linear) klu_.set_cache_capacity(8);
  double h = sc.fixed ? sc.fixed_h : sc.h0;
  double hprev = 0.0;
  bool restart = true;
  const double t_end_tol = sc.fixed ? 1e-9 * sc.fixed_h : sc.hmin;
  while (t < tstop - t_end_tol) {
    bool hit = false;
    h = sc.Clip(t, sc.fixed ? sc.fixed_h : h, &hit);
    const LmsCoefficients co = ComputeLms(method, h, hprev, restart || hprev <= 0.0);
    const bool predicted = !linear && !restart && hprev > 0.0;
    if (predicted) {
      PredictLinear(n_, h, hprev, xn.data(), xprev.data(), xtry.data());
    } else if (stepper.NeedsGuess()) {
      xtry = xn;
    }
    const NewtonOutcome no = stepper.Step(co, t + h, qn, qprev, qdotn, &xtry, &qnew, &qdotnew);
    if (!no.converged) {
      if (Status s = ImplicitStepFailure(*this, c_, no, sc.fixed, t, h); !s.ok()) return s;
      restart = true;
      if (Status s = ShrinkAfterNewtonFailure(c_, sc, no, t, &h); !s.ok()) return s;
      continue;
    }
    // Local truncation error from divided differences of q over the points since the restart.
    double ratio = -1.0;  // < 0: no estimate
    if (!sc.fixed && history.CanEstimate()) {
      int worst = -1, d = 0;
      ratio = history.Ratio(co, t, h, qnew, qdotnew, qdotn, lte_rows, o_, &worst, &d);
      if (!(ratio <= 1.0)) {
        if (Status s = ShrinkAfterLte(c_, sc, ratio, d, worst, t, &h); !s.ok()) return s;
        continue;
      }
    }
    // Accept.
    if (Status s = CheckAcceptedPoint(c_, checked, xtry, t + h,
                                      "reduce the step (.options maxstep) or check device "
                                      "parameters",
                                      "reduce the step (" + base::Opt("fixed_step") +
                                          " or .options maxstep) or check the model parameters");
        !s.ok()) {
      return s;
    }
    xprev.swap(xn);
    xn.swap(xtry);
    qprev.swap(qn);
    qn.swap(qnew);
    qdotn.swap(qdotnew);
    hprev = h;
    // Land exactly on the breakpoint (or tstop) rather than on a rounded t + h.
    t = hit ? sc.breakpoints[std::min(sc.next, sc.breakpoints.size() - 1)] : t + h;
    ++step;
    restart = hit && !sc.fixed;
    history.Push(t, qn, restart);
    if (Status s = EmitPoint(an, step, t, hprev, co.method, !predicted, xn, sel, observer, out);
        !s.ok()) {
      return s;
    }
    progress.Update(t / tstop);
    if (!sc.fixed) h = NextImplicitStep(sc, hit, ratio, co.order, h, hprev);
  }
  if (std::getenv("MEMSPICE_SOLVER_STATS") != nullptr) {
    std::fprintf(stderr,
                 "solver: %d steps, %d evaluations, %d factorizations, %d refactorizations\n", step,
                 asm_.num_evaluations(), klu_.num_factor(), klu_.num_refactor());
  }
  return Status::Ok();
}

namespace {

// One step of an explicit method (FE, RK4) on the DAE: the method integrates the charges of the
// differential rows, and every stage solves the algebraic rows for the unknowns,
//   { q_D(x) = Q, f_A(x, time) = 0 }.
class ExplicitStepper {
 public:
  // Classifies the rows at x0 (the initial point).
  ExplicitStepper(const Circuit& circuit, Assembler& assembler, NewtonSolver& newton,
                  const NewtonOptions& nopt, const SimOptions& o, Method method,
                  const std::vector<double>& x0)
      : c_(circuit),
        asm_(assembler),
        newton_(newton),
        nopt_(nopt),
        method_(method),
        n_(static_cast<int>(x0.size())),
        wf_(n_),
        wq_(n_),
        b_(n_, 0.0),
        Q_(n_),
        k1_(n_),
        k2_(n_),
        k3_(n_),
        k4_(n_),
        fs_(n_),
        qs_(n_) {
    req_.dc = false;
    req_.gmin = o.gmin;
    req_.time = 0.0;
    asm_.Evaluate(x0.data(), req_);
    diff_ = DifferentialRows(c_, asm_.C());
    for (int i = 0; i < n_; ++i) (diff_[i] ? wq_ : wf_)[i] = 1.0;
    sys_.wf = wf_.data();
    sys_.wq = wq_.data();
    sys_.b = b_.data();
    sys_.matrix_changed = true;
  }

  // Makes the initial point consistent with the algebraic equations (matters with uic): x is
  // solved in place, f and q at it go to f and q.
  bool Start(std::vector<double>* x, std::vector<double>* f, std::vector<double>* q) {
    std::copy(asm_.q(), asm_.q() + n_, Q_.begin());
    return Stage(Q_, 0.0, x, f, q);
  }

  // One step of the method from (x0, f0, q0) at t over h into (x1, f1, q1).
  bool Step(const std::vector<double>& x0, const std::vector<double>& f0,
            const std::vector<double>& q0, double t, double h, std::vector<double>* x1,
            std::vector<double>* f1, std::vector<double>* q1) {
    *x1 = x0;
    if (method_ == Method::kForwardEuler) {
      for (int i = 0; i < n_; ++i) Q_[i] = q0[i] - h * f0[i];
      return Stage(Q_, t + h, x1, f1, q1);
    }
    for (int i = 0; i < n_; ++i) {
      k1_[i] = -f0[i];
      Q_[i] = q0[i] + 0.5 * h * k1_[i];
    }
    if (!Stage(Q_, t + 0.5 * h, x1, &fs_, &qs_)) return false;
    for (int i = 0; i < n_; ++i) {
      k2_[i] = -fs_[i];
      Q_[i] = q0[i] + 0.5 * h * k2_[i];
    }
    if (!Stage(Q_, t + 0.5 * h, x1, &fs_, &qs_)) return false;
    for (int i = 0; i < n_; ++i) {
      k3_[i] = -fs_[i];
      Q_[i] = q0[i] + h * k3_[i];
    }
    if (!Stage(Q_, t + h, x1, &fs_, &qs_)) return false;
    for (int i = 0; i < n_; ++i) {
      k4_[i] = -fs_[i];
      Q_[i] = q0[i] + h / 6.0 * (k1_[i] + 2.0 * k2_[i] + 2.0 * k3_[i] + k4_[i]);
    }
    return Stage(Q_, t + h, x1, f1, q1);
  }

  // Why the last Start or Step failed.
  const Status& failure() const { return failure_; }
  const std::vector<char>& diff() const { return diff_; }

 private:
  // Solves { q_D(x) = Q, f_A(x, time) = 0 } from the guess in *x; f and q at the result go to
  // f_out/q_out.
  bool Stage(const std::vector<double>& Q, double time, std::vector<double>* x,
             std::vector<double>* f_out, std::vector<double>* q_out) {
    for (int i = 0; i < n_; ++i) {
      b_[i] = diff_[i] ? -Q[i] : 0.0;
      if (!std::isfinite(b_[i])) {
        failure_ = Status::Error(fmt::format("the charge of {} became non-finite at t = {} s",
                                             c_.DescribeUnknown(i), Sec(time)),
                                 ExplicitStabilityHint());
        return false;
      }
    }
    req_.time = time;
    NewtonOutcome no = newton_.Solve(x->data(), req_, sys_, nopt_);
    sys_.matrix_changed = false;
    if (!no.converged) {
      failure_ = StageFailure(no, time);
      return false;
    }
    std::copy(asm_.f(), asm_.f() + n_, f_out->begin());
    std::copy(asm_.q(), asm_.q() + n_, q_out->begin());
    return true;
  }

  Status StageFailure(const NewtonOutcome& no, double time) const {
    const char* mname = MethodName(method_);
    if (!no.singular) {
      return Status::Error(fmt::format("Newton failed at t = {} s in an {} stage: largest "
                                       "residual at {}",
                                       Sec(time), mname, c_.DescribeUnknown(no.worst)),
                           ExplicitStabilityHint());
    }
    // A branch current with entries only in differential rows: name the node of that row.
    int where = no.worst;
    if (where >= 0 && c_.unknowns()[where].kind != devices::UnknownKind::kNode) {
      for (int k = c_.col_ptr()[where]; k < c_.col_ptr()[where + 1]; ++k) {
        const int row = c_.row_idx()[k];
        if (diff_[row] && c_.unknowns()[row].kind == devices::UnknownKind::kNode) {
          where = row;
          break;
        }
      }
    }
    return Status::Error(
        fmt::format("explicit method {} cannot integrate this circuit: singular matrix at "
                    "{} when solving for the charges at t = {} s (a capacitor fixed by "
                    "voltage sources, or a node without capacitance between capacitors)",
                    mname, c_.DescribeUnknown(where), Sec(time)),
        "use an implicit method: " + base::Opt("method") + " be, trap or gear2");
  }

  const Circuit& c_;
  Assembler& asm_;
  NewtonSolver& newton_;
  const NewtonOptions nopt_;
  const Method method_;
  const int n_;
  EvalRequest req_;
  NewtonSystem sys_;
  std::vector<char> diff_;
  std::vector<double> wf_, wq_, b_, Q_, k1_, k2_, k3_, k4_, fs_, qs_;
  Status failure_ = Status::Ok();
};

// The stop of an explicit run when the step x0 -> x1 ending at `time`, taken with step h, shows
// divergence (see DivergenceGuard); Ok otherwise.
Status CheckGrowth(DivergenceGuard& guard, const Circuit& circuit, Method method,
                   const std::vector<double>& x0, const std::vector<double>& x1, double time,
                   double h) {
  std::string why;
  const int i = guard.Check(x0, x1, &why);
  if (i < 0) return Status::Ok();
  const char* mname = MethodName(method);
  return Status::Error(
      fmt::format("{} diverges under {} at t = {} s (step {} s): {}", circuit.DescribeUnknown(i),
                  mname, Sec(time), Sec(h), why),
      fmt::format("the step is beyond the stability limit of {}: use a smaller {} (e.g. {} s) "
                  "or an implicit method: {} be|trap|gear2",
                  mname, base::Opt("fixed_step"), Sec(h / 10.0), base::Opt("method")));
}

// The step-doubling error of an explicit step: the largest ratio over the differential rows of
// |q(two half steps) - q(one step)| / (2^p - 1) to its tolerance; *worst receives its row.
double StepDoublingRatio(const std::vector<char>& diff, const std::vector<double>& q_halves,
                         const std::vector<double>& q_full, const std::vector<double>& q_start,
                         int order, const SimOptions& o, int* worst) {
  const double denom = std::pow(2.0, order) - 1.0;
  double ratio = 0.0;
  for (size_t i = 0; i < diff.size(); ++i) {
    if (!diff[i]) continue;
    const double err = std::abs(q_halves[i] - q_full[i]) / denom;
    const double tol = o.reltol * std::max(std::abs(q_halves[i]), std::abs(q_start[i])) + o.chgtol;
    const double r = err / tol;
    if (!(r <= ratio)) {
      ratio = std::isnan(r) ? INFINITY : r;
      *worst = static_cast<int>(i);
    }
  }
  return ratio;
}

}  // namespace

Status Engine::TransientExplicit(const netlist::Analysis& an, Method method,
                                 const OutputSelection& sel, StepObserver* observer,
                                 WaveformTable* out, std::vector<double> xn) {
  StepControl sc = MakeStepControl(an, o_, c_.devices());
  const double tstop = an.tstop;
  if (Status s = CheckPointBudget(sc, an, sel, o_.max_points, *out); !s.ok()) return s;
  Progress progress(o_.progress, "tran");
  ExplicitStepper stepper(c_, asm_, newton_, TranNewtonOptions(), o_, method, xn);
  std::vector<double> fn(n_), qn(n_);
  if (!stepper.Start(&xn, &fn, &qn)) return stepper.failure();

  int step = 0;
  auto emit = [&](double time, double h, const std::vector<double>& x) {
    return EmitPoint(an, step, time, h, method, false, x, sel, observer, out);
  };
  const std::vector<devices::Device*> checked = StateCheckedDevices(c_.devices());
  const std::string hint = ExplicitStabilityHint();
  DivergenceGuard guard(c_.unknowns(), xn);
  auto check = [&](const std::vector<double>& x, double time) {
    return CheckAcceptedPoint(c_, checked, x, time, hint, hint);
  };
  // The step x0 -> x1 ending at `time`, taken with step h.
  auto check_growth = [&](const std::vector<double>& x0, const std::vector<double>& x1, double time,
                          double h) { return CheckGrowth(guard, c_, method, x0, x1, time, h); };
  if (Status s = emit(0.0, 0.0, xn); !s.ok()) return s;

  double t = 0.0;
  std::vector<double> x1(n_), f1(n_), q1(n_);
  const double t_end_tol = sc.fixed ? 1e-9 * sc.fixed_h : sc.hmin;
  if (sc.fixed) {
    while (t < tstop - t_end_tol) {
      bool hit = false;
      const double h = sc.Clip(t, sc.fixed_h, &hit);
      if (!stepper.Step(xn, fn, qn, t, h, &x1, &f1, &q1)) {
        const Status& failure = stepper.failure();
        return Status::Error(failure.message() + fmt::format(" (h = {} s)", Sec(h)),
                             failure.hint());
      }
      t = hit ? tstop : t + h;
      Status s = check(x1, t);
      if (s.ok()) s = check_growth(xn, x1, t, h);
      if (!s.ok()) return s;
      xn.swap(x1);
      fn.swap(f1);
      qn.swap(q1);
      ++step;
      if (Status e = emit(t, h, xn); !e.ok()) return e;
      progress.Update(t / tstop);
    }
    return Status::Ok();
  }

  // Adaptive: step doubling. One step of H and two of H/2; the two half steps are accepted.
  const int p = MethodOrder(method);
  std::vector<double> xb(n_), fb(n_), qb(n_), xm(n_), fm(n_), qm(n_);
  double H = 2.0 * sc.h0;
  while (t < tstop - t_end_tol) {
    bool hit = false;
    H = sc.Clip(t, H, &hit);
    const double hh = 0.5 * H;
    bool ok = stepper.Step(xn, fn, qn, t, H, &xb, &fb, &qb) &&
              stepper.Step(xn, fn, qn, t, hh, &xm, &fm, &qm) &&
              stepper.Step(xm, fm, qm, t + hh, hh, &x1, &f1, &q1);
    double ratio = 0.0;
    int worst = -1;
    if (ok) {
      ratio = StepDoublingRatio(stepper.diff(), q1, qb, qn, p, o_, &worst);
    } else if (stepper.failure().message().find("singular") != std::string::npos) {
      return stepper.failure();
    }
    if (!ok || ratio > 1.0) {
      H *= ok ? std::max(0.25, 0.9 * std::pow(ratio, -1.0 / (p + 1))) : 0.25;
      if (!std::isfinite(H) || H < sc.hmin) {
        if (!ok) return stepper.failure();
        return Status::Error(fmt::format("time step too small at t = {} s: {} does not converge",
                                         Sec(t), c_.DescribeUnknown(worst)),
                             "explicit methods are only stable for small steps: use " +
                                 base::Opt("method") + " be|trap|gear2");
      }
      continue;
    }
    Status s = check(xm, t + hh);
    if (s.ok()) s = check(x1, t + H);
    if (s.ok()) s = check_growth(xn, xm, t + hh, hh);
    if (s.ok()) s = check_growth(xm, x1, t + H, hh);
    if (!s.ok()) return s;
    ++step;
    if (Status e = emit(t + hh, hh, xm); !e.ok()) return e;
    t = hit ? sc.breakpoints[std::min(sc.next, sc.breakpoints.size() - 1)] : t + H;
    xn.swap(x1);
    fn.swap(f1);
    qn.swap(q1);
    ++step;
    if (Status e = emit(t, hh, xn); !e.ok()) return e;
    progress.Update(t / tstop);
    const double grow = ratio > 0.0 ? 0.9 * std::pow(ratio, -1.0 / (p + 1)) : 1e9;
    if (hit) {
      H = std::min(H, 2.0 * sc.h0);
    } else if (grow >= 2.0) {
      H = std::min(2.0 * H, sc.maxstep);
    }
  }
  return Status::Ok();
}

}  // namespace memspice::solver
