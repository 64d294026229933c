#include "training/mna_network.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>

#include "autodiff/gradient.h"
#include "base/strings.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "training/optimizer.h"

namespace memspice::training {

namespace mss = devices::mss;

MnaNetwork::MnaNetwork(const CompiledNetwork& compiled) : c_(compiled) {
  if (c_.trainable.empty())
    throw TrainingError(
        fmt::format("{}: no trainable synapse (*@msnn trainable={} matches no MSS "
                    "device outside the neurons)",
                    c_.path, c_.directives.trainable));
  g_min_ = 0;
  g_max_ = INFINITY;
  for (const auto& m : c_.trainable_models) {  // the range every trainable device can reach
    g_min_ = std::max(g_min_, 1.0 / m.roff);
    g_max_ = std::min(g_max_, 1.0 / m.ron);
  }
}

namespace {

using base::FormatNumber;

// NLL of one time point as an expression of the output potentials (stable log-sum-exp).
std::string NllExpression(const std::vector<std::string>& outs, int label, double vs) {
  std::string m = fmt::format("v({})", outs[0]);
  for (size_t k = 1; k < outs.size(); ++k) m = fmt::format("max({},v({}))", m, outs[k]);
  std::string sum;
  for (size_t k = 0; k < outs.size(); ++k)
    sum += fmt::format("{}exp((v({})-{})/{})", k ? "+" : "", outs[k], m, FormatNumber(vs));
  return fmt::format("ln({})+{}/{}-v({})/{}", sum, m, FormatNumber(vs), outs[label],
                     FormatNumber(vs));
}

}  // namespace

MnaSampleResult MnaNetwork::Run(const std::vector<double>& g, const float* image, int label,
                                bool want_grad, const std::vector<std::string>& trace_nodes) const {
  const MsnnDirectives& d = c_.directives;
  netlist::ParseOptions po;
  po.include_paths = c_.include_paths;
  for (size_t i = 0; i < c_.inputs.size(); ++i) po.overrides[c_.inputs[i]] = image[i];
  netlist::Diagnostics diag;
  auto parsed = netlist::ParseFile(c_.path, po, diag);
  if (!parsed || diag.has_errors()) throw TrainingError(diag.Format());
  netlist::Netlist nl = std::move(*parsed);
  if (!g.empty()) {
    if (g.size() != c_.trainable.size())
      throw TrainingError(fmt::format("{} conductances given, the deck has {} trainable synapses",
                                      g.size(), c_.trainable.size()));
    std::map<std::string, size_t> index;
    for (size_t k = 0; k < nl.elements.size(); ++k) index[nl.elements[k].name] = k;
    for (size_t k = 0; k < g.size(); ++k) {
      double x0 = (g[k] - 1.0 / c_.trainable_models[k].roff) /
                  mss::ConductanceSlope(c_.trainable_models[k]);
      if (!(x0 >= -1e-12 && x0 <= 1 + 1e-12))
        throw TrainingError(
            fmt::format("synapse '{}': conductance {} S outside its range", c_.trainable[k], g[k]));
      nl.elements[index.at(c_.trainable[k])].params["x0"] = std::clamp(x0, 0.0, 1.0);
    }
  }
  netlist::Analysis tran;
  tran.kind = netlist::Analysis::Kind::kTran;
  tran.tstep = d.dt;
  tran.tstop = d.dt * d.steps;
  nl.analyses = {tran};
  nl.outputs.clear();
  for (const std::string& o : c_.outputs) nl.outputs.push_back("v(" + o + ")");
  for (const std::string& o : trace_nodes)
    if (std::find(nl.outputs.begin(), nl.outputs.end(), "v(" + o + ")") == nl.outputs.end())
      nl.outputs.push_back("v(" + o + ")");
  solver::SimOptions so;
  so.method = d.method == "fe" || d.method == "forward-euler" ? solver::Method::kForwardEuler
                                                              : solver::Method::kBackwardEuler;
  so.fixed_step = d.dt;

  auto circuit = solver::Circuit::Build(nl, diag);
  if (!circuit) throw TrainingError(diag.Format());
  solver::WaveformTable table;
  if (solver::Status s = solver::RunAnalysis(*circuit, nl, nl.analyses[0], so, nullptr, &table);
      !s.ok())
    throw TrainingError(fmt::format("MNA transient failed: {} ({})", s.message(), s.hint()));
  if (static_cast<int>(table.rows.size()) != d.steps + 1)
    throw TrainingError(fmt::format("MNA transient produced {} points, expected {}",
                                    table.rows.size(), d.steps + 1));
  MnaSampleResult r;
  const int O = static_cast<int>(c_.outputs.size());
  std::vector<int> col(O);
  for (int k = 0; k < O; ++k) col[k] = table.Find("v(" + c_.outputs[k] + ")");
  r.v_sum.assign(O, 0.0);
  const double inv = 1.0 / d.v_scale;
  for (int n = 1; n <= d.steps; ++n) {
    const auto& row = table.rows[n];
    double zmax = -INFINITY;
    for (int k = 0; k < O; ++k) {
      r.v_sum[k] += row[col[k]];
      zmax = std::max(zmax, row[col[k]] * inv);
    }
    double sum = 0;
    for (int k = 0; k < O; ++k) sum += std::exp(row[col[k]] * inv - zmax);
    if (label >= 0) r.loss += std::log(sum) + zmax - row[col[label]] * inv;
  }
  r.predicted =
      static_cast<int>(std::max_element(r.v_sum.begin(), r.v_sum.end()) - r.v_sum.begin());
  for (const std::string& node : trace_nodes)
    r.traces.push_back(table.Column(table.Find("v(" + node + ")")));
  if (!want_grad || label < 0) return r;

  // sum_{n=1..T} e_n from the trapezoidal integral on the uniform grid:
  //   sum = integral / dt + e_T / 2 - e_0 / 2.
  const std::string e = NllExpression(c_.outputs, label, d.v_scale);
  autodiff::GradRequest req;
  req.objective = fmt::format("{}*integral({}) + 0.5*final({}) - 0.5*at({}, 0)",
                              FormatNumber(1.0 / d.dt), e, e, e);
  for (const std::string& n : c_.trainable) req.wrt.push_back(n + ":x0");
  autodiff::GradResult gr;
  if (solver::Status s = autodiff::ComputeGradient(nl, so, req, &gr); !s.ok())
    throw TrainingError(fmt::format("MNA gradient failed: {} ({})", s.message(), s.hint()));
  r.grad.resize(c_.trainable.size());
  for (size_t k = 0; k < c_.trainable.size(); ++k)
    r.grad[k] = gr.entries[k].gradient / mss::ConductanceSlope(c_.trainable_models[k]);
  return r;
}

EvalResult EvaluateMna(const MnaNetwork& net, const std::vector<double>& g, const Dataset& test,
                       int max_test) {
  const int n = max_test > 0 ? std::min(max_test, test.size()) : test.size();
  EvalResult r;
  r.count = n;
  const int classes = net.num_outputs();
  r.confusion = Eigen::MatrixXi::Zero(classes, classes);
  long correct = 0;
  double loss = 0;
  for (int s = 0; s < n; ++s) {
    const MnaSampleResult o = net.Run(g, test.image(s), test.labels[s], false);
    correct += o.predicted == test.labels[s];
    if (test.labels[s] >= 0 && test.labels[s] < classes) r.confusion(test.labels[s], o.predicted)++;
    loss += o.loss;
  }
  r.accuracy = n ? double(correct) / n : 0;
  r.loss = n ? loss / n : 0;
  return r;
}

MnaTrainResult TrainMna(const MnaNetwork& net, const DatasetPair& data, const MnaTrainOptions& o) {
  MnaTrainResult result;
  result.g = net.initial();
  const int np = net.num_params();
  // One column of conductances in the optimiser's Parameters layout.
  Parameters p;
  p.g_plus.push_back(Eigen::Map<const Eigen::VectorXd>(result.g.data(), np));
  p.g_minus.push_back(Eigen::MatrixXd::Constant(np, 1, net.g_min()));
  Optimizer opt(o.optimizer, net.g_min(), net.g_max(), p);
  const int n_train =
      o.max_train > 0 ? std::min(o.max_train, data.train.size()) : data.train.size();
  const auto t0 = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    const std::vector<int> order = Permutation(n_train, o.seed + epoch);
    double loss = 0;
    for (int first = 0; first < n_train; first += o.batch_size) {
      const int m = std::min(o.batch_size, n_train - first);
      Parameters grad;
      grad.g_plus.push_back(Eigen::MatrixXd::Zero(np, 1));
      grad.g_minus.push_back(Eigen::MatrixXd::Zero(np, 1));
      std::vector<double> g(p.g_plus[0].data(), p.g_plus[0].data() + np);
      for (int s = 0; s < m; ++s) {
        const int idx = order[first + s];
        const MnaSampleResult r = net.Run(g, data.train.image(idx), data.train.labels[idx], true);
        loss += r.loss;
        for (int k = 0; k < np; ++k) grad.g_plus[0](k, 0) += r.grad[k] / m;
      }
      opt.Step(grad, &p);
      if (o.progress) {
        const double sec =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cerr << fmt::format("epoch {} sample {}/{}: mean loss {:.4f}, {:.1f} s\n", epoch + 1,
                                 first + m, n_train, loss / (first + m), sec);
      }
    }
    result.epoch_loss.push_back(n_train ? loss / n_train : 0);
    result.g.assign(p.g_plus[0].data(), p.g_plus[0].data() + np);
    if (o.max_test >= 0)
      result.test_accuracy.push_back(EvaluateMna(net, result.g, data.test, o.max_test).accuracy);
  }
  return result;
}

}  // namespace memspice::training
