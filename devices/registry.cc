#include "devices/registry.h"

#include <fmt/format.h>

#include "devices/alpha_source.h"
#include "devices/bsource.h"
#include "devices/capacitor.h"
#include "devices/cccs.h"
#include "devices/ccvs.h"
#include "devices/diode.h"
#include "devices/inductor.h"
#include "devices/isource.h"
#include "devices/mss.h"
#include "devices/resistor.h"
#include "devices/vccs.h"
#include "devices/vcvs.h"
#include "devices/vsource.h"

namespace memspice::devices {

const std::vector<RegistryEntry>& Registry() {
  static const std::vector<RegistryEntry> kRegistry = {
      {'r', "", CreateResistor, "resistor (linear, or behavioural R={expr})", "R1 a b 1k"},
      {'c', "", CreateCapacitor, "linear capacitor", "C1 a b 1u ic=0.5"},
      {'l', "", CreateInductor, "linear inductor with branch current i(l1)", "L1 a b 1m ic=1m"},
      {'v', "", CreateVoltageSource, "independent voltage source (DC/PULSE/SIN/EXP/PWL)",
       "V1 a b DC 0.5 PULSE(0 1 1n 1n 1n 5n 10n)"},
      {'i', "", CreateCurrentSource, "independent current source (DC/PULSE/SIN/EXP/PWL)",
       "I1 a b SIN(0 1m 1meg 0 1e5 30)"},
      {'e', "", CreateVcvs, "voltage-controlled voltage source (gain or VALUE={expr})",
       "E1 a b c d 2"},
      {'g', "", CreateVccs, "voltage-controlled current source (gm or VALUE={expr})",
       "G1 a b c d 1m"},
      {'f', "", CreateCccs, "current-controlled current source", "F1 a b vc 2\nVC c d 0.1"},
      {'h', "", CreateCcvs, "current-controlled voltage source", "H1 a b vc 1k\nVC c d 0.1"},
      {'b', "", CreateBehavioralSource, "behavioural source V={expr} or I={expr}",
       "B1 a b I={1m*tanh(V(a,b)) + 1m*V(c)*V(c,d) + 1u*sin(1e6*time)}"},
      {'d', "", CreateDiode, "junction diode (SPICE level 1)",
       "D1 a b dmod\n.model dmod d (is=1e-14 n=1.5 rs=10 cjo=1p vj=0.7 m=0.4 tt=1n bv=5 ibv=1m)"},
      {'y', "mss", CreateMss, "MSS memristor (generalized metastable switch)",
       "YMSS m1 a b mssn x0=0.3\n.model mssn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m "
       "vt=25m k=0.6 phi=1)"},
      {'y', "alpha", CreateAlphaSource, "alpha-shaped synaptic current source",
       "YALPHA a1 a b tau=0.64m w=27u period=1u delay=1n"},
  };
  return kRegistry;
}

std::unique_ptr<Device> CreateDevice(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  const char letter = element.letter;
  const bool typed = letter == 'y';
  std::string known_types;
  for (const RegistryEntry& entry : Registry()) {
    if (entry.letter != letter) continue;
    if (!typed || element.type == entry.type) {
      return entry.create(element, netlist, diag);
    }
    if (!known_types.empty()) known_types += ", ";
    known_types += entry.type;
  }
  if (typed) {
    diag.Error(element.loc,
               fmt::format("unknown device type '{}' for '{}'", element.type, element.name),
               known_types.empty() ? std::string("no Y devices are available in this build")
                                   : fmt::format("known Y device types: {}", known_types));
  } else {
    std::string letters;
    for (const RegistryEntry& entry : Registry()) {
      if (letters.find(entry.letter) == std::string::npos) letters += entry.letter;
    }
    diag.Error(element.loc,
               fmt::format("unsupported element type '{}' in '{}'",
                           static_cast<char>(std::toupper(static_cast<unsigned char>(letter))),
                           element.name),
               fmt::format("supported element letters: {}", letters));
  }
  return nullptr;
}

}  // namespace memspice::devices
