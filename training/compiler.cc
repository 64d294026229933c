#include "training/compiler.h"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "base/strings.h"
#include "devices/alpha_source.h"
#include "devices/mss.h"
#include "netlist/deck_editor.h"
#include "netlist/expression.h"
#include "training/dataset.h"
#include "training/line_network.h"

namespace memspice::training {

namespace mss = devices::mss;
using netlist::Element;
using netlist::Netlist;
using netlist::SourceLoc;

namespace {
using base::Lower;

}  // namespace

bool GlobMatch(const std::string& pattern, const std::string& name) {
  return fnmatch(Lower(pattern).c_str(), name.c_str(), 0) == 0;
}

namespace {

// One key=value of a *@msnn line: where the token and its value start.
struct Directive {
  std::string key, value, lower_value;
  SourceLoc loc, value_loc;
};

// Which required keys a deck's directives gave.
struct RequiredKeys {
  bool steps = false, dt = false;
};

// Reads the directive's value as a number (> 0 when `positive`) into *v.
bool DirectiveNumber(const Directive& d, bool positive, double* v, netlist::Diagnostics& diag) {
  auto x = netlist::ParseSpiceNumber(d.value);
  if (!x || !std::isfinite(*x) || (positive && !(*x > 0))) {
    diag.Error(d.value_loc,
               fmt::format("*@msnn {}={}: must be a {}number", d.key, d.value,
                           positive ? "positive " : ""),
               "SPICE suffixes are allowed, e.g. 10u, 1m");
    return false;
  }
  *v = *x;
  return true;
}

// outputs=a,b,v(c): the node names, without v( ).
void DirectiveOutputs(const Directive& d, std::vector<std::string>* outputs,
                      netlist::Diagnostics& diag) {
  outputs->clear();
  const std::string& s = d.lower_value;
  size_t q = 0;
  while (q <= s.size()) {
    size_t c = s.find(',', q);
    if (c == std::string::npos) c = s.size();
    std::string n = s.substr(q, c - q);
    if (n.size() > 3 && n.rfind("v(", 0) == 0 && n.back() == ')') n = n.substr(2, n.size() - 3);
    if (n.empty()) {
      diag.Error(d.value_loc, "*@msnn outputs: empty node name", "outputs=h2_0,h2_1,...");
    } else {
      outputs->push_back(n);
    }
    q = c + 1;
  }
}

// The keys whose values are words (method, trainable, loss) and lists (outputs); false if `d`
// is none of them.
bool ApplyWordDirective(const Directive& d, MsnnDirectives* out, netlist::Diagnostics& diag) {
  const std::string& lv = d.lower_value;
  if (d.key == "dataset") {
    out->dataset = d.value;
  } else if (d.key == "loss") {
    if (lv != "nll") {
      diag.Error(d.value_loc, fmt::format("*@msnn loss={}: unsupported loss", d.value),
                 "loss=nll (softmax cross-entropy summed over time) is the only one");
    }
  } else if (d.key == "method") {
    if (lv != "fe" && lv != "forward-euler" && lv != "semi-implicit" && lv != "si" && lv != "be" &&
        lv != "backward-euler") {
      diag.Error(d.value_loc, fmt::format("*@msnn method={}: unknown method", d.value),
                 "method=fe, method=semi-implicit or method=be");
    } else {
      out->method = lv;
    }
  } else if (d.key == "input") {
    out->input_prefix = lv;
  } else if (d.key == "outputs") {
    DirectiveOutputs(d, &out->outputs, diag);
  } else if (d.key == "trainable") {
    std::string g = lv;
    const size_t colon = g.find(':');
    if (colon != std::string::npos) {
      if (g.substr(colon + 1) != "x0") {
        diag.Error(d.value_loc,
                   fmt::format("*@msnn trainable={}: only synapse states are trainable", d.value),
                   "trainable=GLOB:x0, e.g. trainable=w*:x0");
      }
      g = g.substr(0, colon);
    }
    out->trainable = g.empty() ? "*" : g;
  } else {
    return false;
  }
  return true;
}

// Applies one key=value to *out.
void ApplyDirective(const Directive& d, MsnnDirectives* out, RequiredKeys* seen,
                    netlist::Diagnostics& diag) {
  if (ApplyWordDirective(d, out, diag)) return;
  if (d.key == "vscale") {
    DirectiveNumber(d, true, &out->v_scale, diag);
  } else if (d.key == "steps") {
    double v = 0;
    seen->steps = true;  // present; a bad value is reported once
    if (DirectiveNumber(d, true, &v, diag)) {
      if (v != std::floor(v) || v > 1e9) {
        diag.Error(d.value_loc, fmt::format("*@msnn steps={}: must be a whole number", d.value));
      }
      out->steps = static_cast<int>(v);
    }
  } else if (d.key == "dt") {
    seen->dt = true;
    DirectiveNumber(d, true, &out->dt, diag);
  } else if (d.key == "input_scale") {
    DirectiveNumber(d, true, &out->input_scale, diag);
  } else {
    diag.Error(d.loc, fmt::format("unknown *@msnn key '{}'", d.key),
               "keys: dataset loss vscale method steps dt input input_scale outputs trainable");
  }
}

// The key=value tokens of one *@msnn line from column p on (after the marker).
void ParseDirectiveLine(const std::string& line, size_t p, const std::string& file, int line_no,
                        MsnnDirectives* out, RequiredKeys* seen, netlist::Diagnostics& diag) {
  while (true) {
    p = line.find_first_not_of(" \t\r", p);
    if (p == std::string::npos) return;
    size_t end = line.find_first_of(" \t\r", p);
    if (end == std::string::npos) end = line.size();
    const std::string tok = line.substr(p, end - p);
    const SourceLoc loc{file, line_no, static_cast<int>(p) + 1};
    const size_t eq = tok.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == tok.size()) {
      diag.Error(loc, fmt::format("malformed *@msnn directive '{}'", tok),
                 "write key=value, e.g. steps=200 dt=10u vscale=1m");
    } else {
      Directive d;
      d.key = Lower(tok.substr(0, eq));
      d.value = tok.substr(eq + 1);
      d.lower_value = Lower(d.value);
      d.loc = loc;
      d.value_loc = {file, line_no, static_cast<int>(p + eq) + 2};
      ApplyDirective(d, out, seen, diag);
    }
    p = end;
  }
}

}  // namespace

bool ParseDirectives(const std::string& text, const std::string& file, MsnnDirectives* out,
                     netlist::Diagnostics& diag) {
  diag.AddSource(file, text);
  const int errors_before = diag.num_errors();
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  SourceLoc first{file, 1, 1};
  RequiredKeys seen;
  while (std::getline(in, line)) {
    ++line_no;
    const size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos) continue;
    if (Lower(line.substr(p, 6)) != "*@msnn") continue;
    if (!out->found) first = {file, line_no, static_cast<int>(p) + 1};
    out->found = true;
    ParseDirectiveLine(line, p + 6, file, line_no, out, &seen, diag);
  }
  if (!out->found) {
    diag.Error(first, "no *@msnn training directives in this deck",
               "add e.g. '*@msnn steps=200 dt=10u vscale=1m outputs=h2_0,h2_1' (memspice gen msnn "
               "writes a complete network)");
  } else {
    if (!seen.steps) diag.Error(first, "*@msnn steps=T is missing", "e.g. *@msnn steps=200");
    if (!seen.dt) diag.Error(first, "*@msnn dt=H is missing", "e.g. *@msnn dt=10u");
  }
  return diag.num_errors() == errors_before;
}

namespace {

// Thrown inside the recogniser; becomes CompiledNetwork::reason.
struct NotRecognised {
  std::string why;
};

std::string Where(const Element& e) {
  return fmt::format("{} '{}' ({}:{})", e.letter == 'y' ? "device" : "element", e.name, e.loc.file,
                     e.loc.line);
}

[[noreturn]] void Fail(const Element& e, const std::string& why) {
  throw NotRecognised{Where(e) + ": " + why};
}
[[noreturn]] void Fail(const std::string& why) { throw NotRecognised{why}; }

// Largest tolerated synapse state change over one sample (the fast kernels hold G constant).
constexpr double kDriftLimit = 1e-9;
// Membrane swing assumed for the drive bound of deeper crossbars [V] (MIF spikes stay below it).
constexpr double kMembraneSwing = 0.2;
// Quasi-static line model: the slowest line time constant must be at most this fraction of dt.
constexpr double kQuasiStaticRatio = 1e-3;

bool Close(double a, double b, double rel = 1e-9, double abs = 1e-15) {
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b)) + abs;
}

bool SameMss(const mss::MssParams& a, const mss::MssParams& b) {
  return a.ron == b.ron && a.roff == b.roff && a.von == b.von && a.voff == b.voff &&
         a.tau == b.tau && a.vt == b.vt && a.k == b.k && a.phi == b.phi && a.af == b.af &&
         a.bf == b.bf && a.ar == b.ar && a.br == b.br && a.knowm == b.knowm;
}

bool SameNeuron(const NeuronParams& a, const NeuronParams& b) {
  return a.c_mem == b.c_mem && a.v1 == b.v1 && a.v2 == b.v2 && SameMss(a.m1, b.m1) &&
         SameMss(a.m2, b.m2);
}

bool IsDcSource(const Element& e) {
  return e.letter == 'v' && e.waveform.kind == netlist::Waveform::Kind::kDc;
}

// Number of leading nodes through which an element conducts (control nodes of E/G are not
// connections).
size_t NumTerminals(const Element& e) {
  return e.letter == 'e' || e.letter == 'g' ? 2 : e.nodes.size();
}

struct Neuron {
  std::string node;
  int cap = -1, m[2] = {-1, -1}, src[2] = {-1, -1};
  NeuronParams params;
  int layer = 0;  // 1-based, 0 = not yet known
  int order = 0;  // appearance order
  // Input side.
  int mirror = -1, sense = -1, follower = -1;  // F, VB, EB elements (-1 if absent)
  double k = 1.0;                              // mirror gain (1 if tied directly)
  bool ideal = false;
  std::string terminal;  // bit-line terminal: the membrane, the sensed node or the follower side
  std::vector<int> synapses;
  // Reference-column mapping: the CCCS that takes the mirrored reference current out of the
  // membrane (-1 if absent), its gain and the reference bit line it senses.
  int ref_mirror = -1;
  double ref_k = 0;
  std::string ref_bit;
};

// The reference column of one crossbar: the sensed reference bit line and its cells.
struct ReferenceColumn {
  int sense = -1;       // the 0 V source holding the bit line
  std::string held_at;  // the node the bit line is held at ("0" or a rest reference)
  double held_v = 0;    // its voltage
  std::vector<int> synapses;
};

// One line with parasitics: the nodes joined to its port (driver output or bit-line terminal) by
// resistors, and the resistors and capacitors on them.
struct LineNet {
  std::vector<std::string> nodes;  // internal nodes, in discovery order
  std::vector<int> resistors, caps;
};

struct Line {
  int e = -1;        // the VCVS
  std::string ref;   // output reference node ("0" or a DC-held node)
  int ref_src = -1;  // V source holding ref
  double ref_v = 0;  // its voltage
  int source = -1;   // neuron index feeding the line, or -1 for the alpha node
  double gain = 0;   // default-parse gain
  int pixel = -1;    // layer-1 lines: pixel index
  int sign = 0;      // +1: drives G+, -1: drives G-
};

class Recogniser {
 public:
  Recogniser(CompiledNetwork* c, const Netlist* unit) : c_(*c), nl_(c->netlist), unit_(unit) {
    by_name_.reserve(nl_.elements.size());
    conns_.reserve(nl_.elements.size());
    for (int k = 0; k < static_cast<int>(nl_.elements.size()); ++k) {
      const Element& e = nl_.elements[k];
      by_name_[e.name] = k;
      for (size_t t = 0; t < NumTerminals(e); ++t) conns_[e.nodes[t]].push_back(k);
    }
    used_.assign(nl_.elements.size(), false);
  }

  // Neuron recognition only (also needed by the MNA fallback to tell synapses from neurons).
  void FindNeurons() {
    for (int k = 0; k < static_cast<int>(nl_.elements.size()); ++k) {
      const Element& c = nl_.elements[k];
      if (c.letter != 'c') continue;
      std::string v = c.nodes[0] == "0" ? c.nodes[1] : c.nodes[0];
      if (c.nodes[0] != "0" && c.nodes[1] != "0") continue;
      if (v == "0") continue;
      Neuron nr;
      nr.node = v;
      nr.cap = k;
      int found = 0;
      for (int m : conns_[v]) {
        const Element& e = nl_.elements[m];
        if (e.letter != 'y' || e.type != "mss" || e.nodes[0] != v) continue;
        const std::string& w = e.nodes[1];
        const auto& cw = conns_[w];
        if (cw.size() != 2) continue;
        const int s = cw[0] == m ? cw[1] : cw[0];
        const Element& vs = nl_.elements[s];
        if (!IsDcSource(vs) || !vs.value) continue;
        double volts = 0;
        if (vs.nodes[0] == w && vs.nodes[1] == "0")
          volts = *vs.value;
        else if (vs.nodes[1] == w && vs.nodes[0] == "0")
          volts = -*vs.value;
        else
          continue;
        if (found == 2) {
          found = 3;
          break;
        }
        nr.m[found] = m;
        nr.src[found] = s;
        (found == 0 ? nr.params.v1 : nr.params.v2) = volts;
        ++found;
      }
      if (found != 2) continue;
      if (nr.params.v1 > nr.params.v2) {
        std::swap(nr.m[0], nr.m[1]);
        std::swap(nr.src[0], nr.src[1]);
        std::swap(nr.params.v1, nr.params.v2);
      }
      nr.params.c_mem = *c.value;
      nr.order = static_cast<int>(neurons_.size());
      neuron_of_[v] = static_cast<int>(neurons_.size());
      for (int m : nr.m) neuron_mss_.insert(m);
      neurons_.push_back(nr);
    }
  }

  const std::set<int>& neuron_mss() const { return neuron_mss_; }

  void Run() {
    if (!nl_.ics.empty())
      Fail(
          fmt::format(".ic at {}:{} sets an initial state; the fast kernels "
                      "start every neuron at rest",
                      nl_.ics[0].loc.file, nl_.ics[0].loc.line));
    if (neurons_.empty()) Fail("no MIF neuron (capacitor + two MSS devices to DC sources) found");
    FindAlpha();
    for (Neuron& n : neurons_) NeuronInputs(n);
    AssignLayers();
    Build();
    for (size_t k = 0; k < used_.size(); ++k)
      if (!used_[k]) Fail(nl_.elements[k], "not part of a recognised layer (e.g. line parasitics)");
  }

 private:
  const Element& El(int k) const { return nl_.elements[k]; }

  mss::MssParams Mss(int k, double* x0) {
    netlist::Diagnostics d;
    mss::MssParams p;
    if (!devices::ResolveMssParams(El(k), nl_, d, &p, x0)) Fail(El(k), "bad MSS parameters");
    return p;
  }

  void FindAlpha() {
    int alpha = -1;
    for (int k = 0; k < static_cast<int>(nl_.elements.size()); ++k) {
      const Element& e = nl_.elements[k];
      if (e.letter == 'y' && e.type == "alpha") {
        if (alpha >= 0) Fail(e, "a second alpha source; the fast kernels share one input waveform");
        alpha = k;
      }
    }
    if (alpha < 0) Fail("no alpha source (YALPHA) driving the input lines");
    const Element& a = El(alpha);
    double sign = 1;
    if (a.nodes[0] == "0") {
      alpha_node_ = a.nodes[1];
    } else if (a.nodes[1] == "0") {
      alpha_node_ = a.nodes[0];
      sign = -1;
    } else {
      Fail(a, "the alpha source must have one terminal at ground");
    }
    double r = 0;
    for (int k : conns_[alpha_node_]) {
      if (k == alpha) continue;
      const Element& e = El(k);
      if (e.letter == 'r' && e.value && (e.nodes[0] == "0" || e.nodes[1] == "0") && r == 0) {
        r = *e.value;
        used_[k] = true;
      } else {
        Fail(e, fmt::format("connected to the alpha node '{}', which must only carry one resistor "
                            "to ground",
                            alpha_node_));
      }
    }
    if (r == 0) Fail(a, "the alpha node needs one resistor to ground (v(a) = R I_alpha)");
    used_[alpha] = true;
    netlist::Diagnostics d;
    auto dev = devices::CreateAlphaSource(a, nl_, d);
    auto* src = dynamic_cast<devices::AlphaSource*>(dev.get());
    if (!src) Fail(a, "cannot build the alpha source: " + d.Format());
    const MsnnDirectives& dir = c_.directives;
    c_.config.alpha_waveform.resize(dir.steps + 1);  // n = 0..T (backward Euler reads alpha[T])
    for (int n = 0; n <= dir.steps; ++n)
      c_.config.alpha_waveform[n] = sign * r * src->Current(n * dir.dt);
    c_.config.tau_a = src->tau();
  }

  // Rest reference: node held by a DC source to ground; returns its voltage.
  double RefVoltage(const std::string& node, const Element& user, int* src) {
    if (node == "0") {
      *src = -1;
      return 0;
    }
    for (int k : conns_[node]) {
      const Element& e = El(k);
      if (IsDcSource(e) && e.value && e.nodes[0] == node && e.nodes[1] == "0") {
        *src = k;
        return *e.value;
      }
    }
    Fail(user,
         fmt::format("reference node '{}' is not held by a DC voltage source to ground", node));
  }

  // True if element k may sit on an internal line node: a resistor, a capacitor to ground or a
  // synapse (an MSS device that is not part of a neuron).
  bool IsLineElement(int k) const {
    const Element& e = El(k);
    if (e.letter == 'r') return true;
    if (e.letter == 'c') return e.nodes[0] == "0" || e.nodes[1] == "0";
    return e.letter == 'y' && e.type == "mss" && !neuron_mss_.count(k);
  }
  bool IsLineNode(const std::string& node) const {
    if (node == "0") return false;
    auto it = conns_.find(node);
    if (it == conns_.end()) return false;
    for (int k : it->second)
      if (!IsLineElement(k)) return false;
    return true;
  }

  // The line of port node `port` (word: a driver output, else a bit-line terminal): every node
  // reached through resistors must be a line node. Fails naming the element that is not.
  const LineNet& Explore(const std::string& port, bool word) {
    auto done = nets_.find(port);
    if (done != nets_.end()) return done->second;
    LineNet net;
    const char* kind = word ? "input" : "bit";
    std::set<int> seen_r;
    std::map<std::string, int> via;  // resistor through which each node was reached
    auto path = [&](std::string node, int last) {
      std::vector<std::string> names = {El(last).name};
      for (auto it = via.find(node); it != via.end(); it = via.find(node)) {
        const Element& r = El(it->second);
        names.insert(names.begin(), r.name);
        node = r.nodes[0] == node ? r.nodes[1] : r.nodes[0];
      }
      std::string s;
      for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
      return s;
    };
    std::vector<std::string> todo = {port};
    port_of_[port] = port;
    for (size_t q = 0; q < todo.size(); ++q) {
      const std::string node = todo[q];
      for (int k : conns_[node]) {
        const Element& e = El(k);
        if (node != port && e.letter == 'c') {
          if (!e.value || !(*e.value >= 0)) Fail(e, "line capacitance must be a value >= 0");
          net.caps.push_back(k);
          used_[k] = true;
          continue;
        }
        if (e.letter != 'r' || seen_r.count(k)) continue;
        seen_r.insert(k);
        if (!e.value || !(*e.value > 0) || !std::isfinite(*e.value))
          Fail(e, "line resistance must be a positive value (an ideal line has no resistor)");
        const std::string& other = e.nodes[0] == node ? e.nodes[1] : e.nodes[0];
        if (other == "0")
          Fail(e, fmt::format("resistor from the {} line of '{}' to ground: line leakage is not "
                              "part of the crossbar model",
                              kind, port));
        if (!IsLineNode(other) && other != port) {
          std::string what = "a neuron or a source";
          for (int m : conns_[other])
            if (!IsLineElement(m)) what = Where(El(m));
          Fail(e, fmt::format("joins the {} line of '{}' to node '{}', which carries {} (path "
                              "from '{}': {}); a line is a resistor network between one driver "
                              "(or bit-line terminal) and its synapses",
                              kind, port, other, what, port, path(node, k)));
        }
        net.resistors.push_back(k);
        used_[k] = true;
        auto it = port_of_.find(other);
        if (it != port_of_.end()) {
          if (it->second != port)
            Fail(e, fmt::format("joins the line of '{}' to the line of '{}'; each line must "
                                "reach exactly one driver or bit-line terminal",
                                port, it->second));
          continue;
        }
        port_of_[other] = port;
        via[other] = k;
        net.nodes.push_back(other);
        todo.push_back(other);
      }
    }
    return nets_[port] = std::move(net);
  }

  // The driver node of the input line that synapse `syn`'s word-side node belongs to.
  std::string WordPort(const Element& syn) {
    const std::string& node = syn.nodes[0];
    if (auto it = port_of_.find(node); it != port_of_.end()) return it->second;
    if (!IsLineNode(node)) return node;  // the driver output itself
    // Search through resistors for the one driver.
    std::set<std::string> seen = {node};
    std::vector<std::string> todo = {node};
    for (size_t q = 0; q < todo.size(); ++q)
      for (int k : conns_[todo[q]]) {
        const Element& e = El(k);
        if (e.letter != 'r') continue;
        const std::string& other = e.nodes[0] == todo[q] ? e.nodes[1] : e.nodes[0];
        if (other == "0" || !seen.insert(other).second) continue;
        if (!IsLineNode(other)) {
          Explore(other, true);
          if (auto it = port_of_.find(node); it != port_of_.end()) return it->second;
        }
        todo.push_back(other);
      }
    Fail(syn, fmt::format("its input-side node '{}' has no resistive path to an input-line "
                          "driver (a floating line: the line network would be singular); "
                          "connect the line to its driver",
                          node));
  }

  std::string port_of_word(const Element& syn) const {
    auto it = port_of_.find(syn.nodes[0]);
    return it == port_of_.end() ? syn.nodes[0] : it->second;
  }

  Line& LineOf(const std::string& node, const Element& syn) {
    auto it = lines_.find(node);
    if (it != lines_.end()) return it->second;
    Line ln;
    for (int k : conns_[node]) {
      const Element& e = El(k);
      if (e.letter == 'y' && e.type == "mss" && e.nodes[0] == node) continue;  // synapses
      if (e.letter == 'r') continue;  // first segment of the word line (LineNet)
      if (e.letter == 'e' && e.nodes[0] == node && ln.e < 0 && e.value) {
        ln.e = k;
        continue;
      }
      Fail(e, fmt::format("on input line '{}' (only one VCVS driver and synapses are recognised)",
                          node));
    }
    if (ln.e < 0) Fail(syn, fmt::format("input line '{}' is not driven by a VCVS", node));
    const Element& e = El(ln.e);
    used_[ln.e] = true;
    ln.ref = e.nodes[1];
    ln.ref_v = RefVoltage(ln.ref, e, &ln.ref_src);
    if (ln.ref_src >= 0) used_[ln.ref_src] = true;
    ln.gain = *e.value;
    if (e.nodes[2] == alpha_node_ && e.nodes[3] == "0") {
      ln.source = -1;
    } else {
      auto n = neuron_of_.find(e.nodes[2]);
      if (n == neuron_of_.end())
        Fail(e, "input line controlled neither by the alpha node nor by a neuron membrane");
      ln.source = n->second;
      int src = -1;
      const double vr = RefVoltage(e.nodes[3], e, &src);
      if (src >= 0) used_[src] = true;
      if (e.nodes[3] == "0")
        Fail(e, "deeper input lines must be controlled by v(membrane) - v(rest reference)");
      ref_of_line_control_[node] = vr;
    }
    ln.sign = ln.gain > 0 ? 1 : ln.gain < 0 ? -1 : 0;
    return lines_[node] = ln;
  }

  // Gain of CCCS f at membrane `node` as seen by the membrane (current into it per ampere into the
  // bit line), with the 0 V source it senses, the bit-line side of that source (the side with the
  // synapses) and its other side.
  double SensedGain(int f_index, const std::string& node, int* sense, std::string* bit,
                    std::string* other) {
    const Element& f = El(f_index);
    used_[f_index] = true;
    const double fs = f.nodes[1] == node ? 1.0 : -1.0;
    auto it = by_name_.find(f.control);
    if (it == by_name_.end()) Fail(f, "controlling source not found");
    *sense = it->second;
    const Element& vb = El(*sense);
    used_[*sense] = true;
    if (!IsDcSource(vb) || !vb.value || *vb.value != 0.0)
      Fail(vb, "the sensed bit-line source must be a 0 V DC source");
    // The bit-line side carries the synapses; the other end is ground, a follower or a reference.
    auto has_syn = [&](const std::string& n) {
      for (int k : conns_[n])
        if ((El(k).letter == 'y' && El(k).type == "mss" && El(k).nodes[1] == n) ||
            El(k).letter == 'r')
          return true;
      return false;
    };
    double vs = 1;
    if (vb.nodes[1] == "0" || (vb.nodes[0] != "0" && has_syn(vb.nodes[0]))) {
      *bit = vb.nodes[0];
      *other = vb.nodes[1];
    } else {
      *bit = vb.nodes[1];
      *other = vb.nodes[0];
      vs = -1;
    }
    return fs * vs * *f.value;
  }

  // Records the reference column on bit line `bit` (once per crossbar): its cells and the node
  // its sense source holds it at.
  void ReferenceColumnOf(const std::string& bit, int sense, const std::string& held_at) {
    if (auto it = refs_.find(bit); it != refs_.end()) {
      if (it->second.sense != sense)
        Fail(El(sense), fmt::format("a second source on reference bit line '{}'", bit));
      return;
    }
    ReferenceColumn rc;
    rc.sense = sense;
    rc.held_at = held_at;
    int src = -1;
    rc.held_v = RefVoltage(held_at, El(sense), &src);
    if (src >= 0) used_[src] = true;
    for (int k : conns_[bit]) {
      if (k == sense) continue;
      const Element& e = El(k);
      if (e.letter == 'y' && e.type == "mss" && e.nodes[1] == bit) {
        rc.synapses.push_back(k);
        used_[k] = true;
        LineOf(WordPort(e), e);
        continue;
      }
      Fail(e, fmt::format("on reference bit line '{}' (only reference cells and its sense source "
                          "are recognised; line parasitics with the reference-column mapping are "
                          "not supported: the compiled line model has no reference bit line)",
                          bit));
    }
    if (rc.synapses.empty())
      Fail(El(sense), fmt::format("reference bit line '{}' has no cells", bit));
    refs_[bit] = std::move(rc);
  }

  void NeuronInputs(Neuron& n) {
    used_[n.cap] = true;
    for (int k : {n.m[0], n.m[1], n.src[0], n.src[1]}) used_[k] = true;
    double x0[2];
    n.params.m1 = Mss(n.m[0], &x0[0]);
    n.params.m2 = Mss(n.m[1], &x0[1]);
    const RestState r = ComputeRestState(n.params);
    if (!Close(x0[0], r.x1, 1e-9, 1e-14) || !Close(x0[1], r.x2, 1e-9, 1e-14))
      Fail(El(n.m[0]), fmt::format("neuron '{}' starts at x = ({:.10g}, {:.10g}), not at its rest "
                                   "state ({:.10g}, {:.10g}) where the fast kernels start it",
                                   n.node, x0[0], x0[1], r.x1, r.x2));
    std::string bit;
    std::vector<int> mirrors;  // CCCSs between the membrane and ground
    for (int k : conns_[n.node]) {
      if (k == n.cap || k == n.m[0] || k == n.m[1]) continue;
      const Element& e = El(k);
      if (e.letter == 'f' && e.value &&
          ((e.nodes[0] == "0" && e.nodes[1] == n.node) ||
           (e.nodes[1] == "0" && e.nodes[0] == n.node))) {
        mirrors.push_back(k);
        continue;
      }
      if (e.letter == 'y' && e.type == "mss" && e.nodes[1] == n.node) {
        n.synapses.push_back(k);
        continue;
      }
      if (e.letter == 'r') {  // bit-line ladder ending at the membrane
        n.terminal = n.node;
        continue;
      }
      Fail(e, fmt::format("at membrane node '{}' (expected a CCCS mirror or synapses)", n.node));
    }
    // A positive gain mirrors the neuron's own bit line in, a negative one takes a reference
    // column's current out (reference-column mapping).
    std::string mirror_bit, mirror_other;
    for (int f : mirrors) {
      int sense = -1;
      std::string fbit, other;
      const double k = SensedGain(f, n.node, &sense, &fbit, &other);
      int& slot = k > 0 ? n.mirror : n.ref_mirror;
      if (slot >= 0)
        Fail(El(f), fmt::format("a second {} CCCS at membrane '{}'",
                                k > 0 ? "mirroring" : "reference-subtracting", n.node));
      slot = f;
      if (k > 0) {
        n.sense = sense;
        n.k = k;
        mirror_bit = fbit;
        mirror_other = other;
      } else {
        n.ref_k = -k;
        n.ref_bit = fbit;
        ReferenceColumnOf(fbit, sense, other);
      }
    }
    if (n.mirror >= 0 && (!n.synapses.empty() || !n.terminal.empty()))
      Fail(El(n.mirror),
           fmt::format("membrane '{}' has both a mirrored and a direct bit line", n.node));
    if (n.mirror < 0 && n.synapses.empty() && n.terminal.empty())
      Fail(El(n.cap), fmt::format("neuron '{}' has no input", n.node));
    if (n.mirror >= 0) {
      const Element& vb = El(n.sense);
      bit = mirror_bit;
      const std::string& other = mirror_other;
      if (other == "0") {
        n.ideal = true;
      } else {
        for (int k : conns_[other]) {
          if (k == n.sense) continue;
          const Element& e = El(k);
          if (e.letter == 'e' && e.nodes[0] == other && e.nodes[1] == "0" && e.nodes[2] == n.node &&
              e.nodes[3] == "0" && e.value && *e.value == 1.0 && n.follower < 0) {
            n.follower = k;
            used_[k] = true;
            continue;
          }
          Fail(e, fmt::format("on the bit-line follower node '{}' (expected a unity VCVS of the "
                              "membrane)",
                              other));
        }
        if (n.follower < 0)
          Fail(vb, "bit line neither at ground nor at a follower of the membrane");
      }
      for (int k : conns_[bit]) {
        if (k == n.sense) continue;
        const Element& e = El(k);
        if (e.letter == 'y' && e.type == "mss" && e.nodes[1] == bit) {
          n.synapses.push_back(k);
          continue;
        }
        if (e.letter == 'r') {  // bit-line ladder ending at the sensed node
          n.terminal = bit;
          continue;
        }
        Fail(e, fmt::format("on bit line '{}' (only synapses and the sense source are recognised)",
                            bit));
      }
    }
    if (!n.terminal.empty()) {  // synapses on the bit line's internal nodes
      const LineNet& net = Explore(n.terminal, false);
      for (const std::string& node : net.nodes)
        for (int k : conns_[node]) {
          const Element& e = El(k);
          if (e.letter != 'y') continue;
          if (e.nodes[1] != node)
            Fail(e, fmt::format("its bit-line side must be the second terminal (node '{}' is on "
                                "the bit line of neuron '{}')",
                                node, n.node));
          n.synapses.push_back(k);
        }
    } else {
      n.terminal = bit.empty() ? n.node : bit;
    }
    for (int k : n.synapses) {
      used_[k] = true;
      LineOf(WordPort(El(k)), El(k));
    }
  }

  int LayerOf(int j, std::vector<int>& state) {
    Neuron& n = neurons_[j];
    if (n.layer > 0) return n.layer;
    if (state[j] == 1)
      Fail(El(n.cap), fmt::format("recurrent connection through neuron '{}'", n.node));
    state[j] = 1;
    if (n.synapses.empty()) Fail(El(n.cap), fmt::format("neuron '{}' has no synapses", n.node));
    int layer = -1;
    for (int k : n.synapses) {
      const Line& ln = lines_.at(port_of_word(El(k)));
      const int l = ln.source < 0 ? 1 : LayerOf(ln.source, state) + 1;
      if (layer >= 0 && l != layer)
        Fail(El(k), fmt::format("neuron '{}' takes inputs from two different layers", n.node));
      layer = l;
    }
    state[j] = 2;
    return n.layer = layer;
  }

  void AssignLayers() {
    std::vector<int> state(neurons_.size(), 0);
    int nl = 0;
    for (size_t j = 0; j < neurons_.size(); ++j) nl = std::max(nl, LayerOf(j, state));
    layers_.assign(nl, {});
    for (size_t j = 0; j < neurons_.size(); ++j) layers_[neurons_[j].layer - 1].push_back(j);
    for (int l = 0; l < nl; ++l)
      if (layers_[l].empty()) Fail(fmt::format("MIF layer {} has no neurons", l + 1));
    // Output order from the directive.
    const auto& outs = c_.directives.outputs;
    if (!outs.empty()) {
      std::vector<int> last;
      for (const std::string& o : outs) {
        auto it = neuron_of_.find(o);
        if (it == neuron_of_.end() || neurons_[it->second].layer != nl)
          Fail(fmt::format("*@msnn outputs: '{}' is not a membrane of the last MIF layer", o));
        last.push_back(it->second);
      }
      if (last.size() != layers_[nl - 1].size())
        Fail(fmt::format("*@msnn outputs names {} nodes, the last MIF layer has {} neurons",
                         last.size(), layers_[nl - 1].size()));
      layers_[nl - 1] = last;
    }
  }

  void Build() {
    const int nl = static_cast<int>(layers_.size());
    NetworkConfig& cfg = c_.config;
    const MsnnDirectives& dir = c_.directives;
    const int F = static_cast<int>(c_.inputs.size());
    cfg.layer_sizes = {F};
    for (auto& ly : layers_) cfg.layer_sizes.push_back(static_cast<int>(ly.size()));
    cfg.steps = dir.steps;
    cfg.dt = dir.dt;
    cfg.v_scale = dir.v_scale;
    cfg.input_scale = dir.input_scale;
    cfg.method = ParseMethod(dir.method);
    cfg.period = 1;  // unused: the alpha waveform comes from the netlist's source
    cfg.layer_scale.assign(nl, 0.0);
    cfg.layer_neurons.clear();
    cfg.lines.clear();
    c_.crossbar_models.clear();
    std::vector<int> index(neurons_.size(), -1);
    std::vector<RestState> rest;
    for (int l = 0; l < nl; ++l) {
      for (size_t j = 0; j < layers_[l].size(); ++j) index[layers_[l][j]] = static_cast<int>(j);
      const NeuronParams& p0 = neurons_[layers_[l][0]].params;
      for (int j : layers_[l])
        if (!SameNeuron(neurons_[j].params, p0))
          Fail(El(neurons_[j].cap),
               fmt::format("neuron '{}' differs from the other neurons of MIF layer {}",
                           neurons_[j].node, l + 1));
      cfg.layer_neurons.push_back(p0);
      rest.push_back(ComputeRestState(p0));
    }
    // Pixel of each layer-1 line from the unit parse (px<i> = i + 1).
    std::map<std::string, double>& unit_gain = unit_gain_;
    for (const Element& e : unit_->elements)
      if (e.letter == 'e' && e.value) unit_gain[e.name] = *e.value;
    double c_unit = 0;
    for (auto& [node, ln] : lines_)
      if (ln.source < 0) {
        const double g = std::abs(unit_gain[El(ln.e).name]);
        if (g > 0 && (c_unit == 0 || g < c_unit)) c_unit = g;
      }
    unit_gain_per_pixel_ = c_unit;
    int form = -1;  // 0 ideal, 1 circuit
    cfg.mapping = LayerMapping(0);
    for (int l = 1; l < nl; ++l)
      if (LayerMapping(l) != cfg.mapping)
        Fail(
            fmt::format("crossbar {} uses the {} mapping, crossbar 1 the {}; the fast kernels use "
                        "one mapping per network",
                        l + 1, SignedMappingName(LayerMapping(l)), SignedMappingName(cfg.mapping)));
    c_.params.g_plus.clear();
    c_.params.g_minus.clear();
    c_.syn_plus.assign(nl, {});
    c_.syn_minus.assign(nl, {});
    const mss::MssParams& syn_model = syn_model_;
    for (int l = 0; l < nl; ++l) {
      const int in = cfg.layer_sizes[l], out = cfg.layer_sizes[l + 1];
      Eigen::MatrixXd gp = Eigen::MatrixXd::Constant(in, out, -1), gm = gp;
      c_.syn_plus[l].assign(static_cast<size_t>(in) * out, "");
      c_.syn_minus[l].assign(static_cast<size_t>(in) * out, "");
      double k_layer = 0, gain_layer = 0;
      std::map<std::string, int> word_port, bit_port;  // port node -> port index
      std::vector<std::pair<std::string, std::string>> cell_plus(static_cast<size_t>(in) * out),
          cell_minus(cell_plus.size());  // (word-side, bit-side) node of each cell
      const bool reference = LayerMapping(l) == SignedMapping::kReferenceColumn;
      for (int j : layers_[l]) {
        const Neuron& n = neurons_[j];
        const int f = n.ideal ? 0 : 1;
        if (form >= 0 && f != form)
          Fail(El(n.cap), "ideal and circuit crossbars are mixed; the fast kernels use one form");
        form = f;
        if (k_layer == 0) k_layer = n.k;
        if (!Close(n.k, k_layer, 1e-12))
          Fail(El(n.mirror),
               fmt::format("mirror gain {} differs from {} in MIF layer {}", n.k, k_layer, l + 1));
        if (reference && !Close(n.ref_k, n.k, 1e-12))
          Fail(El(n.ref_mirror),
               fmt::format("subtracts the reference current with gain {}, but the bit line of "
                           "'{}' reaches it with gain {}: W = G - G_ref needs the same gain",
                           n.ref_k, n.node, n.k));
        for (int k : n.synapses) {
          const Element& se = El(k);
          const std::string port = port_of_word(se);
          Line& ln = lines_.at(port);
          const Element& le = El(ln.e);
          double mag = 0;
          const int i = InputOf(l, port, se, index, rest, &mag);
          if (gain_layer == 0) gain_layer = mag;
          if (!Close(mag, gain_layer, 1e-12))
            Fail(le, fmt::format("gain magnitude {} differs from {} in crossbar {}", mag,
                                 gain_layer, l + 1));
          // Reference of the line: ground (ideal) or the receiving layer's rest (circuit).
          if (form == 0 && ln.ref != "0")
            Fail(le, "ideal crossbar input lines must be referenced to ground");
          if (form == 1 && !Close(ln.ref_v, rest[l].v, 1e-9, 1e-12))
            Fail(le, fmt::format("circuit crossbar input lines must be referenced to the rest "
                                 "potential {} V, not {} V",
                                 rest[l].v, ln.ref_v));
          if (reference && ln.sign < 0)
            Fail(se,
                 "a G- cell in a reference-column crossbar (the reference column replaces "
                 "the G- cells)");
          const double g_cell = CellConductance(l, ln, k);
          const int jj = index[j];
          word_port[port] = 2 * i + (ln.sign > 0 ? 0 : 1);
          bit_port[n.terminal] = 2 * in + jj;
          const size_t cell = static_cast<size_t>(i) * out + jj;
          (ln.sign > 0 ? cell_plus : cell_minus)[cell] = {se.nodes[0], se.nodes[1]};
          Eigen::MatrixXd& g = ln.sign > 0 ? gp : gm;
          auto& names = ln.sign > 0 ? c_.syn_plus[l] : c_.syn_minus[l];
          if (g(i, jj) >= 0)
            Fail(se, fmt::format("second synapse from input {} ({}) to neuron '{}'", i,
                                 ln.sign > 0 ? "+" : "-", n.node));
          g(i, jj) = g_cell;
          names[static_cast<size_t>(i) * out + jj] = se.name;
        }
      }
      if (reference) {
        for (const auto* ports : {&word_port, &bit_port})
          for (const auto& [node, p] : *ports)
            if (nets_.count(node))
              Fail(fmt::format(
                  "crossbar {}: line parasitics (at '{}') with the reference-column mapping are "
                  "not supported: the compiled line model has two word lines per input and no "
                  "reference bit line; use the differential mapping",
                  l + 1, node));
        ReferenceWeights(l, gain_layer, index, rest, form, &gm);
        c_.syn_minus[l].clear();
      }
      for (int i = 0; i < in; ++i)
        for (int j = 0; j < out; ++j)
          if (gp(i, j) < 0 || gm(i, j) < 0)
            Fail(fmt::format("crossbar {} has no {} synapse from input {} to neuron '{}'", l + 1,
                             gp(i, j) < 0 ? "+" : "-", i, neurons_[layers_[l][j]].node));
      double s = 0;
      if (form == 0) {
        s = l == 0 ? k_layer * gain_layer / dir.input_scale : k_layer * gain_layer;
      } else if (l == 0) {
        if (!Close(k_layer, 1.0, 1e-12))
          Fail(
              fmt::format("circuit crossbar 1 must deliver its bit-line current unscaled "
                          "(mirror gain {})",
                          k_layer));
        s = gain_layer / dir.input_scale;
      } else {
        if (!Close(gain_layer, 1.0, 1e-12))
          Fail(fmt::format("circuit crossbar {} input lines must be unity buffers (gain {})", l + 1,
                           gain_layer));
        s = k_layer;
      }
      cfg.layer_scale[l] = s;
      cfg.lines.push_back(CrossbarLines(l, in, out, word_port, bit_port, cell_plus, cell_minus,
                                        1.0 / syn_model.roff));
      c_.params.g_plus.push_back(gp);
      c_.params.g_minus.push_back(gm);
    }
    cfg.form = form == 0 ? CrossbarForm::kIdeal : CrossbarForm::kCircuit;
    bool any_lines = false;
    for (const auto& t : cfg.lines) any_lines = any_lines || t;
    if (!any_lines) cfg.lines.clear();
    cfg.g_min = 1.0 / syn_model.roff;
    cfg.g_max = 1.0 / syn_model.ron;
    cfg.neuron = cfg.layer_neurons[0];
    bool all_same = true;
    for (const NeuronParams& p : cfg.layer_neurons)
      all_same = all_same && SameNeuron(p, cfg.neuron);
    if (all_same) cfg.layer_neurons.clear();
    c_.outputs.clear();
    for (int j : layers_[nl - 1]) c_.outputs.push_back(neurons_[j].node);
    if (std::string e = cfg.Validate(); !e.empty()) Fail("network settings: " + e);
  }

  // The signed-weight mapping of crossbar l: reference column if its neurons subtract one
  // (all of them, from one shared reference bit line), else differential.
  SignedMapping LayerMapping(int l) const {
    const Neuron& n0 = neurons_[layers_[l][0]];
    for (int j : layers_[l]) {
      const Neuron& n = neurons_[j];
      if ((n.ref_mirror >= 0) != (n0.ref_mirror >= 0) || n.ref_bit != n0.ref_bit)
        Fail(El(n.cap), fmt::format("neuron '{}' {} as neuron '{}' of MIF layer {} (one reference "
                                    "column per crossbar, subtracted from every neuron)",
                                    n.node,
                                    n.ref_mirror >= 0 ? "subtracts a different reference column"
                                                      : "subtracts no reference column",
                                    n0.node, l + 1));
    }
    return n0.ref_mirror >= 0 ? SignedMapping::kReferenceColumn : SignedMapping::kDifferential;
  }

  // Conductance of synapse k of crossbar l on line `ln`, checking that it is linear, has the
  // network's conductance range and holds its state within a sample.
  double CellConductance(int l, const Line& ln, int k) {
    const Element& se = El(k);
    double x0 = 0;
    const mss::MssParams m = Mss(k, &x0);
    if (m.phi != 1.0) Fail(se, "synapse is not linear (phi != 1)");
    if (!have_model_) {
      syn_model_ = m;
      have_model_ = true;
    } else if (m.ron != syn_model_.ron || m.roff != syn_model_.roff) {
      Fail(se, "synapses have different R_on/R_off (one conductance range per network)");
    }
    // Retentive: the state must not drift measurably over a sample at the largest drive the cell
    // can see. The lines are passive, so IR drop only lowers a cell's voltage below the
    // difference of its port voltages.
    const MsnnDirectives& dir = c_.directives;
    const double u_max = CellVoltageBound(l, ln);
    for (double u : {-u_max, 0.0, u_max})
      if (std::abs(mss::StateRate(m, x0, u)) * dir.steps * dir.dt > kDriftLimit)
        Fail(se, fmt::format("a drive of up to {:.3g} V across this synapse would change its "
                             "state (dx/dt = {:.3g}/s at u = {:.3g} V); the fast kernels "
                             "hold conductances constant within a sample: lower the input "
                             "scale or the layer scale, or use a synapse with a higher "
                             "switching threshold",
                             u_max, mss::StateRate(m, x0, u), u));
    return mss::Conductance(m, x0);
  }

  // The reference column of crossbar l into *gm (every column a copy of G_ref): one cell per
  // input row on its + line, driven as the weight cells (line gain `gain_layer`), its bit line
  // held where the weight columns' bit lines sit (ground, or the rest potential in the circuit
  // form).
  void ReferenceWeights(int l, double gain_layer, const std::vector<int>& index,
                        const std::vector<RestState>& rest, int form, Eigen::MatrixXd* gm) {
    const std::string& bit = neurons_[layers_[l][0]].ref_bit;
    const ReferenceColumn& rc = refs_.at(bit);
    const Element& vb = El(rc.sense);
    if (form == 0 && rc.held_at != "0")
      Fail(vb, "an ideal crossbar's reference bit line must be held at ground (as its columns)");
    if (form == 1 && !Close(rc.held_v, rest[l].v, 1e-9, 1e-12))
      Fail(vb, fmt::format("a circuit crossbar's reference bit line must be held at the rest "
                           "potential {} V (as its input lines' reference), not {} V",
                           rest[l].v, rc.held_v));
    std::vector<double> g_ref(gm->rows(), -1.0);
    for (int k : rc.synapses) {
      const Element& se = El(k);
      const std::string port = port_of_word(se);
      double mag = 0;
      const int i = InputOf(l, port, se, index, rest, &mag);
      const Line& ln = lines_.at(port);
      if (ln.sign < 0 || !Close(mag, gain_layer, 1e-12))
        Fail(se, "a reference cell must sit on an input line that drives the weight cells (+)");
      if (g_ref[i] >= 0) Fail(se, fmt::format("second reference cell on input {}", i));
      g_ref[i] = CellConductance(l, ln, k);
    }
    for (int i = 0; i < gm->rows(); ++i) {
      if (g_ref[i] < 0)
        Fail(vb,
             fmt::format("the reference column of crossbar {} has no cell on input {}", l + 1, i));
      gm->row(i).setConstant(g_ref[i]);
    }
  }

  // Input index of the line `port` that synapse `se` of crossbar l sits on, checking its drive;
  // *mag: the line's gain magnitude (layer 1: per unit pixel). Sets the line's sign.
  int InputOf(int l, const std::string& port, const Element& se, const std::vector<int>& index,
              const std::vector<RestState>& rest, double* mag) {
    Line& ln = lines_.at(port);
    const Element& le = El(ln.e);
    int i = 0;
    const double c_unit = unit_gain_per_pixel_;
    if (ln.source < 0) {
      if (l != 0) Fail(se, "alpha-driven line in a deeper layer");
      if (c_unit == 0) Fail(le, "input lines have zero gain with the pixels set");
      const auto it = unit_gain_.find(le.name);
      const double g1 = it == unit_gain_.end() ? 0.0 : it->second;
      const double r = std::abs(g1) / c_unit;
      i = static_cast<int>(std::lround(r)) - 1;
      const int F = static_cast<int>(c_.inputs.size());
      if (!Close(r, i + 1, 1e-9) || i < 0 || i >= F)
        Fail(le,
             fmt::format("gain is not <scale>*{}<i> for one pixel i", c_.directives.input_prefix));
      // Linear without offset: the deck's own pixel value reproduces the default gain.
      const double px = c_.netlist.params.at(c_.inputs[i]);
      if (!Close(ln.gain, g1 / (i + 1) * px, 1e-9, 1e-300))
        Fail(le, fmt::format("gain is not proportional to {}", c_.inputs[i]));
      ln.sign = g1 > 0 ? 1 : -1;
      *mag = c_unit;
    } else {
      if (neurons_[ln.source].layer != l) Fail(se, "skips a layer");
      i = index[ln.source];
      *mag = std::abs(ln.gain);
      if (!Close(ref_of_line_control_.at(port), rest[l - 1].v, 1e-9, 1e-12))
        Fail(le, fmt::format("controlled relative to {} V, not the rest potential {} V of "
                             "MIF layer {}",
                             ref_of_line_control_.at(port), rest[l - 1].v, l));
    }
    if (ln.sign == 0) Fail(le, "zero gain");
    return i;
  }

  // Largest voltage a cell of crossbar l on line `ln` can see: the input drive (layer 1: the
  // line gain at pixel 1 times the alpha peak; deeper layers: the gain times the membrane swing
  // bound) plus, in the circuit form, the swing of the bit-line terminal.
  double CellVoltageBound(int l, const Line& ln) const {
    double alpha_max = 0;
    for (double a : c_.config.alpha_waveform) alpha_max = std::max(alpha_max, std::abs(a));
    const bool circuit = !neurons_[layers_[l][0]].ideal;
    const double word = ln.source < 0 ? std::abs(unit_gain_per_pixel_) * alpha_max
                                      : std::abs(ln.gain) * kMembraneSwing;
    return word + (circuit ? kMembraneSwing : 0.0);
  }

  // Line network of crossbar l, or null if none of its lines has parasitics; appends the model
  // line to c_.crossbar_models. Fails if the quasi-static model does not hold.
  std::shared_ptr<const LineTopology> CrossbarLines(
      int l, int in, int out, const std::map<std::string, int>& word_port,
      const std::map<std::string, int>& bit_port,
      const std::vector<std::pair<std::string, std::string>>& cell_plus,
      const std::vector<std::pair<std::string, std::string>>& cell_minus, double g_min) {
    auto top = std::make_shared<LineTopology>();
    top->in = in;
    top->out = out;
    std::map<std::string, int> index;
    std::vector<const LineNet*> nets;
    for (const auto* ports : {&word_port, &bit_port})
      for (const auto& [node, p] : *ports)
        if (auto it = nets_.find(node); it != nets_.end()) {
          nets.push_back(&it->second);
          for (const std::string& n : it->second.nodes) {
            index[n] = top->nodes++;
            top->node_names.push_back(n);
          }
        }
    if (nets.empty()) {
      c_.crossbar_models.push_back(fmt::format(
          "crossbar {} ({} x {}): ideal lines (no line resistance): weights W = {}", l + 1, in, out,
          c_.config.mapping == SignedMapping::kReferenceColumn
              ? "G - G_ref (fixed reference column)"
              : "G+ - G-"));
      return nullptr;
    }
    auto term = [&](const std::string& node) {
      if (auto it = word_port.find(node); it != word_port.end()) return Port(it->second);
      if (auto it = bit_port.find(node); it != bit_port.end()) return Port(it->second);
      auto it = index.find(node);
      if (it == index.end())
        Fail(fmt::format("line node '{}' of crossbar {} reaches no port", node, l + 1));
      return it->second;
    };
    double c_total = 0;
    for (const LineNet* net : nets) {
      for (int k : net->resistors) {
        const Element& e = El(k);
        top->resistors.push_back({term(e.nodes[0]), term(e.nodes[1]), 1.0 / *e.value});
        top->res_names.push_back(e.name);
      }
      for (int k : net->caps) {
        const Element& e = El(k);
        if (top->cap.empty()) top->cap.assign(top->nodes, 0.0);
        const int n = term(e.nodes[0] == "0" ? e.nodes[1] : e.nodes[0]);
        top->cap[n] += *e.value;
        c_total += *e.value;
      }
    }
    for (size_t c = 0; c < cell_plus.size(); ++c) {
      top->plus_word.push_back(term(cell_plus[c].first));
      top->plus_bit.push_back(term(cell_plus[c].second));
      top->minus_word.push_back(term(cell_minus[c].first));
      top->minus_bit.push_back(term(cell_minus[c].second));
    }
    if (std::string e = top->Validate(); !e.empty()) Fail(fmt::format("crossbar {}: {}", l + 1, e));
    const double dt = c_.directives.dt;
    std::string cap_text = "no line capacitance";
    if (c_total > 0) {
      const double tau = LineTimeConstant(*top, g_min);
      if (tau > kQuasiStaticRatio * dt)
        Fail(fmt::format(
            "crossbar {}: the slowest line time constant tau = {:.3g} s (every cell at g_min) is "
            "{:.3g} dt; the compiled quasi-static line model needs tau <= {:g} dt: lower rline or "
            "cline, or lengthen dt (the MNA engine integrates the line nodes)",
            l + 1, tau, tau / dt, kQuasiStaticRatio));
      cap_text = fmt::format(
          "quasi-static: line capacitance {:.3g} F in total, slowest time constant tau <= {:.3g} "
          "s = {:.2g} dt (bound {:g} dt; charge currents neglected, relative error O(tau/dt)){}",
          c_total, tau, tau / dt, kQuasiStaticRatio,
          c_.directives.method == "fe" || c_.directives.method == "forward-euler"
              ? "; the deck's own forward-Euler discretisation of these nodes is unstable "
                "(tau < dt/2): the compiled path runs their quasi-static limit"
              : "");
    }
    c_.crossbar_models.push_back(fmt::format(
        "crossbar {} ({} x {}): line network, {} nodes, {} line resistors, factorised once per "
        "step with the bit ports last (port admittance from the factor and {} back-solves); {}",
        l + 1, in, out, top->nodes, top->resistors.size(), out, cap_text));
    return top;
  }

  CompiledNetwork& c_;
  const Netlist& nl_;
  const Netlist* unit_;
  std::unordered_map<std::string, int> by_name_;
  std::unordered_map<std::string, std::vector<int>> conns_;
  std::vector<bool> used_;
  std::vector<Neuron> neurons_;
  std::map<std::string, int> neuron_of_;
  std::set<int> neuron_mss_;
  std::string alpha_node_;
  std::map<std::string, Line> lines_;
  std::map<std::string, double> ref_of_line_control_;
  std::map<std::string, std::string> port_of_;   // line node -> its driver or bit-line terminal
  std::map<std::string, LineNet> nets_;          // lines with parasitics, by port node
  std::map<std::string, ReferenceColumn> refs_;  // reference columns by bit-line node
  double unit_gain_per_pixel_ = 0;               // layer-1 line gain per unit pixel [V/V]
  std::map<std::string, double> unit_gain_;      // VCVS gains with pixel i set to i + 1
  mss::MssParams syn_model_;                     // the synapses' model (one range per network)
  bool have_model_ = false;
  std::vector<std::vector<int>> layers_;
};

}  // namespace

bool CompileNetwork(const std::string& path, const std::vector<std::string>& include_paths,
                    CompiledNetwork* out, netlist::Diagnostics& diag) {
  CompiledNetwork& c = *out;
  c = CompiledNetwork();
  c.path = path;
  c.include_paths = include_paths;
  netlist::ParseOptions po;
  po.include_paths = include_paths;
  // One read of the deck: directives, the netlist and the pixel mapping all come from it.
  std::unique_ptr<netlist::ParsedDeck> deck = netlist::ParsedDeck::ReadFile(path, po, diag);
  if (!deck) return false;
  if (!ParseDirectives(deck->text(), path, &c.directives, diag)) return false;
  auto nl = deck->Flatten(po, diag);
  if (!nl || diag.has_errors()) return false;
  c.netlist = std::move(*nl);
  // Sample binding: PREFIX0, PREFIX1, ... must be top-level parameters.
  for (int i = 0;; ++i) {
    const std::string name = c.directives.input_prefix + std::to_string(i);
    if (!c.netlist.params.count(name)) break;
    c.inputs.push_back(name);
  }
  if (c.inputs.empty()) {
    diag.Error({path, 1, 1},
               fmt::format("*@msnn input={}: the deck has no .param {}0", c.directives.input_prefix,
                           c.directives.input_prefix),
               "bind pixel i of the sample as .param px<i>=0 and use it in the input line gains");
    return false;
  }
  // The VCVS again with pixel i set to i + 1: their gains tell which line carries which pixel
  // (the recogniser reads nothing else of this pass, so the other elements are not flattened).
  for (size_t i = 0; i < c.inputs.size(); ++i)
    po.overrides[c.inputs[i]] = static_cast<double>(i + 1);
  po.only_letters = "e";
  netlist::Diagnostics unit_diag;
  auto unit = deck->Flatten(po, unit_diag);

  Recogniser rec(&c, unit ? &*unit : nullptr);
  rec.FindNeurons();
  // Trainable synapse states (MNA fallback): MSS devices outside the neurons matching the glob.
  for (int k = 0; k < static_cast<int>(c.netlist.elements.size()); ++k) {
    const Element& e = c.netlist.elements[k];
    if (e.letter != 'y' || e.type != "mss" || rec.neuron_mss().count(k)) continue;
    if (!GlobMatch(c.directives.trainable, e.name)) continue;
    netlist::Diagnostics d;
    mss::MssParams p;
    double x0 = 0;
    if (!devices::ResolveMssParams(e, c.netlist, d, &p, &x0)) continue;
    c.trainable.push_back(e.name);
    c.trainable_models.push_back(p);
    c.trainable_g.push_back(mss::Conductance(p, x0));
  }
  try {
    if (!unit) Fail("the deck does not parse with the pixel parameters set");
    rec.Run();
    size_t synapses = 0;
    for (size_t l = 0; l < c.syn_plus.size(); ++l)
      synapses += c.syn_plus[l].size() + c.syn_minus[l].size();
    if (c.trainable.size() != synapses)
      Fail(
          fmt::format("*@msnn trainable={} selects {} synapses, the network has {} weight "
                      "synapses; the fast kernels train all of them{}",
                      c.directives.trainable, c.trainable.size(), synapses,
                      c.config.mapping == SignedMapping::kReferenceColumn
                          ? " and not the fixed reference column (exclude its cells)"
                          : ""));
    c.fast = true;
  } catch (const NotRecognised& e) {
    c.fast = false;
    c.reason = e.why;
  } catch (const TrainingError& e) {
    c.fast = false;
    c.reason = e.what();
  }
  if (c.outputs.empty()) c.outputs = c.directives.outputs;
  if (!c.fast && c.outputs.empty()) {
    diag.Error({path, 1, 1}, "*@msnn outputs=... is needed: the network was not recognised",
               "list the output membrane nodes in class order, e.g. outputs=h2_0,h2_1,h2_2");
    return false;
  }
  return true;
}

Status MsnnSpecFromNetwork(const NetworkConfig& c, const Parameters& p, const std::string& dataset,
                           circuits::MsnnSpec* spec) {
  circuits::MsnnSpec s;
  NeuronParams def;
  def.c_mem = c.neuron_of(0).c_mem;
  for (int l = 0; l < c.num_layers(); ++l) {
    const NeuronParams& n = c.neuron_of(l);
    auto same = [](const mss::MssParams& a, const mss::MssParams& b) {
      return a.ron == b.ron && a.roff == b.roff && a.von == b.von && a.voff == b.voff &&
             a.tau == b.tau && a.vt == b.vt && a.k == b.k && a.phi == b.phi;
    };
    if (n.c_mem != def.c_mem || n.v1 != def.v1 || n.v2 != def.v2 || !same(n.m1, def.m1) ||
        !same(n.m2, def.m2))
      return Status::Error(fmt::format(
          "MIF layer {} does not use the mif.lib neuron; the generator writes only that "
          "one",
          l + 1));
  }
  s.synapse = circuits::SynapseModel();
  if (std::abs(c.g_min * s.synapse.roff - 1) > 1e-12 ||
      std::abs(c.g_max * s.synapse.ron - 1) > 1e-12)
    return Status::Error(fmt::format(
        "conductance range [{}, {}] S differs from mss_synapse's [1/R_off, 1/R_on] = [{}, {}] S",
        c.g_min, c.g_max, 1 / s.synapse.roff, 1 / s.synapse.ron));
  s.layers = c.layer_sizes;
  s.circuit = c.form == CrossbarForm::kCircuit;
  s.layer_scale = c.layer_scale;
  s.input_scale = c.input_scale;
  s.tau_a = c.tau_a;
  s.period = c.period;
  s.dt = c.dt;
  s.steps = c.steps;
  s.v_scale = c.v_scale;
  s.dataset = dataset;
  s.method = c.method == Method::kForwardEuler    ? "fe"
             : c.method == Method::kBackwardEuler ? "be"
                                                  : "semi-implicit";
  s.cmem = c.neuron_of(0).c_mem;
  const RestState r = ComputeRestState(c.neuron_of(0));
  s.v_rest = r.v;
  s.x1_rest = r.x1;
  s.x2_rest = r.x2;
  s.reference_column = c.mapping == SignedMapping::kReferenceColumn;
  if (std::string e = CheckReference(c, p); !e.empty()) return Status::Error(e);
  s.weights.clear();
  for (int l = 0; l < c.num_layers(); ++l) {
    circuits::MsnnCrossbar cb;
    const int in = c.layer_sizes[l], out = c.layer_sizes[l + 1];
    for (int i = 0; i < in; ++i) {
      for (int j = 0; j < out; ++j) {
        cb.g_plus.push_back(p.g_plus[l](i, j));
        if (!s.reference_column) cb.g_minus.push_back(p.g_minus[l](i, j));
      }
      if (s.reference_column) cb.g_ref.push_back(p.g_minus[l](i, 0));
    }
    s.weights.push_back(std::move(cb));
  }
  *spec = std::move(s);
  return Status::Ok();
}

Status RewriteTrainedDeck(const CompiledNetwork& c, const std::map<std::string, double>& g,
                          const std::vector<double>& pixels, int label, std::string* text) {
  std::ifstream in(c.path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return Status::Error(fmt::format("cannot read '{}'", c.path));
  if (!pixels.empty() && pixels.size() != c.inputs.size())
    return Status::Error(fmt::format("sample has {} features, the deck binds {} pixels",
                                     pixels.size(), c.inputs.size()));
  std::map<std::string, const mss::MssParams*> model;
  for (size_t k = 0; k < c.trainable.size(); ++k) model[c.trainable[k]] = &c.trainable_models[k];
  netlist::DeckEditor deck(ss.str());
  const std::string main = c.netlist.files.empty() ? c.path : c.netlist.files[0];
  std::set<std::string> done;
  for (const netlist::Element& e : c.netlist.elements) {
    if (!g.count(e.name) || e.loc.file != main || e.name.find('.') != std::string::npos) continue;
    double x0 = 0;
    if (Status s = circuits::SynapseStateForConductance(*model.at(e.name), g.at(e.name),
                                                        "synapse " + e.name, &x0);
        !s.ok())
      return s;
    deck.SetKey(e.loc.line, "x0", base::FormatNumber(x0));
    done.insert(e.name);
  }
  for (const auto& [name, value] : g)
    if (!done.count(name))
      return Status::Error(
          fmt::format("synapse '{}' is not a top-level Y card of {}; export rewrites only those",
                      name, c.path));
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (!deck.SetDirectiveKey(".param", c.inputs[i], base::FormatNumber(pixels[i])))
      return Status::Error(
          fmt::format("{}: pixel parameter '{}' is not set by a .param card", c.path, c.inputs[i]));
  }
  *text = deck.text();
  if (label >= 0) {
    // A comment after the title line records the bound sample's label.
    const size_t eol = text->find('\n');
    text->insert(eol == std::string::npos ? text->size() : eol + 1,
                 fmt::format("* bound sample: label {}\n", label));
  }
  return Status::Ok();
}

}  // namespace memspice::training
