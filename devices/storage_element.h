// What the linear capacitor and inductor share: two terminals, one value (the card's value, c= or
// l=, or a constant expression, combined with the parallel multiplier m), an optional initial
// condition ic= used with `.tran ... uic`, and the exact partials with respect to both.
#ifndef MEMSPICE_DEVICES_STORAGE_ELEMENT_H_
#define MEMSPICE_DEVICES_STORAGE_ELEMENT_H_

#include <optional>
#include <span>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"

namespace memspice::devices {

// A C or L card's value with m applied, d(value)/d(deck value) (m for C, 1/m for L) and its ic=.
struct StorageCard {
  double value = 0.0;
  double value_scale = 1.0;
  std::optional<double> ic;
};

class StorageElement : public Device {
 public:
  bool IsLinear() const override { return true; }
  // Exact partials: handle 0 = the value ("value" or the value key, scaled by m), 1 = ic= (the
  // initial state).
  int ParamHandle(const std::string& key, bool model_card) const override;

 protected:
  StorageElement(const netlist::Element& element, const char* value_key, const StorageCard& card);
  void SetupTerminals(SetupContext& ctx) {
    a_ = ctx.Node(node_a_);
    b_ = ctx.Node(node_b_);
  }

  int a_ = kGround, b_ = kGround;
  const double value_;  // capacitance or inductance, m applied
  const double value_scale_;
  const std::optional<double> ic_;

 private:
  const char* value_key_;  // "c" or "l"
  std::string node_a_, node_b_;
};

// How a C or L card is read and what its messages say.
struct StorageKind {
  const char* value_key;        // "c", "l"
  const char* noun;             // "capacitor"
  const char* quantity;         // "capacitance"
  const char* example;          // "C1 a b 1u"
  const char* nonconstant_fix;  // the hint when the value is an expression of the circuit
  bool divides_by_m;            // m in parallel: C times m, L divided by m
};

// The value a C or L card gives (value, c=/l= or a constant expression) before the multiplier m;
// nullopt if there is none.
std::optional<double> DeckStorageValue(const netlist::Element& element, const char* value_key);

// Reads a C or L card after checking its nodes and parameters; nullopt once the problems are in
// diag.
std::optional<StorageCard> ReadStorageCard(const netlist::Element& element,
                                           std::span<const ParamInfo> params,
                                           const StorageKind& kind, netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_STORAGE_ELEMENT_H_
