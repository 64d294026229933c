#include "devices/coupling.h"

#include <fmt/format.h>

#include <cmath>

#include "devices/device_util.h"
#include "devices/inductor.h"

namespace memspice::devices {

MutualInductance::MutualInductance(const netlist::Element& element, double mutual, double dm_dk)
    : Device(element.name, element.loc),
      l1_(element.control),
      l2_(element.control2),
      mutual_(mutual),
      dm_dk_(dm_dk) {}

void MutualInductance::Bind(BindContext& ctx) {
  b1_ = ctx.Branch(l1_);
  b2_ = ctx.Branch(l2_);
  h12_ = ctx.Entry(b1_, b2_);
  h21_ = ctx.Entry(b2_, b1_);
}

void MutualInductance::Evaluate(EvalContext& ctx) {
  ctx.q[b1_] -= mutual_ * ctx.x[b2_];
  ctx.q[b2_] -= mutual_ * ctx.x[b1_];
  ctx.C[h12_] -= mutual_;
  ctx.C[h21_] -= mutual_;
}

void MutualInductance::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  out.Add(b1_, 0.0, -dm_dk_ * ctx.x[b2_]);
  out.Add(b2_, 0.0, -dm_dk_ * ctx.x[b1_]);
}

std::unique_ptr<Device> CreateCoupling(const netlist::Element& element,
                                       const netlist::Netlist& netlist,
                                       netlist::Diagnostics& diag) {
  const double k = element.value.value_or(0.0);
  bool ok = CheckFinite(element, "coupling coefficient", k, diag);
  if (ok && !(std::abs(k) > 0.0 && std::abs(k) <= 1.0)) {
    diag.Error(element.loc,
               fmt::format("coupling coefficient of '{}' must satisfy 0 < |k| <= 1, got {}",
                           element.name, k));
    ok = false;
  }
  double l[2] = {0.0, 0.0};
  const std::string* names[2] = {&element.control, &element.control2};
  for (int j = 0; j < 2; ++j) {
    const netlist::Element* found = nullptr;
    for (const netlist::Element& e : netlist.elements) {
      if (e.name == *names[j]) found = &e;
    }
    if (found == nullptr || found->letter != 'l') {
      diag.Error(
          element.loc,
          fmt::format("'{}' couples '{}', which is {}", element.name, *names[j],
                      found == nullptr ? "not an element of the circuit" : "not an inductor"),
          fmt::format("e.g. {} L1 L2 0.99 with inductors L1 and L2", element.name));
      ok = false;
      continue;
    }
    const std::optional<double> value = DeckInductance(*found);
    l[j] = value.value_or(0.0) / ParamOr(found->params, "m", 1.0);
  }
  if (!ok) return nullptr;
  if (!(l[0] * l[1] > 0.0)) {
    diag.Error(element.loc, fmt::format("'{}' couples inductances of opposite sign or zero "
                                        "({} and {})",
                                        element.name, l[0], l[1]));
    return nullptr;
  }
  const double root = std::sqrt(l[0] * l[1]);
  return std::make_unique<MutualInductance>(element, k * root, root);
}

}  // namespace memspice::devices
