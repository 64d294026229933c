#include "devices/inductor.h"

namespace memspice::devices {

namespace {

constexpr StorageKind kInductorKind{
    "l", "inductor", "inductance", "L1 a b 1m", "write e.g. L1 a b 1m", true};

}  // namespace

Inductor::Inductor(const netlist::Element& element, const StorageCard& card)
    : StorageElement(element, kInductorKind.value_key, card) {}

void Inductor::Setup(SetupContext& ctx) {
  SetupTerminals(ctx);
  br_ = ctx.AddUnknown("i(" + name() + ")", UnknownKind::kBranch);
}

void Inductor::Bind(BindContext& ctx) {
  h_a_br_ = ctx.Entry(a_, br_);
  h_b_br_ = ctx.Entry(b_, br_);
  h_br_a_ = ctx.Entry(br_, a_);
  h_br_b_ = ctx.Entry(br_, b_);
  h_br_br_ = ctx.Entry(br_, br_);
}

void Inductor::Evaluate(EvalContext& ctx) {
  const double i = ctx.x[br_];
  ctx.f[a_] += i;
  ctx.f[b_] -= i;
  ctx.f[br_] += ctx.x[a_] - ctx.x[b_];
  ctx.q[br_] -= value_ * i;
  ctx.G[h_a_br_] += 1.0;
  ctx.G[h_b_br_] -= 1.0;
  ctx.G[h_br_a_] += 1.0;
  ctx.G[h_br_b_] -= 1.0;
  ctx.C[h_br_br_] -= value_;
}

void Inductor::InitialState(double* x) const {
  if (ic_) x[br_] = *ic_;
}

void Inductor::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  if (handle != 0) return;  // ic= only sets the initial state
  out.Add(br_, 0.0, -value_scale_ * ctx.x[br_]);
}

void Inductor::InitialStatePartial(int handle, ParamSink& out) const {
  if (handle == 1) out.Add(br_, 1.0, 0.0);
}

std::optional<double> DeckInductance(const netlist::Element& element) {
  return DeckStorageValue(element, kInductorKind.value_key);
}

std::unique_ptr<Device> CreateInductor(const netlist::Element& element,
                                       const netlist::Netlist& netlist,
                                       netlist::Diagnostics& diag) {
  const std::optional<StorageCard> card =
      ReadStorageCard(element, kInductorParams, kInductorKind, diag);
  if (!card) return nullptr;
  return std::make_unique<Inductor>(element, *card);
}

}  // namespace memspice::devices
