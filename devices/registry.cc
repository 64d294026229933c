#include "devices/registry.h"

#include <fmt/format.h>

#include "devices/alpha_source.h"
#include "devices/bjt.h"
#include "devices/bsource.h"
#include "devices/capacitor.h"
#include "devices/cccs.h"
#include "devices/ccvs.h"
#include "devices/coupling.h"
#include "devices/diode.h"
#include "devices/inductor.h"
#include "devices/isource.h"
#include "devices/jfet.h"
#include "devices/mosfet.h"
#include "devices/mss.h"
#include "devices/resistor.h"
#include "devices/switch.h"
#include "devices/vccs.h"
#include "devices/vcvs.h"
#include "devices/vsource.h"

namespace memspice::devices {

namespace {

// ngspice has the device: lines and .model cards are copied verbatim.
constexpr NgspiceExport kNative{true};
constexpr const char* kStandardDocs = "docs/devices/standard.md";
// Value token positions: "R1 a b 1k" (3), "F1 a b vc 2" (4), "E1 a b c d 2" (5).
constexpr ValueSyntax kAfterTwoNodes{3, nullptr};
constexpr ValueSyntax kAfterControlSource{4, nullptr};
constexpr ValueSyntax kAfterFourNodes{5, nullptr};
constexpr ValueSyntax kSourceDc{3, "dc"};
constexpr ValueSyntax kAfterModel{4, nullptr};  // "D1 a k dmod 2"
constexpr ValueSyntax kNoValue{kNoValueToken, nullptr};

}  // namespace

const std::vector<DeviceDescriptor>& Registry() {
  static const std::vector<DeviceDescriptor> kRegistry = {
      {'r', "", CreateResistor, "resistor (linear, or behavioural R={expr})", "R1 a b 1k", nullptr,
       kResistorParams, kAfterTwoNodes, ConductingTopology, kNative, kStandardDocs},
      {'c', "", CreateCapacitor, "linear capacitor", "C1 a b 1u ic=0.5", nullptr, kCapacitorParams,
       kAfterTwoNodes, CapacitiveTopology, kNative, kStandardDocs},
      {'l', "", CreateInductor, "linear inductor with branch current i(l1)", "L1 a b 1m ic=1m",
       nullptr, kInductorParams, kAfterTwoNodes, VoltageDefinedTopology, kNative, kStandardDocs},
      {'v', "", CreateVoltageSource, "independent voltage source (DC/PULSE/SIN/EXP/PWL)",
       "V1 a b DC 0.5 PULSE(0 1 1n 1n 1n 5n 10n)", nullptr, kVoltageSourceParams, kSourceDc,
       VoltageDefinedTopology, kNative, kStandardDocs},
      {'i', "", CreateCurrentSource, "independent current source (DC/PULSE/SIN/EXP/PWL)",
       "I1 a b SIN(0 1m 1meg 0 1e5 30)", nullptr, kCurrentSourceParams, kSourceDc, OpenTopology,
       kNative, kStandardDocs},
      {'e', "", CreateVcvs, "voltage-controlled voltage source (gain or VALUE={expr})",
       "E1 a b c d 2", nullptr, kVcvsParams, kAfterFourNodes, VoltageDefinedTopology, kNative,
       kStandardDocs},
      {'g', "", CreateVccs, "voltage-controlled current source (gm or VALUE={expr})",
       "G1 a b c d 1m", nullptr, kVccsParams, kAfterFourNodes, VccsTopology, kNative,
       kStandardDocs},
      {'f', "", CreateCccs, "current-controlled current source", "F1 a b vc 2\nVC c d 0.1", nullptr,
       kCccsParams, kAfterControlSource, OpenTopology, kNative, kStandardDocs},
      {'h', "", CreateCcvs, "current-controlled voltage source", "H1 a b vc 1k\nVC c d 0.1",
       nullptr, kCcvsParams, kAfterControlSource, VoltageDefinedTopology, kNative, kStandardDocs},
      {'b', "", CreateBehavioralSource, "behavioural source V={expr} or I={expr}",
       "B1 a b I={1m*tanh(V(a,b)) + 1m*V(c)*V(c,d) + 1u*sin(1e6*time)}", nullptr,
       kBehavioralSourceParams, kNoValue, BehavioralSourceTopology, kNative, kStandardDocs},
      {'d', "", CreateDiode, "junction diode (SPICE level 1)",
       "D1 a b dmod\n.model dmod d (is=1e-14 n=1.5 rs=10 cjo=1p vj=0.7 m=0.4 tt=1n bv=5 ibv=1m)",
       "d", kDiodeParams, kAfterModel, ConductingTopology, kNative, kStandardDocs},
      {'k', "", CreateCoupling, "mutual inductance between two inductors",
       "K1 L1 L2 0.9\nL1 a b 1m\nL2 c d 4m", nullptr, kCouplingParams, kAfterTwoNodes, OpenTopology,
       kNative, "docs/devices/coupling.md"},
      {'m', "", CreateMosfet,
       "MOSFET levels 1, 2, 3 (Shichman-Hodges, Grove-Frohman, semi-empirical; Meyer caps)",
       "M1 a b c d nch W=10u L=1u AD=20p AS=20p PD=24u PS=24u\n.model nch nmos (level=1 vto=0.7 "
       "kp=110u gamma=0.4 phi=0.65 lambda=0.04 rd=5 rs=5 cj=1e-4 cjsw=5e-10 cgso=3e-10 cgdo=3e-10 "
       "cgbo=1e-10 tox=20n)",
       "nmos pmos", kMosfetParams, kNoValue, MosfetTopology, kNative, "docs/devices/mosfet.md"},
      {'q', "", CreateBjt, "bipolar transistor (Gummel-Poon, level 1)",
       "Q1 a b c d qmod 2\n.model qmod npn (is=1e-15 bf=120 vaf=60 ikf=20m ise=1e-14 br=3 var=20 "
       "ikr=5m isc=1e-13 rb=100 rbm=20 re=2 rc=10 cje=1p tf=0.3n xtf=2 vtf=3 itf=10m cjc=0.8p "
       "xcjc=0.6 tr=5n cjs=0.5p mjs=0.4)",
       "npn pnp", kBjtParams, kNoValue, BjtTopology, kNative, "docs/devices/bjt.md"},
      {'j', "", CreateJfet, "junction FET level 1 (Shichman-Hodges with doping tail B)",
       "J1 a b c jmod 2\n.model jmod njf (vto=-1.8 beta=1.2m lambda=0.02 rd=10 rs=8 cgs=3p "
       "cgd=1.5p "
       "pb=0.9 is=1e-14 b=0.9)",
       "njf pjf", kJfetParams, kNoValue, JfetTopology, kNative, "docs/devices/jfet.md"},
      {'s', "", CreateSwitch, "voltage-controlled switch (smooth transition)",
       "S1 a b c d smod\n.model smod sw (vt=0.5 ron=10 roff=1meg)", "sw", kSwitchParams, kNoValue,
       ConductingTopology, kNative, "docs/devices/switch.md"},
      {'w', "", CreateSwitch, "current-controlled switch (smooth transition)",
       "W1 a b vc wmod\nVC c d 0.1\n.model wmod csw (it=1m ron=1 roff=1meg)", "csw",
       kCurrentSwitchParams, kNoValue, ConductingTopology, kNative, "docs/devices/switch.md"},
      {'y',
       "mss",
       CreateMss,
       "MSS memristor (generalized metastable switch)",
       "YMSS m1 a b mssn x0=0.3\n.model mssn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m "
       "vt=25m k=0.6 phi=1)",
       "mss",
       kMssParams,
       kNoValue,
       StarTopology,
       {false, WriteMssNgspice},
       "docs/devices/mss.md"},
      {'y',
       "alpha",
       CreateAlphaSource,
       "alpha-shaped synaptic current source",
       "YALPHA a1 a b tau=0.64m w=27u period=1u delay=1n",
       nullptr,
       kAlphaSourceParams,
       kNoValue,
       OpenTopology,
       {false, WriteAlphaNgspice, kAlphaNgspiceHelpers},
       "docs/devices/alpha.md"},
  };
  return kRegistry;
}

const DeviceDescriptor* FindDescriptor(char letter, const std::string& type) {
  for (const DeviceDescriptor& d : Registry()) {
    if (d.letter == letter && (letter != 'y' || type == d.type)) return &d;
  }
  return nullptr;
}

const DeviceDescriptor* FindDescriptor(const netlist::Element& element) {
  return FindDescriptor(element.letter, element.type);
}

const DeviceDescriptor* FindDescriptorByModelType(const std::string& model_type) {
  for (const DeviceDescriptor& d : Registry()) {
    if (d.model_type == nullptr || model_type.empty()) continue;
    // model_type may list several words ("nmos pmos").
    const std::string list = std::string(" ") + d.model_type + " ";
    if (list.find(" " + model_type + " ") != std::string::npos) return &d;
  }
  return nullptr;
}

std::unique_ptr<Device> CreateDevice(const netlist::Element& element,
                                     const netlist::Netlist& netlist, netlist::Diagnostics& diag) {
  if (const DeviceDescriptor* d = FindDescriptor(element)) return d->create(element, netlist, diag);
  const char letter = element.letter;
  if (letter == 'y') {
    std::string known_types;
    for (const DeviceDescriptor& entry : Registry()) {
      if (entry.letter != 'y') continue;
      if (!known_types.empty()) known_types += ", ";
      known_types += entry.type;
    }
    diag.Error(element.loc,
               fmt::format("unknown device type '{}' for '{}'", element.type, element.name),
               known_types.empty() ? std::string("no Y devices are available in this build")
                                   : fmt::format("known Y device types: {}", known_types));
  } else {
    std::string letters;
    for (const DeviceDescriptor& entry : Registry()) {
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
