// `memspice gen crossbar|mif-layer|mif-network|msnn ...`: write generated decks.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "apps/cli_checks.h"
#include "apps/cli_common.h"
#include "apps/network_flags.h"
#include "circuits/crossbar.h"
#include "circuits/mif_layer.h"
#include "circuits/msnn.h"
#include "circuits/network_defaults.h"
#include "netlist/expression.h"
#include "training/compiler.h"
#include "training/network.h"
#include "training/programming.h"
#include "training/trainer.h"

namespace memspice::apps {
namespace {

struct CrossbarArgs {
  circuits::CrossbarSpec spec;
  std::string cell = "resistor", weights, out, subckt, sense = "zero", mapping = "unsigned";
  std::string device;           // file with the cells' `.model NAME mss (...)` card
  std::set<std::string> given;  // options given on the command line
};

// --device FILE: MSS cells (unless --cell says otherwise) of the card's model, included from the
// file, with the card's range for the x0 mapping; --cell, --model, --include, --ron and --roff
// given override it. False (after the error) if the card cannot be read or the cells are
// resistors.
bool ApplyDeviceCard(CrossbarArgs* a) {
  if (a->device.empty()) return true;
  std::string name;
  training::ProgrammingOptions d;
  try {
    d = training::ReadDeviceCard(a->device, &name);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return false;
  }
  if (!a->given.count("--cell")) a->cell = "mss";
  if (a->cell == "resistor") {
    std::cerr << "error: --device describes memristor cells; use --cell mss or 1t1r with it\n";
    return false;
  }
  circuits::CrossbarSpec& spec = a->spec;
  if (!a->given.count("--model")) spec.model = name;
  if (!a->given.count("--include")) spec.include = std::filesystem::absolute(a->device).string();
  if (!a->given.count("--ron")) spec.ron = d.synapse.ron;
  if (!a->given.count("--roff")) spec.roff = d.synapse.roff;
  return true;
}

int RunCrossbar(CrossbarArgs a) {
  if (!CheckOutputPaths({a.weights}, {{"--output", a.out}})) return kExitInputError;
  if (!ApplyDeviceCard(&a)) return kExitInputError;
  circuits::CrossbarSpec& spec = a.spec;
  spec.differential = spec.differential || a.mapping == "differential";
  spec.cell = a.cell == "mss"    ? circuits::CellKind::kMss
              : a.cell == "1t1r" ? circuits::CellKind::k1t1r
                                 : circuits::CellKind::kResistor;
  spec.sense =
      a.sense == "resistor" ? circuits::SenseKind::kResistor : circuits::SenseKind::kZeroVolt;
  if (!a.weights.empty()) {
    if (Status s = circuits::ReadWeightsCsv(a.weights, spec.rows, spec.cols, &spec.weights);
        !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
  }
  std::string text;
  Status s = a.subckt.empty() ? circuits::GenerateCrossbarDeck(spec, &text)
                              : circuits::GenerateCrossbarSubckt(spec, a.subckt, &text);
  if (!s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (!WriteOutputFile(a.out, text)) return kExitSimulationError;
  circuits::CrossbarCounts counts = circuits::CountCrossbar(spec);
  std::cout << fmt::format("crossbar {}x{}{}: {} cells, {} unknowns -> {}\n", spec.rows, spec.cols,
                           spec.differential ? " (differential)" : "", counts.cells,
                           counts.unknowns, a.out);
  return kExitOk;
}

struct MifLayerArgs {
  circuits::MifLayerSpec spec;
  std::string out, subckt;
  bool no_input = false;
};

int RunMifLayer(MifLayerArgs a) {
  if (!CheckOutputPaths({}, {{"--output", a.out}})) return kExitInputError;
  a.spec.input.enabled = !a.no_input;
  std::string text;
  Status s = a.subckt.empty() ? circuits::GenerateMifLayerDeck(a.spec, &text)
                              : circuits::GenerateMifLayerSubckt(a.spec, a.subckt, &text);
  if (!s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (!WriteOutputFile(a.out, text)) return kExitSimulationError;
  std::cout << fmt::format("MIF layer: {} neurons{} -> {}\n", a.spec.neurons,
                           a.subckt.empty() && a.spec.input.enabled ? " with alpha inputs" : "",
                           a.out);
  return kExitOk;
}

struct MifNetworkArgs {
  circuits::MifNetworkSpec spec;
  std::string out, weights;
  bool no_input = false;
};

int RunMifNetwork(MifNetworkArgs a) {
  if (!CheckOutputPaths({a.weights}, {{"--output", a.out}})) return kExitInputError;
  a.spec.input.enabled = !a.no_input;
  circuits::CrossbarSpec& cb = a.spec.crossbar;
  if (!a.weights.empty()) {
    if (Status s = circuits::ReadWeightsCsv(a.weights, cb.rows, cb.cols, &cb.weights); !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
  }
  std::string text;
  if (Status s = circuits::GenerateMifNetworkDeck(a.spec, &text); !s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (!WriteOutputFile(a.out, text)) return kExitSimulationError;
  std::cout << fmt::format("MIF network {} -> {}x{} MSS crossbar -> {} -> {}\n", cb.rows, cb.rows,
                           cb.cols, cb.cols, a.out);
  return kExitOk;
}

// Options shared by the MIF generators: alpha inputs and the analysis.
void AddInputAndAnalysis(CLI::App* cmd, circuits::AlphaTrain* in, circuits::DeckAnalysis* an,
                         bool* no_input) {
  cmd->add_option("--input-weight", in->weight, "Alpha event weight w, A (peak current w/e)")
      ->transform(SpiceNumber("--input-weight"));
  cmd->add_option("--input-tau", in->tau, "Alpha time constant, s")
      ->transform(SpiceNumber("--input-tau"));
  cmd->add_option("--input-period", in->period,
                  "Alpha train period, s (neuron i delayed by i*period/N)")
      ->transform(SpiceNumber("--input-period"));
  cmd->add_flag("--no-input", *no_input, "No alpha sources");
  cmd->add_option("--tstop", an->tstop, "Transient stop time, s")
      ->transform(SpiceNumber("--tstop"));
  cmd->add_option("--tstep", an->tstep, "Transient output step, s")
      ->transform(SpiceNumber("--tstep"));
  cmd->add_option("--max-step", an->max_step, "Transient max step, s (0: none)")
      ->transform(SpiceNumber("--max-step"));
  cmd->add_option("--options", an->options, "Text of an .options line");
  cmd->add_option("--title", an->title, "Title line");
}

// Network flags bind to `net` (initialised from the training defaults); only the given ones
// override the preset.
struct MsnnArgs {
  training::NetworkConfig net;
  std::string preset = "default", crossbar, method, mapping, out;
  std::string dataset = circuits::DefaultNetwork().dataset;
  double rline = 0, cline = 0, rdriver = 0, rsense = 0, init_fraction = 1.0;
  uint64_t seed = 1;
  std::set<std::string> given;
};

// Bytes of the generated deck: two synapse cards of about this many characters per weight.
constexpr double kDeckBytesPerWeight = 2 * 64;

// The preset's network with the given flags applied.
training::NetworkConfig MsnnNetwork(const MsnnArgs& a) {
  training::NetworkConfig c = training::TrainPreset(a.preset).network;
  ApplyNetworkFlags(a.given, a.net, a.method, a.crossbar, a.mapping, &c);
  return c;
}

int RunMsnn(const MsnnArgs& a) {
  if (!CheckOutputPaths({}, {{"--output", a.out}})) return kExitInputError;
  circuits::MsnnSpec spec;
  training::NetworkConfig c;
  try {
    c = MsnnNetwork(a);
  } catch (const std::exception& e) {  // method or crossbar name
    std::cerr << "error: " << e.what() << "\n";
    return kExitInputError;
  }
  if (c.layer_sizes.size() < 2) {
    std::cerr << fmt::format(
        "error: --layers needs at least two sizes: the input features, then one per MIF layer "
        "(e.g. 784,100,10), got {}\n",
        c.layer_sizes.size());
    return kExitInputError;
  }
  if (std::string e = c.Validate(); !e.empty()) {
    std::cerr << "error: " << e << "\n";
    return kExitInputError;
  }
  double weights = 0;
  for (int l = 0; l < c.num_layers(); ++l)
    weights += static_cast<double>(c.layer_sizes[l]) * c.layer_sizes[l + 1];
  // Conductances (G+/G- as doubles, twice: the draw and the spec) plus the deck text.
  if (std::string e = training::MemoryBudgetError(
          weights * (4 * sizeof(double) + 2 * kDeckBytesPerWeight),
          fmt::format("a deck of {:.3g} weights ({} of text)", weights,
                      training::FormatBytes(weights * kDeckBytesPerWeight)));
      !e.empty()) {
    std::cerr << "error: " << e << "\n";
    return kExitInputError;
  }
  try {
    const training::Parameters p = training::InitParameters(c, a.seed, a.init_fraction);
    if (Status s = training::MsnnSpecFromNetwork(c, p, a.dataset, &spec); !s.ok()) {
      PrintStatus(s);
      return kExitInputError;
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInputError;
  }
  spec.rline = a.rline;
  spec.cline = a.cline;
  spec.rdriver = a.rdriver;
  spec.rsense = a.rsense;
  std::string text;
  if (Status s = circuits::GenerateMsnnDeck(spec, &text); !s.ok()) {
    PrintStatus(s);
    return kExitInputError;
  }
  if (!WriteOutputFile(a.out, text)) return kExitSimulationError;
  std::string sizes;
  for (size_t i = 0; i < c.layer_sizes.size(); ++i)
    sizes += (i ? "-" : "") + std::to_string(c.layer_sizes[i]);
  std::cout << fmt::format(
      "MEMprop network {} ({} crossbars, {} mapping, {} synapses{}, {}, T = {}) -> {}\n", sizes,
      training::CrossbarFormName(c.form), training::SignedMappingName(c.mapping),
      circuits::SynapseCount(spec), a.rline > 0 || a.cline > 0 ? ", line parasitics" : "",
      training::MethodName(c.method), c.steps, a.out);
  return kExitOk;
}

}  // namespace

namespace {

// `gen crossbar`.
void RegisterGenCrossbar(CLI::App* gen, int* exit_code) {
  auto args = std::make_shared<CrossbarArgs>();
  CLI::App* cb = gen->add_subcommand("crossbar", "N x M crossbar with word/bit-line R and C");
  cb->add_option("--rows", args->spec.rows, "Word lines")->required()->check(IntRange(1, 100000));
  cb->add_option("--cols", args->spec.cols, "Bit lines (weight columns)")
      ->required()
      ->check(IntRange(1, 100000));
  cb->add_option("--rline", args->spec.rline, "Line resistance per segment, ohm (0: ideal lines)")
      ->transform(SpiceNumber("--rline"));
  cb->add_option("--cline", args->spec.cline, "Line capacitance per node to ground, F")
      ->transform(SpiceNumber("--cline"));
  cb->add_option("--cell", args->cell, "Cell device (1t1r: MSS memristor and NMOS selector)")
      ->check(CLI::IsMember({"resistor", "mss", "1t1r"}));
  cb->add_option("--vgate", args->spec.gate_voltage, "1T1R gate-line voltage, V")
      ->transform(SpiceNumber("--vgate"));
  cb->add_option("--weights", args->weights,
                 "CSV of conductances in S (rows x cols); signed weights with --mapping "
                 "differential");
  cb->add_option("--mapping", args->mapping,
                 "unsigned (one cell per weight, conductances) or differential (two cells per "
                 "signed weight on a pair of bit lines)")
      ->check(CLI::IsMember({"unsigned", "differential"}));
  cb->add_flag("--differential", args->spec.differential, "Same as --mapping differential");
  cb->add_option("--model", args->spec.model, "MSS model name (from --include, default mss.lib)");
  cb->add_option("--include", args->spec.include, "Library with the MSS model");
  cb->add_option("--ron", args->spec.ron, "Cell ON resistance, ohm")
      ->transform(SpiceNumber("--ron"));
  cb->add_option("--roff", args->spec.roff, "Cell OFF resistance, ohm")
      ->transform(SpiceNumber("--roff"));
  cb->add_option("--amplitude", args->spec.amplitude, "Word-line SIN amplitude, V")
      ->transform(SpiceNumber("--amplitude"));
  cb->add_option("--frequency", args->spec.frequency, "Word-line SIN frequency, Hz")
      ->transform(SpiceNumber("--frequency"));
  cb->add_option("--sense", args->sense, "Bit-line termination")
      ->check(CLI::IsMember({"zero", "resistor"}));
  cb->add_option("--tstop", args->spec.tstop, "Transient stop time, s")
      ->transform(SpiceNumber("--tstop"));
  cb->add_option("--steps", args->spec.steps, "Transient steps (max step = tstop/steps)")
      ->check(Positive());
  cb->add_option("--seed", args->spec.seed, "Seed of random conductances");
  cb->add_option("--subckt", args->subckt, "Write only the array as a .subckt of this name");
  cb->add_option("-o,--output", args->out, "Output deck")->required();
  cb->add_option("--device", args->device,
                 "File with the cells' `.model NAME mss (...)` card (the device description of "
                 "sim and train, docs/device_updates.md): MSS cells of that model and range")
      ->check(CLI::ExistingFile);
  cb->callback([args, cb, exit_code]() {
    args->given = GivenOptions(*cb);
    *exit_code = RunCrossbar(*args);
  });
}

// `gen mif-layer`.
void RegisterGenMifLayer(CLI::App* gen, int* exit_code) {
  auto layer = std::make_shared<MifLayerArgs>();
  CLI::App* ml =
      gen->add_subcommand("mif-layer", "Layer of N MIF neurons (XN<i> v<i> MIF) with alpha inputs");
  ml->add_option("-n,--neurons", layer->spec.neurons, "Number of neurons")
      ->required()
      ->check(IntRange(1, 1 << 20));
  ml->add_option("--cmem", layer->spec.cmem, "Membrane capacitance, F")
      ->transform(SpiceNumber("--cmem"));
  ml->add_option("--node-prefix", layer->spec.node_prefix,
                 "Membrane node prefix (node <prefix><i>)");
  ml->add_option("--include", layer->spec.include, "Library defining the MIF subcircuit");
  AddInputAndAnalysis(ml, &layer->spec.input, &layer->spec.analysis, &layer->no_input);
  ml->add_option("--subckt", layer->subckt, "Write only the layer as a .subckt of this name");
  ml->add_option("-o,--output", layer->out, "Output deck")->required();
  ml->callback([layer, exit_code]() { *exit_code = RunMifLayer(*layer); });
}

// `gen mif-network`.
void RegisterGenMifNetwork(CLI::App* gen, int* exit_code) {
  auto net = std::make_shared<MifNetworkArgs>();
  CLI::App* mn = gen->add_subcommand(
      "mif-network", "Input MIF layer -> MSS crossbar (line R/C) -> output MIF layer");
  mn->add_option("--inputs", net->spec.crossbar.rows, "Input neurons (word lines)")
      ->check(IntRange(1, 100000));
  mn->add_option("--outputs", net->spec.crossbar.cols, "Output neurons (bit lines)")
      ->check(IntRange(1, 100000));
  mn->add_option("--rline", net->spec.crossbar.rline,
                 "Line resistance per segment, ohm (0: ideal lines)")
      ->transform(SpiceNumber("--rline"));
  mn->add_option("--cline", net->spec.crossbar.cline, "Line capacitance per node to ground, F")
      ->transform(SpiceNumber("--cline"));
  mn->add_option("--weights", net->weights, "CSV of synapse conductances in S (inputs x outputs)");
  mn->add_option("--seed", net->spec.crossbar.seed, "Seed of random conductances");
  mn->add_option("--cmem-in", net->spec.cmem_in, "Input membrane capacitance, F")
      ->transform(SpiceNumber("--cmem-in"));
  mn->add_option("--cmem-out", net->spec.cmem_out, "Output membrane capacitance, F")
      ->transform(SpiceNumber("--cmem-out"));
  AddInputAndAnalysis(mn, &net->spec.input, &net->spec.analysis, &net->no_input);
  mn->add_option("-o,--output", net->out, "Output deck")->required();
  mn->callback([net, exit_code]() { *exit_code = RunMifNetwork(*net); });
}

// `gen msnn`: only the network flags given on the command line override the preset.
void RegisterGenMsnn(CLI::App* gen, int* exit_code) {
  auto sn = std::make_shared<MsnnArgs>();
  CLI::App* ms = gen->add_subcommand(
      "msnn",
      "MEMprop spiking network as a netlist: alpha inputs, MSS crossbars (differential pairs or "
      "a reference column), MIF layers, training directives");
  ms->add_option("--preset", sn->preset,
                 "Network settings to start from: default (the best measured recipe) or paper")
      ->check(CLI::IsMember({"default", "paper"}));
  ms->add_option("--layers", sn->net.layer_sizes, "Layer sizes, e.g. 784,100,10")->delimiter(',');
  ms->add_option("--crossbar", sn->crossbar, "ideal (paper Eq. 1-2) or circuit (bit-line loading)")
      ->check(CLI::IsMember({"ideal", "circuit"}));
  ms->add_option("--mapping", sn->mapping, kMappingHelp)
      ->check(CLI::IsMember({"differential", "reference-column"}));
  ms->add_option("--rline", sn->rline, "Line resistance per cell segment, ohm")
      ->transform(SpiceNumber("--rline"));
  ms->add_option("--cline", sn->cline, "Line capacitance per cell node, F")
      ->transform(SpiceNumber("--cline"));
  ms->add_option("--rdriver", sn->rdriver,
                 "Series resistance of every word-line driver, ohm (needs --rline)")
      ->transform(SpiceNumber("--rdriver"));
  ms->add_option("--rsense", sn->rsense,
                 "Series resistance at every bit-line terminal, ohm (needs --rline)")
      ->transform(SpiceNumber("--rsense"));
  ms->add_option("--layer-scale", sn->net.layer_scale, "Crossbar scale factor per layer")
      ->delimiter(',');
  ms->add_option("--input-scale", sn->net.input_scale, "Alpha event weight per unit pixel [A]")
      ->transform(SpiceNumber("--input-scale"));
  ms->add_option("--v-scale", sn->net.v_scale, "Softmax temperature [V]")
      ->transform(SpiceNumber("--v-scale"));
  ms->add_option("--dt", sn->net.dt, "Time step [s]")->transform(SpiceNumber("--dt"));
  ms->add_option("--tau-a", sn->net.tau_a, "Alpha time constant [s]")
      ->transform(SpiceNumber("--tau-a"));
  ms->add_option("--steps", sn->net.steps, "Time steps T per sample")->check(Positive());
  ms->add_option("--period", sn->net.period, "Alpha input period in steps")->check(Positive());
  ms->add_option("--method", sn->method,
                 "semi-implicit (default), fe or be (exactly the MNA engine's forward / backward "
                 "Euler); trap is not available in the fast kernels");
  ms->add_option("--dataset", sn->dataset, "Dataset written into the training directives");
  ms->add_option("--seed", sn->seed, "Seed of the initial conductances");
  ms->add_option("--init-fraction", sn->init_fraction,
                 "Initial G uniform in [g_min, g_min + f (g_max - g_min)] (reference column: "
                 "g_mid +- f (g_max - g_min) / 2 around the reference g_mid)");
  ms->add_option("-o,--output", sn->out, "Output deck")->required();
  ms->callback([sn, ms, exit_code]() {
    sn->given = GivenOptions(*ms);
    *exit_code = RunMsnn(*sn);
  });
}

}  // namespace

void RegisterGen(CLI::App& app, int* exit_code) {
  CLI::App* gen =
      app.add_subcommand("gen", "Generate decks (crossbar arrays, MIF layers and networks)");
  gen->require_subcommand(1);
  RegisterGenCrossbar(gen, exit_code);
  RegisterGenMifLayer(gen, exit_code);
  RegisterGenMifNetwork(gen, exit_code);
  RegisterGenMsnn(gen, exit_code);
}

}  // namespace memspice::apps
