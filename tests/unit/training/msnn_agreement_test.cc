// The compiled fast path and the generic MNA engine (forward Euler, fixed step, discrete adjoint)
// run the same 16-8-4 deck: waveforms, loss and gradients agree to 1e-6 relative; the fast path's
// gradients match finite differences; a deck exported with other conductances and a bound sample
// predicts, under the solver, the class the fast path predicts. The same for the reference-column
// mapping, whose network also gives the outputs of its differential twin (same weights).
#define BOOST_TEST_MODULE msnn_agreement
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "tests/test_util.h"
#include "tests/unit/training/msnn_test_util.h"
#include "training/mna_network.h"

namespace mt = memspice::training;
using msnn_test::Images;
using msnn_test::LibPaths;
using msnn_test::NeuronNodes;
using msnn_test::TinyConfig;
using msnn_test::WaveformDiff;
using msnn_test::WriteDeck;

namespace {

mt::CompiledNetwork Compile(const std::string& path) {
  mt::CompiledNetwork cn;
  memspice::netlist::Diagnostics diag;
  BOOST_REQUIRE_MESSAGE(mt::CompileNetwork(path, LibPaths(), &cn, diag), diag.Format());
  BOOST_REQUIRE_MESSAGE(cn.fast, cn.reason);
  return cn;
}

// Where synapse `name` sits in the Parameters: layer, i, j, plus.
struct Slot {
  int l, i, j;
  bool plus;
};
std::map<std::string, Slot> Slots(const mt::CompiledNetwork& cn) {
  std::map<std::string, Slot> s;
  for (int l = 0; l < static_cast<int>(cn.syn_plus.size()); ++l) {
    const int out = cn.config.layer_sizes[l + 1];
    for (size_t k = 0; k < cn.syn_plus[l].size(); ++k) {
      s[cn.syn_plus[l][k]] = {l, static_cast<int>(k) / out, static_cast<int>(k) % out, true};
      if (!cn.syn_minus[l].empty())  // empty with a reference column (not trained)
        s[cn.syn_minus[l][k]] = {l, static_cast<int>(k) / out, static_cast<int>(k) % out, false};
    }
  }
  return s;
}

double& At(mt::Parameters& p, const Slot& s) {
  return (s.plus ? p.g_plus : p.g_minus)[s.l](s.i, s.j);
}
double At(const mt::Parameters& p, const Slot& s) {
  return (s.plus ? p.g_plus : p.g_minus)[s.l](s.i, s.j);
}

void Agree(bool circuit, mt::SignedMapping mapping = mt::SignedMapping::kDifferential) {
  mt::NetworkConfig c0 = TinyConfig(circuit);
  c0.mapping = mapping;
  const bool reference = mapping == mt::SignedMapping::kReferenceColumn;
  // The circuit form's loading L_j = sum_i (G+ + G-) makes forward Euler unstable once
  // dt L / C_mem > 2: a shorter step and low conductances keep it stable.
  if (circuit) c0.dt = 1e-6;
  // Reference column: the differential draw's weights halved onto cells around G_ref = g_mid
  // (the mapping spans half the range) at twice the layer scales: the same drives, so the ideal
  // form spikes as above. Its cells load the circuit form's bit lines ~10x more than the
  // differential draw near g_min: a shorter step keeps forward Euler stable.
  mt::NetworkConfig draw = c0;
  draw.mapping = mt::SignedMapping::kDifferential;
  mt::Parameters p0 = mt::InitParameters(draw, 7, circuit ? 0.05 : 1.0);
  if (reference) {
    for (size_t l = 0; l < p0.g_plus.size(); ++l) {
      const double g_mid = 0.5 * (c0.g_min + c0.g_max);
      p0.g_plus[l] = (g_mid + 0.5 * (p0.g_plus[l] - p0.g_minus[l]).array()).matrix();
      p0.g_minus[l].setConstant(g_mid);
      if (!circuit) c0.layer_scale[l] *= 2;
    }
    if (circuit) c0.dt = 1e-7;
  }
  const memspice::testing::TempDir dir("msnn_agree");
  const std::string path = dir / (circuit ? "msnn_agree_circuit.cir" : "msnn_agree_ideal.cir");
  WriteDeck(c0, p0, path);
  mt::CompiledNetwork cn = Compile(path);
  BOOST_REQUIRE(cn.config.mapping == mapping);
  if (reference) {  // the reference column is fixed: no gradient, and not a trainable synapse
    for (const std::string& n : cn.trainable) BOOST_CHECK_EQUAL(n[0], 'w');
  }
  const mt::Network net(cn.config);
  const std::vector<float> x = Images(1, 16, 3);
  const int label = 2;
  const mt::PassResult fast = net.Run<double>(cn.params, x.data(), &label, 1, true, 1);

  // Every trainable synapse of both crossbars, both signs (exact partials: one adjoint pass).
  const std::map<std::string, Slot> slots = Slots(cn);
  const mt::MnaNetwork mna(cn);
  const mt::MnaSampleResult slow = mna.Run({}, x.data(), label, true, NeuronNodes());

  // Waveforms of every hidden and output neuron.
  const double worst = WaveformDiff(net, cn.params, x.data(), slow);
  BOOST_TEST_MESSAGE((circuit ? "circuit" : "ideal")
                     << ": waveforms max rel diff " << worst << ", loss fast " << fast.loss_sum
                     << " mna " << slow.loss << ", spiking " << fast.samples[0].spiking_fraction);
  if (!circuit) BOOST_CHECK_GT(fast.samples[0].spiking_fraction, 0.0);  // non-trivial dynamics
  BOOST_CHECK_LE(worst, 1e-6);
  BOOST_TEST(slow.loss == fast.loss_sum, boost::test_tools::tolerance(1e-6));
  BOOST_CHECK_EQUAL(slow.predicted, fast.samples[0].predicted);

  // Gradients w.r.t. the subset's conductances.
  const mt::Parameters& g = fast.grad;
  if (reference)
    for (const Eigen::MatrixXd& gm : g.g_minus) BOOST_CHECK_EQUAL(gm.cwiseAbs().maxCoeff(), 0.0);
  double gscale = 0;
  for (const std::string& n : cn.trainable) gscale = std::max(gscale, std::abs(At(g, slots.at(n))));
  BOOST_REQUIRE_GT(gscale, 0.0);
  double worst_grad = 0;
  for (size_t k = 0; k < slow.grad.size(); ++k) {
    const double f = At(g, slots.at(cn.trainable[k]));
    const double scale = std::max(std::abs(f), 1e-3 * gscale);
    BOOST_TEST_INFO(cn.trainable[k] << ": fast " << f << " mna " << slow.grad[k]);
    BOOST_CHECK_LE(std::abs(f - slow.grad[k]), 1e-6 * scale);
    worst_grad = std::max(worst_grad, std::abs(f - slow.grad[k]) / scale);
  }
  if (!slow.grad.empty())
    BOOST_TEST_MESSAGE("gradients: " << slow.grad.size() << " synapses, max rel diff "
                                     << worst_grad);

  // Fast-path gradients against central differences of the same discrete simulation.
  double worst_fd = 0;
  for (size_t k = 0; k < cn.trainable.size(); k += 3) {
    const Slot& s = slots.at(cn.trainable[k]);
    mt::Parameters pp = cn.params, pm = cn.params;
    const double h = 1e-4 * (cn.config.g_max - cn.config.g_min);
    At(pp, s) += h;
    At(pm, s) -= h;
    const double fd = (net.Run<double>(pp, x.data(), &label, 1, false, 1).loss_sum -
                       net.Run<double>(pm, x.data(), &label, 1, false, 1).loss_sum) /
                      (2 * h);
    const double a = At(g, s);
    BOOST_TEST_INFO(cn.trainable[k] << ": adjoint " << a << " fd " << fd);
    BOOST_CHECK_LE(std::abs(a - fd), 1e-5 * std::max(std::abs(a), 1e-2 * gscale));
    worst_fd = std::max(worst_fd, std::abs(a - fd) / std::max(std::abs(a), 1e-2 * gscale));
  }
  BOOST_TEST_MESSAGE("fast path vs finite differences: max rel diff " << worst_fd);
}

}  // namespace

BOOST_AUTO_TEST_CASE(fast_path_equals_mna_ideal) { Agree(false); }
BOOST_AUTO_TEST_CASE(fast_path_equals_mna_circuit) { Agree(true); }
BOOST_AUTO_TEST_CASE(reference_column_fast_path_equals_mna_ideal) {
  Agree(false, mt::SignedMapping::kReferenceColumn);
}
BOOST_AUTO_TEST_CASE(reference_column_fast_path_equals_mna_circuit) {
  Agree(true, mt::SignedMapping::kReferenceColumn);
}

// A reference-column network and its differential twin (other conductances, the same weights W =
// G - G_ref = G+ - G-), each written as a deck and compiled: the compiled fast path and the MNA
// engine give the same outputs for both, with N (M + 1) instead of 2 N M cells.
BOOST_AUTO_TEST_CASE(reference_column_and_differential_twin_agree) {
  mt::NetworkConfig cr = TinyConfig(false);
  cr.mapping = mt::SignedMapping::kReferenceColumn;
  cr.layer_scale[1] = 0.1;  // forward Euler stays stable for every sample below
  mt::NetworkConfig cd = cr;
  cd.mapping = mt::SignedMapping::kDifferential;
  const mt::Parameters pr = mt::InitParameters(cr, 5);
  mt::Parameters pd = pr;  // twin: the weight on one cell of the pair, the other at g_min
  for (size_t l = 0; l < pr.g_plus.size(); ++l) {
    const Eigen::MatrixXd w = pr.Weight(static_cast<int>(l));
    pd.g_plus[l] = (cd.g_min + w.array().max(0.0)).matrix();
    pd.g_minus[l] = (cd.g_min - w.array().min(0.0)).matrix();
    BOOST_REQUIRE_LE((pd.Weight(static_cast<int>(l)) - w).cwiseAbs().maxCoeff(), 1e-18);
    BOOST_REQUIRE_GT((pd.g_minus[l] - pr.g_minus[l]).cwiseAbs().maxCoeff(), 1e-5);
  }
  const memspice::testing::TempDir dir("msnn_twin");
  WriteDeck(cr, pr, dir / "reference.cir");
  WriteDeck(cd, pd, dir / "differential.cir");
  const mt::CompiledNetwork ref = Compile(dir / "reference.cir");
  const mt::CompiledNetwork dif = Compile(dir / "differential.cir");
  BOOST_REQUIRE(ref.config.mapping == mt::SignedMapping::kReferenceColumn);
  BOOST_REQUIRE(dif.config.mapping == mt::SignedMapping::kDifferential);
  // Cells: weight cells are the trainable ones; the reference adds one per input row.
  BOOST_CHECK_EQUAL(dif.trainable.size(), 2u * (16 * 8 + 8 * 4));
  BOOST_CHECK_EQUAL(ref.trainable.size(), 16u * 8 + 8 * 4);
  size_t cells = 0;
  for (const auto& e : ref.netlist.elements) cells += e.letter == 'y' && e.type == "mss";
  BOOST_CHECK_EQUAL(cells - 2 * (8 + 4), 16u * (8 + 1) + 8 * (4 + 1));  // minus the neurons' MSS

  const int n = 6;
  const std::vector<float> x = Images(n, 16, 9);
  const std::vector<int> labels = {0, 1, 2, 3, 0, 1};
  const mt::PassResult fr =
      mt::Network(ref.config).Run<double>(ref.params, x.data(), labels.data(), n, false, 1);
  const mt::PassResult fd =
      mt::Network(dif.config).Run<double>(dif.params, x.data(), labels.data(), n, false, 1);
  std::set<int> classes;
  for (int s = 0; s < n; ++s) {
    BOOST_TEST_INFO("sample " << s);
    BOOST_TEST(fr.samples[s].loss == fd.samples[s].loss, boost::test_tools::tolerance(1e-9));
    BOOST_CHECK_EQUAL(fr.samples[s].predicted, fd.samples[s].predicted);
    for (size_t k = 0; k < fr.samples[s].v_sum.size(); ++k)
      BOOST_TEST(fr.samples[s].v_sum[k] == fd.samples[s].v_sum[k],
                 boost::test_tools::tolerance(1e-9));
    classes.insert(fr.samples[s].predicted);
  }
  BOOST_CHECK_GT(classes.size(), 1u);  // the outputs tell networks apart
  // The MNA engine on both decks (two samples): the circuits themselves agree.
  for (int s = 0; s < 2; ++s) {
    mt::CompiledNetwork one_r = ref, one_d = dif;
    for (mt::CompiledNetwork* c : {&one_r, &one_d}) {
      c->trainable.resize(1);  // predictions only: no gradient
      c->trainable_models.resize(1);
      c->trainable_g.resize(1);
    }
    const mt::MnaSampleResult a =
        mt::MnaNetwork(one_r).Run({}, x.data() + 16 * s, labels[s], false);
    const mt::MnaSampleResult b =
        mt::MnaNetwork(one_d).Run({}, x.data() + 16 * s, labels[s], false);
    BOOST_TEST_MESSAGE("sample " << s << ": MNA loss reference " << a.loss << ", differential "
                                 << b.loss << ", fast " << fr.samples[s].loss);
    BOOST_TEST(a.loss == b.loss, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(a.loss == fr.samples[s].loss, boost::test_tools::tolerance(1e-6));
  }
}

BOOST_AUTO_TEST_CASE(exported_deck_predicts_like_the_fast_path) {
  mt::NetworkConfig c0 = TinyConfig(false);
  c0.layer_scale[1] = 0.1;  // forward Euler stays stable for every sample below
  const memspice::testing::TempDir dir("msnn_export");
  WriteDeck(c0, mt::InitParameters(c0, 7), dir / "msnn_export_src.cir");
  const mt::CompiledNetwork cn = Compile(dir / "msnn_export_src.cir");
  const mt::Network net(cn.config);
  // "Trained" conductances: another draw, as a run directory would hold.
  const mt::Parameters trained = mt::InitParameters(cn.config, 11);
  std::map<std::string, double> g;
  for (const auto& [name, s] : Slots(cn)) g[name] = At(trained, s);
  const std::vector<float> x = Images(4, 16, 5);
  const std::vector<int> labels = {0, 1, 2, 3};
  const mt::PassResult fast = net.Run<double>(trained, x.data(), labels.data(), 4, false, 1);
  std::set<int> classes;
  for (int s = 0; s < 4; ++s) {
    std::vector<double> px(x.begin() + 16 * s, x.begin() + 16 * (s + 1));
    std::string text;
    memspice::Status st = mt::RewriteTrainedDeck(cn, g, px, labels[s], &text);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
    const std::string out = dir / ("msnn_exported_" + std::to_string(s) + ".cir");
    std::ofstream(out) << text;
    // The exported deck is the trained network with the sample bound: the solver alone (pixels
    // from the deck, no overrides) predicts the fast path's class.
    const mt::CompiledNetwork ex = Compile(out);
    for (int l = 0; l < 2; ++l)
      BOOST_CHECK_LE((ex.params.g_plus[l] - trained.g_plus[l]).cwiseAbs().maxCoeff(), 1e-15);
    mt::CompiledNetwork one = ex;
    one.trainable.resize(1);  // predictions only: no gradient
    one.trainable_models.resize(1);
    one.trainable_g.resize(1);
    const mt::MnaNetwork mna(one);
    std::vector<float> bound(16);
    for (int i = 0; i < 16; ++i) bound[i] = static_cast<float>(ex.netlist.params.at(ex.inputs[i]));
    const mt::MnaSampleResult r = mna.Run({}, bound.data(), -1, false);
    BOOST_TEST_MESSAGE("sample " << s << ": fast class " << fast.samples[s].predicted
                                 << ", solver class " << r.predicted);
    BOOST_CHECK_EQUAL(r.predicted, fast.samples[s].predicted);
    classes.insert(r.predicted);
  }
  // The samples do not all land in one class: the comparison above tells networks apart.
  BOOST_TEST_MESSAGE("distinct predicted classes: " << classes.size());
  BOOST_CHECK_GT(classes.size(), 1u);
}
