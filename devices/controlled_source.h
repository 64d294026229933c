// The four linear controlled sources. Each drives an output between nodes a and b with gain * u,
// where the control u is a node pair's voltage Vc - Vd (E, G) or the branch current of another
// element (F, H: then the control column is that branch and d is ground):
//
//   G1 a b c d gm [m=1]      current output:  f[a] += gm u,  f[b] -= gm u
//   F1 a b vctrl gain [m=1]  current output, u = i(vctrl)
//   E1 a b c d gain          voltage output, branch "i(e1)":  f[a] += i,  f[b] -= i,
//                                                             branch: f = Va - Vb - gain u
//   H1 a b vctrl r           voltage output, u = i(vctrl)
//
// The current of a current output flows from a through the source to b. vctrl is any element
// with a branch current (V, E, H, L, B with V=). `E1 a b VALUE={expr}` and `G1 a b VALUE={expr}`
// (or vol= / cur=) are behavioural sources (bsource.h).
#ifndef MEMSPICE_DEVICES_CONTROLLED_SOURCE_H_
#define MEMSPICE_DEVICES_CONTROLLED_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class ControlledSource : public Device {
 public:
  enum class Output { kCurrent, kVoltage };

  // The control is the node pair (nodes[2], nodes[3]) when element.control is empty, else the
  // branch current of the element it names.
  ControlledSource(const netlist::Element& element, Output output, double gain);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  bool IsLinear() const override { return true; }
  // Exact partial with respect to the gain ("value" or "gain" on the instance line).
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && (key == "value" || key == "gain") ? 0 : kNoParamPartial;
  }
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;

  double gain() const { return gain_; }
  // d(device gain)/d(deck gain): the parallel multiplier m of G and F.
  void set_value_scale(double m) { value_scale_ = m; }

 private:
  // The control u = Vc - Vd at x (for a branch control, d is ground and x[d] == 0).
  double Control(const double* x) const { return x[c_] - x[d_]; }

  Output output_;
  std::string node_a_, node_b_, node_c_, node_d_, control_;
  int a_ = kGround, b_ = kGround, c_ = kGround, d_ = kGround, br_ = kGround;
  // Current output: (a, c), (a, d), (b, c), (b, d). Voltage output: (a, br), (b, br), (br, a),
  // (br, b), (br, c), (br, d).
  int h_[6] = {-1, -1, -1, -1, -1, -1};
  double gain_;
  double value_scale_ = 1.0;
};

// Parameter tables (descriptor.h).
inline constexpr ParamInfo kVcvsParams[] = {
    {"value", kNoDefault, "V/V", -kInf, kInf, false, ParamScope::kValue},  // gain
    {"gain", kNoDefault, "V/V"},
};
inline constexpr ParamInfo kVccsParams[] = {
    {"value", kNoDefault, "S", -kInf, kInf, false, ParamScope::kValue},  // transconductance
    {"gain", kNoDefault, "S"},
    {"m", 1.0, "1", 0.0, kInf, true},  // parallel multiplier
};
inline constexpr ParamInfo kCccsParams[] = {
    {"value", kNoDefault, "A/A", -kInf, kInf, false, ParamScope::kValue},  // gain
    {"gain", kNoDefault, "A/A"},
    {"m", 1.0, "1", 0.0, kInf, true},  // parallel multiplier
};
inline constexpr ParamInfo kCcvsParams[] = {
    {"value", kNoDefault, "Ohm", -kInf, kInf, false, ParamScope::kValue},  // transresistance
    {"gain", kNoDefault, "Ohm"},
};

// Topology class: a VCCS controlled by its own terminals is a conductance; otherwise it is a
// current source and couples nothing.
void VccsTopology(const netlist::Element& element, const std::vector<int>& nodes, Coupling* out);

std::unique_ptr<Device> CreateVcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);
std::unique_ptr<Device> CreateVccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);
std::unique_ptr<Device> CreateCccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);
std::unique_ptr<Device> CreateCcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_CONTROLLED_SOURCE_H_
