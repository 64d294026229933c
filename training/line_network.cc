#include "training/line_network.h"

#include <fmt/format.h>

#include <Eigen/CholmodSupport>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <queue>
#include <thread>

#include "training/dataset.h"

namespace memspice::training {

namespace {

using SpMat = Eigen::SparseMatrix<double>;

// Power iterations for the slowest line time constant and their relative stopping tolerance.
constexpr int kPowerIterations = 100;
constexpr double kPowerTolerance = 1e-6;

// Calls f(a, b, g) for every conducting branch: the fixed resistors, then the cells.
template <typename F>
void ForEachBranch(const LineTopology& t, const Eigen::VectorXd& gp, const Eigen::VectorXd& gm,
                   F&& f) {
  for (const LineTopology::Resistor& r : t.resistors) f(r.a, r.b, r.g);
  for (size_t c = 0; c < t.plus_word.size(); ++c) {
    f(t.plus_word[c], t.plus_bit[c], gp[c]);
    f(t.minus_word[c], t.minus_bit[c], gm[c]);
  }
}

// First internal node without any conducting path to a port, or -1.
int FloatingNode(const LineTopology& t) {
  std::vector<std::vector<int>> adj(t.nodes);
  std::vector<char> reached(t.nodes, 0);
  std::queue<int> todo;
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(t.plus_word.size());
  ForEachBranch(t, ones, ones, [&](int a, int b, double) {
    if (IsPort(a) && !IsPort(b) && !reached[b]) todo.push(b), reached[b] = 1;
    if (IsPort(b) && !IsPort(a) && !reached[a]) todo.push(a), reached[a] = 1;
    if (!IsPort(a) && !IsPort(b)) adj[a].push_back(b), adj[b].push_back(a);
  });
  while (!todo.empty()) {
    const int n = todo.front();
    todo.pop();
    for (int m : adj[n])
      if (!reached[m]) reached[m] = 1, todo.push(m);
  }
  for (int n = 0; n < t.nodes; ++n)
    if (!reached[n]) return n;
  return -1;
}

std::string NodeName(const LineTopology& t, int n) {
  return n < static_cast<int>(t.node_names.size()) ? t.node_names[n] : fmt::format("#{}", n);
}

// Conductance matrix of the internal nodes (ports held).
SpMat Assemble(const LineTopology& t, const Eigen::VectorXd& gp, const Eigen::VectorXd& gm) {
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(4 * (t.resistors.size() + 2 * gp.size()));
  ForEachBranch(t, gp, gm, [&](int a, int b, double g) {
    if (!IsPort(a)) trip.emplace_back(a, a, g);
    if (!IsPort(b)) trip.emplace_back(b, b, g);
    if (!IsPort(a) && !IsPort(b)) {
      trip.emplace_back(std::max(a, b), std::min(a, b), -g);  // lower triangle
    }
  });
  SpMat k(t.nodes, t.nodes);
  k.setFromTriplets(trip.begin(), trip.end());
  return k;
}

}  // namespace

std::string LineTopology::Validate() const {
  const size_t cells = static_cast<size_t>(in) * out;
  if (in < 1 || out < 1 || nodes < 0) return "line network: empty crossbar";
  for (const auto* v : {&plus_word, &plus_bit, &minus_word, &minus_bit})
    if (v->size() != cells) return fmt::format("line network: {} cells expected", cells);
  if (!cap.empty() && static_cast<int>(cap.size()) != nodes)
    return "line network: one capacitance per node expected";
  auto bad = [&](int term) {
    return term >= nodes || (IsPort(term) && PortIndex(term) >= ports());
  };
  for (const Resistor& r : resistors)
    if (bad(r.a) || bad(r.b) || !(r.g > 0) || !std::isfinite(r.g))
      return "line network: a resistor has a bad terminal or a conductance <= 0";
  for (size_t c = 0; c < cells; ++c)
    if (bad(plus_word[c]) || bad(plus_bit[c]) || bad(minus_word[c]) || bad(minus_bit[c]))
      return "line network: a cell terminal is out of range";
  if (int n = FloatingNode(*this); n >= 0)
    return fmt::format(
        "line node '{}' has no conducting path to a line driver or bit-line terminal (a floating "
        "line makes the line network singular): connect it or remove it",
        NodeName(*this, n));
  return {};
}

// Supernodal sparse Cholesky from CHOLMOD (fill-reducing ordering: the better of AMD and METIS
// nested dissection); solves with many right-hand sides run as dense blocks (BLAS 3).
class Cholesky : public Eigen::CholmodSupernodalLLT<SpMat, Eigen::Lower> {
 public:
  Cholesky() = default;
  explicit Cholesky(const SpMat& k) { compute(k); }
  // X = K^-1 B with the columns of B split over `threads` threads, each with its own CHOLMOD
  // workspace (the factor is only read). Needs a successful factorisation.
  Eigen::MatrixXd SolveColumns(Eigen::MatrixXd b, int threads) const;
};

Eigen::MatrixXd Cholesky::SolveColumns(Eigen::MatrixXd b, int threads) const {
  const Eigen::Index n = b.rows(), k = b.cols();
  const int nt =
      static_cast<int>(std::clamp<Eigen::Index>(threads, 1, std::max<Eigen::Index>(k, 1)));
  std::vector<std::string> errors(nt);
  auto part = [&](int t) {
    const Eigen::Index first = k * t / nt, count = k * (t + 1) / nt - first;
    if (count == 0) return;
    cholmod_common cc;
    cholmod_start(&cc);
    cholmod_dense view{};
    view.nrow = n;
    view.ncol = count;
    view.nzmax = n * count;
    view.d = n;
    view.x = b.data() + n * first;
    view.xtype = CHOLMOD_REAL;
    view.dtype = CHOLMOD_DOUBLE;
    cholmod_dense* x = cholmod_solve(CHOLMOD_A, m_cholmodFactor, &view, &cc);
    if (x) {
      std::copy_n(static_cast<const double*>(x->x), n * count, b.data() + n * first);
      cholmod_free_dense(&x, &cc);
    } else {
      errors[t] = fmt::format("CHOLMOD solve failed (status {})", cc.status);
    }
    cholmod_finish(&cc);
  };
  if (nt == 1) {
    part(0);
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < nt; ++t) pool.emplace_back(part, t);
    for (std::thread& th : pool) th.join();
  }
  for (const std::string& e : errors)
    if (!e.empty()) throw TrainingError("line network: " + e);
  return b;
}

struct LinePortModel::Factor {
  Cholesky llt;
  bool analysed = false;
};

LineFactorPool::LineFactorPool() = default;
LineFactorPool::~LineFactorPool() = default;

namespace {

// Right-hand sides K x = b for the given port voltages (ports x k).
Eigen::MatrixXd PortRhs(const LineTopology& t, const Eigen::VectorXd& gp, const Eigen::VectorXd& gm,
                        const Eigen::MatrixXd& port_v) {
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(t.nodes, port_v.cols());
  ForEachBranch(t, gp, gm, [&](int a, int c, double g) {
    if (IsPort(a) && !IsPort(c)) b.row(c) += g * port_v.row(PortIndex(a));
    if (IsPort(c) && !IsPort(a)) b.row(a) += g * port_v.row(PortIndex(c));
  });
  return b;
}

}  // namespace

double LineTimeConstant(const LineTopology& t, double g) {
  if (t.cap.empty() || t.nodes == 0) return 0;
  const Eigen::VectorXd cells = Eigen::VectorXd::Constant(t.plus_word.size(), g);
  if (std::string e = t.Validate(); !e.empty()) throw TrainingError(e);
  Cholesky llt(Assemble(t, cells, cells));
  if (llt.info() != Eigen::Success) throw TrainingError("line network is singular");
  const Eigen::Map<const Eigen::VectorXd> c(t.cap.data(), t.nodes);
  Eigen::VectorXd x = c;
  double lambda = 0;
  for (int it = 0; it < kPowerIterations; ++it) {
    const double norm = x.norm();
    if (norm == 0) return 0;
    Eigen::VectorXd y = llt.solve(c.cwiseProduct(x / norm));
    const double next = y.norm();
    x = std::move(y);
    if (std::abs(next - lambda) <= kPowerTolerance * next) return next;
    lambda = next;
  }
  return lambda;
}

LinePortModel::LinePortModel(std::shared_ptr<const LineTopology> t, const Eigen::MatrixXd& g_plus,
                             const Eigen::MatrixXd& g_minus, LineFactorPool* pool, int threads)
    : t_(std::move(t)), pool_(pool), threads_(std::max(1, threads)) {
  if (pool_) {
    std::lock_guard<std::mutex> lock(pool_->mutex_);
    if (!pool_->free_.empty()) {
      f_ = std::move(pool_->free_.back());
      pool_->free_.pop_back();
    }
  }
  if (!f_) f_ = std::make_unique<Factor>();
  const LineTopology& tp = *t_;
  gp_.resize(static_cast<Eigen::Index>(tp.in) * tp.out);
  gm_.resize(gp_.size());
  for (int i = 0; i < tp.in; ++i)
    for (int j = 0; j < tp.out; ++j) {
      gp_[i * tp.out + j] = g_plus(i, j);
      gm_[i * tp.out + j] = g_minus(i, j);
    }
  const SpMat k = Assemble(tp, gp_, gm_);
  if (!f_->analysed) f_->llt.analyzePattern(k);
  f_->analysed = true;
  f_->llt.factorize(k);
  if (f_->llt.info() != Eigen::Success) {
    const std::string e = tp.Validate();
    throw TrainingError(e.empty() ? "line network is not positive definite" : e);
  }
  // One solve per bit port: phi_q for 1 V at bit port q.
  Eigen::MatrixXd unit = Eigen::MatrixXd::Zero(tp.ports(), tp.out);
  for (int q = 0; q < tp.out; ++q) unit(tp.BitPort(q), q) = 1;
  const Eigen::MatrixXd phi = Solve(unit);
  // Currents into the network at every port: Y(p, q).
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(tp.ports(), tp.out);
  auto value = [&](int term, int q) {
    return IsPort(term) ? unit(PortIndex(term), q) : phi(term, q);
  };
  ForEachBranch(tp, gp_, gm_, [&](int a, int b, double g) {
    if (!IsPort(a) && !IsPort(b)) return;
    for (int q = 0; q < tp.out; ++q) {
      const double i_ab = g * (value(a, q) - value(b, q));
      if (IsPort(a)) y(PortIndex(a), q) += i_ab;
      if (IsPort(b)) y(PortIndex(b), q) -= i_ab;
    }
  });
  ybw_ = y.topRows(2 * tp.in).transpose();
  ybb_ = y.bottomRows(tp.out).transpose();
  drops_ = CellDrops(phi, unit);
}

LinePortModel::~LinePortModel() {
  if (!pool_ || !f_ || f_->llt.info() != Eigen::Success) return;
  std::lock_guard<std::mutex> lock(pool_->mutex_);
  pool_->free_.push_back(std::move(f_));
}

Eigen::MatrixXd LinePortModel::Solve(const Eigen::MatrixXd& port_v) const {
  if (t_->nodes == 0) return Eigen::MatrixXd(0, port_v.cols());
  return f_->llt.SolveColumns(PortRhs(*t_, gp_, gm_, port_v), threads_);
}

Eigen::MatrixXd LinePortModel::CellDrops(const Eigen::MatrixXd& x,
                                         const Eigen::MatrixXd& port_v) const {
  const LineTopology& tp = *t_;
  const Eigen::Index cells = gp_.size();
  Eigen::MatrixXd d(2 * cells, port_v.cols());
  auto row = [&](int term) { return IsPort(term) ? port_v.row(PortIndex(term)) : x.row(term); };
  for (Eigen::Index c = 0; c < cells; ++c) {
    d.row(c) = row(tp.plus_word[c]) - row(tp.plus_bit[c]);
    d.row(cells + c) = row(tp.minus_word[c]) - row(tp.minus_bit[c]);
  }
  return d;
}

double LinePortModel::FactorNonzeros() const {
  return const_cast<Cholesky&>(f_->llt).cholmod().lnz;
}
double LinePortModel::FactorFlops() const { return const_cast<Cholesky&>(f_->llt).cholmod().fl; }

Eigen::MatrixXd LinePortModel::EffectiveWeights() const {
  const int in = t_->in, out = t_->out;
  Eigen::MatrixXd w(in, out);
  for (int i = 0; i < in; ++i)
    for (int j = 0; j < out; ++j) w(i, j) = -(ybw_(j, 2 * i) - ybw_(j, 2 * i + 1));
  return w;
}

void LinePortModel::Gradient(const Eigen::MatrixXd& a_bw, const Eigen::MatrixXd& a_bb,
                             Eigen::MatrixXd* dg_plus, Eigen::MatrixXd* dg_minus) const {
  const LineTopology& tp = *t_;
  // psi_q: node voltages for port voltages dL/dY(q, .), q = bit port.
  Eigen::MatrixXd port_v(tp.ports(), tp.out);
  port_v.topRows(2 * tp.in) = a_bw.transpose();
  port_v.bottomRows(tp.out) = a_bb.transpose();
  const Eigen::MatrixXd dpsi = CellDrops(Solve(port_v), port_v);
  const Eigen::VectorXd dg = drops_.cwiseProduct(dpsi).rowwise().sum();
  const Eigen::Index cells = gp_.size();
  dg_plus->resize(tp.in, tp.out);
  dg_minus->resize(tp.in, tp.out);
  for (int i = 0; i < tp.in; ++i)
    for (int j = 0; j < tp.out; ++j) {
      (*dg_plus)(i, j) = dg[i * tp.out + j];
      (*dg_minus)(i, j) = dg[cells + i * tp.out + j];
    }
}

}  // namespace memspice::training
