#include "devices/controlled_source.h"

#include <fmt/format.h>

#include <optional>
#include <span>

#include "devices/bsource.h"
#include "devices/device_util.h"

namespace memspice::devices {
namespace {

// The branch of the controlling element of F or H, or an error naming both.
int ControlBranch(BindContext& ctx, const Device& device, const std::string& control) {
  int branch = ctx.Branch(control);
  if (branch < 0) {
    ctx.diag().Error(device.loc(),
                     fmt::format("controlling source '{}' of '{}' not found or has no branch "
                                 "current",
                                 control, device.name()),
                     "the controlling element must be a V source (or E, H, L, B with V=); add "
                     "a 0 V source in series to sense a current");
    return kGround;
  }
  return branch;
}

// The behavioural form `E1 a b VALUE={expr}` / `G1 a b VALUE={expr}` (bsource.h): a voltage
// output for E, a current output for G.
std::unique_ptr<Device> CreateBehavioralForm(const netlist::Element& element,
                                             const netlist::Netlist& netlist, bool current_output,
                                             netlist::Diagnostics& diag) {
  if (!CheckNodeCount(element, 2, diag)) return nullptr;
  if (!CheckParamNames(element, element.params, {}, diag)) return nullptr;
  auto device = std::make_unique<BehavioralSource>(element, element.expr, current_output);
  device->SetAnalysis(AnalysisInfo{0.0, 0.0, netlist.temp});
  return device;
}

// The gain of a linear E, F, G or H card after checking its nodes (4 for a node-pair control, 2
// and a controlling source for a branch control) and instance parameters: the deck's value, else
// gain=. On error, nullopt after a message naming `quantity` with `example` as the fix.
std::optional<double> GainValue(const netlist::Element& element, bool branch_control,
                                std::span<const ParamInfo> params, const char* quantity,
                                const char* example, netlist::Diagnostics& diag) {
  bool ok = CheckNodeCount(element, branch_control ? 2 : 4, diag);
  ok = CheckInstanceParams(element, params, diag) && ok;
  if (branch_control && element.control.empty()) {
    diag.Error(element.loc, fmt::format("'{}' names no controlling voltage source", element.name),
               fmt::format("write e.g. {}", example));
    ok = false;
  }
  if (!ok) return std::nullopt;
  std::optional<double> value = element.value;
  if (!value && element.params.count("gain")) value = element.params.at("gain");
  if (!value) {
    diag.Error(element.loc, fmt::format("'{}' has no {}", element.name, quantity),
               fmt::format("write e.g. {}", example));
  }
  return value;
}

// The source for a linear card: its gain times the parallel multiplier m (1 where the card
// takes none, E and H).
std::unique_ptr<Device> CreateLinear(const netlist::Element& element,
                                     ControlledSource::Output output, bool branch_control,
                                     std::span<const ParamInfo> params, const char* quantity,
                                     const char* example, netlist::Diagnostics& diag) {
  const std::optional<double> gain =
      GainValue(element, branch_control, params, quantity, example, diag);
  if (!gain) return nullptr;
  const double m = ParamOr(element.params, "m", 1.0);
  if (!CheckFinite(element, quantity, *gain * m, diag)) return nullptr;
  auto device = std::make_unique<ControlledSource>(element, output, *gain * m);
  device->set_value_scale(m);
  return device;
}

}  // namespace

ControlledSource::ControlledSource(const netlist::Element& element, Output output, double gain)
    : Device(element.name, element.loc),
      output_(output),
      node_a_(element.nodes[0]),
      node_b_(element.nodes[1]),
      control_(element.control),
      gain_(gain) {
  if (control_.empty()) {
    node_c_ = element.nodes[2];
    node_d_ = element.nodes[3];
  }
}

void ControlledSource::Setup(SetupContext& ctx) {
  a_ = ctx.Node(node_a_);
  b_ = ctx.Node(node_b_);
  if (control_.empty()) {
    c_ = ctx.Node(node_c_);
    d_ = ctx.Node(node_d_);
  }
  if (output_ == Output::kVoltage) br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void ControlledSource::Bind(BindContext& ctx) {
  if (!control_.empty()) c_ = ControlBranch(ctx, *this, control_);
  if (output_ == Output::kCurrent) {
    const int entries[4][2] = {{a_, c_}, {a_, d_}, {b_, c_}, {b_, d_}};
    for (int k = 0; k < 4; ++k) h_[k] = ctx.Entry(entries[k][0], entries[k][1]);
  } else {
    const int entries[6][2] = {{a_, br_}, {b_, br_}, {br_, a_}, {br_, b_}, {br_, c_}, {br_, d_}};
    for (int k = 0; k < 6; ++k) h_[k] = ctx.Entry(entries[k][0], entries[k][1]);
  }
}

void ControlledSource::Evaluate(EvalContext& ctx) {
  const double* x = ctx.x;
  if (output_ == Output::kCurrent) {
    const double i = gain_ * Control(x);
    ctx.f[a_] += i;
    ctx.f[b_] -= i;
    ctx.G[h_[0]] += gain_;
    ctx.G[h_[1]] -= gain_;
    ctx.G[h_[2]] -= gain_;
    ctx.G[h_[3]] += gain_;
    return;
  }
  ctx.f[a_] += x[br_];
  ctx.f[b_] -= x[br_];
  ctx.f[br_] += x[a_] - x[b_];
  ctx.f[br_] -= gain_ * Control(x);
  ctx.G[h_[0]] += 1.0;
  ctx.G[h_[1]] -= 1.0;
  ctx.G[h_[2]] += 1.0;
  ctx.G[h_[3]] -= 1.0;
  ctx.G[h_[4]] -= gain_;
  ctx.G[h_[5]] += gain_;
}

void ControlledSource::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  const double d = value_scale_ * Control(ctx.x);
  if (output_ == Output::kCurrent) {
    out.Add(a_, d, 0.0);
    out.Add(b_, -d, 0.0);
  } else {
    out.Add(br_, -d, 0.0);
  }
}

void VccsTopology(const netlist::Element& element, const std::vector<int>& n, Coupling* out) {
  if (n.size() >= 4 && ((n[0] == n[2] && n[1] == n[3]) || (n[0] == n[3] && n[1] == n[2]))) {
    ConductingTopology(element, n, out);
  }
}

std::unique_ptr<Device> CreateVcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) return CreateBehavioralForm(element, netlist, false, diag);
  return CreateLinear(element, ControlledSource::Output::kVoltage, false, kVcvsParams, "gain",
                      "E1 out 0 in 0 10, or E1 out 0 VALUE={...}", diag);
}

std::unique_ptr<Device> CreateVccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  if (element.expr) return CreateBehavioralForm(element, netlist, true, diag);
  return CreateLinear(element, ControlledSource::Output::kCurrent, false, kVccsParams,
                      "transconductance", "G1 out 0 in 0 1m, or G1 out 0 VALUE={...}", diag);
}

std::unique_ptr<Device> CreateCccs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  return CreateLinear(element, ControlledSource::Output::kCurrent, true, kCccsParams, "gain",
                      "F1 out 0 vsense 2", diag);
}

std::unique_ptr<Device> CreateCcvs(const netlist::Element& element, const netlist::Netlist& netlist,
                                   netlist::Diagnostics& diag) {
  return CreateLinear(element, ControlledSource::Output::kVoltage, true, kCcvsParams,
                      "transresistance", "H1 out 0 vsense 1k", diag);
}

}  // namespace memspice::devices
