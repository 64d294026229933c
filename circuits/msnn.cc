#include "circuits/msnn.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/strings.h"

namespace memspice::circuits {

namespace mss = devices::mss;

MsnnSpec::MsnnSpec() : synapse(SynapseModel()) {}

mss::MssParams SynapseModel() {
  // Keep in step with `.model mss_synapse` in circuits/lib/mss.lib.
  mss::MssParams m;
  m.ron = 1e3;
  m.roff = 1e5;
  m.von = 1.0;
  m.voff = -1.2;
  m.tau = 1e-3;
  m.vt = 0.025;
  m.k = 0.1;
  m.phi = 1.0;
  return m;
}

Status SynapseStateForConductance(const mss::MssParams& m, double g, const std::string& what,
                                  double* x0) {
  const double g_min = 1.0 / m.roff, g_max = 1.0 / m.ron;
  // Tolerate round-off at the ends of the range (trained conductances are clipped exactly there).
  const double slack = 1e-12 * g_max;
  if (!std::isfinite(g) || g < g_min - slack || g > g_max + slack)
    return Status::Error(
        fmt::format("{}: conductance {:.6g} S is outside the synapse range [1/R_off, 1/R_on] = "
                    "[{:.6g}, {:.6g}] S",
                    what, g, g_min, g_max),
        "train with the device-aware optimiser (it clips to this range) or change the synapse "
        "model");
  *x0 = std::clamp((g - g_min) / mss::ConductanceSlope(m), 0.0, 1.0);
  return Status::Ok();
}

namespace {

// Shortest text that reads back as the same double.
using base::FormatNumber;

Status Validate(const MsnnSpec& s) {
  auto bad = [](std::string m) { return Status::Error(std::move(m)); };
  if (s.layers.size() < 2) return bad("layers: need at least an input size and one layer");
  for (int n : s.layers)
    if (n < 1) return bad(fmt::format("layers: size {} must be >= 1", n));
  const size_t nl = s.layers.size() - 1;
  if (s.layer_scale.size() != nl)
    return bad(fmt::format("layer_scale: {} values given, need one per crossbar ({})",
                           s.layer_scale.size(), nl));
  for (double v : s.layer_scale)
    if (!(v > 0) || !std::isfinite(v)) return bad(fmt::format("layer_scale: {} must be > 0", v));
  if (!(s.rline >= 0) || !(s.cline >= 0) || !(s.rdriver >= 0) || !(s.rsense >= 0))
    return bad("rline, cline, rdriver and rsense must be >= 0");
  if (s.reference_column && (s.rline > 0 || s.cline > 0))
    return bad(
        "rline/cline with the reference-column mapping: the compiled line model "
        "(training/line_network.h) has no reference bit line; use the differential mapping with "
        "line parasitics");
  if ((s.rdriver > 0 || s.rsense > 0) && !(s.rline > 0))
    return bad(fmt::format(
        "rdriver {} and rsense {} are series resistors at the ends of the line ladders: they need "
        "rline > 0 (give the line resistance per segment too)",
        FormatNumber(s.rdriver), FormatNumber(s.rsense)));
  if (!(s.input_scale > 0)) return bad(fmt::format("input_scale: {} must be > 0", s.input_scale));
  if (!(s.tau_a > 0)) return bad(fmt::format("tau_a: {} must be > 0", s.tau_a));
  if (s.period < 1) return bad(fmt::format("period: {} must be >= 1", s.period));
  if (!(s.dt > 0)) return bad(fmt::format("dt: {} must be > 0", s.dt));
  if (s.steps < 1) return bad(fmt::format("steps: {} must be >= 1", s.steps));
  if (!(s.v_scale > 0)) return bad(fmt::format("v_scale: {} must be > 0", s.v_scale));
  if (!(s.cmem > 0)) return bad(fmt::format("cmem: {} must be > 0", s.cmem));
  if (s.weights.size() != nl)
    return bad(fmt::format("weights: {} crossbars given, need {}", s.weights.size(), nl));
  for (size_t l = 0; l < nl; ++l) {
    const size_t n = static_cast<size_t>(s.layers[l]) * s.layers[l + 1];
    const MsnnCrossbar& w = s.weights[l];
    if (w.g_plus.size() != n ||
        (s.reference_column ? w.g_ref.size() != size_t(s.layers[l]) : w.g_minus.size() != n))
      return bad(fmt::format(
          "weights of crossbar {}: need {} x {} conductances and {}", l + 1, s.layers[l],
          s.layers[l + 1],
          s.reference_column ? fmt::format("{} reference ones", s.layers[l]) : "as many for G-"));
  }
  if (!s.pixels.empty() && static_cast<int>(s.pixels.size()) != s.layers[0])
    return bad(fmt::format("pixels: {} values, need {}", s.pixels.size(), s.layers[0]));
  return Status::Ok();
}

// Word lines per input: + and - (differential pairs) or + only (reference column).
std::string Signs(const MsnnSpec& s) { return s.reference_column ? "p" : "pm"; }

// Whether the spec asks for line parasitics (RC ladders for the word and bit lines).
bool Parasitic(const MsnnSpec& s) { return s.rline > 0 || s.cline > 0; }

// The node of word line (l, sign, i) at column j: one node per cell with parasitics, else one
// per line.
std::string LineNode(const MsnnSpec& s, int l, char sign, int i, int j) {
  return Parasitic(s) ? fmt::format("i{}{}_{}_{}", l, sign, i, j)
                      : fmt::format("i{}{}_{}", l, sign, i);
}

// Title, training directives, the library, the sample binding and the shared alpha waveform.
std::string DeckHeader(const MsnnSpec& s) {
  const int nl = static_cast<int>(s.layers.size()) - 1;
  const bool parasitic = Parasitic(s);
  std::string layers_text;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    if (i > 0) layers_text += "-";
    layers_text += std::to_string(s.layers[i]);
  }
  std::string o;
  o += s.title.empty() ? fmt::format(
                             "* MEMprop spiking network {}, {} crossbars{} (memspice gen "
                             "msnn)\n",
                             layers_text, s.circuit ? "circuit" : "ideal",
                             parasitic ? " with line parasitics" : "")
                       : "* " + s.title + "\n";
  o += "* Training directives (read by memspice train/eval, ignored by other simulators):\n";
  o += fmt::format("*@msnn dataset={} loss=nll vscale={} method={}\n", s.dataset,
                   FormatNumber(s.v_scale), s.method);
  o += fmt::format("*@msnn steps={} dt={} input=px input_scale={}\n", s.steps, FormatNumber(s.dt),
                   FormatNumber(s.input_scale));
  std::string outs;
  for (int k = 0; k < s.layers[nl]; ++k) outs += fmt::format("{}h{}_{}", k ? "," : "", nl, k);
  o += fmt::format("*@msnn outputs={}\n", outs);
  o += "*@msnn trainable=w*:x0\n";
  if (s.label >= 0) o += fmt::format("* bound sample: label {}\n", s.label);
  o += ".include mif.lib\n";

  o += "* Sample binding: pixel intensities in [0, 1]\n";
  for (int i = 0; i < s.layers[0]; ++i)
    o += fmt::format(".param px{}={}\n", i, s.pixels.empty() ? "0" : FormatNumber(s.pixels[i]));

  o += "* Shared alpha waveform: v(a) = alpha(t), unit event weight (1 V per A through RA)\n";
  o += fmt::format("YALPHA ain 0 a tau={} w=1 period={}\n", FormatNumber(s.tau_a),
                   FormatNumber(s.period * s.dt));
  o += "RA a 0 1\n";
  return o;
}

// The input lines of crossbar l: the + line drives G+, the - line G- (with their ladders).
void WriteInputLines(const MsnnSpec& s, int l, std::string* out) {
  std::string& o = *out;
  const int in = s.layers[l - 1], cols = s.layers[l];
  const double sl = s.layer_scale[l - 1];
  const std::string ref = s.circuit ? fmt::format("vr{}", l) : "0";
  for (int i = 0; i < in; ++i) {
    for (char sign : Signs(s)) {
      const double sg = sign == 'p' ? 1.0 : -1.0;
      const std::string node = fmt::format("i{}{}_{}", l, sign, i);
      if (l == 1) {
        o += fmt::format("EI1{}_{} {} {} a 0 {{{}*px{}}}\n", sign == 'p' ? 'P' : 'M', i, node, ref,
                         FormatNumber(sg * sl * s.input_scale), i);
      } else {
        const double g = s.circuit ? sg : sg * sl;
        o += fmt::format("EI{}{}_{} {} {} h{}_{} vr{} {}\n", l, sign == 'p' ? 'P' : 'M', i, node,
                         ref, l - 1, i, l - 1, FormatNumber(g));
      }
      if (Parasitic(s)) {  // word line ladder, one segment per column
        std::string prev = node;
        if (s.rdriver > 0) {  // driver resistance, then the ladder
          prev = fmt::format("{}_d", node);
          o += fmt::format("RD{}{}_{} {} {} {}\n", l, sign, i, node, prev, FormatNumber(s.rdriver));
        }
        for (int j = 0; j < cols; ++j) {
          const std::string n = LineNode(s, l, sign, i, j);
          o +=
              fmt::format("RW{}{}_{}_{} {} {} {}\n", l, sign, i, j, prev, n, FormatNumber(s.rline));
          if (s.cline > 0)
            o += fmt::format("CW{}{}_{}_{} {} 0 {}\n", l, sign, i, j, n, FormatNumber(s.cline));
          prev = n;
        }
      }
    }
  }
}

// The reference column of crossbar l: one cell per input row from its + line to the reference
// bit line br<l>, held at the potential the weight columns' bit lines sit at (ground, or the
// rest potential in the circuit form).
Status WriteReferenceColumn(const MsnnSpec& s, int l, std::string* out) {
  const int in = s.layers[l - 1];
  for (int i = 0; i < in; ++i) {
    double x0 = 0;
    const std::string name = fmt::format("ref{}_{}", l, i);
    if (Status st = SynapseStateForConductance(s.synapse, s.weights[l - 1].g_ref[i],
                                               "synapse " + name, &x0);
        !st.ok())
      return st;
    *out +=
        fmt::format("YMSS {} i{}p_{} br{} mss_synapse x0={}\n", name, l, i, l, FormatNumber(x0));
  }
  *out += fmt::format("VBR{} br{} {} DC 0\n", l, l, s.circuit ? fmt::format("vr{}", l) : "0");
  return Status::Ok();
}

// The synapses of crossbar l, one bit line per neuron, and how each bit line reaches its
// membrane (mirror, follower or tied).
Status WriteBitLines(const MsnnSpec& s, int l, std::string* out_text) {
  std::string& o = *out_text;
  const int in = s.layers[l - 1], out = s.layers[l];
  const double sl = s.layer_scale[l - 1];
  const bool parasitic = Parasitic(s);
  for (int j = 0; j < out; ++j) {
    // Node the bit line delivers its current to.
    const bool direct = s.circuit && l == 1;
    const std::string sense = direct ? fmt::format("h{}_{}", l, j) : fmt::format("b{}_{}", l, j);
    for (int i = 0; i < in; ++i) {
      for (char sign : Signs(s)) {
        const int row = 2 * i + (sign == 'm');
        const double g = (sign == 'p' ? s.weights[l - 1].g_plus
                                      : s.weights[l - 1].g_minus)[static_cast<size_t>(i) * out + j];
        double x0 = 0;
        const std::string name = fmt::format("w{}{}_{}_{}", l, sign, i, j);
        if (Status st = SynapseStateForConductance(s.synapse, g, "synapse " + name, &x0); !st.ok())
          return st;
        const std::string bl = parasitic ? fmt::format("bl{}_{}_{}", l, j, row) : sense;
        o += fmt::format("YMSS {} {} {} mss_synapse x0={}\n", name, LineNode(s, l, sign, i, j), bl,
                         FormatNumber(x0));
        if (parasitic) {  // bit line ladder towards the sense end
          const std::string next = row + 1 < 2 * in ? fmt::format("bl{}_{}_{}", l, j, row + 1)
                                   : s.rsense > 0   ? fmt::format("bs{}_{}", l, j)
                                                    : sense;
          o += fmt::format("RB{}_{}_{} {} {} {}\n", l, j, row, bl, next, FormatNumber(s.rline));
          if (s.cline > 0)
            o += fmt::format("CB{}_{}_{} {} 0 {}\n", l, j, row, bl, FormatNumber(s.cline));
        }
      }
    }
    if (parasitic && s.rsense > 0)  // sense resistance between the ladder and the terminal
      o += fmt::format("RS{}_{} bs{}_{} {} {}\n", l, j, l, j, sense, FormatNumber(s.rsense));
    const double gain = !s.circuit ? 1.0 : direct ? 1.0 : sl;  // the column's mirror gain
    if (!s.circuit) {
      o += fmt::format("VB{}_{} b{}_{} 0 DC 0\n", l, j, l, j);
      o += fmt::format("FB{}_{} 0 h{}_{} VB{}_{} 1\n", l, j, l, j, l, j);
    } else if (!direct) {
      o += fmt::format("EB{}_{} e{}_{} 0 h{}_{} 0 1\n", l, j, l, j, l, j);
      o += fmt::format("VB{}_{} b{}_{} e{}_{} DC 0\n", l, j, l, j, l, j);
      o += fmt::format("FB{}_{} 0 h{}_{} VB{}_{} {}\n", l, j, l, j, l, j, FormatNumber(sl));
    }
    if (s.reference_column)  // the reference current out of the membrane, mirrored as I_j
      o += fmt::format("FR{}_{} h{}_{} 0 VBR{} {}\n", l, j, l, j, l, FormatNumber(gain));
  }
  return s.reference_column ? WriteReferenceColumn(s, l, out_text) : Status::Ok();
}

}  // namespace

long SynapseCount(const MsnnSpec& s) {
  long n = 0;
  for (size_t l = 0; l + 1 < s.layers.size(); ++l)
    n += s.reference_column ? long{s.layers[l]} * (s.layers[l + 1] + 1)
                            : 2L * s.layers[l] * s.layers[l + 1];
  return n;
}

Status GenerateMsnnDeck(const MsnnSpec& s, std::string* text) {
  if (Status st = Validate(s); !st.ok()) return st;
  const int nl = static_cast<int>(s.layers.size()) - 1;
  std::string o = DeckHeader(s);
  for (int l = 1; l <= nl; ++l) {
    const int in = s.layers[l - 1], out = s.layers[l];
    o += fmt::format("* ---- layer {}: crossbar {} x {} ({}), {} MIF neurons\n", l, in, out,
                     s.reference_column ? "reference column" : "differential", out);
    // Rest reference: controls the next layer's lines, and references circuit-form lines.
    if (l < nl || s.circuit) o += fmt::format("VR{} vr{} 0 DC {}\n", l, l, FormatNumber(s.v_rest));
    WriteInputLines(s, l, &o);
    if (Status st = WriteBitLines(s, l, &o); !st.ok()) return st;
    for (int j = 0; j < out; ++j)
      o += fmt::format("XN{}_{} h{}_{} MIF cmem={} x1={} x2={}\n", l, j, l, j, FormatNumber(s.cmem),
                       FormatNumber(s.x1_rest), FormatNumber(s.x2_rest));
  }
  o += ".save";
  for (int k = 0; k < s.layers[nl]; ++k) o += fmt::format(" v(h{}_{})", nl, k);
  o += "\n";
  o += fmt::format(".tran {} {}\n", FormatNumber(s.dt), FormatNumber(s.dt * s.steps));
  o += ".end\n";
  *text = std::move(o);
  return Status::Ok();
}

}  // namespace memspice::circuits
