// A scalar type whose arithmetic writes ngspice expression text. Instantiating a device's
// templated equations (e.g. mss::Current) with it yields the behavioural expression the ngspice
// export writes, so the exported model and the simulated one come from the same source.
//
// Only +, -, *, / and the primitives below are supported. Functions of the equation templates
// that branch on a value (Sigmoid, LimitedExp, HasDiodeBranch) have overloads here, found by
// argument-dependent lookup, that write the equivalent branch-free ngspice form.
#ifndef MEMSPICE_DEVICES_NGSPICE_EXPR_H_
#define MEMSPICE_DEVICES_NGSPICE_EXPR_H_

#include <string>
#include <utility>

namespace memspice::devices::spice {

class NgExpr {
 public:
  NgExpr() : text_("0") {}
  // A number, written exactly (shortest round-trip form).
  NgExpr(double v);  // NOLINT(google-explicit-constructor): the templates write T(1.0)
  // Expression text as ngspice reads it: "V(a,b)", "1000", "({ron})".
  static NgExpr Raw(std::string text) {
    NgExpr e;
    e.text_ = std::move(text);
    return e;
  }
  const std::string& text() const { return text_; }
  bool IsNumber(double v) const;

  NgExpr& operator+=(const NgExpr& b);
  NgExpr& operator-=(const NgExpr& b);

 private:
  std::string text_;
};

NgExpr operator+(const NgExpr& a, const NgExpr& b);
NgExpr operator-(const NgExpr& a, const NgExpr& b);
NgExpr operator*(const NgExpr& a, const NgExpr& b);
NgExpr operator/(const NgExpr& a, const NgExpr& b);
NgExpr operator-(const NgExpr& a);
NgExpr exp(const NgExpr& a);

// Beyond this |z| ngspice's exp would overflow in 1 + exp(-z); the logistic function is 0 or 1
// to double precision long before (sigma(-200) ~ 1e-87).
inline constexpr double kSigmoidClamp = 200.0;

// A parameter value as written in a deck (a number with engineering suffix, {expr}, 'expr' or a
// .param name) as an ngspice operand; numbers are written out exactly.
NgExpr Operand(const std::string& value_text);

// "V(p,n)", or "V(p)" when n is ground.
NgExpr Voltage(const std::string& p, const std::string& n);

// The exporter drives node mss_dc with `Vmss_dc mss_dc 0 DC 1 PWL(0 1 1p 0)`: the flag is 1 in
// every DC analysis and 0 in a transient after 1 ps. Exported devices use it to hold states at
// their initial values in DC and to see t = 0 there (ngspice lags `time` in DC sweeps).
inline constexpr const char* kDcFlag = "V(mss_dc)";

// Branch-free forms of the primitives of the equation templates (devices/mss_model.h).
NgExpr Sigmoid(const NgExpr& z);
NgExpr LimitedExp(const NgExpr& z);
// The diode branch of the MSS current is written unless phi is literally 1.
bool HasDiodeBranch(const NgExpr& phi);

}  // namespace memspice::devices::spice

#endif  // MEMSPICE_DEVICES_NGSPICE_EXPR_H_
