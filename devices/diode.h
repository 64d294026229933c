// Junction diode D (SPICE level 1): `D1 a k model [area] [off] [area=..] [m=..] [ic=vd0]` with
// `.model name D (is n rs cjo vj m fc tt bv ibv nbv eg xti tnom)`, instance `temp=` / `dtemp=`.
//
// Temperature (T the device's, TNOM the card's, kelvin; junction.h for VJ and CJO):
//   IS(T) = IS exp((T/TNOM - 1) EG / (N Vt(T)) + XTI/N ln(T/TNOM)),  VJ(T), CJO(T) as junction.h
// and BV' below is solved with IS(T). The equations below use these values.
//
// Junction voltage vd = V(a') - V(k), where a' is an internal node "v(d1#int)" when RS > 0 (RS
// then sits between a and a'), else a itself. With vte = n k T / q at the device temperature:
//
//   id = IS (exp(vd/vte) - 1)                  vd >= -3 vte
//      = -IS (1 + (3 vte / (e vd))^3)           -BV' <= vd < -3 vte
//      = -IS exp(-(BV' + vd) / vte_bv)          vd < -BV'   (breakdown, vte_bv = nbv k T / q)
//   i  = id + gmin vd                           gmin = EvalContext::gmin, in parallel
//   qj = TT id + CJO VJ (1 - (1 - vd/VJ)^(1-M)) / (1 - M)          vd < FC VJ
//      = TT id + CJO (F1 + (F3 (vd - FC VJ) + M/(2 VJ) (vd^2 - (FC VJ)^2)) / F2)   otherwise
//        F1 = VJ (1 - (1-FC)^(1-M)) / (1-M),  F2 = (1-FC)^(1+M),  F3 = 1 - FC (1+M)
//   f[a'] += i,  f[k] -= i,  q[a'] += qj,  q[k] -= qj,  RS: f[a] += (Va - Va')/RS, f[a'] -= ...
//
// BV' solves IS (exp((BV - BV')/vte_bv) - 1 + BV'/Vt) = IBV (SPICE3), so the reverse current at
// vd = -BV is IBV. IS, CJO scale with area * m, RS with 1/(area * m), IBV with m only (as
// ngspice 39).
//
// Newton robustness: vd is limited against the previous iteration's value (pnjlim-style, state
// held by the device), and the device then reports the linearisation at the limited voltage vl,
//   i = i(vl) + g(vl) (vd - vl),  qj = qj(vl) + c(vl) (vd - vl),
// so G stays the exact derivative of what is reported and the fixed point is the true solution.
// Exponentials are continued linearly beyond exp(kMaxExpArg) so nothing overflows.
// References: Nagel, SPICE2 (1975); Antognetti & Massobrio, Semiconductor Device Modeling with
// SPICE, ch. 1.
#ifndef MEMSPICE_DEVICES_DIODE_H_
#define MEMSPICE_DEVICES_DIODE_H_

#include <limits>
#include <memory>
#include <optional>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/device_util.h"

namespace memspice::devices {

// Model card values. T is double, or a dual number (ceres::Jet) for parameter derivatives.
template <typename T>
struct DiodeModelT {
  T is = T(1e-14);
  T n = T(1.0);
  T rs = T(0.0);
  T cjo = T(0.0);
  T vj = T(1.0);
  T m = T(0.5);
  T fc = T(0.5);
  T tt = T(0.0);
  T bv = T(std::numeric_limits<double>::infinity());
  T ibv = T(1e-3);
  T nbv = T(std::numeric_limits<double>::quiet_NaN());  // NaN: same as n
  T eg = T(1.11);                                       // activation energy, eV
  T xti = T(3.0);                                       // saturation-current temperature exponent
};
using DiodeModel = DiodeModelT<double>;

// Junction quantities at one voltage (no gmin, no limiting).
template <typename T>
struct JunctionEvalT {
  T id = T(0), gd = T(0);  // current and di/dvd
  T q = T(0), c = T(0);    // charge and dq/dvd
};
using JunctionEval = JunctionEvalT<double>;

// What the junction equations need, derived once from the (area-scaled) model.
template <typename T>
struct JunctionCoeffs {
  DiodeModelT<T> m;
  T vte, vte_bv, xbv;  // n Vt, nbv Vt, BV'
  T f1, f2, f3;        // depletion charge beyond FC VJ
};

class Diode : public Device {
 public:
  static constexpr double kMaxExpArg = 200.0;

  // `card` holds the card's values at `tnom` (kelvin), scaled by the instance's area and m.
  Diode(const netlist::Element& element, const DiodeModel& card, double area, double mult,
        double tnom, bool off, double temp_celsius);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool HasLimitingState() const override { return true; }
  void SetAnalysis(const AnalysisInfo& info) override;
  // With ic= given, sets the junction (and anode) voltage to ic relative to the cathode (uic).
  void InitialState(double* x) const override;
  void set_ic(double ic) { ic_ = ic; }
  void set_instance_temp(const InstanceTemp& t) { inst_temp_ = t; }
  // Exact partials: every numeric model parameter (is n rs cjo vj m fc tt bv ibv nbv eg xti and
  // their aliases), the instance's area ("value" or "area") and multiplier ("m"); through the same
  // templated junction equations with a dual number.
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

  // The junction equations, exposed for tests.
  JunctionEval Junction(double vd) const;
  // pnjlim-style limiting of a new junction voltage against the previous one.
  double Limit(double vnew, double vold) const;

  double vt() const { return vt_; }
  double kelvin() const { return kelvin_; }  // device temperature
  double vcrit() const { return vcrit_; }
  double breakdown_voltage() const { return jc_.xbv; }  // BV' (infinite without BV)
  int internal_node() const { return ai_; }
  const DiodeModel& model() const { return model_; }  // at the device temperature, scaled

 private:
  void Precompute(double temp_celsius);

  std::string node_a_, node_k_;
  int a_ = kGround, ai_ = kGround, k_ = kGround;
  DiodeModel model_;
  bool off_;
  std::optional<double> ic_;
  DiodeModel card_;
  double area_ = 1.0, mult_ = 1.0;
  double tnom_ = 0.0;  // card's nominal temperature, K
  InstanceTemp inst_temp_;
  JunctionCoeffs<double> jc_;
  double kelvin_ = 0, vt_ = 0, vcrit_ = 0, gs_ = 0;
  double vold_ = 0.0;  // junction voltage of the previous evaluation (limiting state)
  int h_aa_ = -1, h_aai_ = -1, h_aia_ = -1;            // series resistance
  int h_pp_ = -1, h_pk_ = -1, h_kp_ = -1, h_kk_ = -1;  // junction (p = a' or a)
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kDiodeParams[] = {
    {"value", 1.0, "1", 0.0, kInf, true, ParamScope::kValue},  // area, written after the model
    {"area", 1.0, "1", 0.0, kInf, true},
    {"m", 1.0, "1", 0.0, kInf, true},  // parallel multiplier
    {"off", 0.0, "1", 0.0, 1.0},       // 1: start the operating point with the junction off
    {"ic", kNoDefault, "V"},           // initial junction voltage (uic)
    {"temp", kNoDefault, "C"},         // device temperature (default: the circuit's)
    {"dtemp", 0.0, "C"},               // offset from the circuit temperature
    {"is", 1e-14, "A", 0.0, kInf, true, ParamScope::kModel},
    {"n", 1.0, "1", 0.0, kInf, true, ParamScope::kModel},
    {"rs", 0.0, "Ohm", 0.0, kInf, true, ParamScope::kModel},
    {"cjo", 0.0, "F", 0.0, kInf, true, ParamScope::kModel},
    {"cj0", 0.0, "F", 0.0, kInf, true, ParamScope::kModel},  // = cjo
    {"cj", 0.0, "F", 0.0, kInf, true, ParamScope::kModel},   // = cjo
    {"vj", 1.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"pb", 1.0, "V", -kInf, kInf, false, ParamScope::kModel},  // = vj
    {"m", 0.5, "1", -kInf, kInf, false, ParamScope::kModel},   // grading coefficient
    {"mj", 0.5, "1", -kInf, kInf, false, ParamScope::kModel},  // = m
    {"fc", 0.5, "1", -kInf, kInf, false, ParamScope::kModel},
    {"tt", 0.0, "s", 0.0, kInf, true, ParamScope::kModel},
    {"bv", kInf, "V", 0.0, kInf, true, ParamScope::kModel},
    {"ibv", 1e-3, "A", 0.0, kInf, true, ParamScope::kModel},
    {"nbv", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},  // unset: n
    {"level", 1.0, "1", 1.0, 1.0, false, ParamScope::kModel},
    {"tnom", 27.0, "C", -273.15, kInf, false, ParamScope::kModel},
    {"eg", 1.11, "eV", -kInf, kInf, false, ParamScope::kModel},
    {"xti", 3.0, "1", -kInf, kInf, false, ParamScope::kModel},
    // Accepted for compatibility; noise is not modelled.
    {"kf", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},
    {"af", 1.0, "1", 0.0, kInf, true, ParamScope::kModel},
};

std::unique_ptr<Device> CreateDiode(const netlist::Element& element,
                                    const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_DIODE_H_
