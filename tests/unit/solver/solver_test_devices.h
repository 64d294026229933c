// Minimal devices for solver tests, independent of the device library: R, C, L, V (with a time
// function and breakpoints), I, an exponential diode without limiting, and a "dead" two-terminal
// element that stamps nothing (to provoke a singular matrix).
#ifndef MEMSPICE_TESTS_UNIT_SOLVER_SOLVER_TEST_DEVICES_H_
#define MEMSPICE_TESTS_UNIT_SOLVER_SOLVER_TEST_DEVICES_H_

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/device.h"
#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace memspice::solver::testing {

using devices::BindContext;
using devices::EvalContext;
using devices::SetupContext;

class TwoTerminal : public devices::Device {
 public:
  TwoTerminal(std::string name, std::string a, std::string b)
      : Device(std::move(name), {}), na_(std::move(a)), nb_(std::move(b)) {}
  void Setup(SetupContext& ctx) override {
    a_ = ctx.Node(na_);
    b_ = ctx.Node(nb_);
  }
  void Bind(BindContext& ctx) override {
    aa_ = ctx.Entry(a_, a_);
    ab_ = ctx.Entry(a_, b_);
    ba_ = ctx.Entry(b_, a_);
    bb_ = ctx.Entry(b_, b_);
  }

 protected:
  void Stamp(double* m, double g) {
    m[aa_] += g;
    m[bb_] += g;
    m[ab_] -= g;
    m[ba_] -= g;
  }
  std::string na_, nb_;
  int a_ = -1, b_ = -1, aa_ = -1, ab_ = -1, ba_ = -1, bb_ = -1;
};

class TestR : public TwoTerminal {
 public:
  TestR(std::string name, std::string a, std::string b, double r)
      : TwoTerminal(std::move(name), std::move(a), std::move(b)), g_(1.0 / r) {}
  void Evaluate(EvalContext& c) override {
    const double i = g_ * (c.x[a_] - c.x[b_]);
    c.f[a_] += i;
    c.f[b_] -= i;
    Stamp(c.G, g_);
  }
  bool IsLinear() const override { return true; }

 private:
  double g_;
};

class TestC : public TwoTerminal {
 public:
  TestC(std::string name, std::string a, std::string b, double cap)
      : TwoTerminal(std::move(name), std::move(a), std::move(b)), c_(cap) {}
  void Evaluate(EvalContext& c) override {
    const double q = c_ * (c.x[a_] - c.x[b_]);
    c.q[a_] += q;
    c.q[b_] -= q;
    Stamp(c.C, c_);
  }
  bool IsLinear() const override { return true; }

 private:
  double c_;
};

// Exponential junction i = is (exp(v / vt) - 1), no limiting (tests the DC fallbacks).
class TestDiode : public TwoTerminal {
 public:
  TestDiode(std::string name, std::string a, std::string b)
      : TwoTerminal(std::move(name), std::move(a), std::move(b)) {}
  void Evaluate(EvalContext& c) override {
    const double v = c.x[a_] - c.x[b_];
    const double e = std::exp(std::min(v / vt_, 700.0));
    const double i = is_ * (e - 1.0) + c.gmin * v;
    const double g = is_ * e / vt_ + c.gmin;
    c.f[a_] += i;
    c.f[b_] -= i;
    Stamp(c.G, g);
  }

 private:
  double is_ = 1e-14, vt_ = 0.025852;
};

class TestDead : public TwoTerminal {
 public:
  using TwoTerminal::TwoTerminal;
  void Evaluate(EvalContext& c) override {}
  bool IsLinear() const override { return true; }
};

// Branch-current devices: V (value(t)) and L.
class TestBranch : public devices::Device {
 public:
  TestBranch(std::string name, std::string a, std::string b)
      : Device(std::move(name), {}), na_(std::move(a)), nb_(std::move(b)) {}
  void Setup(SetupContext& ctx) override {
    a_ = ctx.Node(na_);
    b_ = ctx.Node(nb_);
    k_ = ctx.AddUnknown("i(" + name() + ")", devices::UnknownKind::kBranch);
  }
  void Bind(BindContext& ctx) override {
    ak_ = ctx.Entry(a_, k_);
    bk_ = ctx.Entry(b_, k_);
    ka_ = ctx.Entry(k_, a_);
    kb_ = ctx.Entry(k_, b_);
    kk_ = ctx.Entry(k_, k_);
  }
  bool IsLinear() const override { return true; }

 protected:
  void StampBase(EvalContext& c) {
    const double i = c.x[k_];
    c.f[a_] += i;
    c.f[b_] -= i;
    c.f[k_] += c.x[a_] - c.x[b_];
    c.G[ak_] += 1;
    c.G[bk_] -= 1;
    c.G[ka_] += 1;
    c.G[kb_] -= 1;
  }
  std::string na_, nb_;
  int a_ = -1, b_ = -1, k_ = -1, ak_ = -1, bk_ = -1, ka_ = -1, kb_ = -1, kk_ = -1;
};

class TestV : public TestBranch {
 public:
  TestV(std::string name, std::string a, std::string b, std::function<double(double)> v,
        std::vector<double> bps = {})
      : TestBranch(std::move(name), std::move(a), std::move(b)),
        v_(std::move(v)),
        bps_(std::move(bps)) {}
  bool IsSource() const override { return true; }
  void Evaluate(EvalContext& c) override {
    StampBase(c);
    const double v = dc_override_ ? dc_value_ : v_(c.time);
    c.f[k_] -= v * c.source_scale;
  }
  void Breakpoints(double tstop, std::vector<double>* out) const override {
    for (double b : bps_) {
      if (b <= tstop) out->push_back(b);
    }
  }
  bool SetDcValue(double v) override {
    dc_override_ = true;
    dc_value_ = v;
    return true;
  }

 private:
  std::function<double(double)> v_;
  std::vector<double> bps_;
  bool dc_override_ = false;
  double dc_value_ = 0;
};

class TestL : public TestBranch {
 public:
  TestL(std::string name, std::string a, std::string b, double l)
      : TestBranch(std::move(name), std::move(a), std::move(b)), l_(l) {}
  void Evaluate(EvalContext& c) override {
    StampBase(c);
    c.q[k_] -= l_ * c.x[k_];
    c.C[kk_] -= l_;
  }

 private:
  double l_;
};

class TestI : public TwoTerminal {
 public:
  TestI(std::string name, std::string a, std::string b, double i)
      : TwoTerminal(std::move(name), std::move(a), std::move(b)), i_(i) {}
  void Evaluate(EvalContext& c) override {
    c.f[a_] += i_ * c.source_scale;
    c.f[b_] -= i_ * c.source_scale;
  }
  bool IsLinear() const override { return true; }
  bool IsSource() const override { return true; }
  bool SetDcValue(double v) override {
    i_ = v;
    return true;
  }

 private:
  double i_;
};

// Collects a netlist (for topology checks and analyses) and matching test devices.
struct TestCircuit {
  netlist::Netlist nl;
  std::vector<std::unique_ptr<devices::Device>> devs;

  void Element(char letter, const std::string& name, std::vector<std::string> nodes) {
    netlist::Element e;
    e.letter = letter;
    e.name = name;
    e.nodes = std::move(nodes);
    e.loc = {"test.cir", static_cast<int>(nl.elements.size()) + 2, 1};
    nl.elements.push_back(e);
  }
  TestCircuit& R(const std::string& n, const std::string& a, const std::string& b, double r) {
    Element('r', n, {a, b});
    devs.push_back(std::make_unique<TestR>(n, a, b, r));
    return *this;
  }
  TestCircuit& C(const std::string& n, const std::string& a, const std::string& b, double c) {
    Element('c', n, {a, b});
    devs.push_back(std::make_unique<TestC>(n, a, b, c));
    return *this;
  }
  TestCircuit& L(const std::string& n, const std::string& a, const std::string& b, double l) {
    Element('l', n, {a, b});
    devs.push_back(std::make_unique<TestL>(n, a, b, l));
    return *this;
  }
  TestCircuit& V(const std::string& n, const std::string& a, const std::string& b,
                 std::function<double(double)> v, std::vector<double> bps = {}) {
    Element('v', n, {a, b});
    devs.push_back(std::make_unique<TestV>(n, a, b, std::move(v), std::move(bps)));
    return *this;
  }
  TestCircuit& Vdc(const std::string& n, const std::string& a, const std::string& b, double v) {
    return V(n, a, b, [v](double) { return v; });
  }
  TestCircuit& I(const std::string& n, const std::string& a, const std::string& b, double i) {
    Element('i', n, {a, b});
    devs.push_back(std::make_unique<TestI>(n, a, b, i));
    return *this;
  }
  TestCircuit& D(const std::string& n, const std::string& a, const std::string& b) {
    Element('d', n, {a, b});
    devs.push_back(std::make_unique<TestDiode>(n, a, b));
    return *this;
  }
  TestCircuit& Dead(const std::string& n, const std::string& a, const std::string& b) {
    Element('r', n, {a, b});
    devs.push_back(std::make_unique<TestDead>(n, a, b));
    return *this;
  }
  std::unique_ptr<Circuit> Build(netlist::Diagnostics& diag) {
    return Circuit::BuildFromDevices(std::move(devs), nl, diag);
  }
};

inline netlist::Analysis Tran(double tstep, double tstop, bool uic = false) {
  netlist::Analysis a;
  a.kind = netlist::Analysis::Kind::kTran;
  a.tstep = tstep;
  a.tstop = tstop;
  a.uic = uic;
  return a;
}

inline netlist::Analysis Op() { return netlist::Analysis(); }

}  // namespace memspice::solver::testing

#endif  // MEMSPICE_TESTS_UNIT_SOLVER_SOLVER_TEST_DEVICES_H_
