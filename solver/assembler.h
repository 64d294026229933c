// Evaluates every device of a circuit into f, q (length n) and the CSC values of G and C.
// Devices write through Entry() handles into handle-indexed arrays; Evaluate() scatters those into
// the CSC order of the circuit's pattern. All buffers are allocated once.
#ifndef MEMSPICE_SOLVER_ASSEMBLER_H_
#define MEMSPICE_SOLVER_ASSEMBLER_H_

#include <vector>

#include "solver/circuit.h"

namespace memspice::solver {

struct EvalRequest {
  double time = 0.0;
  bool dc = false;
  double gmin = 1e-12;         // passed to devices (junction gmin)
  double dc_node_gmin = 0.0;   // added from the circuit's dc_gmin_nodes() to ground when dc
  double all_node_gmin = 0.0;  // added from every node to ground (gmin stepping)
  double source_scale = 1.0;
  bool init_junctions = false;
  bool matrices = true;  // false: G/C values are not needed (linear circuits reuse them)
  const devices::BypassTolerances* bypass = nullptr;  // EvalContext::bypass
};

class Assembler {
 public:
  explicit Assembler(Circuit& circuit);

  // Evaluates all devices at x (length n) and time. f/q/G/C stay valid until the next call.
  void Evaluate(const double* x, const EvalRequest& request);

  // f(0, t) of the source devices (Device::IsSource) alone into f(), which for a linear circuit
  // is the source term of f(x, t) = G x + f(0, t). q(), G() and C() are left as they were.
  void EvaluateSources(const EvalRequest& request);

  const double* f() const { return f_.data() + 1; }
  const double* q() const { return q_.data() + 1; }
  double* mutable_f() { return f_.data() + 1; }
  double* mutable_q() { return q_.data() + 1; }
  // CSC values (circuit.nnz()) of G = df/dx and C = dq/dx from the last call with matrices=true.
  const std::vector<double>& G() const { return g_csc_; }
  const std::vector<double>& C() const { return c_csc_; }
  Circuit& circuit() { return circuit_; }
  int num_evaluations() const { return num_evaluations_; }
  // How many device voltages Newton limiting moved in the last Evaluate (EvalContext::limited).
  int num_limited() const { return num_limited_; }

 private:
  // The context of one evaluation pass: the request's time and modes, the given x and q arrays,
  // this assembler's f and handle arrays.
  devices::EvalContext Context(const EvalRequest& r, const double* x, double* q);

  Circuit& circuit_;
  int n_;
  std::vector<double> x_, f_, q_;  // each with a scratch slot at [0] (= index -1)
  std::vector<double> g_handles_, c_handles_;
  std::vector<double> g_csc_, c_csc_;
  std::vector<devices::Device*> sources_;
  std::vector<double> zero_x_, scratch_q_;  // x = 0 and a q sink for EvaluateSources
  int num_evaluations_ = 0;
  int num_limited_ = 0;
};

// y += A x for a CSC matrix (pattern of `circuit`, values `a`).
void CscMultiplyAdd(const Circuit& circuit, const double* a, const double* x, double* y);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_ASSEMBLER_H_
