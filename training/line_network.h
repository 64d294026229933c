// Port model of a crossbar whose word and bit lines have resistance (and capacitance): the linear
// network between the line drivers and the bit-line terminals, reduced to a dense admittance.
//
// Every crossbar of the fast kernels (training/network.h) has 2 in word ports (input i drives
// port 2 i with +u_i and port 2 i + 1 with -u_i) and `out` bit ports (the bit-line terminal j:
// virtual ground in the ideal form, the membrane or its follower in the circuit form). Inside,
// the lines are resistor networks (one segment per cell: ladders; any values, driver and sense
// resistances included) whose nodes carry the cells G+_ij (word port 2 i side to bit line j) and
// G-_ij (port 2 i + 1 side) and optional capacitors to ground.
//
// With K the conductance matrix of the internal nodes (ports held at fixed voltages), the port
// currents are I = Y V with the Schur complement Y = K_pp - K_pi K^-1 K_ip (current into the
// network at each port). The kernels read the bit rows: Y_bw (bit x word) and Y_bb (bit x bit).
// One sparse Cholesky factorisation per optimiser step, of K bordered by the bit ports (ordered
// last, the word ports held): L = [L_ii 0; L_bi L_bb] gives Y_bb = L_bb L_bb^T directly, and the
// node voltages phi_q for 1 V at bit port q (0 V elsewhere) are phi_q = -L_ii^-T L_bi^T e_q, a
// back-solve alone; the word-port currents in phi_q are row q of Y_bw (Y is symmetric). The
// derivative of an entry with respect to a cell conductance is the product of the cell's voltage
// drops in the two port solutions, dY_qp/dg = d_q d_p (stationarity of the Schur complement), so
// dL/dg = sum_q d_q(cell) dpsi_q(cell) with psi_q the node voltages for port voltages dL/dY(q, .):
// `out` forward and back-solves (the word-port voltages need the forward half), never one per
// cell, never finite differences. The solves are supernodal with the right-hand sides stored node
// by node (BLAS 3 per supernode) and split by bit port over the threads.
//
// Line capacitance is handled quasi-statically (docs/crossbar.md): the compiled path neglects the
// charge currents of the line nodes, which is exact to O(tau / dt) with tau the slowest line time
// constant, lambda_max(K^-1 C). Adding conductance only shortens it, so tau evaluated with every
// cell at g_min (TauBound) bounds it for every conductance the optimiser can reach.
#ifndef MEMSPICE_TRAINING_LINE_NETWORK_H_
#define MEMSPICE_TRAINING_LINE_NETWORK_H_

#include <Eigen/Core>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace memspice::training {

// A terminal is an internal line node (>= 0) or a port (Port(p) < 0).
constexpr int Port(int p) { return -1 - p; }
constexpr bool IsPort(int terminal) { return terminal < 0; }
constexpr int PortIndex(int terminal) { return -1 - terminal; }

struct LineTopology {
  int in = 0, out = 0;  // crossbar inputs (2 word ports each) and outputs (bit ports)
  int nodes = 0;        // internal line nodes
  struct Resistor {
    int a = 0, b = 0;  // terminals
    double g = 0;      // conductance [S]
  };
  std::vector<Resistor> resistors;
  std::vector<double> cap;                         // per internal node, to ground [F]; may be empty
  std::vector<int> plus_word, plus_bit;            // G+ cell terminals, row-major in x out
  std::vector<int> minus_word, minus_bit;          // G- cell terminals
  std::vector<std::string> node_names, res_names;  // for messages

  int ports() const { return 2 * in + out; }
  int BitPort(int j) const { return 2 * in + j; }
  // Empty if consistent, else what is wrong (sizes, terminals out of range, g <= 0).
  std::string Validate() const;
};

// The ladders `memspice gen msnn --rline R` writes for an in x out crossbar of differential pairs:
// a segment from each word-line driver (ports 2 i, 2 i + 1) to the first cell, one segment per
// cell along word and bit lines, the last bit-line segment into the bit-line terminal; all of
// conductance 1 / rline, no capacitance. Word line of row r (= 2 i or 2 i + 1) has nodes
// r out + j; bit line j has nodes 2 in out + 2 in j + r. For benchmarks and tests.
std::shared_ptr<LineTopology> UniformLadders(int in, int out, double rline);

// Slowest time constant of the lines, lambda_max(K^-1 C), with every cell at conductance g [s]
// (0 without capacitors). Throws TrainingError if the lines are singular (names the node).
double LineTimeConstant(const LineTopology& t, double g);

class LineFactorPool;

// The factorised line network for one set of cell conductances (in x out each).
class LinePortModel {
 public:
  struct Factor;  // sparse Cholesky of K (opaque)

  // Throws TrainingError if a line node has no resistive path to a port (names the node). With a
  // pool, the symbolic analysis (fill-reducing ordering) of an earlier model of the same topology
  // is reused and the factor (with its solve buffers) goes back to the pool when this model is
  // destroyed. The solves (here and in Gradient) split the bit ports over `threads` threads.
  LinePortModel(std::shared_ptr<const LineTopology> t, const Eigen::MatrixXd& g_plus,
                const Eigen::MatrixXd& g_minus, LineFactorPool* pool = nullptr, int threads = 1);
  ~LinePortModel();

  const Eigen::MatrixXd& ybw() const { return ybw_; }  // out x 2 in
  const Eigen::MatrixXd& ybb() const { return ybb_; }  // out x out
  // Effective weights of the ideal form: the current leaving bit port j per unit u_i,
  // W_ij = -(Y(j, 2i) - Y(j, 2i + 1)); equals G+ - G- without line resistance.
  Eigen::MatrixXd EffectiveWeights() const;

  // Nonzeros of the Cholesky factor and flops of one factorisation (CHOLMOD's analysis; for
  // benchmarks).
  double FactorNonzeros() const;
  double FactorFlops() const;
  // Whether this model was made for topology t, these conductances and this thread count.
  bool Matches(const LineTopology& t, const Eigen::MatrixXd& g_plus, const Eigen::MatrixXd& g_minus,
               int threads) const;
  // Parts factorised side by side (1 or 2) and the nodes of the separator between them.
  int FactorParts() const;
  int SeparatorNodes() const;

  // dL/dG+ and dL/dG- (in x out) from dL/dY_bw (out x 2 in) and dL/dY_bb (out x out).
  void Gradient(const Eigen::MatrixXd& a_bw, const Eigen::MatrixXd& a_bb, Eigen::MatrixXd* dg_plus,
                Eigen::MatrixXd* dg_minus) const;

 private:
  void PortAdmittance();                   // ybw_, ybb_ (and phi) from the factor
  std::pair<int, int> Share(int t) const;  // first bit port and count of solve thread t

  std::shared_ptr<const LineTopology> t_;
  Eigen::VectorXd gp_, gm_;  // cell conductances, row-major in x out
  std::unique_ptr<Factor> f_;
  LineFactorPool* pool_ = nullptr;
  int threads_ = 1;
  Eigen::MatrixXd ybw_, ybb_;
};

// Analysed factorisations of one line topology, kept across optimiser steps (the sparsity pattern
// of K never changes, only its values), and the port model made last. Thread-safe.
class LineFactorPool {
 public:
  LineFactorPool();
  ~LineFactorPool();

  // The port model of these conductances: the one made last when its conductances and threads are
  // the same (an evaluation runs every batch with the same conductances: one factorisation, not one
  // per batch), else a new one, made after the last is released so that its factor is reused.
  std::shared_ptr<const LinePortModel> Model(std::shared_ptr<const LineTopology> t,
                                             const Eigen::MatrixXd& g_plus,
                                             const Eigen::MatrixXd& g_minus, int threads);

 private:
  friend class LinePortModel;
  std::mutex mutex_;
  std::vector<std::unique_ptr<LinePortModel::Factor>> free_;
  std::mutex last_mutex_;  // held while a model is made: concurrent callers wait and share it
  std::shared_ptr<const LinePortModel> last_;
};

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_LINE_NETWORK_H_
