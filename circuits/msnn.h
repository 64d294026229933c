// Generator of a memristive spiking neural network (MEMprop) as a plain netlist: the deck that
// `memspice gen msnn` and `memspice export` write and that training/compiler.h recognises.
//
// Shape (L crossbars, layer l = 1..L, all indices 0-based, docs/training.md "From netlist to
// trained netlist"):
//   *@msnn key=value ...            training directives (comments: any SPICE still runs the deck)
//   .param px<i>=...                the sample binding: pixel i of the input image, in [0, 1]
//   YALPHA ain 0 a ... ; RA a 0 1   one shared alpha waveform, v(a) = alpha(t) [V per A]
//   VR<l> vr<l> 0 DC v_rest         rest-potential reference of MIF layer l
//   EI<l>P_<i>, EI<l>M_<i>          input lines i<l>p_<i>, i<l>m_<i> (+ drives G+, - drives G-;
//                                   reference column: the + line only):
//                                   layer 1: +/- s_1 input_scale px<i> v(a); deeper layers:
//                                   +/- s_l (v(h<l-1>_<i>) - v_rest) (ideal) or
//                                   +/- (v(h<l-1>_<i>) - v_rest) around v_rest (circuit)
//   YMSS w<l>p_<i>_<j> / w<l>m_<i>_<j>   the differential synapse pair, model mss_synapse, x0 set
//                                   so that G(x0) is the conductance
//   reference column (instead of the w<l>m cells): YMSS ref<l>_<i> from i<l>p_<i> to the
//                                   reference bit line br<l>, held by VBR<l> at ground (ideal) or
//                                   at vr<l> (circuit); FR<l>_<j> takes the mirrored reference
//                                   current out of every membrane h<l>_<j> (gain of the column's
//                                   mirror, 1 for a tied bit line): W_ij = G_ij - G_ref,i
//   bit line b<l>_<j>               ideal: VB (0 V, virtual ground) whose current FB mirrors into
//                                   the membrane; circuit: layer 1 tied to the membrane, deeper
//                                   layers held at the membrane by a follower, current mirrored
//                                   with gain s_l (the fast kernels' loading factor)
//   XN<l>_<j> h<l>_<j> MIF          neurons from mif.lib, starting at their rest state
//   .save v(h<L>_<k>)               output probes
// With rline/cline every word and bit line becomes an RC ladder (one segment per cell), which the
// compiler turns into a line network (training/line_network.h); rdriver/rsense add a series
// resistor RD<l><p|m>_<i> after each driver and RS<l>_<j> before each bit-line terminal.
#ifndef MEMSPICE_CIRCUITS_MSNN_H_
#define MEMSPICE_CIRCUITS_MSNN_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "circuits/network_defaults.h"
#include "devices/mss_model.h"

namespace memspice::circuits {

// Conductances of one crossbar, row-major `in x out` (G(i, j) at i * out + j) [S].
struct MsnnCrossbar {
  std::vector<double> g_plus, g_minus;  // g_minus: differential mapping only
  std::vector<double> g_ref;            // reference column, one per input row (reference mapping)
};

struct MsnnSpec {
  // Defaults: circuits/network_defaults.h (training::MsnnSpecFromNetwork fills every field).
  std::vector<int> layers = DefaultNetwork().layers;  // input features, then MIF layer sizes
  bool circuit = false;  // crossbar form: false = ideal (paper Eq. 1-2)
  // Signed weights: false = differential pairs, true = one reference column per crossbar.
  bool reference_column = false;
  double rline = 0.0;  // line resistance per cell segment [Ohm]
  double cline = 0.0;  // line capacitance per cell node [F]
  // Series resistances at the line ends (need rline > 0: they terminate the ladders): from each
  // word-line driver to its first cell segment, and from each bit line's last segment to its
  // terminal (sense node, follower or membrane) [Ohm].
  double rdriver = 0.0, rsense = 0.0;
  std::vector<double> layer_scale = DefaultNetwork().layer_scale;  // s_l per crossbar
  double input_scale = DefaultNetwork().input_scale;  // alpha event weight per unit pixel [A]
  double tau_a = DefaultNetwork().tau_a;              // alpha time constant [s]
  int period = DefaultNetwork().period;               // alpha event every `period` steps
  double dt = DefaultNetwork().dt;                    // [s]
  int steps = DefaultNetwork().steps;
  double v_scale = DefaultNetwork().v_scale;  // softmax temperature of the NLL loss [V]
  std::string dataset = DefaultNetwork().dataset;
  std::string method = DefaultNetwork().method;
  double cmem = DefaultNetwork().c_mem;  // membrane capacitance of the MIF neurons [F]
  // Rest state of the MIF neuron (training::ComputeRestState of the same neuron); the neurons
  // start there and the references VR<l> hold v_rest.
  double v_rest = 0.0, x1_rest = 0.0, x2_rest = 0.0;
  devices::mss::MssParams synapse;    // must equal the mss_synapse card of mss.lib (G <-> x0)
  std::vector<MsnnCrossbar> weights;  // one per crossbar
  std::vector<double> pixels;         // optional bound sample, one per input feature
  int label = -1;                     // class of the bound sample (comment only)
  std::string title;                  // empty: generated
  MsnnSpec();
};

// Parameters of the `mss_synapse` card of circuits/lib/mss.lib.
devices::mss::MssParams SynapseModel();

// x0 whose MSS conductance is g: x0 = (g - 1/roff) / (1/ron - 1/roff). Fails (naming `what` and
// the range) if g is outside [1/roff, 1/ron].
Status SynapseStateForConductance(const devices::mss::MssParams& m, double g,
                                  const std::string& what, double* x0);

// Synapse cells of the deck: per crossbar of N inputs and M neurons 2 N M (differential) or
// N (M + 1) (reference column: M weight columns and the reference column).
long SynapseCount(const MsnnSpec& spec);

// Writes the deck; fails with a message naming the bad field or conductance.
Status GenerateMsnnDeck(const MsnnSpec& spec, std::string* text);

}  // namespace memspice::circuits

#endif  // MEMSPICE_CIRCUITS_MSNN_H_
