#include "training/mna_network.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "autodiff/gradient.h"
#include "base/strings.h"
#include "solver/circuit.h"
#include "solver/simulator.h"
#include "training/optimizer.h"
#include "training/run_dir.h"

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
  io::WaveformTable table;
  if (Status s = solver::RunAnalysis(*circuit, nl, nl.analyses[0], so, nullptr, &table); !s.ok())
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
  if (Status s = autodiff::ComputeGradient(nl, so, req, &gr); !s.ok())
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

namespace {

// Where an MNA run stands: conductances, optimiser, position and the running sums of the epoch in
// progress (finished batches only), and the finished epochs.
struct MnaState {
  MnaState(Parameters start, Optimizer optimizer)
      : p(std::move(start)), opt(std::move(optimizer)) {}
  Parameters p;
  Optimizer opt;
  int epoch = 0, batch = 0;
  double loss = 0;
  long correct = 0;
  std::vector<EpochMetrics> history;
};

// One column of conductances in the optimiser's Parameters layout (G- fixed at g_min).
Parameters ColumnParameters(const MnaNetwork& net, const std::vector<double>& g) {
  Parameters p;
  p.g_plus.push_back(Eigen::Map<const Eigen::VectorXd>(g.data(), net.num_params()));
  p.g_minus.push_back(Eigen::MatrixXd::Constant(net.num_params(), 1, net.g_min()));
  return p;
}

// The options that shape an MNA run, recorded in its checkpoints: a resume with others is refused.
// g_min / g_max also bound the conductances LoadCheckpoint accepts.
std::string MnaConfigJson(const MnaNetwork& net, const MnaTrainOptions& o) {
  nlohmann::json j;
  j["engine"] = "mna";
  j["synapses"] = net.num_params();
  j["g_min"] = net.g_min();
  j["g_max"] = net.g_max();
  j["optimizer"] = OptimizerName(o.optimizer.kind);
  j["lr"] = o.optimizer.lr;
  j["batch_size"] = o.batch_size;
  j["seed"] = o.seed;
  j["max_train"] = o.max_train;
  return j.dump();
}

void SaveMnaCheckpoint(const MnaTrainOptions& o, const std::string& config, const MnaState& s) {
  if (o.checkpoint.empty()) return;
  Checkpoint k;
  k.config_json = config;
  k.params = s.p;
  k.StoreOptimizer(s.opt);
  k.epoch = s.epoch;
  k.batch = s.batch;
  k.epoch_seed = o.seed + s.epoch;  // the epoch's shuffle (Permutation) seed
  k.epoch_seed_valid = true;
  // The MNA path draws no random numbers; the field must still hold a valid generator state.
  std::ostringstream rs;
  rs << std::mt19937_64(o.seed);
  k.rng_state = rs.str();
  k.history = s.history;
  k.partial_loss = s.loss;
  k.partial_correct = s.correct;
  k.partial_count = static_cast<long>(s.batch) * o.batch_size;
  SaveCheckpoint(o.checkpoint, k);
}

// Continues from o.checkpoint; refuses one of other options, another synapse count or a position
// past the end of the epoch.
void ResumeMna(const MnaTrainOptions& o, const std::string& config, int np, int batches,
               MnaState* s) {
  Checkpoint k = LoadCheckpoint(o.checkpoint);
  if (nlohmann::json::parse(k.config_json) != nlohmann::json::parse(config))
    throw TrainingError(
        fmt::format("{}: error: checkpoint was written with different options:\n  checkpoint: "
                    "{}\n  now:        {}",
                    o.checkpoint, k.config_json, config));
  for (const Parameters* q : {&k.params, &k.optimizer_m, &k.optimizer_v})
    if (q->g_plus.size() != 1 || q->g_plus[0].rows() != np || q->g_plus[0].cols() != 1)
      throw TrainingError(fmt::format(
          "{}: error: the conductances are not one column of {} synapses", o.checkpoint, np));
  if (k.batch > batches)
    throw TrainingError(
        fmt::format("{}: error: field 'batch' = {} is past the end of the epoch ({} batches)",
                    o.checkpoint, k.batch, batches));
  s->p = std::move(k.params);
  k.RestoreOptimizer(&s->opt);
  s->epoch = k.epoch;
  s->batch = k.batch;
  s->loss = k.partial_loss;
  s->correct = k.partial_correct;
  s->history = std::move(k.history);
}

// Trains batch s->batch of `order` and advances; false (nothing changed) when `stop` was set
// before one of its samples.
bool TrainBatch(const MnaNetwork& net, const Dataset& train, const std::vector<int>& order,
                const MnaTrainOptions& o, MnaState* s) {
  const int np = net.num_params(), first = s->batch * o.batch_size;
  const int m = std::min(o.batch_size, static_cast<int>(order.size()) - first);
  Parameters grad;
  grad.g_plus.push_back(Eigen::MatrixXd::Zero(np, 1));
  grad.g_minus.push_back(Eigen::MatrixXd::Zero(np, 1));
  const std::vector<double> g(s->p.g_plus[0].data(), s->p.g_plus[0].data() + np);
  double loss = 0;
  long correct = 0;
  for (int k = 0; k < m; ++k) {
    if (o.stop != nullptr && o.stop->load()) return false;
    const int idx = order[first + k];
    const MnaSampleResult r = net.Run(g, train.image(idx), train.labels[idx], true);
    loss += r.loss;
    correct += r.predicted == train.labels[idx];
    for (int q = 0; q < np; ++q) grad.g_plus[0](q, 0) += r.grad[q] / m;
  }
  s->opt.Step(grad, &s->p);
  s->loss += loss;
  s->correct += correct;
  ++s->batch;
  return true;
}

// Closes epoch s->epoch: its metrics (test accuracy over max_test samples) join the history.
void FinishEpoch(const MnaNetwork& net, const DatasetPair& data, const MnaTrainOptions& o,
                 int n_train, double seconds, MnaState* s) {
  EpochMetrics e;
  e.epoch = s->epoch + 1;
  e.batches = s->batch;
  e.train_loss = n_train ? s->loss / n_train : 0;
  e.train_accuracy = n_train ? static_cast<double>(s->correct) / n_train : 0;
  if (o.max_test >= 0) {
    const std::vector<double> g(s->p.g_plus[0].data(), s->p.g_plus[0].data() + net.num_params());
    const EvalResult r = EvaluateMna(net, g, data.test, o.max_test);
    e.test_accuracy = r.accuracy;
    e.test_loss = r.loss;
  }
  e.seconds = seconds;
  s->history.push_back(e);
  ++s->epoch;
  s->batch = 0;
  s->loss = 0;
  s->correct = 0;
}

MnaTrainResult ResultOf(const MnaState& s, const MnaTrainOptions& o, bool interrupted) {
  MnaTrainResult r;
  r.g.assign(s.p.g_plus[0].data(), s.p.g_plus[0].data() + s.p.g_plus[0].rows());
  for (const EpochMetrics& e : s.history) {
    r.epoch_loss.push_back(e.train_loss);
    if (o.max_test >= 0) r.test_accuracy.push_back(e.test_accuracy);
  }
  r.interrupted = interrupted;
  r.next_epoch = s.epoch;
  r.next_batch = s.batch;
  return r;
}

}  // namespace

MnaTrainResult TrainMna(const MnaNetwork& net, const DatasetPair& data, const MnaTrainOptions& o) {
  const Parameters p0 = ColumnParameters(net, net.initial());
  MnaState s(p0, Optimizer(o.optimizer, net.g_min(), net.g_max(), p0));
  const int n_train =
      o.max_train > 0 ? std::min(o.max_train, data.train.size()) : data.train.size();
  const int batches = (n_train + o.batch_size - 1) / o.batch_size;
  const std::string config = MnaConfigJson(net, o);
  if (o.resume) ResumeMna(o, config, net.num_params(), batches, &s);
  const auto t0 = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  while (s.epoch < o.epochs) {
    const std::vector<int> order = Permutation(n_train, o.seed + s.epoch);
    const double epoch_start = seconds();
    while (s.batch < batches) {
      if (!TrainBatch(net, data.train, order, o, &s)) {
        SaveMnaCheckpoint(o, config, s);
        return ResultOf(s, o, true);
      }
      const int done = std::min(n_train, s.batch * o.batch_size);
      if (o.progress)
        std::cerr << fmt::format("epoch {} sample {}/{}: mean loss {:.4f}, {:.1f} s\n", s.epoch + 1,
                                 done, n_train, s.loss / done, seconds());
    }
    FinishEpoch(net, data, o, n_train, seconds() - epoch_start, &s);
    SaveMnaCheckpoint(o, config, s);
  }
  return ResultOf(s, o, false);
}

}  // namespace memspice::training
