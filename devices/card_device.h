// What the semiconductor devices built from a .model card share (BJT, JFET): finding and reading
// the card's numeric fields with one error style, the instance's facts (AREA * M, the card's
// TNOM, OFF, TEMP / DTEMP), and a base class that keeps the card and the model at the device
// temperature.
#ifndef MEMSPICE_DEVICES_CARD_DEVICE_H_
#define MEMSPICE_DEVICES_CARD_DEVICE_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/device.h"
#include "devices/device_util.h"
#include "devices/junction.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

// The .model card an instance names, or nullptr after an error naming `kind` ("JFET") with
// `example` as the fix.
const netlist::Model* FindModelCard(const netlist::Element& element,
                                    const netlist::Netlist& netlist, const char* kind,
                                    const char* example, netlist::Diagnostics& diag);

// Reads the numeric fields of a .model card: `names[k]` is the card key of `*fields[k]`. Errors
// are reported at the card as "<kind> model '<name>': <what>".
class CardReader {
 public:
  // Maps a key the card may use to the field name (aliases such as vt0 -> vto).
  using Canonical = std::function<std::string(const std::string&)>;
  // Handles a key that names no field (level, tnom, noise parameters, unknown keys).
  using Other = std::function<void(const std::string& key, double value)>;

  CardReader(const netlist::Model& card, const char* kind, std::span<const char* const> names,
             std::span<double* const> fields, netlist::Diagnostics& diag)
      : card_(card), kind_(kind), names_(names), fields_(fields), diag_(diag) {}

  // Sets every field the card gives; non-finite values are errors.
  void Read(const Canonical& canonical, const Other& other);
  // Each named field must be > 0 (positive) or >= 0 (non-negative).
  void RequirePositive(std::initializer_list<const char*> keys);
  void RequireNonNegative(std::initializer_list<const char*> keys);
  void Error(const std::string& what, const std::string& hint = "");
  bool ok() const { return ok_; }

 private:
  int Index(const std::string& name) const;

  const netlist::Model& card_;
  const char* kind_;
  std::span<const char* const> names_;
  std::span<double* const> fields_;
  netlist::Diagnostics& diag_;
  bool ok_ = true;
};

// What an instance line adds to its model card.
struct CardInstance {
  double scale = 1.0;          // AREA * M
  double tnom = 0.0;           // the card's nominal temperature, K
  bool off = false;            // OFF: the first Newton iteration starts with junctions off
  InstanceTemp temp;           // the instance's TEMP / DTEMP
  double circuit_temp = 27.0;  // Celsius, until SetAnalysis gives the analysis temperature
  std::vector<double> ic;      // IC= initial terminal voltages for uic (Q: vbe, vce; J: vds, vgs)
};

// The instance facts of `element` (its instance parameters already checked) for `card`; nullopt
// after an error naming `kind` when AREA or M is not a positive finite number.
std::optional<CardInstance> ReadCardInstance(const netlist::Element& element,
                                             const netlist::Model& card,
                                             const netlist::Netlist& netlist, const char* kind,
                                             netlist::Diagnostics& diag);

// A device with a card at TNOM and a model at the device temperature, scaled for the instance.
// Its Newton iterations limit junction voltages, so Evaluate keeps state.
template <typename Model>
class CardDevice : public Device {
 public:
  bool HasLimitingState() const override { return true; }

 protected:
  CardDevice(const netlist::Element& element, const Model& card, const CardInstance& inst)
      : Device(element.name, element.loc), card_(card), inst_(inst) {}

  // The device temperature and thermal voltage for an analysis at `info.temp` (Celsius).
  void SetTemperature(const AnalysisInfo& info) {
    kelvin_ = inst_.temp.Kelvin(info.temp);
    vt_ = ThermalVoltageK(kelvin_);
  }

  const Model card_;  // at inst_.tnom, unscaled
  const CardInstance inst_;
  Model model_;  // at the device temperature, scaled
  double kelvin_ = 0.0, vt_ = 0.0;
};

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_CARD_DEVICE_H_
