// Parameters a gradient can be taken with respect to, and their partial derivatives.
//
// Names (case-insensitive; shell globs * ? [..] select many):
//   NAME            a top-level .param, else an element's value (R, C, L, gains, V/I DC value)
//   inst:key        an instance parameter of element `inst` (e.g. m1:x0, d1:area); for MSS
//                   instances any model parameter (instance override)
//   model:key       a parameter of .model `model` (e.g. mssn:tau, dmod:is)
//   ic:node         the .ic value of a node (also ic:v(node))
//
// ParamPartials gives df/dp and dq/dp of the assembled circuit (and of the DC clamps and uic
// initial state) as vector-Jacobian and Jacobian-vector products. Exact partials come from the
// devices (Device::ParamPartial, Device::InitialStatePartial): element values, gains, DC source
// values, every MSS and diode model parameter, x0, ic= and .ic values; a step costs the devices
// a parameter touches, and initial states cost O(1). Anything else (a .param, which is re-parsed
// with an override, and parameters a device cannot differentiate) falls back to building the
// circuit at p + d and p - d and taking the central difference of the device equations at the
// same x; d is 1e-6 |p| (relative truncation error ~1e-12 for smooth devices), one-sided at the
// edge of a parameter's valid range. The tangent and the adjoint share these partials.
#ifndef MEMSPICE_AUTODIFF_PARAMS_H_
#define MEMSPICE_AUTODIFF_PARAMS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "devices/device.h"
#include "netlist/netlist.h"
#include "solver/assembler.h"
#include "solver/circuit.h"

namespace memspice::autodiff {

struct ParamSpec {
  enum class Kind { kParam, kElementValue, kInstance, kModel, kIc };
  Kind kind = Kind::kParam;
  std::string name;    // canonical: "r1", "m1:x0", "mssn:tau", "ic:out", "rload"
  std::string target;  // element / model / node name
  std::string key;     // parameter key (kInstance, kModel)
  double value = 0.0;
};

// Re-parses the deck with extra .param overrides (for .param derivatives); may be empty.
using Reparser = std::function<std::optional<netlist::Netlist>(
    const std::map<std::string, double>& overrides, std::string* error)>;

// Expands the patterns into parameters; errors name the pattern that matched nothing.
Status ResolveParams(const netlist::Netlist& netlist, const std::vector<std::string>& patterns,
                     bool have_reparser, std::vector<ParamSpec>* out);

// A copy of `base` with parameter `p` set to `value`.
Status WithParam(const netlist::Netlist& base, const ParamSpec& p, double value,
                 const Reparser& reparse, netlist::Netlist* out);

// The transient start vector of a `uic` run: device initial states, then .ic values.
Status UicStart(solver::Circuit& circuit, const netlist::Netlist& netlist, std::vector<double>* x);
// The .ic clamp of the DC operating point before a transient (NaN = not clamped).
Status IcClamp(const solver::Circuit& circuit, const netlist::Netlist& netlist,
               std::vector<double>* clamp);

// Evaluates until a device's internal limiting state (diode junction voltage) has settled, so
// that f, q, G, C are the functions of x alone.
void SettledEvaluate(solver::Assembler& assembler, const double* x,
                     const solver::EvalRequest& request);

class ParamPartials {
 public:
  // `circuit` (the run's, whose devices give the exact partials) may be null: then one copy of
  // the circuit is built for them.
  static Status Create(const netlist::Netlist& base, const std::vector<ParamSpec>& specs,
                       const Reparser& reparse, const devices::AnalysisInfo& info, int n,
                       std::unique_ptr<ParamPartials>* out, solver::Circuit* circuit = nullptr);
  int size() const { return static_cast<int>(params_.size()); }
  // Whether parameter j has exact device partials (else finite differences of rebuilt circuits).
  bool exact(int j) const { return params_[j].fd < 0; }
  int num_exact() const;

  // grad[j] += wf . df/dp_j + wq . dq/dp_j at (x, request). wf or wq may be null (zero).
  void Vjp(const double* x, const solver::EvalRequest& request, const double* wf, const double* wq,
           double* grad);
  // df/dp_j and dq/dp_j at (x, request) (length n each).
  void Jvp(int j, const double* x, const solver::EvalRequest& request, double* df, double* dq);
  // d(.ic clamp)/dp_j (0 where unclamped) and d(uic start)/dp_j, dense (length n).
  std::vector<double> clamp_derivative(int j) const;
  std::vector<double> uic_derivative(int j) const;
  // grad[j] += mu . d(.ic clamp)/dp_j and grad[j] += xbar . d(uic start)/dp_j for every j, at the
  // cost of the non-zeros.
  void ClampVjp(const double* mu, double* grad) const;
  void UicVjp(const double* xbar, double* grad) const;

 private:
  using Sparse = std::vector<std::pair<int, double>>;
  struct Use {
    devices::Device* device;
    int handle;
  };
  struct Param {
    std::vector<Use> uses;  // exact: the devices the parameter enters
    int fd = -1;            // else: index into sides_
    Sparse dclamp, duic;
  };
  struct Circ {
    netlist::Netlist netlist;
    std::unique_ptr<solver::Circuit> circuit;
    std::unique_ptr<solver::Assembler> assembler;
  };
  struct Side {
    Circ plus, minus;
    double delta = 0.0;
    bool touches_f = true;  // false for .ic values: the device equations do not change
  };
  using DeviceIndex = std::map<std::string, devices::Device*>;
  devices::EvalContext Context(const double* x, const solver::EvalRequest& request);
  // The exact partials of p (device handles, .ic rows) if every device it enters has them.
  static bool ExactPartials(const netlist::Netlist& base, const solver::Circuit* circuit,
                            const DeviceIndex& devices, const ParamSpec& p, Param* out);
  // The partials of the devices' initial states (x0, ic=) under p, where no .ic value overrides
  // the row (ic_clamp NaN).
  static void InitialStatePartials(const std::vector<double>& ic_clamp, Param* param);
  // The circuit of `base` with p at `value`; fails when it does not build or its unknowns change.
  static Status BuildShifted(const netlist::Netlist& base, const ParamSpec& p, double value,
                             const Reparser& reparse, const devices::AnalysisInfo& info, int n,
                             Circ* c);
  // Central (one-sided at the edge of p's valid range) differences of two rebuilt circuits.
  Status FiniteDifference(const netlist::Netlist& base, const ParamSpec& p, const Reparser& reparse,
                          const devices::AnalysisInfo& info, Param* param);

  int n_ = 0;
  std::vector<Param> params_;
  std::vector<Side> sides_;
  std::unique_ptr<solver::Circuit> own_circuit_;
  std::vector<double> xpad_;  // x with the ground slot at [0]
};

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_PARAMS_H_
