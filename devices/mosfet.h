// MOSFET levels 1 (Shichman-Hodges, as SPICE2/ngspice level 1), 2 (Grove-Frohman, as ngspice
// mos2) and 3 (semi-empirical, as ngspice mos3; the channel equations of levels 2 and 3 are in
// devices/mos_levels.h) with Meyer gate charge:
// `M1 d g s b model [L=] [W=] [AD=] [AS=] [PD=] [PS=] [NRD=] [NRS=] [M=] [OFF] [IC=vds,vgs,vbs]`
// with `.model name NMOS|PMOS (level=1 vto kp gamma phi lambda rd rs rsh cbd cbs is js pb cj mj
// cjsw mjsw fc cgso cgdo cgbo tox uo ld nsub nss tpg tnom)`, instance `temp=` / `dtemp=`. Level 2
// adds ucrit uexp utra vmax neff delta nfs xj; level 3 replaces lambda by theta eta kappa vmax
// delta nfs xj and adds xl wd xw delvto (Leff = L - 2 LD + XL, Weff = W - 2 WD + XW for W and L - 2
// LD below); both default TOX to 100 nm and MJSW to 0.33. The rest of this comment (temperature,
// junctions, Meyer, limiting) holds for every level, with the level's von and vdsat in Meyer's
// capacitances and, at level 3, UO(T) = UO (T/TNOM)^-1.5.
//
// Temperature (T the device's, TNOM the card's, kelvin; shift(), Eg() and the junction's PB, CJ,
// CJSW, CBD, CBS as junction.h): KP(T) = KP (T/TNOM)^-1.5,
//   PHI(T) = (T/Tref) (PHI - shift(TNOM)) / (TNOM/Tref) + shift(T),
//   VTO(T) = VTO + p GAMMA (sqrt(PHI(T)) - sqrt(PHI)) + (Eg(TNOM) - Eg(T))/2 + p (PHI(T) - PHI)/2,
//   IS(T), JS(T) = IS, JS exp(Eg(TNOM)/Vt(TNOM) - Eg(T)/Vt(T)).
// The equations below use these values. A card with NSUB and TOX but no VTO takes SPICE2's
// process-based threshold at TNOM (ProcessThreshold in mosfet.cc, docs/devices/mosfet.md).
//
// With p = +1 (NMOS) or -1 (PMOS), every voltage below is p times the terminal difference and
// every current and charge is multiplied by p again. Normal mode has vds >= 0; otherwise drain
// and source swap roles (the channel equations see vgd, vsd, vbd and the current changes sign).
//
//   Leff = L - 2 LD,  beta = KP M W / Leff,  sarg = sqrt(PHI - vbs)  (vbs <= 0; for vbs > 0 the
//   first-order continuation sqrt(PHI) - vbs / (2 sqrt(PHI)), floored at 0)
//   von = VTO + GAMMA (sarg - sqrt(PHI)),  vgst = vgs - von
//   id = 0                                         vgst <= 0           (cut-off)
//      = beta (1 + LAMBDA vds) vgst^2 / 2          vgst <= vds         (saturation)
//      = beta (1 + LAMBDA vds) vds (vgst - vds/2)  otherwise           (linear)
//   Bulk junctions b-d and b-s: i = Isat (exp(v / Vt) - 1) + gmin v  (Isat = JS A or IS), with
//   depletion charge (CBD/CBS or CJ A + CJSW P, grading MJ/MJSW, PB, FC) as the diode.
//
// Gate capacitances (Meyer, as SPICE2/ngspice; Cox = COX W Leff M, x = vg - von and vds >= 0 of
// the current mode, vdsat = max(x, 25 mV)): the side with the higher gate drive (the source in
// normal mode) sees Cown, the other side Cother, the bulk Cgb:
//   Cgb = Cox (x <= -PHI),  -x Cox / PHI (-PHI < x <= 0),  0 above
//   Csat = (2/3) Cox (1 + 2 x / PHI) for -PHI/2 < x <= 0, (2/3) Cox above (0 below -PHI/2)
//   Cown = Csat, Cother = 0 (vds >= vdsat); else with a = 2 vdsat - vds, b = vdsat - vds:
//   Cown = Csat (1 - b^2/a^2),  Cother = Csat (1 - vdsat^2/a^2).
// Meyer's capacitances are not the derivatives of any charge, so each is a nonlinear capacitor
// i = C(v) dv/dt: the device adds rate unknowns r_k = S d(vg - v_k)/dt (k = s, d, b; S = Cox at
// construction, so r is a current) with rows f = r, q = -S (vg - v_k), and the currents
// C_k(v) r_k / S between the gate and k. ngspice integrates the same capacitances incrementally.
// Overlaps: CGSO W M (g-s), CGDO W M (g-d), CGBO Leff M (g-b), linear.
//
// Newton: vgs and vgd are limited as SPICE's fetlim, vds as limvds, the junction voltages as
// pnjlim; the device reports the linearisation at the limited point (as the diode does).
// References: Shichman & Hodges, IEEE JSSC 3 (1968); Meyer, RCA Review 32 (1971); Vladimirescu
// & Liu, The Simulation of MOS Integrated Circuits Using SPICE2 (1980).
#ifndef MEMSPICE_DEVICES_MOSFET_H_
#define MEMSPICE_DEVICES_MOSFET_H_

#include <ceres/jet.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/device_util.h"
#include "devices/fet_stamp.h"

namespace memspice::devices {

// Card and instance values. T is double or a dual number (parameter partials).
template <typename T>
struct MosModelT {
  double type = 1.0;  // +1 NMOS, -1 PMOS
  T vto = T(0.0), kp = T(2e-5), gamma = T(0.0), phi = T(0.6), lambda = T(0.0);
  T is = T(1e-14), js = T(0.0), pb = T(0.8), cj = T(0.0), mj = T(0.5), cjsw = T(0.0);
  T mjsw = T(0.5), fc = T(0.5), cbd = T(0.0), cbs = T(0.0);
  T cgso = T(0.0), cgdo = T(0.0), cgbo = T(0.0), cox = T(0.0);  // cox: F/m^2 (from TOX)
  T ld = T(0.0);
  // Levels 2 and 3 (mos_levels.h): UO in cm^2/Vs (the card's), ALPHA = 2 eps_si / (q NSUB) in
  // m^2/V (0 without NSUB).
  int level = 1;
  T uo = T(600.0), theta = T(0.0), eta = T(0.0), kappa = T(0.2), vmax = T(0.0), nfs = T(0.0);
  T xj = T(0.0), delta = T(0.0), alpha = T(0.0);
  T ucrit = T(1e4), uexp = T(0.0), neff = T(1.0);            // level 2: UCRIT in V/cm
  T xl = T(0.0), wd = T(0.0), xw = T(0.0), delvto = T(0.0);  // level 3: L, W adjustments, m
  // The process-based threshold (a card with NSUB and TOX but no VTO): VTO follows PHI and
  // GAMMA through ProcessThreshold; TPG is the gate type, NSS the surface states in 1/cm^2.
  bool process_vto = false;
  double tpg = 1.0, nss = 0.0;
  // Instance.
  T w = T(1e-4), l = T(1e-4), ad = T(0.0), as = T(0.0), pd = T(0.0), ps = T(0.0), m = T(1.0);
};
using MosModel = MosModelT<double>;

class Mosfet : public Device {
 public:
  static constexpr double kMaxExpArg = 200.0;

  // `model` holds card and instance values; rd, rs are the series resistances (0: none).
  // `model` holds the card's values at `tnom` (kelvin) and the instance's.
  Mosfet(const netlist::Element& element, const MosModel& model, double tnom, double rd, double rs,
         bool off, double temp_celsius);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool HasLimitingState() const override { return true; }
  void SetAnalysis(const AnalysisInfo& info) override;
  // With IC=vds,vgs,vbs (uic): the drain, gate and bulk voltages relative to the source.
  void InitialState(double* x) const override;
  void set_ic(const std::vector<double>& ic) { ic_ = ic; }
  // Exact partials for w, l (instance) and vto, kp, gamma, phi, lambda, cgso, cgdo, theta, eta,
  // kappa, vmax, ucrit, uexp, neff (card).
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

 private:
  using Jet3 = ceres::Jet<double, 3>;
  // Currents and charges of the rows (d, g, s, b) and Meyer's Cgs, Cgd, Cgb, with partials over
  // (vgs, vds, vbs), at the limited voltages vl: the last full evaluation.
  struct Linearization {
    Jet3 f[4], q[4], cap[3];
    std::array<double, 3> vl{};
    bool valid = false;
  };

  std::array<double, 3> Limited(double vgs, double vds, double vbs) const;
  // SPICE's bypass test: v (vgs, vds, vbs) and the drain and bulk currents last_ predicts there
  // moved less than the tolerances from last_.
  bool CanBypass(const double* v, const BypassTolerances& tol) const;
  // Stamps last_ linearised to the terminal voltages v.
  void Stamp(EvalContext& ctx, const double* v);
  // Meyer currents C(v) r / scale (into the terminal block) and the rate rows; cap: Cgs, Cgd, Cgb
  // over (vgs, vds, vbs) at the limited point, dv: the actual minus the limited voltages.
  void StampMeyer(EvalContext& ctx, const Jet3* cap, const double* dv, FetBlock* block);

  // The terminal (index into (di, g, si, b)) across from the gate of each Meyer capacitance.
  static constexpr int kMeyerTerminal[3] = {2, 0, 3};

  std::string nd_, ng_, ns_, nb_;
  int d_ = kGround, g_ = kGround, s_ = kGround, b_ = kGround;  // external
  int di_ = kGround, si_ = kGround;                            // internal (= d_, s_ without RD/RS)
  MosModel card_;                                              // at tnom_
  double tnom_;                                                // K
  InstanceTemp inst_temp_;
  MosModel model_;              // at the device temperature
  double gd_ = 0.0, gs_ = 0.0;  // series conductances
  bool off_;
  std::vector<double> ic_;  // IC=vds,vgs,vbs (those not written: 0; empty: none)
  double kelvin_ = 0.0, vt_ = 0.0;
  double vcrit_ = 0.0;  // junction limiting's critical voltage (SPICE's vcrit) at kelvin_
  double vgs_old_ = 0.0, vds_old_ = 0.0, vbs_old_ = 0.0;  // limiting state
  std::array<int, 16> h_{};                               // [row][col] over (di, g, si, b)
  SeriesConductance rd_, rs_;                             // drain and source series resistances
  // Meyer's capacitances (with TOX): rate unknowns r = scale d(vg - v_t)/dt for t = s, d, b
  // (scale = Cox of the card, F), and their matrix handles (g,r) (t,r) (r,r) (r,g) (r,t).
  double meyer_scale_ = 0.0;
  std::array<int, 3> rate_{kGround, kGround, kGround};
  std::array<std::array<int, 5>, 3> meyer_h_{};
  Linearization last_;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kMosfetParams[] = {
    {"l", 1e-4, "m", 0.0, kInf, true},
    {"w", 1e-4, "m", 0.0, kInf, true},
    {"ad", 0.0, "m^2", 0.0, kInf},
    {"as", 0.0, "m^2", 0.0, kInf},
    {"pd", 0.0, "m", 0.0, kInf},
    {"ps", 0.0, "m", 0.0, kInf},
    {"nrd", 1.0, "1", 0.0, kInf},
    {"nrs", 1.0, "1", 0.0, kInf},
    {"m", 1.0, "1", 0.0, kInf, true},
    {"off", 0.0, "1", 0.0, 1.0},
    {"temp", kNoDefault, "C"},  // device temperature (default: the circuit's)
    {"dtemp", 0.0, "C"},        // offset from the circuit temperature
    {"level", 1.0, "1", 1.0, 3.0, false, ParamScope::kModel},  // 1 or 3 (8, 49: bsim3.h)
    {"vto", 0.0, "V", -kInf, kInf, false, ParamScope::kModel},
    {"vt0", 0.0, "V", -kInf, kInf, false, ParamScope::kModel},  // = vto
    {"kp", 2e-5, "A/V^2", 0.0, kInf, true, ParamScope::kModel},
    {"gamma", 0.0, "V^0.5", 0.0, kInf, false, ParamScope::kModel},
    {"phi", 0.6, "V", 0.0, kInf, true, ParamScope::kModel},
    {"lambda", 0.0, "1/V", 0.0, kInf, false, ParamScope::kModel},
    {"rd", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"rs", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"rsh", 0.0, "Ohm", 0.0, kInf, false, ParamScope::kModel},
    {"cbd", 0.0, "F", 0.0, kInf, false, ParamScope::kModel},
    {"cbs", 0.0, "F", 0.0, kInf, false, ParamScope::kModel},
    {"is", 1e-14, "A", 0.0, kInf, true, ParamScope::kModel},
    {"js", 0.0, "A/m^2", 0.0, kInf, false, ParamScope::kModel},
    {"pb", 0.8, "V", 0.0, kInf, true, ParamScope::kModel},
    {"cj", 0.0, "F/m^2", 0.0, kInf, false, ParamScope::kModel},
    {"mj", 0.5, "1", 0.0, kInf, false, ParamScope::kModel},
    {"cjsw", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"mjsw", 0.5, "1", 0.0, kInf, false, ParamScope::kModel},
    {"fc", 0.5, "1", 0.0, 1.0, false, ParamScope::kModel},
    {"cgso", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgdo", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"cgbo", 0.0, "F/m", 0.0, kInf, false, ParamScope::kModel},
    {"tox", kNoDefault, "m", 0.0, kInf, true, ParamScope::kModel},
    {"uo", 600.0, "cm^2/Vs", 0.0, kInf, true, ParamScope::kModel},
    {"u0", 600.0, "cm^2/Vs", 0.0, kInf, true, ParamScope::kModel},  // = uo
    {"ld", 0.0, "m", 0.0, kInf, false, ParamScope::kModel},
    {"nsub", kNoDefault, "1/cm^3", 0.0, kInf, true, ParamScope::kModel},
    {"tnom", 27.0, "C", -273.15, kInf, false, ParamScope::kModel},
    {"kf", 0.0, "1", -kInf, kInf, false, ParamScope::kModel},        // noise: no effect
    {"af", 1.0, "1", -kInf, kInf, false, ParamScope::kModel},        // noise: no effect
    {"nss", 0.0, "1/cm^2", -kInf, kInf, false, ParamScope::kModel},  // surface states (VTO)
    {"tpg", 1.0, "1", -1.0, 1.0, false, ParamScope::kModel},         // gate type (VTO)
    {"nfs", 0.0, "1/cm^2", 0.0, kInf, false, ParamScope::kModel},    // level 3 (1: no effect)
    {"xj", 0.0, "m", 0.0, kInf, false, ParamScope::kModel},          // level 3 (1: no effect)
    // Levels 2 and 3 (no default here: a level 1 card refuses them; defaults in mosfet.md).
    {"theta", kNoDefault, "1/V", 0.0, kInf, false, ParamScope::kModel},
    {"eta", kNoDefault, "1", 0.0, kInf, false, ParamScope::kModel},
    {"kappa", kNoDefault, "1", 0.0, kInf, false, ParamScope::kModel},
    {"vmax", kNoDefault, "m/s", 0.0, kInf, false, ParamScope::kModel},
    {"delta", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},
    // Level 3 only: Leff = L - 2 LD + XL, Weff = W - 2 WD + XW, VTO + DELVTO.
    {"xl", kNoDefault, "m", -kInf, kInf, false, ParamScope::kModel},
    {"wd", kNoDefault, "m", -kInf, kInf, false, ParamScope::kModel},
    {"xw", kNoDefault, "m", -kInf, kInf, false, ParamScope::kModel},
    {"delvto", kNoDefault, "V", -kInf, kInf, false, ParamScope::kModel},
    {"delvt0", kNoDefault, "V", -kInf, kInf, false, ParamScope::kModel},  // = delvto
    // Level 2 only.
    {"ucrit", kNoDefault, "V/cm", 0.0, kInf, true, ParamScope::kModel},
    {"uexp", kNoDefault, "1", 0.0, kInf, false, ParamScope::kModel},
    {"utra", kNoDefault, "1", -kInf, kInf, false, ParamScope::kModel},  // no effect (as ngspice)
    {"neff", kNoDefault, "1", 0.0, kInf, true, ParamScope::kModel},
};

// Drain, source and bulk conduct (channel, junctions); the gate only capacitively.
void MosfetTopology(const netlist::Element& element, const std::vector<int>& n, Coupling* out);

std::unique_ptr<Device> CreateMosfet(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MOSFET_H_
