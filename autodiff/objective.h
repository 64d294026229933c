// Objectives over a transient trajectory, as text:
//
//     OBJ  := [+|-] TERM { (+|-) TERM }
//     TERM := [NUMBER *] KIND(ARGS)
//     integral(expr)       trapezoidal rule over the accepted time points
//     final(expr)          expr at the last time point
//     at(expr, T)          expr linearly interpolated at time T (in [tstart, tstop])
//     mean(expr)           integral(expr) / (t_end - t_0)
//     mse(signal, FILE)    mean over the target's rows of (signal(t_j) - y_j)^2, signal linearly
//                          interpolated at the target times t_j; FILE is a CSV (header row,
//                          first column time, target column named like the signal or the only
//                          other column); target rows outside the simulated span are ignored
//
// expr is any expression of the netlist dialect over v(a), v(a,b), i(vsrc), x(m1) (memristor
// states, any unknown named "x(...)"), `time` and the deck's .param values.
//
// The objective is separable in a fixed way: every term reads one scalar e_k(x_n, t_n) per time
// point; J = combine(e) depends on the time grid only through constants. The driver streams
// TermValue() along the trajectory, calls Combine() once, and the reverse pass asks
// TermGradient() at every point with the weights dJ/de.
#ifndef MEMSPICE_AUTODIFF_OBJECTIVE_H_
#define MEMSPICE_AUTODIFF_OBJECTIVE_H_

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "netlist/expression.h"
#include "netlist/netlist.h"
#include "solver/circuit.h"

namespace memspice::autodiff {

class Objective {
 public:
  enum class Kind { kIntegral, kFinal, kAt, kMean, kMse };

  // Parses `text` against a built circuit; errors name the term and the column.
  static Status Parse(const std::string& text, const netlist::Netlist& netlist,
                      const solver::Circuit& circuit, Objective* out);

  int num_terms() const { return static_cast<int>(terms_.size()); }
  const std::string& text() const { return text_; }

  // Value of term k's expression at unknowns x and time t; if dx is non-null, adds
  // weight * d(expr)/dx into dx (length n).
  double TermValue(int k, const double* x, double t, double weight = 0.0,
                   double* dx = nullptr) const;

  // J from the term values values[k][n] at times[n] (n over the trajectory); dvalues receives
  // dJ/dvalues[k][n]. Fails if a time T or a target lies outside the trajectory.
  Status Combine(const std::vector<double>& times, const std::vector<std::vector<double>>& values,
                 double* objective, std::vector<std::vector<double>>* dvalues) const;

 private:
  struct Term {
    Kind kind = Kind::kFinal;
    double coef = 1.0;
    std::string text;
    netlist::Expr expr;
    std::vector<int> plus, minus;  // per probe: unknown indices (-1 = ground)
    double at_time = 0.0;
    std::vector<double> target_t, target_y;  // mse
  };
  std::string text_;
  std::vector<Term> terms_;
};

}  // namespace memspice::autodiff

#endif  // MEMSPICE_AUTODIFF_OBJECTIVE_H_
