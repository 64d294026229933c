// Time functions of independent sources (V, I) with ngspice semantics.
//
//   DC    value
//   PULSE v1 v2 td tr tf pw per [np]      tr, tf = tstep and pw, per = tstop when missing (NaN)
//                                        or zero, as ngspice; repeats every per, np times if
//                                        np > 0 (ngspice 39's number of pulses)
//   SIN   vo va freq td theta phase       freq = 1/tstop when missing or zero;
//                                        t <= td: vo + va sin(phase)
//                                        t > td:  vo + va sin(2 pi freq (t-td) + phase) e^{-(t-td)
//                                        theta}
//   EXP   v1 v2 td1 tau1 td2 tau2         td1, tau1, tau2 = tstep and td2 = td1 + tstep when
//   missing
//                                        or zero, as ngspice
//   PWL   t1 v1 t2 v2 ...                 linear interpolation; v1 before t1, last value held,
//                                        or with Waveform::repeat (r=) [r, t_last] repeated
//
// Breakpoints are the corners of the function within [0, tstop]; the transient driver steps
// exactly onto them.
#ifndef MEMSPICE_DEVICES_WAVEFORM_H_
#define MEMSPICE_DEVICES_WAVEFORM_H_

#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "devices/device.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

class SourceWaveform {
 public:
  using Kind = netlist::Waveform::Kind;

  // A constant function.
  SourceWaveform() = default;

  // Checks the argument list of `waveform` (counts, signs, PWL times non-decreasing) and
  // reports errors at `loc` naming `owner`. Returns false on error (the object is then DC 0).
  bool Init(const netlist::Waveform& waveform, const std::string& owner,
            const netlist::SourceLoc& loc, netlist::Diagnostics& diag);

  // Fills the analysis-dependent defaults. Before the first call tstep = tstop = 0.
  void SetAnalysis(double tstep, double tstop);

  Kind kind() const { return kind_; }
  bool is_dc() const { return kind_ == Kind::kDc; }

  // Value at time t (for kDc: 0; the source holds its DC value itself).
  double Value(double t) const;

  // Appends the corners of the function within [0, tstop] (unsorted, may repeat).
  void Breakpoints(double tstop, std::vector<double>* out) const;

  // At most this many PULSE periods contribute breakpoints (guards absurd per/tstop ratios).
  static constexpr long kMaxPulsePeriods = 250000;

 private:
  void Resolve();
  double Pulse(double t) const;
  double Sin(double t) const;
  double Exp(double t) const;
  double Pwl(double t) const;

  Kind kind_ = Kind::kDc;
  std::vector<double> args_;      // as given (NaN = default)
  double repeat_ = std::nan("");  // PWL r= (NaN: hold the last value)
  double tstep_ = 0.0, tstop_ = 0.0;
  // Resolved coefficients (meaning depends on kind_).
  double p_[8] = {0, 0, 0, 0, 0, 0, 0, 0};
};

// The value of an independent V/I source: its DC value and optional time function, chosen as
// ngspice does. In an operating point or DC sweep (EvalContext::dc outside a transient) a given
// DC value wins; otherwise the time function is used, at t = 0 for the initial operating point
// of a transient. The result is multiplied by EvalContext::source_scale.
class SourceValue {
 public:
  // Reads Element::value (DC value) and Element::waveform; reports errors. False on error.
  bool Init(const netlist::Element& element, netlist::Diagnostics& diag);
  // Fills waveform defaults and restores the deck's DC value (undoing an earlier DC sweep).
  // `info.tstop > 0` marks a transient analysis.
  void SetAnalysis(const AnalysisInfo& info);
  // DC sweep: the source takes this DC value until the next SetAnalysis().
  void SetDcValue(double value);
  double Value(const EvalContext& ctx) const;
  // d Value / d(deck DC value): source_scale where the DC value applies, else 0.
  double DcValueDerivative(const EvalContext& ctx) const;
  void Breakpoints(double tstop, std::vector<double>* out) const {
    waveform_.Breakpoints(tstop, out);
  }
  const SourceWaveform& waveform() const { return waveform_; }
  double dc_value() const { return dc_value_; }
  // The `AC mag phase` phasor (phase given in degrees), 0 without AC.
  std::complex<double> ac() const { return ac_; }

 private:
  SourceWaveform waveform_;
  std::complex<double> ac_;
  double deck_dc_ = 0.0;
  bool deck_dc_given_ = false;
  double dc_value_ = 0.0;
  bool dc_given_ = false;
  bool transient_ = false;
};

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_WAVEFORM_H_
