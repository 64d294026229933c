// Alpha-shaped synaptic current source (spec models.md section 3).
//
// The two-stage synapse da/dt = -a/tau + sum_k w_k delta(t - t_k), dI/dt = (a - I)/tau has the
// closed form used here:
//
//   I(t) = sum_{k : t >= t_k} w_k ((t - t_k) / tau) exp(-(t - t_k) / tau)
//
// (a kick at t_k, peak w_k / e at t_k + tau). Events older than kHorizon * tau contribute less
// than 60 e^-60 ~ 5e-25 of their weight and are skipped.
//
// Netlist (current flows from np through the source to nn, as a SPICE I source, so
// `YALPHA a1 0 v ...` injects into node v):
//   YALPHA a1 np nn tau=0.64m w=27u period=1m [delay=0] [count=N]     periodic train
//   YALPHA a1 np nn tau=0.64m events=(t1 w1 t2 w2 ...)                explicit events
// Without count the periodic train runs forever. The device is linear (a time-dependent
// current with G = C = 0), adds a breakpoint at every event and scales with source stepping.
#ifndef MEMSPICE_DEVICES_ALPHA_SOURCE_H_
#define MEMSPICE_DEVICES_ALPHA_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class AlphaSource : public Device {
 public:
  static constexpr double kHorizon = 60.0;  // events older than kHorizon * tau are ignored
  static constexpr long kUnlimited = -1;
  // Limits that keep one evaluation and the breakpoint list bounded.
  static constexpr double kMaxOverlappingEvents = 1e6;
  static constexpr long kMaxBreakpoints = 10000000;

  struct Event {
    double time;
    double weight;
  };

  // Explicit events (sorted by time here).
  AlphaSource(std::string name, netlist::SourceLoc loc, std::string np, std::string nn, double tau,
              std::vector<Event> events);
  // Periodic train: weight w at delay + k * period, k = 0 .. count-1 (count < 0: unlimited).
  AlphaSource(std::string name, netlist::SourceLoc loc, std::string np, std::string nn, double tau,
              double weight, double period, double delay, long count);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override {}
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  bool IsSource() const override { return true; }
  void Breakpoints(double tstop, std::vector<double>* out) const override;

  // The source current at time t (A, flowing np -> nn through the source).
  double Current(double t) const;

  double tau() const { return tau_; }
  bool periodic() const { return periodic_; }
  const std::vector<Event>& events() const { return events_; }

 private:
  std::string np_name_, nn_name_;
  int np_ = kGround, nn_ = kGround;
  double tau_;
  bool periodic_;
  std::vector<Event> events_;  // explicit mode
  double weight_ = 0.0, period_ = 0.0, delay_ = 0.0;
  long count_ = kUnlimited;
};

// Parameter table (descriptor.h).
inline constexpr ParamInfo kAlphaSourceParams[] = {
    {"tau", 0.64e-3, "s", 0.0, kInf, true},  // synaptic time constant (MEMprop)
    {"w", kNoDefault, "A"},                  // weight of every event of a periodic train
    {"period", kNoDefault, "s", 0.0, kInf, true},
    {"delay", 0.0, "s"},                    // time of the first event of the train
    {"count", kNoDefault, "1", 0.0, kInf},  // number of events; unset: unlimited
    {"events", kNoDefault, "s A", -kInf, kInf, false, ParamScope::kInstance, ParamKind::kList},
};

// ngspice export of one instance (NgspiceWriter, descriptor.h): a B source whose current is the
// closed-form sum of the events, `Balpha_a1 np nn I = ...`, with kAlphaNgspiceHelpers.
bool WriteAlphaNgspice(const NgspiceInstance& inst, netlist::Diagnostics& diag, std::string* cards);

// The .func helpers of the export: the kernel and the closed-form sum of a periodic train of
// n + 1 kernels, sum_k (s + k p)/tau exp(-(s + k p)/tau), as a geometric series in r = e^(-p/tau).
inline constexpr const char* kAlphaNgspiceHelpers =
    ".func mss_alf(s,tau) {(max(s,0)/tau)*exp(-max(s,0)/tau)}\n"
    ".func mss_trn(s,p,nmax) {max(min(floor(s/p),nmax),0)}\n"
    ".func mss_trs(sn,n,tau,p,r) {exp(-sn/tau)/tau*(sn*(1-pow(r,n+1))/(1-r)"
    "+p*r*(1-(n+1)*pow(r,n)+n*pow(r,n+1))/((1-r)*(1-r)))}\n"
    ".func mss_train(s,tau,p,nmax) {mss_trs(max(s,0)-p*mss_trn(max(s,0),p,nmax),"
    "mss_trn(max(s,0),p,nmax),tau,p,exp(-p/tau))}\n";

// Registry factory for `Y<anything> name np nn ...` with type "alpha".
std::unique_ptr<Device> CreateAlphaSource(const netlist::Element& element,
                                          const netlist::Netlist& netlist,
                                          netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_ALPHA_SOURCE_H_
