// What the four linear controlled sources E, F, G and H share: the output nodes a and b, one gain
// (the deck's value or gain=, times m where the source takes m), linearity and the exact partial
// with respect to the gain. Each source adds its control (a node pair, or a V source's branch
// current) and its stamp.
#ifndef MEMSPICE_DEVICES_GAIN_SOURCE_H_
#define MEMSPICE_DEVICES_GAIN_SOURCE_H_

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

class GainSource : public Device {
 public:
  bool IsLinear() const override { return true; }
  // Exact partial with respect to the gain ("value" or "gain" on the instance line).
  int ParamHandle(const std::string& key, bool model_card) const override {
    return !model_card && (key == "value" || key == "gain") ? 0 : kNoParamPartial;
  }
  double gain() const { return gain_; }
  // d(device gain)/d(deck gain): the parallel multiplier m of G and F.
  void set_value_scale(double m) { value_scale_ = m; }

 protected:
  GainSource(const netlist::Element& element, double gain)
      : Device(element.name, element.loc),
        node_a_(element.nodes[0]),
        node_b_(element.nodes[1]),
        gain_(gain) {}

  void SetupOutput(SetupContext& ctx) {
    a_ = ctx.Node(node_a_);
    b_ = ctx.Node(node_b_);
  }

  // Voltage outputs (E, H): a branch current i(name) through a and b, and the branch row
  // f = Va - Vb - (control term, stamped by the source).
  void AddOutputBranch(SetupContext& ctx) {
    br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
  }
  void BindVoltageOutput(BindContext& ctx) {
    h_a_br_ = ctx.Entry(a_, br_);
    h_b_br_ = ctx.Entry(b_, br_);
    h_br_a_ = ctx.Entry(br_, a_);
    h_br_b_ = ctx.Entry(br_, b_);
  }
  void StampVoltageOutput(EvalContext& ctx) const {
    const double* x = ctx.x;
    ctx.f[a_] += x[br_];
    ctx.f[b_] -= x[br_];
    ctx.f[br_] += x[a_] - x[b_];
    ctx.G[h_a_br_] += 1.0;
    ctx.G[h_b_br_] -= 1.0;
    ctx.G[h_br_a_] += 1.0;
    ctx.G[h_br_b_] -= 1.0;
  }

  std::string node_a_, node_b_;
  int a_ = kGround, b_ = kGround, br_ = kGround;
  int h_a_br_ = -1, h_b_br_ = -1, h_br_a_ = -1, h_br_b_ = -1;  // voltage outputs only
  double gain_;
  double value_scale_ = 1.0;
};

// The behavioural form `E1 a b VALUE={expr}` / `G1 a b VALUE={expr}` (bsource.h): a voltage
// output for E, a current output for G.
std::unique_ptr<Device> CreateBehavioralForm(const netlist::Element& element,
                                             const netlist::Netlist& netlist, bool current_output,
                                             netlist::Diagnostics& diag);

// The gain of a linear E or G card (4 nodes) or F or H card (2 nodes and a controlling source):
// the checked node count and instance parameters, then the value or gain=. On error, nullopt after
// a message naming `quantity` with `example` as the fix.
std::optional<double> VoltageControlledValue(const netlist::Element& element,
                                             std::span<const ParamInfo> params,
                                             const char* quantity, const char* example,
                                             netlist::Diagnostics& diag);
std::optional<double> CurrentControlledValue(const netlist::Element& element,
                                             std::span<const ParamInfo> params,
                                             const char* quantity, const char* example,
                                             netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_GAIN_SOURCE_H_
