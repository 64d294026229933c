#include "devices/alpha_source.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

#include "devices/ngspice_expr.h"

namespace memspice::devices {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

double AlphaKernel(double s, double tau) {
  if (s < 0.0) return 0.0;
  const double r = s / tau;
  return r * std::exp(-r);
}

}  // namespace

AlphaSource::AlphaSource(std::string name, netlist::SourceLoc loc, std::string np, std::string nn,
                         double tau, std::vector<Event> events)
    : Device(std::move(name), std::move(loc)),
      np_name_(std::move(np)),
      nn_name_(std::move(nn)),
      tau_(tau),
      periodic_(false),
      events_(std::move(events)) {
  std::stable_sort(events_.begin(), events_.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
}

AlphaSource::AlphaSource(std::string name, netlist::SourceLoc loc, std::string np, std::string nn,
                         double tau, double weight, double period, double delay, long count)
    : Device(std::move(name), std::move(loc)),
      np_name_(std::move(np)),
      nn_name_(std::move(nn)),
      tau_(tau),
      periodic_(true),
      weight_(weight),
      period_(period),
      delay_(delay),
      count_(count) {}

void AlphaSource::Setup(SetupContext& ctx) {
  np_ = ctx.Node(np_name_);
  nn_ = ctx.Node(nn_name_);
}

double AlphaSource::Current(double t) const {
  const double horizon = t - kHorizon * tau_;
  double sum = 0.0;
  if (periodic_) {
    if (t < delay_ || count_ == 0) return 0.0;
    // Event indices in double first: for a tiny period they exceed the range of long, and that
    // conversion is undefined. Beyond 2^53 event times are not resolvable in double anyway.
    constexpr double kMaxIndex = 9007199254740992.0;
    long last = static_cast<long>(std::min(std::floor((t - delay_) / period_), kMaxIndex));
    if (count_ != kUnlimited) last = std::min(last, count_ - 1);
    long first = 0;
    if (horizon > delay_) {
      first = static_cast<long>(std::min(std::ceil((horizon - delay_) / period_), kMaxIndex));
    }
    for (long k = std::max(first, 0L); k <= last; ++k) {
      sum += AlphaKernel(t - (delay_ + static_cast<double>(k) * period_), tau_);
    }
    return weight_ * sum;
  }
  // Events with time <= t, walked backwards until they are older than the horizon.
  auto end = std::upper_bound(events_.begin(), events_.end(), t,
                              [](double v, const Event& e) { return v < e.time; });
  for (auto it = end; it != events_.begin();) {
    --it;
    if (it->time < horizon) break;
    sum += it->weight * AlphaKernel(t - it->time, tau_);
  }
  return sum;
}

void AlphaSource::Evaluate(EvalContext& ctx) {
  const double i = ctx.source_scale * Current(ctx.time);
  ctx.f[np_] += i;
  ctx.f[nn_] -= i;
}

void AlphaSource::Breakpoints(double tstop, std::vector<double>* out) const {
  if (periodic_) {
    for (long k = 0; count_ == kUnlimited || k < count_; ++k) {
      const double t = delay_ + static_cast<double>(k) * period_;
      if (t > tstop || k >= kMaxBreakpoints) break;
      if (t >= 0.0) out->push_back(t);
    }
    return;
  }
  for (const Event& e : events_) {
    if (e.time >= 0.0 && e.time <= tstop) out->push_back(e.time);
  }
}

std::unique_ptr<Device> CreateAlphaSource(const netlist::Element& element,
                                          const netlist::Netlist& netlist,
                                          netlist::Diagnostics& diag) {
  const int errors_before = diag.num_errors();
  const std::string label = "alpha source '" + element.name + "'";
  const char* syntax =
      "syntax: YALPHA name np nn tau=0.64m w=27u period=1m [delay=0] [count=N]  or  "
      "YALPHA name np nn tau=0.64m events=(t1 w1 t2 w2 ...)";
  if (element.nodes.size() != 2) {
    diag.Error(element.loc, label + " needs 2 nodes, got " + std::to_string(element.nodes.size()),
               syntax);
  }
  double tau = 0.64e-3;
  std::optional<double> w, period, delay, count;
  for (const auto& [name, value] : element.params) {
    if (name == "tau")
      tau = value;
    else if (name == "w")
      w = value;
    else if (name == "period")
      period = value;
    else if (name == "delay")
      delay = value;
    else if (name == "count")
      count = value;
    else
      diag.Error(
          element.loc, "unknown parameter '" + name + "' for " + label,
          "alpha source parameters are " + ParamNames(kAlphaSourceParams, ParamPlace::kInstance));
  }
  if (!std::isfinite(tau) || tau <= 0.0) {
    diag.Error(element.loc, label + ": tau = " + Num(tau) + " must be > 0",
               "tau is the synaptic time constant (MEMprop: 0.64m)");
  }
  const bool has_events = !element.list.empty();
  const bool has_train = w || period || delay || count;
  if (has_events && has_train) {
    diag.Error(element.loc, label + " has both events=(...) and w/period/delay/count", syntax);
  } else if (!has_events && !has_train) {
    diag.Error(element.loc, label + " has no events", syntax);
  }
  if (diag.num_errors() != errors_before) return nullptr;

  if (has_events) {
    if (element.list.size() % 2 != 0) {
      diag.Error(element.loc,
                 label + ": events=(...) needs time/weight pairs, got " +
                     std::to_string(element.list.size()) + " numbers",
                 "events=(t1 w1 t2 w2 ...)");
      return nullptr;
    }
    std::vector<AlphaSource::Event> events;
    for (size_t i = 0; i < element.list.size(); i += 2) {
      const double t = element.list[i], wk = element.list[i + 1];
      if (!std::isfinite(t) || !std::isfinite(wk)) {
        diag.Error(element.loc, label + ": event " + std::to_string(i / 2 + 1) +
                                    " has a non-finite time or weight");
        return nullptr;
      }
      events.push_back({t, wk});
    }
    return std::make_unique<AlphaSource>(element.name, element.loc, element.nodes[0],
                                         element.nodes[1], tau, std::move(events));
  }
  if (!w) {
    diag.Error(element.loc, label + ": periodic train needs w=<weight in A>", syntax);
  } else if (!std::isfinite(*w)) {
    diag.Error(element.loc, label + ": w = " + Num(*w) + " must be finite");
  }
  const double d = delay.value_or(0.0);
  if (!std::isfinite(d)) diag.Error(element.loc, label + ": delay must be finite");
  long n = AlphaSource::kUnlimited;
  if (count) {
    if (!std::isfinite(*count) || *count < 0 || *count != std::floor(*count) || *count > 1e15) {
      diag.Error(element.loc, label + ": count = " + Num(*count) + " must be an integer >= 0");
    } else {
      n = static_cast<long>(*count);
    }
  }
  if (!period) {
    // A single event needs no period.
    if (n != 1) {
      diag.Error(element.loc, label + ": periodic train needs period=<seconds>",
                 "or give count=1 for a single event, or use events=(t1 w1 ...)");
    }
  } else if (!std::isfinite(*period) || *period <= 0.0) {
    diag.Error(element.loc, label + ": period = " + Num(*period) + " must be > 0");
  }
  // Every evaluation sums the events within the horizon; bound that work.
  if (period && n != 1 &&
      AlphaSource::kHorizon * tau / *period > AlphaSource::kMaxOverlappingEvents) {
    diag.Error(element.loc,
               label + ": period = " + Num(*period) + " is too small for tau = " + Num(tau) +
                   " (more than " + Num(AlphaSource::kMaxOverlappingEvents) +
                   " overlapping events)",
               "use period >= tau * 6e-5, or a DC-like source for a dense train");
  }
  if (diag.num_errors() != errors_before) return nullptr;
  return std::make_unique<AlphaSource>(element.name, element.loc, element.nodes[0],
                                       element.nodes[1], tau, *w, period.value_or(1.0), d, n);
}

namespace {

// The numbers of an events=(t1 w1 t2 w2 ...) list as written (whitespace or comma separated).
std::vector<std::string> ListItems(std::string list) {
  if (list.size() >= 2 && list.front() == '(' && list.back() == ')') {
    list = list.substr(1, list.size() - 2);
  }
  for (char& c : list) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(list);
  std::vector<std::string> items;
  std::string item;
  while (in >> item) items.push_back(item);
  return items;
}

}  // namespace

bool WriteAlphaNgspice(const NgspiceInstance& inst, netlist::Diagnostics& diag,
                       std::string* cards) {
  const char* syntax =
      "syntax: YALPHA name np nn tau=0.64m w=27u period=1m [delay=0] [count=N]  or  "
      "YALPHA name np nn tau=0.64m events=(t1 w1 t2 w2 ...)";
  if (inst.positional.size() != 2) {
    diag.Error(inst.loc, "malformed alpha source line", syntax);
    return false;
  }
  auto value = [&](const char* key) { return inst.values.find(key); };
  const std::string tau = spice::Operand(inst.values.at("tau")).text();
  // Time seen by the source: 0 in DC analyses, as in memspice.
  const std::string t = std::string("(time*(1-") + spice::kDcFlag + "))";
  std::string expr;
  if (auto events = value("events"); events != inst.values.end()) {
    const std::vector<std::string> items = ListItems(events->second);
    if (items.empty() || items.size() % 2 != 0) {
      diag.Error(inst.loc, "alpha source '" + inst.name + "': events=(...) needs time/weight pairs",
                 syntax);
      return false;
    }
    for (size_t i = 0; i < items.size(); i += 2) {
      if (!expr.empty()) expr += "\n+ + ";
      expr += spice::Operand(items[i + 1]).text() + "*mss_alf(" + t + "-" +
              spice::Operand(items[i]).text() + "," + tau + ")";
    }
  } else {
    auto w = value("w");
    if (w == inst.values.end()) {
      diag.Error(inst.loc, "alpha source '" + inst.name + "' needs w= or events=", syntax);
      return false;
    }
    const std::string delay = spice::Operand(inst.values.at("delay")).text();
    auto count = value("count");
    const std::string nmax =
        count != inst.values.end() ? "(" + spice::Operand(count->second).text() + "-1)" : "1e15";
    auto period = value("period");
    const std::string p = period != inst.values.end() ? spice::Operand(period->second).text() : "1";
    expr = spice::Operand(w->second).text() + "*(" + t + ">=" + delay + ")*(" + nmax +
           ">=0)*mss_train(" + t + "-" + delay + "," + tau + "," + p + "," + nmax + ")";
  }
  *cards += "Balpha_" + inst.name + " " + inst.positional[0] + " " + inst.positional[1] +
            " I = " + expr + "\n";
  return true;
}

}  // namespace memspice::devices
