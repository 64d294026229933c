#include "solver/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "base/strings.h"
#include "solver/engine.h"

namespace memspice::solver {

std::optional<Method> ParseMethod(const std::string& raw) {
  const std::string name = base::Lower(raw);
  if (name == "fe" || name == "forward-euler" || name == "forward_euler") {
    return Method::kForwardEuler;
  }
  if (name == "be" || name == "euler" || name == "backward-euler" || name == "backward_euler") {
    return Method::kBackwardEuler;
  }
  if (name == "trap" || name == "trapezoidal") return Method::kTrapezoidal;
  if (name == "gear" || name == "gear2" || name == "bdf2") return Method::kGear2;
  if (name == "rk4") return Method::kRk4;
  return std::nullopt;
}

const char* MethodName(Method m) {
  switch (m) {
    case Method::kForwardEuler:
      return "fe";
    case Method::kBackwardEuler:
      return "be";
    case Method::kTrapezoidal:
      return "trap";
    case Method::kGear2:
      return "gear2";
    case Method::kRk4:
      return "rk4";
  }
  return "?";
}

Status SimOptions::Validate() const {
  auto positive = [](const char* name, double v) {
    if (std::isfinite(v) && v > 0.0) return Status::Ok();
    return Status::Error(fmt::format("option {} = {} must be > 0", name, v));
  };
  if (!(std::isfinite(reltol) && reltol > 0.0 && reltol < 1.0)) {
    return Status::Error(fmt::format("option reltol = {} must be in (0, 1)", reltol),
                         "ngspice's default is 1e-3");
  }
  for (auto [name, v] :
       {std::pair{"abstol", abstol}, {"vntol", vntol}, {"chgtol", chgtol}, {"trtol", trtol}}) {
    Status s = positive(name, v);
    if (!s.ok()) return s;
  }
  if (!(std::isfinite(gmin) && gmin >= 0.0)) {
    return Status::Error(fmt::format("option gmin = {} must be >= 0", gmin));
  }
  if (itl1 < 1) return Status::Error(fmt::format("option itl1 = {} must be >= 1", itl1));
  if (itl4 < 1) return Status::Error(fmt::format("option itl4 = {} must be >= 1", itl4));
  if (!(std::isfinite(maxstep) && maxstep >= 0.0)) {
    return Status::Error(fmt::format("option maxstep = {} must be >= 0", maxstep));
  }
  if (max_points < 0) return Status::Error(fmt::format("max points = {} must be >= 0", max_points));
  if (max_memory < 0) return Status::Error(fmt::format("max memory = {} must be >= 0", max_memory));
  if (!(std::isfinite(fixed_step) && fixed_step >= 0.0)) {
    return Status::Error(fmt::format("fixed step = {} must be >= 0", fixed_step));
  }
  return Status::Ok();
}

Status SimOptions::ApplyNetlistOptions(const netlist::Netlist& netlist) {
  SimOptions trial = *this;
  for (const auto& [key, value] : netlist.options) {
    if (key == "reltol")
      trial.reltol = value;
    else if (key == "abstol")
      trial.abstol = value;
    else if (key == "vntol")
      trial.vntol = value;
    else if (key == "chgtol")
      trial.chgtol = value;
    else if (key == "gmin")
      trial.gmin = value;
    else if (key == "trtol")
      trial.trtol = value;
    else if (key == "itl1" || key == "itl4") {
      // Range-check before the cast: converting an out-of-range double to int is undefined.
      if (!(value >= 1.0 && value <= 1e9)) {
        return Status::Error(fmt::format("option {} = {} must be in [1, 1e9]", key, value),
                             "an iteration limit is a count, e.g. itl1=100 itl4=10");
      }
      (key == "itl1" ? trial.itl1 : trial.itl4) = static_cast<int>(value);
    } else if (key == "maxstep" || key == "tmax") {
      trial.maxstep = value;
    } else if (key == "bypass") {
      trial.bypass = value != 0.0;
    }
    // Other ngspice options (e.g. "interp", "noacct") do not affect this solver.
  }
  if (!netlist.method.empty() && !trial.method) {
    auto m = ParseMethod(netlist.method);
    if (!m) {
      return Status::Error(fmt::format("option method = {} is unknown", netlist.method),
                           "use trap, gear, euler (be), fe or rk4");
    }
    trial.method = m;
  }
  Status s = trial.Validate();
  if (!s.ok()) return s;
  *this = trial;
  return Status::Ok();
}

std::vector<double> OutputSelection::Values(const double* x) const {
  std::vector<double> row(names.size());
  for (size_t j = 0; j < names.size(); ++j) {
    row[j] = (plus[j] >= 0 ? x[plus[j]] : 0.0) - (minus[j] >= 0 ? x[minus[j]] : 0.0);
  }
  return row;
}

Status OutputSelection::Emit(double scale, const double* x, WaveformTable* out) const {
  return out->AddPoint(scale, Values(x));
}

Status SelectOutputs(const Circuit& circuit, const netlist::Netlist& netlist,
                     OutputSelection* sel) {
  *sel = OutputSelection();
  if (netlist.outputs.empty()) {
    for (int i = 0; i < circuit.size(); ++i) {
      const auto& name = circuit.unknowns()[i].name;
      if (name.find('#') != std::string::npos) continue;
      sel->names.push_back(name);
      sel->plus.push_back(i);
      sel->minus.push_back(-1);
    }
    return Status::Ok();
  }
  auto node_index = [&](const std::string& node, int* idx) {
    if (node == "0" || node == "gnd") {
      *idx = -1;
      return true;
    }
    *idx = circuit.FindNode(node);
    return *idx >= 0;
  };
  for (const auto& raw : netlist.outputs) {
    std::string name;
    for (char ch : raw) {
      if (ch != ' ') name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    int plus = circuit.FindUnknown(name), minus = -1;
    bool ok = plus >= 0;
    if (!ok && name.size() > 3 && name.rfind("v(", 0) == 0 && name.back() == ')') {
      std::string inside = name.substr(2, name.size() - 3);
      auto comma = inside.find(',');
      if (comma == std::string::npos) {
        ok = node_index(inside, &plus);
      } else {
        ok = node_index(inside.substr(0, comma), &plus) &&
             node_index(inside.substr(comma + 1), &minus);
      }
    }
    if (!ok) {
      return Status::Error(fmt::format("output '{}' is not a node voltage, branch current or "
                                       "state of this circuit",
                                       raw),
                           "outputs are v(node), v(node1,node2), i(vsource), i(inductor) or "
                           "x(memristor)");
    }
    sel->names.push_back(name);
    sel->plus.push_back(plus);
    sel->minus.push_back(minus);
  }
  return Status::Ok();
}

void Progress::Update(double fraction) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (printed_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  printed_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = fraction > 1e-6 ? elapsed * (1.0 - fraction) / fraction : 0.0;
  std::fprintf(stderr, "\r%s %5.1f%%  elapsed %.1f s  ETA %.1f s   ", label_.c_str(),
               100.0 * fraction, elapsed, eta);
  std::fflush(stderr);
}

void Progress::Finish() {
  if (enabled_ && printed_) {
    std::fprintf(stderr, "\n");
    printed_ = false;
  }
}

Engine::Engine(Circuit& circuit, const netlist::Netlist& netlist, const SimOptions& options)
    : c_(circuit),
      nl_(netlist),
      o_(options),
      n_(circuit.size()),
      asm_(circuit),
      newton_(asm_, klu_),
      temp_(netlist.temp),
      follows_temp_(netlist::HasTemperValues(netlist)) {
  klu_.Analyze(n_, circuit.col_ptr(), circuit.row_idx());
  ones_.assign(n_, 1.0);
  zeros_.assign(n_, 0.0);
}

void Engine::SetAnalysisInfo(const devices::AnalysisInfo& info) {
  for (auto& d : c_.devices()) d->SetAnalysis(info);
  newton_.Invalidate();
}

Status Engine::SetTemperature(double celsius) {
  if (follows_temp_ && celsius != temp_) {
    const netlist::Netlist at = netlist::AtTemperature(nl_, celsius);
    netlist::Diagnostics diag;
    for (const netlist::Element& e : at.elements) {
      auto model = at.models.find(e.model);
      const bool follows = !e.temper_values.empty() ||
                           (model != at.models.end() && !model->second.temper_values.empty());
      if (follows && !c_.ReplaceDevice(e, at, diag)) {
        const auto& items = diag.items();
        auto error = std::find_if(items.begin(), items.end(), [](const netlist::Diagnostic& d) {
          return d.severity == netlist::Severity::kError;
        });
        if (error == items.end()) return Status::Error("device rebuild failed");
        return Status::Error(fmt::format("at temperature {:g} C: {}", celsius, error->message),
                             error->hint);
      }
    }
    temp_ = celsius;
  }
  devices::AnalysisInfo info;
  info.temp = celsius;
  SetAnalysisInfo(info);
  return Status::Ok();
}

std::string Engine::SingularMessage(int unknown) const {
  if (unknown < 0 || unknown >= n_) return "singular matrix";
  const auto& u = c_.unknowns()[unknown];
  switch (u.kind) {
    case devices::UnknownKind::kNode:
      return "singular matrix: " + c_.DescribeUnknown(unknown) + " " + NodeSingularCause(unknown);
    case devices::UnknownKind::kBranch:
      return fmt::format(
          "singular matrix: branch current '{}' is undetermined (a loop of voltage "
          "sources or inductors, or a source driving nothing)",
          u.name);
    case devices::UnknownKind::kState:
      return fmt::format("singular matrix: state '{}' is undetermined", u.name);
  }
  return "singular matrix";
}

std::string Engine::NodeSingularCause(int node) const {
  // The node's column of G and C from the evaluation that failed to factor.
  const auto& cp = c_.col_ptr();
  const auto& ri = c_.row_idx();
  double g_abs = 0.0, c_abs = 0.0, g_diag = 0.0;
  for (int k = cp[node]; k < cp[node + 1]; ++k) {
    g_abs += std::abs(asm_.G()[k]);
    c_abs += std::abs(asm_.C()[k]);
    if (ri[k] == node) g_diag = asm_.G()[k];
  }
  if (g_abs == 0.0 && c_abs > 0.0) {
    return "floats at DC: it connects only through capacitors or current sources";
  }
  if (g_abs == 0.0) {
    return "floats: nothing conductive connects to it (only current sources), or its "
           "conductances cancel exactly (a negative resistor against a positive one)";
  }
  // Round-off of a genuine sum of conductances is far above this fraction of their size.
  constexpr double kCancelled = 1e-12;
  if (std::abs(g_diag) <= kCancelled * g_abs) {
    return "has conductances that cancel (they sum to zero: a negative resistor or conductance "
           "against a positive one)";
  }
  return "belongs to a group of nodes without a path to ground, or whose conductances cancel "
         "(a negative resistor or conductance against positive ones)";
}

NewtonOptions Engine::DcNewtonOptions() const {
  NewtonOptions o;
  o.max_iter = o_.itl1;
  o.reltol = o_.reltol;
  o.vntol = o_.vntol;
  o.abstol = o_.abstol;
  o.q_atol = o_.chgtol;
  o.linear = c_.all_linear();
  return o;
}

NewtonOptions Engine::TranNewtonOptions() const {
  NewtonOptions o = DcNewtonOptions();
  o.max_iter = o_.itl4;
  return o;
}

namespace {

Status RunEngine(Circuit& circuit, const netlist::Netlist& netlist,
                 const netlist::Analysis& analysis, const SimOptions& options,
                 const OutputSelection& sel, StepObserver* observer, WaveformTable* out) {
  Engine engine(circuit, netlist, options);
  switch (analysis.kind) {
    case netlist::Analysis::Kind::kOp: {
      devices::AnalysisInfo info;
      info.temp = netlist.temp;
      engine.SetAnalysisInfo(info);
      std::vector<double> x(circuit.size(), 0.0);
      Status s = engine.OperatingPoint(0.0, false, false, &x);
      if (!s.ok()) return s;
      return sel.Emit(0.0, x.data(), out);
    }
    case netlist::Analysis::Kind::kDc:
      return engine.DcSweep(analysis, sel, out);
    case netlist::Analysis::Kind::kTran:
      return engine.Transient(analysis, sel, observer, out);
    case netlist::Analysis::Kind::kAc:
      return engine.Ac(analysis, sel, out);
  }
  return Status::Error("unknown analysis kind");
}

}  // namespace

Status RunAnalysis(Circuit& circuit, const netlist::Netlist& netlist,
                   const netlist::Analysis& analysis, const SimOptions& options,
                   StepObserver* observer, WaveformTable* out) {
  Status s = options.Validate();
  if (!s.ok()) return s;
  OutputSelection sel;
  s = SelectOutputs(circuit, netlist, &sel);
  if (!s.ok()) return s;
  out->title = netlist.title;
  out->names = sel.names;
  out->rows.clear();
  out->scale.clear();
  out->streamed_only = 0;
  out->max_points = options.max_points;
  out->max_kept_bytes = options.max_memory;
  out->imag.clear();
  out->complex = false;
  switch (analysis.kind) {
    case netlist::Analysis::Kind::kOp:
      out->analysis = "Operating Point";
      out->scale_name.clear();
      break;
    case netlist::Analysis::Kind::kDc:
      out->analysis = "DC transfer characteristic";
      out->scale_name = analysis.sweeps.empty() ? "sweep" : analysis.sweeps.front().source;
      break;
    case netlist::Analysis::Kind::kTran:
      out->analysis = "Transient Analysis";
      out->scale_name = "time";
      break;
    case netlist::Analysis::Kind::kAc:
      out->analysis = "AC Analysis";
      out->scale_name = "frequency";
      out->complex = true;
      break;
  }
  if (out->sink != nullptr) {
    if (s = out->sink->Begin(*out); !s.ok()) return s;
  }
  s = RunEngine(circuit, netlist, analysis, options, sel, observer, out);
  if (s.ok() && out->sink != nullptr) s = out->sink->End(*out);
  return s;
}

const char* AnalysisCard(netlist::Analysis::Kind kind) {
  switch (kind) {
    case netlist::Analysis::Kind::kOp:
      return ".op";
    case netlist::Analysis::Kind::kDc:
      return ".dc";
    case netlist::Analysis::Kind::kTran:
      return ".tran";
    case netlist::Analysis::Kind::kAc:
      return ".ac";
  }
  return "?";
}

Status RunMemspiceDeck(const std::string& deck_path, const netlist::ParseOptions& parse,
                       const SimOptions& sim, std::vector<WaveformTable>* tables,
                       netlist::Netlist* parsed) {
  netlist::Diagnostics diag;
  std::optional<netlist::Netlist> nl = netlist::ParseFile(deck_path, parse, diag);
  if (!nl) {
    return Status::Error(fmt::format("cannot parse '{}':\n{}", deck_path, diag.Format()));
  }
  if (nl->analyses.empty()) {
    return Status::Error(fmt::format("'{}' has no analysis", deck_path),
                         "add .op, .dc or .tran to the deck");
  }
  std::unique_ptr<Circuit> circuit = Circuit::Build(*nl, diag);
  if (!circuit) {
    return Status::Error(
        fmt::format("cannot build the circuit of '{}':\n{}", deck_path, diag.Format()));
  }
  SimOptions options = sim;
  Status applied = options.ApplyNetlistOptions(*nl);
  if (!applied.ok()) {
    return Status::Error(fmt::format("{}: {}", deck_path, applied.message()), applied.hint());
  }
  for (const auto& analysis : nl->analyses) {
    WaveformTable table;
    Status s = RunAnalysis(*circuit, *nl, analysis, options, nullptr, &table);
    if (!s.ok()) {
      return s.Prefixed(fmt::format("{}: {} failed: ", deck_path, AnalysisCard(analysis.kind)));
    }
    tables->push_back(std::move(table));
  }
  if (parsed) *parsed = std::move(*nl);
  return Status::Ok();
}

}  // namespace memspice::solver
