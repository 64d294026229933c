#include "devices/bjt.h"

#include <ceres/jet.h>
#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "devices/device_util.h"
#include "devices/junction.h"

namespace memspice::devices {
namespace {

// SPICE's VTF factor in the transit-time bias dependence exp(vbc / (1.44 VTF)).
constexpr double kVtfFactor = 1.44;

constexpr const char* kFieldNames[] = {
    "is",  "bf",  "nf",  "vaf",  "ikf", "ise", "ne",  "br",  "nr", "var", "ikr", "isc",
    "nc",  "rb",  "rbm", "re",   "rc",  "cje", "vje", "mje", "tf", "xtf", "vtf", "itf",
    "cjc", "vjc", "mjc", "xcjc", "tr",  "cjs", "vjs", "mjs", "fc", "eg",  "xti", "xtb"};
constexpr int kNumFields = sizeof(kFieldNames) / sizeof(kFieldNames[0]);

template <typename T>
std::array<T*, kNumFields> Fields(BjtModelT<T>& m) {
  return {&m.is,   &m.bf,  &m.nf,  &m.vaf, &m.ikf, &m.ise, &m.ne,  &m.br,  &m.nr,
          &m.var,  &m.ikr, &m.isc, &m.nc,  &m.rb,  &m.rbm, &m.re,  &m.rc,  &m.cje,
          &m.vje,  &m.mje, &m.tf,  &m.xtf, &m.vtf, &m.itf, &m.cjc, &m.vjc, &m.mjc,
          &m.xcjc, &m.tr,  &m.cjs, &m.vjs, &m.mjs, &m.fc,  &m.eg,  &m.xti, &m.xtb};
}

int FieldIndex(const std::string& name) {
  for (int k = 0; k < kNumFields; ++k) {
    if (name == kFieldNames[k]) return k;
  }
  return -1;
}

// Aliases ngspice accepts for some card parameters.
std::string CanonicalName(const std::string& key) {
  if (key == "va") return "vaf";
  if (key == "vb") return "var";
  if (key == "ik") return "ikf";
  if (key == "pe") return "vje";
  if (key == "me") return "mje";
  if (key == "pc") return "vjc";
  if (key == "mc") return "mjc";
  if (key == "ps") return "vjs";
  if (key == "ms") return "mjs";
  if (key == "ccs" || key == "csub") return "cjs";
  return key;
}

// Scalings with area * m: currents and capacitances up, resistances down.
constexpr const char* kScaledUp[] = {"is", "ise", "isc", "ikf", "ikr", "itf", "cje", "cjc", "cjs"};
constexpr const char* kScaledDown[] = {"rb", "rbm", "re", "rc"};

// Rows/columns (b, b', c', e', s); the equations' variables are vbe, vbc, vbb = V(b, b') and
// vsc = V(s, c') in real orientation.
template <typename T>
struct BjtOut {
  T f[5];
  T q[5];
};

template <typename T>
T Depletion(const T& v, const T& cj, const T& vj, const T& mj, const T& fc) {
  if (Value(cj) == 0.0) return T(0.0);
  return DepletionCharge(v, cj, vj, mj, fc);
}

template <typename T>
BjtOut<T> Equations(const BjtModelT<T>& m, const T& vbe_in, const T& vbc_in, const T& vbb,
                    const T& vsc_in, double vt, double gmin) {
  using std::exp;
  using std::sqrt;
  const double p = m.type;
  const T vbe = p * vbe_in, vbc = p * vbc_in, vsc = p * vsc_in;
  const T ibe = JunctionCurrent(vbe, m.is, Value(m.nf) * vt) + gmin * vbe;
  const T ibc = JunctionCurrent(vbc, m.is, Value(m.nr) * vt) + gmin * vbc;
  const T ile = Value(m.ise) > 0.0 ? JunctionCurrent(vbe, m.ise, Value(m.ne) * vt) : T(0.0);
  const T ilc = Value(m.isc) > 0.0 ? JunctionCurrent(vbc, m.isc, Value(m.nc) * vt) : T(0.0);
  const T q1 = 1.0 / (1.0 - vbc / m.vaf - vbe / m.var);
  const T q2 = ibe / m.ikf + ibc / m.ikr;
  const T qb = 0.5 * q1 * (1.0 + sqrt(1.0 + 4.0 * q2));
  const T ic = (ibe - ibc) / qb - ibc / m.br - ilc;
  const T ib = ibe / m.bf + ile + ibc / m.br + ilc;
  const T rbm = Value(m.rbm) < 0.0 ? m.rb : m.rbm;
  T ibr(0.0);
  if (Value(m.rb) > 0.0) ibr = vbb / (rbm + (m.rb - rbm) / qb);
  T qbe = Depletion(vbe, m.cje, m.vje, m.mje, m.fc);
  if (Value(m.tf) > 0.0 && Value(vbe) > 0.0) {
    T factor(1.0);
    if (Value(m.xtf) > 0.0) {
      T arg = m.xtf * exp(vbc / (kVtfFactor * m.vtf));
      if (Value(m.itf) > 0.0) {
        const T frac = ibe / (ibe + m.itf);
        arg = arg * frac * frac;
      }
      factor += arg;
    }
    qbe += m.tf * factor * ibe / qb;
  }
  const T qbc = m.tr * ibc + Depletion(vbc, T(m.xcjc * m.cjc), m.vjc, m.mjc, m.fc);
  const T vbcx = vbc + p * vbb;  // V(b, c') in p-space
  const T qbx = Depletion(vbcx, T((1.0 - m.xcjc) * m.cjc), m.vjc, m.mjc, m.fc);
  const T qsc = Depletion(vsc, m.cjs, m.vjs, m.mjs, m.fc);
  BjtOut<T> o;
  o.f[0] = ibr;
  o.f[1] = p * ib - ibr;
  o.f[2] = p * ic;
  o.f[3] = -p * (ic + ib);
  o.f[4] = T(0.0);
  o.q[0] = p * qbx;
  o.q[1] = p * (qbe + qbc);
  o.q[2] = -p * (qbc + qbx + qsc);
  o.q[3] = -p * qbe;
  o.q[4] = p * qsc;
  return o;
}

// The card's values at `temp` from those at `tnom` (kelvin; bjt.h and junction.h).
template <typename T>
BjtModelT<T> AtTemperature(BjtModelT<T> m, double tnom, double temp) {
  using std::exp;
  if (temp == tnom) return m;
  const double vt = ThermalVoltageK(temp), ratio = temp / tnom;
  const T factlog = (ratio - 1.0) * m.eg / vt + m.xti * std::log(ratio);
  const T bfactor = exp(m.xtb * std::log(ratio));
  m.is = m.is * exp(factlog);
  m.bf = m.bf * bfactor;
  m.br = m.br * bfactor;
  m.ise = m.ise * exp(factlog / m.ne) / bfactor;
  m.isc = m.isc * exp(factlog / m.nc) / bfactor;
  T cap;
  m.vje = JunctionPotentialAt(m.vje, m.mje, tnom, temp, &cap);
  m.cje = m.cje * cap;
  m.vjc = JunctionPotentialAt(m.vjc, m.mjc, tnom, temp, &cap);
  m.cjc = m.cjc * cap;
  m.vjs = JunctionPotentialAt(m.vjs, m.mjs, tnom, temp, &cap);
  m.cjs = m.cjs * cap;
  return m;
}

// The instance's values: the card at `temp`, currents and capacitances times area * m
// (`scale`), resistances divided by it.
template <typename T>
BjtModelT<T> InstanceModel(const BjtModelT<T>& card, double scale, double tnom, double temp) {
  BjtModelT<T> m = AtTemperature(card, tnom, temp);
  auto fields = Fields(m);
  for (const char* k : kScaledUp) *fields[FieldIndex(k)] *= scale;
  for (const char* k : kScaledDown) {
    T& v = *fields[FieldIndex(k)];
    if (v > 0.0) v /= scale;
  }
  return m;
}

template <typename T>
BjtModelT<T> Promote(const BjtModel& m) {
  BjtModelT<T> out;
  BjtModel copy = m;
  auto from = Fields(copy);
  auto to = Fields(out);
  for (int k = 0; k < kNumFields; ++k) *to[k] = T(*from[k]);
  out.type = m.type;
  return out;
}

}  // namespace

Bjt::Bjt(const netlist::Element& element, const BjtModel& card, const CardInstance& inst)
    : CardDevice(element, card, inst),
      nc_(element.nodes[0]),
      nb_(element.nodes[1]),
      ne_(element.nodes[2]),
      ns_(element.nodes.size() > 3 ? element.nodes[3] : "0") {
  SetAnalysis(AnalysisInfo{0.0, 0.0, inst.circuit_temp});
}

void Bjt::SetAnalysis(const AnalysisInfo& info) {
  SetTemperature(info);
  model_ = InstanceModel(card_, inst_.scale, inst_.tnom, kelvin_);
}

void Bjt::InitialState(double* x) const {
  SetTerminalVoltages(e_, {b_, c_}, inst_.ic, {{bi_, b_}, {ci_, c_}, {ei_, e_}}, x);  // vbe, vce
}

void Bjt::Setup(SetupContext& ctx) {
  c_ = ctx.Node(nc_);
  b_ = ctx.Node(nb_);
  e_ = ctx.Node(ne_);
  s_ = ctx.Node(ns_);
  auto internal = [&](double r, int ext, const char* tag) {
    return r > 0.0 ? ctx.AddUnknown("v(" + name() + "#" + tag + ")", UnknownKind::kNode) : ext;
  };
  ci_ = internal(model_.rc, c_, "collector");
  bi_ = internal(model_.rb, b_, "base");
  ei_ = internal(model_.re, e_, "emitter");
}

void Bjt::Bind(BindContext& ctx) {
  const int nodes[5] = {b_, bi_, ci_, ei_, s_};
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) h_[5 * r + c] = ctx.Entry(nodes[r], nodes[c]);
  }
  rc_.Bind(ctx, c_, ci_);
  re_.Bind(ctx, e_, ei_);
}

void Bjt::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  if (ci_ != c_) rc_.Stamp(ctx, 1.0 / model_.rc, h_[5 * 2 + 2]);
  if (ei_ != e_) re_.Stamp(ctx, 1.0 / model_.re, h_[5 * 3 + 3]);
  const double p = model_.type;
  const double v[4] = {x[bi_] - x[ei_], x[bi_] - x[ci_], x[b_] - x[bi_], x[s_] - x[ci_]};
  double vl[4] = {v[0], v[1], v[2], v[3]};
  if (ctx.init_junctions) {
    const double vcrit = vt_ * std::log(vt_ / (std::numbers::sqrt2 * model_.is));
    vl[0] = inst_.off ? 0.0 : p * vcrit;
    vl[1] = 0.0;
  } else {
    const double vcrit_e =
        model_.nf * vt_ * std::log(model_.nf * vt_ / (std::numbers::sqrt2 * model_.is));
    const double vcrit_c =
        model_.nr * vt_ * std::log(model_.nr * vt_ / (std::numbers::sqrt2 * model_.is));
    vl[0] = p * PnLimit(p * v[0], p * vbe_old_, model_.nf * vt_, vcrit_e);
    vl[1] = p * PnLimit(p * v[1], p * vbc_old_, model_.nr * vt_, vcrit_c);
    if (Moved(vl[0], v[0]) || Moved(vl[1], v[1])) ++ctx.limited;
  }
  vbe_old_ = vl[0];
  vbc_old_ = vl[1];
  using Jet = ceres::Jet<double, 4>;
  const BjtOut<Jet> o = Equations(Promote<Jet>(model_), Jet(vl[0], 0), Jet(vl[1], 1), Jet(vl[2], 2),
                                  Jet(vl[3], 3), vt_, ctx.gmin);
  const int nodes[5] = {b_, bi_, ci_, ei_, s_};
  for (int r = 0; r < 5; ++r) {
    for (const auto* out : {&o.f[r], &o.q[r]}) {
      const Jet& y = *out;
      // Columns (b, b', c', e', s) from the variables (vbe, vbc, vbb, vsc).
      const double d[5] = {y.v[2], y.v[0] + y.v[1] - y.v[2], -y.v[1] - y.v[3], -y.v[0], y.v[3]};
      double value = y.a;
      for (int k = 0; k < 4; ++k) value += y.v[k] * (v[k] - vl[k]);
      const bool is_f = out == &o.f[r];
      (is_f ? ctx.f : ctx.q)[nodes[r]] += value;
      for (int c = 0; c < 5; ++c) (is_f ? ctx.G : ctx.C)[h_[5 * r + c]] += d[c];
    }
  }
}

int Bjt::ParamHandle(const std::string& key, bool model_card) const {
  static const char* kKeys[] = {"bf", "br", "is", "vaf", "ikf", "tf", "cje", "cjc"};
  if (!model_card) return kNoParamPartial;
  for (const char* k : kKeys) {
    if (key == k) return FieldIndex(key);
  }
  return kNoParamPartial;
}

void Bjt::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  using Dual = ceres::Jet<double, 1>;
  BjtModelT<Dual> card = Promote<Dual>(card_);
  Fields(card)[handle]->v[0] = 1.0;
  const BjtModelT<Dual> m = InstanceModel(card, inst_.scale, inst_.tnom, kelvin_);
  const double* x = ctx.x;
  const BjtOut<Dual> o = Equations(m, Dual(x[bi_] - x[ei_]), Dual(x[bi_] - x[ci_]),
                                   Dual(x[b_] - x[bi_]), Dual(x[s_] - x[ci_]), vt_, ctx.gmin);
  const int nodes[5] = {b_, bi_, ci_, ei_, s_};
  for (int r = 0; r < 5; ++r) out.Add(nodes[r], o.f[r].v[0], o.q[r].v[0]);
}

namespace {

bool ReadBjtCard(const netlist::Model& card, BjtModel* m, netlist::Diagnostics& diag) {
  m->type = card.type == "pnp" ? -1.0 : 1.0;
  auto fields = Fields(*m);
  CardReader reader(card, "BJT", kFieldNames, fields, diag);
  reader.Read(CanonicalName, [&](const std::string& key, double value) {
    if (key == "level") {
      if (value != 1.0) {
        reader.Error(fmt::format("level={} is not supported", value),
                     "supported: level=1 (Gummel-Poon)");
      }
    } else if (key == "tnom" || key == "kf" || key == "af" || key == "ptf") {
      // tnom: read by NominalKelvin; kf, af: noise, not modelled.
      if (key == "ptf" && value != 0.0) reader.Error("ptf (excess phase) is not supported");
    } else if (key == "irb") {
      reader.Error("irb (current-dependent base resistance) is not supported", "use rb and rbm");
    } else {
      reader.Error(fmt::format("unknown parameter '{}'", key),
                   "Gummel-Poon parameters: is bf nf vaf ikf ise ne br nr var ikr isc nc rb rbm re "
                   "rc cje vje mje tf xtf vtf itf cjc vjc mjc xcjc tr cjs vjs mjs fc eg xti xtb "
                   "tnom");
    }
  });
  reader.RequirePositive({"is", "bf", "nf", "br", "nr", "ne", "nc", "vaf", "var", "ikf", "ikr",
                          "vje", "vjc", "vjs", "vtf"});
  reader.RequireNonNegative({"ise", "isc", "rb", "re", "rc", "cje", "cjc", "cjs", "tf", "tr", "xtf",
                             "itf", "mje", "mjc", "mjs"});
  if (!(m->xcjc >= 0.0 && m->xcjc <= 1.0)) reader.Error("xcjc must be in [0, 1]");
  if (!(m->fc >= 0.0 && m->fc < 1.0)) reader.Error("fc must be in [0, 1)");
  return reader.ok();
}

}  // namespace

void BjtTopology(const netlist::Element&, const std::vector<int>& n, Coupling* out) {
  if (n.size() < 3) return;
  for (auto [a, b] : {std::pair{0, 1}, {1, 2}, {0, 2}}) {
    out->any.emplace_back(n[a], n[b]);
    out->dc.emplace_back(n[a], n[b]);
  }
  if (n.size() >= 4) out->any.emplace_back(n[0], n[3]);
}

std::unique_ptr<Device> CreateBjt(const netlist::Element& element, const netlist::Netlist& netlist,
                                  netlist::Diagnostics& diag) {
  bool ok = true;
  if (element.nodes.size() != 3 && element.nodes.size() != 4) {
    diag.Error(element.loc, fmt::format("BJT '{}' needs 3 or 4 nodes, got {}", element.name,
                                        element.nodes.size()));
    ok = false;
  }
  ok = CheckInstanceParams(element, kBjtParams, diag) && ok;
  if (!ok) return nullptr;
  const netlist::Model* card =
      FindModelCard(element, netlist, "BJT", "e.g. Q1 c b e qn with .model qn NPN (bf=100)", diag);
  if (card == nullptr) return nullptr;
  BjtModel m;
  if (!ReadBjtCard(*card, &m, diag)) return nullptr;
  const std::optional<CardInstance> inst = ReadCardInstance(element, *card, netlist, "BJT", diag);
  if (!inst) return nullptr;
  return std::make_unique<Bjt>(element, m, *inst);
}

}  // namespace memspice::devices
