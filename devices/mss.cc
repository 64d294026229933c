#include "devices/mss.h"

#include <ceres/jet.h>

#include <cmath>
#include <cstdio>
#include <string_view>
#include <utility>

#include "devices/ngspice_expr.h"

namespace memspice::devices {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// Index of a numeric parameter in mss::kMssParamNames, -1 if the name is not one.
int ParamIndex(const std::string& name) {
  for (int k = 0; k < mss::kNumMssParams; ++k) {
    if (name == mss::kMssParamNames[k]) return k;
  }
  return -1;
}

// Writes a numeric parameter by name; false if the name is not an MSS parameter.
bool SetParam(const std::string& name, double value, mss::MssParams* p) {
  const int k = ParamIndex(name);
  if (k < 0) return false;
  mss::MssParam(*p, k) = value;
  return true;
}

// The first rows of the parameter table are the numeric fields of mss::MssParams, in order.
constexpr bool TableMatchesFields() {
  for (int k = 0; k < mss::kNumMssParams; ++k) {
    if (std::string_view(kMssParams[k].name) != mss::kMssParamNames[k]) return false;
  }
  return true;
}
static_assert(TableMatchesFields(), "kMssParams and mss::kMssParamNames disagree");

// The programming rows are the fields of MssProgramming in order.
constexpr bool ProgrammingRowsMatchFields() {
  return kMssProgrammingRows.size() == std::size(kMssProgrammingFields) &&
         std::string_view(kMssProgrammingRows.front().name) == "set_amplitude" &&
         std::string_view(kMssProgrammingRows.back().name) == "retention_time";
}
static_assert(ProgrammingRowsMatchFields(), "kMssParams programming rows and fields disagree");

// Index of a programming parameter in kMssProgrammingRows, -1 if the name is not one.
int ProgrammingIndex(const std::string& name) {
  for (size_t k = 0; k < kMssProgrammingRows.size(); ++k) {
    if (name == kMssProgrammingRows[k].name) return static_cast<int>(k);
  }
  return -1;
}
constexpr int kMaxPulsesRow = 3;  // max_pulses: a count
static_assert(std::string_view(kMssProgrammingRows[kMaxPulsesRow].name) == "max_pulses");

// "in [lo, hi]", ">= lo" or "<= hi" of a table row.
std::string RangeText(const ParamInfo& row) {
  if (std::isinf(row.hi)) return ">= " + Num(row.lo);
  if (std::isinf(row.lo)) return "<= " + Num(row.hi);
  return "in [" + Num(row.lo) + ", " + Num(row.hi) + "]";
}

std::string ParamList() {
  return ParamNames(kMssParams, ParamPlace::kModelCard) +
         " (instances: " + ParamNames(kMssParams, ParamPlace::kInstance) + ")";
}

// Gain of the DC hold of the exported state, (x0 - x) * kDcHoldGain: pins x to x0 within
// ~1e-9 of the state's scale while the DC flag is 1.
constexpr double kDcHoldGain = 1e12;

}  // namespace

bool ResolveMssModel(const netlist::Model& model, const netlist::SourceLoc& loc,
                     const std::string& user, netlist::Diagnostics& diag, mss::MssParams* params,
                     double* x0, MssProgramming* programming) {
  const int errors_before = diag.num_errors();
  for (const auto& [name, value] : model.params) {
    if (name == "x0") {
      *x0 = value;
    } else if (name == "level") {
      // Accepted for compatibility with decks that tag the model level; only one level exists.
    } else if (const int k = ProgrammingIndex(name); k >= 0) {
      const ParamInfo& row = kMssProgrammingRows[k];
      if (!(value >= row.lo && value <= row.hi) ||
          (k == kMaxPulsesRow && value != std::floor(value)))
        diag.Error(loc,
                   "model '" + model.name + "': " + name + " = " + Num(value) + " must be " +
                       (k == kMaxPulsesRow ? "a whole number >= 1" : RangeText(row)),
                   kMssProgrammingFields[k].help);
      else
        programming->*kMssProgrammingFields[k].field = value;
    } else if (!SetParam(name, value, params)) {
      diag.Error(
          loc,
          "unknown parameter '" + name + "' in model '" + model.name + "' (used by " + user + ")",
          "MSS parameters are " + ParamList());
    }
  }
  for (const auto& [name, value] : model.text_params) {
    if (name == "convention") {
      if (value == "knowm") {
        params->knowm = true;
      } else if (value == "memspice" || value == "memprop" || value == "standard") {
        params->knowm = false;
      } else {
        diag.Error(loc, "model '" + model.name + "': convention = '" + value + "' is not known",
                   "use convention=knowm (P_off = 1 - sigma((u + voff)/(k vt))) or omit it");
      }
    } else {
      diag.Error(loc,
                 "unknown parameter '" + name + "' = '" + value + "' in model '" + model.name + "'",
                 "MSS parameters are " + ParamList());
    }
  }
  return diag.num_errors() == errors_before;
}

bool ResolveMssParams(const netlist::Element& element, const netlist::Netlist& netlist,
                      netlist::Diagnostics& diag, mss::MssParams* params, double* x0) {
  const int errors_before = diag.num_errors();
  *params = mss::MssParams();
  *x0 = 0.0;
  const std::string label = "memristor '" + element.name + "'";
  // The parser takes the last word as the model only if such a model exists; otherwise an
  // unknown model name arrives as a third node.
  if (element.model.empty() && element.nodes.size() == 3) {
    diag.Error(element.loc, "unknown model '" + element.nodes[2] + "' for " + label,
               "define it with .model " + element.nodes[2] +
                   " mss (...) or .include mss.lib (models mss_neuron, mss_synapse)");
    return false;
  }
  if (element.nodes.size() != 2) {
    diag.Error(element.loc, label + " needs 2 nodes, got " + std::to_string(element.nodes.size()),
               "syntax: YMSS name p n model [x0=value] [param=value ...]");
  }
  if (element.model.empty()) {
    diag.Error(element.loc, label + " has no model name",
               "syntax: YMSS name p n model [x0=value]; define the model with "
               ".model name mss (ron=1k roff=100k ...) or .include mss.lib");
    return false;
  }
  auto it = netlist.models.find(element.model);
  if (it == netlist.models.end()) {
    diag.Error(element.loc, "unknown model '" + element.model + "' for " + label,
               "define it with .model " + element.model +
                   " mss (...) or .include mss.lib (models mss_neuron, mss_synapse)");
    return false;
  }
  const netlist::Model& model = it->second;
  if (model.type != "mss") {
    diag.Error(
        element.loc,
        "model '" + model.name + "' of " + label + " has type '" + model.type + "', expected 'mss'",
        "a memristor needs a model card `.model " + model.name + " mss (...)`");
    return false;
  }
  MssProgramming unused;  // the circuit does not program its devices
  ResolveMssModel(model, element.loc, label, diag, params, x0, &unused);
  for (const auto& [name, value] : element.params) {
    if (name == "x0") {
      *x0 = value;
    } else if (!SetParam(name, value, params)) {
      diag.Error(element.loc, "unknown parameter '" + name + "' for " + label,
                 "MSS parameters are " + ParamList());
    }
  }
  const std::string bad = mss::ValidateMssParams(*params);
  if (!bad.empty()) {
    diag.Error(element.loc, label + " (model '" + model.name + "'): " + bad,
               "Table III defaults: ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6");
  }
  if (!std::isfinite(*x0) || *x0 < 0.0 || *x0 > 1.0) {
    diag.Error(element.loc, label + ": x0 = " + Num(*x0) + " must be in [0, 1]",
               "x0 is the initial fraction of switches that are ON");
  }
  return diag.num_errors() == errors_before;
}

MssDevice::MssDevice(std::string name, netlist::SourceLoc loc, std::string node_p,
                     std::string node_n, const mss::MssParams& params, double x0)
    : Device(std::move(name), std::move(loc)),
      node_p_name_(std::move(node_p)),
      node_n_name_(std::move(node_n)),
      params_(params),
      x0_(x0) {}

void MssDevice::Setup(SetupContext& ctx) {
  p_ = ctx.Node(node_p_name_);
  n_ = ctx.Node(node_n_name_);
  s_ = ctx.AddUnknown("x(" + name() + ")", UnknownKind::kState);
}

void MssDevice::Bind(BindContext& ctx) {
  h_pp_ = ctx.Entry(p_, p_);
  h_pn_ = ctx.Entry(p_, n_);
  h_np_ = ctx.Entry(n_, p_);
  h_nn_ = ctx.Entry(n_, n_);
  h_ps_ = ctx.Entry(p_, s_);
  h_ns_ = ctx.Entry(n_, s_);
  h_sp_ = ctx.Entry(s_, p_);
  h_sn_ = ctx.Entry(s_, n_);
  h_ss_ = ctx.Entry(s_, s_);
}

void MssDevice::Evaluate(EvalContext& ctx) {
  const double u = ctx.x[p_] - ctx.x[n_];
  const double xs = ctx.x[s_];
  const mss::MssEval<double> e = mss::Evaluate(params_, xs, u);
  double i = e.i;
  double gu = e.di_du;
  // The diode branch of the generalized form can be nearly open at u ~ 0; keep gmin across it.
  if (params_.phi != 1.0) {
    i += ctx.gmin * u;
    gu += ctx.gmin;
  }
  ctx.f[p_] += i;
  ctx.f[n_] -= i;
  ctx.G[h_pp_] += gu;
  ctx.G[h_pn_] -= gu;
  ctx.G[h_np_] -= gu;
  ctx.G[h_nn_] += gu;
  ctx.G[h_ps_] += e.di_dx;
  ctx.G[h_ns_] -= e.di_dx;
  // q = x in both modes so that an integrator starting from the DC point sees a consistent q.
  ctx.q[s_] += xs;
  ctx.C[h_ss_] += 1.0;
  if (ctx.dc) {
    ctx.f[s_] += xs - x0_;
    ctx.G[h_ss_] += 1.0;
  } else {
    ctx.f[s_] -= e.rate;
    ctx.G[h_sp_] -= e.drate_du;
    ctx.G[h_sn_] += e.drate_du;
    ctx.G[h_ss_] -= e.drate_dx;
  }
}

void MssDevice::InitialState(double* x) const { x[s_] = x0_; }

int MssDevice::ParamHandle(const std::string& key, bool model_card) const {
  if (key == "x0") return kX0Handle;
  return ParamIndex(key);  // kNoParamPartial (-1) for other names
}

void MssDevice::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  if (handle == kX0Handle) {
    // x0 enters only the DC hold of the state, f = x - x0.
    if (ctx.dc) out.Add(s_, -1.0, 0.0);
    return;
  }
  // Differentiate the model templates with the one parameter as a dual number.
  using Dual = ceres::Jet<double, 1>;
  mss::MssParamsT<Dual> p = params_.Cast<Dual>();
  mss::MssParam(p, handle).v[0] = 1.0;
  const Dual u(ctx.x[p_] - ctx.x[n_]);
  const Dual xs(ctx.x[s_]);
  const double di = mss::Current(p, xs, u).v[0];
  out.Add(p_, di, 0.0);
  out.Add(n_, -di, 0.0);
  if (!ctx.dc) out.Add(s_, -mss::StateRate(p, xs, u).v[0], 0.0);
}

void MssDevice::InitialStatePartial(int handle, ParamSink& out) const {
  if (handle == kX0Handle) out.Add(s_, 1.0, 0.0);
}

std::string MssDevice::CheckState(const double* x) const {
  const double xs = x[s_];
  // The engine's note names the remedy for the method in use.
  const std::string hint = "; the integration is unstable or too coarse";
  if (!std::isfinite(xs)) {
    return "state x(" + name() + ") = " + Num(xs) + " is not finite" + hint;
  }
  if (xs < -kStateTolerance || xs > 1.0 + kStateTolerance) {
    return "state x(" + name() + ") = " + Num(xs) + " left [0, 1]" + hint;
  }
  return {};
}

std::unique_ptr<Device> CreateMss(const netlist::Element& element, const netlist::Netlist& netlist,
                                  netlist::Diagnostics& diag) {
  mss::MssParams params;
  double x0 = 0.0;
  if (!ResolveMssParams(element, netlist, diag, &params, &x0)) return nullptr;
  return std::make_unique<MssDevice>(element.name, element.loc, element.nodes[0], element.nodes[1],
                                     params, x0);
}

bool WriteMssNgspice(const NgspiceInstance& inst, netlist::Diagnostics& diag, std::string* cards) {
  const char* syntax = "syntax: YMSS name p n model [x0=value] [param=value ...]";
  if (inst.positional.size() != 3) {
    diag.Error(inst.loc, "malformed memristor line", syntax);
    return false;
  }
  if (!inst.has_model) {
    const std::string& model = inst.positional[2];
    diag.Error(inst.loc, "unknown model '" + model + "' for memristor '" + inst.name + "'",
               "define it with .model " + model + " mss (...) or .include mss.lib");
    return false;
  }
  mss::MssParamsT<spice::NgExpr> p;
  for (int k = 0; k < mss::kNumMssParams; ++k) {
    mss::MssParam(p, k) = spice::Operand(inst.values.at(mss::kMssParamNames[k]));
  }
  if (auto c = inst.values.find("convention"); c != inst.values.end()) {
    if (c->second != "knowm" && c->second != "memspice" && c->second != "memprop" &&
        c->second != "standard") {
      diag.Error(inst.loc,
                 "memristor '" + inst.name + "': convention = '" + c->second + "' is not known",
                 "use convention=knowm or omit it");
      return false;
    }
    p.knowm = c->second == "knowm";
  }
  const std::string& np = inst.positional[0];
  const std::string& nn = inst.positional[1];
  const std::string xnode = inst.name + "_x";
  const spice::NgExpr u = spice::Voltage(np, nn);
  const spice::NgExpr x = spice::NgExpr::Raw("V(" + xnode + ")");
  const spice::NgExpr x0 = spice::Operand(inst.values.at("x0"));
  // IC= takes a number or a {expr}, not a parenthesised operand.
  const std::string& x0t = x0.text();
  const std::string ic =
      x0t.size() > 2 && x0t[0] == '(' && x0t[1] == '{' ? x0t.substr(1, x0t.size() - 2) : x0t;
  const spice::NgExpr hold =
      spice::NgExpr::Raw(spice::kDcFlag) * spice::NgExpr(kDcHoldGain) * (x0 - x);
  std::string& s = *cards;
  s += "* [memspice] state x(" + inst.name + ") -> v(" + xnode + ")\n";
  s += "Bmss_" + inst.name + " " + np + " " + nn + " I = " + mss::Current(p, x, u).text() + "\n";
  s += "Cmss_" + inst.name + " " + xnode + " 0 1 IC=" + ic + "\n";
  s += "Bmssx_" + inst.name + " 0 " + xnode + " I = " + mss::StateRate(p, x, u).text() + "\n";
  s += "+ + " + hold.text() + "\n";
  return true;
}

}  // namespace memspice::devices
