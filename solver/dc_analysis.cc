// DC operating point (Newton, then damped Newton, gmin stepping, source stepping) and .dc sweeps.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "solver/engine.h"

namespace memspice::solver {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

Status Engine::BuildClamp(const std::vector<netlist::NodeValue>& values,
                          std::vector<double>* clamp) {
  clamp->assign(n_, kNaN);
  for (const auto& v : values) {
    int idx = c_.FindNode(v.node);
    if (idx < 0) {
      return Status::Error(
          fmt::format("{}:{}: node '{}' in .ic/.nodeset is not a node of the circuit", v.loc.file,
                      v.loc.line, v.node),
          "check the node name (subcircuit nodes are written x1.node)");
    }
    (*clamp)[idx] = v.value;
  }
  return Status::Ok();
}

bool Engine::TryDc(double time, double source_scale, double all_gmin, bool init,
                   const double* clamp, int max_iter, double max_step, std::vector<double>* x,
                   NewtonOutcome* out) {
  EvalRequest req;
  req.time = time;
  req.dc = true;
  req.gmin = o_.gmin;
  req.dc_node_gmin = std::max(o_.gmin, 1e-15);
  req.all_node_gmin = all_gmin;
  req.source_scale = source_scale;
  req.init_junctions = init;
  NewtonSystem sys;
  sys.wf = ones_.data();
  sys.wq = zeros_.data();
  sys.clamp = clamp;
  sys.matrix_changed = true;  // clamps may differ between calls
  NewtonOptions no = DcNewtonOptions();
  no.max_iter = max_iter;
  no.max_node_step = max_step;
  std::vector<double> trial = *x;
  *out = newton_.Solve(trial.data(), req, sys, no);
  if (out->converged) *x = trial;
  return out->converged;
}

Status Engine::OperatingPoint(double time, bool warm, bool ic_clamp, std::vector<double>* x) {
  x->resize(n_, 0.0);
  if (!warm) std::fill(x->begin(), x->end(), 0.0);
  std::vector<double> clamp;
  const double* clamp_ptr = nullptr;
  if (ic_clamp && !nl_.ics.empty()) {
    Status s = BuildClamp(nl_.ics, &clamp);
    if (!s.ok()) return s;
    clamp_ptr = clamp.data();
  }
  NewtonOutcome out;
  const std::vector<double> start = *x;
  // .nodeset: converge with those nodes held first, then release them.
  if (!warm && !nl_.nodesets.empty()) {
    std::vector<double> ns;
    Status s = BuildClamp(nl_.nodesets, &ns);
    if (!s.ok()) return s;
    if (clamp_ptr != nullptr) {
      for (int i = 0; i < n_; ++i) {
        if (!std::isnan(clamp[i])) ns[i] = clamp[i];
      }
    }
    std::vector<double> guess = *x;
    if (TryDc(time, 1.0, 0.0, true, ns.data(), o_.itl1, 0.0, &guess, &out)) *x = guess;
  }
  if (TryDc(time, 1.0, 0.0, !warm, clamp_ptr, o_.itl1, 0.0, x, &out)) return Status::Ok();
  if (out.singular) {
    return Status::Error(SingularMessage(out.worst),
                         "every node needs a DC path to ground through conductances that do not "
                         "cancel; check for floating nodes, negative resistors, sources in loops, "
                         "or missing connections");
  }
  NewtonOutcome first = out;
  if (!c_.all_linear()) {
    // Damped Newton from the start point.
    *x = start;
    if (TryDc(time, 1.0, 0.0, !warm, clamp_ptr, 4 * o_.itl1, 1.0, x, &out)) {
      return Status::Ok();
    }
    // gmin stepping: a conductance from every node to ground, reduced by decades.
    *x = start;
    bool ok = true;
    for (double g = 1e-2; g > o_.gmin * 0.5 && ok; g /= 10.0) {
      ok = TryDc(time, 1.0, g, false, clamp_ptr, o_.itl1, 0.0, x, &out);
    }
    if (ok && TryDc(time, 1.0, 0.0, false, clamp_ptr, o_.itl1, 0.0, x, &out)) {
      return Status::Ok();
    }
    // Source stepping: ramp all independent sources from 0 with an adaptive increment.
    std::fill(x->begin(), x->end(), 0.0);
    double scale = 0.0, inc = 0.1;
    ok = TryDc(time, 0.0, 0.0, true, clamp_ptr, o_.itl1, 0.0, x, &out);
    while (ok && scale < 1.0) {
      double next = std::min(1.0, scale + inc);
      std::vector<double> keep = *x;
      if (TryDc(time, next, 0.0, false, clamp_ptr, o_.itl1, 0.0, x, &out)) {
        scale = next;
        inc = std::min(0.5, inc * 1.5);
      } else {
        *x = keep;
        inc /= 4.0;
        if (inc < 1e-5) ok = false;
      }
    }
    if (ok && scale >= 1.0) return Status::Ok();
  }
  return Status::Error(
      fmt::format("DC operating point failed at t = {:g} s: Newton did not converge, largest "
                  "residual at {}",
                  time, c_.DescribeUnknown(first.worst)),
      "gmin and source stepping failed too; add .nodeset for that node, check device "
      "parameters, or raise .options itl1");
}

Status Engine::DcSweep(const netlist::Analysis& an, const OutputSelection& sel,
                       WaveformTable* out) {
  if (an.sweeps.empty()) return Status::Error(".dc needs at least one sweep");
  struct Sweep {
    devices::Device* device = nullptr;  // null: temperature
    std::vector<double> values;
    double restore = 0.0;
    std::string name;
  };
  std::vector<Sweep> sweeps;
  for (const auto& sw : an.sweeps) {
    Sweep s;
    s.name = sw.source;
    if (!(std::isfinite(sw.start) && std::isfinite(sw.stop) && std::isfinite(sw.step))) {
      return Status::Error(fmt::format(".dc sweep of '{}' has a non-finite value", sw.source));
    }
    if (sw.source != "temp") {
      s.device = c_.FindDevice(sw.source);
      if (s.device == nullptr) {
        return Status::Error(
            fmt::format(".dc source '{}' is not an element of the circuit", sw.source));
      }
    }
    if (sw.step == 0.0 && sw.start != sw.stop) {
      return Status::Error(fmt::format(".dc sweep of '{}' has step 0", sw.source));
    }
    double span = sw.stop - sw.start;
    if (sw.step != 0.0 && span != 0.0 && (span > 0) != (sw.step > 0)) {
      return Status::Error(fmt::format(".dc sweep of '{}': step {:g} goes away from stop {:g}",
                                       sw.source, sw.step, sw.stop),
                           "use a negative step to sweep downwards");
    }
    long count = sw.step == 0.0 ? 1 : static_cast<long>(std::floor(span / sw.step + 1e-9)) + 1;
    if (count > 10'000'000) {
      return Status::Error(fmt::format(".dc sweep of '{}' has {} points", sw.source, count));
    }
    for (long k = 0; k < count; ++k) s.values.push_back(sw.start + k * sw.step);
    if (s.device != nullptr) {
      for (const auto& e : nl_.elements) {
        if (e.name == sw.source) s.restore = e.value.value_or(0.0);
      }
    }
    sweeps.push_back(std::move(s));
  }
  auto set_value = [&](Sweep& s, double v) -> Status {
    if (s.device == nullptr) {
      Status t = SetTemperature(v);
      // Devices that follow temper were rebuilt: look the swept sources up again.
      for (Sweep& other : sweeps) {
        if (other.device != nullptr) other.device = c_.FindDevice(other.name);
      }
      return t;
    }
    if (!s.device->SetDcValue(v)) {
      return Status::Error(
          fmt::format(".dc source '{}' is not an independent voltage or current source", s.name));
    }
    newton_.Invalidate();
    return Status::Ok();
  };
  if (Status t = SetTemperature(nl_.temp); !t.ok()) return t;
  const size_t levels = sweeps.size();
  std::vector<size_t> idx(levels, 0);
  std::vector<long> last(levels, -1);
  std::vector<double> x(n_, 0.0);
  bool warm = false;
  long total = 1;
  for (auto& s : sweeps) total *= static_cast<long>(s.values.size());
  if (Status s = out->CheckBudget(static_cast<double>(total), "use fewer .dc points"); !s.ok()) {
    return s;
  }
  Progress progress(o_.progress, "dc");
  Status result = Status::Ok();
  for (long point = 0; point < total && result.ok(); ++point) {
    // Odometer: the first sweep is innermost; set only the values that changed. A temperature
    // change re-runs SetAnalysis, which resets sources to their deck values: set them again.
    bool temp_changed = false;
    for (size_t l = 0; l < levels && result.ok(); ++l) {
      if (sweeps[l].device != nullptr || last[l] == static_cast<long>(idx[l])) continue;
      result = set_value(sweeps[l], sweeps[l].values[idx[l]]);
      last[l] = static_cast<long>(idx[l]);
      temp_changed = true;
    }
    for (size_t l = 0; l < levels && result.ok(); ++l) {
      if (sweeps[l].device == nullptr) continue;
      if (!temp_changed && last[l] == static_cast<long>(idx[l])) continue;
      result = set_value(sweeps[l], sweeps[l].values[idx[l]]);
      last[l] = static_cast<long>(idx[l]);
    }
    if (!result.ok()) break;
    Status s = OperatingPoint(0.0, warm, false, &x);
    if (!s.ok() && warm) s = OperatingPoint(0.0, false, false, &x);
    if (!s.ok()) {
      result = Status::Error(
          fmt::format("{} (at {} = {:g})", s.message(), sweeps[0].name, sweeps[0].values[idx[0]]),
          s.hint());
      break;
    }
    warm = true;
    if (Status e = sel.Emit(sweeps[0].values[idx[0]], x.data(), out); !e.ok()) {
      result = e;
      break;
    }
    progress.Update(static_cast<double>(point + 1) / total);
    for (size_t l = 0; l < levels; ++l) {
      if (++idx[l] < sweeps[l].values.size()) break;
      idx[l] = 0;
    }
  }
  // Leave the circuit as the deck defines it for later analyses.
  Status restored = SetTemperature(nl_.temp);
  for (auto& s : sweeps) {
    if (devices::Device* d = c_.FindDevice(s.name); s.device != nullptr && d != nullptr) {
      d->SetDcValue(s.restore);
    }
  }
  return result.ok() ? restored : result;
}

}  // namespace memspice::solver
