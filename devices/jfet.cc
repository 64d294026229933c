#include "devices/jfet.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "devices/device_util.h"
#include "devices/junction.h"

namespace memspice::devices {
namespace {

constexpr double kGateGrading = 0.5;   // the gate junctions' grading coefficient (abrupt)
constexpr double kBetaTceBase = 1.01;  // BETATCE is in percent per kelvin

constexpr const char* kFieldNames[] = {"vto", "beta", "lambda", "is",    "b",      "cgs",
                                       "cgd", "pb",   "fc",     "rd",    "rs",     "eg",
                                       "xti", "tcv",  "bex",    "vtotc", "betatce"};
constexpr int kNumFields = sizeof(kFieldNames) / sizeof(kFieldNames[0]);

template <typename T>
std::array<T*, kNumFields> Fields(JfetModelT<T>& m) {
  return {&m.vto, &m.beta, &m.lambda, &m.is,  &m.b,   &m.cgs, &m.cgd,   &m.pb,     &m.fc,
          &m.rd,  &m.rs,   &m.eg,     &m.xti, &m.tcv, &m.bex, &m.vtotc, &m.betatce};
}

int FieldIndex(const std::string& name) {
  const std::string key = name == "vt0" ? "vto" : name;
  for (int k = 0; k < kNumFields; ++k) {
    if (key == kFieldNames[k]) return k;
  }
  return -1;
}

// The channel current of jfet.h in normal mode: I(x, v), x = gate drive, v >= 0. `bfac` is
// (1 - B) / (PB - VTO) of the card.
template <typename T>
T ChannelCurrent(const JfetModelT<T>& m, const T& bfac, const T& x, const T& v) {
  if (x <= 0.0) return T(0.0);
  const T betap = m.beta * (1.0 + m.lambda * v);
  if (v <= x) return betap * v * (v * (bfac * v - m.b) + x * (2.0 * m.b + 3.0 * bfac * (x - v)));
  return betap * x * x * (m.b + bfac * x);
}

// Rows (d', g, s') of f and q at gate voltages vgs, vgd (real orientation).
template <typename T>
struct JfetOut {
  T f[3];
  T q[3];
};

template <typename T>
JfetOut<T> Equations(const JfetModelT<T>& m, const T& bfac, const T& vgs_in, const T& vgd_in,
                     double vt, double gmin) {
  const double p = m.type;
  const T vgs = p * vgs_in, vgd = p * vgd_in, vds = vgs - vgd;
  const T igs = JunctionCurrent(vgs, m.is, vt) + gmin * vgs;
  const T igd = JunctionCurrent(vgd, m.is, vt) + gmin * vgd;
  const T id = vds >= 0.0 ? ChannelCurrent(m, bfac, T(vgs - m.vto), vds)
                          : T(-ChannelCurrent(m, bfac, T(vgd - m.vto), T(-vds)));
  const T grading(kGateGrading);
  const T qgs = Value(m.cgs) > 0.0 ? DepletionCharge(vgs, m.cgs, m.pb, grading, m.fc) : T(0.0);
  const T qgd = Value(m.cgd) > 0.0 ? DepletionCharge(vgd, m.cgd, m.pb, grading, m.fc) : T(0.0);
  JfetOut<T> o;
  o.f[0] = p * (id - igd);
  o.f[1] = p * (igs + igd);
  o.f[2] = -p * (id + igs);
  o.q[0] = -p * qgd;
  o.q[1] = p * (qgs + qgd);
  o.q[2] = -p * qgs;
  return o;
}

// The instance's values: the card at `temp` (jfet.h), BETA, IS, CGS, CGD times `scale`, RD, RS
// divided by it.
template <typename T>
JfetModelT<T> InstanceModel(JfetModelT<T> m, double scale, double tnom, double temp) {
  using std::exp;
  if (temp != tnom) {
    const double ratio = temp / tnom, dt = temp - tnom;
    m.is = m.is * exp((ratio - 1.0) * m.eg / ThermalVoltageK(temp) + m.xti * std::log(ratio));
    m.vto = m.have_vtotc ? T(m.vto + m.vtotc * dt) : T(m.vto - m.tcv * dt);
    m.beta = m.have_betatce ? T(m.beta * exp(m.betatce * dt * std::log(kBetaTceBase)))
                            : T(m.beta * exp(m.bex * std::log(ratio)));
    T cap;
    m.pb = JunctionPotentialAt(m.pb, T(kGateGrading), tnom, temp, &cap);
    m.cgs = m.cgs * cap;
    m.cgd = m.cgd * cap;
  }
  m.beta *= scale;
  m.is *= scale;
  m.cgs *= scale;
  m.cgd *= scale;
  m.rd /= scale;
  m.rs /= scale;
  return m;
}

template <typename T>
JfetModelT<T> Promote(const JfetModel& m) {
  JfetModelT<T> out;
  JfetModel copy = m;
  auto from = Fields(copy);
  auto to = Fields(out);
  for (int k = 0; k < kNumFields; ++k) *to[k] = T(*from[k]);
  out.type = m.type;
  out.have_vtotc = m.have_vtotc;
  out.have_betatce = m.have_betatce;
  return out;
}

// (1 - B) / (PB - VTO) from the card's values (ngspice takes them before temperature scaling).
template <typename T>
T DopingTailFactor(const JfetModelT<T>& card) {
  return (1.0 - card.b) / (card.pb - card.vto);
}

}  // namespace

Jfet::Jfet(const netlist::Element& element, const JfetModel& card, const CardInstance& inst)
    : CardDevice(element, card, inst),
      nd_(element.nodes[0]),
      ng_(element.nodes[1]),
      ns_(element.nodes[2]) {
  SetAnalysis(AnalysisInfo{0.0, 0.0, inst.circuit_temp});
}

void Jfet::SetAnalysis(const AnalysisInfo& info) {
  SetTemperature(info);
  model_ = InstanceModel(card_, inst_.scale, inst_.tnom, kelvin_);
  vcrit_ = vt_ * std::log(vt_ / (std::numbers::sqrt2 * model_.is));
}

void Jfet::InitialState(double* x) const {
  SetTerminalVoltages(s_, {d_, g_}, inst_.ic, {{di_, d_}, {si_, s_}}, x);  // vds, vgs
}

void Jfet::Setup(SetupContext& ctx) {
  d_ = ctx.Node(nd_);
  g_ = ctx.Node(ng_);
  s_ = ctx.Node(ns_);
  di_ = model_.rd > 0.0 ? ctx.AddUnknown("v(" + name() + "#drain)", UnknownKind::kNode) : d_;
  si_ = model_.rs > 0.0 ? ctx.AddUnknown("v(" + name() + "#source)", UnknownKind::kNode) : s_;
}

void Jfet::Bind(BindContext& ctx) {
  const int nodes[3] = {di_, g_, si_};
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) h_[3 * r + c] = ctx.Entry(nodes[r], nodes[c]);
  }
  rd_.Bind(ctx, d_, di_);
  rs_.Bind(ctx, s_, si_);
}

void Jfet::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  if (di_ != d_) rd_.Stamp(ctx, 1.0 / model_.rd, h_[0]);
  if (si_ != s_) rs_.Stamp(ctx, 1.0 / model_.rs, h_[8]);
  const double p = model_.type;
  const double v[2] = {x[g_] - x[si_], x[g_] - x[di_]};  // vgs, vgd
  double vl[2];
  if (ctx.init_junctions) {
    constexpr double kInitialGate = -1.0;  // SPICE's first guess of both gate junctions
    vl[0] = vl[1] = inst_.off ? 0.0 : p * kInitialGate;
  } else {
    const double olds[2] = {vgs_old_, vgd_old_};
    for (int k = 0; k < 2; ++k) {
      const double pj = PnLimit(p * v[k], p * olds[k], vt_, vcrit_);
      vl[k] = p * FetLimit(pj, p * olds[k], model_.vto);
    }
    if (Moved(vl[0], v[0]) || Moved(vl[1], v[1])) ++ctx.limited;
  }
  vgs_old_ = vl[0];
  vgd_old_ = vl[1];
  using Jet = ceres::Jet<double, 2>;
  const JfetOut<Jet> o = Equations(Promote<Jet>(model_), Jet(DopingTailFactor(card_)),
                                   Jet(vl[0], 0), Jet(vl[1], 1), vt_, ctx.gmin);
  const int nodes[3] = {di_, g_, si_};
  for (int r = 0; r < 3; ++r) {
    for (const Jet* y : {&o.f[r], &o.q[r]}) {
      // Columns (d', g, s') from the variables (vgs, vgd).
      const double d[3] = {-y->v[1], y->v[0] + y->v[1], -y->v[0]};
      const double value = y->a + y->v[0] * (v[0] - vl[0]) + y->v[1] * (v[1] - vl[1]);
      const bool is_f = y == &o.f[r];
      (is_f ? ctx.f : ctx.q)[nodes[r]] += value;
      for (int c = 0; c < 3; ++c) (is_f ? ctx.G : ctx.C)[h_[3 * r + c]] += d[c];
    }
  }
}

int Jfet::ParamHandle(const std::string& key, bool model_card) const {
  static const char* kKeys[] = {"vto", "vt0", "beta", "lambda", "is", "b", "cgs", "cgd", "pb"};
  if (!model_card) return kNoParamPartial;
  for (const char* k : kKeys) {
    if (key == k) return FieldIndex(key);
  }
  return kNoParamPartial;
}

void Jfet::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  JfetModelT<Dual> card = Promote<Dual>(card_);
  Fields(card)[handle]->v[0] = 1.0;
  const JfetModelT<Dual> m = InstanceModel(card, inst_.scale, inst_.tnom, kelvin_);
  const double* x = ctx.x;
  const JfetOut<Dual> o = Equations(m, DopingTailFactor(card), Dual(x[g_] - x[si_]),
                                    Dual(x[g_] - x[di_]), vt_, ctx.gmin);
  const int nodes[3] = {di_, g_, si_};
  for (int r = 0; r < 3; ++r) out.Add(nodes[r], o.f[r].v[0], o.q[r].v[0]);
}

namespace {

bool ReadJfetCard(const netlist::Model& card, JfetModel* m, netlist::Diagnostics& diag) {
  m->type = card.type == "pjf" ? -1.0 : 1.0;
  m->have_vtotc = card.params.count("vtotc") > 0;
  m->have_betatce = card.params.count("betatce") > 0;
  auto fields = Fields(*m);
  CardReader reader(card, "JFET", kFieldNames, fields, diag);
  auto canonical = [](const std::string& key) { return key == "vt0" ? std::string("vto") : key; };
  reader.Read(canonical, [&](const std::string& key, double value) {
    if (key == "level") {
      if (value != 1.0) {
        reader.Error(fmt::format("level={} is not supported", value), "supported: level=1");
      }
    } else if (FindParam(kJfetParams, key, ParamPlace::kModelCard) == nullptr) {
      reader.Error(fmt::format("unknown parameter '{}'", key),
                   "JFET level 1 parameters: vto beta lambda rd rs cgs cgd pb is fc b eg xti tcv "
                   "vtotc bex betatce tnom kf af");
    }
  });
  reader.RequirePositive({"beta", "pb", "is"});
  reader.RequireNonNegative({"lambda", "cgs", "cgd", "rd", "rs", "b"});
  if (!(m->fc >= 0.0 && m->fc <= 0.95)) {
    reader.Error(fmt::format("fc must be in [0, 0.95], got {}", m->fc));
  }
  if (!(m->pb != m->vto)) {
    reader.Error("pb must differ from vto (the doping-tail factor divides by it)");
  }
  return reader.ok();
}

}  // namespace

void JfetTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  if (n.size() < 3) return;
  for (auto [a, b] : {std::pair{0, 1}, {1, 2}, {0, 2}}) {
    out->any.emplace_back(n[a], n[b]);
    out->dc.emplace_back(n[a], n[b]);
  }
}

std::unique_ptr<Device> CreateJfet(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, 3, diag);
  ok = CheckInstanceParams(element, kJfetParams, diag) && ok;
  if (!ok) return nullptr;
  const netlist::Model* card = FindModelCard(
      element, netlist, "JFET", "e.g. J1 d g s jn with .model jn NJF (vto=-2 beta=1m)", diag);
  if (card == nullptr) return nullptr;
  JfetModel m;
  if (!ReadJfetCard(*card, &m, diag)) return nullptr;
  const std::optional<CardInstance> inst = ReadCardInstance(element, *card, netlist, "JFET", diag);
  if (!inst) return nullptr;
  return std::make_unique<Jfet>(element, m, *inst);
}

}  // namespace memspice::devices
