// Generators of MIF neuron layers and of a small memristive spiking network, as netlist text.
//
// A layer is N instances of the MIF subcircuit (circuits/lib/mif.lib, docs/devices/mif.md):
//   .include mif.lib
//   XN<i> v<i> MIF cmem=...            membrane node v<i>, i = 0..N-1
// optionally each driven by a periodic alpha current train (docs/devices/alpha.md)
//   YALPHA a<i> 0 v<i> tau=... w=... period=... delay=<i * period / N>
// (staggered delays so the neurons do not fire in lockstep).
//
// The network (GenerateMifNetworkDeck) wires three stages:
//   input layer   XI<i> in<i> MIF, driven by alpha trains a<i> as above
//   buffers       E<i> win<i> 0 in<i> 0 1: the neuron's output driver; an ideal buffer keeps the
//                 array from loading the input membrane (1 nF against up to `inputs` cells)
//   crossbar      XXBAR win0.. out0.. XBAR: GenerateCrossbarSubckt with MSS cells and line R/C,
//                 bit-line ends on the output membranes
//   output layer  XO<k> out<k> MIF
// so output neuron k integrates I_k = sum_i G_ik (v(in<i>) - v(out<k>)) through the line
// parasitics. All indices are 0-based.
#ifndef MEMSPICE_CIRCUITS_MIF_LAYER_H_
#define MEMSPICE_CIRCUITS_MIF_LAYER_H_

#include <string>

#include "base/status.h"
#include "circuits/crossbar.h"

namespace memspice::circuits {

// A periodic alpha current train per neuron.
struct AlphaTrain {
  bool enabled = true;
  double weight = 27.18281828e-6;  // A; the current peaks at weight / e (here 10 uA)
  double tau = 0.64e-3;            // s
  double period = 2e-3;            // s; neuron i starts at i * period / N
};

// Transient analysis and options written at the end of a deck.
struct DeckAnalysis {
  double tstop = 10e-3;   // s
  double tstep = 10e-6;   // s, output step of `.tran`
  double max_step = 0.0;  // s, `.tran tstep tstop 0 max_step` when > 0
  std::string options;    // `.options <options>` when not empty
  std::string title;      // empty: a generated description
};

struct MifLayerSpec {
  int neurons = 4;
  double cmem = 1e-9;                  // F, membrane capacitance (the MIF default)
  std::string node_prefix = "v";       // membrane node of neuron i: <node_prefix><i>
  std::string instance_prefix = "XN";  // instance name: <instance_prefix><i>, must start with X
  std::string include = "mif.lib";     // library defining the MIF subcircuit
  AlphaTrain input;                    // ignored by GenerateMifLayerSubckt
  DeckAnalysis analysis;
};

// Checks every field; one line per problem, e.g. "neurons: 0 must be >= 1".
Status ValidateMifLayerSpec(const MifLayerSpec& spec);

// The complete deck: title, `* signals:` line (every membrane), `.include`, neurons, inputs,
// `.tran`. Fails with the validation message on a bad spec.
Status GenerateMifLayerDeck(const MifLayerSpec& spec, std::string* deck);

// The layer alone as `.subckt <name> <node_prefix>0 .. <node_prefix><N-1>` preceded by the
// `.include` line; no inputs, no analysis.
Status GenerateMifLayerSubckt(const MifLayerSpec& spec, const std::string& name, std::string* text);

// The network's default array: 4x3 MSS cells, 10 ohm / 1 fF lines, weak non-volatile synapses.
CrossbarSpec DefaultNetworkCrossbar();

struct MifNetworkSpec {
  // crossbar.rows is the number of input neurons, crossbar.cols the number of output neurons
  // (differential arrays are rejected); cell must be kMss. The default is a 4x3 array with
  // 10 ohm / 1 fF lines and weak synapses (100 kOhm .. 1 MOhm, non-volatile thresholds), so a
  // spike of an input neuron (~90 mV above rest) drives a few uA into each output neuron.
  CrossbarSpec crossbar = DefaultNetworkCrossbar();
  double cmem_in = 1e-9;   // F, input neurons
  double cmem_out = 1e-9;  // F, output neurons
  std::string include = "mif.lib";
  AlphaTrain input;
  DeckAnalysis analysis;
};

Status ValidateMifNetworkSpec(const MifNetworkSpec& spec);

// The complete network deck (see the top of this file). The `* signals:` line lists every
// membrane voltage, the first output neuron's states and the first synapse's state.
Status GenerateMifNetworkDeck(const MifNetworkSpec& spec, std::string* deck);

}  // namespace memspice::circuits

#endif  // MEMSPICE_CIRCUITS_MIF_LAYER_H_
