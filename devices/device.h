// The device contract. Every device contributes to one differential-algebraic system
//
//     f(x, p, t) + d/dt q(x, p) = 0        x: unknowns (node voltages, branch currents, states)
//     G = df/dx,  C = dq/dx                p: parameters (element values, model parameters, x0)
//
// Row i of f is KCL at node i (currents leaving the node count positive), a branch equation, or
// a state equation. A memristor's state is an internal unknown with its own row (q = x,
// f = -dx/dt), as Xyce does, so integrators and the adjoint need no special case.
//
// Lifecycle (once per circuit): Setup() resolves nodes and declares internal unknowns;
// Bind() requests matrix entries and keeps the handles; Evaluate() is then called at every
// Newton iteration and writes into f, q, G, C through those handles.
//
// Ground convention: the ground node has index kGround = -1, and every array a device writes
// (f, q, G, C) and reads (x) has a valid scratch slot at index -1 (x[-1] == 0). Devices write
// ground rows and entries like any other and never branch on ground.
#ifndef MEMSPICE_DEVICES_DEVICE_H_
#define MEMSPICE_DEVICES_DEVICE_H_

#include <complex>
#include <memory>
#include <string>
#include <vector>

#include "netlist/diagnostics.h"
#include "netlist/netlist.h"

namespace memspice::devices {

inline constexpr int kGround = -1;

enum class UnknownKind { kNode, kBranch, kState };

// Phase 1: nodes and internal unknowns.
class SetupContext {
 public:
  virtual ~SetupContext() = default;
  // Index of the node unknown for a flattened node name; "0" gives kGround.
  virtual int Node(const std::string& name) = 0;
  // Adds an internal unknown and returns its index. `output_name` is how it appears in outputs:
  // "i(v1)" for a branch current, "x(m1)" for a memristor state, "a1#a" for hidden states.
  virtual int AddUnknown(const std::string& output_name, UnknownKind kind) = 0;
  virtual netlist::Diagnostics& diag() = 0;
};

// Phase 2: sparsity. All unknowns exist now.
class BindContext {
 public:
  virtual ~BindContext() = default;
  // Branch-current unknown of a voltage-defined element (V, L, E, H, B with V=), by flattened
  // name; -1 if the element has none (then report an error naming it).
  virtual int Branch(const std::string& element) = 0;
  // Requests the matrix entry (row, col) in both G and C; returns a handle to index G and C
  // values. Rows or columns equal to kGround give the scratch handle -1.
  virtual int Entry(int row, int col) = 0;
  virtual netlist::Diagnostics& diag() = 0;
};

// Analysis facts some devices need (PULSE defaults use tstep/tstop).
struct AnalysisInfo {
  double tstep = 0.0;
  double tstop = 0.0;
  double temp = 27.0;  // Celsius
};

// Newton tolerances for SPICE's bypass (EvalContext::bypass).
struct BypassTolerances {
  double reltol = 1e-3;
  double vntol = 1e-6;    // V
  double abstol = 1e-12;  // A
};

struct EvalContext {
  const double* x = nullptr;  // unknowns; x[-1] == 0
  double time = 0.0;
  bool dc = false;      // operating point / DC sweep: q is ignored; states hold initial values
  double gmin = 1e-12;  // conductance devices add across nonlinear junctions
  double source_scale = 1.0;  // independent sources multiply their value by this (source stepping)
  bool init_junctions = false;  // first Newton iteration from scratch: use device initial guesses
  // Devices add 1 when Newton limiting moved one of their voltages away from x (SPICE's
  // "noncon"): the iterate is then not converged, however small the update was.
  int limited = 0;
  // Non-null: a device may reuse its last evaluation, linearised to x, when its terminal voltages
  // and the currents that linearisation predicts moved less than these tolerances since (SPICE's
  // bypass). Transient Newton iterations after the first set it; other callers never do.
  const BypassTolerances* bypass = nullptr;
  // Outputs; all have a scratch slot at [-1]. Devices add (+=) into them; the caller zeroes.
  double* f = nullptr;
  double* q = nullptr;
  double* G = nullptr;  // values indexed by Entry() handles
  double* C = nullptr;
};

// Receives exact parameter partials of one device, row by row (a row may come more than once: add).
// Rows are unknown indices; kGround rows may be passed and are to be ignored.
class ParamSink {
 public:
  virtual ~ParamSink() = default;
  // df_row/dp += df, dq_row/dp += dq.
  virtual void Add(int row, double df, double dq) = 0;
};

// ParamHandle() result for a parameter the device cannot differentiate exactly.
inline constexpr int kNoParamPartial = -1;

class Device {
 public:
  Device(std::string name, netlist::SourceLoc loc) : name_(std::move(name)), loc_(std::move(loc)) {}
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& name() const { return name_; }
  const netlist::SourceLoc& loc() const { return loc_; }

  virtual void Setup(SetupContext& ctx) = 0;
  virtual void Bind(BindContext& ctx) = 0;
  virtual void Evaluate(EvalContext& ctx) = 0;

  // f and q are linear in x with constant G and C (a time-dependent source term is allowed).
  // A circuit of linear devices is factored once per step size.
  virtual bool IsLinear() const { return false; }
  // f(0, t) can be nonzero: the device has a source term, a function of time only (independent
  // and time-only behavioural sources). A linear circuit's transient evaluates only these per
  // step: f(x, t) = G x + f_sources(0, t).
  virtual bool IsSource() const { return false; }
  // Evaluate() keeps state from call to call (Newton limiting of junction voltages), so f and q
  // at x can depend on the previous evaluation point.
  virtual bool HasLimitingState() const { return false; }
  // Called before an analysis starts.
  virtual void SetAnalysis(const AnalysisInfo& info) {}
  // Appends the times in [0, tstop] where the device's inputs have corners.
  virtual void Breakpoints(double tstop, std::vector<double>* out) const {}
  // Writes initial values of this device's internal states (memristor x0, inductor IC=), used
  // for the DC hold of states and for `uic`.
  virtual void InitialState(double* x) const {}
  // Checks the device's unknowns after an accepted step; returns an empty string if fine, else a
  // description of what is wrong (e.g. "state x(m1) = 1.7 left [0, 1]"). Called only for
  // nonlinear devices and sources (linear passive elements are trusted).
  virtual std::string CheckState(const double* x) const { return {}; }
  // DC sweep of an independent source: sets its DC value. Returns false if not a source.
  virtual bool SetDcValue(double value) { return false; }
  // Small-signal (.ac) excitation: adds -df/du * U to b, where U is the phasor of the device's
  // `AC mag phase` input, so that the AC solution X solves (G + j w C) X = b. b has a scratch
  // slot at index -1 (kGround). Only independent sources with an AC value add anything.
  virtual void AcStimulus(std::complex<double>* b) const {}
  // .ac analysis: true while the device is linearised for AC, so elements with a separate AC
  // value (`R1 a b 1k ac=2k`) report it in G and C.
  virtual void SetAcMode(bool ac) {}

  // Exact parameter partials (optional; the gradient falls back to finite differences of rebuilt
  // circuits). `key` names the parameter as written in the deck: "value" for the element's main
  // value (R, C, L, gain, DC value of a source, diode area), else a parameter of the instance
  // (`model_card` false: "x0", "ic", "area") or of its .model card (`model_card` true: "tau",
  // "is"). Returns a handle >= 0 for the two functions below, or kNoParamPartial.
  virtual int ParamHandle(const std::string& key, bool model_card) const { return kNoParamPartial; }
  // df/dp and dq/dp at ctx.x in the mode of ctx (time, dc, gmin, source_scale), as Evaluate
  // would see them once junction limiting has settled (no limiting is applied); ctx's output
  // arrays are not used.
  virtual void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const {}
  // d(InitialState)/dp, reported as out.Add(row, dx_row/dp, 0).
  virtual void InitialStatePartial(int handle, ParamSink& out) const {}

 private:
  std::string name_;
  netlist::SourceLoc loc_;
};

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_DEVICE_H_
