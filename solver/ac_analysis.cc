// Small-signal AC analysis (.ac): the circuit is linearised at its DC operating point x0 and
//
//     (G + j w C) X = b,   G = df/dx (x0),  C = dq/dx (x0),  w = 2 pi f,
//
// is solved at every frequency of the sweep with KLU's complex routines; b holds the `AC mag
// phase` phasors of the independent sources (Device::AcStimulus). Every device's small-signal
// model is its own Evaluate() at x0: junction and Meyer capacitances, inductor branches, and the
// state rows of memristors and neurons (q = x, f = -dx/dt) give their dynamics.
#include <fmt/format.h>

#include <cmath>
#include <complex>
#include <numbers>

#include "solver/engine.h"

namespace memspice::solver {
namespace {

// Frequencies of a sweep, as ngspice 39 places them: `lin` N evenly spaced points; `oct` N
// per octave from fstart up to fstop; `dec` the whole decades' worth of points
// (floor(N log10(fstop/fstart)) steps) spread evenly in log scale so that fstop is the last one.
std::vector<double> AcFrequencies(const netlist::Analysis& an) {
  // Relative slack so that fstop, reached through rounding, still counts as on the grid.
  constexpr double kGridTol = 1e-9;
  std::vector<double> f;
  const int n = an.ac_points;
  if (an.ac_sweep == netlist::Analysis::AcSweep::kLin) {
    if (n == 1 || an.fstop == an.fstart) return {an.fstart};
    for (int k = 0; k < n; ++k) f.push_back(an.fstart + (an.fstop - an.fstart) * k / (n - 1));
    return f;
  }
  const bool dec = an.ac_sweep == netlist::Analysis::AcSweep::kDec;
  const double ratio = an.fstop / an.fstart;
  const double steps = n * std::log(ratio) / std::log(dec ? 10.0 : 2.0);
  const long count = static_cast<long>(std::floor(steps + kGridTol));
  if (count == 0) return {an.fstart};
  for (long k = 0; k <= count; ++k) {
    f.push_back(dec ? an.fstart * std::pow(ratio, double(k) / count)
                    : an.fstart * std::pow(2.0, double(k) / n));
  }
  return f;
}

}  // namespace

Status Engine::Ac(const netlist::Analysis& an, const OutputSelection& sel, WaveformTable* out) {
  devices::AnalysisInfo info;
  info.temp = nl_.temp;
  SetAnalysisInfo(info);
  std::vector<double> x(n_, 0.0);
  Status s = OperatingPoint(0.0, false, false, &x);
  if (!s.ok()) {
    return Status::Error(".ac: " + s.message(), s.hint());
  }
  for (auto& d : c_.devices()) d->SetAcMode(true);
  EvalRequest req;
  req.time = 0.0;
  req.gmin = o_.gmin;
  asm_.Evaluate(x.data(), req);
  for (auto& d : c_.devices()) d->SetAcMode(false);
  newton_.Invalidate();
  std::vector<std::complex<double>> b(n_ + 1, 0.0);
  for (const auto& d : c_.devices()) d->AcStimulus(b.data() + 1);
  const std::vector<double>& g = asm_.G();
  const std::vector<double>& cap = asm_.C();
  KluComplexSolver klu(klu_.symbolic());
  std::vector<double> a(2 * g.size()), rhs(2 * n_), re(n_), im(n_);
  Progress progress(o_.progress, "ac");
  const std::vector<double> freqs = AcFrequencies(an);
  for (size_t k = 0; k < freqs.size(); ++k) {
    const double w = 2.0 * std::numbers::pi * freqs[k];
    for (size_t e = 0; e < g.size(); ++e) {
      a[2 * e] = g[e];
      a[2 * e + 1] = w * cap[e];
    }
    if (!klu.Factor(a.data())) {
      return Status::Error(
          fmt::format(".ac at f = {:g} Hz: {}", freqs[k], SingularMessage(klu.singular_col())),
          "every node needs a path to ground at this frequency");
    }
    for (int i = 0; i < n_; ++i) {
      rhs[2 * i] = b[i + 1].real();
      rhs[2 * i + 1] = b[i + 1].imag();
    }
    klu.Solve(rhs.data());
    for (int i = 0; i < n_; ++i) {
      re[i] = rhs[2 * i];
      im[i] = rhs[2 * i + 1];
    }
    out->scale.push_back(freqs[k]);
    // Complex tables are kept whole (small: one row per frequency) and reach a sink at End.
    out->rows.push_back(sel.Values(re.data()));
    out->imag.push_back(sel.Values(im.data()));
    progress.Update(double(k + 1) / freqs.size());
  }
  return Status::Ok();
}

}  // namespace memspice::solver
