#define BOOST_TEST_MODULE netlist_expression
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "netlist/expression.h"

namespace nl = memspice::netlist;

namespace {

// Parses and resolves `text` with the given parameters; fails the test on errors.
std::shared_ptr<nl::Expression> Compile(const std::string& text,
                                        const std::map<std::string, double>& params = {},
                                        nl::Diagnostics* diag_out = nullptr) {
  nl::Diagnostics diag;
  nl::Diagnostics& d = diag_out != nullptr ? *diag_out : diag;
  auto e = nl::Expression::Parse(text, {"t", 1, 1}, d);
  if (!e) return nullptr;
  nl::Scope scope;
  scope.param = [&params](const std::string& n) -> std::optional<double> {
    auto it = params.find(n);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  return e->Resolve(scope, d);
}

double Eval(const std::string& text, const std::map<std::string, double>& params = {}) {
  nl::Diagnostics diag;
  auto e = Compile(text, params, &diag);
  BOOST_TEST_REQUIRE(e != nullptr, "expression '" << text << "' failed: " << diag.Format());
  BOOST_TEST(e->IsConstant());
  return e->EvaluateConstant();
}

std::string FirstError(const std::string& text) {
  nl::Diagnostics diag;
  auto e = Compile(text, {}, &diag);
  BOOST_TEST(e == nullptr);
  BOOST_TEST_REQUIRE(diag.has_errors());
  const nl::Diagnostic& d = diag.items().front();
  return std::to_string(d.loc.col) + ": " + d.message;
}

}  // namespace

BOOST_AUTO_TEST_CASE(spice_numbers) {
  struct Case {
    const char* text;
    double value;
  };
  const Case cases[] = {
      {"1", 1},       {"2.5k", 2.5e3}, {"1MEG", 1e6},     {"1meg", 1e6}, {"10uF", 10e-6},
      {"1e-3", 1e-3}, {"3m", 3e-3},    {"4n", 4e-9},      {"5p", 5e-12}, {"6f", 6e-15},
      {"7g", 7e9},    {"8t", 8e12},    {"1mil", 25.4e-6}, {".5", 0.5},   {"-2.5e2", -250},
      {"1kohm", 1e3}, {"1.5V", 1.5},   {"2E3", 2000},     {"+3", 3},     {"1e", 1},
  };
  for (const Case& c : cases) {
    std::optional<double> v = nl::ParseSpiceNumber(c.text);
    BOOST_TEST_REQUIRE(v.has_value(), c.text);
    BOOST_TEST(*v == c.value, boost::test_tools::tolerance(1e-12));
  }
  for (const char* bad : {"1x5", "abc", "", "-", ".", "1k5", "1e3.2", "5$"}) {
    BOOST_TEST(!nl::ParseSpiceNumber(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(arithmetic_and_precedence) {
  BOOST_TEST(Eval("1+2*3") == 7.0);
  BOOST_TEST(Eval("(1+2)*3") == 9.0);
  BOOST_TEST(Eval("2^3^2") == 64.0);  // left associative, as ngspice
  BOOST_TEST(Eval("2**3") == 8.0);
  BOOST_TEST(Eval("-2^2") == -4.0);
  BOOST_TEST(Eval("2^-1") == 0.5);
  BOOST_TEST(Eval("10/4") == 2.5);
  BOOST_TEST(Eval("1k*2") == 2000.0);
  BOOST_TEST(Eval("{1+1}") == 2.0);
  BOOST_TEST(Eval("'3*3'") == 9.0);
  BOOST_TEST(Eval("3 > 2 && 1 < 2") == 1.0);
  BOOST_TEST(Eval("3 >= 4 || 0") == 0.0);
  BOOST_TEST(Eval("!0") == 1.0);
  BOOST_TEST(Eval("2 == 2") == 1.0);
  BOOST_TEST(Eval("2 != 2") == 0.0);
  BOOST_TEST(Eval("1 <= 1") == 1.0);
  BOOST_TEST(Eval("1 ? 5 : 6") == 5.0);
  BOOST_TEST(Eval("0 ? 5 : 1 ? 7 : 8") == 7.0);
  BOOST_TEST(Eval("if(0, 1, 2)") == 2.0);
  BOOST_TEST(Eval("a*b+c", {{"a", 2}, {"b", 3}, {"c", 4}}) == 10.0);
}

BOOST_AUTO_TEST_CASE(builtin_functions) {
  const double tol = 1e-12;
  BOOST_TEST(Eval("sin(0.3)") == std::sin(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("cos(0.3)") == std::cos(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("tan(0.3)") == std::tan(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("asin(0.3)") == std::asin(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("acos(0.3)") == std::acos(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("atan(0.3)") == std::atan(0.3), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("atan2(1, -1)") == std::atan2(1, -1), boost::test_tools::tolerance(tol));
  BOOST_TEST(
      Eval("sinh(0.3)+cosh(0.3)+tanh(0.3)") == std::sinh(0.3) + std::cosh(0.3) + std::tanh(0.3),
      boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("exp(1)") == std::exp(1.0), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("ln(10)") == std::log(10.0), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("log(10)") == std::log(10.0), boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("log10(1000)") == 3.0, boost::test_tools::tolerance(tol));
  BOOST_TEST(Eval("sqrt(16)") == 4.0);
  BOOST_TEST(Eval("abs(-3)") == 3.0);
  BOOST_TEST(Eval("min(2, 3)") == 2.0);
  BOOST_TEST(Eval("max(2, 3)") == 3.0);
  BOOST_TEST(Eval("pow(2, 10)") == 1024.0);
  BOOST_TEST(Eval("pwr(-8, 1/3)") == -2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Eval("sgn(-4)") == -1.0);
  BOOST_TEST(Eval("sign(0)") == 0.0);
  BOOST_TEST(Eval("floor(-1.5)") == -2.0);
  BOOST_TEST(Eval("ceil(1.2)") == 2.0);
  BOOST_TEST(Eval("int(-1.7)") == -1.0);
  BOOST_TEST(Eval("nint(2.5)") == 2.0);  // halves to even, as ngspice
  BOOST_TEST(Eval("nint(3.5)") == 4.0);
  BOOST_TEST(Eval("limit(5, 0, 2)") == 2.0);
  BOOST_TEST(Eval("limit(-5, 0, 2)") == 0.0);
  BOOST_TEST(Eval("limit(1, 0, 2)") == 1.0);
  BOOST_TEST(Eval("u(0.1) + u(-0.1)") == 1.0);
  BOOST_TEST(Eval("u(0)") == 0.5);
  BOOST_TEST(Eval("uramp(-2) + uramp(3)") == 3.0);
  BOOST_TEST(Eval("pi") == std::numbers::pi, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(guards_never_give_nan) {
  for (const char* text : {"1/0", "-1/0", "ln(0)", "ln(-1)", "log10(-5)", "sqrt(-4)",
                           "pow(-2, 0.5)", "(-2)^0.5", "asin(2)", "acos(-3)", "exp(1000)", "0^-1",
                           "exp(exp(1000))", "1/0 - 1/0", "atan2(0,0)", "tan(pi/2)"}) {
    double v = Eval(text);
    BOOST_TEST(std::isfinite(v), text << " = " << v);
  }
  BOOST_TEST(Eval("sqrt(-4)") == 0.0);
  BOOST_TEST(Eval("asin(2)") == std::numbers::pi / 2, boost::test_tools::tolerance(1e-15));
  // ngspice B-source semantics: |x|^y, and division by |b| < 1e-32 uses +-1e-32.
  BOOST_TEST(Eval("(-2)^3") == 8.0);
  BOOST_TEST(Eval("pow(-8, 1/3)") == 2.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Eval("pwr(-2, 3)") == -8.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Eval("1/0") == 1e32, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Eval("-5/0") == -5e32, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(Eval("1/(-1e-40)") == -1e32, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(probes_time_and_temper) {
  auto e = Compile("V(a)*V(b,c) + I(v1)*time + temper");
  BOOST_TEST_REQUIRE(e != nullptr);
  BOOST_TEST(!e->IsConstant());
  BOOST_TEST(e->uses_time());
  BOOST_TEST_REQUIRE(e->probes().size() == 3u);
  BOOST_TEST(e->probes()[0].a == "a");
  BOOST_TEST(e->probes()[1].a == "b");
  BOOST_TEST(e->probes()[1].b == "c");
  BOOST_TEST((e->probes()[2].kind == nl::Probe::Kind::kCurrent));
  BOOST_TEST(e->probes()[2].a == "v1");
  double x[3] = {2, 3, 4}, d[3];
  double v = e->Evaluate(x, 0.5, 27.0, d);
  BOOST_TEST(v == 2 * 3 + 4 * 0.5 + 27.0);
  BOOST_TEST(d[0] == 3.0);
  BOOST_TEST(d[1] == 2.0);
  BOOST_TEST(d[2] == 0.5);
}

BOOST_AUTO_TEST_CASE(probe_mapping_and_ground) {
  nl::Diagnostics parse_diag;
  auto e = nl::Expression::Parse("V(n1) + V(0, n2) + V(gnd) + I(vs)", {"t", 1, 1}, parse_diag);
  BOOST_TEST_REQUIRE(e != nullptr);
  nl::Scope scope;
  scope.map_node = [](const std::string& n) { return n == "0" ? n : "x1." + n; };
  scope.map_element = [](const std::string& n) { return "x1." + n; };
  nl::Diagnostics diag;
  auto r = e->Resolve(scope, diag);
  BOOST_TEST_REQUIRE(r != nullptr);
  BOOST_TEST_REQUIRE(r->probes().size() == 3u);
  BOOST_TEST(r->probes()[0].a == "x1.n1");
  BOOST_TEST(r->probes()[1].a == "x1.n2");
  BOOST_TEST(r->probes()[2].a == "x1.vs");
  double x[3] = {1.0, 0.25, 2.0}, d[3];
  BOOST_TEST(r->Evaluate(x, 0, 27, d) == 1.0 - 0.25 + 2.0);
  BOOST_TEST(d[1] == -1.0);
}

// Every derivative must agree with a central finite difference at smooth points.
BOOST_AUTO_TEST_CASE(derivatives_match_finite_differences) {
  const char* exprs[] = {
      "V(a)*V(b)",
      "V(a)/V(b)",
      "V(a)^3 - 2*V(b)**2",
      "sin(V(a))*cos(V(b)) + tan(0.3*V(a))",
      "exp(V(a)-V(b)) + ln(V(b)) + log10(V(a)+2) + sqrt(V(b))",
      "asin(0.3*V(a)) + acos(0.2*V(b)) + atan(V(a)*V(b)) + atan2(V(a), V(b))",
      "sinh(V(a)) + cosh(V(b)) + tanh(V(a)*V(b))",
      "pow(V(b), V(a)) + pwr(V(a)-2, 1.5) + pwr(V(a), 2.5) + (V(a)-1)^3 + (1-V(b))**2.5",
      "abs(V(a)-2) + min(V(a), V(b)) + max(V(a)*2, V(b))",
      "V(a) > V(b) ? V(a)*V(a) : V(b)",
      "limit(V(a), 0, 1) + limit(V(b), 0, 10) + uramp(V(a)-0.5)",
      "-V(a,b) + I(v1)*V(a)",
      "if(V(a) < 1, 3*V(b), 2)",
      "asinh(V(a)) + acosh(V(b) + 1.5) + atanh(0.3*V(a))",
      "sqr(V(a) - V(b)) + u2(0.5*V(a)) + pwl(V(b), 0,0, 1,2, 3,1)",
      "ternary_fcn(gt0(V(a) - 1), V(a)*V(b), V(b)) + le0(V(b))",
  };
  const double points[][3] = {{0.7, 1.3, 0.4}, {1.9, 0.6, -0.8}, {0.35, 2.2, 1.5}};
  for (const char* text : exprs) {
    nl::Diagnostics diag;
    auto e = Compile(text, {}, &diag);
    BOOST_TEST_REQUIRE(e != nullptr, text << ": " << diag.Format());
    const size_t n = e->probes().size();
    for (const auto& p : points) {
      std::vector<double> x(n), d(n);
      for (size_t k = 0; k < n; ++k) {
        const nl::Probe& pr = e->probes()[k];
        x[k] = pr.kind == nl::Probe::Kind::kCurrent
                   ? p[2]
                   : (pr.b.empty() ? (pr.a == "a" ? p[0] : p[1]) : p[0] - p[1]);
      }
      e->Evaluate(x.data(), 0, 27, d.data());
      for (size_t k = 0; k < n; ++k) {
        const double h = 1e-6 * std::max(1.0, std::fabs(x[k]));
        std::vector<double> xp = x, xm = x;
        xp[k] += h;
        xm[k] -= h;
        double fd = (e->Evaluate(xp.data(), 0, 27) - e->Evaluate(xm.data(), 0, 27)) / (2 * h);
        BOOST_TEST(std::fabs(d[k] - fd) <= 1e-5 * std::max(1.0, std::fabs(fd)),
                   text << " probe " << k << ": exact " << d[k] << " vs fd " << fd);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(one_sided_derivatives_at_kinks) {
  auto e = Compile("abs(V(a)) + max(V(a), 0) + sqrt(V(a)) + u(V(a)) + floor(V(a))");
  BOOST_TEST_REQUIRE(e != nullptr);
  double x = 0.0, d = 0.0;
  double v = e->Evaluate(&x, 0, 27, &d);
  BOOST_TEST(std::isfinite(v));
  BOOST_TEST(std::isfinite(d));
  BOOST_TEST(d > 0.0);  // right derivatives: abs -> 1, max -> 1, sqrt -> huge but finite
  x = -1.0;
  e->Evaluate(&x, 0, 27, &d);
  BOOST_TEST(d == -1.0);  // abs' = -1, max' = 0, sqrt guarded = 0
}

BOOST_AUTO_TEST_CASE(user_functions_and_recursion) {
  nl::Diagnostics diag;
  auto body = nl::Expression::Parse("x*x + y", {"t", 1, 1}, diag);
  nl::FuncDef f{"sq", {"x", "y"}, body->root(), {"t", 1, 1}};
  auto rbody = nl::Expression::Parse("rec(x)", {"t", 1, 1}, diag);
  nl::FuncDef rec{"rec", {"x"}, rbody->root(), {"t", 1, 1}};
  nl::Scope scope;
  scope.func = [&](const std::string& n) -> const nl::FuncDef* {
    if (n == "sq") return &f;
    if (n == "rec") return &rec;
    return nullptr;
  };
  auto e = nl::Expression::Parse("sq(3, 1) + sq(V(a), 0)", {"t", 1, 1}, diag)->Resolve(scope, diag);
  BOOST_TEST_REQUIRE(e != nullptr);
  double x = 2.0, d = 0.0;
  BOOST_TEST(e->Evaluate(&x, 0, 27, &d) == 10.0 + 4.0);
  BOOST_TEST(d == 4.0);
  auto bad = nl::Expression::Parse("sq(1)", {"t", 1, 1}, diag)->Resolve(scope, diag);
  BOOST_TEST(bad == nullptr);
  BOOST_TEST(diag.items().back().message.find("takes 2 arguments") != std::string::npos);
  auto r = nl::Expression::Parse("rec(1)", {"t", 1, 1}, diag)->Resolve(scope, diag);
  BOOST_TEST(r == nullptr);
  BOOST_TEST(diag.items().back().message.find("recursive") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(parse_errors_have_columns) {
  BOOST_TEST(FirstError("1 + ") == "5: unexpected end of expression");
  BOOST_TEST(FirstError("(1 + 2") == "7: expected ')' but found end of expression");
  BOOST_TEST(FirstError("2 * foo") == "5: unknown parameter 'foo'");
  BOOST_TEST(FirstError("bar(1)") == "1: unknown function 'bar'");
  BOOST_TEST(FirstError("min(1)") == "1: function 'min' takes 2 arguments, got 1");
  BOOST_TEST(FirstError("1 2") == "3: unexpected '2' in expression");
  BOOST_TEST(FirstError("3 + 1x5") == "5: '1x5' is not a number; expected e.g. 1k, 2.5u, 1e-3");
  BOOST_TEST(FirstError("V(a,b,c)") == "1: V() takes one or two node names, got 3");
  BOOST_TEST(FirstError("1 ? 2") == "6: expected ':' of '? :' but found end of expression");
}

BOOST_AUTO_TEST_CASE(nesting_depth_is_limited) {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  std::string msg = FirstError(deep);
  BOOST_TEST(msg.find("nested too deeply") != std::string::npos);
  std::string minus(5000, '-');
  minus += "1";
  BOOST_TEST(FirstError(minus).find("nested too deeply") != std::string::npos);
}
