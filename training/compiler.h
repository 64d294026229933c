// Network compiler: recognises the layered structure of a MEMprop netlist (the shape written by
// `memspice gen msnn`, circuits/msnn.h, or any deck wired the same way) and extracts the fast
// kernels' NetworkConfig and Parameters from it; or says exactly why it cannot, so that training
// falls back to the MNA engine (training/mna_network.h).
//
// Recognised, on the flattened netlist (element names free, topology only):
//   - one alpha source into a node `a` loaded by one resistor R to ground: v(a) = R I_alpha(t);
//     the compiler samples the device's own closed form (AlphaSource::Current) at t = n dt;
//   - MIF neurons: a node with one capacitor to ground and two linear (phi = 1) MSS devices from
//     it to DC sources; both states must start at the neuron's rest state;
//   - input lines: VCVS pairs with gains +g / -g controlled by v(a) (layer 1; the gain is linear
//     in the pixel parameter <input><i>) or by v(membrane) - v(rest reference) of the previous
//     layer; referenced to ground (ideal) or to a DC source at v_rest (circuit);
//   - synapses: linear, retentive MSS devices from an input line to a bit line;
//   - bit lines: a 0 V source to ground whose current a CCCS mirrors into the membrane (ideal),
//     the membrane itself (circuit, layer 1), or a 0 V source to a unity follower of the
//     membrane with a CCCS mirror of gain s_l (circuit, deeper layers);
//   - line parasitics: between a line driver (or bit-line terminal) and its synapses, a network
//     of resistors (ladders with one segment per cell, any values, driver and sense resistances
//     included) with optional capacitors to ground; each line is the set of nodes joined to its
//     driver or terminal by resistors. The crossbar then becomes a LineTopology
//     (training/line_network.h), run quasi-statically when its time constant is far below dt.
// Training directives are `*@msnn key=value ...` comment lines (see ParseDirectives).
#ifndef MEMSPICE_TRAINING_COMPILER_H_
#define MEMSPICE_TRAINING_COMPILER_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "circuits/msnn.h"
#include "circuits/network_defaults.h"
#include "devices/mss_model.h"
#include "netlist/diagnostics.h"
#include "netlist/netlist.h"
#include "training/network.h"

namespace memspice::training {

// `*@msnn` directives of a deck (keys case-insensitive; values SPICE numbers where numeric):
//   dataset=NAME  loss=nll  vscale=V  method=fe|semi-implicit|be  steps=T  dt=H
//   input=PREFIX (pixel i is .param PREFIX<i>)  input_scale=A  outputs=n0,n1,...
//   trainable=GLOB:x0 (synapse instances whose x0 is trained; default all synapses)
struct MsnnDirectives {
  std::string dataset = circuits::DefaultNetwork().dataset;
  std::string loss = "nll";
  std::string method = "fe";  // without method=: forward Euler
  double v_scale = NetworkConfig().v_scale;
  int steps = 0;  // required
  double dt = 0;  // required
  std::string input_prefix = "px";
  double input_scale = NetworkConfig().input_scale;
  std::vector<std::string> outputs;  // membrane nodes in class order; empty: last layer's order
  std::string trainable = "*";       // glob over synapse element names
  bool found = false;                // at least one *@msnn line
};

// Reads the directives of the deck text `text` (file name `file` for locations). Errors
// (unknown key, bad value, missing steps/dt) go to diag as file:line:col.
bool ParseDirectives(const std::string& text, const std::string& file, MsnnDirectives* out,
                     netlist::Diagnostics& diag);

struct CompiledNetwork {
  std::string path;
  std::vector<std::string> include_paths;
  MsnnDirectives directives;
  netlist::Netlist netlist;          // parsed with the deck's own parameter values
  std::vector<std::string> inputs;   // pixel parameter names, in feature order
  std::vector<std::string> outputs;  // output membrane nodes, in class order
  // Trainable synapses (MNA fallback) and their model (conductance <-> state).
  std::vector<std::string> trainable;
  std::vector<devices::mss::MssParams> trainable_models;
  std::vector<double> trainable_g;  // conductance at the deck's x0 [S]

  // Fast path: set when `fast`.
  bool fast = false;
  std::string reason;  // why not fast: names the element and its file:line
  NetworkConfig config;
  Parameters params;
  // Synapse element names per crossbar, row-major in x out (G+ and G-; syn_minus[l] is empty for
  // a reference-column crossbar, whose reference cells are not trained).
  std::vector<std::vector<std::string>> syn_plus, syn_minus;
  // One line per crossbar: which model it got and why (ideal lines, or the line network with its
  // size and time-constant bound), for the run log.
  std::vector<std::string> crossbar_models;
};

// Parses the deck (errors -> diag, returns false) and compiles it. A deck that parses but is not
// recognised still returns true with fast = false and the reason.
bool CompileNetwork(const std::string& path, const std::vector<std::string>& include_paths,
                    CompiledNetwork* out, netlist::Diagnostics& diag);

// Shell glob (* ? [..]) on lower-case names.
bool GlobMatch(const std::string& pattern, const std::string& name);

// Spec of `memspice gen msnn` for a network of the fast kernels with conductances p (then
// circuits::GenerateMsnnDeck). Fails if the network uses neurons other than mif.lib's or a
// conductance range other than mss_synapse's.
Status MsnnSpecFromNetwork(const NetworkConfig& c, const Parameters& p, const std::string& dataset,
                           circuits::MsnnSpec* spec);

// The text of the compiled deck with x0 of every synapse in `g` (conductance by element name;
// state from the synapse's own model) rewritten and, if pixels is not empty, the sample bound to
// the pixel parameters, through the deck editor (netlist/deck_editor.h). Synapses must be
// top-level `Y... name ...` cards of the deck file and the pixels set on its .param cards (as gen
// msnn writes them).
Status RewriteTrainedDeck(const CompiledNetwork& c, const std::map<std::string, double>& g,
                          const std::vector<double>& pixels, int label, std::string* text);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_COMPILER_H_
