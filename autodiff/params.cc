#include "autodiff/params.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <unordered_map>

#include "base/strings.h"
#include "devices/registry.h"

namespace memspice::autodiff {

namespace {

using base::Lower;

bool Match(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

netlist::Element* FindElement(netlist::Netlist& nl, const std::string& name) {
  for (auto& e : nl.elements) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

Status ResolveParams(const netlist::Netlist& nl, const std::vector<std::string>& patterns,
                     bool have_reparser, std::vector<ParamSpec>* out) {
  out->clear();
  std::set<std::string> seen;
  bool matched = false;  // the current pattern names a parameter (perhaps one listed before)
  auto add = [&](ParamSpec p) {
    matched = true;
    if (seen.insert(p.name).second) out->push_back(std::move(p));
  };
  for (const std::string& raw : patterns) {
    const std::string pat = Lower(raw);
    const size_t before = out->size();
    matched = false;
    bool matched_param = false;
    const size_t colon = pat.find(':');
    if (colon == std::string::npos) {
      for (const auto& [name, value] : nl.params) {
        if (!Match(pat, name)) continue;
        matched_param = true;
        if (!have_reparser) continue;
        add({ParamSpec::Kind::kParam, name, name, "", value});
      }
      for (const auto& e : nl.elements) {
        if (!e.value || !Match(pat, e.name)) continue;
        add({ParamSpec::Kind::kElementValue, e.name, e.name, "", *e.value});
      }
      if (matched_param && !have_reparser && out->size() == before) {
        return Status::Error(
            fmt::format("'{}': .param derivatives need the deck text to "
                        "re-parse it",
                        raw));
      }
    } else {
      const std::string a = pat.substr(0, colon), key = pat.substr(colon + 1);
      if (a == "ic") {
        std::string node = key;
        if (node.size() > 3 && node.rfind("v(", 0) == 0 && node.back() == ')') {
          node = node.substr(2, node.size() - 3);
        }
        for (const auto& ic : nl.ics) {
          if (Match(node, ic.node)) {
            add({ParamSpec::Kind::kIc, "ic:" + ic.node, ic.node, "", ic.value});
          }
        }
      } else {
        for (const auto& e : nl.elements) {
          if (!Match(a, e.name)) continue;
          std::map<std::string, double> avail = e.params;
          // Model parameters the device lets an instance override (its descriptor).
          auto m = nl.models.find(e.model);
          const devices::DeviceDescriptor* d = devices::FindDescriptor(e);
          if (m != nl.models.end() && d != nullptr) {
            for (const auto& [k, v] : m->second.params) {
              if (devices::FindParam(d->params, k, devices::ParamPlace::kInstance)) {
                avail.emplace(k, v);
              }
            }
          }
          for (const auto& [k, v] : avail) {
            if (Match(key, k)) add({ParamSpec::Kind::kInstance, e.name + ":" + k, e.name, k, v});
          }
        }
        for (const auto& [name, model] : nl.models) {
          if (!Match(a, name)) continue;
          for (const auto& [k, v] : model.params) {
            if (Match(key, k)) add({ParamSpec::Kind::kModel, name + ":" + k, name, k, v});
          }
        }
      }
    }
    if (!matched) {
      return Status::Error(
          fmt::format("'{}' matches no parameter", raw),
          "use a .param name, an element (R1 = its value), instance:parameter (m1:x0), "
          "model:parameter (mssn:tau) or ic:node; model parameters must be written on the "
          ".model card");
    }
  }
  return Status::Ok();
}

Status WithParam(const netlist::Netlist& base, const ParamSpec& p, double value,
                 const Reparser& reparse, netlist::Netlist* out) {
  if (p.kind == ParamSpec::Kind::kParam) {
    if (!reparse)
      return Status::Error(fmt::format("cannot re-parse the deck for .param '{}'", p.name));
    std::string err;
    std::optional<netlist::Netlist> nl = reparse({{p.target, value}}, &err);
    if (!nl) {
      return Status::Error(
          fmt::format("re-parsing with {} = {:.17g} failed: {}", p.name, value, err));
    }
    if (nl->elements.size() != base.elements.size()) {
      return Status::Error(
          fmt::format(".param '{}' changes the circuit's structure; it cannot be "
                      "differentiated",
                      p.name));
    }
    *out = std::move(*nl);
    return Status::Ok();
  }
  *out = base;
  switch (p.kind) {
    case ParamSpec::Kind::kElementValue:
      FindElement(*out, p.target)->value = value;
      break;
    case ParamSpec::Kind::kInstance:
      FindElement(*out, p.target)->params[p.key] = value;
      break;
    case ParamSpec::Kind::kModel:
      out->models[p.target].params[p.key] = value;
      break;
    case ParamSpec::Kind::kIc:
      for (auto& ic : out->ics) {
        if (ic.node == p.target) ic.value = value;
      }
      break;
    case ParamSpec::Kind::kParam:
      break;
  }
  return Status::Ok();
}

Status IcClamp(const solver::Circuit& circuit, const netlist::Netlist& nl,
               std::vector<double>* clamp) {
  clamp->assign(circuit.size(), std::numeric_limits<double>::quiet_NaN());
  for (const auto& v : nl.ics) {
    const int idx = circuit.FindNode(v.node);
    if (idx < 0) {
      return Status::Error(fmt::format("{}:{}: node '{}' in .ic is not a node of the circuit",
                                       v.loc.file, v.loc.line, v.node));
    }
    (*clamp)[idx] = v.value;
  }
  return Status::Ok();
}

Status UicStart(solver::Circuit& circuit, const netlist::Netlist& nl, std::vector<double>* x) {
  const int n = circuit.size();
  std::vector<double> buf(n + 1, 0.0);
  for (auto& d : circuit.devices()) d->InitialState(buf.data() + 1);
  x->assign(buf.begin() + 1, buf.end());
  std::vector<double> ic;
  Status s = IcClamp(circuit, nl, &ic);
  if (!s.ok()) return s;
  for (int i = 0; i < n; ++i) {
    if (!std::isnan(ic[i])) (*x)[i] = ic[i];
  }
  return Status::Ok();
}

void SettledEvaluate(solver::Assembler& assembler, const double* x,
                     const solver::EvalRequest& request) {
  // Without limiting state an evaluation depends on x alone: nothing to settle.
  if (assembler.circuit().has_limiting_state()) {
    const int n = assembler.circuit().size();
    solver::EvalRequest probe = request;
    probe.matrices = false;
    probe.init_junctions = false;
    std::vector<double> last;
    for (int k = 0; k < 30; ++k) {
      assembler.Evaluate(x, probe);
      std::vector<double> now(assembler.f(), assembler.f() + n);
      now.insert(now.end(), assembler.q(), assembler.q() + n);
      if (now == last) break;
      last.swap(now);
    }
  }
  assembler.Evaluate(x, request);
}

namespace {

// Collects a device's partials as a dot product with (wf, wq), or into dense vectors.
class DotSink : public devices::ParamSink {
 public:
  DotSink(const double* wf, const double* wq) : wf_(wf), wq_(wq) {}
  void Add(int row, double df, double dq) override {
    if (row < 0) return;
    if (wf_ != nullptr) acc += wf_[row] * df;
    if (wq_ != nullptr) acc += wq_[row] * dq;
  }
  double acc = 0.0;

 private:
  const double* wf_;
  const double* wq_;
};

class DenseSink : public devices::ParamSink {
 public:
  DenseSink(double* df, double* dq) : df_(df), dq_(dq) {}
  void Add(int row, double df, double dq) override {
    if (row < 0) return;
    df_[row] += df;
    if (dq_ != nullptr) dq_[row] += dq;
  }

 private:
  double* df_;
  double* dq_;
};

}  // namespace

int ParamPartials::num_exact() const {
  int k = 0;
  for (const Param& p : params_) k += p.fd < 0;
  return k;
}

devices::EvalContext ParamPartials::Context(const double* x, const solver::EvalRequest& request) {
  xpad_.resize(n_ + 1);
  xpad_[0] = 0.0;
  std::copy(x, x + n_, xpad_.begin() + 1);
  devices::EvalContext ctx;
  ctx.x = xpad_.data() + 1;
  ctx.time = request.time;
  ctx.dc = request.dc;
  ctx.gmin = request.gmin;
  ctx.source_scale = request.source_scale;
  return ctx;
}

Status ParamPartials::BuildShifted(const netlist::Netlist& base, const ParamSpec& p, double value,
                                   const Reparser& reparse, const devices::AnalysisInfo& info,
                                   int n, Circ* c) {
  Status s = WithParam(base, p, value, reparse, &c->netlist);
  if (!s.ok()) return s;
  netlist::Diagnostics diag;
  c->circuit = solver::Circuit::Build(c->netlist, diag);
  if (!c->circuit) {
    return Status::Error(diag.items().empty() ? "circuit build failed" : diag.items()[0].message);
  }
  if (c->circuit->size() != n) {
    return Status::Error("the unknowns of the circuit change with this parameter");
  }
  for (auto& d : c->circuit->devices()) d->SetAnalysis(info);
  c->assembler = std::make_unique<solver::Assembler>(*c->circuit);
  return Status::Ok();
}

bool ParamPartials::ExactPartials(const netlist::Netlist& base, const solver::Circuit* circuit,
                                  const DeviceIndex& devices, const ParamSpec& p, Param* out) {
  auto device = [&](const std::string& name) -> devices::Device* {
    auto it = devices.find(name);
    return it == devices.end() ? nullptr : it->second;
  };
  auto add = [&](devices::Device* d, const std::string& key, bool model_card) {
    const int h = d == nullptr ? devices::kNoParamPartial : d->ParamHandle(key, model_card);
    if (h == devices::kNoParamPartial) return false;
    out->uses.push_back({d, h});
    return true;
  };
  switch (p.kind) {
    case ParamSpec::Kind::kParam:
      return false;
    case ParamSpec::Kind::kIc: {
      const int idx = circuit != nullptr ? circuit->FindNode(p.target) : -1;
      if (idx < 0) return false;
      out->dclamp.push_back({idx, 1.0});
      out->duic.push_back({idx, 1.0});
      return true;
    }
    case ParamSpec::Kind::kElementValue:
      return add(device(p.target), "value", false);
    case ParamSpec::Kind::kInstance:
      return add(device(p.target), p.key, false);
    case ParamSpec::Kind::kModel:
      for (const auto& e : base.elements) {
        if (e.model != p.target) continue;
        devices::Device* d = device(e.name);
        // An instance parameter of the same meaning overrides the card's.
        if (d != nullptr && e.params.count(p.key) &&
            d->ParamHandle(p.key, false) == d->ParamHandle(p.key, true)) {
          continue;
        }
        if (!add(d, p.key, true)) return false;
      }
      return true;
  }
  return false;
}

void ParamPartials::InitialStatePartials(const std::vector<double>& ic_clamp, Param* param) {
  std::vector<std::pair<int, double>> rows;
  struct RowSink : devices::ParamSink {
    std::vector<std::pair<int, double>>* rows;
    void Add(int row, double dx, double) override {
      if (row >= 0 && dx != 0.0) rows->push_back({row, dx});
    }
  } sink;
  sink.rows = &rows;
  for (const Use& u : param->uses) u.device->InitialStatePartial(u.handle, sink);
  for (const auto& [row, dx] : rows) {
    if (ic_clamp.empty() || std::isnan(ic_clamp[row])) param->duic.push_back({row, dx});
  }
}

Status ParamPartials::FiniteDifference(const netlist::Netlist& base, const ParamSpec& p,
                                       const Reparser& reparse, const devices::AnalysisInfo& info,
                                       Param* param) {
  Side side;
  const double mag = std::abs(p.value);
  side.delta = mag > 0.0 ? 1e-6 * mag : 1e-6;
  side.touches_f = p.kind != ParamSpec::Kind::kIc;
  auto failed = [&](double value, const Status& s) {
    return Status::Error(fmt::format("parameter '{}' at {:.17g}: {}", p.name, value, s.message()));
  };
  double divisor = 2.0 * side.delta;
  if (!BuildShifted(base, p, p.value + side.delta, reparse, info, n_, &side.plus).ok()) {
    // At the upper edge of the valid range (e.g. phi = 1): one-sided from p itself.
    divisor = side.delta;
    Status s = BuildShifted(base, p, p.value, reparse, info, n_, &side.plus);
    if (!s.ok()) return failed(p.value, s);
  }
  double lo = p.value - side.delta;
  if (Status s = BuildShifted(base, p, lo, reparse, info, n_, &side.minus); !s.ok()) {
    if (divisor == side.delta) return failed(lo, s);
    // At the edge of the valid range (e.g. x0 = 0): one-sided difference from p itself.
    lo = p.value;
    divisor = side.delta;
    s = BuildShifted(base, p, lo, reparse, info, n_, &side.minus);
    if (!s.ok()) return failed(lo, s);
  }
  side.delta = divisor;  // from here on: the divisor of the difference
  std::vector<double> cp, cm, up, um;
  Status s = IcClamp(*side.plus.circuit, side.plus.netlist, &cp);
  if (s.ok()) s = IcClamp(*side.minus.circuit, side.minus.netlist, &cm);
  if (s.ok()) s = UicStart(*side.plus.circuit, side.plus.netlist, &up);
  if (s.ok()) s = UicStart(*side.minus.circuit, side.minus.netlist, &um);
  if (!s.ok()) return s;
  for (int i = 0; i < n_; ++i) {
    if (!std::isnan(cp[i]) && !std::isnan(cm[i]) && cp[i] != cm[i]) {
      param->dclamp.push_back({i, (cp[i] - cm[i]) / divisor});
    }
    if (up[i] != um[i]) param->duic.push_back({i, (up[i] - um[i]) / divisor});
  }
  param->fd = static_cast<int>(sides_.size());
  sides_.push_back(std::move(side));
  return Status::Ok();
}

Status ParamPartials::Create(const netlist::Netlist& base, const std::vector<ParamSpec>& specs,
                             const Reparser& reparse, const devices::AnalysisInfo& info, int n,
                             std::unique_ptr<ParamPartials>* out, solver::Circuit* circuit) {
  auto pp = std::unique_ptr<ParamPartials>(new ParamPartials());
  pp->n_ = n;
  const bool need_devices = std::any_of(specs.begin(), specs.end(), [](const ParamSpec& p) {
    return p.kind != ParamSpec::Kind::kParam;
  });
  if (circuit == nullptr && need_devices) {
    netlist::Diagnostics diag;
    pp->own_circuit_ = solver::Circuit::Build(base, diag);
    if (!pp->own_circuit_) {
      return Status::Error(diag.items().empty() ? "circuit build failed" : diag.items()[0].message);
    }
    for (auto& d : pp->own_circuit_->devices()) d->SetAnalysis(info);
    circuit = pp->own_circuit_.get();
  }
  DeviceIndex by_name;
  std::vector<double> ic_clamp;
  if (circuit != nullptr) {
    for (auto& d : circuit->devices()) by_name.emplace(d->name(), d.get());
    Status s = IcClamp(*circuit, base, &ic_clamp);
    if (!s.ok()) return s;
  }
  for (const ParamSpec& p : specs) {
    Param param;
    if (ExactPartials(base, circuit, by_name, p, &param)) {
      // Initial states: the devices' x0 / ic=, unless a .ic value overrides the row.
      if (p.kind != ParamSpec::Kind::kIc) InitialStatePartials(ic_clamp, &param);
    } else {
      param = Param();  // drop the uses of a model parameter that some instance cannot take
      Status s = pp->FiniteDifference(base, p, reparse, info, &param);
      if (!s.ok()) return s;
    }
    pp->params_.push_back(std::move(param));
  }
  *out = std::move(pp);
  return Status::Ok();
}

std::vector<double> ParamPartials::clamp_derivative(int j) const {
  std::vector<double> d(n_, 0.0);
  for (const auto& [i, v] : params_[j].dclamp) d[i] += v;
  return d;
}

std::vector<double> ParamPartials::uic_derivative(int j) const {
  std::vector<double> d(n_, 0.0);
  for (const auto& [i, v] : params_[j].duic) d[i] += v;
  return d;
}

void ParamPartials::ClampVjp(const double* mu, double* grad) const {
  for (size_t j = 0; j < params_.size(); ++j) {
    for (const auto& [i, v] : params_[j].dclamp) grad[j] += mu[i] * v;
  }
}

void ParamPartials::UicVjp(const double* xbar, double* grad) const {
  for (size_t j = 0; j < params_.size(); ++j) {
    for (const auto& [i, v] : params_[j].duic) grad[j] += xbar[i] * v;
  }
}

void ParamPartials::Vjp(const double* x, const solver::EvalRequest& request, const double* wf,
                        const double* wq, double* grad) {
  if (wf == nullptr && wq == nullptr) return;
  const devices::EvalContext ctx = Context(x, request);
  solver::EvalRequest req = request;
  req.matrices = false;
  std::vector<double> fp, qp;
  for (size_t j = 0; j < params_.size(); ++j) {
    const Param& p = params_[j];
    if (p.fd < 0) {
      DotSink sink(wf, wq);
      for (const Use& u : p.uses) u.device->ParamPartial(u.handle, ctx, sink);
      grad[j] += sink.acc;
      continue;
    }
    Side& s = sides_[p.fd];
    if (!s.touches_f) continue;
    SettledEvaluate(*s.plus.assembler, x, req);
    fp.assign(s.plus.assembler->f(), s.plus.assembler->f() + n_);
    qp.assign(s.plus.assembler->q(), s.plus.assembler->q() + n_);
    SettledEvaluate(*s.minus.assembler, x, req);
    const double* fm = s.minus.assembler->f();
    const double* qm = s.minus.assembler->q();
    double acc = 0.0;
    for (int i = 0; i < n_; ++i) {
      if (wf != nullptr) acc += wf[i] * (fp[i] - fm[i]);
      if (wq != nullptr) acc += wq[i] * (qp[i] - qm[i]);
    }
    grad[j] += acc / s.delta;
  }
}

void ParamPartials::Jvp(int j, const double* x, const solver::EvalRequest& request, double* df,
                        double* dq) {
  std::fill(df, df + n_, 0.0);
  std::fill(dq, dq + n_, 0.0);
  const Param& p = params_[j];
  if (p.fd < 0) {
    const devices::EvalContext ctx = Context(x, request);
    DenseSink sink(df, dq);
    for (const Use& u : p.uses) u.device->ParamPartial(u.handle, ctx, sink);
    return;
  }
  Side& s = sides_[p.fd];
  if (!s.touches_f) return;
  solver::EvalRequest req = request;
  req.matrices = false;
  SettledEvaluate(*s.plus.assembler, x, req);
  std::copy(s.plus.assembler->f(), s.plus.assembler->f() + n_, df);
  std::copy(s.plus.assembler->q(), s.plus.assembler->q() + n_, dq);
  SettledEvaluate(*s.minus.assembler, x, req);
  for (int i = 0; i < n_; ++i) {
    df[i] = (df[i] - s.minus.assembler->f()[i]) / s.delta;
    dq[i] = (dq[i] - s.minus.assembler->q()[i]) / s.delta;
  }
}

}  // namespace memspice::autodiff
