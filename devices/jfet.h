// Junction FET, SPICE level 1 (Shichman-Hodges with the Sydney University doping-tail parameter
// B, as ngspice), N and P channel: `J1 d g s model [area] [OFF] [area=] [m=] [temp=] [dtemp=]
// [IC=vds,vgs]` with `.model name NJF|PJF (vto beta lambda rd rs cgs cgd pb is fc b eg xti tcv
// vtotc bex betatce tnom)`.
//
// With p = +1 (NJF) or -1 (PJF), vgs = p V(g, s'), vgd = p V(g, d'), vds = vgs - vgd, and every
// current and charge multiplied by p (d', s' are internal nodes when RD, RS > 0):
//
//   igs = IS (exp(vgs/Vt) - 1) + gmin vgs,   igd = IS (exp(vgd/Vt) - 1) + gmin vgd
//   id  = I(vgs - VTO, vds)                  vds >= 0
//       = -I(vgd - VTO, -vds)                vds < 0
//   I(x, v) = 0                                                        x <= 0
//           = b' v (v (bf v - B) + x (2B + 3 bf (x - v)))               0 < v <= x
//           = b' x^2 (B + bf x)                                         otherwise
//   b' = BETA (1 + LAMBDA v),  bf = (1 - B) / (PB - VTO)  (card values; B = 1 is Shichman-Hodges)
//   qgs = Qdep(vgs; CGS, PB, 1/2, FC),  qgd = Qdep(vgd; CGD, PB, 1/2, FC)   (junction.h)
//   f[g] += p (igs + igd),  f[d'] += p (id - igd),  f[s'] -= p (id + igs),
//   q[g] += p (qgs + qgd),  q[d'] -= p qgd,  q[s'] -= p qgs.
// BETA, IS, CGS, CGD scale with area * m, RD and RS with 1/(area * m).
//
// Temperature (T the device's, TNOM the card's, kelvin; PB, CGS, CGD as junction.h with grading
// 1/2): IS(T) = IS exp((T/TNOM - 1) EG / Vt(T)) (T/TNOM)^XTI,  VTO(T) = VTO - TCV (T - TNOM)
// (or + VTOTC (T - TNOM) when VTOTC is given),  BETA(T) = BETA (T/TNOM)^BEX (or
// BETA 1.01^(BETATCE (T - TNOM)) when BETATCE is given).
//
// Newton: vgs and vgd are limited as SPICE's pnjlim, then fetlim around VTO; the device reports
// the linearisation at the limited point. OFF starts the first DC iteration at zero bias,
// otherwise at vgs = vgd = -1 V (p-space).
// References: Shichman & Hodges, IEEE JSSC 3 (1968); Antognetti & Massobrio, Semiconductor Device
// Modeling with SPICE, ch. 3; ngspice manual, JFET level 1.
#ifndef MEMSPICE_DEVICES_JFET_H_
#define MEMSPICE_DEVICES_JFET_H_

#include <array>
#include <memory>
#include <string>

#include "devices/card_device.h"
#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/device_util.h"

namespace memspice::devices {

// Card values. T is double or a dual number (parameter partials).
template <typename T>
struct JfetModelT {
  double type = 1.0;  // +1 NJF, -1 PJF
  T vto = T(-2.0), beta = T(1e-4), lambda = T(0.0), is = T(1e-14), b = T(1.0);
  T cgs = T(0.0), cgd = T(0.0), pb = T(1.0), fc = T(0.5), rd = T(0.0), rs = T(0.0);
  T eg = T(1.11), xti = T(0.0), tcv = T(0.0), bex = T(0.0);
  T vtotc = T(0.0), betatce = T(0.0);  // used when given (then they replace tcv, bex)
  bool have_vtotc = false, have_betatce = false;
};
using JfetModel = JfetModelT<double>;

class Jfet : public CardDevice<JfetModel> {
 public:
  // `card` holds the card's values at inst.tnom.
  Jfet(const netlist::Element& element, const JfetModel& card, const CardInstance& inst);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void SetAnalysis(const AnalysisInfo& info) override;
  // With IC=vds,vgs (uic): the drain and gate voltages relative to the source.
  void InitialState(double* x) const override;
  // Exact partials for vto, beta, lambda, is, b, cgs, cgd, pb (card).
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  std::string nd_, ng_, ns_;
  int d_ = kGround, g_ = kGround, s_ = kGround;
  int di_ = kGround, si_ = kGround;
  double vcrit_ = 0.0;
  double vgs_old_ = 0.0, vgd_old_ = 0.0;  // limiting state (p-space)
  std::array<int, 9> h_{};                // [row][col] over (d', g, s')
  SeriesConductance rd_, rs_;
};

// Parameter table (descriptor.h), ngspice's names.
inline constexpr ParamInfo kJfetParams[] = {
    {"area", 1.0, "1", 0.0, kInf, true},
    {"m", 1.0, "1", 0.0, kInf, true},
    {"off", 0.0, "1", 0.0, 1.0},
    {"temp", kNoDefault, "C"},  // device temperature (default: the circuit's)
    {"dtemp", 0.0, "C"},        // offset from the circuit temperature
    {"level", 1.0, "1", 1.0, 1.0, false, ParamScope::kModel},
    {"vto", -2.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"vt0", -2.0, "V", -kInf, kInf, false, ParamScope::kModel},  // = vto
    {"beta", 1e-4, "A/V^2", 0.0, kInf, true, ParamScope::kModel},
    {"lambda", 0.0, "1/V", 0.0, kInf, false, ParamScope::kModel},
    {"rd", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"rs", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"cgs", 0.0, "F", 0.0, kInf, false, ParamScope::kModel},
    {"cgd", 0.0, "F", 0.0, kInf, false, ParamScope::kModel},
    {"pb", 1.0, "V", 0.0, kInf, true, ParamScope::kModel},
    {"is", 1e-14, "A", 0.0, kInf, true, ParamScope::kModel},
    {"fc", 0.5, "1", 0.0, 0.95, false, ParamScope::kModel},
    {"b", 1.0, "1", 0.0, kInf, false, ParamScope::kModel},
    {"eg", 1.11, "eV", 0.0, kInf, false, ParamScope::kModel},
    {"xti", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"tcv", 0.0, "V/K", -kInf, kInf, false, ParamScope::kModel},
    {"vtotc", 0.0, "V/K", -kInf, kInf, false, ParamScope::kModel},
    {"bex", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"betatce", 0.0, "%/K", -kInf, kInf, false, ParamScope::kModel},
    {"tnom", 27.0, "C", -273.15, kInf, false, ParamScope::kModel},
    {"kf", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},      // noise: no effect
    {"af", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},      // noise: no effect
    {"nlev", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},    // noise: no effect
    {"gdsnoi", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},  // noise: no effect
};

// Drain and source conduct through the channel, the gate through its junctions to both.
void JfetTopology(const netlist::Element& element, const std::vector<int>& n, Coupling* out);

std::unique_ptr<Device> CreateJfet(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_JFET_H_
