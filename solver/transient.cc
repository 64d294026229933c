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
    std::vector<double> wf(n_, 1.0), wq(n_, 0.0), b(n_, 0.0);
    for (int j = 0; j < n_; ++j) {
      for (int k = c_.col_ptr()[j]; k < c_.col_ptr()[j + 1]; ++k) {
        const int row = c_.row_idx()[k];
        if (asm_.C()[k] != 0.0) wf[row] = 0.0, wq[row] = 1.0;
      }
    }
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

}  // namespace

Status Engine::TransientImplicit(const netlist::Analysis& an, Method method,
                                 const OutputSelection& sel, StepObserver* observer,
                                 WaveformTable* out, std::vector<double> xn) {
  StepControl sc = MakeStepControl(an, o_, c_.devices());
  const double tstop = an.tstop;
  if (Status s = CheckPointBudget(sc, an, sel, o_.max_points, *out); !s.ok()) return s;
  const bool linear = c_.all_linear();
  // An observer that solves the steps itself (the adjoint's exact tape) replaces Newton and the
  // linear fast path.
  ImplicitStepSolver* exact = observer != nullptr ? observer->step_solver() : nullptr;
  NewtonOptions nopt = TranNewtonOptions();
  // The chord iteration saves factorisations at the price of more evaluations (its updates must
  // reach kChordErrorFraction of the tolerance): it pays on large arrays of cheap devices, not on
  // junction devices (diodes, BJTs, MOSFETs), whose evaluation dominates and whose Newton limiting
  // moves the linearisation point between iterations.
  nopt.chord = !linear && !c_.has_limiting_state();
  // Devices may bypass re-evaluation within Newton's tolerances (the adjoint's exact tape, which
  // solves the steps itself, never does).
  const devices::BypassTolerances bypass{o_.reltol, o_.vntol, o_.abstol};
  nopt.accept_update = !linear && o_.bypass;
  Progress progress(o_.progress, "tran");

  std::vector<double> xprev = xn, xtry(n_), qn(n_), qprev(n_), qdotn(n_, 0.0), qnew(n_),
                      qdotnew(n_), b(n_), wq(n_);
  std::vector<std::vector<double>> qh(4, std::vector<double>(n_, 0.0));  // q since last restart
  double th[4] = {0, 0, 0, 0};
  int nh = 1;

  EvalRequest req;
  req.dc = false;
  req.gmin = o_.gmin;
  req.time = 0.0;
  // Linear circuits: one solve per step without the device loop (linear_step.h).
  std::unique_ptr<LinearStep> fast;
  if (linear && exact == nullptr) {
    newton_.Invalidate();
    fast = std::make_unique<LinearStep>(asm_, klu_, req);
    if (!fast->valid()) fast.reset();
  }
  // The truncation error only comes from rows with a charge.
  std::vector<int> lte_rows;
  if (fast != nullptr) {
    lte_rows = fast->charge_rows();
  } else {
    lte_rows.resize(n_);
    for (int i = 0; i < n_; ++i) lte_rows[i] = i;
  }
  const std::vector<devices::Device*> checked = StateCheckedDevices(c_.devices());
  if (exact != nullptr) {
    if (Status s = exact->Start(&xn, qn.data()); !s.ok()) return s;
  } else {
    asm_.Evaluate(xn.data(), req);
    std::copy(asm_.q(), asm_.q() + n_, qn.begin());
  }
  qprev = qn;
  qh[0] = qn;
  th[0] = 0.0;

  double t = 0.0;
  int step = 0;
  auto emit = [&](double time, double h, Method m, bool from_previous,
                  const std::vector<double>& x) {
    return EmitPoint(an, step, time, h, m, from_previous, x, sel, observer, out);
  };
  if (an.tstart <= 0.0 || observer != nullptr) {
    // Step 0 always goes to the observer; to the table only if tstart is 0.
    if (an.tstart <= 0.0) {
      if (Status s = sel.Emit(0.0, xn.data(), out); !s.ok()) return s;
    }
    if (observer != nullptr) {
      StepInfo si;
      si.time = 0.0;
      si.method = method;
      si.x = xn.data();
      observer->OnStep(si);
    }
  }

  NewtonSystem sys;
  sys.wf = ones_.data();
  sys.wq = wq.data();
  sys.b = b.data();
  // Linear circuits keep the factorizations of recent step sizes (restarts after breakpoints
  // return to the same h0, 2 h0, ... sequence).
  if (linear) klu_.set_cache_capacity(8);
  double h = sc.fixed ? sc.fixed_h : sc.h0;
  double hprev = 0.0, last_a0 = kNaN;
  bool restart = true;
  const double t_end_tol = sc.fixed ? 1e-9 * sc.fixed_h : sc.hmin;
  while (t < tstop - t_end_tol) {
    bool hit = false;
    h = sc.Clip(t, sc.fixed ? sc.fixed_h : h, &hit);
    const LmsCoefficients co = ComputeLms(method, h, hprev, restart || hprev <= 0.0);
    sys.matrix_changed = co.a0 != last_a0;
    sys.matrix_key = co.a0;
    if (sys.matrix_changed) {
      std::fill(wq.begin(), wq.end(), co.a0);
      last_a0 = co.a0;
    }
    co.History(n_, qn.data(), qprev.data(), qdotn.data(), b.data());
    const bool predicted = !linear && !restart && hprev > 0.0;
    if (predicted) {
      PredictLinear(n_, h, hprev, xn.data(), xprev.data(), xtry.data());
    } else if (fast == nullptr) {
      xtry = xn;
    }
    req.time = t + h;
    NewtonOutcome no;
    if (exact != nullptr) {
      no.converged = exact->Solve(t + h, co.a0, b.data(), xtry.data(), qnew.data(), &no.worst);
    } else if (fast != nullptr) {
      no.converged = fast->Solve(co.a0, t + h, b.data(), xtry.data(), qnew.data());
      no.singular = !no.converged;
      no.worst = fast->singular_col();
    } else {
      EvalRequest newton_req = req;
      newton_req.bypass = o_.bypass ? &bypass : nullptr;
      no = newton_.Solve(xtry.data(), newton_req, sys, nopt);
    }
    if (!no.converged) {
      if (no.singular) {
        return Status::Error(
            fmt::format("{} at t = {} s (h = {} s)", SingularMessage(no.worst), Sec(t + h), Sec(h)),
            "check for nodes connected only through capacitors and current "
            "sources, and for loops of voltage sources or inductors");
      }
      if (sc.fixed) {
        return Status::Error(
            fmt::format("Newton failed at t = {} s (h = {} s): largest residual at {}", Sec(t + h),
                        Sec(h), c_.DescribeUnknown(no.worst)),
            "use a smaller " + base::Opt("fixed_step") +
                ", adaptive stepping, or raise .options itl4");
      }
      h /= 8.0;
      restart = true;
      if (h < sc.hmin) {
        return Status::Error(
            fmt::format("time step too small at t = {} s: {} does not converge", Sec(t),
                        c_.DescribeUnknown(no.worst)),
            "Newton fails even for tiny steps; check the device parameters near this time, "
            "or raise .options itl4");
      }
      continue;
    }
    if (fast == nullptr && exact == nullptr) std::copy(asm_.q(), asm_.q() + n_, qnew.begin());
    for (int i = 0; i < n_; ++i) qdotnew[i] = co.a0 * qnew[i] + b[i];

    // Local truncation error from divided differences of q over the points since the restart.
    double ratio = -1.0;  // < 0: no estimate
    int worst = -1;
    if (!sc.fixed && nh + 1 >= 3) {
      const int k = co.order;
      int d = (nh + 1 >= k + 2) ? k + 1 : 2;
      const double cerr = (d == k + 1) ? co.err_const : 0.5;
      const double fact = d == 2 ? 2.0 : 6.0;
      const double hd = std::pow(h, d);
      const double t0 = t + h, t1 = th[0], t2 = th[1], t3 = th[2];
      const double i01 = 1.0 / (t0 - t1), i12 = 1.0 / (t1 - t2), i02 = 1.0 / (t0 - t2);
      const double i23 = d == 3 ? 1.0 / (t2 - t3) : 0.0, i13 = d == 3 ? 1.0 / (t1 - t3) : 0.0,
                   i03 = d == 3 ? 1.0 / (t0 - t3) : 0.0;
      const double inv_h = 1.0 / h;
      const double scale = std::abs(cerr * hd * fact) * inv_h;
      const double* q1v = qh[0].data();
      const double* q2v = qh[1].data();
      const double* q3v = qh[2].data();
      ratio = 0.0;
      for (const int i : lte_rows) {
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
            o_.reltol * std::max(std::abs(qdotnew[i]), std::abs(qdotn[i])) + o_.abstol;
        const double chargetol =
            o_.reltol * std::max({std::abs(q0), std::abs(q1), o_.chgtol}) * inv_h;
        const double r = err / (o_.trtol * std::max(volttol, chargetol));
        if (r > ratio) {
          ratio = r;
          worst = i;
        }
      }
      if (!(ratio <= 1.0)) {
        const double factor =
            std::isfinite(ratio) ? std::max(0.25, 0.9 * std::pow(ratio, -1.0 / (d))) : 0.25;
        h *= factor;
        if (h < sc.hmin) {
          return Status::Error(
              fmt::format("time step too small at t = {} s: {} does not converge", Sec(t),
                          c_.DescribeUnknown(worst)),
              "the local truncation error stays too large; check for discontinuities or "
              "relax .options reltol/trtol");
        }
        continue;
      }
    }

    // Accept.
    for (int i = 0; i < n_; ++i) {
      if (!std::isfinite(xtry[i])) {
        return Status::Error(
            fmt::format("{} became non-finite at t = {} s", c_.DescribeUnknown(i), Sec(t + h)),
            "reduce the step (.options maxstep) or check device parameters");
      }
    }
    for (devices::Device* d : checked) {
      std::string msg = d->CheckState(xtry.data());
      if (!msg.empty()) {
        return Status::Error(fmt::format("{} at t = {} s", msg, Sec(t + h)),
                             "reduce the step (" + base::Opt("fixed_step") +
                                 " or .options maxstep) or check the model parameters");
      }
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
    if (hit && !sc.fixed) {
      nh = 1;
      restart = true;
    } else {
      std::rotate(qh.begin(), qh.begin() + 3, qh.end());
      th[3] = th[2];
      th[2] = th[1];
      th[1] = th[0];
      nh = std::min(nh + 1, 4);
      restart = false;
    }
    qh[0] = qn;
    th[0] = t;
    if (Status s = emit(t, hprev, co.method, !predicted, xn); !s.ok()) return s;
    progress.Update(t / tstop);
    if (!sc.fixed) {
      if (hit) {
        h = std::min(hprev, sc.h0);
      } else if (ratio >= 0.0) {
        const double grow = ratio > 0.0 ? 0.9 * std::pow(ratio, -1.0 / (co.order + 1)) : 1e9;
        if (grow >= 2.0) h = std::min(2.0 * h, sc.maxstep);
      } else {
        h = std::min(2.0 * h, sc.maxstep);
      }
    }
  }
  if (fast != nullptr) newton_.Invalidate();  // the KLU factorization is no longer Newton's
  if (std::getenv("MEMSPICE_SOLVER_STATS") != nullptr) {
    std::fprintf(stderr,
                 "solver: %d steps, %d evaluations, %d factorizations, %d refactorizations\n", step,
                 asm_.num_evaluations(), klu_.num_factor(), klu_.num_refactor());
  }
  return Status::Ok();
}

Status Engine::TransientExplicit(const netlist::Analysis& an, Method method,
                                 const OutputSelection& sel, StepObserver* observer,
                                 WaveformTable* out, std::vector<double> xn) {
  StepControl sc = MakeStepControl(an, o_, c_.devices());
  const double tstop = an.tstop;
  if (Status s = CheckPointBudget(sc, an, sel, o_.max_points, *out); !s.ok()) return s;
  const NewtonOptions nopt = TranNewtonOptions();
  Progress progress(o_.progress, "tran");
  const char* mname = MethodName(method);

  // Rows whose charge depends on x are differential; the others are algebraic.
  EvalRequest req;
  req.dc = false;
  req.gmin = o_.gmin;
  req.time = 0.0;
  asm_.Evaluate(xn.data(), req);
  std::vector<char> diff(n_, 0);
  {
    const auto& cp = c_.col_ptr();
    const auto& ri = c_.row_idx();
    for (int j = 0; j < n_; ++j) {
      for (int k = cp[j]; k < cp[j + 1]; ++k) {
        if (asm_.C()[k] != 0.0) diff[ri[k]] = 1;
      }
    }
  }
  std::vector<double> wf(n_), wq(n_), b(n_, 0.0);
  for (int i = 0; i < n_; ++i) {
    wf[i] = diff[i] ? 0.0 : 1.0;
    wq[i] = diff[i] ? 1.0 : 0.0;
  }
  NewtonSystem sys;
  sys.wf = wf.data();
  sys.wq = wq.data();
  sys.b = b.data();
  sys.matrix_changed = true;

  Status failure = Status::Ok();
  // Solves { q_D(x) = Q, f_A(x, time) = 0 } from the guess in *x; f and q at the result go to
  // f_out/q_out.
  auto stage = [&](const std::vector<double>& Q, double time, std::vector<double>* x,
                   std::vector<double>* f_out, std::vector<double>* q_out) -> bool {
    for (int i = 0; i < n_; ++i) {
      b[i] = diff[i] ? -Q[i] : 0.0;
      if (!std::isfinite(b[i])) {
        failure = Status::Error(fmt::format("the charge of {} became non-finite at t = {} s",
                                            c_.DescribeUnknown(i), Sec(time)),
                                ExplicitStabilityHint());
        return false;
      }
    }
    req.time = time;
    NewtonOutcome no = newton_.Solve(x->data(), req, sys, nopt);
    sys.matrix_changed = false;
    if (!no.converged) {
      if (no.singular) {
        // A branch current with entries only in differential rows: name the node of that row.
        int where = no.worst;
        if (where >= 0 && c_.unknowns()[where].kind != devices::UnknownKind::kNode) {
          for (int k = c_.col_ptr()[where]; k < c_.col_ptr()[where + 1]; ++k) {
            const int row = c_.row_idx()[k];
            if (diff[row] && c_.unknowns()[row].kind == devices::UnknownKind::kNode) {
              where = row;
              break;
            }
          }
        }
        no.worst = where;
        failure = Status::Error(
            fmt::format("explicit method {} cannot integrate this circuit: singular matrix at "
                        "{} when solving for the charges at t = {} s (a capacitor fixed by "
                        "voltage sources, or a node without capacitance between capacitors)",
                        mname, c_.DescribeUnknown(no.worst), Sec(time)),
            "use an implicit method: " + base::Opt("method") + " be, trap or gear2");
      } else {
        failure = Status::Error(
            fmt::format("Newton failed at t = {} s in an {} stage: largest residual at {}",
                        Sec(time), mname, c_.DescribeUnknown(no.worst)),
            ExplicitStabilityHint());
      }
      return false;
    }
    std::copy(asm_.f(), asm_.f() + n_, f_out->begin());
    std::copy(asm_.q(), asm_.q() + n_, q_out->begin());
    return true;
  };

  std::vector<double> fn(n_), qn(n_), Q(n_), k1(n_), k2(n_), k3(n_), k4(n_), fs(n_), qs(n_);
  // Make the initial point consistent with the algebraic equations (matters with uic).
  std::copy(asm_.q(), asm_.q() + n_, Q.begin());
  if (!stage(Q, 0.0, &xn, &fn, &qn)) return failure;

  // One step of the method from (x0, f0, q0) at t over h into (x1, f1, q1).
  auto take_step = [&](const std::vector<double>& x0, const std::vector<double>& f0,
                       const std::vector<double>& q0, double t, double h, std::vector<double>* x1,
                       std::vector<double>* f1, std::vector<double>* q1) -> bool {
    *x1 = x0;
    if (method == Method::kForwardEuler) {
      for (int i = 0; i < n_; ++i) Q[i] = q0[i] - h * f0[i];
      return stage(Q, t + h, x1, f1, q1);
    }
    for (int i = 0; i < n_; ++i) {
      k1[i] = -f0[i];
      Q[i] = q0[i] + 0.5 * h * k1[i];
    }
    if (!stage(Q, t + 0.5 * h, x1, &fs, &qs)) return false;
    for (int i = 0; i < n_; ++i) {
      k2[i] = -fs[i];
      Q[i] = q0[i] + 0.5 * h * k2[i];
    }
    if (!stage(Q, t + 0.5 * h, x1, &fs, &qs)) return false;
    for (int i = 0; i < n_; ++i) {
      k3[i] = -fs[i];
      Q[i] = q0[i] + h * k3[i];
    }
    if (!stage(Q, t + h, x1, &fs, &qs)) return false;
    for (int i = 0; i < n_; ++i) {
      k4[i] = -fs[i];
      Q[i] = q0[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    return stage(Q, t + h, x1, f1, q1);
  };

  int step = 0;
  auto emit = [&](double time, double h, const std::vector<double>& x) {
    return EmitPoint(an, step, time, h, method, false, x, sel, observer, out);
  };
  const std::vector<devices::Device*> checked = StateCheckedDevices(c_.devices());
  auto check = [&](const std::vector<double>& x, double time) -> Status {
    const std::string hint = ExplicitStabilityHint();
    for (int i = 0; i < n_; ++i) {
      if (!std::isfinite(x[i])) {
        return Status::Error(
            fmt::format("{} became non-finite at t = {} s", c_.DescribeUnknown(i), Sec(time)),
            hint);
      }
    }
    for (devices::Device* d : checked) {
      std::string msg = d->CheckState(x.data());
      if (!msg.empty()) return Status::Error(fmt::format("{} at t = {} s", msg, Sec(time)), hint);
    }
    return Status::Ok();
  };
  DivergenceGuard guard(c_.unknowns(), xn);
  // The step x0 -> x1 ending at `time`, taken with step h.
  auto check_growth = [&](const std::vector<double>& x0, const std::vector<double>& x1, double time,
                          double h) -> Status {
    std::string why;
    const int i = guard.Check(x0, x1, &why);
    if (i < 0) return Status::Ok();
    return Status::Error(
        fmt::format("{} diverges under {} at t = {} s (step {} s): {}", c_.DescribeUnknown(i),
                    mname, Sec(time), Sec(h), why),
        fmt::format("the step is beyond the stability limit of {}: use a smaller {} (e.g. {} s) "
                    "or an implicit method: {} be|trap|gear2",
                    mname, base::Opt("fixed_step"), Sec(h / 10.0), base::Opt("method")));
  };
  if (Status s = emit(0.0, 0.0, xn); !s.ok()) return s;

  double t = 0.0;
  std::vector<double> x1(n_), f1(n_), q1(n_);
  const double t_end_tol = sc.fixed ? 1e-9 * sc.fixed_h : sc.hmin;
  if (sc.fixed) {
    while (t < tstop - t_end_tol) {
      bool hit = false;
      const double h = sc.Clip(t, sc.fixed_h, &hit);
      if (!take_step(xn, fn, qn, t, h, &x1, &f1, &q1)) {
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
  const double denom = std::pow(2.0, p) - 1.0;
  std::vector<double> xb(n_), fb(n_), qb(n_), xm(n_), fm(n_), qm(n_);
  double H = 2.0 * sc.h0;
  while (t < tstop - t_end_tol) {
    bool hit = false;
    H = sc.Clip(t, H, &hit);
    const double hh = 0.5 * H;
    bool ok = take_step(xn, fn, qn, t, H, &xb, &fb, &qb) &&
              take_step(xn, fn, qn, t, hh, &xm, &fm, &qm) &&
              take_step(xm, fm, qm, t + hh, hh, &x1, &f1, &q1);
    double ratio = 0.0;
    int worst = -1;
    if (ok) {
      for (int i = 0; i < n_; ++i) {
        if (!diff[i]) continue;
        const double err = std::abs(q1[i] - qb[i]) / denom;
        const double tol = o_.reltol * std::max(std::abs(q1[i]), std::abs(qn[i])) + o_.chgtol;
        const double r = err / tol;
        if (!(r <= ratio)) {
          ratio = std::isnan(r) ? INFINITY : r;
          worst = i;
        }
      }
    } else if (failure.message().find("singular") != std::string::npos) {
      return failure;
    }
    if (!ok || ratio > 1.0) {
      H *= ok ? std::max(0.25, 0.9 * std::pow(ratio, -1.0 / (p + 1))) : 0.25;
      if (!std::isfinite(H) || H < sc.hmin) {
        if (!ok) return failure;
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
