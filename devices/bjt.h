// Bipolar transistor, Gummel-Poon (SPICE2 / ngspice level 1), NPN and PNP:
// `Q1 c b e [s] model [area] [OFF] [area=] [m=] [IC=vbe,vce]` with `.model name NPN|PNP (is bf nf
// vaf ikf ise ne br nr var ikr isc nc rb rbm re rc cje vje mje tf xtf vtf itf cjc vjc mjc xcjc tr
// cjs vjs mjs fc eg xti xtb tnom)`, instance `temp=` / `dtemp=`. The substrate node defaults to
// ground.
//
// Temperature (T the device's, TNOM the card's, kelvin; VJE/CJE, VJC/CJC, VJS/CJS as junction.h):
//   IS(T) = IS e^L,  L = (T/TNOM - 1) EG / Vt(T) + XTI ln(T/TNOM),  BF, BR times (T/TNOM)^XTB,
//   ISE(T) = ISE e^(L/NE) / (T/TNOM)^XTB,  ISC(T) = ISC e^(L/NC) / (T/TNOM)^XTB.
// The equations below use these values.
//
// With p = +1 (NPN) or -1 (PNP), vbe = p V(b', e'), vbc = p V(b', c'), vt = kT/q, and every
// current and charge is multiplied by p (b', c', e' are internal nodes when RB, RC, RE > 0):
//
//   ibe = IS (exp(vbe/(NF vt)) - 1) + gmin vbe,   ibc = IS (exp(vbc/(NR vt)) - 1) + gmin vbc
//   ile = ISE (exp(vbe/(NE vt)) - 1),             ilc = ISC (exp(vbc/(NC vt)) - 1)
//   q1 = 1 / (1 - vbc/VAF - vbe/VAR),  q2 = ibe/IKF + ibc/IKR,  qb = q1 (1 + sqrt(1 + 4 q2)) / 2
//   ic = (ibe - ibc)/qb - ibc/BR - ilc,   ib = ibe/BF + ile + ibc/BR + ilc
//   rbb = RBM + (RB - RBM)/qb  (between b and b')
//   qbe = TF (1 + XTF (ibe/(ibe + ITF))^2 exp(vbc/(1.44 VTF))) ibe/qb  (vbe > 0)  + Qdep(vbe; CJE
//   VJE MJE) qbc = TR ibc + Qdep(vbc; XCJC CJC, VJC, MJC),  qbx = Qdep(V(b, c'); (1 - XCJC) CJC,
//   VJC, MJC) qsc = Qdep(p V(s, c'); CJS, VJS, MJS)
// Qdep is the depletion charge of junction.h with FC. IS, ISE, ISC, IKF, IKR, ITF and the
// capacitances scale with area * m, the resistances with 1/(area * m). Both junctions are
// limited as SPICE's pnjlim; the device reports the linearisation at the limited point.
// Reference: Gummel & Poon, Bell Syst. Tech. J. 49 (1970); ngspice manual, BJT level 1.
#ifndef MEMSPICE_DEVICES_BJT_H_
#define MEMSPICE_DEVICES_BJT_H_

#include <array>
#include <limits>
#include <memory>
#include <string>

#include "devices/card_device.h"
#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/device_util.h"

namespace memspice::devices {

template <typename T>
struct BjtModelT {
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  double type = 1.0;  // +1 NPN, -1 PNP
  T is = T(1e-16), bf = T(100), nf = T(1), vaf = T(kInf), ikf = T(kInf), ise = T(0), ne = T(1.5);
  T br = T(1), nr = T(1), var = T(kInf), ikr = T(kInf), isc = T(0), nc = T(2);
  T rb = T(0), rbm = T(-1), re = T(0), rc = T(0);  // rbm < 0: same as rb
  T cje = T(0), vje = T(0.75), mje = T(0.33), tf = T(0), xtf = T(0), vtf = T(kInf), itf = T(0);
  T cjc = T(0), vjc = T(0.75), mjc = T(0.33), xcjc = T(1), tr = T(0);
  T cjs = T(0), vjs = T(0.75), mjs = T(0), fc = T(0.5);
  T eg = T(1.11), xti = T(3), xtb = T(0);  // temperature: gap (eV), IS and beta exponents
};
using BjtModel = BjtModelT<double>;

class Bjt : public CardDevice<BjtModel> {
 public:
  // `card` holds the card's values at inst.tnom.
  Bjt(const netlist::Element& element, const BjtModel& card, const CardInstance& inst);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void SetAnalysis(const AnalysisInfo& info) override;
  // With IC=vbe,vce (uic): the base and collector voltages relative to the emitter.
  void InitialState(double* x) const override;
  // Exact partials for bf, br, is, vaf, ikf, tf, cje, cjc (card; scaled as the instance).
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string nc_, nb_, ne_, ns_;
  int c_ = kGround, b_ = kGround, e_ = kGround, s_ = kGround;
  int ci_ = kGround, bi_ = kGround, ei_ = kGround;
  double vbe_old_ = 0.0, vbc_old_ = 0.0;
  std::array<int, 25> h_{};    // [row][col] over (b, b', c', e', s)
  SeriesConductance rc_, re_;  // collector and emitter series resistances
};

// Parameter table (descriptor.h); aliases as ngspice (va = vaf, pe = vje, ...). kf, af are
// accepted without effect (no noise).
inline constexpr ParamInfo kBjtParams[] = {
    {"area", 1.0, "1", 0.0, kInf, true},
    {"m", 1.0, "1", 0.0, kInf, true},
    {"off", 0.0, "1", 0.0, 1.0},
    {"temp", kNoDefault, "C"},  // device temperature (default: the circuit's)
    {"dtemp", 0.0, "C"},        // offset from the circuit temperature
    {"is", 1e-16, "A", 0, kInf, true, ParamScope::kModel},
    {"bf", 100, "1", 0, kInf, true, ParamScope::kModel},
    {"nf", 1, "1", 0, kInf, true, ParamScope::kModel},
    {"vaf", kInf, "V", 0, kInf, false, ParamScope::kModel},
    {"va", kInf, "V", 0, kInf, false, ParamScope::kModel},
    {"ikf", kInf, "A", 0, kInf, false, ParamScope::kModel},
    {"ik", kInf, "A", 0, kInf, false, ParamScope::kModel},
    {"ise", 0, "A", 0, kInf, false, ParamScope::kModel},
    {"ne", 1.5, "1", 0, kInf, false, ParamScope::kModel},
    {"br", 1, "1", 0, kInf, true, ParamScope::kModel},
    {"nr", 1, "1", 0, kInf, true, ParamScope::kModel},
    {"var", kInf, "V", 0, kInf, false, ParamScope::kModel},
    {"vb", kInf, "V", 0, kInf, false, ParamScope::kModel},
    {"ikr", kInf, "A", 0, kInf, false, ParamScope::kModel},
    {"isc", 0, "A", 0, kInf, false, ParamScope::kModel},
    {"nc", 2, "1", 0, kInf, false, ParamScope::kModel},
    {"rb", 0, "Ohm", 0, kInf, false, ParamScope::kModel},
    {"rbm", kNoDefault, "Ohm", 0, kInf, false, ParamScope::kModel},
    {"re", 0, "Ohm", 0, kInf, false, ParamScope::kModel},
    {"rc", 0, "Ohm", 0, kInf, false, ParamScope::kModel},
    {"cje", 0, "F", 0, kInf, false, ParamScope::kModel},
    {"vje", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"pe", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"mje", 0.33, "1", 0, kInf, false, ParamScope::kModel},
    {"me", 0.33, "1", 0, kInf, false, ParamScope::kModel},
    {"tf", 0, "s", 0, kInf, false, ParamScope::kModel},
    {"xtf", 0, "1", 0, kInf, false, ParamScope::kModel},
    {"vtf", kInf, "V", 0, kInf, false, ParamScope::kModel},
    {"itf", 0, "A", 0, kInf, false, ParamScope::kModel},
    {"ptf", 0, "deg", 0, 0, false, ParamScope::kModel},
    {"cjc", 0, "F", 0, kInf, false, ParamScope::kModel},
    {"vjc", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"pc", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"mjc", 0.33, "1", 0, kInf, false, ParamScope::kModel},
    {"mc", 0.33, "1", 0, kInf, false, ParamScope::kModel},
    {"xcjc", 1, "1", 0, 1, false, ParamScope::kModel},
    {"tr", 0, "s", 0, kInf, false, ParamScope::kModel},
    {"cjs", 0, "F", 0, kInf, false, ParamScope::kModel},
    {"ccs", 0, "F", 0, kInf, false, ParamScope::kModel},
    {"csub", 0, "F", 0, kInf, false, ParamScope::kModel},
    {"vjs", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"ps", 0.75, "V", 0, kInf, false, ParamScope::kModel},
    {"mjs", 0, "1", 0, kInf, false, ParamScope::kModel},
    {"ms", 0, "1", 0, kInf, false, ParamScope::kModel},
    {"fc", 0.5, "1", 0, 1, false, ParamScope::kModel},
    {"level", 1, "1", 1, 1, false, ParamScope::kModel},
    {"tnom", 27, "C", -273.15, kInf, false, ParamScope::kModel},
    {"eg", 1.11, "eV", -kInf, kInf, false, ParamScope::kModel},
    {"xti", 3, "1", -kInf, kInf, false, ParamScope::kModel},
    {"xtb", 0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"kf", 0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"af", 1, "1", -kInf, kInf, false, ParamScope::kModel},
};

// Collector, base and emitter conduct (junctions); the substrate only capacitively.
void BjtTopology(const netlist::Element& element, const std::vector<int>& n, Coupling* out);

std::unique_ptr<Device> CreateBjt(const netlist::Element& element, const netlist::Netlist& netlist,
                                  netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_BJT_H_
