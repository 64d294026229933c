// Shared helpers of the adjoint tests: parse a deck from text and run the gradient with checks.
#ifndef MEMSPICE_TESTS_ADJOINT_ADJOINT_TEST_UTIL_H_
#define MEMSPICE_TESTS_ADJOINT_ADJOINT_TEST_UTIL_H_

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/gradient.h"
#include "netlist/netlist.h"

namespace memspice::autodiff::testing {

inline netlist::ParseOptions TestParseOptions() {
  netlist::ParseOptions po;
  po.include_paths.push_back(std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib");
  return po;
}

inline netlist::Netlist ParseDeck(const std::string& text) {
  netlist::Diagnostics diag;
  auto nl = netlist::ParseString(text, "test.cir", TestParseOptions(), diag);
  BOOST_REQUIRE_MESSAGE(nl.has_value(), diag.Format());
  return *nl;
}

inline Reparser MakeReparser(const std::string& text) {
  return [text](const std::map<std::string, double>& overrides,
                std::string* error) -> std::optional<netlist::Netlist> {
    netlist::ParseOptions po = TestParseOptions();
    po.overrides = overrides;
    netlist::Diagnostics diag;
    auto nl = netlist::ParseString(text, "test.cir", po, diag);
    if (!nl) *error = diag.Format();
    return nl;
  };
}

struct CheckSpec {
  std::string objective;
  std::vector<std::string> wrt;
  std::optional<solver::Method> method;
  double fixed_step = 0.0;
  double fd_tol = 1e-5;       // adjoint vs central FD
  double tangent_tol = 1e-9;  // adjoint vs forward sensitivity
  bool fd = true;
  double reltol = 1e-6;
};

inline GradResult CheckGradient(const std::string& deck, const CheckSpec& spec) {
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  BOOST_REQUIRE(o.ApplyNetlistOptions(nl).ok());
  o.method = spec.method;
  o.fixed_step = spec.fixed_step;
  o.reltol = spec.reltol;
  GradRequest req;
  req.objective = spec.objective;
  req.wrt = spec.wrt;
  req.reparse = MakeReparser(deck);
  req.check_fd = spec.fd;
  req.check_tangent = true;
  GradResult r;
  Status s = ComputeGradient(nl, o, req, &r);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message() + " / " + s.hint());
  BOOST_TEST_MESSAGE("method " << r.method << " J = " << r.objective << " steps " << r.steps);
  for (const auto& e : r.entries) {
    BOOST_TEST_MESSAGE("  " << e.name << " adj " << e.gradient << " fd " << e.fd.value_or(0)
                            << " rel " << e.fd_rel_error.value_or(0) << " tan-rel "
                            << e.tangent_rel_error.value_or(0));
    BOOST_CHECK_MESSAGE(std::isfinite(e.gradient), e.name);
    BOOST_CHECK_MESSAGE(e.gradient != 0.0, e.name << " has a zero gradient");
    if (spec.fd) {
      BOOST_CHECK_MESSAGE(*e.fd_rel_error < spec.fd_tol,
                          r.method << " " << e.name << ": adjoint " << e.gradient << " vs FD "
                                   << *e.fd << " (rel " << *e.fd_rel_error << ")");
    }
    BOOST_CHECK_MESSAGE(*e.tangent_rel_error < spec.tangent_tol,
                        r.method << " " << e.name << ": adjoint " << e.gradient << " vs tangent "
                                 << *e.tangent << " (rel " << *e.tangent_rel_error << ")");
  }
  return r;
}

inline const std::vector<solver::Method>& AllMethods() {
  static const std::vector<solver::Method> m = {
      solver::Method::kForwardEuler, solver::Method::kBackwardEuler, solver::Method::kTrapezoidal,
      solver::Method::kGear2, solver::Method::kRk4};
  return m;
}

}  // namespace memspice::autodiff::testing

#endif  // MEMSPICE_TESTS_ADJOINT_ADJOINT_TEST_UTIL_H_
