#include "training/line_network.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <Eigen/CholmodSupport>
#include <Eigen/SparseCore>
#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <numeric>
#include <queue>
#include <thread>

#include "training/blas.h"
#include "training/dataset.h"

namespace memspice::training {

namespace {

using SpMat = Eigen::SparseMatrix<double>;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Cell conductances kept as a vector, row-major in x out, seen as the in x out matrix.
Eigen::Map<RowMajor> RowMajorMap(Eigen::VectorXd& v, const LineTopology& t) {
  return {v.data(), t.in, t.out};
}
Eigen::Map<const RowMajor> RowMajorMap(const Eigen::VectorXd& v, const LineTopology& t) {
  return {v.data(), t.in, t.out};
}

// CHOLMOD's first orderings tried for the line nodes: (user's, none here), AMD, METIS, NESDIS.
constexpr int kOrderings = 4;

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

std::shared_ptr<LineTopology> UniformLadders(int in, int out, double rline) {
  auto t = std::make_shared<LineTopology>();
  t->in = in;
  t->out = out;
  const int rows = 2 * in;
  t->nodes = 2 * rows * out;
  const double g = 1 / rline;
  auto word = [&](int r, int j) { return r * out + j; };
  auto bit = [&](int j, int r) { return rows * out + j * rows + r; };
  for (int r = 0; r < rows; ++r) {
    t->resistors.push_back({Port(r), word(r, 0), g});
    for (int j = 0; j + 1 < out; ++j) t->resistors.push_back({word(r, j), word(r, j + 1), g});
  }
  for (int j = 0; j < out; ++j) {
    for (int r = 0; r + 1 < rows; ++r) t->resistors.push_back({bit(j, r), bit(j, r + 1), g});
    t->resistors.push_back({bit(j, rows - 1), Port(t->BitPort(j)), g});
  }
  for (int i = 0; i < in; ++i)
    for (int j = 0; j < out; ++j) {
      t->plus_word.push_back(word(2 * i, j));
      t->plus_bit.push_back(bit(j, 2 * i));
      t->minus_word.push_back(word(2 * i + 1, j));
      t->minus_bit.push_back(bit(j, 2 * i + 1));
    }
  return t;
}

// Supernodal sparse Cholesky from CHOLMOD of K alone (the slowest time constant).
using Cholesky = Eigen::CholmodSupernodalLLT<SpMat, Eigen::Lower>;

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

// The bordered matrix M = [K K_ib; K_bi K_bb] of the internal nodes and the bit ports, the bit
// ports last (the word ports are held: their voltages enter through K_iw). Its Cholesky factor
// L = [L_ii 0; L_bi L_bb] holds the bit-bit block of the port admittance, Y_bb = L_bb L_bb^T, and
// the internal node voltages for port voltages v are x = L_ii^-T (L_ii^-1 (-K_iw v_w) - L_bi^T
// v_b): a back-solve alone for bit-port voltages (phi_q), a forward and a back-solve for word-port
// ones. Right-hand sides are node-major (the r values of a node side by side), so that a
// supernode's rows are contiguous blocks and its updates are two BLAS 3 calls.
//
// Rows are numbered in elimination order: the internal nodes as the fill-reducing ordering puts
// them, the bit ports, then the word ports (not in M). Where the elimination tree branches below a
// small top separator S (nested dissection makes one), the nodes under it form two independent
// parts T_0, T_1, factorised at the same time on two threads: part p is M restricted to T_p and
// the border B = S + bit ports (a principal submatrix, so positive definite), and its last block
// gives S_p = M_BB - M_BTp M_Tp^-1 M_TpB. The border's Schur complement Z = S_0 + S_1 - M_BB is
// dense and small; its Cholesky factor L_Z completes L (the parts' columns of L are those of the
// whole factor). Without a split there is one part and L_Z = L_bb.
struct LinePortModel::Factor {
  // CHOLMOD's factor of M restricted to one part's internal nodes (rows off..off + n - 1) and the
  // border (last), in elimination order.
  struct Part {
    cholmod_common cc;
    cholmod_factor* l = nullptr;
    int off = 0, n = 0;
    std::vector<int> colptr, rowind, src;  // lower triangle; src: index into M's values
    std::vector<double> values;
    std::vector<int> rows;  // the supernodes' row indices (l->s) as rows of a right-hand side
    Part() {
      cholmod_start(&cc);
      cc.supernodal = CHOLMOD_SUPERNODAL;
    }
    ~Part() {
      cholmod_free_factor(&l, &cc);
      cholmod_finish(&cc);
    }
    Part(const Part&) = delete;
    Part& operator=(const Part&) = delete;
  };
  // A block of columns of L: columns k1..k1 + nint - 1 (rows of a right-hand side) are solved;
  // rows[0..nrow) are its rows, the first nint of them the columns themselves; values
  // column-major with leading dimension nrow.
  struct Block {
    int k1, nint, nrow;
    const int* rows;
    const double* x;
  };

  cholmod_common cc;       // the fill-reducing ordering
  SpMat m;                 // lower triangle of M
  std::vector<int> slots;  // per branch (ForEachBranch order): M value index of its entries
                           // (a, a), (b, b), (a, b), -1 where a terminal is a word port
  std::vector<std::unique_ptr<Part>> parts;
  bool analysed = false;
  int sep = 0;                   // first row of the top separator (of the border)
  std::vector<int> border_rows;  // sep, sep + 1, ... (the rows of L_Z)
  std::vector<int> border_src;   // M's values in the border block: index, then row and
                                 // column of Z, three ints per entry
  Eigen::MatrixXd lz;            // L_Z: S, then the bit ports
  std::vector<Block> blocks;     // in elimination order
  std::vector<int> block_of;     // per row of an internal node: its block
  int rows = 0;                  // rows of a right-hand side: L's, then the word ports
  std::vector<int> position;     // M index -> row
  std::vector<int> cell_rows;    // per cell: rows of its G+ word, G+ bit, G- word, G- bit
  std::vector<char> open_bit;    // per bit port: nothing connected (its rows of Y are zero)
  double lnz = 0, flops = 0;     // of the factor (CHOLMOD's analyses and the dense border)
  // Per solve thread t (bit ports q0..q1 - 1): phi (kept from the constructor to the gradient),
  // psi, a gather block, and which blocks of psi hold values (the others are zero, unwritten).
  std::vector<std::vector<double>> phi, psi, gather;
  std::vector<std::vector<char>> live;
  std::mutex psi_mutex;  // one Gradient at a time uses psi and gather

  Factor() { cholmod_start(&cc); }
  ~Factor() { cholmod_finish(&cc); }
  Factor(const Factor&) = delete;
  Factor& operator=(const Factor&) = delete;

  // Orders and analyses M's pattern (BorderedPattern, kept for Fill).
  void Analyse(const LineTopology& t, SpMat pattern);
  // M's values for the cell conductances gp, gm (row-major in x out).
  void Fill(const LineTopology& t, const Eigen::VectorXd& gp, const Eigen::VectorXd& gm);
  void Numeric(const LineTopology& t, int threads);
  // The rows of the internal nodes of a right-hand side x (rows x r, node-major) are held block by
  // block: a block's rows are zero (and not stored) until it is live. Live(b) makes block b live.
  // Right-hand sides that reach few blocks (the gradient's, from the word ports) are neither
  // cleared nor scanned whole.
  void Live(int b, double* x, int r, std::vector<char>* live) const;
  // L_ii^-1 x in the rows of the internal nodes; the blocks it reaches become live.
  void ForwardSolve(int nodes, double* x, int r, std::vector<double>* gather,
                    std::vector<char>* live) const;
  // Rows of the internal nodes: L_ii^-T (x - L_bi^T x_b), x_b = x in the bit-port rows; the
  // internal rows of blocks that are not live (all without `live`) are zero on entry.
  void BackSolve(double* x, int r, std::vector<double>* gather,
                 const std::vector<char>* live) const;

 private:
  std::vector<int> OrderNodes(const LineTopology& t, std::vector<int>* parent,
                              std::vector<double>* load);
  void AnalysePart(Part* part);
  void NumericPart(const LineTopology& t, Part* part);
  Eigen::MatrixXd PartBorder(const Part& part) const;
  void FactorBorder(const LineTopology& t);
  void CollectBlocks(int nodes);
};

LineFactorPool::LineFactorPool() = default;
// The last model returns its factor to free_ on destruction: release it first.
LineFactorPool::~LineFactorPool() { last_.reset(); }

std::shared_ptr<const LinePortModel> LineFactorPool::Model(std::shared_ptr<const LineTopology> t,
                                                           const Eigen::MatrixXd& g_plus,
                                                           const Eigen::MatrixXd& g_minus,
                                                           int threads) {
  std::lock_guard<std::mutex> lock(last_mutex_);
  if (last_ && last_->Matches(*t, g_plus, g_minus, threads)) return last_;
  last_.reset();
  last_ = std::make_shared<const LinePortModel>(std::move(t), g_plus, g_minus, this, threads);
  return last_;
}

namespace {

// Most nodes of a top separator worth splitting at: its block is dense in both parts and in L_Z
// ((|S| + bit ports)^3 / 3 flops each), small next to the parts' work up to about this size.
constexpr int kMaxSeparator = 1000;

// Row of M (and of a right-hand side, via Factor::position) for a terminal: internal nodes, bit
// ports, then the word ports (not in M).
int MIndex(const LineTopology& t, int term) {
  if (!IsPort(term)) return term;
  const int p = PortIndex(term);
  return t.nodes + (p >= 2 * t.in ? p - 2 * t.in : t.out + p);
}

bool IsWordPort(const LineTopology& t, int term) {
  return IsPort(term) && PortIndex(term) < 2 * t.in;
}

// Pattern of the lower triangle of M (see LinePortModel::Factor): every diagonal and one entry per
// branch between two terminals that are not word ports. The values are placeholders (nonzero, so
// that no sparse operation of the analysis drops an entry); Factor::Fill writes the real ones.
SpMat BorderedPattern(const LineTopology& t) {
  const int n = t.nodes + t.out;
  std::vector<Eigen::Triplet<double>> trip;
  trip.reserve(t.resistors.size() + 2 * t.plus_word.size() + n);
  for (int k = 0; k < n; ++k) trip.emplace_back(k, k, 1.0);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(t.plus_word.size());
  ForEachBranch(t, ones, ones, [&](int a, int b, double) {
    if (IsWordPort(t, a) || IsWordPort(t, b)) return;
    a = MIndex(t, a), b = MIndex(t, b);
    trip.emplace_back(std::max(a, b), std::min(a, b), 1.0);
  });
  SpMat m(n, n);
  m.setFromTriplets(trip.begin(), trip.end());
  return m;
}

// A CHOLMOD view of a lower triangle in compressed columns.
cholmod_sparse View(int n, const int* colptr, const int* rowind, const double* values) {
  cholmod_sparse v{};
  v.nrow = n;
  v.ncol = n;
  v.nzmax = colptr[n];
  v.p = const_cast<int*>(colptr);
  v.i = const_cast<int*>(rowind);
  v.x = const_cast<double*>(values);
  v.stype = -1;  // lower triangle stored
  v.itype = CHOLMOD_INT;
  v.xtype = CHOLMOD_REAL;
  v.dtype = CHOLMOD_DOUBLE;
  v.sorted = 1;
  v.packed = 1;
  return v;
}
cholmod_sparse View(const SpMat& m) {
  return View(static_cast<int>(m.cols()), m.outerIndexPtr(), m.innerIndexPtr(), m.valuePtr());
}

[[noreturn]] void CholmodFailed(const char* what, const cholmod_common& cc) {
  throw TrainingError(fmt::format("line network: CHOLMOD {} failed (status {})", what, cc.status));
}

[[noreturn]] void NotPositiveDefinite(const LineTopology& t, bool in_bit_ports) {
  if (std::string e = t.Validate(); !e.empty()) throw TrainingError(e);
  throw TrainingError(in_bit_ports
                          ? "line network: a bit line has no conducting path to a word line "
                            "(singular port admittance)"
                          : "line network is not positive definite");
}

// CHOLMOD's numeric factorisation opens OpenMP teams (4 threads) to clear and scatter large
// supernodes; next to the other training thread their helpers only spin and wait (measured on 784 x
// 100 ladders: the port model's process CPU time fell from 0.61-0.78 s to 0.47-0.52 s without
// them). While one of these guards lives, max-active-levels is 0, so every OpenMP region runs on
// the thread that meets it; the last guard to go restores the value the first one found. libgomp
// keeps the setting process-wide (memspice has no OpenMP code of its own; another OpenMP user in
// the process runs serially meanwhile); each factorising thread makes a guard in case a runtime
// keeps it per thread. libgomp comes with CHOLMOD; nothing to do without it.
class SerialOpenMp {
 public:
  SerialOpenMp() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!set_) return;
    if (users_++ == 0) saved_ = get_();
    set_(0);
  }
  ~SerialOpenMp() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (set_ && --users_ == 0) set_(saved_);
  }
  SerialOpenMp(const SerialOpenMp&) = delete;
  SerialOpenMp& operator=(const SerialOpenMp&) = delete;

 private:
  using Get = int (*)();
  using Set = void (*)(int);
  static inline const Get get_ =
      reinterpret_cast<Get>(dlsym(RTLD_DEFAULT, "omp_get_max_active_levels"));
  static inline const Set set_ =
      get_ ? reinterpret_cast<Set>(dlsym(RTLD_DEFAULT, "omp_set_max_active_levels")) : nullptr;
  static inline std::mutex mutex_;
  static inline int users_ = 0, saved_ = 0;
};

// Runs f(t) for t < nt, on nt threads if nt > 1; rethrows the first exception of a thread.
template <typename F>
void OnThreads(int nt, F&& f) {
  if (nt == 1) return f(0);
  std::vector<std::exception_ptr> errors(nt);
  std::vector<std::thread> pool;
  for (int t = 0; t < nt; ++t)
    pool.emplace_back([&, t] {
      try {
        f(t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  for (std::thread& th : pool) th.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

// Where to split the elimination tree (parent per node, -1 at a root; postordered) into two
// parts: the chain from the root down to the first node with several children is the top
// separator [sep, n); the children's subtrees (contiguous, in order) are grouped at the boundary
// that balances the load best. {n, n} (one part) when the tree does not branch or the separator
// is too large.
std::pair<int, int> SplitTree(const std::vector<int>& parent, const std::vector<double>& load) {
  const int n = static_cast<int>(parent.size());
  std::vector<int> children(n + 1, 0);  // children[n]: the roots
  for (int j = 0; j < n; ++j) ++children[parent[j] < 0 ? n : parent[j]];
  int top = n;  // the node whose children are split (n: the forest's roots)
  while (top > 0 && children[top] == 1) --top;  // a single child is the node just before
  if (children[top] < 2 || n - top > kMaxSeparator) return {n, n};
  std::vector<double> prefix(top + 1, 0.0);
  for (int j = 0; j < top; ++j) prefix[j + 1] = prefix[j] + load[j];
  int cut = 0;
  double best = prefix[top];
  for (int j = 0; j + 1 < top; ++j) {
    if ((parent[j] < 0 ? n : parent[j]) != top) continue;  // subtree boundaries end at a child
    const double worst = std::max(prefix[j + 1], prefix[top] - prefix[j + 1]);
    if (worst < best) best = worst, cut = j + 1;
  }
  return {cut, top};
}

}  // namespace

// Fill-reducing ordering of the internal nodes alone (the best of AMD, METIS and CHOLMOD's
// nested dissection; the last has a third of METIS's flops on 784 x 100 ladders), postordered, with
// the elimination tree in that order and a load per node (its column count squared, ~ flops).
std::vector<int> LinePortModel::Factor::OrderNodes(const LineTopology& t, std::vector<int>* parent,
                                                   std::vector<double>* load) {
  std::vector<int> perm(t.nodes);
  parent->assign(t.nodes, -1);
  load->assign(t.nodes, 0.0);
  if (t.nodes == 0) return perm;
  const SpMat k = m.topLeftCorner(t.nodes, t.nodes);
  cholmod_sparse kv = View(k);
  cc.supernodal = CHOLMOD_SIMPLICIAL;  // the ordering only
  cc.nmethods = kOrderings;
  cholmod_factor* s = cholmod_analyze(&kv, &cc);
  if (!s) CholmodFailed("analysis", cc);
  std::copy_n(static_cast<const int*>(s->Perm), t.nodes, perm.begin());
  const auto* count = static_cast<const int*>(s->ColCount);
  for (int j = 0; j < t.nodes; ++j) (*load)[j] = static_cast<double>(count[j]) * count[j];
  cholmod_free_factor(&s, &cc);
  // Elimination tree of K(perm, perm), from its upper triangle.
  Eigen::PermutationMatrix<Eigen::Dynamic, Eigen::Dynamic, int> inverse(t.nodes);
  for (int j = 0; j < t.nodes; ++j) inverse.indices()[perm[j]] = j;
  SpMat kp;
  kp = k.selfadjointView<Eigen::Lower>().twistedBy(inverse);
  SpMat upper = kp.triangularView<Eigen::Upper>();
  cholmod_sparse uv = View(upper);
  uv.stype = 1;
  if (!cholmod_etree(&uv, parent->data(), &cc)) CholmodFailed("elimination tree", cc);
  return perm;
}

void LinePortModel::Factor::Analyse(const LineTopology& t, SpMat pattern) {
  m = std::move(pattern);
  std::vector<int> parent;
  std::vector<double> load;
  const std::vector<int> perm = OrderNodes(t, &parent, &load);
  const auto [cut, top] = SplitTree(parent, load);
  sep = top;
  rows = t.nodes + t.ports();
  position.resize(rows);
  for (int k = 0; k < t.nodes; ++k) position[perm[k]] = k;
  for (int k = t.nodes; k < rows; ++k) position[k] = k;
  parts.clear();
  std::vector<std::pair<int, int>> ranges = {{0, top}};  // one part when there is no split
  if (cut > 0 && cut < top) ranges = {{0, cut}, {cut, top}};
  for (auto [lo, hi] : ranges) {
    parts.push_back(std::make_unique<Part>());
    parts.back()->off = lo;
    parts.back()->n = hi - lo;
    AnalysePart(parts.back().get());
  }
  border_rows.resize(static_cast<size_t>(t.nodes) + t.out - sep);
  std::iota(border_rows.begin(), border_rows.end(), sep);
  border_src.clear();
  for (int c = 0; c < m.outerSize(); ++c)
    for (int k = m.outerIndexPtr()[c]; k < m.outerIndexPtr()[c + 1]; ++k) {
      const int gr = position[m.innerIndexPtr()[k]], gc = position[c];
      if (gr >= sep && gc >= sep) border_src.insert(border_src.end(), {k, gr - sep, gc - sep});
    }
  const double nb = static_cast<double>(border_rows.size());
  lnz = 0, flops = 0;
  for (const auto& part : parts) lnz += part->cc.lnz, flops += part->cc.fl;
  if (parts.size() > 1) lnz += nb * (nb + 1) / 2, flops += nb * nb * nb / 3;
  cell_rows.clear();
  for (size_t c = 0; c < t.plus_word.size(); ++c)
    for (int term : {t.plus_word[c], t.plus_bit[c], t.minus_word[c], t.minus_bit[c]})
      cell_rows.push_back(position[MIndex(t, term)]);
  open_bit.assign(t.out, 1);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(t.plus_word.size());
  ForEachBranch(t, ones, ones, [&](int a, int b, double) {
    for (int term : {a, b})
      if (IsPort(term) && !IsWordPort(t, term)) open_bit[PortIndex(term) - 2 * t.in] = 0;
  });
  slots.clear();
  auto slot = [&](int r, int c) {
    const int* begin = m.innerIndexPtr() + m.outerIndexPtr()[c];
    const int* end = m.innerIndexPtr() + m.outerIndexPtr()[c + 1];
    return static_cast<int>(std::lower_bound(begin, end, r) - m.innerIndexPtr());
  };
  ForEachBranch(t, ones, ones, [&](int a, int b, double) {
    const bool wa = IsWordPort(t, a), wb = IsWordPort(t, b);
    a = MIndex(t, a), b = MIndex(t, b);
    slots.insert(slots.end(), {wa ? -1 : slot(a, a), wb ? -1 : slot(b, b),
                               wa || wb ? -1 : slot(std::max(a, b), std::min(a, b))});
  });
  analysed = true;
}

void LinePortModel::Factor::Fill(const LineTopology& t, const Eigen::VectorXd& gp,
                                 const Eigen::VectorXd& gm) {
  double* v = m.valuePtr();
  std::fill_n(v, m.nonZeros(), 0.0);
  const int* s = slots.data();
  ForEachBranch(t, gp, gm, [&](int, int, double g) {
    if (s[0] >= 0) v[s[0]] += g;
    if (s[1] >= 0) v[s[1]] += g;
    if (s[2] >= 0) v[s[2]] -= g;
    s += 3;
  });
  // An unconnected bit port gets a unit diagonal: its rows of Y are zero either way.
  for (int j = 0; j < t.out; ++j)
    if (open_bit[j]) v[m.outerIndexPtr()[t.nodes + j]] = 1.0;
}

// The part's lower triangle (its nodes in elimination order, then the border) and its symbolic
// factorisation in that order: no reordering and no postorder, which would move the border.
void LinePortModel::Factor::AnalysePart(Part* part) {
  const int nb = static_cast<int>(m.rows()) - sep, size = part->n + nb;
  auto local = [&](int row) {
    if (row >= sep) return part->n + row - sep;
    return row >= part->off && row < part->off + part->n ? row - part->off : -1;
  };
  std::vector<std::array<int, 3>> entries;  // column, row, M value index
  for (int c = 0; c < m.outerSize(); ++c)
    for (int k = m.outerIndexPtr()[c]; k < m.outerIndexPtr()[c + 1]; ++k) {
      const int a = local(position[m.innerIndexPtr()[k]]), b = local(position[c]);
      if (a >= 0 && b >= 0) entries.push_back({std::min(a, b), std::max(a, b), k});
    }
  std::sort(entries.begin(), entries.end());
  part->colptr.assign(size + 1, 0);
  part->rowind.clear();
  part->src.clear();
  for (const auto& [col, row, k] : entries) {
    ++part->colptr[col + 1];
    part->rowind.push_back(row);
    part->src.push_back(k);
  }
  std::partial_sum(part->colptr.begin(), part->colptr.end(), part->colptr.begin());
  part->values.assign(part->src.size(), 0.0);
  cholmod_common& pc = part->cc;
  std::vector<int> identity(size);
  std::iota(identity.begin(), identity.end(), 0);
  pc.nmethods = 1;
  pc.method[0].ordering = CHOLMOD_GIVEN;
  pc.postorder = 0;
  cholmod_sparse v = View(size, part->colptr.data(), part->rowind.data(), part->values.data());
  part->l = cholmod_analyze_p(&v, identity.data(), nullptr, 0, &pc);
  if (!part->l) CholmodFailed("analysis", pc);
  const auto* lperm = static_cast<const int*>(part->l->Perm);
  if (!part->l->is_super || !std::equal(identity.begin(), identity.end(), lperm))
    throw TrainingError("line network: CHOLMOD did not keep the elimination order");
  const auto* s = static_cast<const int*>(part->l->s);
  part->rows.resize(part->l->ssize);
  for (size_t k = 0; k < part->rows.size(); ++k)
    part->rows[k] = s[k] < part->n ? part->off + s[k] : sep + s[k] - part->n;
}

void LinePortModel::Factor::NumericPart(const LineTopology& t, Part* part) {
  const SerialOpenMp serial;
  const double* mv = m.valuePtr();
  for (size_t k = 0; k < part->src.size(); ++k) part->values[k] = mv[part->src[k]];
  const int size = static_cast<int>(part->colptr.size()) - 1;
  cholmod_sparse v = View(size, part->colptr.data(), part->rowind.data(), part->values.data());
  if (!cholmod_factorize(&v, part->l, &part->cc)) CholmodFailed("factorisation", part->cc);
  const cholmod_factor& l = *part->l;
  if (part->cc.status != CHOLMOD_OK || l.minor < l.n)
    NotPositiveDefinite(t, static_cast<int>(l.minor) >= part->n + t.nodes - sep);
}

namespace {

// A supernode of a CHOLMOD supernodal factor: columns k1..k1 + ncol - 1, rows rows[0..nrow),
// the first ncol of them the columns themselves, values column-major nrow x ncol.
struct Supernode {
  int k1, ncol, nrow;
  const int* rows;
  const double* x;
};
Supernode GetSupernode(const cholmod_factor& l, int s, const int* rows) {
  const auto* super = static_cast<const int*>(l.super);
  const auto* pi = static_cast<const int*>(l.pi);
  const auto* px = static_cast<const int*>(l.px);
  return {super[s], super[s + 1] - super[s], pi[s + 1] - pi[s], rows + pi[s],
          static_cast<const double*>(l.x) + px[s]};
}

constexpr char kN = 'N', kT = 'T', kRight = 'R', kLower = 'L';
constexpr double kOne = 1, kMinusOne = -1, kZero = 0;

// Diagonal blocks of at most this many columns are solved by SmallTrsmStrip instead of dtrsm: most
// supernodes of line networks are that small (27,000 of 43,000 on 784 x 100 ladders), where
// OpenBLAS's fixed cost per dtrsm call (0.2-1.6 us for 50 right-hand sides) is 1.5-4x the loop's.
constexpr int kSmallBlock = 8;
// Right-hand sides per strip of SmallTrsmStrip (a few vector registers per column).
constexpr int kStrip = 8;

// x_s <- x_s L^-1 (kTransposed false) or x_s L^-T (true) on the strip of W right-hand sides from
// j0 by substitution, as dtrsm with side R, uplo L: x_s column-major r x n (node-major rows), L
// lower n x n with leading dimension ld, inv its reciprocal diagonal.
template <bool kTransposed, int W>
void SmallTrsmStrip(int n, const double* l, int ld, const double* inv, double* x, int r, int j0) {
  double y[kSmallBlock][W];
  for (int c = 0; c < n; ++c)
    for (int j = 0; j < W; ++j) y[c][j] = x[static_cast<size_t>(c) * r + j0 + j];
  for (int step = 0; step < n; ++step) {
    const int c = kTransposed ? step : n - 1 - step;  // x L^-T: ascending; x L^-1: descending
    const int k0 = kTransposed ? 0 : c + 1, k1 = kTransposed ? c : n;
    for (int k = k0; k < k1; ++k) {
      const double lck = kTransposed ? l[k * ld + c] : l[c * ld + k];
      for (int j = 0; j < W; ++j) y[c][j] -= lck * y[k][j];
    }
    for (int j = 0; j < W; ++j) y[c][j] *= inv[c];
  }
  for (int c = 0; c < n; ++c)
    for (int j = 0; j < W; ++j) x[static_cast<size_t>(c) * r + j0 + j] = y[c][j];
}

// x_s <- x_s L^-1 or x_s L^-T, by SmallTrsmStrip for n <= kSmallBlock, else dtrsm.
template <bool kTransposed>
void Trsm(int n, const double* l, int ld, double* x, int r) {
  if (n > kSmallBlock) {
    dtrsm_(&kRight, &kLower, kTransposed ? &kT : &kN, &kN, &r, &n, &kOne, l, &ld, x, &r);
    return;
  }
  double inv[kSmallBlock];
  for (int c = 0; c < n; ++c) inv[c] = 1 / l[c * ld + c];
  int j0 = 0;
  for (; j0 + kStrip <= r; j0 += kStrip)
    SmallTrsmStrip<kTransposed, kStrip>(n, l, ld, inv, x, r, j0);
  for (; j0 < r; ++j0) SmallTrsmStrip<kTransposed, 1>(n, l, ld, inv, x, r, j0);
}

}  // namespace

// The part's border block of L, dense: L_BB L_BB^T = S_p.
Eigen::MatrixXd LinePortModel::Factor::PartBorder(const Part& part) const {
  const cholmod_factor& l = *part.l;
  const int nb = static_cast<int>(border_rows.size());
  Eigen::MatrixXd lbb = Eigen::MatrixXd::Zero(nb, nb);
  const auto* s = static_cast<const int*>(l.s);
  for (int k = static_cast<int>(l.nsuper) - 1; k >= 0; --k) {
    const Supernode sn = GetSupernode(l, k, s);
    if (sn.k1 + sn.ncol <= part.n) break;
    for (int c = std::max(0, part.n - sn.k1); c < sn.ncol; ++c)
      for (int q = c; q < sn.nrow; ++q)
        lbb(sn.rows[q] - part.n, sn.k1 + c - part.n) = sn.x[c * sn.nrow + q];
  }
  return lbb;
}

// L_Z from the parts' border blocks: Z = sum_p S_p - (parts - 1) M_BB.
void LinePortModel::Factor::FactorBorder(const LineTopology& t) {
  if (parts.size() == 1) {
    lz = PartBorder(*parts[0]);
    return;
  }
  const int nb = static_cast<int>(border_rows.size());
  Eigen::MatrixXd z = Eigen::MatrixXd::Zero(nb, nb);
  const double scale = -static_cast<double>(parts.size() - 1);
  for (size_t e = 0; e < border_src.size(); e += 3) {
    const double v = scale * m.valuePtr()[border_src[e]];
    z(border_src[e + 1], border_src[e + 2]) += v;
    if (border_src[e + 1] != border_src[e + 2]) z(border_src[e + 2], border_src[e + 1]) += v;
  }
  for (const auto& part : parts) {
    const Eigen::MatrixXd lbb = PartBorder(*part);
    z.selfadjointView<Eigen::Lower>().rankUpdate(lbb);
  }
  Eigen::LLT<Eigen::MatrixXd> llt(z.selfadjointView<Eigen::Lower>());
  if (llt.info() != Eigen::Success) {
    const int ns = t.nodes - sep;
    const bool separator_ok =
        Eigen::LLT<Eigen::MatrixXd>(z.topLeftCorner(ns, ns)).info() == Eigen::Success;
    NotPositiveDefinite(t, separator_ok);
  }
  lz = llt.matrixL();
}

void LinePortModel::Factor::CollectBlocks(int nodes) {
  blocks.clear();
  for (const auto& part : parts) {
    const cholmod_factor& l = *part->l;
    for (int k = 0; k < static_cast<int>(l.nsuper); ++k) {
      const Supernode sn = GetSupernode(l, k, part->rows.data());
      if (sn.k1 >= part->n) break;
      blocks.push_back(
          {part->off + sn.k1, std::min(sn.ncol, part->n - sn.k1), sn.nrow, sn.rows, sn.x});
    }
  }
  if (nodes > sep) {
    const int nb = static_cast<int>(border_rows.size());
    blocks.push_back({sep, nodes - sep, nb, border_rows.data(), lz.data()});
  }
  block_of.resize(nodes);
  for (size_t b = 0; b < blocks.size(); ++b)
    std::fill_n(block_of.begin() + blocks[b].k1, blocks[b].nint, static_cast<int>(b));
}

void LinePortModel::Factor::Live(int b, double* x, int r, std::vector<char>* live) const {
  if ((*live)[b]) return;
  (*live)[b] = 1;
  const Block& sn = blocks[b];
  std::fill_n(x + static_cast<size_t>(sn.k1) * r, static_cast<size_t>(sn.nint) * r, 0.0);
}

void LinePortModel::Factor::Numeric(const LineTopology& t, int threads) {
  const int nt = std::min<int>(threads, static_cast<int>(parts.size()));
  OnThreads(nt, [&](int th) {
    for (size_t p = th; p < parts.size(); p += nt) NumericPart(t, parts[p].get());
  });
  FactorBorder(t);
  CollectBlocks(t.nodes);
}

void LinePortModel::Factor::ForwardSolve(int nodes, double* x, int r, std::vector<double>* gather,
                                         std::vector<char>* live) const {
  for (size_t b = 0; b < blocks.size(); ++b) {
    // Nothing reaches a subtree without word-port branches: skip it.
    if (!(*live)[b]) continue;
    const Block& sn = blocks[b];
    // Unknowns: the block's columns; updates go to the internal rows below them (sorted).
    const int nint = sn.nint;
    int rest = sn.nrow - nint;
    while (rest > 0 && sn.rows[nint + rest - 1] >= nodes) --rest;
    double* xs = x + static_cast<size_t>(sn.k1) * r;
    // Node-major r-wide blocks are column-major r x rows: x_s^T <- x_s^T L_top^-T, e^T = x_s^T
    // L_rest^T.
    Trsm<true>(nint, sn.x, sn.nrow, xs, r);
    if (rest == 0) continue;
    gather->resize(static_cast<size_t>(rest) * r);
    double* e = gather->data();
    dgemm_(&kN, &kT, &r, &rest, &nint, &kOne, xs, &r, sn.x + nint, &sn.nrow, &kZero, e, &r);
    for (int q = 0; q < rest; ++q) {
      Live(block_of[sn.rows[nint + q]], x, r, live);
      double* xr = x + static_cast<size_t>(sn.rows[nint + q]) * r;
      const double* eq = e + static_cast<size_t>(q) * r;
      for (int j = 0; j < r; ++j) xr[j] -= eq[j];
    }
  }
}

void LinePortModel::Factor::BackSolve(double* x, int r, std::vector<double>* gather,
                                      const std::vector<char>* live) const {
  for (size_t b = blocks.size(); b-- > 0;) {
    const Block& sn = blocks[b];
    const bool held = live && (*live)[b];  // else x_s = 0: not read
    // Unknowns: the block's columns; its other rows (bit ports and nodes solved already) are
    // known: x_s <- L_top^-T (x_s - L_rest^T x_rest).
    const int nint = sn.nint, rest = sn.nrow - nint;
    double* xs = x + static_cast<size_t>(sn.k1) * r;
    if (rest == 0 && !held) std::fill_n(xs, static_cast<size_t>(nint) * r, 0.0);
    if (rest > 0) {
      gather->resize(static_cast<size_t>(rest) * r);
      double* e = gather->data();
      for (int q = 0; q < rest; ++q)
        std::copy_n(x + static_cast<size_t>(sn.rows[nint + q]) * r, r,
                    e + static_cast<size_t>(q) * r);
      // Column-major r x rows: x_s^T -= e^T L_rest, then x_s^T <- x_s^T L_top^-1.
      dgemm_(&kN, &kN, &r, &nint, &rest, &kMinusOne, e, &r, sn.x + nint, &sn.nrow,
             held ? &kOne : &kZero, xs, &r);
    }
    Trsm<false>(nint, sn.x, sn.nrow, xs, r);
  }
}

LinePortModel::LinePortModel(std::shared_ptr<const LineTopology> t, const Eigen::MatrixXd& g_plus,
                             const Eigen::MatrixXd& g_minus, LineFactorPool* pool, int threads)
    : t_(std::move(t)), pool_(pool), threads_(std::clamp(threads, 1, t_->out)) {
  SingleThreadedBlas();
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
  RowMajorMap(gp_, tp) = g_plus;
  RowMajorMap(gm_, tp) = g_minus;
  if (!f_->analysed) {
    if (std::string e = tp.Validate(); !e.empty()) throw TrainingError(e);
    f_->Analyse(tp, BorderedPattern(tp));
  }
  f_->Fill(tp, gp_, gm_);
  f_->Numeric(tp, threads_);
  PortAdmittance();
}

// Bit ports q0..q0 + k - 1 of solve thread t.
std::pair<int, int> LinePortModel::Share(int t) const {
  const int out = t_->out, q0 = out * t / threads_;
  return {q0, out * (t + 1) / threads_ - q0};
}

// Y_bb = L_bb L_bb^T; Y_wb from the currents into the word ports in phi_q (1 V at bit port q, the
// other ports at 0 V), which the gradient reuses.
void LinePortModel::PortAdmittance() {
  const LineTopology& tp = *t_;
  const Eigen::MatrixXd lbb = f_->lz.bottomRightCorner(tp.out, tp.out);
  ybb_ = lbb * lbb.transpose();
  for (int j = 0; j < tp.out; ++j)
    if (f_->open_bit[j]) ybb_.row(j).setZero(), ybb_.col(j).setZero();

  f_->phi.resize(threads_);
  f_->gather.resize(threads_);
  OnThreads(threads_, [&](int t) {
    const auto [q0, k] = Share(t);
    std::vector<double>& x = f_->phi[t];
    x.resize(static_cast<size_t>(f_->rows) * k);  // the back-solve writes the internal rows
    std::fill(x.begin() + static_cast<std::ptrdiff_t>(tp.nodes) * k, x.end(), 0.0);
    for (int q = 0; q < k; ++q) x[static_cast<size_t>(tp.nodes + q0 + q) * k + q] = 1;
    f_->BackSolve(x.data(), k, &f_->gather[t], nullptr);
  });
  // Current into word port w: g (0 - v_other) over its branches.
  ybw_ = Eigen::MatrixXd::Zero(tp.out, 2 * tp.in);
  ForEachBranch(tp, gp_, gm_, [&](int a, int b, double g) {
    if (IsWordPort(tp, b)) std::swap(a, b);
    if (!IsWordPort(tp, a) || IsWordPort(tp, b)) return;
    const int row = f_->position[MIndex(tp, b)];
    for (int t = 0; t < threads_; ++t) {
      const auto [q0, k] = Share(t);
      const double* v = f_->phi[t].data() + static_cast<size_t>(row) * k;
      for (int q = 0; q < k; ++q) ybw_(q0 + q, PortIndex(a)) -= g * v[q];
    }
  });
}

LinePortModel::~LinePortModel() {
  if (!pool_ || !f_ || !f_->analysed) return;
  std::lock_guard<std::mutex> lock(pool_->mutex_);
  pool_->free_.push_back(std::move(f_));
}

double LinePortModel::FactorNonzeros() const { return f_->lnz; }
double LinePortModel::FactorFlops() const { return f_->flops; }
bool LinePortModel::Matches(const LineTopology& t, const Eigen::MatrixXd& g_plus,
                            const Eigen::MatrixXd& g_minus, int threads) const {
  if (&t != t_.get() || std::clamp(threads, 1, t.out) != threads_ || g_plus.rows() != t.in ||
      g_plus.cols() != t.out || g_minus.rows() != t.in || g_minus.cols() != t.out)
    return false;
  return RowMajorMap(gp_, t) == g_plus && RowMajorMap(gm_, t) == g_minus;
}

int LinePortModel::FactorParts() const { return static_cast<int>(f_->parts.size()); }
int LinePortModel::SeparatorNodes() const { return t_->nodes - f_->sep; }

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
  const Eigen::Index cells = gp_.size();
  // dL/dg = sum_q d_q dpsi_q with psi_q the node voltages for port voltages dL/dY(q, .); each
  // thread its bit ports q, next to their phi_q.
  std::lock_guard<std::mutex> lock(f_->psi_mutex);
  f_->psi.resize(threads_);
  f_->live.resize(threads_);
  std::vector<Eigen::VectorXd> partial(threads_, Eigen::VectorXd::Zero(2 * cells));
  OnThreads(threads_, [&](int t) {
    const auto [q0, k] = Share(t);
    std::vector<double>& x = f_->psi[t];
    std::vector<char>& live = f_->live[t];
    x.resize(static_cast<size_t>(f_->rows) * k);  // every port row is written below
    live.assign(f_->blocks.size(), 0);
    auto row = [&](int term) {
      return x.data() + static_cast<size_t>(f_->position[MIndex(tp, term)]) * k;
    };
    for (int p = 0; p < tp.ports(); ++p) {
      double* v = row(Port(p));
      for (int q = 0; q < k; ++q)
        v[q] = p < 2 * tp.in ? a_bw(q0 + q, p) : a_bb(q0 + q, p - 2 * tp.in);
    }
    // Right-hand side of the internal nodes: -K_iw v_w.
    ForEachBranch(tp, gp_, gm_, [&](int a, int b, double g) {
      if (IsWordPort(tp, b)) std::swap(a, b);
      if (!IsWordPort(tp, a) || IsPort(b)) return;
      f_->Live(f_->block_of[f_->position[b]], x.data(), k, &live);
      double* xb = row(b);
      const double* v = row(a);
      for (int q = 0; q < k; ++q) xb[q] += g * v[q];
    });
    f_->ForwardSolve(tp.nodes, x.data(), k, &f_->gather[t], &live);
    f_->BackSolve(x.data(), k, &f_->gather[t], &live);
    const double* phi = f_->phi[t].data();
    const int* cr = f_->cell_rows.data();
    for (Eigen::Index c = 0; c < 2 * cells; ++c) {
      // Cell c < cells: G+ (terminals 4 c, 4 c + 1); else G- (4 (c - cells) + 2, + 3).
      const size_t base = c < cells ? 4 * c : 4 * (c - cells) + 2;
      const size_t ra = static_cast<size_t>(cr[base]) * k,
                   rb = static_cast<size_t>(cr[base + 1]) * k;
      double sum = 0;
      for (int q = 0; q < k; ++q) sum += (phi[ra + q] - phi[rb + q]) * (x[ra + q] - x[rb + q]);
      partial[t][c] = sum;
    }
  });
  Eigen::VectorXd dg = partial[0];
  for (int t = 1; t < threads_; ++t) dg += partial[t];
  dg_plus->resize(tp.in, tp.out);
  dg_minus->resize(tp.in, tp.out);
  for (int i = 0; i < tp.in; ++i)
    for (int j = 0; j < tp.out; ++j) {
      (*dg_plus)(i, j) = dg[i * tp.out + j];
      (*dg_minus)(i, j) = dg[cells + i * tp.out + j];
    }
}

}  // namespace memspice::training
