// pn-junction pieces shared by the transistors (and the diode's limiting): the ideal junction
// current, the depletion charge with its linear continuation beyond FC PB, and SPICE's
// Newton limiting of junction and FET voltages. Templated over double or ceres::Jet.
//
//   i(v) = Isat (exp(v / vte) - 1)   (exp continued linearly beyond kMaxJunctionExpArg)
//   q(v) = CJ0 PB (1 - (1 - v/PB)^(1-M)) / (1 - M)                     v < FC PB
//        = CJ0 (F1 + (F3 (v - FC PB) + M/(2 PB) (v^2 - (FC PB)^2)) / F2)   otherwise
//          F1 = PB (1 - (1-FC)^(1-M)) / (1-M),  F2 = (1-FC)^(1+M),  F3 = 1 - FC (1+M)
// (Antognetti & Massobrio, Semiconductor Device Modeling with SPICE, ch. 1.)
#ifndef MEMSPICE_DEVICES_JUNCTION_H_
#define MEMSPICE_DEVICES_JUNCTION_H_

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace memspice::devices {

inline constexpr double kMaxJunctionExpArg = 200.0;
inline constexpr double kBoltzmann = 1.380649e-23;  // J/K
inline constexpr double kCharge = 1.602176634e-19;  // C
inline constexpr double kKelvin = 273.15;           // 0 degC in K

// Thermal voltage kT/q at `celsius`.
inline double ThermalVoltage(double celsius) { return kBoltzmann * (celsius + kKelvin) / kCharge; }

// Temperature scaling of junction parameters, as SPICE3/ngspice: a model card holds values at
// its nominal temperature TNOM; a device at temperature T sees them moved along silicon's band
// gap (all temperatures in kelvin here):
//   Eg(T) = 1.16 - 7.02e-4 T^2 / (T + 1108)                       (eV; Eg(kRefKelvin) = kGapRef)
//   shift(T) = -3 Vt(T) ln(T / Tref) + Eg(T) - kGapRef T / Tref     (SPICE's "pbfact")
//   pbo = (PB - shift(TNOM)) / (TNOM/Tref),  PB(T) = (T/Tref) pbo + shift(T)
//   CJ(T) = CJ (1 + M (4e-4 (T - Tref) - g(T))) / (1 + M (4e-4 (TNOM - Tref) - g(TNOM))),
//   g(t) = (PB(t) - pbo) / pbo.
inline constexpr double kRefKelvin = 300.15;   // reference temperature of the fits below, K
inline constexpr double kGapRef = 1.1150877;   // Eg(kRefKelvin), eV
inline constexpr double kCapTempCoeff = 4e-4;  // linear temperature coefficient of CJ, 1/K

inline double Kelvin(double celsius) { return celsius + kKelvin; }
inline double ThermalVoltageK(double kelvin) { return kBoltzmann * kelvin / kCharge; }

// Silicon band gap (eV) at `kelvin` (the fit SPICE uses).
inline double SiliconGap(double kelvin) {
  constexpr double kGap0 = 1.16, kAlpha = 7.02e-4, kBeta = 1108.0;  // Eg(0) eV, eV/K, K
  return kGap0 - kAlpha * kelvin * kelvin / (kelvin + kBeta);
}

// SPICE's junction potential shift(T) above.
inline double PotentialShift(double kelvin) {
  return -3.0 * ThermalVoltageK(kelvin) * std::log(kelvin / kRefKelvin) + SiliconGap(kelvin) -
         kGapRef * kelvin / kRefKelvin;
}

// Junction potential at `temp` from `pb` at `tnom` (kelvin); *cap_factor gets CJ(T) / CJ for
// grading coefficient `mj`. Call again with another grading for a sidewall sharing the potential.
template <typename T>
T JunctionPotentialAt(const T& pb, const T& mj, double tnom, double temp, T* cap_factor) {
  const T pbo = (pb - PotentialShift(tnom)) / (tnom / kRefKelvin);
  const T pb_t = (temp / kRefKelvin) * pbo + PotentialShift(temp);
  const T g_old = (pb - pbo) / pbo, g_new = (pb_t - pbo) / pbo;
  *cap_factor = (1.0 + mj * (kCapTempCoeff * (temp - kRefKelvin) - g_new)) /
                (1.0 + mj * (kCapTempCoeff * (tnom - kRefKelvin) - g_old));
  return pb_t;
}

inline double Value(double v) { return v; }
template <typename J>
double Value(const J& v) {
  return v.a;
}

// exp(arg), continued linearly beyond kMaxJunctionExpArg so that no iterate overflows.
template <typename T>
T LimitedExp(const T& arg) {
  using std::exp;
  if (Value(arg) > kMaxJunctionExpArg) {
    const double e = std::exp(kMaxJunctionExpArg);
    return e * (T(1.0) + arg - kMaxJunctionExpArg);
  }
  return exp(arg);
}

// v is double or a Jet; P (the parameters) is double or the same type as v.
template <typename T, typename P>
T JunctionCurrent(const T& v, const P& isat, double vte) {
  return isat * (LimitedExp(T(v / vte)) - 1.0);
}

// base^e for base > 0 and a constant exponent e: sqrt where e is exactly 0.5 (as ngspice does for
// MJ = 0.5; both are correctly rounded), and one pow for value and partials of a Jet.
inline double PowConst(double base, double e) {
  return e == 0.5 ? std::sqrt(base) : std::pow(base, e);
}
template <typename J>
J PowConst(const J& base, double e) {
  const double p = PowConst(base.a, e);
  return J(p, (e * p / base.a) * base.v);
}

// arg^(1 - mj), through PowConst when the grading is a plain number.
template <typename T, typename P>
T DepletionPow(const T& arg, const P& mj) {
  using std::pow;
  if constexpr (std::is_same_v<P, double>) {
    return PowConst(arg, 1.0 - mj);
  } else {
    return pow(arg, P(1.0) - mj);
  }
}

template <typename T, typename P>
T DepletionCharge(const T& v, const P& cj0, const P& pb, const P& mj, const P& fc) {
  using std::log;
  using std::pow;
  const bool m_is_one = std::abs(1.0 - Value(mj)) < 1e-12;
  if (v < fc * pb) {
    const T arg = 1.0 - v / pb;
    if (m_is_one) return -pb * cj0 * log(arg);
    return pb * cj0 * (1.0 - DepletionPow(arg, mj)) / (1.0 - mj);
  }
  const P f1 = m_is_one ? P(-pb * log(P(1.0) - fc))
                        : P(pb * (1.0 - pow(P(1.0) - fc, P(1.0) - mj)) / (1.0 - mj));
  const P f2 = pow(P(1.0) - fc, P(1.0) + mj);
  const P f3 = 1.0 - fc * (1.0 + mj);
  const P v0 = fc * pb;
  return cj0 * (f1 + (f3 * (v - v0) + mj / (2.0 * pb) * (v * v - v0 * v0)) / f2);
}

// Limits a forward junction step to a logarithmic one above vcrit, and a large reverse step to
// roughly doubling the previous reverse voltage (SPICE's pnjlim).
inline double PnLimit(double vnew, double vold, double vt, double vcrit) {
  if (vnew > vcrit && std::abs(vnew - vold) > 2.0 * vt) {
    if (vold > 0.0) {
      const double arg = 1.0 + (vnew - vold) / vt;
      return arg > 0.0 ? vold + vt * std::log(arg) : vcrit;
    }
    return vt * std::log(vnew / vt);
  }
  if (vnew < 0.0) {
    const double lower = vold > 0.0 ? -vold - 1.0 : 2.0 * vold - 1.0;
    return std::max(vnew, lower);
  }
  return vnew;
}

// Whether limiting moved a voltage by more than round-off (then Newton must not stop there).
inline bool Moved(double limited, double raw) {
  return std::abs(limited - raw) > 1e-12 + 1e-9 * std::abs(raw);
}

// Limits the change of a FET's gate voltage around the threshold vto (SPICE's fetlim): large
// steps far above threshold are cut, and crossings of the threshold stop a little past it.
inline double FetLimit(double vnew, double vold, double vto) {
  const double vtsthi = std::abs(2.0 * (vold - vto)) + 2.0;
  const double vtstlo = std::abs(vold - vto) + 1.0;
  const double vtox = vto + 3.5;
  const double delv = vnew - vold;
  if (vold >= vto) {
    if (vold >= vtox) {
      if (delv <= 0.0) {
        if (vnew >= vtox) return -delv > vtstlo ? vold - vtstlo : vnew;
        return std::max(vnew, vto + 2.0);
      }
      return delv >= vtsthi ? vold + vtsthi : vnew;
    }
    return delv <= 0.0 ? std::max(vnew, vto - 0.5) : std::min(vnew, vto + 4.0);
  }
  if (delv <= 0.0) return -delv > vtsthi ? vold - vtsthi : vnew;
  const double vtemp = vto + 0.5;
  if (vnew <= vtemp) return delv > vtstlo ? vold + vtstlo : vnew;
  return vtemp;
}

// Limits the change of a FET's drain-source voltage (SPICE's limvds).
inline double VdsLimit(double vnew, double vold) {
  if (vold >= 3.5) {
    if (vnew > vold) return std::min(vnew, 3.0 * vold + 2.0);
    if (vnew < 3.5) return std::max(vnew, 2.0);
    return vnew;
  }
  return vnew > vold ? std::min(vnew, 4.0) : std::max(vnew, -0.5);
}

// limvds in the FET's present mode: on vds when the last vds was >= 0, else on vsd (the reverse
// mode), as SPICE's MOSFET loads apply it.
inline double ModeVdsLimit(double vnew, double vold) {
  return vold >= 0.0 ? VdsLimit(vnew, vold) : -VdsLimit(-vnew, -vold);
}

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_JUNCTION_H_
