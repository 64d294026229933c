#include "devices/capacitor.h"

namespace memspice::devices {

namespace {

constexpr StorageKind kCapacitorKind{
    "c", "capacitor", "capacitance", "C1 a b 1u", "use a B source for a nonlinear charge", false};

}  // namespace

Capacitor::Capacitor(const netlist::Element& element, const StorageCard& card)
    : StorageElement(element, kCapacitorKind.value_key, card) {}

void Capacitor::Setup(SetupContext& ctx) { SetupTerminals(ctx); }

void Capacitor::Bind(BindContext& ctx) {
  h_aa_ = ctx.Entry(a_, a_);
  h_ab_ = ctx.Entry(a_, b_);
  h_ba_ = ctx.Entry(b_, a_);
  h_bb_ = ctx.Entry(b_, b_);
}

void Capacitor::Evaluate(EvalContext& ctx) {
  const double c = value_;
  const double charge = c * (ctx.x[a_] - ctx.x[b_]);
  ctx.q[a_] += charge;
  ctx.q[b_] -= charge;
  ctx.C[h_aa_] += c;
  ctx.C[h_ab_] -= c;
  ctx.C[h_ba_] -= c;
  ctx.C[h_bb_] += c;
}

void Capacitor::InitialState(double* x) const {
  if (!ic_) return;
  if (a_ != kGround) {
    x[a_] = x[b_] + *ic_;
  } else if (b_ != kGround) {
    x[b_] = -*ic_;
  }
}

void Capacitor::ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {
  if (handle != 0) return;  // ic= only sets the initial state
  const double dq = value_scale_ * (ctx.x[a_] - ctx.x[b_]);
  out.Add(a_, 0.0, dq);
  out.Add(b_, 0.0, -dq);
}

void Capacitor::InitialStatePartial(int handle, ParamSink& out) const {
  if (handle != 1) return;
  if (a_ != kGround) {
    out.Add(a_, 1.0, 0.0);
  } else {
    out.Add(b_, -1.0, 0.0);
  }
}

std::unique_ptr<Device> CreateCapacitor(const netlist::Element& element,
                                        const netlist::Netlist& netlist,
                                        netlist::Diagnostics& diag) {
  const std::optional<StorageCard> card =
      ReadStorageCard(element, kCapacitorParams, kCapacitorKind, diag);
  if (!card) return nullptr;
  return std::make_unique<Capacitor>(element, *card);
}

}  // namespace memspice::devices
