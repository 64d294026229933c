#include "devices/waveform.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace memspice::devices {
namespace {

// ngspice replaces a missing or zero argument by an analysis-dependent default.
double OrDefault(double v, double fallback) { return (std::isnan(v) || v == 0.0) ? fallback : v; }
double OrZero(double v) { return std::isnan(v) ? 0.0 : v; }

const char* KindName(netlist::Waveform::Kind kind) {
  switch (kind) {
    case netlist::Waveform::Kind::kDc:
      return "DC";
    case netlist::Waveform::Kind::kPulse:
      return "PULSE";
    case netlist::Waveform::Kind::kSin:
      return "SIN";
    case netlist::Waveform::Kind::kExp:
      return "EXP";
    case netlist::Waveform::Kind::kPwl:
      return "PWL";
  }
  return "?";
}

}  // namespace

bool SourceWaveform::Init(const netlist::Waveform& waveform, const std::string& owner,
                          const netlist::SourceLoc& loc, netlist::Diagnostics& diag) {
  kind_ = Kind::kDc;
  args_.clear();
  const auto& a = waveform.args;
  const char* name = KindName(waveform.kind);
  auto fail = [&](std::string message, std::string hint) {
    diag.Error(loc, std::move(message), std::move(hint));
    return false;
  };
  size_t min_args = 2, max_args = 8;
  const char* usage = "";
  switch (waveform.kind) {
    case Kind::kDc:
      Resolve();
      return true;
    case Kind::kPulse:
      usage = "PULSE(v1 v2 [td [tr [tf [pw [per [np]]]]]])";
      break;
    case Kind::kSin:
      max_args = 6;
      usage = "SIN(vo va [freq [td [theta [phase]]]])";
      break;
    case Kind::kExp:
      max_args = 6;
      usage = "EXP(v1 v2 [td1 [tau1 [td2 [tau2]]]])";
      break;
    case Kind::kPwl:
      max_args = static_cast<size_t>(-1);
      usage = "PWL(t1 v1 t2 v2 ...)";
      break;
  }
  if (a.size() < min_args || a.size() > max_args) {
    return fail(fmt::format("{} of '{}' has {} arguments", name, owner, a.size()),
                fmt::format("expected {}", usage));
  }
  // The two level arguments (and all PWL arguments) are required; NaN means "not given".
  size_t required = waveform.kind == Kind::kPwl ? a.size() : 2;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i < required ? !std::isfinite(a[i]) : std::isinf(a[i])) {
      return fail(
          fmt::format("argument {} of {} in '{}' is not a finite number", i + 1, name, owner),
          fmt::format("expected {}", usage));
    }
  }
  auto negative = [&](size_t i) { return a.size() > i && !std::isnan(a[i]) && a[i] < 0.0; };
  switch (waveform.kind) {
    case Kind::kPulse: {
      static const char* kNames[] = {"v1", "v2", "td", "tr", "tf", "pw", "per", "np"};
      for (size_t i = 3; i <= 7; ++i) {
        if (negative(i)) {
          return fail(fmt::format("PULSE {} of '{}' is negative ({})", kNames[i], owner, a[i]),
                      "rise/fall times, pulse width, period and pulse count must be >= 0");
        }
      }
      break;
    }
    case Kind::kExp:
      if (negative(3) || negative(5)) {
        return fail(fmt::format("EXP time constant of '{}' is negative", owner),
                    "tau1 and tau2 must be > 0");
      }
      break;
    case Kind::kPwl:
      if (a.size() % 2 != 0) {
        return fail(fmt::format("PWL of '{}' has an odd number of values ({})", owner, a.size()),
                    "expected time-value pairs: PWL(t1 v1 t2 v2 ...)");
      }
      if (!std::isnan(waveform.repeat) &&
          !(waveform.repeat >= a[0] && waveform.repeat < a[a.size() - 2])) {
        return fail(fmt::format("PWL repeat time {} of '{}' is not before its last time point",
                                waveform.repeat, owner),
                    "r= must lie in [t1, t_last)");
      }
      for (size_t i = 2; i < a.size(); i += 2) {
        if (a[i] < a[i - 2]) {
          return fail(fmt::format("PWL times of '{}' decrease: t{} = {} < t{} = {}", owner,
                                  i / 2 + 1, a[i], i / 2, a[i - 2]),
                      "PWL time points must be non-decreasing");
        }
      }
      break;
    default:
      break;
  }
  kind_ = waveform.kind;
  args_ = a;
  repeat_ = waveform.repeat;
  Resolve();
  return true;
}

void SourceWaveform::SetAnalysis(double tstep, double tstop) {
  tstep_ = tstep;
  tstop_ = tstop;
  Resolve();
}

void SourceWaveform::Resolve() {
  auto arg = [&](size_t i) { return i < args_.size() ? args_[i] : std::nan(""); };
  std::fill(std::begin(p_), std::end(p_), 0.0);
  switch (kind_) {
    case Kind::kDc:
    case Kind::kPwl:
      break;
    case Kind::kPulse: {
      p_[0] = arg(0);
      p_[1] = arg(1);
      p_[2] = OrZero(arg(2));
      p_[3] = OrDefault(arg(3), tstep_);
      p_[4] = OrDefault(arg(4), tstep_);
      p_[5] = OrDefault(arg(5), tstop_);
      p_[6] = OrDefault(arg(6), tstop_);
      p_[7] = OrZero(arg(7));
      break;
    }
    case Kind::kSin:
      p_[0] = arg(0);
      p_[1] = arg(1);
      p_[2] = OrDefault(arg(2), tstop_ > 0.0 ? 1.0 / tstop_ : 0.0);
      p_[3] = OrZero(arg(3));
      p_[4] = OrZero(arg(4));
      p_[5] = OrZero(arg(5)) * std::numbers::pi / 180.0;
      break;
    case Kind::kExp:
      p_[0] = arg(0);
      p_[1] = arg(1);
      p_[2] = OrDefault(arg(2), tstep_);
      p_[3] = OrDefault(arg(3), tstep_);
      p_[4] = OrDefault(arg(4), p_[2] + tstep_);
      p_[5] = OrDefault(arg(5), tstep_);
      break;
  }
}

double SourceWaveform::Value(double t) const {
  switch (kind_) {
    case Kind::kDc:
      return 0.0;
    case Kind::kPulse:
      return Pulse(t);
    case Kind::kSin:
      return Sin(t);
    case Kind::kExp:
      return Exp(t);
    case Kind::kPwl:
      return Pwl(t);
  }
  return 0.0;
}

double SourceWaveform::Pulse(double t) const {
  const double v1 = p_[0], v2 = p_[1], td = p_[2], tr = p_[3], tf = p_[4], pw = p_[5], per = p_[6];
  const double np = p_[7];  // number of pulses, 0 = unlimited
  double tau = t - td;
  if (per > 0.0 && tau > per) {
    const double period = std::floor(tau / per);
    if (np > 0.0 && period >= np) return v1;
    tau -= per * period;
  }
  if (tau <= 0.0 || tau >= tr + pw + tf) return v1;
  if (tau >= tr && tau <= tr + pw) return v2;
  if (tau < tr) return v1 + (v2 - v1) * tau / tr;
  return v2 + (v1 - v2) * (tau - (tr + pw)) / tf;
}

double SourceWaveform::Sin(double t) const {
  const double vo = p_[0], va = p_[1], freq = p_[2], td = p_[3], theta = p_[4], phase = p_[5];
  double tau = t - td;
  if (tau <= 0.0) return vo + va * std::sin(phase);
  return vo + va * std::sin(2.0 * std::numbers::pi * freq * tau + phase) * std::exp(-tau * theta);
}

double SourceWaveform::Exp(double t) const {
  const double v1 = p_[0], v2 = p_[1], td1 = p_[2], tau1 = p_[3], td2 = p_[4], tau2 = p_[5];
  if (t <= td1) return v1;
  // tau = 0 only happens outside a transient (tstep = 0); the rise is then a step.
  auto rise = [](double dt, double tau) { return tau > 0.0 ? 1.0 - std::exp(-dt / tau) : 1.0; };
  double v = v1 + (v2 - v1) * rise(t - td1, tau1);
  if (t > td2) v += (v1 - v2) * rise(t - td2, tau2);
  return v;
}

double SourceWaveform::Pwl(double t) const {
  const size_t n = args_.size() / 2;
  const double t_last = args_[2 * (n - 1)];
  if (!std::isnan(repeat_) && t > t_last) {  // r=: [repeat, t_last] repeats
    const double span = t_last - repeat_;
    t = repeat_ + std::fmod(t - repeat_, span);
  }
  if (t <= args_[0]) return args_[1];
  if (t >= args_[2 * (n - 1)]) return args_[2 * n - 1];
  // First point with time > t; the segment [k-1, k] contains t.
  size_t lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (args_[2 * mid] <= t) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  const double t0 = args_[2 * lo], v0 = args_[2 * lo + 1];
  const double t1 = args_[2 * hi], v1 = args_[2 * hi + 1];
  if (t1 <= t0) return v1;
  return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
}

void SourceWaveform::Breakpoints(double tstop, std::vector<double>* out) const {
  auto add = [&](double t) {
    if (t >= 0.0 && t <= tstop) out->push_back(t);
  };
  switch (kind_) {
    case Kind::kDc:
      break;
    case Kind::kPulse: {
      const double td = p_[2], tr = p_[3], tf = p_[4], pw = p_[5], per = p_[6];
      const double corners[4] = {0.0, tr, tr + pw, tr + pw + tf};
      if (per <= 0.0) {
        for (double c : corners) add(td + c);
        break;
      }
      // Periods that end before t = 0 (negative td) contribute nothing. Counted in double first:
      // for a tiny period -td / per exceeds the range of long, and that conversion is undefined;
      // kMaxPulsePeriods bounds the loop either way.
      const double skip = td >= 0.0 ? 0.0 : std::min(std::floor(-td / per) - 1.0, 1e15);
      long first = std::max(0L, static_cast<long>(skip));
      long last = first + kMaxPulsePeriods;
      if (p_[7] > 0.0) last = std::min(last, static_cast<long>(std::min(p_[7], 1e15)));
      for (long k = first; k < last; ++k) {
        double base = td + static_cast<double>(k) * per;
        if (base > tstop) break;
        for (double c : corners) {
          if (c <= per) add(base + c);
        }
      }
      break;
    }
    case Kind::kSin:
      if (p_[3] > 0.0) add(p_[3]);
      break;
    case Kind::kExp:
      add(p_[2]);
      add(p_[4]);
      break;
    case Kind::kPwl: {
      for (size_t i = 0; i < args_.size(); i += 2) add(args_[i]);
      if (std::isnan(repeat_)) break;
      const double t_last = args_[args_.size() - 2], span = t_last - repeat_;
      long points = 0;
      for (double base = t_last; base < tstop && points < kMaxPulsePeriods; base += span) {
        for (size_t i = 0; i < args_.size(); i += 2) {
          if (args_[i] > repeat_) add(base + args_[i] - repeat_);
          ++points;
        }
      }
      break;
    }
  }
}

bool SourceValue::Init(const netlist::Element& element, netlist::Diagnostics& diag) {
  if (element.value) {
    if (!std::isfinite(*element.value)) {
      diag.Error(element.loc, fmt::format("DC value of '{}' is not finite", element.name));
      return false;
    }
    deck_dc_ = *element.value;
    deck_dc_given_ = true;
  }
  dc_value_ = deck_dc_;
  dc_given_ = deck_dc_given_;
  const double phase_deg = element.ac_phase;
  if (!std::isfinite(element.ac_mag) || !std::isfinite(phase_deg)) {
    diag.Error(element.loc,
               fmt::format("AC magnitude or phase of '{}' is not finite", element.name));
    return false;
  }
  ac_ = std::polar(element.ac_mag, phase_deg * std::numbers::pi / 180.0);
  return waveform_.Init(element.waveform, element.name, element.loc, diag);
}

void SourceValue::SetAnalysis(const AnalysisInfo& info) {
  waveform_.SetAnalysis(info.tstep, info.tstop);
  transient_ = info.tstop > 0.0;
  dc_value_ = deck_dc_;
  dc_given_ = deck_dc_given_;
}

void SourceValue::SetDcValue(double value) {
  dc_value_ = value;
  dc_given_ = true;
}

double SourceValue::Value(const EvalContext& ctx) const {
  double v;
  if (waveform_.is_dc() || (ctx.dc && !transient_ && dc_given_)) {
    v = dc_value_;
  } else {
    v = waveform_.Value(ctx.dc ? 0.0 : ctx.time);
  }
  return v * ctx.source_scale;
}

double SourceValue::DcValueDerivative(const EvalContext& ctx) const {
  // A DC sweep's value replaces the deck's: then the deck value has no effect.
  const bool deck_value = dc_value_ == deck_dc_ && dc_given_ == deck_dc_given_;
  if (!deck_value) return 0.0;
  return waveform_.is_dc() || (ctx.dc && !transient_ && dc_given_) ? ctx.source_scale : 0.0;
}

}  // namespace memspice::devices
