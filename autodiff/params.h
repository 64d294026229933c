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
// initial state) as vector-Jacobian and Jacobian-vector products. It builds, per parameter, the
// circuit at p + d and p - d from a modified copy of the netlist (a .param is re-parsed with an
// override) and takes the central difference of the device equations at the same x; d is
// 1e-6 * max(|p|, 1e-3 |p| floor) (relative truncation error ~1e-12 for smooth devices). This works
// for every device without device code; the tangent and the adjoint share these partials.
#ifndef MEMSPICE_AUTODIFF_PARAMS_H_
#define MEMSPICE_AUTODIFF_PARAMS_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "devices/device.h"
#include "netlist/netlist.h"
#include "solver/assembler.h"
#include "solver/circuit.h"
#include "solver/status.h"

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
solver::Status ResolveParams(const netlist::Netlist& netlist,
                             const std::vector<std::string>& patterns, bool have_reparser,
                             std::vector<ParamSpec>* out);

// A copy of `base` with parameter `p` set to `value`.
solver::Status WithParam(const netlist::Netlist& base, const ParamSpec& p, double value,
                         const Reparser& reparse, netlist::Netlist* out);

// The transient start vector of a `uic` run: device initial states, then .ic values.
solver::Status UicStart(solver::Circuit& circuit, const netlist::Netlist& netlist,
                        std::vector<double>* x);
// The .ic clamp of the DC operating point before a transient (NaN = not clamped).
solver::Status IcClamp(const solver::Circuit& circuit, const netlist::Netlist& netlist,
                       std::vector<double>* clamp);

// Evaluates until a device's internal limiting state (diode junction voltage) has settled, so
// that f, q, G, C are the functions of x alone.
void SettledEvaluate(solver::Assembler& assembler, const double* x,
                     const solver::EvalRequest& request);

class ParamPartials {
 public:
  static solver::Status Create(const netlist::Netlist& base, const std::vector<ParamSpec>& specs,
                               const Reparser& reparse, const devices::AnalysisInfo& info, int n,
                               std::unique_ptr<ParamPartials>* out);
  int size() const { return static_cast<int>(sides_.size()); }

  // grad[j] += wf . df/dp_j + wq . dq/dp_j at (x, request). wf or wq may be null (zero).
  void Vjp(const double* x, const solver::EvalRequest& request, const double* wf, const double* wq,
           double* grad);
  // df/dp_j and dq/dp_j at (x, request) (length n each).
  void Jvp(int j, const double* x, const solver::EvalRequest& request, double* df, double* dq);
  // d(.ic clamp)/dp_j (0 where unclamped) and d(uic start)/dp_j.
  const std::vector<double>& clamp_derivative(int j) const { return sides_[j].dclamp; }
  const std::vector<double>& uic_derivative(int j) const { return sides_[j].duic; }

 private:
  struct Circ {
    netlist::Netlist netlist;
    std::unique_ptr<solver::Circuit> circuit;
    std::unique_ptr<solver::Assembler> assembler;
  };
  struct Side {
    Circ plus, minus;
    double delta = 0.0;
    bool touches_f = true;  // false for .ic values: the device equations do not change
    std::vector<double> dclamp, duic;
  };
  int n_ = 0;
  std::vector<Side> sides_;
};

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_PARAMS_H_
