#include "training/network.h"

#include <fmt/format.h>

#include <Eigen/LU>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>

#include "parallel/collective.h"
#include "training/blas.h"
#include "training/dataset.h"
#include "training/layer_kernels.h"
#include "training/simd_pack.h"

namespace memspice::training {

namespace mss = devices::mss;
using kernels::LayerConst;

Method ParseMethod(const std::string& name) {
  if (name == "forward-euler" || name == "fe" || name == "euler") return Method::kForwardEuler;
  if (name == "semi-implicit" || name == "si") return Method::kSemiImplicit;
  if (name == "backward-euler" || name == "be") return Method::kBackwardEuler;
  if (name == "trap" || name == "trapezoidal" || name == "gear2")
    throw TrainingError(fmt::format(
        "method '{}' is not available in the fast kernels: matching the MNA engine's {} rule "
        "needs its restart after every alpha-event breakpoint inside the per-neuron Newton "
        "solve and its reverse pass; use backward-euler (the MNA engine's backward Euler, "
        "matched exactly) or semi-implicit, or train the deck on the MNA engine",
        name, name == "gear2" ? "gear2" : "trapezoidal"));
  throw TrainingError(
      fmt::format("option 'method' = '{}' must be forward-euler (fe), semi-implicit (si) or "
                  "backward-euler (be)",
                  name));
}

std::string MethodName(Method m) {
  switch (m) {
    case Method::kForwardEuler:
      return "forward-euler";
    case Method::kSemiImplicit:
      return "semi-implicit";
    default:
      return "backward-euler";
  }
}

CrossbarForm ParseCrossbarForm(const std::string& name) {
  if (name == "ideal") return CrossbarForm::kIdeal;
  if (name == "circuit") return CrossbarForm::kCircuit;
  throw TrainingError(fmt::format("option 'crossbar' = '{}' must be ideal or circuit", name));
}

std::string CrossbarFormName(CrossbarForm f) {
  return f == CrossbarForm::kIdeal ? "ideal" : "circuit";
}

SignedMapping ParseSignedMapping(const std::string& name) {
  if (name == "differential") return SignedMapping::kDifferential;
  if (name == "reference-column") return SignedMapping::kReferenceColumn;
  throw TrainingError(
      fmt::format("option 'mapping' = '{}' must be differential or reference-column", name));
}

std::string SignedMappingName(SignedMapping m) {
  return m == SignedMapping::kDifferential ? "differential" : "reference-column";
}

KernelIsa ParseKernelIsa(const std::string& name) {
  if (name == "auto") {
    for (KernelIsa k : {KernelIsa::kAvx512, KernelIsa::kAvx2})
      if (KernelIsaSupported(k)) return k;
    return KernelIsa::kGeneric;
  }
  KernelIsa k;
  if (name == "generic")
    k = KernelIsa::kGeneric;
  else if (name == "avx2")
    k = KernelIsa::kAvx2;
  else if (name == "avx512")
    k = KernelIsa::kAvx512;
  else
    throw TrainingError(
        fmt::format("option 'isa' = '{}' must be auto, avx512, avx2 or generic", name));
  if (!KernelIsaSupported(k))
    throw TrainingError(fmt::format(
        "option 'isa' = '{}' is not supported by this {} (use auto or generic)", name,
#ifdef MEMSPICE_X86_KERNELS
        "CPU"
#else
        "build (not x86-64)"
#endif
        ));
  return k;
}

std::string KernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kAvx512:
      return "avx512";
    case KernelIsa::kAvx2:
      return "avx2";
    default:
      return "generic";
  }
}

bool KernelIsaSupported(KernelIsa isa) {
  if (isa == KernelIsa::kGeneric) return true;
#ifdef MEMSPICE_X86_KERNELS
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("fma")) return false;
  if (isa == KernelIsa::kAvx2) return __builtin_cpu_supports("avx2");
  if (isa == KernelIsa::kAvx512) return __builtin_cpu_supports("avx512f");
#endif
  return false;
}

std::string NetworkConfig::Validate() const {
  auto bad = [](const char* name, auto value, const char* rule) {
    return fmt::format("option '{}' = {} must be {}", name, value, rule);
  };
  if (layer_sizes.size() < 2) return bad("layer_sizes.size()", layer_sizes.size(), ">= 2");
  for (int s : layer_sizes)
    if (s < 1) return bad("layer_sizes[i]", s, ">= 1");
  if (static_cast<int>(layer_scale.size()) != num_layers())
    return fmt::format("option 'layer_scale' has {} entries, must have one per crossbar ({})",
                       layer_scale.size(), num_layers());
  for (double s : layer_scale)
    if (!std::isfinite(s) || s <= 0) return bad("layer_scale[i]", s, "> 0");
  if (!layer_neurons.empty() && static_cast<int>(layer_neurons.size()) != num_layers())
    return fmt::format("option 'layer_neurons' has {} entries, must be empty or {}",
                       layer_neurons.size(), num_layers());
  if (!(g_min > 0)) return bad("g_min", g_min, "> 0");
  if (!(g_max > g_min)) return bad("g_max", g_max, "> g_min");
  if (!(input_scale > 0)) return bad("input_scale", input_scale, "> 0");
  if (!(dt > 0) || !std::isfinite(dt)) return bad("dt", dt, "> 0");
  if (steps < 1) return bad("steps", steps, ">= 1");
  if (period < 1) return bad("period", period, ">= 1");
  if (!(tau_a > 0)) return bad("tau_a", tau_a, "> 0");
  if (!(v_scale > 0)) return bad("v_scale", v_scale, "> 0");
  try {
    ParseKernelIsa(isa);
  } catch (const TrainingError& e) {
    return e.what();
  }
  bool any_lines = false;
  for (const auto& t : lines) any_lines = any_lines || t;
  if (any_lines && mapping == SignedMapping::kReferenceColumn)
    return "line parasitics with the reference-column mapping are not supported: the line port "
           "model (training/line_network.h) has two word lines per input (G+ and G-) and no "
           "subtracted reference bit line; use mapping differential with line resistance";
  if (!lines.empty() && static_cast<int>(lines.size()) != num_layers())
    return fmt::format("option 'lines' has {} entries, must be empty or one per crossbar ({})",
                       lines.size(), num_layers());
  for (size_t l = 0; l < lines.size(); ++l) {
    if (!lines[l]) continue;
    if (lines[l]->in != layer_sizes[l] || lines[l]->out != layer_sizes[l + 1])
      return fmt::format("line network of crossbar {} is {} x {}, the crossbar {} x {}", l + 1,
                         lines[l]->in, lines[l]->out, layer_sizes[l], layer_sizes[l + 1]);
    if (std::string e = lines[l]->Validate(); !e.empty())
      return fmt::format("crossbar {}: {}", l + 1, e);
  }
  // Backward Euler drives step n with alpha[n+1], so it needs alpha[steps] as well.
  const int need = steps + 1;
  const int have = static_cast<int>(alpha_waveform.size());
  if (!alpha_waveform.empty() && have != need &&
      (have != steps || method == Method::kBackwardEuler))
    return fmt::format(
        "option 'alpha_waveform' has {} entries, must be empty or steps + 1 ({}){}", have, need,
        method == Method::kBackwardEuler ? "" : fmt::format(" or steps ({})", steps));
  for (int l = 0; l < num_layers(); ++l) {
    const NeuronParams& n = neuron_of(l);
    if (!(n.c_mem > 0)) return bad("c_mem", n.c_mem, "> 0");
    for (const mss::MssParams* m : {&n.m1, &n.m2}) {
      std::string e = mss::ValidateMssParams(*m);
      if (!e.empty()) return "neuron memristor: " + e;
      if (method == Method::kSemiImplicit && m->phi != 1.0)
        return bad("neuron memristor phi", m->phi,
                   "1 for method semi-implicit (linearised update assumes i = G u)");
    }
  }
  return {};
}

RestState ComputeRestState(const NeuronParams& n) {
  // Net current out of the membrane with both states at their equilibrium for this v.
  auto net = [&](double v) {
    const double x1 = mss::EquilibriumState(n.m1, v - n.v1);
    const double x2 = mss::EquilibriumState(n.m2, v - n.v2);
    return mss::Current(n.m1, x1, v - n.v1) + mss::Current(n.m2, x2, v - n.v2);
  };
  double lo = -1.0, hi = 1.0;
  double flo = net(lo), fhi = net(hi);
  if (!(flo < 0 && fhi > 0))
    throw TrainingError(
        fmt::format("MIF neuron (V1 = {} V, V2 = {} V) has no rest point in [-1, 1] V: net current "
                    "{} A at -1 V, {} A at 1 V",
                    n.v1, n.v2, flo, fhi));
  for (int it = 0; it < 200 && hi - lo > 1e-15; ++it) {
    const double mid = 0.5 * (lo + hi);
    (net(mid) < 0 ? lo : hi) = mid;
  }
  const double v = 0.5 * (lo + hi);
  return {v, mss::EquilibriumState(n.m1, v - n.v1), mss::EquilibriumState(n.m2, v - n.v2)};
}

Parameters InitParameters(const NetworkConfig& c, uint64_t seed, double init_fraction) {
  std::mt19937_64 rng(seed);
  const double span = init_fraction * (c.g_max - c.g_min);
  auto draw = [&] { return c.g_min + span * (static_cast<double>(rng() >> 11) * 0x1.0p-53); };
  const bool reference = c.mapping == SignedMapping::kReferenceColumn;
  const double g_mid = 0.5 * (c.g_min + c.g_max);
  Parameters p;
  for (int l = 0; l < c.num_layers(); ++l) {
    const int in = c.layer_sizes[l], out = c.layer_sizes[l + 1];
    Eigen::MatrixXd gp(in, out), gm(in, out);
    for (int j = 0; j < out; ++j)
      for (int i = 0; i < in; ++i) {
        if (reference) {
          gp(i, j) = g_mid + (draw() - c.g_min) - 0.5 * span;
          gm(i, j) = g_mid;
        } else {
          gp(i, j) = draw();
          gm(i, j) = draw();
        }
      }
    p.g_plus.push_back(std::move(gp));
    p.g_minus.push_back(std::move(gm));
  }
  return p;
}

void BroadcastReference(const NetworkConfig& c, Parameters* p) {
  if (c.mapping != SignedMapping::kReferenceColumn) return;
  for (Eigen::MatrixXd& gm : p->g_minus)
    for (Eigen::Index j = 1; j < gm.cols(); ++j) gm.col(j) = gm.col(0);
}

std::string CheckReference(const NetworkConfig& c, const Parameters& p) {
  if (c.mapping != SignedMapping::kReferenceColumn) return "";
  for (size_t l = 0; l < p.g_minus.size(); ++l) {
    const Eigen::MatrixXd& gm = p.g_minus[l];
    for (Eigen::Index i = 0; i < gm.rows(); ++i)
      if (gm.row(i).maxCoeff() != gm.row(i).minCoeff())
        return fmt::format(
            "crossbar {} row {}: the reference-column mapping has one reference conductance per "
            "input row, but G- varies along the row ({} to {} S): these conductances come from a "
            "differential network",
            l + 1, i, gm.row(i).minCoeff(), gm.row(i).maxCoeff());
  }
  return "";
}

Network::Network(NetworkConfig config) : config_(std::move(config)) {
  const std::string err = config_.Validate();
  if (!err.empty()) throw TrainingError(err);
  for (int l = 0; l < config_.num_layers(); ++l)
    rest_.push_back(ComputeRestState(config_.neuron_of(l)));
  isa_ = ParseKernelIsa(config_.isa);
  pool_ = std::make_shared<WorkspacePool>();
  line_pools_ = std::make_shared<std::vector<std::unique_ptr<LineFactorPool>>>();
  for (int l = 0; l < config_.num_layers(); ++l)
    line_pools_->push_back(
        config_.lines.empty() || !config_.lines[l] ? nullptr : std::make_unique<LineFactorPool>());
  // Unit-weight alpha waveform, forward Euler on both stages; the event kicks a before the step.
  // alpha[T] is used only by backward Euler (drive of the last step).
  alpha_.resize(config_.steps + 1);
  double a = 0, i = 0;
  const double r = config_.dt / config_.tau_a;
  for (int n = 0; n <= config_.steps && config_.alpha_waveform.empty(); ++n) {
    if (n % config_.period == 0) a += 1.0;
    alpha_[n] = i;
    const double a_next = a - r * a;
    i += r * (a - i);
    a = a_next;
  }
  if (!config_.alpha_waveform.empty()) {
    alpha_.assign(config_.alpha_waveform.begin(), config_.alpha_waveform.end());
    alpha_.resize(config_.steps + 1, alpha_.back());  // explicit methods never read alpha[T]
  }
}

namespace {

template <typename S>
using RowMat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename S>
using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <typename S>
using MapRow = Eigen::Map<RowMat<S>>;

// Parameters converted once per pass.
template <typename S>
struct KernelParams {
  std::vector<RowMat<S>> w;      // W_l = G+ - G-, in x out
  std::vector<Vec<S>> w_colsum;  // sum_i W_ij
  std::vector<Vec<S>> load;      // L_j = s_l sum_i (G+ + G-) (zero in ideal form)
  // Circuit form with line resistance: C = s'_l (Y_bb - diag Y_bb), out x out (else empty); the
  // drive of bit line j carries - sum_k C_jk (v_k - v_rest).
  std::vector<RowMat<S>> coupling;
  std::vector<std::shared_ptr<const LinePortModel>> models;  // per crossbar, null without lines
};

template <typename S>
struct Workspace {
  std::vector<RowMat<S>> v, x1, x2;  // (T+1) x N_l
  std::vector<RowMat<S>> drive;      // T x N_l (layer 0: unused)
  std::vector<RowMat<S>> direct;     // (T+1) x N_l adjoint sources dL/dv[n]
  RowMat<S> di;                      // T x N_l, dL/dI[n] of the layer being reversed
  RowMat<S> amp;                     // ns x N_0 layer-0 drive amplitude
  Vec<S> lv, lx1, lx2, load, gload;
  RowMat<S> base, prev, direct_c;  // waveform relaxation of coupled layers
  int relaxations = 0;             // most kernel passes one coupled layer needed (this chunk)
};

// Gradient buffers of one chunk (summed in chunk order afterwards).
template <typename S>
struct ChunkGrad {
  std::vector<RowMat<S>> dw;     // dL/dW_l
  std::vector<Vec<S>> dload;     // dL/dL_j
  std::vector<RowMat<S>> dcoup;  // dL/dC (coupled crossbars only)
};

// The float kernels for the instruction set chosen at construction, else the generic packs
// (Eigen, project flags; double precision and phi != 1 always take this path).
template <typename S>
void ForwardLayer(KernelIsa isa, const LayerConst<S>& c, int steps, int n_el, const S* rows,
                  const S* alpha, const S* amp, const S* load, S* v, S* x1, S* x2) {
#ifdef MEMSPICE_X86_KERNELS
  if constexpr (std::is_same_v<S, float>) {
    if (kernels::UsePacks(c) && isa == KernelIsa::kAvx512)
      return kernels::ForwardLayerAvx512(c, steps, n_el, rows, alpha, amp, load, v, x1, x2);
    if (kernels::UsePacks(c) && isa == KernelIsa::kAvx2)
      return kernels::ForwardLayerAvx2(c, steps, n_el, rows, alpha, amp, load, v, x1, x2);
  }
#endif
  kernels::ForwardLayer<S, simd::Pack<S, simd::kLanes<S>>, true>(c, steps, n_el, rows, alpha, amp,
                                                                 load, v, x1, x2);
}

template <typename S>
void BackwardLayer(KernelIsa isa, const LayerConst<S>& c, int steps, int n_el, const S* v,
                   const S* x1, const S* x2, const S* direct, const S* load, S* di, S* lv, S* lx1,
                   S* lx2, S* gload) {
#ifdef MEMSPICE_X86_KERNELS
  if constexpr (std::is_same_v<S, float>) {
    if (kernels::UsePacks(c) && isa == KernelIsa::kAvx512)
      return kernels::BackwardLayerAvx512(c, steps, n_el, v, x1, x2, direct, load, di, lv, lx1, lx2,
                                          gload);
    if (kernels::UsePacks(c) && isa == KernelIsa::kAvx2)
      return kernels::BackwardLayerAvx2(c, steps, n_el, v, x1, x2, direct, load, di, lv, lx1, lx2,
                                        gload);
  }
#endif
  kernels::BackwardLayer<S, simd::Pack<S, simd::kLanes<S>>, true>(c, steps, n_el, v, x1, x2, direct,
                                                                  load, di, lv, lx1, lx2, gload);
}

template <typename S>
LayerConst<S> MakeLayerConst(const NetworkConfig& cfg, const RestState& r, int l) {
  const NeuronParams& n = cfg.neuron_of(l);
  LayerConst<S> c;
  c.h = S(cfg.dt / n.c_mem);
  c.dt = S(cfg.dt);
  c.v1 = S(n.v1);
  c.v2 = S(n.v2);
  c.vr = S(r.v);
  c.x1r = S(r.x1);
  c.x2r = S(r.x2);
  c.theta = cfg.method == Method::kSemiImplicit ? S(1) : S(0);
  // Newton from state n converges quadratically (the step is nearly linear in v, and dt dx/dt is
  // small); 4 iterations reach round-off in double at the MEMprop scales (docs/training.md).
  c.newton = cfg.method == Method::kBackwardEuler ? 4 : 0;
  c.m1 = n.m1.Cast<S>();
  c.m2 = n.m2.Cast<S>();
  c.slope1 = S(n.m1.phi * mss::ConductanceSlope(n.m1));
  c.slope2 = S(n.m2.phi * mss::ConductanceSlope(n.m2));
  return c;
}

// Loading factor of crossbar l in the circuit form. Layer 1's inputs are ideal voltage drivers
// (V_i = s_1 input_scale alpha x_i), so its bit lines see the full column conductance; deeper
// crossbars carry the paper's attenuation s_l on the whole bit-line current, loading term included.
double LoadScale(const NetworkConfig& c, int l) { return l == 0 ? 1.0 : c.layer_scale[l]; }

// Finds the first non-finite or exploding element of a layer's trajectory; returns false if all is
// well.
template <typename S>
bool FindDivergence(int steps, int n_el, const S* v, const S* x1, const S* x2, int* step, int* elem,
                    std::string* what) {
  auto bad_last = [&](int n) {
    const size_t o = static_cast<size_t>(n) * n_el;
    for (int e = 0; e < n_el; ++e) {
      const S vv = v[o + e];
      if (!std::isfinite(vv) || std::abs(vv) > S(10) || !std::isfinite(x1[o + e]) ||
          !std::isfinite(x2[o + e]))
        return e;
    }
    return -1;
  };
  if (bad_last(steps) < 0) return false;
  for (int n = 1; n <= steps; ++n) {
    const int e = bad_last(n);
    if (e >= 0) {
      *step = n;
      *elem = e;
      const size_t o = static_cast<size_t>(n) * n_el + e;
      *what = !std::isfinite(v[o]) ? "membrane potential is not finite"
              : std::abs(v[o]) > S(10)
                  ? fmt::format("membrane potential exploded to {:.3g} V", double(v[o]))
                  : "memristor state is not finite";
      return true;
    }
  }
  *step = steps;
  *elem = bad_last(steps);
  *what = "state is not finite";
  return true;
}

// Waveform relaxation of a circuit-form layer whose bit lines are coupled through the line
// resistance: the layer kernel runs with the coupling term of the previous iterate's trajectory
// in its drive until the trajectory stops changing. The coupling reads v[n] (forward Euler: the
// explicit step) or v[n+1] (semi-implicit and backward Euler: implicit, as the loading L_j).
// Its contraction factor is about the share of a bit line's current that leaks to the other bit
// lines through the word-line resistance (docs/training.md).
constexpr int kMaxRelaxations = 200;
template <typename S>
constexpr double kRelaxTolerance = std::is_same_v<S, float> ? 1e-6 : 1e-14;
// Rounding units of the largest membrane voltage below which a change is the number format's
// resolution, not the iteration's: with long lines the layer barely leaves rest, so the deviation
// (the relative test's scale) can be ~1e-3 of v itself and 1e-6 of it is below a float's ulp.
constexpr double kResolutionUlps = 4;

int CouplingShift(Method m) { return m == Method::kForwardEuler ? 0 : 1; }

[[noreturn]] void RelaxationFailed(int l, const char* what, double change) {
  throw TrainingError(fmt::format(
      "crossbar {}: the bit lines are coupled through the line resistance and the waveform "
      "relaxation of the {} pass did not converge in {} iterations (last relative change {:.3g}): "
      "lower rline (or the conductance range), or train on the MNA engine",
      l + 1, what, kMaxRelaxations, change));
}

// Preconditioner of the waveform relaxation when the coupling is implicit (it reads v[n+1], the
// state the drive of step n produces). The loading L_j dominates C_mem/dt at the MEMprop scales,
// so a neuron's response to its drive is nearly instantaneous, dv[n+1]/dI = D_j =
// h / (1 + h (L_j + g_j)) (g_j: the neuron's conductance at rest), and the relaxation map
// u -> F(u) = Kernel(base - (u - v_rest) C^T) has derivative about -C^T diag(D) on each row. The
// Newton-like update u <- u + (F(u) - u) P, P = (I + C^T diag D)^-1, converges in a few passes
// where the plain iteration u <- F(u) contracts only by the share of a bit line's current that
// leaks to the others. The fixed point (hence the result) is the same; the reverse pass uses
// (I + C diag D)^-1 (transpose = true). Explicit coupling (forward Euler): empty, plain iteration.
template <typename S>
RowMat<S> RelaxationPreconditioner(const LayerConst<S>& c, const RowMat<S>& cpl, int cshift,
                                   const S* load, bool transpose) {
  if (cshift == 0) return {};
  namespace mss = devices::mss;
  const double g = double(mss::Evaluate(c.m1, c.x1r, c.vr - c.v1).di_du +
                          mss::Evaluate(c.m2, c.x2r, c.vr - c.v2).di_du);
  const Eigen::Index h = cpl.rows();
  Eigen::VectorXd d(h);
  for (Eigen::Index j = 0; j < h; ++j) d[j] = c.h / (1 + c.h * (double(load[j]) + g));
  const Eigen::MatrixXd cd = cpl.template cast<double>();
  const Eigen::MatrixXd m = transpose ? Eigen::MatrixXd(cd * d.asDiagonal())
                                      : Eigen::MatrixXd(cd.transpose() * d.asDiagonal());
  return (Eigen::MatrixXd::Identity(h, h) + m).inverse().cast<S>();
}

// c += alpha a op(b) for contiguous row-major a (rows x H), b (H x H) and c: the relaxation's
// products of every sample and step with a 100 x 100 matrix, by the BLAS's AVX kernels (Eigen is
// compiled for SSE2 here, training/CMakeLists.txt).
template <typename S, typename A, typename C>
void AddProduct(S alpha, const A& a, const RowMat<S>& b, bool transpose_b, C* c) {
  const int m = static_cast<int>(a.rows()), h = static_cast<int>(b.rows());
  RowMajorGemm<S>(transpose_b, m, h, h, alpha, a.data(), h, b.data(), h, S(1), c->data(), h);
}

// ws.base holds the uncoupled drive rows (T x n_el); on return ws.v/x1/x2[l] are the fixed point
// v = Kernel(base - (v_c - v_rest) C^T) and ws.drive[l] its drive (ws.prev: the iterate u the
// drive was formed from).
template <typename S>
void ForwardCoupled(KernelIsa isa, const LayerConst<S>& c, const RowMat<S>& cpl, int cshift, int T,
                    int ns, int H, int l, Workspace<S>& ws) {
  const int n_el = ns * H;
  RowMat<S>& v = ws.v[l];
  RowMat<S>& rows = ws.drive[l];
  rows = ws.base;
  const RowMat<S> pre = RelaxationPreconditioner(c, cpl, cshift, ws.load.data(), false);
  const Eigen::Index nr = static_cast<Eigen::Index>(T) * ns;
  const size_t off = static_cast<size_t>(cshift) * n_el;
  double change = 0;
  RowMat<S> step;  // F(u) - u, then u - v_rest
  for (int it = 0; it < kMaxRelaxations; ++it) {
    ForwardLayer(isa, c, T, n_el, rows.data(), static_cast<const S*>(nullptr),
                 static_cast<const S*>(nullptr), ws.load.data(), v.data(), ws.x1[l].data(),
                 ws.x2[l].data());
    if (it == 0) ws.prev.setConstant(v.rows(), v.cols(), c.vr);  // the iterate of base alone
    // u: the states the coupling reads, F(u): the kernel's answer to them.
    MapRow<S> u(ws.prev.data() + off, nr, H);
    MapRow<S> fu(v.data() + off, nr, H);
    const double diff = (fu - u).cwiseAbs().maxCoeff();
    const double scale = (v.array() - c.vr).abs().maxCoeff();
    const double resolution =
        kResolutionUlps * std::numeric_limits<S>::epsilon() * v.cwiseAbs().maxCoeff();
    change = diff / scale;
    // Also stops on NaN (reported later).
    if (it > 0 && !(diff > std::max(kRelaxTolerance<S> * scale, resolution))) {
      ws.relaxations = std::max(ws.relaxations, it + 1);
      return;
    }
    if (pre.size() > 0) {
      step = fu - u;
      AddProduct<S>(1, step, pre, false, &u);
    } else {
      u = fu;
    }
    MapRow<S> r(rows.data(), nr, H);
    r = MapRow<S>(ws.base.data(), nr, H);
    step = u.array() - c.vr;
    AddProduct<S>(-1, step, cpl, true, &r);
  }
  RelaxationFailed(l, "forward", change);
}

// The adjoint of ForwardCoupled: ws.direct[l] holds the adjoint sources; on return ws.di is
// dL/dI of the fixed point (direct + the coupling's transpose applied to dL/dI) and ws.gload,
// lv, lx1, lx2 those of its last kernel pass.
template <typename S>
void BackwardCoupled(KernelIsa isa, const LayerConst<S>& c, const RowMat<S>& cpl, int cshift, int T,
                     int ns, int H, int l, Workspace<S>& ws) {
  const int n_el = ns * H;
  ws.direct_c = ws.direct[l];
  const RowMat<S> pre = RelaxationPreconditioner(c, cpl, cshift, ws.load.data(), true);
  const Eigen::Index rows = static_cast<Eigen::Index>(T) * ns;
  const size_t off = static_cast<size_t>(cshift) * n_el;
  double change = 0;
  RowMat<S> step;  // F(x) - x
  for (int it = 0; it < kMaxRelaxations; ++it) {
    ws.gload.setZero(n_el);
    BackwardLayer(isa, c, T, n_el, ws.v[l].data(), ws.x1[l].data(), ws.x2[l].data(),
                  ws.direct_c.data(), ws.load.data(), ws.di.data(), ws.lv.data(), ws.lx1.data(),
                  ws.lx2.data(), ws.gload.data());
    if (it == 0) ws.prev.setZero(ws.di.rows(), ws.di.cols());  // the iterate of direct alone
    const double diff = (ws.di - ws.prev).cwiseAbs().maxCoeff();
    const double scale = ws.di.cwiseAbs().maxCoeff();
    change = scale > 0 ? diff / scale : 0;
    if (it > 0 && !(diff > kRelaxTolerance<S> * scale)) {
      ws.relaxations = std::max(ws.relaxations, it + 1);
      return;
    }
    MapRow<S> x(ws.prev.data(), rows, H);
    MapRow<S> fx(ws.di.data(), rows, H);
    if (pre.size() > 0) {
      step = fx - x;
      AddProduct<S>(1, step, pre, false, &x);
    } else {
      x = fx;
    }
    MapRow<S> dc(ws.direct_c.data() + off, rows, H);
    dc = MapRow<S>(ws.direct[l].data() + off, rows, H);
    AddProduct<S>(-1, x, cpl, false, &dc);
  }
  RelaxationFailed(l, "reverse", change);
}

// Kernel parameters of conductances p: W, or with line parasitics the port model's effective
// weights, loading and bit-line coupling (one factorisation per crossbar).
template <typename S>
KernelParams<S> MakeKernelParams(const NetworkConfig& cfg, const Parameters& p,
                                 const std::vector<std::unique_ptr<LineFactorPool>>& pools,
                                 int threads) {
  KernelParams<S> kp;
  const bool circuit = cfg.form == CrossbarForm::kCircuit;
  for (int l = 0; l < cfg.num_layers(); ++l) {
    const int out = cfg.layer_sizes[l + 1];
    const double ls = LoadScale(cfg, l);
    std::shared_ptr<const LineTopology> top = cfg.lines.empty() ? nullptr : cfg.lines[l];
    if (top) {
      std::shared_ptr<const LinePortModel> m =
          pools[l] ? pools[l]->Model(top, p.g_plus[l], p.g_minus[l], threads)
                   : std::make_shared<const LinePortModel>(top, p.g_plus[l], p.g_minus[l], nullptr,
                                                           threads);
      kp.w.push_back(m->EffectiveWeights().cast<S>());
      Eigen::MatrixXd off = m->ybb();
      off.diagonal().setZero();
      kp.load.push_back(circuit ? (m->ybb().diagonal() * ls).cast<S>().eval() : Vec<S>::Zero(out));
      kp.coupling.emplace_back();
      if (circuit && off.cwiseAbs().maxCoeff() > 0) kp.coupling.back() = (off * ls).cast<S>();
      kp.models.push_back(std::move(m));
    } else {
      kp.w.push_back((p.g_plus[l] - p.g_minus[l]).cast<S>());
      // Circuit form: the bit line of column j loads its neuron through every cell on it, G+ and
      // G- (differential) or G only (the reference column is held at the rest potential).
      const bool reference = cfg.mapping == SignedMapping::kReferenceColumn;
      const Eigen::MatrixXd on_bit = reference ? p.g_plus[l] : p.g_plus[l] + p.g_minus[l];
      kp.load.push_back(circuit ? (on_bit.colwise().sum().transpose() * ls).cast<S>().eval()
                                : Vec<S>::Zero(out));
      kp.coupling.emplace_back();
      kp.models.push_back(nullptr);
    }
    kp.w_colsum.push_back(kp.w.back().colwise().sum().transpose());
  }
  return kp;
}

}  // namespace

struct Network::WorkspacePool {
  std::mutex mutex;
  std::vector<std::unique_ptr<Workspace<float>>> f;
  std::vector<std::unique_ptr<Workspace<double>>> d;

  template <typename S>
  std::unique_ptr<Workspace<S>> Take() {
    std::lock_guard<std::mutex> lock(mutex);
    auto& v = Of<S>();
    if (v.empty()) return std::make_unique<Workspace<S>>();
    auto w = std::move(v.back());
    v.pop_back();
    return w;
  }
  template <typename S>
  void Give(std::unique_ptr<Workspace<S>> w) {
    std::lock_guard<std::mutex> lock(mutex);
    Of<S>().push_back(std::move(w));
  }
  template <typename S>
  std::vector<std::unique_ptr<Workspace<S>>>& Of() {
    if constexpr (std::is_same_v<S, float>)
      return f;
    else
      return d;
  }
};

// Throws TrainingError naming the neuron, sample and step if layer l's states left their range.
template <typename S>
static void CheckDivergence(const NetworkConfig& cfg, int l, int ns, int first,
                            const Workspace<S>& ws) {
  const int nl = cfg.num_layers();
  const int T = cfg.steps;
  const int H = cfg.layer_sizes[l + 1];
  const int n_el = ns * H;
  int step = 0, elem = 0;
  std::string what;
  if (FindDivergence(T, n_el, ws.v[l].data(), ws.x1[l].data(), ws.x2[l].data(), &step, &elem,
                     &what)) {
    const bool fe = cfg.method == Method::kForwardEuler;
    throw TrainingError(
        fmt::format("divergence in MIF layer {} ({}), neuron {}, sample {}, at step {} (t = "
                    "{:.4g} ms): {}; {}",
                    l + 1, l + 1 == nl ? "output" : "hidden", elem % H, first + elem / H, step,
                    step * cfg.dt * 1e3, what,
                    fe ? "forward Euler is unstable once dt (G1 + G2) / C_mem > 2: use the "
                         "semi-implicit method, a smaller time step dt or a lower layer scale"
                       : "lower the layer scale or input scale, or use a smaller time step dt"));
  }
}

// Forward pass of a chunk through every layer (states in ws.v, ws.x1, ws.x2).
template <typename S>
static void ForwardChunk(const NetworkConfig& cfg, KernelIsa isa,
                         const std::vector<LayerConst<S>>& lc, const S* alpha_d,
                         const KernelParams<S>& kp, const RowMat<S>& x, int first, int ns,
                         Workspace<S>& ws) {
  const int nl = cfg.num_layers();
  const int T = cfg.steps;
  const int shift = cfg.method == Method::kBackwardEuler ? 1 : 0;
  const int cshift = CouplingShift(cfg.method);
  for (int l = 0; l < nl; ++l) {
    const int H = cfg.layer_sizes[l + 1];
    const int n_el = ns * H;
    const S sl = S(cfg.layer_scale[l]);
    ws.v[l].resize(T + 1, n_el);
    ws.x1[l].resize(T + 1, n_el);
    ws.x2[l].resize(T + 1, n_el);
    ws.load.resize(n_el);
    for (int s = 0; s < ns; ++s) ws.load.segment(s * H, H) = kp.load[l];
    const bool coupled = kp.coupling[l].size() > 0;
    if (l == 0) {
      ws.amp.noalias() = (sl * S(cfg.input_scale)) * (x * kp.w[0]);
      if (coupled) {
        ws.base.resize(T, n_el);
        const Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>> amp(ws.amp.data(), n_el);
        for (int n = 0; n < T; ++n) ws.base.row(n) = alpha_d[n] * amp;
        ForwardCoupled(isa, lc[l], kp.coupling[l], cshift, T, ns, H, l, ws);
      } else {
        ForwardLayer(isa, lc[l], T, n_el, static_cast<const S*>(nullptr), alpha_d, ws.amp.data(),
                     ws.load.data(), ws.v[l].data(), ws.x1[l].data(), ws.x2[l].data());
      }
    } else {
      const int Hp = cfg.layer_sizes[l];
      // Rows n + shift, n = 0..T-1.
      MapRow<S> y(ws.v[l - 1].data() + static_cast<size_t>(shift) * ns * Hp,
                  static_cast<Eigen::Index>(T) * ns, Hp);
      ws.drive[l].resize(T, n_el);
      MapRow<S> dr(ws.drive[l].data(), static_cast<Eigen::Index>(T) * ns, H);
      dr.noalias() = sl * (y * kp.w[l]);
      dr.rowwise() -= (sl * lc[l - 1].vr) * kp.w_colsum[l].transpose();
      if (coupled) {
        ws.base = ws.drive[l];
        ForwardCoupled(isa, lc[l], kp.coupling[l], cshift, T, ns, H, l, ws);
      } else {
        ForwardLayer(isa, lc[l], T, n_el, ws.drive[l].data(), alpha_d,
                     static_cast<const S*>(nullptr), ws.load.data(), ws.v[l].data(),
                     ws.x1[l].data(), ws.x2[l].data());
      }
    }
    CheckDivergence(cfg, l, ns, first, ws);
  }
}

// Loss, predictions and spiking fraction of each sample (out), and the output layer's adjoint
// sources in ws.direct when `reverse`.
template <typename S>
static void ChunkOutputs(const NetworkConfig& cfg, const std::vector<LayerConst<S>>& lc,
                         const int* labels, int first, int ns, bool reverse, Workspace<S>& ws,
                         SampleOutput* out) {
  const int nl = cfg.num_layers();
  const int T = cfg.steps;
  const int O = cfg.layer_sizes[nl];
  const S inv_vs = S(1.0 / cfg.v_scale);
  const RowMat<S>& vo = ws.v[nl - 1];
  if (reverse) ws.direct[nl - 1].setZero(T + 1, ns * O);
  std::vector<S> z(O);
  for (int s = 0; s < ns; ++s) {
    SampleOutput& so = out[s];
    so.v_sum.assign(O, 0.0);
    double loss = 0;
    const int y = labels ? labels[first + s] : -1;
    for (int n = 1; n <= T; ++n) {
      const S* row = vo.data() + static_cast<size_t>(n) * ns * O + s * O;
      S zmax = row[0] * inv_vs;
      for (int k = 0; k < O; ++k) {
        z[k] = row[k] * inv_vs;
        zmax = std::max(zmax, z[k]);
        so.v_sum[k] += row[k];
      }
      S sum = 0;
      for (int k = 0; k < O; ++k) {
        z[k] = std::exp(z[k] - zmax);
        sum += z[k];
      }
      if (y >= 0) {
        loss += double(std::log(sum) + zmax - row[y] * inv_vs);
        if (reverse) {
          S* d = ws.direct[nl - 1].data() + static_cast<size_t>(n) * ns * O + s * O;
          for (int k = 0; k < O; ++k) d[k] = (z[k] / sum - (k == y ? S(1) : S(0))) * inv_vs;
        }
      }
    }
    so.loss = loss;
    so.predicted =
        static_cast<int>(std::max_element(so.v_sum.begin(), so.v_sum.end()) - so.v_sum.begin());
    // Spiking fraction over the hidden layers.
    int spiking = 0, hidden = 0;
    for (int l = 0; l + 1 < nl; ++l) {
      const int H = cfg.layer_sizes[l + 1];
      const S thr = lc[l].vr + S(kSpikeThreshold);
      Eigen::Map<const Vec<S>> row0(ws.v[l].data() + s * H, H);
      Vec<S> peak = row0;  // row by row: contiguous reads
      for (int n = 1; n <= T; ++n)
        peak = peak.cwiseMax(
            Eigen::Map<const Vec<S>>(ws.v[l].data() + static_cast<size_t>(n) * ns * H + s * H, H));
      spiking += static_cast<int>((peak.array() > thr).count());
      hidden += H;
    }
    so.spiking_fraction = hidden ? double(spiking) / hidden : 0.0;
  }
}

// Reverse pass of a chunk, last layer first: the gradients of the weights, loads and couplings.
template <typename S>
static void ReverseChunk(const NetworkConfig& cfg, KernelIsa isa,
                         const std::vector<LayerConst<S>>& lc, const S* alpha_d,
                         const KernelParams<S>& kp, const RowMat<S>& x, int ns, Workspace<S>& ws,
                         ChunkGrad<S>* grad) {
  const int nl = cfg.num_layers();
  const int T = cfg.steps;
  const int shift = cfg.method == Method::kBackwardEuler ? 1 : 0;
  const int cshift = CouplingShift(cfg.method);
  for (int l = nl - 1; l >= 0; --l) {
    const int H = cfg.layer_sizes[l + 1];
    const int n_el = ns * H;
    const S sl = S(cfg.layer_scale[l]);
    ws.load.resize(n_el);
    for (int s = 0; s < ns; ++s) ws.load.segment(s * H, H) = kp.load[l];
    ws.di.resize(T, n_el);
    ws.lv.resize(n_el);
    ws.lx1.resize(n_el);
    ws.lx2.resize(n_el);
    ws.gload.setZero(n_el);
    const bool coupled = kp.coupling[l].size() > 0;
    if (coupled)
      BackwardCoupled(isa, lc[l], kp.coupling[l], cshift, T, ns, H, l, ws);
    else
      BackwardLayer(isa, lc[l], T, n_el, ws.v[l].data(), ws.x1[l].data(), ws.x2[l].data(),
                    ws.direct[l].data(), ws.load.data(), ws.di.data(), ws.lv.data(), ws.lx1.data(),
                    ws.lx2.data(), ws.gload.data());
    for (int s = 0; s < ns; ++s) grad->dload[l] += ws.gload.segment(s * H, H);
    MapRow<S> di(ws.di.data(), static_cast<Eigen::Index>(T) * ns, H);
    if (coupled) {  // dL/dC_jk = - sum dL/dI_j (v_k - v_rest) at the coupling's step
      MapRow<S> vc(ws.v[l].data() + static_cast<size_t>(cshift) * n_el,
                   static_cast<Eigen::Index>(T) * ns, H);
      grad->dcoup[l].noalias() -= di.transpose() * (vc.array() - lc[l].vr).matrix();
    }
    if (l == 0) {
      // dL/dD_e = sum_n alpha[n] dL/dI[n]_e, then dW = s input_scale x^T dL/dD.
      Eigen::Map<const Vec<S>> a(alpha_d, T);
      Vec<S> gd = ws.di.transpose() * a;  // n_el
      Eigen::Map<RowMat<S>> gdm(gd.data(), ns, H);
      grad->dw[0].noalias() += (sl * S(cfg.input_scale)) * (x.transpose() * gdm);
    } else {
      const int Hp = cfg.layer_sizes[l];
      MapRow<S> y(ws.v[l - 1].data() + static_cast<size_t>(shift) * ns * Hp,
                  static_cast<Eigen::Index>(T) * ns, Hp);
      // dW = s (y - v_rest)^T dI.
      grad->dw[l].noalias() += sl * (y.transpose() * di);
      grad->dw[l].rowwise() -= (sl * lc[l - 1].vr) * di.colwise().sum();
      ws.direct[l - 1].resize(T + 1, ns * Hp);
      // Row T (explicit) or row 0 (backward Euler) drives nothing.
      ws.direct[l - 1].row(shift ? 0 : T).setZero();
      MapRow<S> up(ws.direct[l - 1].data() + static_cast<size_t>(shift) * ns * Hp,
                   static_cast<Eigen::Index>(T) * ns, Hp);
      up.noalias() = sl * (di * kp.w[l].transpose());
    }
  }
}

// The chunk processor: forward through all layers, loss, optionally reverse.
template <typename S>
static void RunChunk(const NetworkConfig& cfg, KernelIsa isa, const std::vector<RestState>& rest,
                     const std::vector<S>& alpha, const KernelParams<S>& kp, const float* images,
                     const int* labels, int first, int ns, Workspace<S>& ws, ChunkGrad<S>* grad,
                     SampleOutput* out) {
  const int nl = cfg.num_layers();
  const int F = cfg.layer_sizes[0];
  ws.v.resize(nl);
  ws.x1.resize(nl);
  ws.x2.resize(nl);
  ws.drive.resize(nl);
  ws.direct.resize(nl);
  std::vector<LayerConst<S>> lc;
  for (int l = 0; l < nl; ++l) lc.push_back(MakeLayerConst<S>(cfg, rest[l], l));
  // Kernel step n is driven by I[n] (explicit methods) or I[n+1] (backward Euler).
  const S* alpha_d = alpha.data() + (cfg.method == Method::kBackwardEuler ? 1 : 0);

  // Input images of this chunk in the kernel's scalar type.
  RowMat<S> x(ns, F);
  for (int s = 0; s < ns; ++s)
    for (int f = 0; f < F; ++f) x(s, f) = S(images[static_cast<size_t>(first + s) * F + f]);

  ForwardChunk(cfg, isa, lc, alpha_d, kp, x, first, ns, ws);
  ChunkOutputs(cfg, lc, labels, first, ns, grad != nullptr, ws, out);
  if (grad) ReverseChunk(cfg, isa, lc, alpha_d, kp, x, ns, ws, grad);
}

// Data parallelism: each process ran its block of chunks; the chunk gradients and sample outputs
// are gathered in chunk order so that every process ends with the single-process result, bit for
// bit. An error in any process's chunks is raised in all of them, with the same message.
template <typename S>
void ShareChunks(const parallel::Collective& world, int chunk, int count, std::pair<int, int> own,
                 const std::vector<std::exception_ptr>& errors, std::vector<ChunkGrad<S>>* grads,
                 std::vector<SampleOutput>* samples) {
  std::string message;
  for (const auto& e : errors) {
    if (!e || !message.empty()) continue;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      message = ex.what();
    }
  }
  if (std::string first = parallel::FirstError(world, message); !first.empty()) {
    throw TrainingError(first);
  }
  auto samples_of = [&](int c) { return std::pair{c * chunk, std::min(count, (c + 1) * chunk)}; };
  std::vector<double> mine;
  for (int c = own.first; c < own.second; ++c) {
    if (!grads->empty()) {
      for (const auto& m : (*grads)[c].dw) mine.insert(mine.end(), m.data(), m.data() + m.size());
      for (const auto& v : (*grads)[c].dload)
        mine.insert(mine.end(), v.data(), v.data() + v.size());
    }
    for (int s = samples_of(c).first; s < samples_of(c).second; ++s) {
      const SampleOutput& so = (*samples)[s];
      mine.insert(mine.end(),
                  {so.loss, double(so.predicted), so.spiking_fraction, double(so.v_sum.size())});
      mine.insert(mine.end(), so.v_sum.begin(), so.v_sum.end());
    }
  }
  const std::vector<double> all = world.AllGather(mine);
  size_t at = 0;
  auto take = [&](S* out, size_t n) {  // values were S before widening: narrowing is exact
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<S>(all[at + i]);
    at += n;
  };
  const int n_chunks = (count + chunk - 1) / chunk;
  for (int c = 0; c < n_chunks; ++c) {
    if (!grads->empty()) {
      for (auto& m : (*grads)[c].dw) take(m.data(), m.size());
      for (auto& v : (*grads)[c].dload) take(v.data(), v.size());
    }
    for (int s = samples_of(c).first; s < samples_of(c).second; ++s) {
      SampleOutput& so = (*samples)[s];
      so.loss = all[at];
      so.predicted = static_cast<int>(all[at + 1]);
      so.spiking_fraction = all[at + 2];
      so.v_sum.assign(all.begin() + at + 4,
                      all.begin() + at + 4 + static_cast<size_t>(all[at + 3]));
      at += 4 + so.v_sum.size();
    }
  }
}

template <typename Scalar>
PassResult Network::Run(const Parameters& p, const float* images, const int* labels, int count,
                        bool want_grad, int threads, int chunk,
                        const parallel::Collective* world) const {
  using S = Scalar;
  const int nl = config_.num_layers();
  if (static_cast<int>(p.g_plus.size()) != nl || static_cast<int>(p.g_minus.size()) != nl)
    throw TrainingError(
        fmt::format("parameters have {} crossbars, network has {}", p.g_plus.size(), nl));
  for (int l = 0; l < nl; ++l) {
    const int in = config_.layer_sizes[l], out = config_.layer_sizes[l + 1];
    if (p.g_plus[l].rows() != in || p.g_plus[l].cols() != out || p.g_minus[l].rows() != in ||
        p.g_minus[l].cols() != out)
      throw TrainingError(fmt::format("crossbar {} conductances must be {} x {}", l + 1, in, out));
  }
  if (std::string e = CheckReference(config_, p); !e.empty()) throw TrainingError(e);
  const KernelParams<S> kp = MakeKernelParams<S>(config_, p, *line_pools_, threads);
  std::vector<S> alpha(alpha_.begin(), alpha_.end());

  PassResult result;
  result.samples.resize(count);
  chunk = std::max(1, chunk);
  const int n_chunks = (count + chunk - 1) / chunk;
  std::vector<ChunkGrad<S>> grads(want_grad ? n_chunks : 0);
  for (auto& g : grads) {
    for (int l = 0; l < nl; ++l) {
      g.dw.push_back(RowMat<S>::Zero(config_.layer_sizes[l], config_.layer_sizes[l + 1]));
      g.dload.push_back(Vec<S>::Zero(config_.layer_sizes[l + 1]));
      const int h = kp.coupling[l].size() > 0 ? config_.layer_sizes[l + 1] : 0;
      g.dcoup.push_back(RowMat<S>::Zero(h, h));
    }
  }
  // This process's block of chunks (all of them without a collective).
  const std::pair<int, int> own =
      world ? parallel::BlockOf(n_chunks, world->rank(), world->size()) : std::pair{0, n_chunks};
  const int nt = std::max(1, std::min(threads, own.second - own.first));
  std::vector<std::exception_ptr> errors(n_chunks);
  std::vector<int> relaxations(n_chunks, 0);
  auto worker = [&](int t) {
    std::unique_ptr<Workspace<S>> owned = pool_->Take<S>();
    Workspace<S>& ws = *owned;
    for (int c = own.first + t; c < own.second; c += nt) {
      const int first = c * chunk;
      const int ns = std::min(chunk, count - first);
      try {
        ws.relaxations = 0;
        RunChunk<S>(config_, isa_, rest_, alpha, kp, images, labels, first, ns, ws,
                    want_grad ? &grads[c] : nullptr, result.samples.data() + first);
        relaxations[c] = ws.relaxations;
      } catch (...) {
        errors[c] = std::current_exception();
        break;
      }
    }
    pool_->Give(std::move(owned));
  };
  if (nt == 1) {
    worker(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < nt; ++t) pool.emplace_back(worker, t);
    for (auto& th : pool) th.join();
  }
  if (world) ShareChunks<S>(*world, chunk, count, own, errors, &grads, &result.samples);
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);

  for (const SampleOutput& s : result.samples) result.loss_sum += s.loss;
  for (int r : relaxations) result.relaxations = std::max(result.relaxations, r);
  if (want_grad) {
    for (int l = 0; l < nl; ++l) {
      const int in = config_.layer_sizes[l], out = config_.layer_sizes[l + 1];
      Eigen::MatrixXd dw = Eigen::MatrixXd::Zero(in, out);
      Eigen::VectorXd dload = Eigen::VectorXd::Zero(out);
      Eigen::MatrixXd dcoup = Eigen::MatrixXd::Zero(kp.coupling[l].rows(), kp.coupling[l].cols());
      for (const auto& g : grads) {  // chunk order: independent of the thread count
        dw += g.dw[l].template cast<double>();
        dload += g.dload[l].template cast<double>();
        dcoup += g.dcoup[l].template cast<double>();
      }
      const double ls = LoadScale(config_, l);
      const bool circuit = config_.form == CrossbarForm::kCircuit;
      Eigen::MatrixXd gp, gm;
      if (kp.models[l]) {
        // dL/dY of the port model: W_ij = -(Y(j, 2i) - Y(j, 2i + 1)), L_j = s' Y_jj, C = s' Y_off.
        Eigen::MatrixXd a_bw(out, 2 * in), a_bb = Eigen::MatrixXd::Zero(out, out);
        for (int i = 0; i < in; ++i) {
          a_bw.col(2 * i) = -dw.row(i).transpose();
          a_bw.col(2 * i + 1) = dw.row(i).transpose();
        }
        if (circuit) {
          if (dcoup.size() > 0) a_bb = ls * dcoup;
          a_bb.diagonal() = ls * dload;
        }
        kp.models[l]->Gradient(a_bw, a_bb, &gp, &gm);
      } else {
        Eigen::RowVectorXd col = (dload * ls).transpose();
        gp = dw;
        gm = -dw;
        if (circuit) {
          gp.rowwise() += col;
          gm.rowwise() += col;
        }
        if (config_.mapping == SignedMapping::kReferenceColumn) gm.setZero();  // fixed reference
      }
      result.grad.g_plus.push_back(std::move(gp));
      result.grad.g_minus.push_back(std::move(gm));
    }
  }
  return result;
}

size_t Network::TapeBytesPerChunk(int chunk) const { return TapeBytes(config_, chunk); }

size_t TapeBytes(const NetworkConfig& c, int chunk) {
  // Mirrors the Workspace arrays RunChunk sizes for a gradient pass (float kernels).
  const size_t T = c.steps, ns = std::max(1, chunk);
  size_t floats = ns * c.layer_sizes[0], widest = 0;
  for (int l = 0; l < c.num_layers(); ++l) {
    const size_t n_el = ns * c.layer_sizes[l + 1];
    floats += 3 * (T + 1) * n_el + (T + 1) * n_el;  // v, x1, x2; direct
    if (l > 0) floats += T * n_el;                  // drive
    widest = std::max(widest, n_el);
  }
  floats += T * widest;  // dL/dI of the layer being reversed
  return floats * sizeof(float);
}

template PassResult Network::Run<float>(const Parameters&, const float*, const int*, int, bool, int,
                                        int, const parallel::Collective*) const;
template PassResult Network::Run<double>(const Parameters&, const float*, const int*, int, bool,
                                         int, int, const parallel::Collective*) const;

std::vector<double> Network::Trace(const Parameters& p, const float* image, int layer,
                                   int neuron) const {
  if (layer < 0 || layer >= config_.num_layers() || neuron < 0 ||
      neuron >= config_.layer_sizes[layer + 1])
    throw TrainingError(fmt::format("Trace: layer {} neuron {} out of range", layer, neuron));
  const KernelParams<double> kp = MakeKernelParams<double>(config_, p, *line_pools_, 1);
  Workspace<double> ws;
  SampleOutput out;
  RunChunk<double>(config_, isa_, rest_, alpha_, kp, image, nullptr, 0, 1, ws, nullptr, &out);
  std::vector<double> v(config_.steps + 1);
  for (int n = 0; n <= config_.steps; ++n) v[n] = ws.v[layer](n, neuron);
  return v;
}

}  // namespace memspice::training
