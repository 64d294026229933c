// Integration formulas as coefficient objects. Implicit linear multistep methods approximate
//
//     dq/dt(t_{n+1}) ~= a0 q_{n+1} + a1 q_n + a2 q_{n-1} + b1 qdot_n
//
// so a step solves f(x_{n+1}, t_{n+1}) + a0 q(x_{n+1}) + hist = 0 with Jacobian G + a0 C.
// The adjoint (autodiff/) uses the same coefficients to differentiate the scheme actually run.
#ifndef MEMSPICE_SOLVER_INTEGRATORS_H_
#define MEMSPICE_SOLVER_INTEGRATORS_H_

#include <vector>

#include "solver/circuit.h"
#include "solver/simulator.h"

namespace memspice::solver {

struct LmsCoefficients {
  Method method = Method::kBackwardEuler;  // the formula used (BE on restarts of trap/Gear2)
  int order = 1;
  double a0 = 0, a1 = 0, a2 = 0, b1 = 0;
  // Local truncation error constant: LTE = err_const * h^(order+1) * q^(order+1).
  double err_const = 0.5;

  // The history term b = a1 q_n + a2 q_{n-1} + b1 qdot_n of the step (length n vectors).
  void History(int n, const double* q_n, const double* q_nm1, const double* qdot_n,
               double* b) const;
};

// Predictor of a nonlinear step: x_{n+1} ~= x_n + (h / h_prev) (x_n - x_{n-1}), into x.
// Shared by the simulator and the adjoint's replay so that both start Newton from the same guess.
void PredictLinear(int n, double h, double h_prev, const double* x_n, const double* x_nm1,
                   double* x);

// Coefficients for step h = t_{n+1} - t_n; h_prev = t_n - t_{n-1} (Gear2 only). `restart`
// selects backward Euler (first step, after breakpoints) for trap and Gear2.
LmsCoefficients ComputeLms(Method method, double h, double h_prev, bool restart);

bool IsExplicit(Method m);

// The rows whose charge depends on x (a nonzero of C, the values of the circuit's pattern): 1 for
// these differential rows, 0 for the algebraic ones. Explicit methods integrate the first and
// solve the second at every stage; a uic start keeps the first and solves the second.
std::vector<char> DifferentialRows(const Circuit& circuit, const std::vector<double>& C);
// Order of accuracy of a method (1 for FE/BE, 2 for trap/Gear2, 4 for RK4).
int MethodOrder(Method m);

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_INTEGRATORS_H_
