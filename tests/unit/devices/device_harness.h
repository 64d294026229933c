// A dense test harness for devices: implements SetupContext/BindContext over a dense matrix,
// evaluates f, q, G, C, and solves small circuits (DC Newton, backward Euler) so device tests
// need neither the solver library nor KLU. Used by tests/unit/devices and tests/derivatives.
#ifndef MEMSPICE_TESTS_UNIT_DEVICES_DEVICE_HARNESS_H_
#define MEMSPICE_TESTS_UNIT_DEVICES_DEVICE_HARNESS_H_

#include <Eigen/Dense>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "devices/device.h"
#include "devices/registry.h"
#include "netlist/netlist.h"

namespace memspice::devices::testing {

struct Evaluation {
  Eigen::VectorXd f, q;
  Eigen::MatrixXd G, C;
};

class DenseHarness : public SetupContext, public BindContext {
 public:
  // SetupContext / BindContext.
  int Node(const std::string& name) override {
    if (name == "0" || name == "gnd") return kGround;
    auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
    int index = static_cast<int>(names_.size());
    names_.push_back("v(" + name + ")");
    nodes_[name] = index;
    return index;
  }
  int AddUnknown(const std::string& output_name, UnknownKind kind) override {
    names_.push_back(output_name);
    return static_cast<int>(names_.size()) - 1;
  }
  int Branch(const std::string& element) override { return Find("i(" + element + ")"); }
  int Entry(int row, int col) override {
    if (row < 0 || col < 0) return -1;
    return row * size() + col;
  }
  netlist::Diagnostics& diag() override { return diag_; }

  netlist::Diagnostics& diagnostics() { return diag_; }
  int size() const { return static_cast<int>(names_.size()); }
  const std::vector<std::string>& names() const { return names_; }
  int Find(const std::string& name) const {
    for (size_t k = 0; k < names_.size(); ++k) {
      if (names_[k] == name) return static_cast<int>(k);
    }
    return -1;
  }
  std::vector<std::unique_ptr<Device>>& devices() { return devices_; }

  // Creates devices for all elements of `netlist`; false (with diagnostics) on error.
  bool Create(const netlist::Netlist& netlist) {
    for (const netlist::Element& e : netlist.elements) {
      auto device = CreateDevice(e, netlist, diag_);
      if (!device) return false;
      devices_.push_back(std::move(device));
    }
    return !diag_.has_errors();
  }
  void Add(std::unique_ptr<Device> device) { devices_.push_back(std::move(device)); }

  // Setup and Bind of all devices; false if an error was reported.
  bool Build(const AnalysisInfo& info = AnalysisInfo{}) {
    for (auto& d : devices_) d->Setup(*this);
    for (auto& d : devices_) d->Bind(*this);
    for (auto& d : devices_) d->SetAnalysis(info);
    return !diag_.has_errors();
  }
  void SetAnalysis(const AnalysisInfo& info) {
    for (auto& d : devices_) d->SetAnalysis(info);
  }

  struct Options {
    double time = 0.0;
    bool dc = false;
    double gmin = 1e-12;
    double source_scale = 1.0;
    bool init_junctions = false;
  };

  Evaluation Evaluate(const Eigen::VectorXd& x, const Options& o) {
    const int n = size();
    std::vector<double> xs(n + 1, 0.0), f(n + 1, 0.0), q(n + 1, 0.0);
    std::vector<double> g(static_cast<size_t>(n) * n + 1, 0.0), c(g.size(), 0.0);
    for (int k = 0; k < n; ++k) xs[k + 1] = x[k];
    EvalContext ctx;
    ctx.x = xs.data() + 1;
    ctx.time = o.time;
    ctx.dc = o.dc;
    ctx.gmin = o.gmin;
    ctx.source_scale = o.source_scale;
    ctx.init_junctions = o.init_junctions;
    ctx.f = f.data() + 1;
    ctx.q = q.data() + 1;
    ctx.G = g.data() + 1;
    ctx.C = c.data() + 1;
    for (auto& d : devices_) d->Evaluate(ctx);
    Evaluation ev;
    ev.f = Eigen::Map<Eigen::VectorXd>(f.data() + 1, n);
    ev.q = Eigen::Map<Eigen::VectorXd>(q.data() + 1, n);
    ev.G = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        g.data() + 1, n, n);
    ev.C = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
        c.data() + 1, n, n);
    return ev;
  }

  // Newton on f(x) + (q(x) - q_prev) / h = 0 (h = 0: DC, q ignored). Returns iterations used,
  // or -1 if it did not converge within max_iter.
  int Newton(Eigen::VectorXd* x, const Options& o, double h = 0.0,
             const Eigen::VectorXd* q_prev = nullptr, int max_iter = 200) {
    for (int it = 0; it < max_iter; ++it) {
      Options oi = o;
      oi.init_junctions = o.init_junctions && it == 0;
      Evaluation ev = Evaluate(*x, oi);
      Eigen::VectorXd r = ev.f;
      Eigen::MatrixXd J = ev.G;
      if (h > 0.0) {
        r += (ev.q - *q_prev) / h;
        J += ev.C / h;
      }
      Eigen::VectorXd dx = J.fullPivLu().solve(-r);
      if (!dx.allFinite()) return -1;
      *x += dx;
      if (it > 0 && dx.lpNorm<Eigen::Infinity>() <= 1e-13 + 1e-10 * x->lpNorm<Eigen::Infinity>()) {
        return it + 1;
      }
    }
    return -1;
  }

  // Backward Euler from x0 over [0, tstop] with step h; returns the states at every step.
  std::vector<Eigen::VectorXd> Transient(const Eigen::VectorXd& x0, double h, int steps) {
    std::vector<Eigen::VectorXd> out = {x0};
    Eigen::VectorXd x = x0;
    for (int k = 1; k <= steps; ++k) {
      Options o;
      o.time = (k - 1) * h;
      Eigen::VectorXd q_prev = Evaluate(x, o).q;
      o.time = k * h;
      if (Newton(&x, o, h, &q_prev) < 0) break;
      out.push_back(x);
    }
    return out;
  }

 private:
  std::map<std::string, int> nodes_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Device>> devices_;
  netlist::Diagnostics diag_;
};

}  // namespace memspice::devices::testing

#endif  // MEMSPICE_TESTS_UNIT_DEVICES_DEVICE_HARNESS_H_
