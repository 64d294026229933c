#include "solver/integrators.h"

namespace memspice::solver {

LmsCoefficients ComputeLms(Method method, double h, double h_prev, bool restart) {
  LmsCoefficients c;
  if (restart || method == Method::kBackwardEuler || method == Method::kForwardEuler ||
      method == Method::kRk4) {
    c.method = Method::kBackwardEuler;
    c.order = 1;
    c.a0 = 1.0 / h;
    c.a1 = -1.0 / h;
    c.err_const = 0.5;
    return c;
  }
  if (method == Method::kTrapezoidal) {
    c.method = Method::kTrapezoidal;
    c.order = 2;
    c.a0 = 2.0 / h;
    c.a1 = -2.0 / h;
    c.b1 = -1.0;
    c.err_const = 1.0 / 12.0;
    return c;
  }
  // Variable-step BDF2: differentiate the quadratic through (t_{n-1}, t_n, t_{n+1}) at t_{n+1}.
  const double h1 = h, h2 = h_prev;
  c.method = Method::kGear2;
  c.order = 2;
  c.a0 = (2.0 * h1 + h2) / (h1 * (h1 + h2));
  c.a1 = -(h1 + h2) / (h1 * h2);
  c.a2 = h1 / (h2 * (h1 + h2));
  // LTE = h1^2 (h1+h2)^2 / (6 (2 h1 + h2)) q''' (2/9 h^3 q''' for equal steps).
  c.err_const = (h1 + h2) * (h1 + h2) / (6.0 * h1 * (2.0 * h1 + h2));
  return c;
}

void LmsCoefficients::History(int n, const double* q_n, const double* q_nm1, const double* qdot_n,
                              double* b) const {
  for (int i = 0; i < n; ++i) b[i] = a1 * q_n[i] + a2 * q_nm1[i] + b1 * qdot_n[i];
}

void PredictLinear(int n, double h, double h_prev, const double* x_n, const double* x_nm1,
                   double* x) {
  const double r = h / h_prev;
  for (int i = 0; i < n; ++i) x[i] = x_n[i] + r * (x_n[i] - x_nm1[i]);
}

bool IsExplicit(Method m) { return m == Method::kForwardEuler || m == Method::kRk4; }

int MethodOrder(Method m) {
  switch (m) {
    case Method::kForwardEuler:
    case Method::kBackwardEuler:
      return 1;
    case Method::kTrapezoidal:
    case Method::kGear2:
      return 2;
    case Method::kRk4:
      return 4;
  }
  return 1;
}

std::vector<char> DifferentialRows(const Circuit& circuit, const std::vector<double>& C) {
  const int n = static_cast<int>(circuit.unknowns().size());
  std::vector<char> diff(n, 0);
  for (int j = 0; j < n; ++j) {
    for (int k = circuit.col_ptr()[j]; k < circuit.col_ptr()[j + 1]; ++k) {
      if (C[k] != 0.0) diff[circuit.row_idx()[k]] = 1;
    }
  }
  return diff;
}

}  // namespace memspice::solver
