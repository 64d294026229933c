// MEMprop network: layers of MIF neurons (spec models.md section 2) joined by memristive crossbars
// of differential conductance pairs (section 4), driven by alpha-shaped input currents (section 3),
// with the summed-over-time NLL loss and a hand-derived BPTT reverse pass through the exact
// discrete recurrences.
//
// Discrete model actually run (n = 0..T-1, h = dt / C_mem, every layer starts at its rest state):
//
//   alpha unit waveform   a += 1 if n % period == 0;  alpha[n] = I;
//                         a <- a - dt/tau_a a;  I <- I + dt/tau_a (a - I)          (forward Euler,
//                         unit weight)
//   crossbar drive        layer 1:  I_j[n] = s_1 input_scale alpha[n] sum_i W_ij x_i   (computed as
//   alpha[n] * D_j)
//                         layer l:  I_j[n] = s_l sum_i W_ij (v_i[n] - v_rest)          (previous
//                         layer's state n) circuit form adds the loading term  - (v_j[n] - v_rest)
//                         L_j,  L_j = s'_l sum_i (G+_ij + G-_ij) (inverted input lines drive G-,
//                         the bit lines are referenced to v_rest; s'_1 = 1 because layer 1 is
//                         driven by ideal voltage sources V_i = s_1 input_scale alpha x_i, s'_l =
//                         s_l for deeper crossbars). The loading is strong (h L >> 2): use the
//                         semi-implicit method.
//   MIF neuron            i = i_M1(x1, v - V1) + i_M2(x2, v - V2),  g = di/du summed
//   (devices/mss_model.h)
//                         v[n+1]  = v + h (I - L (v - v_rest) - i) / D,   D = 1 (forward Euler)
//                                                                    or D = 1 + h (g + L)
//                                                                    (semi-implicit)
//                         x_k[n+1] = x_k + dt dx_k/dt(x_k, v - V_k)         (explicit in x for both
//                         methods)
//   loss                  L = sum_{n=1..T} [ logsumexp(v_out[n] / v_scale) - v_out[n]_y / v_scale ]
//   prediction            argmax_k sum_{n=1..T} v_out[n]_k
//
// The semi-implicit update is backward Euler in v linearised at v[n] (exactly the spec's formula
// for phi = 1): unconditionally stable in v, still explicit and cheap. Backward Euler (method be)
// solves the fully implicit step per neuron, v[n+1] = v + h (I[n+1] - L (v[n+1] - v_rest) -
// i(v[n+1], x[n+1])), x_k[n+1] = x_k + dt dx_k/dt(x_k[n+1], v[n+1] - V_k), by Newton on the 3x3
// system, with the drive at step n+1 (alpha[n+1], or the previous layer's v[n+1]): exactly the MNA
// engine's backward Euler on the generated deck. Its reverse pass uses the implicit function
// theorem (transposed 3x3 Jacobian at step n+1); see docs/training.md. W = G+ - G- with G+/- in
// [g_min, g_max] = [1/R_off, 1/R_on] of the synapse memristor. Layer 1's current factorises exactly
// into (W^T x) times one shared alpha waveform, in the forward and the reverse pass.
#ifndef MEMSPICE_TRAINING_NETWORK_H_
#define MEMSPICE_TRAINING_NETWORK_H_

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "circuits/network_defaults.h"
#include "devices/mss_model.h"
#include "parallel/collective.h"
#include "training/line_network.h"

namespace memspice::training {

enum class Method { kForwardEuler, kSemiImplicit, kBackwardEuler };
// Instruction set of the float layer kernels: generic = Eigen packs at the project's flags (also
// used for double precision and for memristors with phi != 1), avx2 = 8 and avx512 = 16 neurons per
// pack (separate translation units, chosen at run time; see layer_kernels.h).
enum class KernelIsa { kGeneric, kAvx2, kAvx512 };
enum class CrossbarForm { kIdeal, kCircuit };
// How a signed weight is made of positive conductances (docs/training.md "Signed-weight mappings"):
// differential = a pair per weight, W_ij = G+_ij - G-_ij (2N cells per column of N inputs);
// reference-column = one trainable cell per weight and one shared, fixed reference column per
// crossbar, W_ij = G_ij - G_ref,i (N + 1 cells per column, the EaPU paper's mapping). Parameters
// hold the reference in g_minus, every column a copy of G_ref (one value per input row).
enum class SignedMapping { kDifferential, kReferenceColumn };

// "forward-euler"/"fe", "semi-implicit"/"si", "backward-euler"/"be"; throws TrainingError
// otherwise.
Method ParseMethod(const std::string& name);
std::string MethodName(Method m);
CrossbarForm ParseCrossbarForm(const std::string& name);
// "differential" or "reference-column"; throws TrainingError otherwise.
SignedMapping ParseSignedMapping(const std::string& name);
std::string SignedMappingName(SignedMapping m);
// "auto" (the best one this CPU supports), "avx512", "avx2" or "generic"; throws TrainingError for
// other names or an instruction set this build or CPU does not support.
KernelIsa ParseKernelIsa(const std::string& name);
std::string KernelIsaName(KernelIsa isa);
bool KernelIsaSupported(KernelIsa isa);  // by this build and this CPU
std::string CrossbarFormName(CrossbarForm f);

// One MIF neuron type (spec section 2). Defaults: MEMprop configuration with C_mem = 1 nF (Table
// III lists 100 pF, with which forward Euler at dt = 10 us diverges at rest; see docs/training.md).
struct NeuronParams {
  double c_mem = circuits::DefaultNetwork().c_mem;  // [F]
  double v1 = 0.0;                                  // source of M1 [V]
  double v2 = 0.050;                                // source of M2 [V]
  devices::mss::MssParams m1, m2;                   // Table III defaults (k = 0.6, volatile)
};

// Defaults: circuits/network_defaults.h, shared with the deck generator.
struct NetworkConfig {
  std::vector<int> layer_sizes = circuits::DefaultNetwork().layers;  // inputs, then MIF layers
  NeuronParams neuron;                      // used by every MIF layer unless layer_neurons is given
  std::vector<NeuronParams> layer_neurons;  // optional: one per MIF layer
  double g_min = 1e-5;                      // 1 / R_off of the synapse memristor [S]
  double g_max = 1e-3;                      // 1 / R_on [S]
  // s_l per crossbar: layer 1 in V/A (drive = s_1 input_scale alpha W^T x), deeper crossbars
  // dimensionless.
  std::vector<double> layer_scale = circuits::DefaultNetwork().layer_scale;
  double input_scale = circuits::DefaultNetwork().input_scale;  // per unit pixel intensity [A]
  double dt = circuits::DefaultNetwork().dt;                    // [s]
  int steps = circuits::DefaultNetwork().steps;                 // T
  int period = circuits::DefaultNetwork().period;               // alpha event every `period` steps
  double tau_a = circuits::DefaultNetwork().tau_a;              // [s]
  // Optional unit alpha waveform alpha[n], n = 0..steps (steps + 1 entries; steps entries are
  // accepted for the explicit methods, which never use alpha[steps]), replacing the forward-Euler
  // recurrence (set by training/compiler.h from a netlist's own alpha source, so that the fast path
  // and the MNA engine see the same input).
  std::vector<double> alpha_waveform;
  double v_scale = circuits::DefaultNetwork().v_scale;  // softmax temperature [V]
  Method method = ParseMethod(circuits::DefaultNetwork().method);
  CrossbarForm form = CrossbarForm::kIdeal;
  SignedMapping mapping = SignedMapping::kDifferential;
  std::string isa = "auto";  // float kernel instruction set (ParseKernelIsa); results differ
                             // between instruction sets by float rounding only
  // Optional line parasitics, one entry per crossbar (null: ideal lines; empty vector: none).
  // Each Run factors the line network of every such crossbar once and uses its port admittance
  // (training/line_network.h): the effective weights replace W; in the circuit form the bit-bit
  // block replaces the loading L_j (diagonal) and couples the bit lines of one layer
  // (off-diagonal), solved by waveform relaxation around the layer kernels (docs/training.md).
  std::vector<std::shared_ptr<const LineTopology>> lines;

  int num_layers() const { return static_cast<int>(layer_sizes.size()) - 1; }
  const NeuronParams& neuron_of(int layer) const {
    return layer_neurons.empty() ? neuron : layer_neurons[layer];
  }
  // Empty if usable, else "option 'name' = value must be rule".
  std::string Validate() const;
};

// Rest state of one MIF neuron with zero input (dv/dt = dx/dt = 0), found by bisection on v with
// each x at its equilibrium for that v. Throws TrainingError if the neuron has no rest point in
// [-1, 1] V.
struct RestState {
  double v, x1, x2;
};
RestState ComputeRestState(const NeuronParams& n);

// Crossbar conductances in siemens: g_plus[l], g_minus[l] are layer_sizes[l] x layer_sizes[l+1].
struct Parameters {
  std::vector<Eigen::MatrixXd> g_plus, g_minus;
  Eigen::MatrixXd Weight(int l) const { return g_plus[l] - g_minus[l]; }
};

// Differential: both conductances of each pair drawn uniformly in [g_min, g_min + init_fraction
// (g_max - g_min)] from mt19937_64(seed), so W is symmetric around zero. Reference column: G_ref,i
// at mid-range g_mid = (g_min + g_max) / 2 (the largest symmetric weight range, |W| <= (g_max -
// g_min) / 2), G_ij uniform in g_mid +- init_fraction (g_max - g_min) / 2.
Parameters InitParameters(const NetworkConfig& c, uint64_t seed, double init_fraction = 1.0);

// Reference-column mapping: every column of g_minus[l] set to its first (the one reference cell
// of each row). Does nothing for the differential mapping.
void BroadcastReference(const NetworkConfig& c, Parameters* p);
// Empty if p suits c's mapping, else which reference row is not one value across the columns.
std::string CheckReference(const NetworkConfig& c, const Parameters& p);

// Per-sample results of a forward pass.
struct SampleOutput {
  double loss = 0;
  int predicted = -1;
  std::vector<double> v_sum;    // per class, sum over n = 1..T of v_out[n] [V s / dt]
  double spiking_fraction = 0;  // hidden neurons whose peak exceeds v_rest + kSpikeThreshold
};
inline constexpr double kSpikeThreshold = 0.050;  // [V] above rest

// Forward (and optionally reverse) pass over a set of samples, multithreaded over the samples and,
// with a collective `world` of several processes (MPI ranks), shared among them chunk by chunk.
// Scalar is float (training, ~1e-6 relative accuracy per step) or double (gradient checks).
// Gradients are of the loss summed over the samples, w.r.t. G+ and G- (siemens; the reference
// column's is zero: it is not trained), accumulated in a fixed order so that results do not depend
// on the thread count.
struct PassResult {
  std::vector<SampleOutput> samples;
  Parameters grad;  // empty unless requested
  double loss_sum = 0;
  // Circuit form with line resistance: most kernel passes the waveform relaxation of one coupled
  // layer needed (0: no coupled layer).
  int relaxations = 0;
};

class Network {
 public:
  // Throws TrainingError if config.Validate() fails.
  explicit Network(NetworkConfig config);

  const NetworkConfig& config() const { return config_; }
  const std::vector<RestState>& rest() const { return rest_; }
  KernelIsa isa() const { return isa_; }  // resolved from config().isa

  // Bytes of per-step state (the BPTT tape: v, x1, x2, layer drives and adjoint sources) that one
  // chunk of `chunk` samples keeps while it is processed with gradients; a pass holds one such
  // workspace per worker thread.
  size_t TapeBytesPerChunk(int chunk) const;

  // images: row-major [count x layer_sizes[0]] in [0, 1]; labels: [count].
  // Throws TrainingError on divergence (non-finite or exploding state), naming layer, neuron,
  // sample (index into the given set), step and time, with a remedy.
  template <typename Scalar>
  PassResult Run(const Parameters& p, const float* images, const int* labels, int count,
                 bool want_grad, int threads, int chunk = 16,
                 const parallel::Collective* world = nullptr) const;

  // Single-sample state trajectory of one layer (testing/inspection): returns v[n] for n = 0..T of
  // neuron `neuron` of MIF layer `layer`.
  std::vector<double> Trace(const Parameters& p, const float* image, int layer, int neuron) const;

 private:
  NetworkConfig config_;
  std::vector<RestState> rest_;
  KernelIsa isa_ = KernelIsa::kGeneric;
  // Kernel workspaces (the BPTT tape) kept across Run calls: reallocating tens of MB per batch cost
  // ~15 % of the training time in page faults. Shared by copies of the Network, mutex-protected.
  struct WorkspacePool;
  std::shared_ptr<WorkspacePool> pool_;
  std::vector<double> alpha_;  // unit alpha waveform alpha[n], n = 0..T [A per A of event weight]
  // One pool of analysed line-network factorisations per crossbar (null without lines), shared by
  // copies of the Network.
  std::shared_ptr<std::vector<std::unique_ptr<LineFactorPool>>> line_pools_;
};

// Network::TapeBytesPerChunk without building the network (memory estimates before allocating).
size_t TapeBytes(const NetworkConfig& config, int chunk);

extern template PassResult Network::Run<float>(const Parameters&, const float*, const int*, int,
                                               bool, int, int, const parallel::Collective*) const;
extern template PassResult Network::Run<double>(const Parameters&, const float*, const int*, int,
                                                bool, int, int, const parallel::Collective*) const;

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_NETWORK_H_
